/// A to-do or reminder on an analyst's worklist: "call Acme's AP about INV-1042", "send the
/// 60-day letter". Mutable (field by field in sync); deleted only as a tombstone.
public struct CollectionTask: Sendable, Hashable, Codable, Identifiable {
    public var id: String
    /// The user id of who should do it.
    public var assigneeID: String
    /// The customer it is about; empty for a task about no one customer.
    public var customerID: String
    public var title: String
    /// In the tenant's calendar.
    public var dueDate: CivilDate
    public var done: Bool
    public var notes: String

    public init(
        id: String, assigneeID: String, customerID: String = "", title: String, dueDate: CivilDate, done: Bool = false,
        notes: String = ""
    ) {
        self.id = id
        self.assigneeID = assigneeID
        self.customerID = customerID
        self.title = title
        self.dueDate = dueDate
        self.done = done
        self.notes = notes
    }

    /// Checks the fields every task must have right.
    public func validate() throws(DomainError) {
        try Require.text(["id": id, "assignee_id": assigneeID, "customer_id": customerID, "title": title, "notes": notes])
        try Require.present(id, "id")
        try Require.present(assigneeID, "assignee_id")
        try Require.present(title, "title")
    }
}
