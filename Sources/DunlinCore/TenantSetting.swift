/// One tenant setting a manager changes and every replica holds (kind "tenant_setting"): a
/// name and its value as text. A setting with no record has its default; deleting one puts the
/// default back. Each setting is its own record, so two managers changing two settings offline
/// both keep their change (sync merges field by field, record by record). This is the tenant's
/// one settings mechanism: every tenant-wide choice a manager makes is a setting here.
///
/// The names:
/// - `worklist.<weight>` for each ``WorklistWeights`` name: a whole number 0 to ``WorklistWeights/maximum``.
/// - `dunning.run_time`: "HH:MM" on the tenant's clock, when `dunlind serve` runs dunning each
///   day (``DunningSchedule``); "" (the default): no scheduled run.
/// - `escalation.manager`: the user id escalation tasks are assigned to (``Escalation``); ""
///   (the default): the customer's analyst, the task titled for their manager.
/// - `letterhead.name`, `letterhead.address` (lines), `letterhead.phone`, `letterhead.email`: the
///   letterhead on letters and the sender of emails (text; empty by default: the tenant's name
///   heads a letter with no `letterhead.name`).
public struct TenantSetting: Sendable, Hashable, Codable, Identifiable {
    /// The setting's name, e.g. "worklist.broken_promise".
    public var id: String
    public var value: String

    public init(id: String, value: String) {
        self.id = id
        self.value = value
    }

    /// The prefix of the worklist's weights.
    public static let worklistPrefix = "worklist."
    /// The daily scheduled dunning run's time of day.
    public static let dunningRunTime = "dunning.run_time"
    /// Who escalation tasks go to.
    public static let escalationManager = "escalation.manager"

    /// The prefix of the letterhead's fields.
    public static let letterheadPrefix = "letterhead."
    /// The letterhead's fields, each text with no default.
    public static let letterheadNames = ["name", "address", "phone", "email"].map { letterheadPrefix + $0 }

    /// Every setting name there is, in a fixed order.
    public static var names: [String] { WorklistWeights.names.map { worklistPrefix + $0 } + [dunningRunTime, escalationManager] + letterheadNames }

    /// Checks the name is a setting and the value one it takes, naming the setting.
    public func validate() throws(DomainError) {
        try StoredText.check(value, field: id)
        _ = try Self.defaultValue(of: id)
        switch id {
        case Self.dunningRunTime: _ = try DunningSchedule.time(value, field: id)
        case Self.escalationManager: try Require.code(value, id)
        case let name where Self.letterheadNames.contains(name): _ = try Self.letterhead([self], tenantName: "")
        default: _ = try Self.weights([self])
        }
    }

    /// The value setting `name` has when nobody set it; refuses a name that is no setting (field `id`).
    public static func defaultValue(of name: String) throws(DomainError) -> String {
        if name == dunningRunTime || name == escalationManager || letterheadNames.contains(name) { return "" }
        guard name.hasPrefix(worklistPrefix), let weight = WorklistWeights.standard[String(name.dropFirst(worklistPrefix.count))] else {
            throw .invalid(field: "id", "\"\(name.prefix(64))\" is not a setting; the settings are \(names.joined(separator: ", "))")
        }
        return String(weight)
    }

    /// The value of setting `name` among `settings`, or its default.
    public static func value(of name: String, in settings: [TenantSetting]) throws(DomainError) -> String {
        if let set = settings.first(where: { $0.id == name }) { return set.value }
        return try defaultValue(of: name)
    }

    /// The worklist's weights from the tenant's settings: the default where none is set.
    public static func weights(_ settings: [TenantSetting]) throws(DomainError) -> WorklistWeights {
        var weights = WorklistWeights.standard
        for setting in settings where setting.id.hasPrefix(worklistPrefix) {
            guard let value = Int(setting.value) else {
                throw .invalid(field: setting.id, "a weight is a whole number 0 to \(WorklistWeights.maximum), not \"\(setting.value.prefix(64))\"")
            }
            try weights.set(String(setting.id.dropFirst(worklistPrefix.count)), value, field: setting.id)
        }
        return weights
    }

    /// The letterhead from the tenant's settings; `tenantName` where no `letterhead.name` is set.
    /// Refuses a malformed phone number or email address, naming the setting.
    public static func letterhead(_ settings: [TenantSetting], tenantName: String) throws(DomainError) -> Letterhead {
        var values: [String: String] = [:]
        for setting in settings where setting.id.hasPrefix(letterheadPrefix) { values[setting.id] = setting.value }
        let head = Letterhead(
            name: values["letterhead.name"].flatMap { $0.isEmpty ? nil : $0 } ?? tenantName, address: values["letterhead.address"] ?? "",
            phone: values["letterhead.phone"] ?? "", email: values["letterhead.email"] ?? ""
        )
        try Require.phoneNumber(head.phone, "letterhead.phone")
        try Require.emailAddress(head.email, "letterhead.email")
        return head
    }
}
