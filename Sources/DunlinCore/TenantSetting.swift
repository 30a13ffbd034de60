import Foundation

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
/// - `cash.lockbox_layout`: the columns of the tenant's bank's lockbox files, as the JSON of a
///   ``LockboxLayout``; "" (the default): ``LockboxLayout/standard``.
/// - `cash.tolerance_minor_units` and `cash.tolerance_basis_points`: how far a payment may be
///   short or over and still match an invoice (``MatchTolerance``; the smaller bound applies), in
///   minor units of the receipt's currency (default 2500, 25.00) and hundredths of a percent of the
///   invoices (default 100, 1%); 0 for exact amounts only.
/// - `metrics.collection_target`: the cash to collect in a calendar month, in minor units of the
///   base currency (a period's target is each of its months' share by days); 0, the default: none.
/// - `portal.upload_days`: the days after an invoice's issue date by which a portal-billing
///   customer wants it on its portal, unless the customer says otherwise (``PortalBilling``);
///   0 to 90, default 2.
/// - `close.allowance_rates`: the bad-debt allowance's rates per aging bucket of a month-end close
///   (``AllowanceMatrix``): five percentages for current, 1-30, 31-60, 61-90 and over 90 days past
///   due, "1,5,15,30,50" by default.
/// - `approvals.<kind>.analyst` and `approvals.<kind>.manager` for each money kind of request
///   (writeoff, refund, adjustment, credit): the largest amount, in minor units of the base
///   currency, an analyst and a manager may approve (``ApprovalLimits``; defaults 50000 and
///   1000000, 500.00 and 10,000.00 in a two-decimal currency); above them, an admin.
/// - `tickets.sla.<priority>` for low, normal, high and urgent: a new ticket's SLA in business
///   minutes of its team's calendar (``TicketPriority/defaultSLAMinutes``: 2400, 960, 480, 120),
///   a whole number 1 to 527040 (a year of minutes).
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

    /// The tenant's bank's lockbox layout.
    public static let lockboxLayout = "cash.lockbox_layout"
    /// The cash matching's tolerance: an absolute bound…
    public static let toleranceMinorUnits = "cash.tolerance_minor_units"
    /// …and a relative one.
    public static let toleranceBasisPoints = "cash.tolerance_basis_points"
    /// The largest tolerance settings take: 1,000,000.00 in a two-digit currency, and 10%.
    static let toleranceLimits = (minorUnits: Int64(100_000_000), basisPoints: 1_000)

    /// The monthly collection target the metrics measure collected cash against.
    public static let collectionTarget = "metrics.collection_target"
    /// The month-end close's allowance rates.
    public static let allowanceRates = "close.allowance_rates"
    /// Portal billing's days to upload an invoice.
    public static let portalUploadDays = "portal.upload_days"

    /// The approval limits' names, `approvals.<kind>.<role>`, with the role each is for.
    public static let approvalLimitNames: [(name: String, kind: ApprovalKind, role: Role)] = ApprovalLimits.moneyKinds.flatMap { kind in
        [Role.analyst, .manager].map { role in ("approvals.\(kind.rawValue).\(role.rawValue)", kind, role) }
    }

    /// Every setting name there is, in a fixed order.
    public static var names: [String] {
        WorklistWeights.names.map { worklistPrefix + $0 } + [dunningRunTime, escalationManager] + letterheadNames
            + [lockboxLayout, toleranceMinorUnits, toleranceBasisPoints] + approvalLimitNames.map(\.name) + [collectionTarget, allowanceRates, portalUploadDays]
            + TicketPriority.allCases.map(\.slaSetting)
    }

    /// The largest SLA a setting takes, in business minutes: a year of minutes.
    public static let maximumSLAMinutes = 527_040

    /// A new ticket's SLA at `priority` from the tenant's settings (the priority's default where
    /// none is set); refuses one that is no whole number 1 to ``maximumSLAMinutes``, naming the
    /// setting.
    public static func slaMinutes(_ priority: TicketPriority, in settings: [TenantSetting]) throws(DomainError) -> Int32 {
        guard let value = settings.first(where: { $0.id == priority.slaSetting })?.value else { return Int32(priority.defaultSLAMinutes) }
        guard let minutes = Int32(value), (1...Int32(maximumSLAMinutes)).contains(minutes), String(minutes) == value else {
            throw .invalid(field: priority.slaSetting, "an SLA is a whole number of business minutes 1 to \(maximumSLAMinutes), not \"\(value.prefix(64))\"")
        }
        return minutes
    }

    /// Checks the name is a setting and the value one it takes, naming the setting.
    public func validate() throws(DomainError) {
        try StoredText.check(value, field: id)
        _ = try Self.defaultValue(of: id)
        switch id {
        case Self.dunningRunTime: _ = try DunningSchedule.time(value, field: id)
        case Self.escalationManager: try Require.code(value, id)
        case let name where Self.letterheadNames.contains(name): _ = try Self.letterhead([self], tenantName: "")
        case Self.lockboxLayout: _ = try Self.lockboxLayout([self])
        case Self.toleranceMinorUnits, Self.toleranceBasisPoints: _ = try Self.cashMatching([self])
        case let name where name.hasPrefix("approvals."): _ = try Self.approvalLimits([self])
        case Self.collectionTarget: _ = try Self.collectionTarget([self])
        case Self.allowanceRates: _ = try Self.allowanceMatrix([self])
        case Self.portalUploadDays: _ = try Self.portalUploadDays([self])
        case let name where name.hasPrefix("tickets.sla."):
            if let priority = TicketPriority.allCases.first(where: { $0.slaSetting == name }) { _ = try Self.slaMinutes(priority, in: [self]) }
        default: _ = try Self.weights([self])
        }
    }

    /// The value setting `name` has when nobody set it; refuses a name that is no setting (field `id`).
    public static func defaultValue(of name: String) throws(DomainError) -> String {
        if name == dunningRunTime || name == escalationManager || name == lockboxLayout || letterheadNames.contains(name) { return "" }
        if name == toleranceMinorUnits { return String(MatchTolerance.defaults.absoluteMinorUnits ?? 0) }
        if name == toleranceBasisPoints { return String(MatchTolerance.defaults.basisPoints ?? 0) }
        if name == collectionTarget { return "0" }
        if name == allowanceRates { return AllowanceMatrix.standard.text }
        if name == portalUploadDays { return String(PortalBilling.standardDays) }
        if let priority = TicketPriority.allCases.first(where: { $0.slaSetting == name }) { return String(priority.defaultSLAMinutes) }
        if let limit = approvalLimitNames.first(where: { $0.name == name }) {
            return String(limit.role == .analyst ? ApprovalLimits.standardLimit.analyst : ApprovalLimits.standardLimit.manager)
        }
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

    /// The lockbox layout from the tenant's settings (the standard one where none is set);
    /// refuses a value that is no layout, or one that cannot be read with, naming the setting.
    public static func lockboxLayout(_ settings: [TenantSetting]) throws(DomainError) -> LockboxLayout {
        guard let value = settings.first(where: { $0.id == lockboxLayout })?.value, !value.isEmpty else { return .standard }
        let layout: LockboxLayout
        do {
            layout = try JSONDecoder().decode(LockboxLayout.self, from: Data(value.utf8))
        } catch {
            throw .invalid(field: lockboxLayout, "is not a lockbox layout in JSON (LockboxLayout's fields: lockboxHeader, check, overflow, batchTotal, lockboxTotal, fileTrailer, currency): \(String(describing: error).prefix(300))")
        }
        do {
            return try layout.validated()
        } catch {
            throw .invalid(field: lockboxLayout, error.description)
        }
    }

    /// The cash matching's settings from the tenant's settings (the defaults where none is set);
    /// refuses a tolerance that is no whole number within ``toleranceLimits``, naming the setting.
    public static func cashMatching(_ settings: [TenantSetting]) throws(DomainError) -> CashMatchSettings {
        var tolerance = MatchTolerance.defaults
        for setting in settings {
            switch setting.id {
            case toleranceMinorUnits:
                guard let value = Int64(setting.value), (0...toleranceLimits.minorUnits).contains(value) else {
                    throw .invalid(field: setting.id, "a tolerance is a whole number of minor units 0 to \(toleranceLimits.minorUnits), not \"\(setting.value.prefix(64))\"")
                }
                tolerance.absoluteMinorUnits = value
            case toleranceBasisPoints:
                guard let value = Int(setting.value), (0...toleranceLimits.basisPoints).contains(value) else {
                    throw .invalid(field: setting.id, "a tolerance is a whole number of basis points 0 to \(toleranceLimits.basisPoints), not \"\(setting.value.prefix(64))\"")
                }
                tolerance.basisPoints = value
            default: continue
            }
        }
        return CashMatchSettings(tolerance: tolerance)
    }

    /// The approval limits from the tenant's settings (the defaults where none is set); refuses a
    /// limit that is no whole number of minor units 0 to ``Money/maximumMinorUnits``, naming the
    /// setting.
    public static func approvalLimits(_ settings: [TenantSetting]) throws(DomainError) -> ApprovalLimits {
        var limits = ApprovalLimits.standard
        for setting in settings {
            guard let limit = approvalLimitNames.first(where: { $0.name == setting.id }) else { continue }
            guard let value = Int64(setting.value), (0...Money.maximumMinorUnits).contains(value), String(value) == setting.value else {
                throw .invalid(field: setting.id, "an approval limit is a whole number of minor units 0 to \(Money.maximumMinorUnits), not \"\(setting.value.prefix(64))\"")
            }
            if limit.role == .analyst { limits.limits[limit.kind]?.analyst = value } else { limits.limits[limit.kind]?.manager = value }
        }
        return limits
    }

    /// The monthly collection target from the tenant's settings (0: none); refuses one that is no
    /// whole number of minor units 0 to ``Money/maximumMinorUnits``, naming the setting.
    public static func collectionTarget(_ settings: [TenantSetting]) throws(DomainError) -> Int64 {
        guard let value = settings.first(where: { $0.id == collectionTarget })?.value else { return 0 }
        guard let target = Int64(value), (0...Money.maximumMinorUnits).contains(target), String(target) == value else {
            throw .invalid(field: collectionTarget, "a target is a whole number of minor units 0 to \(Money.maximumMinorUnits), not \"\(value.prefix(64))\"")
        }
        return target
    }

    /// The close's allowance rates from the tenant's settings: the standard matrix where none is
    /// set; refuses a value that is no matrix, naming the setting.
    public static func allowanceMatrix(_ settings: [TenantSetting]) throws(DomainError) -> AllowanceMatrix {
        guard let value = settings.first(where: { $0.id == allowanceRates })?.value else { return .standard }
        return try AllowanceMatrix(parsing: value, field: allowanceRates)
    }

    /// The tenant's days to upload an invoice to a portal; refuses a value that is no whole
    /// number 0 to ``PortalBilling/maximumDays``, naming the setting.
    public static func portalUploadDays(_ settings: [TenantSetting]) throws(DomainError) -> Int {
        guard let value = settings.first(where: { $0.id == portalUploadDays })?.value else { return PortalBilling.standardDays }
        guard let days = Int(value), (0...PortalBilling.maximumDays).contains(days), String(days) == value else {
            throw .invalid(field: portalUploadDays, "a number of days 0 to \(PortalBilling.maximumDays), not \"\(value.prefix(64))\"")
        }
        return days
    }
}
