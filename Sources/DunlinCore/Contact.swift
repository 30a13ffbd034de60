/// How a contact wants to be reached.
public enum ContactChannel: String, Sendable, Hashable, Codable, CaseIterable {
    case email
    case phone
    case sms
    case letter
    /// The customer's AP portal (see ``Customer/portalBilling``).
    case portal
}

/// A person at a customer the analyst deals with: the AP clerk, the controller, the owner. Mutable
/// (field by field in sync); deleted only as a tombstone.
public struct Contact: Sendable, Hashable, Codable, Identifiable {
    public var id: String
    public var customerID: String
    public var name: String
    /// Their job at the customer ("AP clerk", "Controller"), free text.
    public var role: String
    /// Empty when unknown.
    public var email: String
    /// Empty when unknown.
    public var phone: String
    public var preferredChannel: ContactChannel

    public init(
        id: String, customerID: String, name: String, role: String = "", email: String = "", phone: String = "",
        preferredChannel: ContactChannel = .email
    ) {
        self.id = id
        self.customerID = customerID
        self.name = name
        self.role = role
        self.email = email
        self.phone = phone
        self.preferredChannel = preferredChannel
    }

    /// Checks the fields every contact must have right. The preferred channel must be one the
    /// contact can be reached on: email needs an address, phone and SMS a number.
    public func validate() throws(DomainError) {
        try Require.text(["id": id, "customer_id": customerID, "name": name, "role": role, "email": email, "phone": phone])
        try Require.present(id, "id")
        try Require.present(customerID, "customer_id")
        try Require.present(name, "name")
        try Require.emailAddress(email, "email")
        try Require.phoneNumber(phone, "phone")
        switch preferredChannel {
        case .email where email.isEmpty:
            throw .invalid(field: "email", "the preferred channel is email but there is no email address")
        case .phone where phone.isEmpty, .sms where phone.isEmpty:
            throw .invalid(field: "phone", "the preferred channel is \(preferredChannel.rawValue) but there is no phone number")
        default:
            break
        }
    }
}
