import Foundation

/// A day of the week, Monday first (ISO 8601), by its three-letter name as the wire and the CLI
/// write it.
public enum Weekday: String, Sendable, Hashable, Codable, CaseIterable {
    case mon, tue, wed, thu, fri, sat, sun

    /// The weekday of `day` (1970-01-01 was a Thursday).
    public init(_ day: CivilDate) {
        let index = ((day.daysSinceEpoch + 3) % 7 + 7) % 7
        self = Self.allCases[index]
    }
}

/// The working time of a team that answers tickets (kind `team_calendar`): the days and hours it
/// works in its own time zone, and the days it does not (public holidays). A ticket's SLA clock
/// (``SLAClock``) counts only this time, in the calendar of the team the ticket is with, so a
/// Manila team and a New York team each count their own day. The id is the team's name
/// ("billing-manila"); managers write calendars.
///
/// Hours are one span a day, `opens` to `closes` on the local clock ("09:00" to "18:00"; closes
/// may be "24:00"); a shift across midnight is two teams. A local time a daylight-saving change
/// skips is read as the instant after the gap, as Foundation's calendar reads it.
public struct TeamCalendar: Sendable, Hashable, Codable, Identifiable {
    public var id: String
    /// An IANA time zone ("Asia/Manila").
    public var timeZone: String
    /// The days the team works, each once, in week order.
    public var workingDays: [Weekday]
    /// "HH:MM", 00:00 to 23:59.
    public var opens: String
    /// "HH:MM", after `opens`, at most 24:00.
    public var closes: String
    /// Days the team does not work although they are working days (public holidays).
    public var holidays: [CivilDate]
    /// The users (ids) in the team: the metrics' team rows are their customers' (`--by team`).
    public var members: [String]

    public init(
        id: String, timeZone: String, workingDays: [Weekday] = [.mon, .tue, .wed, .thu, .fri], opens: String = "09:00",
        closes: String = "17:00", holidays: [CivilDate] = [], members: [String] = []
    ) {
        self.id = id
        self.timeZone = timeZone
        self.workingDays = workingDays
        self.opens = opens
        self.closes = closes
        self.holidays = holidays
        self.members = members
    }

    /// Checks the fields: a code for an id, a known time zone, at least one working day and none
    /// twice, opening before closing, no holiday twice.
    public func validate() throws(DomainError) {
        try Require.text(["id": id, "time_zone": timeZone, "opens": opens, "closes": closes])
        try Require.code(id, "id")
        guard TimeZone(identifier: timeZone) != nil else {
            throw .invalid(field: "time_zone", "\"\(timeZone)\" is not an IANA time zone (such as Asia/Manila)")
        }
        guard !workingDays.isEmpty else { throw .invalid(field: "working_days", "must name at least one day (mon to sun)") }
        guard Set(workingDays).count == workingDays.count else { throw .invalid(field: "working_days", "names a day twice") }
        guard let open = Self.minutes(opens, allowingMidnightEnd: false) else {
            throw .invalid(field: "opens", "\"\(opens)\" is not a time of day (HH:MM, 00:00 to 23:59)")
        }
        guard let close = Self.minutes(closes, allowingMidnightEnd: true) else {
            throw .invalid(field: "closes", "\"\(closes)\" is not a time of day (HH:MM, 00:01 to 24:00)")
        }
        guard open < close else { throw .invalid(field: "closes", "closes at \(closes), not after it opens at \(opens)") }
        var seen = Set<CivilDate>()
        for (index, day) in holidays.enumerated() where !seen.insert(day).inserted {
            throw .invalid(field: "holidays[\(index)]", "\(day) is listed twice")
        }
        var people = Set<String>()
        for (index, member) in members.enumerated() {
            try Require.code(member, "members[\(index)]")
            guard people.insert(member).inserted else { throw .invalid(field: "members[\(index)]", "\(member) is listed twice") }
        }
    }

    /// The minutes after midnight "HH:MM" names, or nil; "24:00" only as an end.
    static func minutes(_ text: String, allowingMidnightEnd: Bool) -> Int? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].count == 2, parts[1].count == 2,
              parts.allSatisfy({ $0.allSatisfy(\.isASCIIDigit) }),
              let hour = Int(parts[0]), let minute = Int(parts[1]), minute < 60
        else { return nil }
        if hour == 24 { return allowingMidnightEnd && minute == 0 ? 1440 : nil }
        return hour < 24 ? hour * 60 + minute : nil
    }
}

/// A team calendar ready to answer "when is the team working": its zone read once, its windows
/// as instants. Built only from a calendar that validates (``SLAClock`` treats one that does not
/// as missing).
struct WorkingTime {
    private let calendar: Calendar
    private let zone: TimeZone
    private let days: Set<Weekday>
    private let holidays: Set<CivilDate>
    private let open: Int
    private let close: Int

    init?(_ team: TeamCalendar) {
        guard (try? team.validate()) != nil, let zone = TimeZone(identifier: team.timeZone),
              let open = TeamCalendar.minutes(team.opens, allowingMidnightEnd: false),
              let close = TeamCalendar.minutes(team.closes, allowingMidnightEnd: true)
        else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        self.calendar = calendar
        self.zone = zone
        self.days = Set(team.workingDays)
        self.holidays = Set(team.holidays)
        self.open = open
        self.close = close
    }

    /// The team's local day at `instant` (Unix milliseconds).
    func day(at instant: Int64) -> CivilDate {
        CivilDate(Date(timeIntervalSince1970: Double(instant) / 1000), in: zone)
    }

    /// The working span of `day` as Unix milliseconds `[start, end)`, nil on a day off.
    func window(on day: CivilDate) -> (start: Int64, end: Int64)? {
        guard days.contains(Weekday(day)), !holidays.contains(day),
              let start = instant(day, minutes: open), let end = instant(day, minutes: close), start < end
        else { return nil }
        return (start, end)
    }

    /// The instant the local clock reads `minutes` after the start of `day` (1440: the next day's
    /// 00:00), by the local clock, so a day of 23 or 25 hours keeps 09:00 at 09:00.
    private func instant(_ day: CivilDate, minutes: Int) -> Int64? {
        let (date, minutes) = minutes >= 1440 ? (day.adding(days: 1), minutes - 1440) : (day, minutes)
        let components = DateComponents(year: date.year, month: date.month, day: date.day, hour: minutes / 60, minute: minutes % 60)
        guard let instant = calendar.date(from: components) else { return nil }
        return Int64(exactly: (instant.timeIntervalSince1970 * 1000).rounded())
    }
}
