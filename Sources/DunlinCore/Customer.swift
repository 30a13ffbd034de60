/// A customer account: who owes, on what terms, and who chases them. Mutable (field by field in
/// sync); its balance is never stored here, only derived from the ledger.
public struct Customer: Sendable, Hashable, Codable, Identifiable {
    public var id: String
    /// The customer number from the ERP; unique within a tenant.
    public var number: String
    public var name: String
    public var billingAddress: String
    /// The accounts-payable phone number to call about this account; empty when unknown.
    public var phone: String
    /// Net days: an invoice's due date is its issue date plus these days, unless it says otherwise.
    public var paymentTermsDays: Int
    public var creditLimit: Money?
    /// 1 (lowest risk) to 5 (highest).
    public var riskRating: Int
    /// The user id of the analyst who works this account; empty when unassigned.
    public var analystID: String
    /// IANA time zone of the customer ("Asia/Manila", "America/Chicago"), for call windows.
    public var timeZone: String
    /// BCP 47 language tag for letters and emails ("en", "fil", "es-US").
    public var language: String
    /// Where the customer wants invoices: a portal name and account, or empty for email.
    public var portalBilling: String
    /// With portal billing: the days after an invoice's issue date by which it must be on the
    /// portal (the upload task's due date); nil: the tenant's setting `portal.upload_days`.
    public var portalUploadDays: Int?
    public var tags: [String]

    public init(
        id: String, number: String, name: String, billingAddress: String = "", phone: String = "", paymentTermsDays: Int = 30,
        creditLimit: Money? = nil, riskRating: Int = 3, analystID: String = "", timeZone: String = "UTC",
        language: String = "en", portalBilling: String = "", portalUploadDays: Int? = nil, tags: [String] = []
    ) {
        self.id = id
        self.number = number
        self.name = name
        self.billingAddress = billingAddress
        self.phone = phone
        self.paymentTermsDays = paymentTermsDays
        self.creditLimit = creditLimit
        self.riskRating = riskRating
        self.analystID = analystID
        self.timeZone = timeZone
        self.language = language
        self.portalBilling = portalBilling
        self.portalUploadDays = portalUploadDays
        self.tags = tags
    }

    /// Checks the fields every customer must have right.
    public func validate() throws(DomainError) {
        try Require.text([
            "id": id, "number": number, "name": name, "billing_address": billingAddress, "phone": phone, "analyst_id": analystID,
            "time_zone": timeZone, "language": language, "portal_billing": portalBilling,
        ])
        for (index, tag) in tags.enumerated() { try StoredText.check(tag, field: "tags[\(index)]") }
        guard !id.isEmpty else { throw .invalid(field: "id", "must not be empty") }
        guard !number.trimmingCharacters(in: .whitespaces).isEmpty else { throw .invalid(field: "number", "must not be empty") }
        guard !name.trimmingCharacters(in: .whitespaces).isEmpty else { throw .invalid(field: "name", "must not be empty") }
        guard (0...3650).contains(paymentTermsDays) else {
            throw .invalid(field: "payment_terms_days", "must be between 0 and 3650, not \(paymentTermsDays)")
        }
        try Require.phoneNumber(phone, "phone")
        guard (1...5).contains(riskRating) else { throw .invalid(field: "risk_rating", "must be 1 to 5, not \(riskRating)") }
        if let creditLimit, creditLimit.isNegative {
            throw .invalid(field: "credit_limit", "must not be negative")
        }
        if let creditLimit { try Require.withinMaximum(creditLimit, "credit_limit") }
        if let days = portalUploadDays, !(0...PortalBilling.maximumDays).contains(days) {
            throw .invalid(field: "portal_upload_days", "must be between 0 and \(PortalBilling.maximumDays), not \(days)")
        }
        guard TimeZone(identifier: timeZone) != nil else {
            throw .invalid(field: "time_zone", "\"\(timeZone)\" is not an IANA time zone")
        }
    }
}

import Foundation
