/// Invoices a customer wants on its accounts-payable portal (``Customer/portalBilling`` names the
/// portal and account): each new invoice of such a customer gets a task for its analyst to upload
/// it, due `portalUploadDays` after the invoice's issue date (the customer's own rule, else the
/// tenant's setting `portal.upload_days`, 2 by default). Marking the task done records the upload;
/// until then the worklist names the invoice. The server makes the tasks (``taskID(invoice:)``
/// fixes each one's id, so an invoice gets one task however often they are made, and one an
/// analyst deleted stays deleted), for invoices issued in the last ``lookBackDays`` days.
public enum PortalBilling {
    /// The most days a customer's or the tenant's rule may give.
    public static let maximumDays = 90
    /// The tenant's rule when no setting is made.
    public static let standardDays = 2
    /// How far back an invoice still counts as new: an older one imported late gets no task.
    public static let lookBackDays = 30

    /// The upload task's id for `invoiceID`: "tsk_portal_INV-1042".
    public static func taskID(invoice invoiceID: String) -> String { "\(taskPrefix)\(invoiceID)" }

    /// What every upload task's id starts with.
    public static let taskPrefix = "tsk_portal_"

    /// The upload task for an invoice of `customer`, for `analystID`.
    public static func task(invoiceID: String, reference: String, issued: CivilDate, customer: Customer, analystID: String, tenantDays: Int) -> CollectionTask {
        let days = customer.portalUploadDays ?? tenantDays
        let due = issued.adding(days: days)
        return CollectionTask(
            id: taskID(invoice: invoiceID), assigneeID: analystID, customerID: customer.id,
            title: "Upload invoice \(reference.isEmpty ? invoiceID : reference) to \(customer.portalBilling)", dueDate: due,
            notes: "invoice \(invoiceID), issued \(issued); due on the portal within \(days) days"
        )
    }
}
