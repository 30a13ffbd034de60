import DunlinCore
import Foundation
import Testing

/// The SLA clock (SLAClock over TeamCalendar), each case worked out by hand: Manila is UTC+8 all
/// year; New York is UTC-5 from 2026-11-01 (UTC-4 before).
@Suite("SLA clock")
struct SLAClockTests {
    static let manila = TeamCalendar(
        id: "billing-manila", timeZone: "Asia/Manila", opens: "09:00", closes: "18:00", holidays: [CivilDate("2026-11-30")!]
    )
    static let newYork = TeamCalendar(
        id: "billing-newyork", timeZone: "America/New_York", opens: "09:00", closes: "17:00", holidays: [CivilDate("2026-11-26")!]
    )
    static let calendars = [manila, newYork]

    /// Unix milliseconds of a local time ("2026-11-27 16:00") in `zone`.
    static func at(_ text: String, _ zone: String) -> Int64 {
        let parts = text.split(separator: " ")
        let day = CivilDate(String(parts[0]))!
        let time = parts[1].split(separator: ":").map { Int($0)! }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: zone)!
        let date = calendar.date(from: DateComponents(year: day.year, month: day.month, day: day.day, hour: time[0], minute: time[1]))!
        return Int64(date.timeIntervalSince1970 * 1000)
    }

    static func mnl(_ text: String) -> Int64 { at(text, "Asia/Manila") }
    static func nyc(_ text: String) -> Int64 { at(text, "America/New_York") }

    static func event(_ kind: TicketEventKind, _ at: Int64, team: String = "") -> TicketEvent {
        TicketEvent(id: "ev_\(kind.rawValue)_\(at)", ticketID: "tkt_1", kind: kind, at: at, authorID: "u_ana", teamID: team)
    }

    static func status(_ events: [TicketEvent], sla: Int64, now: Int64, calendars: [TeamCalendar] = calendars) -> SLAStatus {
        SLAClock.status(events: events, slaMinutes: sla, calendars: calendars, now: now)
    }

    @Test("Friday 16:00 Manila plus 4 business hours (9-18, Monday to Friday) is Monday 11:00 Manila")
    func acrossWeekend() {
        let opened = Self.event(.opened, Self.mnl("2026-11-20 16:00"), team: "billing-manila")
        let monday = Self.status([opened], sla: 240, now: Self.mnl("2026-11-23 10:00"))
        // Friday 16-18 is 120 minutes, Monday 9-10 another 60.
        #expect(monday.phase == .running && monday.elapsedMinutes == 180 && monday.remainingMinutes == 60)
        #expect(monday.dueAt == Self.mnl("2026-11-23 11:00"))
        #expect(monday.atRisk && !monday.breached, "60 of 240 minutes left is a quarter")
        // Over the weekend nothing counts.
        let sunday = Self.status([opened], sla: 240, now: Self.mnl("2026-11-22 23:00"))
        #expect(sunday.elapsedMinutes == 120 && sunday.dueAt == Self.mnl("2026-11-23 11:00") && !sunday.atRisk)
        // An hour after the due instant it is breached, at the due instant, by 60 minutes.
        let late = Self.status([opened], sla: 240, now: Self.mnl("2026-11-23 12:00"))
        #expect(late.breachedAt == Self.mnl("2026-11-23 11:00") && late.remainingMinutes == -60 && late.dueAt == nil && !late.atRisk)
    }

    @Test("a Manila public holiday (2026-11-30, Bonifacio Day) is skipped: Friday 16:00 plus 4 hours is Tuesday 11:00")
    func publicHoliday() {
        let opened = Self.event(.opened, Self.mnl("2026-11-27 16:00"), team: "billing-manila")
        #expect(Self.status([opened], sla: 240, now: Self.mnl("2026-11-27 16:00")).dueAt == Self.mnl("2026-12-01 11:00"))
        let monday = Self.status([opened], sla: 240, now: Self.mnl("2026-11-30 17:00"))
        #expect(monday.elapsedMinutes == 120, "the holiday counts nothing")
        // Without the holiday it would have been Monday.
        var plain = Self.manila
        plain.holidays = []
        #expect(Self.status([opened], sla: 240, now: Self.mnl("2026-11-27 16:00"), calendars: [plain]).dueAt == Self.mnl("2026-11-30 11:00"))
    }

    @Test("a hand-off at 17:00 Manila to New York (9-17) goes on in New York's hours")
    func handOff() {
        let events = [
            Self.event(.opened, Self.mnl("2026-12-01 15:00"), team: "billing-manila"),
            Self.event(.assigned, Self.mnl("2026-12-01 17:00"), team: "billing-newyork"),
        ]
        // 17:00 Manila is 04:00 in New York: two hours counted, the other six from 09:00 New York.
        let handed = Self.status(events, sla: 480, now: Self.mnl("2026-12-01 17:00"))
        #expect(handed.teamID == "billing-newyork" && handed.elapsedMinutes == 120)
        #expect(handed.dueAt == Self.nyc("2026-12-01 15:00"))
        // Manila's 17:00-18:00 does not count once the ticket is New York's.
        let night = Self.status(events, sla: 480, now: Self.nyc("2026-12-01 08:59"))
        #expect(night.elapsedMinutes == 120)
        let afternoon = Self.status(events, sla: 480, now: Self.nyc("2026-12-01 13:00"))
        #expect(afternoon.elapsedMinutes == 360 && afternoon.atRisk)
    }

    @Test("a pause while waiting on the customer does not count")
    func pause() {
        let opened = Self.event(.opened, Self.mnl("2026-12-02 10:00"), team: "billing-manila")
        let paused = Self.event(.paused, Self.mnl("2026-12-02 12:00"))
        let resumed = Self.event(.resumed, Self.mnl("2026-12-03 10:00"))
        let waiting = Self.status([opened, paused], sla: 240, now: Self.mnl("2026-12-02 17:00"))
        #expect(waiting.phase == .paused && waiting.elapsedMinutes == 120 && waiting.dueAt == nil && !waiting.atRisk)
        // Events arrive in any order (a merge); the clock sorts them by instant.
        let going = Self.status([resumed, opened, paused], sla: 240, now: Self.mnl("2026-12-03 10:00"))
        #expect(going.phase == .running && going.elapsedMinutes == 120 && going.dueAt == Self.mnl("2026-12-03 12:00"))
    }

    @Test("the issue's case: a weekend, a Manila holiday, a pause and a hand-off to New York")
    func issueCase() {
        let events = [
            Self.event(.opened, Self.mnl("2026-11-27 16:00"), team: "billing-manila"),   // Friday: 16-18, 120
            // Saturday, Sunday and Monday (Bonifacio Day) count nothing. Tuesday 9-12: 180.
            Self.event(.paused, Self.mnl("2026-12-01 12:00")),
            Self.event(.resumed, Self.mnl("2026-12-01 14:00")),                           // 14-17: 180
            Self.event(.assigned, Self.mnl("2026-12-01 17:00"), team: "billing-newyork"), // 480 so far
        ]
        let whilePaused = Self.status(events, sla: 960, now: Self.mnl("2026-12-01 13:00"))
        #expect(whilePaused.phase == .paused && whilePaused.elapsedMinutes == 300 && whilePaused.dueAt == nil)
        let handed = Self.status(events, sla: 960, now: Self.mnl("2026-12-01 17:00"))
        #expect(handed.elapsedMinutes == 480 && handed.dueAt == Self.nyc("2026-12-01 17:00"))
        // New York's Tuesday 9-17 makes 960: breached at 17:00 New York; Wednesday 9-15 is 360 more.
        let wednesday = Self.status(events, sla: 960, now: Self.nyc("2026-12-02 15:00"))
        #expect(wednesday.breachedAt == Self.nyc("2026-12-01 17:00"))
        #expect(wednesday.elapsedMinutes == 1320 && wednesday.remainingMinutes == -360)
    }

    @Test("resolving stops the clock; reopening goes on from where it stopped")
    func resolveAndReopen() {
        let events = [
            Self.event(.opened, Self.mnl("2026-12-02 09:00"), team: "billing-manila"),
            Self.event(.comment, Self.mnl("2026-12-02 09:30")),
            Self.event(.resolved, Self.mnl("2026-12-02 10:00")),
            Self.event(.reopened, Self.mnl("2026-12-03 09:00")),
        ]
        let resolved = Self.status(events, sla: 120, now: Self.mnl("2026-12-02 18:00"))
        #expect(resolved.phase == .resolved && resolved.elapsedMinutes == 60 && resolved.dueAt == nil)
        let reopened = Self.status(events, sla: 120, now: Self.mnl("2026-12-03 09:00"))
        #expect(reopened.phase == .running && reopened.dueAt == Self.mnl("2026-12-03 10:00"))
        // Events after now do not count yet.
        #expect(Self.status(events, sla: 120, now: Self.mnl("2026-12-02 09:00")).phase == .running)
        #expect(Self.status(events, sla: 120, now: Self.mnl("2026-12-01 09:00")).phase == .notStarted)
    }

    @Test("New York keeps 09:00 local across the end of daylight saving time (2026-11-01)")
    func daylightSaving() {
        // Friday 2026-10-30 16:00 EDT, SLA 2 hours: 16-17 Friday, then Monday 09:00-10:00 EST.
        let opened = Self.event(.opened, Self.nyc("2026-10-30 16:00"), team: "billing-newyork")
        let status = Self.status([opened], sla: 120, now: Self.nyc("2026-10-30 16:00"))
        #expect(status.dueAt == Self.nyc("2026-11-02 10:00"))
        #expect(status.dueAt == Int64(1_793_631_600_000), "15:00 UTC")
    }

    @Test("a team without a calendar counts every minute; no input traps")
    func extremes() {
        let opened = Self.event(.opened, Self.mnl("2026-12-02 09:00"), team: "nobody")
        let status = Self.status([opened], sla: 90, now: Self.mnl("2026-12-02 10:00"))
        #expect(status.elapsedMinutes == 60 && status.dueAt == Self.mnl("2026-12-02 10:30"))
        // A calendar that does not validate counts as missing.
        let broken = TeamCalendar(id: "billing-manila", timeZone: "Mars/Olympus", opens: "18:00", closes: "09:00")
        #expect(Self.status([opened], sla: 90, now: Self.mnl("2026-12-02 10:00"), calendars: [broken]).elapsedMinutes == 60)
        for instant in [Int64.min, -1, 0, SLAClock.latestInstant, Int64.max] {
            for sla in [Int64.min, -1, 0, 1, Int64.max] {
                let events = [TicketEventKind.opened, .assigned, .paused, .resumed, .resolved, .reopened].map { Self.event($0, instant, team: "billing-manila") }
                let status = Self.status(events + [Self.event(.opened, 0, team: "billing-newyork")], sla: sla, now: instant)
                #expect(status.elapsedMinutes >= 0 && status.slaMinutes >= 0)
            }
        }
        // A team that works no time at all never comes due, without trapping.
        var never = Self.manila
        never.workingDays = [.sun]
        never.holidays = (0..<600).map { CivilDate("2026-12-06")!.adding(days: $0 * 7) }
        let stuck = Self.status([Self.event(.opened, Self.mnl("2026-12-02 09:00"), team: "billing-manila")], sla: 60, now: Self.mnl("2026-12-02 09:00"), calendars: [never])
        #expect(stuck.phase == .running && stuck.dueAt == nil && stuck.elapsedMinutes == 0)
    }

    @Test("calendars and events refuse what cannot be right, naming the field")
    func validation() {
        #expect(throws: DomainError.self) { try TeamCalendar(id: "x", timeZone: "Nowhere/City").validate() }
        #expect((try? Self.manila.validate()) != nil)
        #expect((try? TeamCalendar(id: "late", timeZone: "UTC", opens: "20:00", closes: "24:00").validate()) != nil)
        for (opens, closes, field) in [("9:00", "17:00", "opens"), ("09:00", "24:01", "closes"), ("17:00", "09:00", "closes"), ("24:00", "24:00", "opens")] {
            do {
                try TeamCalendar(id: "t", timeZone: "UTC", opens: opens, closes: closes).validate()
                Issue.record("\(opens)-\(closes) accepted")
            } catch { #expect(error.field == field) }
        }
        do {
            try TeamCalendar(id: "t", timeZone: "UTC", workingDays: [.mon, .mon]).validate()
            Issue.record("a day twice accepted")
        } catch { #expect(error.field == "working_days") }
        do {
            try TicketEvent(id: "e", ticketID: "t", kind: .comment, at: 0, authorID: "u").validate()
            Issue.record("an empty comment accepted")
        } catch { #expect(error.field == "note") }
        do {
            try TicketEvent(id: "e", ticketID: "t", kind: .paused, at: -1, authorID: "u").validate()
            Issue.record("an instant before 1970 accepted")
        } catch { #expect(error.field == "at") }
        #expect(Weekday(CivilDate("2026-11-27")!) == .fri && Weekday(CivilDate("1969-12-31")!) == .wed)
    }

    @Test("the worklist says a breached or at-risk ticket in words, scores nothing for it, and lists a customer for it alone")
    func worklistWords() {
        let ticket = Ticket(id: "T-12", customerID: "C1", category: .billing, subject: "invoice copy", teamID: "billing-manila", openedAt: 0, slaMinutes: 240)
        func warning(_ remaining: Int64) -> TicketWarning? {
            TicketWarning(ticket, SLAStatus(
                phase: .running, teamID: "billing-manila", elapsedMinutes: 240 - remaining, slaMinutes: 240, remainingMinutes: remaining,
                dueAt: nil, breachedAt: remaining <= 0 ? 0 : nil, atRisk: remaining > 0 && remaining * 4 <= 240
            ))
        }
        #expect(warning(-120)?.reason == "ticket T-12 'invoice copy' breached its SLA 2 business hours ago")
        #expect(warning(-60)?.reason == "ticket T-12 'invoice copy' breached its SLA 1 business hour ago")
        #expect(warning(-61)?.reason == "ticket T-12 'invoice copy' breached its SLA 61 business minutes ago")
        #expect(warning(45)?.reason == "ticket T-12 'invoice copy' is at risk: 45 business minutes left of its SLA")
        #expect(warning(1)?.reason == "ticket T-12 'invoice copy' is at risk: 1 business minute left of its SLA")
        #expect(warning(61) == nil, "more than a quarter left: no warning")
        let today = CivilDate("2026-12-01")!
        var facts = WorklistFacts(customerID: "C1", customerName: "Globe", riskRating: 1, lastContact: today)
        #expect(Worklist.row(for: facts, today: today, weights: .standard, base: .usd, rates: [:]) == nil)
        facts.tickets = [warning(-120)!]
        let row = Worklist.row(for: facts, today: today, weights: .standard, base: .usd, rates: [:])
        #expect(row?.reasons == ["ticket T-12 'invoice copy' breached its SLA 2 business hours ago"] && row?.score == 0 && row?.priority == false)
    }
}
