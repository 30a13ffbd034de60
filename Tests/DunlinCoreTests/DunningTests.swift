import DunlinCore
import Foundation
import Testing

/// The dunning rule (DunlinCore `DunningPolicy`, `DunningRun`, `DunningInterest`) as tables of
/// cases: levels by days past due, the holds, the interest against figures worked by hand, and the
/// tenant's day across a daylight-saving change and across midnight.
@Suite("Dunning: policies, levels, holds and interest")
struct DunningTests {
    static let usd = Currency(code: "USD")!
    static let jpy = Currency(code: "JPY")!
    static let kwd = Currency(code: "KWD")!
    static func day(_ text: String) -> CivilDate { CivilDate(text)! }
    static func usd(_ minor: Int64) -> Money { Money(minorUnits: minor, currency: usd) }

    static let standard = DunningPolicy(id: "POL-1", name: "Standard", segment: "smb", levels: [
        DunningLevel(days: -5, channel: .email, template: "friendly_reminder"),
        DunningLevel(days: 15, channel: .email, template: "first_notice"),
        DunningLevel(days: 30, channel: .letter, template: "second_notice", fee: usd(25_00), interestBasisPoints: 1800),
        DunningLevel(days: 60, channel: .escalate, template: "manager_review"),
        DunningLevel(days: 90, channel: .place, template: "agency_placement"),
    ])

    // MARK: Levels

    @Test("the level is the last whose days the oldest unpaid item reaches", arguments: [
        (-10, nil), (-6, nil), (-5, 1), (0, 1), (14, 1), (15, 2), (29, 2), (30, 3), (59, 3), (60, 4), (89, 4), (90, 5), (400, 5),
    ] as [(Int, Int?)])
    func levelByDaysPastDue(daysPastDue: Int, level: Int?) {
        #expect(Self.standard.levelIndex(daysPastDue: daysPastDue).map { $0 + 1 } == level)
    }

    @Test("a bad policy is refused naming the field", arguments: [
        ([(0, "a"), (0, "b")], "levels[1].days"),          // two levels on one day overlap
        ([(10, "a"), (30, "b"), (20, "c")], "levels[2].days"),  // out of order
        ([(5000, "a")], "levels[0].days"),                 // beyond the range
        ([(5, "second notice")], "levels[0].template"),    // not a template name
        ([], "levels"),
    ] as [([(Int, String)], String)])
    func badPolicies(levels: [(Int, String)], field: String) {
        let policy = DunningPolicy(id: "P", name: "Bad", levels: levels.map { DunningLevel(days: $0.0, channel: .email, template: $0.1) })
        #expect(throws: DomainError.self) { try policy.validate() }
        do throws(DomainError) { try policy.validate() } catch { #expect(error.field == field) }
    }

    @Test("a level's charges are held to their limits")
    func badCharges() {
        func field(_ level: DunningLevel) -> String? {
            do throws(DomainError) {
                try DunningPolicy(id: "P", name: "N", levels: [level]).validate()
                return nil
            } catch { return error.field }
        }
        #expect(field(DunningLevel(days: 1, channel: .email, template: "t", fee: Self.usd(0))) == "levels[0].fee")
        #expect(field(DunningLevel(days: 1, channel: .email, template: "t", interestBasisPoints: 10_001)) == "levels[0].interest_basis_points")
        #expect(field(DunningLevel(days: 1, channel: .email, template: "t", interestBasisPoints: -1)) == "levels[0].interest_basis_points")
        #expect(field(DunningLevel(days: 1, channel: .email, template: "t", fee: Self.usd(25_00), interestBasisPoints: 10_000)) == nil)
        #expect(throws: DomainError.self) { try DunningPolicy(id: "P", name: "N", customerIDs: ["C1", "C1"], levels: Self.standard.levels).validate() }
    }

    @Test("an explicit policy wins over a segment; among equals the smallest id decides")
    func policyForCustomer() {
        let tagged = Customer(id: "C1", number: "1", name: "Tagged", tags: ["smb", "ph"])
        let segment = DunningPolicy(id: "P-B", name: "SMB", segment: "smb", levels: Self.standard.levels)
        let explicit = DunningPolicy(id: "P-Z", name: "Key", customerIDs: ["C1"], levels: Self.standard.levels)
        let other = DunningPolicy(id: "P-A", name: "PH", segment: "ph", levels: Self.standard.levels)
        #expect(DunningPolicy.policy(for: tagged, among: [segment, explicit, other])?.id == "P-Z")
        #expect(DunningPolicy.policy(for: tagged, among: [segment, other])?.id == "P-A")
        #expect(DunningPolicy.policy(for: Customer(id: "C2", number: "2", name: "Untagged"), among: [segment, other]) == nil)
    }

    // MARK: Interest

    @Test("interest: simple, from the due date, actual/365, rounded once half to even", arguments: [
        // balance (minor), currency, basis points, days, expected (minor): worked by hand
        (100_000, "USD", 1800, 30, 1479),          // 1,000.00 x 18% x 30/365 = 14.7945... -> 14.79
        (100_000, "USD", 1200, 365, 12_000),       // a full year at 12%: 120.00 exactly
        (100_000, "USD", 1200, 730, 24_000),       // two years: 240.00, never compounded (not 254.40)
        (365, "USD", 5000, 1, 0),                  // 0.005 exactly: half to even -> 0.00
        (365, "USD", 5000, 3, 2),                  // 0.015 exactly: half to even -> 0.02
        (100_000, "JPY", 1460, 10, 400),           // JPY 100,000 x 14.6% x 10/365 = 400 (no minor unit)
        (1_000, "KWD", 700, 100, 19),              // KWD 1.000 x 7% x 100/365 = 0.019178... -> 0.019
        (100_000, "USD", 1800, 0, 0),              // due today: not overdue, no interest
        (100_000, "USD", 1800, -5, 0),             // not yet due
        (100_000, "USD", 0, 30, 0),                // no rate
    ] as [(Int64, String, Int, Int, Int64)])
    func interestByHand(balance: Int64, code: String, basisPoints: Int, days: Int, expected: Int64) throws {
        let currency = try #require(Currency(code: code))
        let interest = try DunningInterest.interest(on: [(Money(minorUnits: balance, currency: currency), days)], basisPoints: basisPoints, currency: currency)
        #expect(interest == Money(minorUnits: expected, currency: currency))
    }

    @Test("interest over several items is rounded once, not item by item")
    func interestRoundedOnce() throws {
        // Each USD 10.00 at 10% for one day is 0.27 cents (0.00 alone); the two together 0.548 -> 0.01.
        let items = [(Self.usd(10_00), 1), (Self.usd(10_00), 1)]
        #expect(try DunningInterest.interest(on: items, basisPoints: 1000, currency: Self.usd) == Self.usd(1))
        #expect(try DunningInterest.interest(on: [items[0]], basisPoints: 1000, currency: Self.usd) == Self.usd(0))
    }

    // MARK: The run's rule, with holds

    static let asOf = day("2026-11-30")
    static let customer = Customer(id: "C1", number: "1001", name: "Globe Retail", tags: ["smb"])

    /// Invoices of C1: A due 60 days before the run, B 20 days, C in 3 days.
    static func invoice(_ id: String, due daysBefore: Int, _ amount: Int64) -> (entry: LedgerEntry, open: Money) {
        let due = asOf.adding(days: -daysBefore)
        return (LedgerEntry(id: id, kind: .invoice, customerID: "C1", amount: usd(amount), date: due.adding(days: -30), dueDate: due, reference: "N-\(id)"), usd(amount))
    }

    static let invoices = [invoice("A", due: 60, 500_00), invoice("B", due: 20, 300_00), invoice("C", due: -3, 200_00)]

    struct HoldCase: CustomTestStringConvertible, Sendable {
        var name: String
        var disputes: [Dispute] = []
        var promises: [PromiseToPay] = []
        var exceptions: [String] = []
        var manual: [DunningHold] = []
        var open: [(entry: LedgerEntry, open: Money)] = DunningTests.invoices
        /// Expected: the level (nil: no notice) and the invoices listed.
        var level: Int?
        var lines: [String]
        var testDescription: String { name }
    }

    static let holdCases: [HoldCase] = [
        HoldCase(name: "nothing held: A sets level 4, A and B listed", level: 4, lines: ["A", "B"]),
        HoldCase(
            name: "an open dispute on A holds A: B sets the level, the notice says nothing of A",
            disputes: [Dispute(id: "D1", customerID: "C1", invoiceIDs: ["A"], amount: usd(500_00), reasonCode: "pricing", openedOn: day("2026-11-01"))],
            level: 2, lines: ["B"]
        ),
        HoldCase(
            name: "an investigating dispute holds too",
            disputes: [Dispute(id: "D1", customerID: "C1", invoiceIDs: ["A"], amount: usd(1_00), reasonCode: "pricing", status: .investigating, openedOn: day("2026-11-01"))],
            level: 2, lines: ["B"]
        ),
        HoldCase(
            name: "a resolved dispute holds nothing",
            disputes: [Dispute(id: "D1", customerID: "C1", invoiceIDs: ["A"], amount: usd(1_00), reasonCode: "pricing", status: .resolved, openedOn: day("2026-11-01"), resolvedOn: day("2026-11-10"))],
            level: 4, lines: ["A", "B"]
        ),
        HoldCase(
            name: "a promise not yet due holds its invoices: only C's reminder is left",
            promises: [PromiseToPay(id: "P1", customerID: "C1", invoiceIDs: ["A", "B"], amount: usd(800_00), madeOn: day("2026-11-25"), promisedDate: day("2026-12-05"))],
            level: 1, lines: ["C"]
        ),
        HoldCase(
            name: "a promise still within its grace days holds",
            promises: [PromiseToPay(id: "P1", customerID: "C1", invoiceIDs: ["A"], amount: usd(500_00), madeOn: day("2026-11-20"), promisedDate: day("2026-11-28"))],
            level: 2, lines: ["B"]
        ),
        HoldCase(
            name: "a promise past its deadline holds nothing",
            promises: [PromiseToPay(id: "P1", customerID: "C1", invoiceIDs: ["A"], amount: usd(500_00), madeOn: day("2026-11-10"), promisedDate: day("2026-11-20"))],
            level: 4, lines: ["A", "B"]
        ),
        HoldCase(
            name: "a promise recorded broken holds nothing",
            promises: [PromiseToPay(id: "P1", customerID: "C1", invoiceIDs: ["A"], amount: usd(500_00), madeOn: day("2026-11-25"), promisedDate: day("2026-12-05"), status: .broken)],
            level: 4, lines: ["A", "B"]
        ),
        HoldCase(name: "a ledger exception holds the invoices it touches", exceptions: ["A"], level: 2, lines: ["B"]),
        HoldCase(
            name: "a manual hold in place holds the whole customer",
            manual: [DunningHold(id: "H1", customerID: "C1", reason: "CFO on leave", placedOn: day("2026-11-01"))],
            level: nil, lines: []
        ),
        HoldCase(
            name: "a released manual hold holds nothing",
            manual: [DunningHold(id: "H1", customerID: "C1", reason: "CFO on leave", placedOn: day("2026-11-01"), releasedOn: day("2026-11-15"), releaseReason: "back")],
            level: 4, lines: ["A", "B"]
        ),
        HoldCase(
            name: "a partial payment on A leaves the customer at A's level",
            open: [(invoices[0].entry, usd(1_00)), invoices[1], invoices[2]], level: 4, lines: ["A", "B"]
        ),
        HoldCase(name: "A paid in full: B sets the level", open: [invoices[1], invoices[2]], level: 2, lines: ["B"]),
        HoldCase(name: "only C, not yet due: the reminder lists it", open: [invoices[2]], level: 1, lines: ["C"]),
    ]

    @Test("what a run lists and at which level, with each hold", arguments: holdCases)
    func holds(_ example: HoldCase) throws {
        let holds = DunningHolds(asOf: Self.asOf, disputes: example.disputes, promises: example.promises, exceptionInvoiceIDs: example.exceptions, manual: example.manual)
        let plan = try DunningRun.plan(
            asOf: Self.asOf, customers: [Self.customer], policies: [Self.standard], openInvoices: example.open, holds: holds, createdAt: Date(timeIntervalSince1970: 0)
        )
        #expect(plan.notices.first?.level == example.level)
        #expect((plan.notices.first?.lines.map(\.invoiceID) ?? []) == example.lines)
        #expect(plan.notices.count <= 1, "at most one notice per customer")
        if let notice = plan.notices.first {
            #expect(notice.id == DunningNotice.id(customerID: "C1", levelDays: notice.levelDays, anchorInvoiceID: notice.lines[0].invoiceID))
            let total = notice.lines.reduce(Int64(0)) { $0 + $1.balance.minorUnits }
            #expect(notice.charges.map(\.total) == [Self.usd(total)], "the totals count only what is listed")
        }
    }

    @Test("the 30-day level charges its fee and interest on what it lists")
    func chargesOnTheNotice() throws {
        let open = [Self.invoice("A", due: 45, 1_000_00), Self.invoice("B", due: 31, 200_00)]
        let holds = DunningHolds(asOf: Self.asOf, disputes: [], promises: [], exceptionInvoiceIDs: [], manual: [])
        let plan = try DunningRun.plan(asOf: Self.asOf, customers: [Self.customer], policies: [Self.standard], openInvoices: open, holds: holds, createdAt: Date(timeIntervalSince1970: 0))
        let notice = try #require(plan.notices.first)
        #expect(notice.level == 3)
        // 1,000.00 x 18% x 45/365 = 22.1918 and 200.00 x 18% x 31/365 = 3.0575: 25.2493 -> 25.25
        #expect(notice.charges == [DunningCharge(total: Self.usd(1_200_00), interest: Self.usd(25_25), fee: Self.usd(25_00))])
    }

    // MARK: The tenant's day

    struct DayCase: CustomTestStringConvertible, Sendable {
        var zone: String
        var instant: String
        var asOf: String
        var level: Int?
        var testDescription: String { "\(instant) in \(zone)" }
    }

    /// An invoice due 2026-02-06: 30 days past due on 2026-03-08, the day New York springs forward
    /// (02:00 EST becomes 03:00 EDT; the day has 23 hours), and 2026-10-02 ... 2026-11-01, the day
    /// it falls back (25 hours). Manila keeps UTC+8 all year: its day turns at 16:00 UTC.
    static let dayCases: [DayCase] = [
        DayCase(zone: "America/New_York", instant: "2026-03-08T04:59:00Z", asOf: "2026-03-07", level: 2),   // 23:59 EST on the 7th
        DayCase(zone: "America/New_York", instant: "2026-03-08T05:00:00Z", asOf: "2026-03-08", level: 3),   // 00:00 EST on the 8th
        DayCase(zone: "America/New_York", instant: "2026-03-08T06:30:00Z", asOf: "2026-03-08", level: 3),   // 01:30 EST
        DayCase(zone: "America/New_York", instant: "2026-03-08T07:30:00Z", asOf: "2026-03-08", level: 3),   // 03:30 EDT, after the skipped hour
        DayCase(zone: "America/New_York", instant: "2026-03-09T03:59:00Z", asOf: "2026-03-08", level: 3),   // 23:59 EDT: still the 8th
        DayCase(zone: "America/New_York", instant: "2026-03-09T04:00:00Z", asOf: "2026-03-09", level: 3),   // 00:00 EDT on the 9th
        DayCase(zone: "Asia/Manila", instant: "2026-03-07T15:59:00Z", asOf: "2026-03-07", level: 2),        // 23:59 in Manila, UTC's 7th
        DayCase(zone: "Asia/Manila", instant: "2026-03-07T16:00:00Z", asOf: "2026-03-08", level: 3),        // 00:00 in Manila, still UTC's 7th
        DayCase(zone: "Asia/Manila", instant: "2026-03-08T15:59:59Z", asOf: "2026-03-08", level: 3),
    ]

    @Test("a run's date is the tenant's day, so levels turn at the tenant's midnight, DST or not", arguments: dayCases)
    func levelsByTheTenantsDay(_ example: DayCase) throws {
        let zone = try #require(TimeZone(identifier: example.zone))
        let instant = try #require(ISO8601DateFormatter().date(from: example.instant))
        let asOf = WallClock.fixed(instant).today(in: zone)
        #expect(asOf == Self.day(example.asOf))
        let due = Self.day("2026-02-06")
        let invoice = LedgerEntry(id: "A", kind: .invoice, customerID: "C1", amount: Self.usd(100_00), date: due, dueDate: due)
        let plan = try DunningRun.plan(
            asOf: asOf, customers: [Self.customer], policies: [Self.standard], openInvoices: [(invoice, Self.usd(100_00))],
            holds: DunningHolds(asOf: asOf, disputes: [], promises: [], exceptionInvoiceIDs: [], manual: []), createdAt: instant
        )
        #expect(plan.notices.first?.level == example.level)
        #expect(plan.notices.first?.runID == "R-\(example.asOf)")
    }

    @Test("across the fall-back day in New York a civil day still counts one")
    func fallBack() {
        let zone = TimeZone(identifier: "America/New_York")!
        // 2026-11-01 has 25 hours; 00:30 EDT and 23:30 EST are the same civil day.
        let early = WallClock.fixed(ISO8601DateFormatter().date(from: "2026-11-01T04:30:00Z")!).today(in: zone)
        let late = WallClock.fixed(ISO8601DateFormatter().date(from: "2026-11-02T04:30:00Z")!).today(in: zone)
        #expect(early == Self.day("2026-11-01"))
        #expect(late == Self.day("2026-11-01"))
        #expect(Self.day("2026-10-02").days(until: early) == 30)
    }

    // MARK: The scheduled run

    struct ScheduleCase: CustomTestStringConvertible, Sendable {
        var zone: String
        var runTime: String
        var instant: String
        var lastRun: String?
        var due: String?
        var testDescription: String { "\(runTime) in \(zone) at \(instant), last \(lastRun ?? "never")" }
    }

    static let scheduleCases: [ScheduleCase] = [
        ScheduleCase(zone: "Asia/Manila", runTime: "06:00", instant: "2026-03-07T21:59:00Z", due: nil),                  // 05:59 on the 8th
        ScheduleCase(zone: "Asia/Manila", runTime: "06:00", instant: "2026-03-07T22:00:00Z", due: "2026-03-08"),         // 06:00 on the 8th, UTC's 7th
        ScheduleCase(zone: "Asia/Manila", runTime: "06:00", instant: "2026-03-08T15:59:00Z", lastRun: "2026-03-08", due: nil),  // ran today
        ScheduleCase(zone: "Asia/Manila", runTime: "00:00", instant: "2026-03-07T16:00:00Z", lastRun: "2026-03-07", due: "2026-03-08"),  // midnight
        ScheduleCase(zone: "America/New_York", runTime: "02:30", instant: "2026-03-08T06:59:00Z", due: nil),             // 01:59 EST
        ScheduleCase(zone: "America/New_York", runTime: "02:30", instant: "2026-03-08T07:00:00Z", due: "2026-03-08"),    // 03:00 EDT: 02:30 never came
        ScheduleCase(zone: "America/New_York", runTime: "01:30", instant: "2026-11-01T05:30:00Z", due: "2026-11-01"),    // 01:30 EDT, the first time
        ScheduleCase(zone: "America/New_York", runTime: "01:30", instant: "2026-11-01T06:30:00Z", lastRun: "2026-11-01", due: nil),  // 01:30 EST, again: once
    ]

    @Test("the scheduled run is due once a day when the tenant's clock reaches its time, across DST and midnight", arguments: scheduleCases)
    func scheduledRun(_ example: ScheduleCase) throws {
        let time = try #require(try DunningSchedule.time(example.runTime))
        let instant = try #require(ISO8601DateFormatter().date(from: example.instant))
        let due = DunningSchedule.due(runTime: time, now: instant, in: TimeZone(identifier: example.zone)!, lastRun: example.lastRun.map(Self.day))
        #expect(due == example.due.map(Self.day))
    }

    @Test("a run time is HH:MM or nothing", arguments: ["6:00", "24:00", "06:60", "0600", "06:00:00", "ab:cd", " 06:00"])
    func badRunTimes(text: String) {
        #expect(throws: DomainError.invalid(field: "dunning.run_time", "\"\(text)\" is not a time of day HH:MM (00:00 to 23:59)")) {
            try TenantSetting(id: TenantSetting.dunningRunTime, value: text).validate()
        }
    }
}
