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
}
