import Foundation

/// A tenant's collections settings: one record per tenant (id ``CollectionsSettings/recordID``),
/// a manager's to change, synced like every record. Today it holds when the scheduled dunning run
/// happens.
public struct CollectionsSettings: Sendable, Hashable, Codable, Identifiable {
    /// The one id the settings record has.
    public static let recordID = "collections"

    public var id: String
    /// "HH:MM" on the tenant's clock (24-hour): `dunlind serve` runs dunning once a day when the
    /// tenant's clock reaches it; empty: no scheduled run.
    public var dunningRunTime: String

    public init(id: String = Self.recordID, dunningRunTime: String = "") {
        self.id = id
        self.dunningRunTime = dunningRunTime
    }

    public func validate() throws(DomainError) {
        try Require.text(["id": id, "dunning_run_time": dunningRunTime])
        guard id == Self.recordID else { throw .invalid(field: "id", "the collections settings' id is \"\(Self.recordID)\", not \"\(id)\"") }
        _ = try DunningSchedule.time(dunningRunTime)
    }
}

/// When a tenant's scheduled dunning run is due: once a day, as soon as the tenant's clock reads
/// the run time or later. On the day a daylight-saving change skips the run time (02:30 in New
/// York on the spring-forward day) the run happens at the first minute after it; on the day the
/// time comes twice (fall back), once. The run is idempotent anyway (``DunningNotice``), so a
/// restarted server that runs again the same day creates nothing twice.
public enum DunningSchedule {
    /// The hour and minute of "HH:MM", nil for "" (no scheduled run).
    public static func time(_ text: String) throws(DomainError) -> (hour: Int, minute: Int)? {
        guard !text.isEmpty else { return nil }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, parts.allSatisfy({ $0.count == 2 && $0.allSatisfy(\.isASCIIDigit) }),
            let hour = Int(parts[0]), let minute = Int(parts[1]), (0...23).contains(hour), (0...59).contains(minute)
        else { throw .invalid(field: "dunning_run_time", "\"\(text)\" is not a time of day HH:MM (00:00 to 23:59)") }
        return (hour, minute)
    }

    /// The as-of date of the run due at `now` in `zone` (the tenant's today), nil when its time has
    /// not come yet today or `lastRun` is today already.
    public static func due(runTime: (hour: Int, minute: Int), now: Date, in zone: TimeZone, lastRun: CivilDate?) -> CivilDate? {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute], from: now)
        guard let today = CivilDate(year: parts.year!, month: parts.month!, day: parts.day!), lastRun.map({ $0 < today }) ?? true else { return nil }
        return (parts.hour!, parts.minute!) >= runTime ? today : nil
    }
}
