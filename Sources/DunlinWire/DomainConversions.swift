import DunlinCore

// Domain values to and from their wire forms. Decoding validates what the wire cannot: a known
// currency, a real date; each refusal names the field.

extension Dunlin_V1_Amount {
    public init(_ money: Money) {
        self.init()
        currency = money.currency.code
        minor = money.minorUnits
    }

    public func money(field: String) throws(DomainError) -> Money {
        guard let currency = Currency(code: currency) else {
            throw .money(field: field + ".currency", .unknownCurrency(self.currency))
        }
        return Money(minorUnits: minor, currency: currency)
    }
}

func civilDate(_ text: String, field: String) throws(DomainError) -> CivilDate {
    guard let date = CivilDate(text) else { throw .invalid(field: field, "\"\(text)\" is not a date (YYYY-MM-DD)") }
    return date
}

extension Dunlin_V1_CustomerRecord {
    public init(_ customer: Customer) {
        self.init()
        id = customer.id
        number = customer.number
        name = customer.name
        billingAddress = customer.billingAddress
        phone = customer.phone
        paymentTermsDays = Int32(clamping: customer.paymentTermsDays)
        if let limit = customer.creditLimit { creditLimit = Dunlin_V1_Amount(limit) }
        riskRating = Int32(clamping: customer.riskRating)
        analystID = customer.analystID
        timeZone = customer.timeZone
        language = customer.language
        portalBilling = customer.portalBilling
        if let days = customer.portalUploadDays { portalUploadDays = Int32(clamping: days) }
        tags = customer.tags
    }

    public func customer() throws(DomainError) -> Customer {
        Customer(
            id: id, number: number, name: name, billingAddress: billingAddress, phone: phone, paymentTermsDays: Int(paymentTermsDays),
            creditLimit: hasCreditLimit ? try creditLimit.money(field: "credit_limit") : nil,
            riskRating: riskRating == 0 ? 3 : Int(riskRating), analystID: analystID,
            timeZone: timeZone.isEmpty ? "UTC" : timeZone, language: language.isEmpty ? "en" : language,
            portalBilling: portalBilling, portalUploadDays: hasPortalUploadDays ? Int(portalUploadDays) : nil, tags: tags
        )
    }
}

extension Dunlin_V1_LedgerEntryRecord {
    public init(_ entry: LedgerEntry, balance: Money? = nil, reversed: Bool = false) {
        self.init()
        id = entry.id
        kind = entry.kind.rawValue
        customerID = entry.customerID
        amount = Dunlin_V1_Amount(entry.amount)
        date = entry.date.description
        dueDate = entry.dueDate?.description ?? ""
        reference = entry.reference
        sourceID = entry.sourceID ?? ""
        targetID = entry.targetID ?? ""
        memo = entry.memo
        if let balance { self.balance = Dunlin_V1_Amount(balance) }
        self.reversed = reversed
    }

    /// The domain entry. An empty `date` is `today` when one is given (PostEntries: the tenant's
    /// today) and refused when not (an import line must say its date).
    public func entry(today: CivilDate? = nil) throws(DomainError) -> LedgerEntry {
        guard let kind = LedgerEntryKind(rawValue: kind) else {
            throw .invalid(field: "kind", "\"\(kind)\" is not one of \(LedgerEntryKind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard hasAmount else { throw .invalid(field: "amount", "is required") }
        let day: CivilDate
        if date.isEmpty, let today { day = today } else { day = try civilDate(date, field: "date") }
        return LedgerEntry(
            id: id, kind: kind, customerID: customerID, amount: try amount.money(field: "amount"),
            date: day,
            dueDate: dueDate.isEmpty ? nil : try civilDate(dueDate, field: "due_date"),
            reference: reference, sourceID: sourceID.isEmpty ? nil : sourceID, targetID: targetID.isEmpty ? nil : targetID, memo: memo
        )
    }
}
