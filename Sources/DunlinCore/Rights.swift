/// Every kind of record a tenant's store syncs to its replicas: the names the change log, the
/// sync feed and a push carry (PROTOCOL.md §16.2).
public enum RecordKind: String, Sendable, Hashable, Codable, CaseIterable {
    case customer
    case ledgerEntry = "ledger_entry"
    case activity
    case contact
    case dispute
    case promiseToPay = "promise_to_pay"
    case collectionTask = "collection_task"
    case syncConflict = "sync_conflict"
    case dunningPolicy = "dunning_policy"
    case dunningHold = "dunning_hold"
    case dunningNotice = "dunning_notice"
    case tenantSetting = "tenant_setting"
    case noticeTemplate = "notice_template"
    case escalationRule = "escalation_rule"
    case escalation
    case bankFile = "bank_file"
    case bankReceipt = "bank_receipt"
    case approvalRequest = "approval_request"
    case exchangeRate = "exchange_rate"
    case periodClose = "period_close"
    case teamCalendar = "team_calendar"
    case ticket
    case ticketEvent = "ticket_event"
}

extension RecordKind: CustomStringConvertible {
    /// The kind's stored and wire name ("ledger_entry"), so a kind in a message or a "kind/id"
    /// key reads as the change log and the sync feed spell it.
    public var description: String { rawValue }
}

/// What a write does to a record.
public enum RecordWrite: String, Sendable, Hashable {
    case create
    case change
    case delete
}

/// Whose a record is, where that limits who may write it. A `field` is named as the kind's RPC
/// message and its sync form name it (`assignee_id`), which is also the field a refusal names.
public enum OwnerRule: Sendable, Hashable {
    /// Anyone with the role may write any record of the kind.
    case anyone
    /// Below `unless`, a caller writes only records assigned to themselves, before and after the
    /// write (`field` names the assignee): an analyst's tasks are their own.
    case assignee(field: String, unless: Role)
    /// The record's author (`field`) is always the caller: an RPC sets it, a push must carry it.
    case author(field: String)
    /// The record's requester (`field`) is the caller who creates it, and never changes after:
    /// someone else decides it (the decision's own rules are ``ApprovalLimits``). Requests.
    case requester(field: String)
    /// Made by the server alone; a replica may only settle it (its `status` and `field`, the
    /// settler, who must be the caller). Sync conflicts.
    case settledOnly(by: String)
}

/// The role each write of a kind needs (nil: no role may make it through a record write) and the
/// owner rule. Ledger entries need a role per entry kind (``Rights/required(for:target:)``).
public struct RecordRights: Sendable, Hashable {
    public var create: Role?
    public var change: Role?
    public var delete: Role?
    public var owner: OwnerRule

    public func role(for write: RecordWrite) -> Role? {
        switch write {
        case .create: create
        case .change: change
        case .delete: delete
        }
    }
}

/// Why a write was refused: PERMISSION_DENIED, naming the field at fault where there is one.
public struct AccessDenied: Error, Sendable, Hashable, CustomStringConvertible {
    public var field: String
    public var message: String

    public init(field: String = "", _ message: String) {
        self.field = field
        self.message = message
    }

    public var description: String { message }
}

/// The one table of rights: what each role may write, for every record kind. The RPC handlers and
/// the sync push both ask it, so a hand-edited replica can do nothing the RPCs refuse.
///
/// Reading needs the viewer role for every kind. Methods that are not record writes (reports,
/// admin, sync itself) state their role where they are registered.
public enum Rights {
    public static let records: [RecordKind: RecordRights] = [
        .customer: RecordRights(create: .manager, change: .manager, delete: nil, owner: .anyone),
        // Per entry kind: see required(for:target:). Entries are immutable: never changed or deleted.
        .ledgerEntry: RecordRights(create: .analyst, change: nil, delete: nil, owner: .anyone),
        .activity: RecordRights(create: .analyst, change: nil, delete: nil, owner: .author(field: "author_id")),
        .contact: RecordRights(create: .analyst, change: .analyst, delete: .manager, owner: .anyone),
        .dispute: RecordRights(create: .analyst, change: .analyst, delete: .manager, owner: .anyone),
        .promiseToPay: RecordRights(create: .analyst, change: .analyst, delete: .manager, owner: .anyone),
        .collectionTask: RecordRights(
            create: .analyst, change: .analyst, delete: .manager, owner: .assignee(field: "assignee_id", unless: .manager)
        ),
        .syncConflict: RecordRights(create: nil, change: .analyst, delete: nil, owner: .settledOnly(by: "settled_by")),
        // Policies decide what reaches customers and what is charged: a manager's.
        .dunningPolicy: RecordRights(create: .manager, change: .manager, delete: .manager, owner: .anyone),
        // Holding dunning off a customer is everyday work; deleting a hold (rather than releasing it) is a manager's.
        .dunningHold: RecordRights(create: .analyst, change: .analyst, delete: .manager, owner: .anyone),
        // Made and released by the server alone (DunningService's RunDunning and ReleaseNotices).
        .dunningNotice: RecordRights(create: nil, change: nil, delete: nil, owner: .anyone),
        // The tenant's settings (worklist weights, the dunning run time, who gets escalations): a
        // manager's; deleting one puts the default back.
        .tenantSetting: RecordRights(create: .manager, change: .manager, delete: .manager, owner: .anyone),
        // What customers read in letters and emails: a manager's, like the policies that name them.
        .noticeTemplate: RecordRights(create: .manager, change: .manager, delete: .manager, owner: .anyone),
        // What escalates a customer to a manager or an agency: a manager's.
        .escalationRule: RecordRights(create: .manager, change: .manager, delete: .manager, owner: .anyone),
        // Made by the server alone (a release meeting an escalate or place level, a rule's
        // evaluation); recalled by a manager through DunningService's RecallPlacement, on the server.
        .escalation: RecordRights(create: nil, change: nil, delete: nil, owner: .anyone),
        // Bank files and their receipts are written by the server's import alone (CashService's
        // ImportBankFile) and never changed: what an analyst does with a receipt afterwards is a
        // ledger entry (the payment and its applications), under the ledger's rights.
        .bankFile: RecordRights(create: nil, change: nil, delete: nil, owner: .anyone),
        .bankReceipt: RecordRights(create: nil, change: nil, delete: nil, owner: .anyone),
        // Anyone from analyst up asks; a change is a decision, which ApprovalLimits holds to the
        // decider's role and the amount (and the store to "only the decision changes"). Never
        // deleted: the requests are the approvals' audit trail.
        .approvalRequest: RecordRights(create: .analyst, change: .analyst, delete: nil, owner: .requester(field: "requested_by")),
        // The rates every converted total uses: a manager's, like the settings.
        .exchangeRate: RecordRights(create: .manager, change: .manager, delete: .manager, owner: .anyone),
        // Made by the server alone: a manager's CloseMonth (which freezes the snapshot) and an
        // admin's ReopenMonth, on the server; never deleted.
        .periodClose: RecordRights(create: nil, change: nil, delete: nil, owner: .anyone),
        // The working time every ticket's SLA is counted in: a manager's, like the settings.
        .teamCalendar: RecordRights(create: .manager, change: .manager, delete: .manager, owner: .anyone),
        // AR inquiries are everyday work. Never deleted: a ticket is resolved, and stays as history.
        .ticket: RecordRights(create: .analyst, change: .analyst, delete: nil, owner: .anyone),
        // A ticket's history and comments: appended by their author, never changed or deleted.
        .ticketEvent: RecordRights(create: .analyst, change: nil, delete: nil, owner: .author(field: "author_id")),
    ]

    /// The role posting `entry` needs; `target` is the entry a reversal reverses. Everyday cash
    /// work (invoices, payments, applications) is an analyst's; voiding (reversing anything but an
    /// application) is a manager's; unapplying (reversing an application) is an analyst's.
    ///
    /// Nil: nobody posts it. Credit memos, adjustments, write-offs and refunds lower or change what
    /// is owed, so they are
    /// written only by the server: on the approval of a request (``ApprovalRequest``, held to the
    /// tenant's limits, never by its requester) in the transaction that records the approval, or
    /// as a dunning late fee when its notice is released. PostEntries, ImportEntries and a sync
    /// push refuse them for every role, an admin's included.
    public static func required(for entry: LedgerEntry, target: LedgerEntry?) -> Role? {
        switch entry.kind {
        case .invoice, .payment, .application: .analyst
        case .creditMemo, .adjustment, .writeOff, .refund: nil
        case .reversal: target?.kind == .application ? .analyst : .manager
        }
    }

    /// Why `entry` may not be posted by `role`, or nil when it may: the one wording the RPCs and
    /// the sync push refuse with.
    public static func refusal(posting entry: LedgerEntry, target: LedgerEntry?, role: Role) -> String? {
        guard let required = required(for: entry, target: target) else {
            let kind = ApprovalKind(ledgerKind: entry.kind).map(\.rawValue) ?? entry.kind.rawValue
            return "a \(entry.kind.rawValue) is written only when a request for it is approved: ask with `dunlin requests add \(kind)`"
        }
        guard role.satisfies(required) else {
            return "posting a \(entry.kind.rawValue) needs the \(required.rawValue) role or higher; you are \(role.rawValue)"
        }
        return nil
    }

    /// Holds `role` to the role a write of `kind` needs.
    public static func authorize(_ write: RecordWrite, of kind: RecordKind, id: String, role: Role) throws(AccessDenied) {
        guard let rights = records[kind], let required = rights.role(for: write) else {
            throw AccessDenied("\(kind.rawValue) records are not \(past(write)) this way")
        }
        guard role.satisfies(required) else {
            throw AccessDenied("\(verb(write)) \(kind.rawValue) \(id) needs the \(required.rawValue) role or higher; you are \(role.rawValue)")
        }
    }

    /// Holds `caller` to the kind's owner rule. `before` and `after` read a field of the record as
    /// it stands (nil when new) and as written (nil when deleted).
    public static func checkOwner(
        of kind: RecordKind, id: String, role: Role, caller: String,
        before: (String) -> String?, after: (String) -> String?
    ) throws(AccessDenied) {
        switch records[kind]?.owner ?? .anyone {
        case .anyone, .settledOnly:
            return
        case .assignee(let field, let unless):
            guard !role.satisfies(unless) else { return }
            if let now = after(field), now != caller {
                throw AccessDenied(field: field, "assigning \(kind.rawValue) \(id) to \(now) needs the \(unless.rawValue) role; an analyst's are their own (\(caller))")
            }
            if let was = before(field), was != caller {
                throw AccessDenied(field: field, "\(kind.rawValue) \(id) is assigned to \(was); changing it needs the \(unless.rawValue) role")
            }
        case .requester(let field):
            if let was = before(field) {
                if let now = after(field), now != was {
                    throw AccessDenied(field: field, "\(kind.rawValue) \(id) was made by \(was); who made it never changes")
                }
            } else if let requester = after(field), requester != caller {
                throw AccessDenied(field: field, "\(kind.rawValue) \(id) names \(requester) as its requester; the requester is always the caller (\(caller))")
            }
        case .author(let field):
            if let author = after(field), author != caller {
                throw AccessDenied(field: field, "\(kind.rawValue) \(id) names \(author) as its author; the author is always the caller (\(caller))")
            }
        }
    }

    private static func verb(_ write: RecordWrite) -> String {
        switch write {
        case .create: "creating"
        case .change: "changing"
        case .delete: "deleting"
        }
    }

    private static func past(_ write: RecordWrite) -> String {
        switch write {
        case .create: "created"
        case .change: "changed"
        case .delete: "deleted"
        }
    }
}
