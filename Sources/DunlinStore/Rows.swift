import DunlinCore
import DunlinSync
import Foundation
import GRDB

/// A ledger entry as a row: amounts in minor units with their currency code, dates as text.
struct LedgerEntryRow: Codable, FetchableRecord, PersistableRecord, RecordTable {
    static let recordKind = RecordKind.ledgerEntry

    var id: String
    var kind: String
    var customer_id: String
    var currency: String
    var amount: Int64
    var date: String
    var due_date: String?
    var reference: String
    var source_id: String?
    var target_id: String?
    var memo: String

    init(_ entry: LedgerEntry) {
        id = entry.id
        kind = entry.kind.rawValue
        customer_id = entry.customerID
        currency = entry.amount.currency.code
        amount = entry.amount.minorUnits
        date = entry.date.description
        due_date = entry.dueDate?.description
        reference = entry.reference
        source_id = entry.sourceID
        target_id = entry.targetID
        memo = entry.memo
    }

    /// Read by column, not through the Codable decoder: the ledger is the store's most read
    /// table, and the decoder was a fifth of a worklist's time.
    init(row: Row) throws {
        id = try row.decode(String.self, forColumn: "id")
        kind = try row.decode(String.self, forColumn: "kind")
        customer_id = try row.decode(String.self, forColumn: "customer_id")
        currency = try row.decode(String.self, forColumn: "currency")
        amount = try row.decode(Int64.self, forColumn: "amount")
        date = try row.decode(String.self, forColumn: "date")
        due_date = try row.decode(String?.self, forColumn: "due_date")
        reference = try row.decode(String.self, forColumn: "reference")
        source_id = try row.decode(String?.self, forColumn: "source_id")
        target_id = try row.decode(String?.self, forColumn: "target_id")
        memo = try row.decode(String.self, forColumn: "memo")
    }

    var entry: LedgerEntry? {
        // The row's columns are the packed form's: one reading of them serves both.
        PackedLedgerEntry(
            kind: kind, customerID: customer_id, currency: currency, amount: amount, date: date, dueDate: due_date,
            reference: reference, sourceID: source_id, targetID: target_id, memo: memo
        ).entry(id: id)
    }
}

extension LedgerEntryRow {
    /// The columns its lists and ledger reads filter and sort by.
    enum Columns {
        static let customerID = Column(CodingKeys.customer_id)
        static let kind = Column(CodingKeys.kind)
        static let date = Column(CodingKeys.date)
        static let targetID = Column(CodingKeys.target_id)
    }
}

struct CustomerRow: Codable, FetchableRecord, PersistableRecord, RecordTable {
    static let recordKind = RecordKind.customer

    var id: String
    var number: String
    var name: String
    var billing_address: String
    var phone: String
    var payment_terms_days: Int
    var credit_limit: Int64?
    var credit_currency: String?
    var risk_rating: Int
    var analyst_id: String
    var time_zone: String
    var language: String
    var portal_billing: String
    var tags: String
    var portal_upload_days: Int?

    init(_ customer: Customer) {
        id = customer.id
        number = customer.number
        name = customer.name
        billing_address = customer.billingAddress
        phone = customer.phone
        payment_terms_days = customer.paymentTermsDays
        credit_limit = customer.creditLimit?.minorUnits
        credit_currency = customer.creditLimit?.currency.code
        risk_rating = customer.riskRating
        analyst_id = customer.analystID
        time_zone = customer.timeZone
        language = customer.language
        portal_billing = customer.portalBilling
        portal_upload_days = customer.portalUploadDays
        tags = String(decoding: (try? JSONEncoder().encode(customer.tags)) ?? Data("[]".utf8), as: UTF8.self)
    }

    var customer: Customer {
        Customer(
            id: id, number: number, name: name, billingAddress: billing_address, phone: phone, paymentTermsDays: payment_terms_days,
            creditLimit: credit_limit.flatMap { minor in credit_currency.flatMap(Currency.init(code:)).map { Money(minorUnits: minor, currency: $0) } },
            riskRating: risk_rating, analystID: analyst_id, timeZone: time_zone, language: language, portalBilling: portal_billing,
            portalUploadDays: portal_upload_days, tags: (try? JSONDecoder().decode([String].self, from: Data(tags.utf8))) ?? []
        )
    }
}

extension CustomerRow {
    /// The columns its reads filter, sort and select by.
    enum Columns {
        static let id = Column(CodingKeys.id)
        static let analystID = Column(CodingKeys.analyst_id)
        static let name = Column(CodingKeys.name)
        static let number = Column(CodingKeys.number)
    }
}

