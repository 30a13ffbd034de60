import Foundation

/// The checks the mutable records and the activity log share, so each rule is written once and
/// every refusal names its field the same way (snake_case, as on the wire and in CSV headers).
enum Require {
    /// A field that must hold something other than spaces.
    static func present(_ value: String, _ field: String) throws(DomainError) {
        guard !value.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw .invalid(field: field, "must not be empty")
        }
    }

    /// An email address, when one is given: something, "@", a domain; no spaces.
    static func emailAddress(_ value: String, _ field: String) throws(DomainError) {
        guard !value.isEmpty else { return }
        let parts = value.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
            throw .invalid(field: field, "\"\(value)\" is not an email address (name@domain)")
        }
        guard !value.contains(where: \.isWhitespace) else {
            throw .invalid(field: field, "\"\(value)\" contains spaces")
        }
    }

    /// A telephone number, when one is given: digits with the usual punctuation ("+63 2 8888 1234",
    /// "(312) 555-0100 ext 12"), at least five digits.
    static func phoneNumber(_ value: String, _ field: String) throws(DomainError) {
        guard !value.isEmpty else { return }
        let number = value.lowercased().replacingOccurrences(of: "ext", with: " ").replacingOccurrences(of: "x", with: " ")
        guard number.allSatisfy({ $0.isASCIIDigit || " +-().".contains($0) }) else {
            throw .invalid(field: field, "\"\(value)\" is not a telephone number (digits, spaces, + - ( ) . and an optional ext)")
        }
        guard number.filter(\.isASCIIDigit).count >= 5 else {
            throw .invalid(field: field, "\"\(value)\" has too few digits for a telephone number")
        }
    }

    /// A code such as a dispute reason: letters, digits, "_", "-" or ".", no spaces.
    static func code(_ value: String, _ field: String) throws(DomainError) {
        try present(value, field)
        guard value.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "_-.".contains($0)) }) else {
            throw .invalid(field: field, "\"\(value)\" is not a code (letters, digits, _ - .)")
        }
    }

    /// The invoices a dispute or promise is about: at least one, none empty, none twice.
    static func invoiceIDs(_ ids: [String]) throws(DomainError) {
        guard !ids.isEmpty else { throw .invalid(field: "invoice_ids", "must name at least one invoice") }
        var seen = Set<String>()
        for (index, id) in ids.enumerated() {
            try present(id, "invoice_ids[\(index)]")
            guard seen.insert(id).inserted else { throw .invalid(field: "invoice_ids[\(index)]", "invoice \(id) is listed twice") }
        }
    }

    /// A positive amount: disputes and promises are about money owed, never nothing or a credit.
    static func positive(_ amount: Money, _ field: String) throws(DomainError) {
        guard amount.isPositive else { throw .invalid(field: field, "must be greater than zero, not \(amount)") }
        try withinMaximum(amount, field)
    }

    /// At most ``Money/maximumMinorUnits`` either way: OUT_OF_RANGE above it.
    static func withinMaximum(_ amount: Money, _ field: String) throws(DomainError) {
        guard amount.isWithinMaximum else {
            throw .outOfRange(
                field: field,
                "\(amount) is above the maximum amount, \(Money(minorUnits: Money.maximumMinorUnits, currency: amount.currency)) (\(Money.maximumMinorUnits) minor units)"
            )
        }
    }

    /// Every text field of a record: no control characters but tab and newline (``StoredText``).
    static func text(_ fields: KeyValuePairs<String, String>) throws(DomainError) {
        for (field, value) in fields { try StoredText.check(value, field: field) }
    }

    /// Each id names an invoice of `customerID` in the record's currency.
    static func invoices(_ ids: [String], of customerID: String, in currency: Currency, ledger: some LedgerState) throws(DomainError) {
        for (index, id) in ids.enumerated() {
            let field = "invoice_ids[\(index)]"
            guard let invoice = ledger.entry(id), invoice.kind == .invoice else { throw .notFound(field: field, id: id) }
            guard invoice.customerID == customerID else {
                throw .invalid(field: field, "invoice \(id) belongs to customer \(invoice.customerID), not \(customerID)")
            }
            guard invoice.amount.currency == currency else {
                throw .invalid(field: field, "invoice \(id) is in \(invoice.amount.currency.code), the amount in \(currency.code)")
            }
        }
    }
}
