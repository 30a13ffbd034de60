import Foundation

/// A calendar date with no time and no zone: a due date, an as-of date, a promise date. Which
/// instant it begins depends on the tenant's (or customer's) time zone, so an invoice due
/// "2026-11-30" is due on that day in Manila and in Chicago alike.
public struct CivilDate: Sendable, Hashable, Comparable, Codable, CustomStringConvertible, LosslessStringConvertible {
    public let year: Int
    public let month: Int
    public let day: Int

    /// A valid date, or nil (2026-02-30 is not a date).
    public init?(year: Int, month: Int, day: Int) {
        guard (1...9999).contains(year), (1...12).contains(month), (1...Self.daysIn(month: month, year: year)).contains(day) else {
            return nil
        }
        self.year = year
        self.month = month
        self.day = day
    }

    /// Parses "YYYY-MM-DD".
    public init?(_ text: String) {
        // Byte by byte: every stored date is read this way (a worklist reads tens of thousands),
        // and only ASCII digits count ("2026-+1-05" is no date).
        var text = text
        let parts = text.withUTF8 { bytes -> (year: Int, month: Int, day: Int)? in
            guard bytes.count == 10, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-") else { return nil }
            func number(_ range: Range<Int>) -> Int? {
                var value = 0
                for index in range {
                    let digit = bytes[index] &- UInt8(ascii: "0")
                    guard digit < 10 else { return nil }
                    value = value * 10 + Int(digit)
                }
                return value
            }
            guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10) else { return nil }
            return (year, month, day)
        }
        guard let parts else { return nil }
        self.init(year: parts.year, month: parts.month, day: parts.day)
    }

    /// The date it is at `instant` in `timeZone`: the Gregorian calendar's.
    public init(_ instant: Date, in timeZone: TimeZone) {
        // From 1900 through 9999 that is the day of the instant moved by the zone's offset at
        // that instant, with no Calendar to build (a worklist turns thousands of last contacts
        // into days). Outside it, the calendar (before 1582 Foundation's is Julian).
        let seconds = instant.timeIntervalSince1970
        if Self.byOffset.contains(seconds) {
            let local = Int(seconds.rounded(.down)) + timeZone.secondsFromGMT(for: instant)
            self.init(daysSinceEpoch: local >= 0 ? local / 86_400 : (local - 86_399) / 86_400)
            return
        }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let components = calendar.dateComponents([.year, .month, .day], from: instant)
        self = CivilDate(year: components.year!, month: components.month!, day: components.day!)!
    }

    /// The instants (seconds since 1970) whose day in any zone is worked out from the zone's
    /// offset: 1900-01-01 to the start of 9999-12-31 UTC, so no offset leaves 1900-9999.
    static let byOffset = -2_208_988_800.0..<253_402_214_400.0

    /// The instant this day starts (its first moment) in `timeZone`.
    public func start(in timeZone: TimeZone) -> Date {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        return calendar.date(from: DateComponents(year: year, month: month, day: day))
            ?? Date(timeIntervalSince1970: Double(daysSinceEpoch) * 86_400 - Double(timeZone.secondsFromGMT()))
    }

    /// Days since 1970-01-01 (negative before it).
    public var daysSinceEpoch: Int {
        // Howard Hinnant's days_from_civil.
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let monthIndex = (month + 9) % 12
        let dayOfYear = (153 * monthIndex + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    public init(daysSinceEpoch days: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        self.year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        self.month = month
        self.day = day
    }

    public func adding(days: Int) -> CivilDate { CivilDate(daysSinceEpoch: daysSinceEpoch + days) }

    /// Whole days from `self` to `other` (positive when `other` is later).
    public func days(until other: CivilDate) -> Int { other.daysSinceEpoch - daysSinceEpoch }

    /// The first day of the date's month.
    public var firstOfMonth: CivilDate { adding(days: 1 - day) }

    /// The last day of the date's month.
    public var lastOfMonth: CivilDate { adding(days: Self.daysIn(month: month, year: year) - day) }

    /// The calendar months `from`...`through` touches, oldest first, each clipped to the range
    /// (empty when `from` is after `through`). Day arithmetic only: December 9999 has no next
    /// month to build, and none is built.
    public static func months(from: CivilDate, through: CivilDate) -> [(first: CivilDate, last: CivilDate)] {
        var months: [(first: CivilDate, last: CivilDate)] = []
        var start = from
        while start <= through {
            let end = min(start.lastOfMonth, through)
            months.append((start, end))
            start = end.adding(days: 1)
        }
        return months
    }

    /// "YYYY-MM-DD" (years 1...9999, so text order is date order). Written digit by digit: this
    /// runs for every row a store writes or reads, where `String(format:)` cost 4.6% of an import.
    public var description: String {
        let digits: [UInt8] = [
            Self.digit(year / 1000), Self.digit(year / 100 % 10), Self.digit(year / 10 % 10), Self.digit(year % 10), UInt8(ascii: "-"),
            Self.digit(month / 10), Self.digit(month % 10), UInt8(ascii: "-"), Self.digit(day / 10), Self.digit(day % 10),
        ]
        return String(decoding: digits, as: UTF8.self)
    }

    private static func digit(_ value: Int) -> UInt8 { UInt8(ascii: "0") + UInt8(truncatingIfNeeded: value) }

    public static func < (lhs: CivilDate, rhs: CivilDate) -> Bool {
        (lhs.year, lhs.month, lhs.day) < (rhs.year, rhs.month, rhs.day)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let date = CivilDate(text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "\"\(text)\" is not a date (YYYY-MM-DD)")
        }
        self = date
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }
}
