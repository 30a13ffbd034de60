import DunlinCore
import SwiftProtobuf

/// The Records service: one tenant's contacts, disputes, promises to pay, tasks and activity log.
/// The tenant is the caller's, from the credential; requests never name it. Who may call what is
/// in Protocol/records.proto.
public enum Records {
    // MARK: Contacts

    public static let upsertContacts = MethodDescriptor<Dunlin_V1_UpsertContactsRequest, Dunlin_V1_UpsertContactsResponse>(
        path: "/dunlin.v1.Records/UpsertContacts", kind: .unary
    )
    public static let getContact = MethodDescriptor<Dunlin_V1_GetContactRequest, Dunlin_V1_ContactRecord>(
        path: "/dunlin.v1.Records/GetContact", kind: .unary
    )
    public static let listContacts = MethodDescriptor<Dunlin_V1_ListContactsRequest, Dunlin_V1_ListContactsResponse>(
        path: "/dunlin.v1.Records/ListContacts", kind: .unary
    )
    public static let deleteContacts = MethodDescriptor<Dunlin_V1_DeleteContactsRequest, Dunlin_V1_DeleteResponse>(
        path: "/dunlin.v1.Records/DeleteContacts", kind: .unary
    )

    // MARK: Disputes

    public static let upsertDisputes = MethodDescriptor<Dunlin_V1_UpsertDisputesRequest, Dunlin_V1_UpsertDisputesResponse>(
        path: "/dunlin.v1.Records/UpsertDisputes", kind: .unary
    )
    public static let getDispute = MethodDescriptor<Dunlin_V1_GetDisputeRequest, Dunlin_V1_DisputeRecord>(
        path: "/dunlin.v1.Records/GetDispute", kind: .unary
    )
    public static let listDisputes = MethodDescriptor<Dunlin_V1_ListDisputesRequest, Dunlin_V1_ListDisputesResponse>(
        path: "/dunlin.v1.Records/ListDisputes", kind: .unary
    )
    public static let deleteDisputes = MethodDescriptor<Dunlin_V1_DeleteDisputesRequest, Dunlin_V1_DeleteResponse>(
        path: "/dunlin.v1.Records/DeleteDisputes", kind: .unary
    )

    // MARK: Promises to pay

    public static let upsertPromises = MethodDescriptor<Dunlin_V1_UpsertPromisesRequest, Dunlin_V1_UpsertPromisesResponse>(
        path: "/dunlin.v1.Records/UpsertPromises", kind: .unary
    )
    public static let getPromise = MethodDescriptor<Dunlin_V1_GetPromiseRequest, Dunlin_V1_PromiseRecord>(
        path: "/dunlin.v1.Records/GetPromise", kind: .unary
    )
    public static let listPromises = MethodDescriptor<Dunlin_V1_ListPromisesRequest, Dunlin_V1_ListPromisesResponse>(
        path: "/dunlin.v1.Records/ListPromises", kind: .unary
    )
    public static let deletePromises = MethodDescriptor<Dunlin_V1_DeletePromisesRequest, Dunlin_V1_DeleteResponse>(
        path: "/dunlin.v1.Records/DeletePromises", kind: .unary
    )
    public static let evaluatePromise = MethodDescriptor<Dunlin_V1_EvaluatePromiseRequest, Dunlin_V1_EvaluatePromiseResponse>(
        path: "/dunlin.v1.Records/EvaluatePromise", kind: .unary
    )

    // MARK: Tasks

    public static let upsertTasks = MethodDescriptor<Dunlin_V1_UpsertTasksRequest, Dunlin_V1_UpsertTasksResponse>(
        path: "/dunlin.v1.Records/UpsertTasks", kind: .unary
    )
    public static let getTask = MethodDescriptor<Dunlin_V1_GetTaskRequest, Dunlin_V1_TaskRecord>(
        path: "/dunlin.v1.Records/GetTask", kind: .unary
    )
    public static let listTasks = MethodDescriptor<Dunlin_V1_ListTasksRequest, Dunlin_V1_ListTasksResponse>(
        path: "/dunlin.v1.Records/ListTasks", kind: .unary
    )
    public static let deleteTasks = MethodDescriptor<Dunlin_V1_DeleteTasksRequest, Dunlin_V1_DeleteResponse>(
        path: "/dunlin.v1.Records/DeleteTasks", kind: .unary
    )

    // MARK: Activity log

    public static let logActivities = MethodDescriptor<Dunlin_V1_LogActivitiesRequest, Dunlin_V1_LogActivitiesResponse>(
        path: "/dunlin.v1.Records/LogActivities", kind: .unary
    )
    public static let listActivities = MethodDescriptor<Dunlin_V1_ListActivitiesRequest, Dunlin_V1_ListActivitiesResponse>(
        path: "/dunlin.v1.Records/ListActivities", kind: .unary
    )

    /// The reconciliation queue of the store that answers (the server's, or a replica's copy),
    /// checked again first.
    public static let listExceptions = MethodDescriptor<Dunlin_V1_ListExceptionsRequest, Dunlin_V1_ListExceptionsResponse>(
        path: "/dunlin.v1.Records/ListExceptions", kind: .unary
    )
    /// The conflicts sync's merges recorded, open ones (and settled ones if asked).
    /// Every tenant setting, set or at its default (any tenant role).
    public static let listSettings = MethodDescriptor<Dunlin_V1_ListSettingsRequest, Dunlin_V1_ListSettingsResponse>(
        path: "/dunlin.v1.Records/ListSettings", kind: .unary
    )
    /// Sets tenant settings, all or none (managers and above); "" puts one back to its default.
    public static let updateSettings = MethodDescriptor<Dunlin_V1_UpdateTenantSettingsRequest, Dunlin_V1_UpdateTenantSettingsResponse>(
        path: "/dunlin.v1.Records/UpdateSettings", kind: .unary
    )

    // MARK: Approval requests

    public static let addApprovalRequest = MethodDescriptor<Dunlin_V1_AddApprovalRequestRequest, Dunlin_V1_ApprovalRequestRecord>(
        path: "/dunlin.v1.Records/AddApprovalRequest", kind: .unary
    )
    public static let getApprovalRequest = MethodDescriptor<Dunlin_V1_GetApprovalRequestRequest, Dunlin_V1_ApprovalRequestRecord>(
        path: "/dunlin.v1.Records/GetApprovalRequest", kind: .unary
    )
    public static let listApprovalRequests = MethodDescriptor<Dunlin_V1_ListApprovalRequestsRequest, Dunlin_V1_ListApprovalRequestsResponse>(
        path: "/dunlin.v1.Records/ListApprovalRequests", kind: .unary
    )
    public static let decideApprovalRequest = MethodDescriptor<Dunlin_V1_DecideApprovalRequestRequest, Dunlin_V1_ApprovalRequestRecord>(
        path: "/dunlin.v1.Records/DecideApprovalRequest", kind: .unary
    )
    public static let listConflicts = MethodDescriptor<Dunlin_V1_ListConflictsRequest, Dunlin_V1_ListConflictsResponse>(
        path: "/dunlin.v1.Records/ListConflicts", kind: .unary
    )
}

/// The wire shape the four mutable record kinds (contacts, disputes, promises to pay, tasks) share,
/// declared on each kind's record message: upsert a batch, get one by id, list a page, delete by
/// ids. The services register and the CLI calls every kind through this one shape; what differs
/// per kind (list filters, decoding defaults, owner rules) stays with the kind.
public protocol MutableRecordMessage: SwiftProtobuf.Message {
    /// The domain record (Contact, Dispute, PromiseToPay, CollectionTask).
    associatedtype Record
    associatedtype UpsertRequest: SwiftProtobuf.Message
    associatedtype UpsertResponse: SwiftProtobuf.Message
    associatedtype GetRequest: RecordIDRequest
    associatedtype ListRequest: PagedRequest
    associatedtype ListResponse: PagedResponse
    associatedtype DeleteRequest: RecordIDsRequest

    /// The kind in the rights table, and the prefix of generated ids.
    static var kind: RecordKind { get }
    /// The record's id; empty in an upsert asks for a generated one.
    var id: String { get set }

    init(_ record: Record)
    /// The domain record, with the defaults records.proto documents filled in: `today` is the
    /// tenant's, `caller` the id of who writes it (RecordConversions.swift).
    func record(today: CivilDate, caller: String) throws(DomainError) -> Record

    static var upsert: MethodDescriptor<UpsertRequest, UpsertResponse> { get }
    static var get: MethodDescriptor<GetRequest, Self> { get }
    static var list: MethodDescriptor<ListRequest, ListResponse> { get }
    static var delete: MethodDescriptor<DeleteRequest, Dunlin_V1_DeleteResponse> { get }

    /// The records an upsert request carries.
    static var batch: WritableKeyPath<UpsertRequest, [Self]> { get }
    /// The records an upsert response returns, as stored.
    static var saved: WritableKeyPath<UpsertResponse, [Self]> { get }
    /// The records of a list page.
    static var listed: WritableKeyPath<ListResponse, [Self]> { get }
}

/// A request naming one record (Get*Request).
public protocol RecordIDRequest: SwiftProtobuf.Message {
    var id: String { get set }
}

/// A request naming records to delete (Delete*Request).
public protocol RecordIDsRequest: SwiftProtobuf.Message {
    var ids: [String] { get set }
}

/// A list request: a page of at most `pageSize` rows after `cursor`.
public protocol PagedRequest: SwiftProtobuf.Message {
    var pageSize: UInt32 { get set }
    var cursor: String { get set }
}

/// A list response: the cursor of the next page, empty after the last.
public protocol PagedResponse: SwiftProtobuf.Message {
    var nextCursor: String { get set }
}

extension Dunlin_V1_GetContactRequest: RecordIDRequest {}
extension Dunlin_V1_GetDisputeRequest: RecordIDRequest {}
extension Dunlin_V1_GetPromiseRequest: RecordIDRequest {}
extension Dunlin_V1_GetTaskRequest: RecordIDRequest {}
extension Dunlin_V1_DeleteContactsRequest: RecordIDsRequest {}
extension Dunlin_V1_DeleteDisputesRequest: RecordIDsRequest {}
extension Dunlin_V1_DeletePromisesRequest: RecordIDsRequest {}
extension Dunlin_V1_DeleteTasksRequest: RecordIDsRequest {}
extension Dunlin_V1_ListContactsRequest: PagedRequest {}
extension Dunlin_V1_ListDisputesRequest: PagedRequest {}
extension Dunlin_V1_ListPromisesRequest: PagedRequest {}
extension Dunlin_V1_ListTasksRequest: PagedRequest {}
extension Dunlin_V1_ListContactsResponse: PagedResponse {}
extension Dunlin_V1_ListDisputesResponse: PagedResponse {}
extension Dunlin_V1_ListPromisesResponse: PagedResponse {}
extension Dunlin_V1_ListTasksResponse: PagedResponse {}

extension Dunlin_V1_ContactRecord: MutableRecordMessage {
    public static var kind: RecordKind { .contact }
    public static var upsert: MethodDescriptor<Dunlin_V1_UpsertContactsRequest, Dunlin_V1_UpsertContactsResponse> { Records.upsertContacts }
    public static var get: MethodDescriptor<Dunlin_V1_GetContactRequest, Self> { Records.getContact }
    public static var list: MethodDescriptor<Dunlin_V1_ListContactsRequest, Dunlin_V1_ListContactsResponse> { Records.listContacts }
    public static var delete: MethodDescriptor<Dunlin_V1_DeleteContactsRequest, Dunlin_V1_DeleteResponse> { Records.deleteContacts }
    public static var batch: WritableKeyPath<Dunlin_V1_UpsertContactsRequest, [Self]> { \.contacts }
    public static var saved: WritableKeyPath<Dunlin_V1_UpsertContactsResponse, [Self]> { \.contacts }
    public static var listed: WritableKeyPath<Dunlin_V1_ListContactsResponse, [Self]> { \.contacts }
}

extension Dunlin_V1_DisputeRecord: MutableRecordMessage {
    public static var kind: RecordKind { .dispute }
    public static var upsert: MethodDescriptor<Dunlin_V1_UpsertDisputesRequest, Dunlin_V1_UpsertDisputesResponse> { Records.upsertDisputes }
    public static var get: MethodDescriptor<Dunlin_V1_GetDisputeRequest, Self> { Records.getDispute }
    public static var list: MethodDescriptor<Dunlin_V1_ListDisputesRequest, Dunlin_V1_ListDisputesResponse> { Records.listDisputes }
    public static var delete: MethodDescriptor<Dunlin_V1_DeleteDisputesRequest, Dunlin_V1_DeleteResponse> { Records.deleteDisputes }
    public static var batch: WritableKeyPath<Dunlin_V1_UpsertDisputesRequest, [Self]> { \.disputes }
    public static var saved: WritableKeyPath<Dunlin_V1_UpsertDisputesResponse, [Self]> { \.disputes }
    public static var listed: WritableKeyPath<Dunlin_V1_ListDisputesResponse, [Self]> { \.disputes }
}

extension Dunlin_V1_PromiseRecord: MutableRecordMessage {
    public static var kind: RecordKind { .promiseToPay }
    public static var upsert: MethodDescriptor<Dunlin_V1_UpsertPromisesRequest, Dunlin_V1_UpsertPromisesResponse> { Records.upsertPromises }
    public static var get: MethodDescriptor<Dunlin_V1_GetPromiseRequest, Self> { Records.getPromise }
    public static var list: MethodDescriptor<Dunlin_V1_ListPromisesRequest, Dunlin_V1_ListPromisesResponse> { Records.listPromises }
    public static var delete: MethodDescriptor<Dunlin_V1_DeletePromisesRequest, Dunlin_V1_DeleteResponse> { Records.deletePromises }
    public static var batch: WritableKeyPath<Dunlin_V1_UpsertPromisesRequest, [Self]> { \.promises }
    public static var saved: WritableKeyPath<Dunlin_V1_UpsertPromisesResponse, [Self]> { \.promises }
    public static var listed: WritableKeyPath<Dunlin_V1_ListPromisesResponse, [Self]> { \.promises }
}

extension Dunlin_V1_TaskRecord: MutableRecordMessage {
    public static var kind: RecordKind { .collectionTask }
    public static var upsert: MethodDescriptor<Dunlin_V1_UpsertTasksRequest, Dunlin_V1_UpsertTasksResponse> { Records.upsertTasks }
    public static var get: MethodDescriptor<Dunlin_V1_GetTaskRequest, Self> { Records.getTask }
    public static var list: MethodDescriptor<Dunlin_V1_ListTasksRequest, Dunlin_V1_ListTasksResponse> { Records.listTasks }
    public static var delete: MethodDescriptor<Dunlin_V1_DeleteTasksRequest, Dunlin_V1_DeleteResponse> { Records.deleteTasks }
    public static var batch: WritableKeyPath<Dunlin_V1_UpsertTasksRequest, [Self]> { \.tasks }
    public static var saved: WritableKeyPath<Dunlin_V1_UpsertTasksResponse, [Self]> { \.tasks }
    public static var listed: WritableKeyPath<Dunlin_V1_ListTasksResponse, [Self]> { \.tasks }
}
