import DunlinCore
import DunlinSync
import Foundation
import GRDB

/// What an evaluation of the escalation rules did (``TenantStore/evaluateEscalations(asOf:baseCurrency:at:)``).
public struct EscalationEvaluation: Sendable, Hashable {
    /// The escalations made, by id.
    public var created: [Escalation]
    /// Escalations the rules called for that were made before (an earlier day of the same
    /// episode, the same evaluation again, a recalled placement).
    public var existing: Int
}

/// Escalation rules (a manager's mutable records) and escalations (the server's): rules are
/// written like the other mutable records; escalations only by a release meeting an escalate or
/// place level (``TenantStore/releaseNotices(_:runID:by:today:at:)``), by
/// ``evaluateEscalations(asOf:baseCurrency:at:)`` and by ``recallPlacement(_:by:reason:today:)``,
/// each in one transaction, with ids fixed by what made them.
extension TenantStore {
    // MARK: Rules

    /// Creates or replaces rules, all or none; each must pass ``EscalationRule/validate(baseCurrency:)``.
    public func upsert(_ rules: [EscalationRule]) throws {
        try save(rules, as: EscalationRuleRow.init, validate: Self.check)
    }

    public func escalationRule(_ id: String) throws -> EscalationRule? {
        try live(EscalationRuleRow.self, id)?.record()
    }

    /// Rules by name, then id.
    public func escalationRules(page: PageRequest = .first) throws -> Page<EscalationRule> {
        try read(EscalationRuleRow.live, page, ListOrder(EscalationRuleRow.self, by: EscalationRuleRow.Columns.name)) { try EscalationRuleRow(row: $0).record() }
    }

    public func deleteEscalationRules(_ ids: [String]) throws {
        try tombstone(EscalationRuleRow.self, ids)
    }

    static func check(_ rule: EscalationRule, _ db: Database) throws {
        try rule.validate()
    }

    // MARK: Escalations

    public func escalation(_ id: String) throws -> Escalation? {
        try live(EscalationRow.self, id)?.record()
    }

    /// Escalations by the day they were made, then id; each filter only when given.
    public func escalations(
        customerID: String? = nil, action: EscalationAction? = nil, status: EscalationStatus? = nil, page: PageRequest = .first
    ) throws -> Page<Escalation> {
        let columns = EscalationRow.Columns.self
        let request = EscalationRow.live
            .matching(columns.customerID, customerID)
            .matching(columns.action, action?.rawValue)
            .matching(columns.status, status?.rawValue)
        return try read(request, page, ListOrder(EscalationRow.self, by: columns.escalatedOn)) { try EscalationRow(row: $0).record() }
    }

    /// Evaluates the tenant's rules (DunlinCore ``EscalationRules``) as of `asOf` and makes, in one
    /// transaction, the escalations they call for that were never made: a retry, a second tick or
    /// a restart makes nothing twice, and a recalled placement is not made again for its episode.
    /// `managerOf` answers a user's manager (the control database's), who an escalation of that
    /// user's customer goes to first.
    public func evaluateEscalations(
        asOf: CivilDate, baseCurrency: Currency, at: Date, managerOf: @Sendable (String) -> String? = { _ in nil }
    ) throws -> EscalationEvaluation {
        let createdAt = Activity.instant(milliseconds: Activity.milliseconds(of: at))
        return try writer.write { db in
            let rules = try EscalationRuleRow.live.fetchAll(db).map { try $0.record() }
            var result = EscalationEvaluation(created: [], existing: 0)
            guard !rules.isEmpty else { return result }
            let window = rules.map(\.windowDays).max() ?? 0
            let facts = try Self.escalationFacts(db, asOf: asOf, lookBackDays: window)
            let byCustomer = Dictionary(facts.map { ($0.customerID, $0) }) { first, _ in first }
            for call in EscalationRules.evaluate(asOf: asOf, baseCurrency: baseCurrency, rules: rules, facts: facts) {
                let made = try Self.escalate(
                    id: call.id, customerID: call.customerID, action: call.rule.action, ruleID: call.rule.id, reason: call.reason,
                    agency: call.rule.agency, facts: byCustomer[call.customerID], today: asOf, at: createdAt, managerOf: managerOf, db
                )
                if let made { result.created.append(made) } else { result.existing += 1 }
            }
            return result
        }
    }

    /// Recalls placement `id` by `user`: the customer is dunned again from `today`. One already
    /// recalled comes back as it stands; an escalation that is no placement is FAILED_PRECONDITION,
    /// an unknown id NOT_FOUND (field `id`).
    public func recallPlacement(_ id: String, by user: String, reason: String, today: CivilDate) throws -> Escalation {
        try writer.write { db in
            guard let placement = try EscalationRow.live.filter(key: id).fetchOne(db)?.record() else {
                throw DomainError.notFound(field: "id", id: id)
            }
            guard placement.status == .active else { return placement }
            let recalled = try placement.recalled(on: today, by: user, reason: reason)
            try Self.save(EscalationRow(recalled), db)
            return recalled
        }
    }

    /// The escalation a released notice of an `escalate` or `place` level makes
    /// (``Escalation/id(notice:)``); a `place` level's template names the agency. Nothing for the
    /// other channels, or when it was made before.
    static func escalate(notice: DunningNotice, today: CivilDate, at: Date, managerOf: (String) -> String?, _ db: Database) throws {
        let action: EscalationAction
        switch notice.channel {
        case .escalate: action = .escalate
        case .place: action = .place
        case .email, .letter, .callTask: return
        }
        let facts = try escalationFacts(db, asOf: today, lookBackDays: 0, customerID: notice.customerID).first
        try escalate(
            id: Escalation.id(notice: notice.id), customerID: notice.customerID, action: action, noticeID: notice.id,
            reason: "dunning level \(notice.level) (\(notice.levelDays) days past due) of policy \(notice.policyID), notice \(notice.id)",
            agency: action == .place ? notice.template : "", facts: facts, today: today, at: at, managerOf: managerOf, db
        )
    }

    /// Makes escalation `id` unless it was ever made: the record and, for `escalate`, a task due
    /// `today` for the manager of the customer's analyst (`managerOf`), else the tenant's
    /// escalation manager (the setting `escalation.manager`), else the customer's analyst to take
    /// to their manager; with none, the escalation names no task. Returns what it made, nil when
    /// it was there.
    @discardableResult
    private static func escalate(
        id: String, customerID: String, action: EscalationAction, ruleID: String = "", noticeID: String = "", reason: String, agency: String,
        facts: EscalationFacts?, today: CivilDate, at: Date, managerOf: (String) -> String?, _ db: Database
    ) throws -> Escalation? {
        guard try !EscalationRow.exists(db, key: id) else { return nil }
        let summary = AccountSummary.text(facts ?? EscalationFacts(customerID: customerID), asOf: today)
        var escalation = Escalation(
            id: id, customerID: customerID, action: action, ruleID: ruleID, noticeID: noticeID, reason: reason, agency: agency,
            escalatedOn: today, summary: summary, createdAt: at
        )
        if action == .escalate {
            let customer = try CustomerRow.fetchOne(db, key: customerID)
            let analyst = customer?.analyst_id ?? ""
            let manager = try (analyst.isEmpty ? nil : managerOf(analyst))
                ?? TenantSettingRow.live.filter(key: TenantSetting.escalationManager).fetchOne(db)?.value ?? ""
            let assignee = manager.isEmpty ? analyst : manager
            if !assignee.isEmpty {
                let task = CollectionTask(
                    id: Escalation.taskID(of: id), assigneeID: assignee, customerID: customerID,
                    title: "\(manager.isEmpty ? "Escalate to your manager" : "Escalation"): \(customer?.name ?? customerID): \(reason)",
                    dueDate: today, notes: "\(summary)\nescalation \(id)"
                )
                if try !CollectionTaskRow.exists(db, key: task.id) {
                    try check(task, db)
                    try save(CollectionTaskRow(task), db)
                }
                escalation.taskID = task.id
                escalation.assigneeID = assignee
            }
        }
        try escalation.validate()
        try save(EscalationRow(escalation), db)
        return escalation
    }

    /// Each customer (one, or all) as escalation reads it on `asOf`, inside the caller's
    /// transaction: open items as the ledger stands on `asOf` (marked held as dunning holds them),
    /// promises and installments broken within the larger of `lookBackDays` and the worklist's
    /// window, open disputes, and whether a manual hold or a placement keeps dunning off it.
    static func escalationFacts(_ db: Database, asOf: CivilDate, lookBackDays: Int, customerID: String? = nil) throws -> [EscalationFacts] {
        let holds = try dunningHolds(db, on: asOf, customerID: customerID)
        var facts: [String: EscalationFacts] = [:]
        for id in try CustomerRow.all().matching(CustomerRow.Columns.id, customerID).fetchAll(db).map(\.id) {
            facts[id] = EscalationFacts(customerID: id, heldBecause: holds.customerHold(id))
        }
        for (entry, open) in try openInvoices(db, customerID: customerID, asOf: asOf) where entry.kind == .invoice && open.isPositive {
            facts[entry.customerID]?.items.append(.init(
                invoiceID: entry.id, dueDate: entry.dueDate ?? entry.date, balance: open, held: holds.itemHold(entry.id) != nil
            ))
        }
        let since = asOf.adding(days: -max(lookBackDays, Worklist.brokenPromiseWindowDays))
        let scope = customerID == nil ? "" : " AND customer_id = ?"
        let arguments: StatementArguments = customerID.map { [$0] } ?? []
        for (promise, installments) in try recentPromiseEvaluations(db, since: since, today: asOf, scope: scope, arguments) {
            for (index, evaluation) in installments.enumerated() where evaluation.status == .broken || evaluation.status == .partlyKept {
                let key = promise.installments.isEmpty ? promise.id : "\(promise.id)#\(index + 1)"
                facts[promise.customerID]?.brokenPromises.append(.init(key: key, brokenOn: evaluation.brokenOn))
            }
        }
        let disputes = try Row.fetchCursor(
            db, sql: "SELECT customer_id, COUNT(*) AS n FROM dispute WHERE deleted = 0 AND status NOT IN ('resolved', 'rejected')\(scope) GROUP BY customer_id",
            arguments: arguments
        )
        while let row = try disputes.next() { facts[row["customer_id"]]?.openDisputes = row["n"] }
        return facts.values.sorted { $0.customerID < $1.customerID }
    }
}
