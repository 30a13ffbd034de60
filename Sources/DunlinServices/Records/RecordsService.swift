import DunlinCore
import DunlinStore
import DunlinWire
import Foundation

/// Contacts, disputes, promises to pay, tasks and the activity log of the caller's tenant.
///
/// Rights come from the one table (``Rights``, Protocol/records.proto): viewers read and evaluate
/// promises; analysts create and update contacts, disputes, promises and their own tasks, log
/// activities and record a promise's evaluated status; managers also delete records and assign
/// tasks to anyone. An activity's author is always the caller: whatever a request says is ignored.
public struct RecordsService: RPCService {
    /// The longest grace period a promise evaluation accepts, in days.
    public static let maxGraceDays = 365

    let tenants: any TenantProvider
    /// The server (true) writes what an approved request changes; a replica (false) leaves the
    /// decision for the server to settle when it is pushed.
    let authority: Bool

    public init(tenants: any TenantProvider, authority: Bool = true) {
        self.tenants = tenants
        self.authority = authority
    }

    public func register(in router: inout Router) {
        registerMutable(Dunlin_V1_ContactRecord.self, in: &router)
        registerMutable(Dunlin_V1_DisputeRecord.self, in: &router)
        registerMutable(Dunlin_V1_PromiseRecord.self, in: &router)
        registerMutable(Dunlin_V1_TaskRecord.self, in: &router)
        registerMutable(Dunlin_V1_ExchangeRateRecord.self, in: &router)
        registerMutable(Dunlin_V1_TeamCalendarRecord.self, in: &router)
        registerPromiseEvaluation(in: &router)
        registerActivities(in: &router)
        registerReconciliationViews(in: &router)
        registerSettings(in: &router)
        registerApprovalRequests(in: &router)
        registerTickets(in: &router)
    }

    /// Upsert, get, list and delete of one mutable record kind: writes held to the rights table
    /// (and, for a kind with an owner, to its owner rule item by item), reads open to viewers.
    /// `tenantCheck` holds each upserted record to what only the tenant knows (its base currency),
    /// naming the item.
    func registerMutable<Message: MutableRecordMessage>(
        _: Message.Type, in router: inout Router,
        tenantCheck: (@Sendable (Message.Record, TenantHandle) throws(DomainError) -> Void)? = nil
    )
    where Message.Record: ServedMutableRecord, Message.Record.ListRequest == Message.ListRequest {
        typealias Record = Message.Record
        let tenants = self.tenants
        let kind = Message.kind

        router.unary(Message.upsert) { request, context in
            let (tenant, role) = try access(context, tenants, writing: .change, kind)
            let caller = context.principal.id
            let today = tenant.today
            let records = try decodeEach(request[keyPath: Message.batch]) { message throws(DomainError) in
                var record = try message.record(today: today, caller: caller)
                if record.id.isEmpty { record.id = RecordID.new(for: kind) }
                return record
            }
            if let tenantCheck {
                for (index, record) in records.enumerated() {
                    do throws(DomainError) { try tenantCheck(record, tenant) } catch { throw RPCError(error, item: index + 1) }
                }
            }
            if let owner = Record.owner {
                for (index, record) in records.enumerated() {
                    let existing = try Record.stored.find(tenant.store)(record.id)
                    do throws(AccessDenied) {
                        try Rights.checkOwner(
                            of: kind, id: record.id, role: role, caller: caller,
                            before: { _ in existing?[keyPath: owner] }, after: { _ in record[keyPath: owner] }
                        )
                    } catch {
                        throw RPCError(error, item: index + 1)
                    }
                }
            }
            try RPCError.mapping { try Record.stored.save(tenant.store)(records) }
            var response = Message.UpsertResponse()
            response[keyPath: Message.saved] = records.map(Message.init)
            return response
        }

        router.unary(Message.get) { request, context in
            let (tenant, _) = try access(context, tenants, requires: .viewer)
            return Message(try found(Record.stored.find(tenant.store)(request.id), request.id))
        }

        router.unary(Message.list) { request, context in
            let (tenant, _) = try access(context, tenants, requires: .viewer)
            let page = try RPCError.mapping {
                try Record.page(request, PageRequest(after: request.cursor, size: request.pageSize), in: tenant.store)
            }
            var response = Message.ListResponse()
            response[keyPath: Message.listed] = page.items.map(Message.init)
            response.nextCursor = page.nextCursor ?? ""
            return response
        }

        router.unary(Message.delete) { request, context in
            let (tenant, _) = try access(context, tenants, writing: .delete, kind)
            try RPCError.mapping { try Record.stored.delete(tenant.store)(request.ids) }
            return .with { $0.count = UInt32(request.ids.count) }
        }
    }

    private func registerPromiseEvaluation(in router: inout Router) {
        let tenants = self.tenants

        router.unary(Records.evaluatePromise) { request, context in
            let (tenant, role) = try access(context, tenants, requires: .viewer)
            if request.record, !role.satisfies(.analyst) {
                throw RPCError(.permissionDenied, "recording a promise's status needs the analyst role or higher; you are \(role.rawValue)")
            }
            let today = tenant.today
            let asOf = try RPCError.mapping { try WireField.date(request.asOf, field: "as_of", default: today) }
            if request.record, asOf > today {
                throw RPCError(.invalid(field: "as_of", "a status is recorded as of today (\(today)) or earlier, not \(asOf): later payments cannot count yet"))
            }
            let graceDays = request.hasGraceDays ? Int(request.graceDays) : PromiseToPay.defaultGraceDays
            guard graceDays <= Self.maxGraceDays else {
                throw RPCError(.invalid(field: "grace_days", "at most \(Self.maxGraceDays) days, not \(graceDays)"))
            }
            let measured = try found(tenant.store.promiseEvaluation(request.id, asOf: asOf, graceDays: graceDays), request.id)
            var promise = measured.promise
            let (evaluation, installments) = (measured.whole, measured.installments)
            var recorded = false
            if request.record, promise.status != evaluation.status {
                // Between the read and this write another caller may have updated the promise;
                // the store keeps whichever write commits last, as for any upsert.
                promise.status = evaluation.status
                try RPCError.mapping { try tenant.store.upsert([promise]) }
                recorded = true
            }
            return .with {
                $0.promise = Dunlin_V1_PromiseRecord(promise)
                $0.status = evaluation.status.rawValue
                $0.received = Dunlin_V1_Amount(evaluation.received)
                $0.deadline = evaluation.deadline.description
                $0.asOf = asOf.description
                $0.recorded = recorded
                $0.installments = installments.map { item in
                    .with {
                        $0.dueDate = item.installment.dueDate.description
                        $0.amount = Dunlin_V1_Amount(item.installment.amount)
                        $0.status = item.status.rawValue
                        $0.received = Dunlin_V1_Amount(item.received)
                        $0.deadline = item.deadline.description
                    }
                }
            }
        }
    }

    private func registerActivities(in router: inout Router) {
        let tenants = self.tenants

        router.unary(Records.logActivities) { request, context in
            let (tenant, _) = try access(context, tenants, writing: .create, .activity)
            let author = context.principal.id
            let now = tenant.now
            let activities = try decodeEach(request.activities) { record throws(DomainError) in
                var activity = try record.activity(author: author, now: now)
                if activity.id.isEmpty { activity.id = RecordID.new(for: RecordKind.activity) }
                return activity
            }
            try RPCError.mapping { try tenant.store.append(activities) }
            return .with { $0.activities = activities.map(Dunlin_V1_ActivityRecord.init) }
        }

        router.unary(Records.listActivities) { request, context in
            let (tenant, _) = try access(context, tenants, requires: .viewer)
            let page = try RPCError.mapping {
                try tenant.store.activities(
                    customerID: nonEmpty(request.customerID), authorID: nonEmpty(request.authorID),
                    kinds: WireField.choices(request.kinds, field: "kinds"),
                    occurredFrom: request.occurredFrom == 0 ? nil : Activity.instant(milliseconds: request.occurredFrom),
                    occurredBefore: request.occurredBefore == 0 ? nil : Activity.instant(milliseconds: request.occurredBefore),
                    newestFirst: request.newestFirst, page: PageRequest(after: request.cursor, size: request.pageSize)
                )
            }
            return .with {
                $0.activities = page.items.map(Dunlin_V1_ActivityRecord.init)
                $0.nextCursor = page.nextCursor ?? ""
            }
        }
    }
}

/// Decodes a batch's records, naming the 1-based item of the first that is refused.
private func decodeEach<Record, Item>(_ records: [Record], _ decode: (Record) throws(DomainError) -> Item) throws(RPCError) -> [Item] {
    var items: [Item] = []
    items.reserveCapacity(records.count)
    for (index, record) in records.enumerated() {
        do throws(DomainError) {
            items.append(try decode(record))
        } catch {
            throw RPCError(error, item: index + 1)
        }
    }
    return items
}

/// The record, or NOT_FOUND naming `id`: the same answer for an id of another tenant as for one
/// that never existed or was deleted.
func found<Record>(_ record: Record?, _ id: String) throws(RPCError) -> Record {
    guard let record else { throw RPCError(DomainError.notFound(field: "id", id: id)) }
    return record
}

func nonEmpty(_ text: String) -> String? { text.isEmpty ? nil : text }
