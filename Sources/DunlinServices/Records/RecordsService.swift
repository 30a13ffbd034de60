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

    public init(tenants: any TenantProvider) {
        self.tenants = tenants
    }

    public func register(in router: inout Router) {
        registerContacts(in: &router)
        registerDisputes(in: &router)
        registerPromises(in: &router)
        registerTasks(in: &router)
        registerActivities(in: &router)
    }

    private func registerContacts(in router: inout Router) {
        let tenants = self.tenants

        router.unary(Records.upsertContacts) { request, context in
            let (tenant, _) = try access(context, tenants, writing: .change, .contact)
            let contacts = try decodeEach(request.contacts) { record throws(DomainError) in
                var contact = try record.contact()
                if contact.id.isEmpty { contact.id = RecordID.new(for: RecordKind.contact) }
                return contact
            }
            try RPCError.mapping { try tenant.store.upsert(contacts) }
            return .with { $0.contacts = contacts.map(Dunlin_V1_ContactRecord.init) }
        }

        router.unary(Records.getContact) { request, context in
            let (tenant, _) = try access(context, tenants, requires: .viewer)
            return Dunlin_V1_ContactRecord(try found(tenant.store.contact(request.id), request.id))
        }

        router.unary(Records.listContacts) { request, context in
            let (tenant, _) = try access(context, tenants, requires: .viewer)
            let page = try RPCError.mapping {
                try tenant.store.contacts(
                    customerID: nonEmpty(request.customerID), after: nonEmpty(request.cursor), limit: pageSize(request.pageSize)
                )
            }
            return .with {
                $0.contacts = page.items.map(Dunlin_V1_ContactRecord.init)
                $0.nextCursor = page.nextCursor ?? ""
            }
        }

        router.unary(Records.deleteContacts) { request, context in
            let (tenant, _) = try access(context, tenants, writing: .delete, .contact)
            try RPCError.mapping { try tenant.store.deleteContacts(request.ids) }
            return .with { $0.count = UInt32(request.ids.count) }
        }
    }

    private func registerDisputes(in router: inout Router) {
        let tenants = self.tenants

        router.unary(Records.upsertDisputes) { request, context in
            let (tenant, _) = try access(context, tenants, writing: .change, .dispute)
            let today = tenant.today
            let disputes = try decodeEach(request.disputes) { record throws(DomainError) in
                var dispute = try record.dispute(today: today)
                if dispute.id.isEmpty { dispute.id = RecordID.new(for: RecordKind.dispute) }
                return dispute
            }
            try RPCError.mapping { try tenant.store.upsert(disputes) }
            return .with { $0.disputes = disputes.map(Dunlin_V1_DisputeRecord.init) }
        }

        router.unary(Records.getDispute) { request, context in
            let (tenant, _) = try access(context, tenants, requires: .viewer)
            return Dunlin_V1_DisputeRecord(try found(tenant.store.dispute(request.id), request.id))
        }

        router.unary(Records.listDisputes) { request, context in
            let (tenant, _) = try access(context, tenants, requires: .viewer)
            let page = try RPCError.mapping {
                try tenant.store.disputes(
                    customerID: nonEmpty(request.customerID), invoiceID: nonEmpty(request.invoiceID),
                    statuses: WireField.choices(request.statuses, field: "statuses"),
                    ownerTeams: WireField.choices(request.ownerTeams, field: "owner_teams"),
                    openedFrom: WireField.optionalDate(request.openedFrom, field: "opened_from"),
                    openedThrough: WireField.optionalDate(request.openedThrough, field: "opened_through"),
                    after: nonEmpty(request.cursor), limit: pageSize(request.pageSize)
                )
            }
            return .with {
                $0.disputes = page.items.map(Dunlin_V1_DisputeRecord.init)
                $0.nextCursor = page.nextCursor ?? ""
            }
        }

        router.unary(Records.deleteDisputes) { request, context in
            let (tenant, _) = try access(context, tenants, writing: .delete, .dispute)
            try RPCError.mapping { try tenant.store.deleteDisputes(request.ids) }
            return .with { $0.count = UInt32(request.ids.count) }
        }
    }

    private func registerPromises(in router: inout Router) {
        let tenants = self.tenants

        router.unary(Records.upsertPromises) { request, context in
            let (tenant, _) = try access(context, tenants, writing: .change, .promiseToPay)
            let today = tenant.today
            let promises = try decodeEach(request.promises) { record throws(DomainError) in
                var promise = try record.promise(today: today)
                if promise.id.isEmpty { promise.id = RecordID.new(for: RecordKind.promiseToPay) }
                return promise
            }
            try RPCError.mapping { try tenant.store.upsert(promises) }
            return .with { $0.promises = promises.map(Dunlin_V1_PromiseRecord.init) }
        }

        router.unary(Records.getPromise) { request, context in
            let (tenant, _) = try access(context, tenants, requires: .viewer)
            return Dunlin_V1_PromiseRecord(try found(tenant.store.promise(request.id), request.id))
        }

        router.unary(Records.listPromises) { request, context in
            let (tenant, _) = try access(context, tenants, requires: .viewer)
            let page = try RPCError.mapping {
                try tenant.store.promises(
                    customerID: nonEmpty(request.customerID), invoiceID: nonEmpty(request.invoiceID),
                    statuses: WireField.choices(request.statuses, field: "statuses"),
                    promisedFrom: WireField.optionalDate(request.promisedFrom, field: "promised_from"),
                    promisedThrough: WireField.optionalDate(request.promisedThrough, field: "promised_through"),
                    after: nonEmpty(request.cursor), limit: pageSize(request.pageSize)
                )
            }
            return .with {
                $0.promises = page.items.map(Dunlin_V1_PromiseRecord.init)
                $0.nextCursor = page.nextCursor ?? ""
            }
        }

        router.unary(Records.deletePromises) { request, context in
            let (tenant, _) = try access(context, tenants, writing: .delete, .promiseToPay)
            try RPCError.mapping { try tenant.store.deletePromises(request.ids) }
            return .with { $0.count = UInt32(request.ids.count) }
        }

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
            let evaluation = try found(tenant.store.evaluatePromise(request.id, asOf: asOf, graceDays: graceDays), request.id)
            var promise = try found(tenant.store.promise(request.id), request.id)
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
            }
        }
    }

    private func registerTasks(in router: inout Router) {
        let tenants = self.tenants

        router.unary(Records.upsertTasks) { request, context in
            let (tenant, role) = try access(context, tenants, writing: .change, .collectionTask)
            let caller = context.principal.id
            let today = tenant.today
            let tasks = try decodeEach(request.tasks) { record throws(DomainError) in
                var task = try record.task(today: today, caller: caller)
                if task.id.isEmpty { task.id = RecordID.new(for: RecordKind.collectionTask) }
                return task
            }
            for (index, task) in tasks.enumerated() {
                let existing = try tenant.store.task(task.id)
                do throws(AccessDenied) {
                    try Rights.checkOwner(
                        of: .collectionTask, id: task.id, role: role, caller: caller,
                        before: { _ in existing?.assigneeID }, after: { _ in task.assigneeID }
                    )
                } catch {
                    throw RPCError(error, item: index + 1)
                }
            }
            try RPCError.mapping { try tenant.store.upsert(tasks) }
            return .with { $0.tasks = tasks.map(Dunlin_V1_TaskRecord.init) }
        }

        router.unary(Records.getTask) { request, context in
            let (tenant, _) = try access(context, tenants, requires: .viewer)
            return Dunlin_V1_TaskRecord(try found(tenant.store.task(request.id), request.id))
        }

        router.unary(Records.listTasks) { request, context in
            let (tenant, _) = try access(context, tenants, requires: .viewer)
            let page = try RPCError.mapping {
                try tenant.store.tasks(
                    assigneeID: nonEmpty(request.assigneeID), customerID: nonEmpty(request.customerID),
                    done: request.hasDone ? request.done : nil,
                    dueFrom: WireField.optionalDate(request.dueFrom, field: "due_from"),
                    dueThrough: WireField.optionalDate(request.dueThrough, field: "due_through"),
                    after: nonEmpty(request.cursor), limit: pageSize(request.pageSize)
                )
            }
            return .with {
                $0.tasks = page.items.map(Dunlin_V1_TaskRecord.init)
                $0.nextCursor = page.nextCursor ?? ""
            }
        }

        router.unary(Records.deleteTasks) { request, context in
            let (tenant, _) = try access(context, tenants, writing: .delete, .collectionTask)
            try RPCError.mapping { try tenant.store.deleteTasks(request.ids) }
            return .with { $0.count = UInt32(request.ids.count) }
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
                    newestFirst: request.newestFirst, after: nonEmpty(request.cursor), limit: pageSize(request.pageSize)
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
private func found<Record>(_ record: Record?, _ id: String) throws(RPCError) -> Record {
    guard let record else { throw RPCError(DomainError.notFound(field: "id", id: id)) }
    return record
}

private func nonEmpty(_ text: String) -> String? { text.isEmpty ? nil : text }
