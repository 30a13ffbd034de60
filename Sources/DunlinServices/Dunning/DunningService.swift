import DunlinCore
import DunlinStore
import DunlinWire
import Foundation

/// Dunning policies, manual holds, runs and notices of the caller's tenant (Protocol/dunning.proto).
///
/// Policies and holds are mutable records served like contacts and disputes (the Records
/// service's one registration, held to the rights table). Notices are the server's: a run
/// (RunDunning) computes and queues them, a release (ReleaseNotices) checks each again and releases
/// or drops it; both need a manager and are registered only where the authority answers
/// (`authority: true`, the server). A replica registers the reads alone, so a preview works offline
/// on its copy and a run or release asked of it is UNIMPLEMENTED ("needs the server").
public struct DunningService: RPCService {
    let tenants: any TenantProvider
    let authority: Bool
    /// Where released notices go out (the server's; nil: they stay queued for a server that has one).
    let delivery: NoticeDelivery?

    public init(tenants: any TenantProvider, authority: Bool, delivery: NoticeDelivery? = nil) {
        self.tenants = tenants
        self.authority = authority
        self.delivery = delivery
    }

    public func register(in router: inout Router) {
        let records = RecordsService(tenants: tenants)
        records.registerMutable(Dunlin_V1_DunningPolicyRecord.self, in: &router)
        records.registerMutable(Dunlin_V1_DunningHoldRecord.self, in: &router)
        records.registerMutable(Dunlin_V1_NoticeTemplateRecord.self, in: &router)
        // An overdue rule's amount is in the tenant's base currency (a pushed rule in another
        // currency, which the store cannot tell, never fires: EscalationRules skips it).
        records.registerMutable(Dunlin_V1_EscalationRuleRecord.self, in: &router) { rule, tenant throws(DomainError) in
            try rule.validate(baseCurrency: tenant.baseCurrency)
        }
        registerNoticeReads(in: &router)
        registerEscalationReads(in: &router)
        if authority {
            registerRunAndRelease(in: &router)
            registerEscalationWrites(in: &router)
        }
    }

    private func registerNoticeReads(in router: inout Router) {
        let tenants = self.tenants

        router.unary(Dunning.getNotice) { request, context in
            let (tenant, _) = try access(context, tenants, requires: .viewer)
            guard let notice = try tenant.store.dunningNotice(request.id) else {
                throw RPCError(DomainError.notFound(field: "id", id: request.id))
            }
            return Dunlin_V1_DunningNoticeRecord(notice)
        }

        router.unary(Dunning.listNotices) { request, context in
            let (tenant, _) = try access(context, tenants, requires: .viewer)
            let page = try RPCError.mapping {
                try tenant.store.dunningNotices(
                    customerID: nonEmpty(request.customerID), runID: nonEmpty(request.runID),
                    statuses: WireField.choices(request.statuses, field: "statuses"),
                    page: PageRequest(after: request.cursor, size: request.pageSize)
                )
            }
            return .with {
                $0.notices = page.items.map(Dunlin_V1_DunningNoticeRecord.init)
                $0.nextCursor = page.nextCursor ?? ""
            }
        }

        router.unary(Dunning.previewNotices) { request, context in
            let (tenant, _) = try access(context, tenants, requires: .viewer)
            let page = try RPCError.mapping {
                try tenant.store.previewNotices(
                    customerID: nonEmpty(request.customerID), runID: nonEmpty(request.runID), today: tenant.today,
                    page: PageRequest(after: request.cursor, size: request.pageSize)
                )
            }
            return .with {
                $0.previews = page.items.map { item in
                    .with {
                        $0.notice = Dunlin_V1_DunningNoticeRecord(item.notice)
                        $0.customerHeld = item.now.customerHold ?? ""
                        $0.heldLines = item.now.heldLines.map { line in .with { $0.invoiceID = line.invoiceID; $0.reason = line.reason } }
                    }
                }
                $0.nextCursor = page.nextCursor ?? ""
            }
        }
    }

    /// The run and the release: they reach customers and post charges, so they are decided on the
    /// server alone (DESIGN.md), by a manager, each in one transaction of the store.
    private func registerRunAndRelease(in router: inout Router) {
        let tenants = self.tenants
        let delivery = self.delivery

        router.unary(Dunning.runDunning) { request, context in
            let (tenant, _) = try access(context, tenants, requires: Self.runRole)
            let asOf = try RPCError.mapping { try WireField.date(request.asOf, field: "as_of", default: tenant.today) }
            let result = try RPCError.mapping { try tenant.store.runDunning(asOf: asOf, at: tenant.now) }
            context.logger.info(
                "dunning run",
                metadata: ["run": "\(result.runID)", "created": "\(result.created.count)", "existing": "\(result.existing)"]
            )
            return .with {
                $0.runID = result.runID
                $0.asOf = result.asOf.description
                $0.created = result.created.map(Dunlin_V1_DunningNoticeRecord.init)
                $0.existing = UInt32(clamping: result.existing)
                $0.superseded = UInt32(clamping: result.superseded)
                $0.heldCustomers = UInt32(clamping: result.heldCustomers)
                $0.heldItems = UInt32(clamping: result.heldItems)
            }
        }

        router.unary(Dunning.releaseNotices) { request, context in
            let (tenant, _) = try access(context, tenants, requires: Self.runRole)
            let notices = try RPCError.mapping {
                try tenant.store.releaseNotices(
                    request.noticeIds, runID: nonEmpty(request.runID), by: context.principal.id, today: tenant.today, at: tenant.now,
                    managerOf: tenant.managerOf
                )
            }
            let answered = Self.delivered(notices, of: tenant, by: delivery)
            return .with { $0.notices = answered.map(Dunlin_V1_DunningNoticeRecord.init) }
        }

        router.unary(Dunning.resendNotices) { request, context in
            let (tenant, _) = try access(context, tenants, requires: Self.runRole)
            let notices = try RPCError.mapping { try tenant.store.resendNotices(request.noticeIds) }
            let answered = Self.delivered(notices, of: tenant, by: delivery)
            return .with { $0.notices = answered.map(Dunlin_V1_DunningNoticeRecord.init) }
        }
    }

    /// Starts the delivery of what `notices` queued (with the tenant's other queued notices) and
    /// returns them as they are: a release of hundreds of emails answers at once, and each notice
    /// shows its delivery as it goes (`dunlin notices list`). Without a delivery (a replica, a
    /// test's router), they wait for a server that has one.
    private static func delivered(_ notices: [DunningNotice], of tenant: TenantHandle, by delivery: NoticeDelivery?) -> [DunningNotice] {
        if let delivery, notices.contains(where: { $0.delivery == .queued }) {
            Task { await delivery.deliver(tenant) }
        }
        return notices
    }

    /// Who may run dunning and release notices: what reaches customers and posts charges by
    /// policy is a manager's. Evaluating the escalation rules and recalling a placement too.
    public static let runRole = Role.manager

    /// Escalations and placements: every role reads them, on the server and from a replica's copy.
    private func registerEscalationReads(in router: inout Router) {
        let tenants = self.tenants

        router.unary(Dunning.getEscalation) { request, context in
            let (tenant, _) = try access(context, tenants, requires: .viewer)
            return Dunlin_V1_EscalationRecord(try found(tenant.store.escalation(request.id), request.id))
        }

        router.unary(Dunning.listEscalations) { request, context in
            let (tenant, _) = try access(context, tenants, requires: .viewer)
            let page = try RPCError.mapping {
                try tenant.store.escalations(
                    customerID: nonEmpty(request.customerID),
                    action: request.action.isEmpty ? nil : WireField.choice(request.action, field: "action") as EscalationAction,
                    status: request.status.isEmpty ? nil : WireField.choice(request.status, field: "status") as EscalationStatus,
                    page: PageRequest(after: request.cursor, size: request.pageSize)
                )
            }
            return .with {
                $0.escalations = page.items.map(Dunlin_V1_EscalationRecord.init)
                $0.nextCursor = page.nextCursor ?? ""
            }
        }
    }

    /// The evaluation of the rules and the recall of a placement: escalations are the server's
    /// (like notices), each write one transaction of the store.
    private func registerEscalationWrites(in router: inout Router) {
        let tenants = self.tenants

        router.unary(Dunning.evaluateEscalations) { request, context in
            let (tenant, _) = try access(context, tenants, requires: Self.runRole)
            let asOf = try RPCError.mapping { try WireField.date(request.asOf, field: "as_of", default: tenant.today) }
            let result = try RPCError.mapping { try tenant.store.evaluateEscalations(asOf: asOf, baseCurrency: tenant.baseCurrency, at: tenant.now, managerOf: tenant.managerOf) }
            context.logger.info("escalation rules evaluated", metadata: ["created": "\(result.created.count)", "existing": "\(result.existing)"])
            return .with {
                $0.created = result.created.map(Dunlin_V1_EscalationRecord.init)
                $0.existing = UInt32(clamping: result.existing)
            }
        }

        router.unary(Dunning.recallPlacement) { request, context in
            let (tenant, _) = try access(context, tenants, requires: Self.runRole)
            try RPCError.mapping {
                try StoredText.check(request.reason, field: "reason")
                guard !request.reason.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                    throw DomainError.invalid(field: "reason", "a recall needs a reason")
                }
            }
            let recalled = try RPCError.mapping {
                try tenant.store.recallPlacement(request.id, by: context.principal.id, reason: request.reason, today: tenant.today)
            }
            return Dunlin_V1_EscalationRecord(recalled)
        }
    }
}

extension DunningPolicy: ServedMutableRecord {
    static func page(_ request: Dunlin_V1_ListPoliciesRequest, _ page: PageRequest, in store: TenantStore) throws -> Page<DunningPolicy> {
        try store.dunningPolicies(customerID: nonEmpty(request.customerID), page: page)
    }

    static var stored: StoredRecords<DunningPolicy> {
        .init(find: TenantStore.dunningPolicy, save: TenantStore.upsert, delete: TenantStore.deleteDunningPolicies)
    }
}

extension DunningHold: ServedMutableRecord {
    static func page(_ request: Dunlin_V1_ListHoldsRequest, _ page: PageRequest, in store: TenantStore) throws -> Page<DunningHold> {
        try store.dunningHolds(customerID: nonEmpty(request.customerID), active: request.hasActive ? request.active : nil, page: page)
    }

    static var stored: StoredRecords<DunningHold> {
        .init(find: TenantStore.dunningHold, save: TenantStore.upsert, delete: TenantStore.deleteDunningHolds)
    }
}

extension NoticeTemplate: ServedMutableRecord {
    static func page(_ request: Dunlin_V1_ListTemplatesRequest, _ page: PageRequest, in store: TenantStore) throws -> Page<NoticeTemplate> {
        try store.noticeTemplates(name: nonEmpty(request.name), page: page)
    }

    static var stored: StoredRecords<NoticeTemplate> {
        .init(find: TenantStore.noticeTemplate, save: TenantStore.upsert, delete: TenantStore.deleteNoticeTemplates)
    }
}

extension EscalationRule: ServedMutableRecord {
    static func page(_ request: Dunlin_V1_ListEscalationRulesRequest, _ page: PageRequest, in store: TenantStore) throws -> Page<EscalationRule> {
        try store.escalationRules(page: page)
    }

    static var stored: StoredRecords<EscalationRule> {
        .init(find: TenantStore.escalationRule, save: TenantStore.upsert, delete: TenantStore.deleteEscalationRules)
    }
}
