import DunlinCore
import Foundation
import Testing

@Suite("Civil dates and aging")
struct CivilDateAndAgingTests {
    @Test("dates round-trip through days since the epoch across four centuries")
    func epochRoundTrip() throws {
        var date = try #require(CivilDate("1900-01-01"))
        let end = try #require(CivilDate("2300-12-31"))
        var days = date.daysSinceEpoch
        while date <= end {
            #expect(CivilDate(daysSinceEpoch: days) == date)
            date = date.adding(days: 1)
            days += 1
        }
        #expect(CivilDate("1970-01-01")?.daysSinceEpoch == 0)
    }

    @Test("impossible dates are refused", arguments: [
        "2026-02-29", "2026-13-01", "2026-00-10", "2026-04-31", "26-01-01", "2026-1-1", "hello", "2026-+1-05", "+026-01-05", " 2026-01-05",
        "2026-01-05 ", "2026/01/05", "２０２６-01-05", "2026-01-0５", "",
    ])
    func invalidDates(_ text: String) {
        #expect(CivilDate(text) == nil)
    }

    @Test("2028-02-29 and 2000-02-29 exist; 2100-02-29 does not")
    func leapYears() {
        #expect(CivilDate("2028-02-29") != nil)
        #expect(CivilDate("2000-02-29") != nil)
        #expect(CivilDate("2100-02-29") == nil)
    }

    @Test("the same instant is a different day in Manila and in Chicago")
    func timeZones() throws {
        // 2026-11-23 03:00 UTC: 11:00 in Manila, 21:00 the day before in Chicago.
        let instant = Date(timeIntervalSince1970: 1_795_402_800)
        #expect(CivilDate(instant, in: try #require(TimeZone(identifier: "Asia/Manila"))).description == "2026-11-23")
        #expect(CivilDate(instant, in: try #require(TimeZone(identifier: "America/Chicago"))).description == "2026-11-22")
    }

    @Test("an instant's day from the zone's offset is the Gregorian calendar's, across DST changes, odd offsets and skipped days",
          arguments: ["America/New_York", "Asia/Manila", "Australia/Lord_Howe", "Asia/Kathmandu", "Pacific/Apia", "Pacific/Kiritimati",
                      "America/St_Johns", "Europe/London", "UTC"])
    func dayFromOffsetIsTheCalendars(zone: String) throws {
        let timeZone = try #require(TimeZone(identifier: zone))
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        func calendarDay(_ instant: Date) -> String {
            let parts = calendar.dateComponents([.year, .month, .day], from: instant)
            return String(format: "%04d-%02d-%02d", parts.year!, parts.month!, parts.day!)
        }
        var random = SeededGenerator(seed: UInt64(zone.utf8.count))
        var instants: [Date] = (0..<2_000).map { _ in
            // Whole milliseconds from 1850 (before the offset range) to 2200, as activities are stamped.
            Date(timeIntervalSince1970: Double(Int64.random(in: -3_786_825_600_000...7_258_118_400_000, using: &random)) / 1000)
        }
        // Either side of each change of offset from 1900 to 2040, to the millisecond.
        var transition = Date(timeIntervalSince1970: -2_208_988_800)
        while let next = timeZone.nextDaylightSavingTimeTransition(after: transition), next.timeIntervalSince1970 < 2_209_000_000 {
            for offset in [-86_400.0, -3_601, -1, -0.001, 0, 0.001, 1, 3_599, 86_399] { instants.append(next.addingTimeInterval(offset)) }
            transition = next
        }
        // Midnights in the zone, and the edges of the range worked out from offsets.
        for day in stride(from: -25_567, through: 25_000, by: 97) {
            let midnight = CivilDate(daysSinceEpoch: day).start(in: timeZone)
            instants += [midnight.addingTimeInterval(-0.001), midnight, midnight.addingTimeInterval(0.001)]
        }
        instants += [-2_208_988_800.001, -2_208_988_800, 253_402_214_399.999].map(Date.init(timeIntervalSince1970:))
        for instant in instants {
            #expect(CivilDate(instant, in: timeZone).description == calendarDay(instant), "\(zone) at \(instant.timeIntervalSince1970)")
        }
    }

    @Test("the default buckets are current, 1-30, 31-60, 61-90, 91-120 and 120+")
    func standardBuckets() {
        let buckets = AgingBuckets.standard
        #expect(buckets.labels == ["current", "1-30", "31-60", "61-90", "91-120", "120+"])
        let cases: [(Int, Int)] = [(-5, 0), (0, 0), (1, 1), (30, 1), (31, 2), (60, 2), (61, 3), (90, 3), (91, 4), (120, 4), (121, 5), (5000, 5)]
        for (days, index) in cases {
            #expect(buckets.index(daysPastDue: days) == index, "\(days) days past due")
        }
    }

    @Test("custom buckets must start at current and increase")
    func customBuckets() throws {
        #expect(try AgingBuckets(bounds: [0, 15, 45]).labels == ["current", "1-15", "16-45", "45+"])
        #expect(throws: DomainError.self) { try AgingBuckets(bounds: [10, 20]) }
        #expect(throws: DomainError.self) { try AgingBuckets(bounds: [0, 30, 30]) }
    }

    @Test("aging totals per customer, per currency and in the base currency")
    func agingReport() throws {
        let asOf = try #require(CivilDate("2026-11-23"))
        let items = [
            AgingItem(customerID: "C1", dueDate: asOf.adding(days: 10), open: Money(minorUnits: 100_00, currency: .usd)),
            AgingItem(customerID: "C1", dueDate: asOf.adding(days: -15), open: Money(minorUnits: 50_00, currency: .usd)),
            AgingItem(customerID: "C2", dueDate: asOf.adding(days: -200), open: Money(minorUnits: 5_612_50, currency: .php)),
            AgingItem(customerID: "C2", dueDate: asOf.adding(days: -45), open: Money(minorUnits: 25_00, currency: .usd)),
        ]
        let rate = try ExchangeRate(from: .php, to: .usd, rate: "0.0178")
        let report = try AgingReport.compute(items, asOf: asOf, baseCurrency: .usd, rates: [.php: rate])
        #expect(report.totals[.usd] == [100_00, 50_00, 25_00, 0, 0, 0])
        #expect(report.totals[.php] == [0, 0, 0, 0, 0, 5_612_50])
        #expect(report.rows.count == 3)
        #expect(try report.rows.first { $0.customerID == "C1" }?.total() == 150_00)
        // 5,612.50 PHP x 0.0178 = 99.9025 USD -> 99.90
        #expect(report.baseTotals == [100_00, 50_00, 25_00, 0, 0, 99_90])
    }

    @Test("a currency whose open items cancel out keeps its rows but has no totals, and needs no rate, on every path")
    func cancellingCurrencyHasNoTotals() throws {
        let asOf = try #require(CivilDate("2026-11-23"))
        let items = [
            AgingItem(customerID: "C1", dueDate: asOf.adding(days: -5), open: Money(minorUnits: 40_00, currency: .eur)),
            AgingItem(customerID: "C1", dueDate: asOf.adding(days: -9), open: Money(minorUnits: -40_00, currency: .eur)),
            AgingItem(customerID: "C2", dueDate: asOf, open: Money(minorUnits: 7_00, currency: .usd)),
        ]
        // No EUR rate: EUR's totals are zero, so nothing of EUR is converted.
        let report = try AgingReport.compute(items, asOf: asOf, baseCurrency: .usd)
        #expect(report.rows.map(\.currency) == [.eur, .usd])
        #expect(report.rows.first?.buckets == [0, 0, 0, 0, 0, 0])
        #expect(report.totals == [.usd: [7_00, 0, 0, 0, 0, 0]])
        #expect(report.baseTotals == [7_00, 0, 0, 0, 0, 0])
        // A store's kept totals have no row for such a currency; given with or without it, the same report.
        let kept = try AgingReport.assemble(report.rows, asOf: asOf, baseCurrency: .usd, totals: [.usd: [7_00, 0, 0, 0, 0, 0]])
        let withZero = try AgingReport.assemble(report.rows, asOf: asOf, baseCurrency: .usd, totals: [.usd: [7_00, 0, 0, 0, 0, 0], .eur: [0, 0, 0, 0, 0, 0]])
        #expect(kept.totals == report.totals && withZero.totals == report.totals)
        #expect(kept.baseTotals == report.baseTotals && withZero.baseTotals == report.baseTotals)
    }

    @Test("a base-currency aging with a currency and no rate names the missing rate")
    func missingRate() throws {
        let asOf = try #require(CivilDate("2026-11-23"))
        let items = [AgingItem(customerID: "C", dueDate: asOf, open: Money(minorUnits: 1, currency: .jpy))]
        #expect(throws: DomainError.invalid(field: "rates", "no exchange rate from JPY to USD")) {
            try AgingReport.compute(items, asOf: asOf, baseCurrency: .usd)
        }
    }
}
