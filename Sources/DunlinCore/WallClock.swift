import Foundation

/// The one source of "now" for everything Dunlin dates or stamps: the tenant's today, an
/// activity's time, a token's expiry, a change's wall-clock stamp.
///
/// Nothing else reads the system clock. Tests inject a fixed clock, so no test depends on the day
/// it runs; the system clock itself can be moved for a whole process tree with the environment
/// variable `DUNLIN_CLOCK_OFFSET` (whole seconds, or a number followed by `d`, `h`, `m` or `s`,
/// signed: `DUNLIN_CLOCK_OFFSET=365d scripts/test` runs the suite a year ahead).
public struct WallClock: Sendable {
    private let read: @Sendable () -> Date

    /// A clock that answers `read()`.
    public init(_ read: @escaping @Sendable () -> Date) {
        self.read = read
    }

    /// The current instant.
    public func now() -> Date { read() }

    /// The current instant in Unix milliseconds, rounded to the nearest.
    public var milliseconds: Int64 {
        let value = (read().timeIntervalSince1970 * 1000).rounded()
        return Int64(exactly: value) ?? (value < 0 ? 0 : Int64.max)
    }

    /// The calendar date it is now in `zone`.
    public func today(in zone: TimeZone) -> CivilDate { CivilDate(read(), in: zone) }

    /// A clock that always reads `instant`.
    public static func fixed(_ instant: Date) -> WallClock {
        WallClock { instant }
    }

    /// A clock that always reads `hour` o'clock (noon unless given) of `day` in `zone`.
    public static func fixed(_ day: CivilDate, hour: Int = 12, in zone: TimeZone) -> WallClock {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let start = calendar.date(from: DateComponents(year: day.year, month: day.month, day: day.day, hour: hour))!
        return fixed(start)
    }

    /// The system clock, shifted by `DUNLIN_CLOCK_OFFSET` when it is set.
    public static let system: WallClock = {
        let offset = environmentOffset
        return WallClock { Date().addingTimeInterval(offset) }
    }()

    /// The offset `DUNLIN_CLOCK_OFFSET` asks for: 0 when it is unset or unreadable.
    static let environmentOffset: TimeInterval = {
        guard let text = ProcessInfo.processInfo.environment["DUNLIN_CLOCK_OFFSET"], !text.isEmpty else { return 0 }
        return parseOffset(text) ?? 0
    }()

    /// What is wrong with `DUNLIN_CLOCK_OFFSET`, nil when it is unset or readable. The executables
    /// refuse to start with it: a suite run "a year ahead" that silently ran today proves nothing.
    public static var environmentProblem: String? {
        guard let text = ProcessInfo.processInfo.environment["DUNLIN_CLOCK_OFFSET"], !text.isEmpty, parseOffset(text) == nil else { return nil }
        return "DUNLIN_CLOCK_OFFSET=\(text) is not an offset: use whole seconds or a number followed by d, h, m or s (at most 1000 years)"
    }

    /// Seconds for "86400", "-3600", "365d", "12h", "30m", "90s"; nil for anything else or for
    /// an offset past a thousand years either way.
    public static func parseOffset(_ text: String) -> TimeInterval? {
        let units: [Character: Int64] = ["d": 86_400, "h": 3_600, "m": 60, "s": 1]
        var digits = Substring(text)
        var unit: Int64 = 1
        if let last = digits.last, let seconds = units[last] {
            unit = seconds
            digits = digits.dropLast()
        }
        guard let count = Int64(digits) else { return nil }
        let (seconds, overflow) = count.multipliedReportingOverflow(by: unit)
        guard !overflow, seconds.magnitude <= 1000 * 366 * 86_400 else { return nil }
        return TimeInterval(seconds)
    }
}
