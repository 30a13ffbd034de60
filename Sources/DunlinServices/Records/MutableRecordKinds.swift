import DunlinCore
import DunlinStore
import DunlinWire

/// A mutable record kind as the Records service serves it (``RecordsService``): the domain side of
/// its ``MutableRecordMessage`` (the wire shape it shares with the other kinds: methods,
/// conversions, defaults). It says where it lives in the tenant store, whose it is (``owner``),
/// and what is its own: its list's filters.
protocol ServedMutableRecord: Sendable {
    /// The kind's list request (Message.ListRequest).
    associatedtype ListRequest

    var id: String { get set }
    /// The field the rights table's owner rule reads (``Rights/checkOwner(of:id:role:caller:before:after:)``),
    /// or nil when anyone with the role may write any record of the kind.
    static var owner: KeyPath<Self, String>? { get }
    static var stored: StoredRecords<Self> { get }
    /// One page of the kind's list, filtered as `request` asks.
    static func page(_ request: ListRequest, _ page: PageRequest, in store: TenantStore) throws -> Page<Self>
}

extension ServedMutableRecord {
    static var owner: KeyPath<Self, String>? { nil }
}

/// A kind's reads and writes in the tenant store (TenantStore+Records.swift): each validates,
/// writes all or nothing, and leaves tombstones, the same way for every kind.
struct StoredRecords<Record> {
    var find: (TenantStore) -> (String) throws -> Record?
    var save: (TenantStore) -> ([Record]) throws -> Void
    var delete: (TenantStore) -> ([String]) throws -> Void
}

extension Contact: ServedMutableRecord {
    static func page(_ request: Dunlin_V1_ListContactsRequest, _ page: PageRequest, in store: TenantStore) throws -> Page<Contact> {
        try store.contacts(customerID: nonEmpty(request.customerID), page: page)
    }

    static var stored: StoredRecords<Contact> { .init(find: TenantStore.contact, save: TenantStore.upsert, delete: TenantStore.deleteContacts) }
}

extension Dispute: ServedMutableRecord {
    static func page(_ request: Dunlin_V1_ListDisputesRequest, _ page: PageRequest, in store: TenantStore) throws -> Page<Dispute> {
        try store.disputes(
            customerID: nonEmpty(request.customerID), invoiceID: nonEmpty(request.invoiceID),
            statuses: WireField.choices(request.statuses, field: "statuses"), ownerTeams: WireField.choices(request.ownerTeams, field: "owner_teams"),
            openedFrom: WireField.optionalDate(request.openedFrom, field: "opened_from"),
            openedThrough: WireField.optionalDate(request.openedThrough, field: "opened_through"),
            page: page
        )
    }

    static var stored: StoredRecords<Dispute> { .init(find: TenantStore.dispute, save: TenantStore.upsert, delete: TenantStore.deleteDisputes) }
}

extension PromiseToPay: ServedMutableRecord {
    static func page(_ request: Dunlin_V1_ListPromisesRequest, _ page: PageRequest, in store: TenantStore) throws -> Page<PromiseToPay> {
        try store.promises(
            customerID: nonEmpty(request.customerID), invoiceID: nonEmpty(request.invoiceID),
            statuses: WireField.choices(request.statuses, field: "statuses"),
            promisedFrom: WireField.optionalDate(request.promisedFrom, field: "promised_from"),
            promisedThrough: WireField.optionalDate(request.promisedThrough, field: "promised_through"),
            page: page
        )
    }

    static var stored: StoredRecords<PromiseToPay> { .init(find: TenantStore.promise, save: TenantStore.upsert, delete: TenantStore.deletePromises) }
}

extension CollectionTask: ServedMutableRecord {
    /// An analyst's tasks are their own: the rights table's assignee rule.
    static var owner: KeyPath<CollectionTask, String>? { \.assigneeID }

    static func page(_ request: Dunlin_V1_ListTasksRequest, _ page: PageRequest, in store: TenantStore) throws -> Page<CollectionTask> {
        try store.tasks(
            assigneeID: nonEmpty(request.assigneeID), customerID: nonEmpty(request.customerID),
            done: request.hasDone ? request.done : nil,
            dueFrom: WireField.optionalDate(request.dueFrom, field: "due_from"),
            dueThrough: WireField.optionalDate(request.dueThrough, field: "due_through"),
            page: page
        )
    }

    static var stored: StoredRecords<CollectionTask> { .init(find: TenantStore.task, save: TenantStore.upsert, delete: TenantStore.deleteTasks) }
}

extension DatedRate: ServedMutableRecord {
    static func page(_ request: Dunlin_V1_ListExchangeRatesRequest, _ page: PageRequest, in store: TenantStore) throws -> Page<DatedRate> {
        try store.exchangeRates(
            currency: nonEmpty(request.currency), from: WireField.optionalDate(request.from, field: "from"),
            through: WireField.optionalDate(request.through, field: "through"), page: page
        )
    }

    static var stored: StoredRecords<DatedRate> {
        .init(find: TenantStore.exchangeRate, save: TenantStore.upsert, delete: TenantStore.deleteExchangeRates)
    }
}
