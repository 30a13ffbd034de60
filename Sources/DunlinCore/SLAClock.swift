/// Where a ticket's SLA stands at an instant.
public struct SLAStatus: Sendable, Hashable {
    /// Whether the clock is counting.
    public enum Phase: String, Sendable, Hashable {
        /// No `opened` event yet (or none before the instant asked about).
        case notStarted = "not_started"
        case running
        /// Waiting on the customer.
        case paused
        case resolved
    }

    public var phase: Phase
    /// The team whose calendar counts now ("" when none was named).
    public var teamID: String
    /// Business minutes counted so far (whole minutes, rounded down).
    public var elapsedMinutes: Int64
    public var slaMinutes: Int64
    /// `slaMinutes - elapsedMinutes`: negative once breached, by as much.
    public var remainingMinutes: Int64
    /// When the SLA runs out if the clock keeps running in the current team's calendar (Unix
    /// milliseconds); nil unless running and not yet breached, or when the team works no time in
    /// the next ten years.
    public var dueAt: Int64?
    /// When the count reached the SLA, once it has.
    public var breachedAt: Int64?
    /// Running, not breached, with at most a quarter of the SLA left.
    public var atRisk: Bool

    public var breached: Bool { breachedAt != nil }

    public init(
        phase: Phase, teamID: String, elapsedMinutes: Int64, slaMinutes: Int64, remainingMinutes: Int64, dueAt: Int64?, breachedAt: Int64?,
        atRisk: Bool
    ) {
        self.phase = phase
        self.teamID = teamID
        self.elapsedMinutes = elapsedMinutes
        self.slaMinutes = slaMinutes
        self.remainingMinutes = remainingMinutes
        self.dueAt = dueAt
        self.breachedAt = breachedAt
        self.atRisk = atRisk
    }
}

/// The SLA clock: business minutes of a ticket, counted only while it is open (not while it waits
/// on the customer, not once resolved), each stretch in the calendar of the team the ticket was
/// with during it (``TeamCalendar``). A hand-off from Manila to New York at 17:00 Manila stops
/// Manila's count then and goes on when New York's day starts, in New York's hours and holidays.
///
/// Pure: time is only the events' instants and `now` (the caller's ``WallClock``). A team
/// without a calendar (or with one that does not validate) counts every minute, so a ticket is
/// never silently stopped. Events after `now` are not counted yet; events at one instant count in
/// their order. The count looks at most ``horizonDays`` ahead of each stretch's start: nothing
/// traps on any input.
public enum SLAClock {
    /// How far the clock looks for working time, in days (about ten years).
    public static let horizonDays = 3660
    /// The last instant a ticket may carry: 9999-12-31T23:59:59.999Z.
    public static let latestInstant: Int64 = 253_402_300_799_999

    /// Refuses an instant before 1970 or after year 9999.
    public static func checkInstant(_ instant: Int64, field: String) throws(DomainError) {
        guard (0...latestInstant).contains(instant) else {
            throw .outOfRange(field: field, "\(instant) is not an instant from 1970 to 9999 in Unix milliseconds")
        }
    }

    /// The SLA of a ticket with `events` (in any order; others' events are the caller's to leave
    /// out) at `now`, with an SLA of `slaMinutes` business minutes.
    public static func status(events: [TicketEvent], slaMinutes: Int64, calendars: [TeamCalendar], now: Int64) -> SLAStatus {
        let sla = max(0, min(slaMinutes, Int64(horizonDays) * 1440))
        let slaMillis = sla * 60_000
        let now = clamp(now)
        var hours: [String: WorkingTime] = [:]
        for calendar in calendars { hours[calendar.id] = WorkingTime(calendar) }
        let ordered = events.enumerated()
            .filter { $0.element.at <= now }
            .sorted { ($0.element.at, $0.offset) < ($1.element.at, $1.offset) }
            .map(\.element)

        var phase = SLAStatus.Phase.notStarted
        var team = ""
        var since: Int64 = 0
        var elapsed: Int64 = 0
        var breachedAt: Int64?

        func count(until end: Int64) {
            guard phase == .running, end > since else { return }
            let step = advance(from: since, until: end, by: breachedAt == nil ? slaMillis - elapsed : nil, in: hours[team])
            elapsed = min(elapsed + step.counted, Int64.max / 4)
            if breachedAt == nil, let reached = step.reachedAt { breachedAt = reached }
        }

        for event in ordered {
            let at = clamp(event.at)
            count(until: at)
            since = at
            switch event.kind {
            case .opened:
                phase = .running
                if !event.teamID.isEmpty { team = event.teamID }
            case .assigned:
                if !event.teamID.isEmpty { team = event.teamID }
            case .paused:
                if phase == .running { phase = .paused }
            case .resumed:
                if phase == .paused { phase = .running }
            case .resolved:
                if phase != .notStarted { phase = .resolved }
            case .reopened:
                if phase == .resolved { phase = .running }
            case .comment:
                break
            }
        }
        count(until: now)
        since = now

        var dueAt: Int64?
        if phase == .running, breachedAt == nil {
            dueAt = due(from: now, after: slaMillis - elapsed, in: hours[team])
        }
        // A ticket opened with an SLA of 0 is breached the moment it opens.
        if breachedAt == nil, sla == 0, let first = ordered.first(where: { $0.kind == .opened }) { breachedAt = first.at }
        let elapsedMinutes = elapsed / 60_000
        let remaining = sla - elapsedMinutes
        return SLAStatus(
            phase: phase, teamID: team, elapsedMinutes: elapsedMinutes, slaMinutes: sla, remainingMinutes: remaining, dueAt: dueAt,
            breachedAt: breachedAt, atRisk: phase == .running && breachedAt == nil && remaining * 4 <= sla
        )
    }

    /// Counts working milliseconds from `start` to `end` in `hours` (every millisecond when nil),
    /// and, when `budget` is given, the instant the count reaches it; `counted` is the whole
    /// stretch either way.
    static func advance(from start: Int64, until end: Int64, by budget: Int64?, in hours: WorkingTime?) -> (counted: Int64, reachedAt: Int64?) {
        var counted: Int64 = 0
        var reachedAt: Int64? = budget.flatMap { $0 <= 0 ? start : nil }
        forEachWorkingSpan(from: start, until: end, in: hours) { from, to in
            let span = to - from
            if reachedAt == nil, let budget, counted + span >= budget { reachedAt = from + (budget - counted) }
            counted += span
            return true
        }
        return (counted, reachedAt)
    }

    /// The instant `budget` working milliseconds after `start` in `hours`, nil beyond the horizon.
    static func due(from start: Int64, after budget: Int64, in hours: WorkingTime?) -> Int64? {
        guard budget > 0 else { return start }
        var counted: Int64 = 0
        var reachedAt: Int64?
        forEachWorkingSpan(from: start, until: latestInstant, in: hours) { from, to in
            let span = to - from
            if counted + span >= budget {
                reachedAt = from + (budget - counted)
                return false
            }
            counted += span
            return true
        }
        return reachedAt
    }

    /// Calls `body` with each working span within `[start, end)`, in order, until it answers false.
    private static func forEachWorkingSpan(from start: Int64, until end: Int64, in hours: WorkingTime?, _ body: (Int64, Int64) -> Bool) {
        guard end > start else { return }
        guard let hours else {
            _ = body(start, end)
            return
        }
        let firstDay = hours.day(at: start)
        for offset in 0...horizonDays {
            guard let window = hours.window(on: firstDay.adding(days: offset)) else { continue }
            if window.start >= end { return }
            let from = max(window.start, start)
            let to = min(window.end, end)
            if to > from, !body(from, to) { return }
        }
    }

    private static func clamp(_ instant: Int64) -> Int64 { min(max(instant, 0), latestInstant) }
}
