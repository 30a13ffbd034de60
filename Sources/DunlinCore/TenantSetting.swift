/// One tenant setting a manager changes and every replica holds (kind "tenant_setting"): a
/// name and its value as text. A setting with no record has its default; deleting one puts the
/// default back. Each setting is its own record, so two managers changing two settings offline
/// both keep their change (sync merges field by field, record by record).
///
/// The names: `worklist.<weight>` for each ``WorklistWeights`` name (a whole number 0 to
/// ``WorklistWeights/maximum``); the letterhead on letters and emails, `letterhead.name`,
/// `letterhead.address` (lines), `letterhead.phone` and `letterhead.email` (text; empty by
/// default: the tenant's name heads a letter with no `letterhead.name`).
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

    /// The prefix of the letterhead's fields.
    public static let letterheadPrefix = "letterhead."
    /// The letterhead's fields, each text with no default.
    public static let letterheadNames = ["name", "address", "phone", "email"].map { letterheadPrefix + $0 }

    /// Every setting name there is, in a fixed order.
    public static var names: [String] { WorklistWeights.names.map { worklistPrefix + $0 } + letterheadNames }

    /// Checks the name is a setting and the value one it takes, naming the setting.
    public func validate() throws(DomainError) {
        try StoredText.check(value, field: id)
        _ = try Self.defaultValue(of: id)
        _ = try Self.weights([self])
        _ = try Self.letterhead([self], tenantName: "")
    }

    /// The value setting `name` has when nobody set it; refuses a name that is no setting (field `id`).
    public static func defaultValue(of name: String) throws(DomainError) -> String {
        if letterheadNames.contains(name) { return "" }
        guard name.hasPrefix(worklistPrefix), let weight = WorklistWeights.standard[String(name.dropFirst(worklistPrefix.count))] else {
            throw .invalid(field: "id", "\"\(name.prefix(64))\" is not a setting; the settings are \(names.joined(separator: ", "))")
        }
        return String(weight)
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
