import DunlinCore
import DunlinStore
import DunlinSync
import DunlinWire
import Foundation

/// Bootstrap, pull, push and watch for the caller's tenant (Protocol/sync.proto, PROTOCOL.md §16.2).
///
/// Rights: any tenant role may bootstrap, pull and watch; each pushed change is held to the role
/// the RPC that makes the same change needs, and validated exactly as that RPC validates it.
/// A replica id belongs to the user who first synced it: another user's pushes under it are
/// refused, so nobody can shadow someone else's dots.
public struct SyncService: RPCService {
    let tenants: any TenantProvider

    public init(tenants: any TenantProvider) {
        self.tenants = tenants
    }

    static let defaultBatch = 500
    static let maxBatch = 5000

    public func register(in router: inout Router) {
        let tenants = self.tenants

        router.serverStreaming(SyncMethods.bootstrap) { request, writer, context in
            let (tenant, _) = try access(context, tenants, requires: .viewer)
            try requireReplica(request.replicaID, context)
            try requireOwnership(of: request.replicaID, tenant, context)
            let size = batchSize(request.batchSize)
            let start = try RPCError.mapping { try tenant.store.snapshotStart() }
            var sent = 0
            defer { context.report(.pulled(records: sent)) }
            for kind in TenantStore.syncKindOrder {
                var cursor = ""
                while true {
                    let page = try RPCError.mapping { try tenant.store.snapshotPage(kind: kind, after: cursor, limit: size) }
                    guard let last = page.last else { break }
                    cursor = last.id
                    try await writer.write(batch(page, through: 0, last: false))
                    sent += page.count
                    if page.count < size { break }
                }
            }
            // What changed while the pages were read, as it stands now; then the checkpoint.
            var checkpoint = start
            while true {
                let (records, through, last) = try RPCError.mapping { try tenant.store.changes(after: checkpoint, limit: size) }
                checkpoint = through
                sent += records.count
                if last {
                    try await writer.write(batch(records, through: through, last: true, tenant: tenant))
                    break
                }
                try await writer.write(batch(records, through: 0, last: false))
            }
            try RPCError.mapping {
                try tenant.store.acknowledge(replica: request.replicaID, userID: context.principal.id, device: context.principal.device, checkpoint: checkpoint, rejoining: true)
            }
        }

        router.serverStreaming(SyncMethods.pull) { request, writer, context in
            let (tenant, _) = try access(context, tenants, requires: .viewer)
            try requireReplica(request.replicaID, context)
            let afterSeq = try WireInteger.int64(request.afterSeq, field: "after_seq")
            try requireOwnership(of: request.replicaID, tenant, context)
            try requireLive(request.replicaID, tenant)
            let newest = try RPCError.mapping { try tenant.store.snapshotStart() }
            guard afterSeq <= newest else {
                throw RPCError(.outOfRange, "after_seq \(afterSeq) is past the newest change \(newest): this replica holds another server's history; bootstrap it again",
                               details: [.with { $0.field = "after_seq"; $0.reason = "rebootstrap" }])
            }
            try RPCError.mapping {
                try tenant.store.acknowledge(replica: request.replicaID, userID: context.principal.id, device: context.principal.device, checkpoint: afterSeq, rejoining: false)
                // Every acknowledgement may lower the horizon's last holdout: collect what it frees.
                try tenant.store.collectTombstones()
            }
            let size = batchSize(request.batchSize)
            var checkpoint = afterSeq
            var sent = 0
            defer { context.report(.pulled(records: sent)) }
            while true {
                let (records, through, last) = try syncMapping { try tenant.store.changes(after: checkpoint, limit: size) }
                checkpoint = through
                sent += records.count
                try await writer.write(batch(records, through: through, last: last, tenant: tenant))
                if last { break }
            }
        }

        router.unary(SyncMethods.push) { request, context in
            let (tenant, role) = try access(context, tenants, requires: .viewer)
            try requireReplica(request.replicaID, context)
            try requireOwnership(of: request.replicaID, tenant, context)
            var changes: [PushedChange] = []
            for (index, change) in request.changes.enumerated() {
                guard change.counter > 0 else {
                    throw RPCError(.invalidArgument, "change \(index + 1): counter must be at least 1", details: [.with { $0.field = "changes[\(index)].counter" }])
                }
                _ = try WireInteger.int64(change.counter, field: "changes[\(index)].counter")
                _ = try WireInteger.int64(change.baseSeq, field: "changes[\(index)].base_seq")
                let fields: FieldMap
                do {
                    fields = try RecordCoding.decode(change.fields)
                } catch {
                    throw RPCError(.invalidArgument, "change \(index + 1): fields are not a JSON object", details: [.with { $0.field = "changes[\(index)].fields" }])
                }
                changes.append(PushedChange(
                    kind: change.kind, id: change.id, counter: change.counter, baseSeq: change.baseSeq, fields: fields, at: change.atMs
                ))
            }
            await FaultPause.beforePush.pause()
            // A pushed decision of an approval request is held to the limits as they stand now.
            let approvals = ApprovalRules(limits: try RPCError.mapping { try TenantSetting.approvalLimits(tenant.store.settings()) }, base: tenant.baseCurrency)
            // Pending requests this push decides, by counter: the accepted ones' audit events are
            // written in the push's transaction (a duplicate's was written the first time).
            var decisions: [UInt64: ApprovalRequest] = [:]
            let (outcomes, seq) = try RPCError.mapping {
                try tenant.store.applyPush(
                    replica: request.replicaID, userID: context.principal.id, device: context.principal.device, changes: changes,
                    authorize: { change, current, entry in
                        try authorize(change, current: current, role: role, caller: context.principal.id, entry: entry, approvals: approvals)
                        if let decided = decision(change, current: current) { decisions[change.counter] = decided }
                    },
                    refusal: refusal,
                    audit: { change in
                        decisions[change.counter].flatMap { decided in
                            tenant.auditNote(context, decided.auditAction, target: decided.id, decided.auditDetail + " (settled from a push)")
                        }
                    }
                )
            }
            tenant.flushAudit(context)
            context.report(.pushed(records: changes.count))
            await FaultPause.afterPushCommit.pause()
            return .with { response in
                response.seq = UInt64(seq)
                response.results = outcomes.map { outcome in
                    .with {
                        $0.counter = outcome.counter
                        $0.outcome = Dunlin_V1_PushResult.Outcome(rawValue: outcome.kind.rawValue) ?? .refused
                        if let refusal = outcome.refusal {
                            $0.code = refusal.code
                            $0.message = refusal.message
                            $0.field = refusal.field
                        }
                        $0.conflictIds = outcome.conflictIDs
                    }
                }
            }
        }

        router.unary(SyncMethods.listReplicas) { request, context in
            let (tenant, _) = try access(context, tenants, requires: .admin)
            let (replicas, horizon) = try RPCError.mapping {
                try tenant.store.replicas(page: PageRequest(after: request.cursor, size: request.pageSize))
            }
            return .with {
                $0.replicas = replicas.items.map(replicaInfo)
                $0.horizon = UInt64(max(horizon, 0))
                $0.nextCursor = replicas.nextCursor ?? ""
            }
        }

        router.unary(SyncMethods.retireReplica) { request, context in
            let (tenant, _) = try access(context, tenants, requires: .admin)
            // The retirement's audit event is written in its transaction, then moved to the trail.
            let retired = try RPCError.mapping {
                try tenant.store.retire(replica: request.replicaID) { retired in
                    tenant.auditNote(context, .replicaRetire, target: retired.id, "of user \(retired.userID), at checkpoint \(retired.checkpoint)")
                }
            }
            tenant.flushAudit(context)
            _ = try RPCError.mapping { try tenant.store.collectTombstones() }
            return replicaInfo(retired)
        }

        router.serverStreaming(SyncMethods.watch) { request, writer, context in
            let (tenant, _) = try access(context, tenants, requires: .viewer)
            try requireReplica(request.replicaID, context)
            let afterSeq = request.afterSeq
            // Ends UNAUTHENTICATED as soon as the token is revoked (or the user deactivated, the
            // tenant suspended), and re-checks before each notice, so an expired token stops too.
            try await context.whileCredentialValid {
                var known = afterSeq
                for try await seq in tenant.store.changeSequence() {
                    // The log's numbers start at 1, so a sequence number is never negative.
                    guard let seq = UInt64(exactly: seq), seq > known else { continue }
                    try await context.recheckCredential()
                    known = seq
                    try await writer.write(.with { $0.seq = known })
                }
            }
        }
    }
}

private func batchSize(_ requested: UInt32) -> Int {
    requested == 0 ? SyncService.defaultBatch : min(Int(requested), SyncService.maxBatch)
}

private func batch(_ records: [SyncRecordState], through: Int64, last: Bool, tenant: TenantHandle? = nil) -> Dunlin_V1_SyncBatch {
    .with {
        if last, let tenant {
            $0.baseCurrency = tenant.baseCurrency.code
            $0.timeZone = tenant.timeZone.identifier
        }
        $0.records = records.map { record in
            .with {
                $0.kind = record.kind
                $0.id = record.id
                $0.seq = UInt64(record.seq)
                switch record.form {
                case .fields: $0.fields = record.bytes
                case .ledgerEntry: $0.ledgerEntry = record.bytes
                case .activity: $0.activity = record.bytes
                }
            }
        }
        $0.throughSeq = UInt64(max(through, 0))
        $0.checksum = SyncRecordState.checksum(records)
        $0.last = last
    }
}

/// A replica id belongs to the user who first synced it (and, while that token lives, to the
/// token): nobody else may pull, bootstrap or push under it, so nobody can move another
/// analyst's checkpoint, undo a retire or shadow their dots (PROTOCOL.md §16.2). The HELLO's
/// replica id, when the client sent one, must be the request's.
private func requireOwnership(of replica: String, _ tenant: TenantHandle, _ context: ServerContext) throws {
    if !context.replicaID.isEmpty, context.replicaID != replica {
        throw RPCError(.invalidArgument, "replica_id \(replica) is not the replica this connection said it was at HELLO (\(context.replicaID))",
                       details: [.with { $0.field = "replica_id"; $0.reason = "replica_mismatch" }])
    }
    if let owner = try RPCError.mapping({ try tenant.store.replicaOwner(replica) }), owner != context.principal.id {
        throw RPCError(.permissionDenied, "replica \(replica) belongs to another user", details: [.with { $0.field = "replica_id"; $0.reason = "not_owner" }])
    }
}

/// A retired replica (a lost laptop an admin took out of the horizon) pulls nothing more: it
/// pushes what it holds, then bootstraps again, which is what brings it back.
private func requireLive(_ replica: String, _ tenant: TenantHandle) throws {
    if try RPCError.mapping({ try tenant.store.isRetired(replica) }) {
        throw RPCError(.failedPrecondition, "replica \(replica) was retired: push, then bootstrap again", details: [.with { $0.field = "replica_id"; $0.reason = "rebootstrap" }])
    }
}

private func requireReplica(_ id: String, _ context: ServerContext) throws(RPCError) {
    guard SyncMethods.isValidReplicaID(id) else {
        throw RPCError(.invalidArgument, "replica_id must be \"r\" and 32 lower-case hex digits (PROTOCOL.md §16.2)",
                       details: [.with { $0.field = "replica_id"; $0.reason = "invalid_format" }])
    }
}

/// A pull behind the collected horizon is FAILED_PRECONDITION with reason "rebootstrap".
private func syncMapping<T>(_ body: () throws -> T) throws -> T {
    do {
        return try RPCError.mapping(body)
    } catch let error as SyncStoreError {
        throw RPCError(.failedPrecondition, error.description, details: [.with { $0.reason = "rebootstrap" }])
    }
}

/// Holds a pushed change to the rights table (``Rights``), exactly as the RPC making the same
/// change is held: the role for the write, then the kind's owner rule (a task stays its analyst's,
/// an activity's author is the caller, a conflict is only settled, by the caller).
private func authorize(
    _ change: PushedChange, current: FieldMap?, role: Role, caller: String, entry: (String) -> LedgerEntry?, approvals: ApprovalRules
) throws {
    guard let kind = RecordKind(rawValue: change.kind) else {
        throw PushRefusal(code: StatusCode.invalidArgument.rawValue, message: "\"\(change.kind)\" is not a kind of record", field: "kind")
    }
    let deleting = change.fields[RecordCoding.deletedField] == .bool(true)
    let write: RecordWrite = current == nil ? .create : deleting ? .delete : .change
    do throws(AccessDenied) {
        if kind == .ledgerEntry {
            let posted = try? LedgerEntry(fieldMap: change.fields)
            if let posted {
                if let refusal = Rights.refusal(posting: posted, target: posted.targetID.flatMap(entry), role: role) {
                    throw AccessDenied(refusal)
                }
            }
            // An undecodable entry is refused by the store's validation, with the field.
            return
        }
        try Rights.authorize(write, of: kind, id: change.id, role: role)
        try Rights.checkOwner(
            of: kind, id: change.id, role: role, caller: caller,
            before: { current?[$0]?.text }, after: { deleting ? nil : change.fields[$0]?.text }
        )
        if case .settledOnly(let settler) = Rights.records[kind]?.owner, let current {
            try checkSettling(change, current: current, settler: settler, caller: caller)
        }
        if kind == .approvalRequest { try checkDecision(change, current: current, role: role, caller: caller, approvals) }
    } catch {
        throw PushRefusal(code: StatusCode.permissionDenied.rawValue, message: error.message, field: error.field)
    }
}

/// A replica may settle a conflict the server recorded, as itself, and change nothing else of it
/// than the settlement: its status, settler, outcome and time. (Whether it is still open is the
/// store's to say, in the same transaction: ``TenantStore/applyPush``.)
private func checkSettling(_ change: PushedChange, current: FieldMap, settler: String, caller: String) throws(AccessDenied) {
    let settlement: Set = ["status", settler, "outcome", "settled_at"]
    for (field, value) in change.fields where !settlement.contains(field) {
        guard current[field] == value else {
            throw AccessDenied(field: field, "a conflict's \(field) is the server's record of what happened; a replica may only settle it")
        }
    }
    guard change.fields["status"]?.text == ConflictRecord.Status.settled.rawValue else {
        throw AccessDenied(field: "status", "a replica may only settle a conflict, not reopen it")
    }
    guard change.fields[settler]?.text == caller else {
        throw AccessDenied(field: settler, "a conflict is settled by the caller (\(caller)), not \(change.fields[settler]?.text ?? "nobody")")
    }
}

/// The tenant's approval limits and base currency, read before a push.
private struct ApprovalRules {
    var limits: ApprovalLimits
    var base: Currency
}

/// A pushed request is made pending, and a pushed decision is the caller's, held to the limits
/// exactly as `DecideApprovalRequest` holds it (whether the request is still pending, and that
/// nothing else of it changes, is the store's to say in the push's transaction; an approval's
/// entry is written there too).
private func checkDecision(_ change: PushedChange, current: FieldMap?, role: Role, caller: String, _ rules: ApprovalRules) throws(AccessDenied) {
    let pending = ApprovalStatus.pending.rawValue
    guard let current else {
        guard (change.fields["status"]?.text ?? pending) == pending, (change.fields["decided_by"]?.text ?? "").isEmpty else {
            throw AccessDenied(field: "status", "a new request is pending; someone else decides it")
        }
        return
    }
    guard let status = change.fields["status"]?.text, status != pending else { return }
    guard change.fields["decided_by"]?.text == caller else {
        throw AccessDenied(field: "decided_by", "a request is decided by the caller (\(caller)), not \(change.fields["decided_by"]?.text ?? "nobody")")
    }
    guard let asked = try? ApprovalRequest(fieldMap: current) else { return }  // the store refuses what it cannot read
    try rules.limits.authorizeDecision(of: asked, by: caller, role: role, base: rules.base)
}

/// The request a pushed change decides, as decided: a change of an approval request that was
/// pending here and is approved or rejected in the push; nil for any other change.
private func decision(_ change: PushedChange, current: FieldMap?) -> ApprovalRequest? {
    guard change.kind == RecordKind.approvalRequest.rawValue, let current, current["status"]?.text == ApprovalStatus.pending.rawValue,
          let status = change.fields["status"]?.text, status != ApprovalStatus.pending.rawValue
    else { return nil }
    return try? ApprovalRequest(fieldMap: current.merging(change.fields) { _, pushed in pushed })
}

/// The status the same RPC would answer for a refused change.
private func refusal(_ error: any Error) -> PushRefusal {
    let mapped: RPCError
    switch error {
    case let refusal as PushRefusal: return refusal
    case let error as DomainError: mapped = RPCError(error)
    case let error as StoreError: mapped = RPCError(error)
    case let error as RPCError: mapped = error
    default: mapped = RPCError(.invalidArgument, "\(error)")
    }
    return PushRefusal(code: mapped.code.rawValue, message: mapped.message, field: mapped.details.first?.field ?? "")
}

private func replicaInfo(_ replica: TenantStore.ReplicaState) -> Dunlin_V1_ReplicaInfo {
    .with {
        $0.id = replica.id
        $0.userID = replica.userID
        $0.checkpoint = UInt64(max(replica.checkpoint, 0))
        $0.lastSeen = replica.lastSeen
        $0.retired = replica.retired
    }
}
