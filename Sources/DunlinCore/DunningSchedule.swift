import Foundation

/// When a tenant's scheduled dunning run is due: once a day, as soon as the tenant's clock reads
/// the run time or later. On the day a daylight-saving change skips the run time (02:30 in New
/// York on the spring-forward day) the run happens at the first minute after it; on the day the
/// time comes twice (fall back), once. The run is idempotent anyway (``DunningNotice``), so a
/// restarted server that runs again the same day creates nothing twice.
public enum DunningSchedule {
    /// The hour and minute of "HH:MM", nil for "" (no scheduled run). A refusal names `field`,
    /// the setting (``TenantSetting/dunningRunTime``) unless said otherwise.
    public static func time(_ text: String, field: String = TenantSetting.dunningRunTime) throws(DomainError) -> (hour: Int, minute: Int)? {
        guard !text.isEmpty else { return nil }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, parts.allSatisfy({ $0.count == 2 && $0.allSatisfy(\.isASCIIDigit) }),
            let hour = Int(parts[0]), let minute = Int(parts[1]), (0...23).contains(hour), (0...59).contains(minute)
        else { throw .invalid(field: field, "\"\(text)\" is not a time of day HH:MM (00:00 to 23:59)") }
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
