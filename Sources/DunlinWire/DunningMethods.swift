import DunlinCore
import Foundation
import SwiftProtobuf

/// The Dunning service: one tenant's dunning policies, manual holds, runs and notices. Who may
/// call what is in Protocol/dunning.proto.
public enum Dunning {
    public static let upsertPolicies = MethodDescriptor<Dunlin_V1_UpsertPoliciesRequest, Dunlin_V1_UpsertPoliciesResponse>(
        path: "/dunlin.v1.Dunning/UpsertPolicies", kind: .unary
    )
    public static let getPolicy = MethodDescriptor<Dunlin_V1_GetPolicyRequest, Dunlin_V1_DunningPolicyRecord>(
        path: "/dunlin.v1.Dunning/GetPolicy", kind: .unary
    )
    public static let listPolicies = MethodDescriptor<Dunlin_V1_ListPoliciesRequest, Dunlin_V1_ListPoliciesResponse>(
        path: "/dunlin.v1.Dunning/ListPolicies", kind: .unary
    )
    public static let deletePolicies = MethodDescriptor<Dunlin_V1_DeletePoliciesRequest, Dunlin_V1_DeleteResponse>(
        path: "/dunlin.v1.Dunning/DeletePolicies", kind: .unary
    )
    public static let upsertHolds = MethodDescriptor<Dunlin_V1_UpsertHoldsRequest, Dunlin_V1_UpsertHoldsResponse>(
        path: "/dunlin.v1.Dunning/UpsertHolds", kind: .unary
    )
    public static let getHold = MethodDescriptor<Dunlin_V1_GetHoldRequest, Dunlin_V1_DunningHoldRecord>(
        path: "/dunlin.v1.Dunning/GetHold", kind: .unary
    )
    public static let listHolds = MethodDescriptor<Dunlin_V1_ListHoldsRequest, Dunlin_V1_ListHoldsResponse>(
        path: "/dunlin.v1.Dunning/ListHolds", kind: .unary
    )
    public static let deleteHolds = MethodDescriptor<Dunlin_V1_DeleteHoldsRequest, Dunlin_V1_DeleteResponse>(
        path: "/dunlin.v1.Dunning/DeleteHolds", kind: .unary
    )
    /// Computes and queues the notices due as of a date: the server's alone.
    public static let runDunning = MethodDescriptor<Dunlin_V1_RunDunningRequest, Dunlin_V1_RunDunningResponse>(
        path: "/dunlin.v1.Dunning/RunDunning", kind: .unary
    )
    public static let getNotice = MethodDescriptor<Dunlin_V1_GetNoticeRequest, Dunlin_V1_DunningNoticeRecord>(
        path: "/dunlin.v1.Dunning/GetNotice", kind: .unary
    )
    public static let listNotices = MethodDescriptor<Dunlin_V1_ListNoticesRequest, Dunlin_V1_ListNoticesResponse>(
        path: "/dunlin.v1.Dunning/ListNotices", kind: .unary
    )
    /// Re-checks and releases queued notices: the server's alone.
    public static let releaseNotices = MethodDescriptor<Dunlin_V1_ReleaseNoticesRequest, Dunlin_V1_ReleaseNoticesResponse>(
        path: "/dunlin.v1.Dunning/ReleaseNotices", kind: .unary
    )
    public static let upsertTemplates = MethodDescriptor<Dunlin_V1_UpsertTemplatesRequest, Dunlin_V1_UpsertTemplatesResponse>(
        path: "/dunlin.v1.Dunning/UpsertTemplates", kind: .unary
    )
    public static let getTemplate = MethodDescriptor<Dunlin_V1_GetTemplateRequest, Dunlin_V1_NoticeTemplateRecord>(
        path: "/dunlin.v1.Dunning/GetTemplate", kind: .unary
    )
    public static let listTemplates = MethodDescriptor<Dunlin_V1_ListTemplatesRequest, Dunlin_V1_ListTemplatesResponse>(
        path: "/dunlin.v1.Dunning/ListTemplates", kind: .unary
    )
    public static let deleteTemplates = MethodDescriptor<Dunlin_V1_DeleteTemplatesRequest, Dunlin_V1_DeleteResponse>(
        path: "/dunlin.v1.Dunning/DeleteTemplates", kind: .unary
    )
    /// Queues unconfirmed or failed deliveries again: the server's alone.
    public static let resendNotices = MethodDescriptor<Dunlin_V1_ResendNoticesRequest, Dunlin_V1_ResendNoticesResponse>(
        path: "/dunlin.v1.Dunning/ResendNotices", kind: .unary
    )
    /// The pending notices with what holds each now; the server and a replica answer it.
    public static let previewNotices = MethodDescriptor<Dunlin_V1_PreviewNoticesRequest, Dunlin_V1_PreviewNoticesResponse>(
        path: "/dunlin.v1.Dunning/PreviewNotices", kind: .unary
    )
    public static let upsertEscalationRules = MethodDescriptor<Dunlin_V1_UpsertEscalationRulesRequest, Dunlin_V1_UpsertEscalationRulesResponse>(
        path: "/dunlin.v1.Dunning/UpsertEscalationRules", kind: .unary
    )
    public static let getEscalationRule = MethodDescriptor<Dunlin_V1_GetEscalationRuleRequest, Dunlin_V1_EscalationRuleRecord>(
        path: "/dunlin.v1.Dunning/GetEscalationRule", kind: .unary
    )
    public static let listEscalationRules = MethodDescriptor<Dunlin_V1_ListEscalationRulesRequest, Dunlin_V1_ListEscalationRulesResponse>(
        path: "/dunlin.v1.Dunning/ListEscalationRules", kind: .unary
    )
    public static let deleteEscalationRules = MethodDescriptor<Dunlin_V1_DeleteEscalationRulesRequest, Dunlin_V1_DeleteResponse>(
        path: "/dunlin.v1.Dunning/DeleteEscalationRules", kind: .unary
    )
    public static let getEscalation = MethodDescriptor<Dunlin_V1_GetEscalationRequest, Dunlin_V1_EscalationRecord>(
        path: "/dunlin.v1.Dunning/GetEscalation", kind: .unary
    )
    public static let listEscalations = MethodDescriptor<Dunlin_V1_ListEscalationsRequest, Dunlin_V1_ListEscalationsResponse>(
        path: "/dunlin.v1.Dunning/ListEscalations", kind: .unary
    )
    /// Evaluates the escalation rules and makes what they call for: the server's alone.
    public static let evaluateEscalations = MethodDescriptor<Dunlin_V1_EvaluateEscalationsRequest, Dunlin_V1_EvaluateEscalationsResponse>(
        path: "/dunlin.v1.Dunning/EvaluateEscalations", kind: .unary
    )
    /// Recalls a placement: the server's alone.
    public static let recallPlacement = MethodDescriptor<Dunlin_V1_RecallPlacementRequest, Dunlin_V1_EscalationRecord>(
        path: "/dunlin.v1.Dunning/RecallPlacement", kind: .unary
    )
}

extension Dunlin_V1_GetPolicyRequest: RecordIDRequest {}
extension Dunlin_V1_GetHoldRequest: RecordIDRequest {}
extension Dunlin_V1_GetTemplateRequest: RecordIDRequest {}
extension Dunlin_V1_DeleteTemplatesRequest: RecordIDsRequest {}
extension Dunlin_V1_ListTemplatesRequest: PagedRequest {}
extension Dunlin_V1_ListTemplatesResponse: PagedResponse {}
extension Dunlin_V1_DeletePoliciesRequest: RecordIDsRequest {}
extension Dunlin_V1_DeleteHoldsRequest: RecordIDsRequest {}
extension Dunlin_V1_ListPoliciesRequest: PagedRequest {}
extension Dunlin_V1_ListHoldsRequest: PagedRequest {}
extension Dunlin_V1_ListNoticesRequest: PagedRequest {}
extension Dunlin_V1_ListPoliciesResponse: PagedResponse {}
extension Dunlin_V1_ListHoldsResponse: PagedResponse {}
extension Dunlin_V1_ListNoticesResponse: PagedResponse {}
extension Dunlin_V1_PreviewNoticesRequest: PagedRequest {}
extension Dunlin_V1_PreviewNoticesResponse: PagedResponse {}
extension Dunlin_V1_GetEscalationRuleRequest: RecordIDRequest {}
extension Dunlin_V1_GetEscalationRequest: RecordIDRequest {}
extension Dunlin_V1_DeleteEscalationRulesRequest: RecordIDsRequest {}
extension Dunlin_V1_ListEscalationRulesRequest: PagedRequest {}
extension Dunlin_V1_ListEscalationsRequest: PagedRequest {}
extension Dunlin_V1_ListEscalationRulesResponse: PagedResponse {}
extension Dunlin_V1_ListEscalationsResponse: PagedResponse {}

extension Dunlin_V1_EscalationRuleRecord: MutableRecordMessage {
    public static var kind: RecordKind { .escalationRule }
    public static var upsert: MethodDescriptor<Dunlin_V1_UpsertEscalationRulesRequest, Dunlin_V1_UpsertEscalationRulesResponse> {
        Dunning.upsertEscalationRules
    }
    public static var get: MethodDescriptor<Dunlin_V1_GetEscalationRuleRequest, Self> { Dunning.getEscalationRule }
    public static var list: MethodDescriptor<Dunlin_V1_ListEscalationRulesRequest, Dunlin_V1_ListEscalationRulesResponse> { Dunning.listEscalationRules }
    public static var delete: MethodDescriptor<Dunlin_V1_DeleteEscalationRulesRequest, Dunlin_V1_DeleteResponse> { Dunning.deleteEscalationRules }
    public static var batch: WritableKeyPath<Dunlin_V1_UpsertEscalationRulesRequest, [Self]> { \.rules }
    public static var saved: WritableKeyPath<Dunlin_V1_UpsertEscalationRulesResponse, [Self]> { \.rules }
    public static var listed: WritableKeyPath<Dunlin_V1_ListEscalationRulesResponse, [Self]> { \.rules }
}

extension Dunlin_V1_DunningPolicyRecord: MutableRecordMessage {
    public static var kind: RecordKind { .dunningPolicy }
    public static var upsert: MethodDescriptor<Dunlin_V1_UpsertPoliciesRequest, Dunlin_V1_UpsertPoliciesResponse> { Dunning.upsertPolicies }
    public static var get: MethodDescriptor<Dunlin_V1_GetPolicyRequest, Self> { Dunning.getPolicy }
    public static var list: MethodDescriptor<Dunlin_V1_ListPoliciesRequest, Dunlin_V1_ListPoliciesResponse> { Dunning.listPolicies }
    public static var delete: MethodDescriptor<Dunlin_V1_DeletePoliciesRequest, Dunlin_V1_DeleteResponse> { Dunning.deletePolicies }
    public static var batch: WritableKeyPath<Dunlin_V1_UpsertPoliciesRequest, [Self]> { \.policies }
    public static var saved: WritableKeyPath<Dunlin_V1_UpsertPoliciesResponse, [Self]> { \.policies }
    public static var listed: WritableKeyPath<Dunlin_V1_ListPoliciesResponse, [Self]> { \.policies }
}

extension Dunlin_V1_DunningHoldRecord: MutableRecordMessage {
    public static var kind: RecordKind { .dunningHold }
    public static var upsert: MethodDescriptor<Dunlin_V1_UpsertHoldsRequest, Dunlin_V1_UpsertHoldsResponse> { Dunning.upsertHolds }
    public static var get: MethodDescriptor<Dunlin_V1_GetHoldRequest, Self> { Dunning.getHold }
    public static var list: MethodDescriptor<Dunlin_V1_ListHoldsRequest, Dunlin_V1_ListHoldsResponse> { Dunning.listHolds }
    public static var delete: MethodDescriptor<Dunlin_V1_DeleteHoldsRequest, Dunlin_V1_DeleteResponse> { Dunning.deleteHolds }
    public static var batch: WritableKeyPath<Dunlin_V1_UpsertHoldsRequest, [Self]> { \.holds }
    public static var saved: WritableKeyPath<Dunlin_V1_UpsertHoldsResponse, [Self]> { \.holds }
    public static var listed: WritableKeyPath<Dunlin_V1_ListHoldsResponse, [Self]> { \.holds }
}

extension Dunlin_V1_NoticeTemplateRecord: MutableRecordMessage {
    public static var kind: RecordKind { .noticeTemplate }
    public static var upsert: MethodDescriptor<Dunlin_V1_UpsertTemplatesRequest, Dunlin_V1_UpsertTemplatesResponse> { Dunning.upsertTemplates }
    public static var get: MethodDescriptor<Dunlin_V1_GetTemplateRequest, Self> { Dunning.getTemplate }
    public static var list: MethodDescriptor<Dunlin_V1_ListTemplatesRequest, Dunlin_V1_ListTemplatesResponse> { Dunning.listTemplates }
    public static var delete: MethodDescriptor<Dunlin_V1_DeleteTemplatesRequest, Dunlin_V1_DeleteResponse> { Dunning.deleteTemplates }
    public static var batch: WritableKeyPath<Dunlin_V1_UpsertTemplatesRequest, [Self]> { \.templates }
    public static var saved: WritableKeyPath<Dunlin_V1_UpsertTemplatesResponse, [Self]> { \.templates }
    public static var listed: WritableKeyPath<Dunlin_V1_ListTemplatesResponse, [Self]> { \.templates }
}

// MARK: Conversions

extension Dunlin_V1_NoticeTemplateRecord {
    public init(_ template: NoticeTemplate) {
        self.init()
        id = template.id
        name = template.name
        language = template.language
        subject = template.subject
        recipient = template.recipient
        text = template.text
        html = template.html
    }

    /// The template; English and the contact's email unless it says otherwise.
    public func record(today: CivilDate, caller: String) throws(DomainError) -> NoticeTemplate {
        NoticeTemplate(
            id: id, name: name, language: language.isEmpty ? "en" : language, subject: subject,
            recipient: recipient.isEmpty ? NoticeTemplate.defaultRecipient : recipient, text: text, html: html
        )
    }
}

extension Dunlin_V1_DunningPolicyRecord {
    public init(_ policy: DunningPolicy) {
        self.init()
        id = policy.id
        name = policy.name
        segment = policy.segment
        customerIds = policy.customerIDs
        levels = policy.levels.map { level in
            .with {
                $0.days = Int32(clamping: level.days)
                $0.channel = level.channel.rawValue
                $0.template = level.template
                if let fee = level.fee { $0.fee = Dunlin_V1_Amount(fee) }
                $0.interestBasisPoints = Int32(clamping: level.interestBasisPoints)
            }
        }
    }

    /// The policy, naming each level's fields `levels[i].name`. A level's channel is required.
    public func record(today: CivilDate, caller: String) throws(DomainError) -> DunningPolicy {
        var converted: [DunningLevel] = []
        for (index, level) in levels.enumerated() {
            let field = "levels[\(index)]"
            converted.append(DunningLevel(
                days: Int(level.days), channel: try WireField.choice(level.channel, field: "\(field).channel"), template: level.template,
                fee: level.hasFee ? try level.fee.money(field: "\(field).fee") : nil, interestBasisPoints: Int(level.interestBasisPoints)
            ))
        }
        return DunningPolicy(id: id, name: name, segment: segment, customerIDs: customerIds, levels: converted)
    }
}

extension Dunlin_V1_DunningHoldRecord {
    public init(_ hold: DunningHold) {
        self.init()
        id = hold.id
        customerID = hold.customerID
        reason = hold.reason
        placedOn = hold.placedOn.description
        releasedOn = hold.releasedOn?.description ?? ""
        releaseReason = hold.releaseReason
    }

    /// The hold; placed today (the tenant's) unless it says otherwise, and a hold given a release
    /// reason released today unless it says otherwise.
    public func record(today: CivilDate, caller: String) throws(DomainError) -> DunningHold {
        DunningHold(
            id: id, customerID: customerID, reason: reason, placedOn: try WireField.date(placedOn, field: "placed_on", default: today),
            releasedOn: !releaseReason.isEmpty && releasedOn.isEmpty ? today : try WireField.optionalDate(releasedOn, field: "released_on"),
            releaseReason: releaseReason
        )
    }
}

extension Dunlin_V1_DunningNoticeRecord {
    public init(_ notice: DunningNotice) {
        self.init()
        id = notice.id
        runID = notice.runID
        customerID = notice.customerID
        policyID = notice.policyID
        level = Int32(clamping: notice.level)
        levelDays = Int32(clamping: notice.levelDays)
        channel = notice.channel.rawValue
        template = notice.template
        asOf = notice.asOf.description
        anchorInvoiceID = notice.anchorInvoiceID
        lines = notice.lines.map { line in
            .with {
                $0.invoiceID = line.invoiceID
                $0.reference = line.reference
                $0.dueDate = line.dueDate.description
                $0.daysPastDue = Int32(clamping: line.daysPastDue)
                $0.balance = Dunlin_V1_Amount(line.balance)
            }
        }
        charges = notice.charges.map { charge in
            .with {
                $0.total = Dunlin_V1_Amount(charge.total)
                if let interest = charge.interest { $0.interest = Dunlin_V1_Amount(interest) }
                if let fee = charge.fee { $0.fee = Dunlin_V1_Amount(fee) }
            }
        }
        status = notice.status.rawValue
        statusReason = notice.statusReason
        createdAt = Activity.milliseconds(of: notice.createdAt)
        releasedAt = notice.releasedAt.map(Activity.milliseconds(of:)) ?? 0
        releasedBy = notice.releasedBy
        delivery = notice.delivery?.rawValue ?? ""
        deliveredAs = notice.deliveredAs?.rawValue ?? ""
        deliveredAt = notice.deliveredAt.map(Activity.milliseconds(of:)) ?? 0
        deliveryDetail = notice.deliveryDetail
        deliveryAttempts = Int32(clamping: notice.deliveryAttempts)
    }
}

extension Dunlin_V1_EscalationRuleRecord {
    public init(_ rule: EscalationRule) {
        self.init()
        id = rule.id
        name = rule.name
        trigger = rule.trigger.rawValue
        days = Int32(clamping: rule.days)
        if let amount = rule.amount { self.amount = Dunlin_V1_Amount(amount) }
        count = Int32(clamping: rule.count)
        windowDays = Int32(clamping: rule.windowDays)
        action = rule.action.rawValue
        agency = rule.agency
    }

    /// The rule; trigger and action are required.
    public func record(today: CivilDate, caller: String) throws(DomainError) -> EscalationRule {
        EscalationRule(
            id: id, name: name, trigger: try WireField.choice(trigger, field: "trigger"), days: Int(days),
            amount: hasAmount ? try amount.money(field: "amount") : nil, count: Int(count), windowDays: Int(windowDays),
            action: try WireField.choice(action, field: "action"), agency: agency
        )
    }
}

extension Dunlin_V1_EscalationRecord {
    public init(_ escalation: Escalation) {
        self.init()
        id = escalation.id
        customerID = escalation.customerID
        action = escalation.action.rawValue
        ruleID = escalation.ruleID
        noticeID = escalation.noticeID
        reason = escalation.reason
        agency = escalation.agency
        escalatedOn = escalation.escalatedOn.description
        summary = escalation.summary
        taskID = escalation.taskID
        assigneeID = escalation.assigneeID
        status = escalation.status.rawValue
        recalledOn = escalation.recalledOn?.description ?? ""
        recalledBy = escalation.recalledBy
        recallReason = escalation.recallReason
        createdAt = Activity.milliseconds(of: escalation.createdAt)
    }
}
