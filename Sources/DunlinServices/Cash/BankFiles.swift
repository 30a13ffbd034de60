import DunlinCore
import DunlinStore
import Foundation

extension BankFileReader {
    /// ``receipts(_:format:lockboxLayout:)`` with the format as a request names it: empty or
    /// `auto`, or one of the formats; anything else is refused naming `format`.
    static func receipts(
        _ data: Data, formatNamed name: String, lockboxLayout: LockboxLayout = .standard
    ) throws(DomainError) -> (format: BankFileFormat, receipts: [BankReceipt]) {
        guard let format = name.isEmpty ? .auto : BankFileFormat(rawValue: name) else {
            let known = BankFileFormat.allCases.map(\.rawValue).joined(separator: ", ")
            throw .invalid(field: "format", "\(String(reflecting: String(name.prefix(32)))) is not a format Dunlin reads: \(known)")
        }
        return try receipts(data, format: format, lockboxLayout: lockboxLayout)
    }
}

/// The matching step of an import: the tenant's open invoices, customers and learned aliases indexed once
/// (``MatchIndex``), then ``CashMatcher`` over the new receipts in file order, each taking what it
/// applies off the index before the next. An invoice's number is its reference (the ERP's number),
/// else its id (``TenantStore/matchableInvoices(_:)``). What the matcher decided becomes the receipt's outcome: applied in full
/// (`matched`), in part with the rest unapplied on the customer (`partly_matched`), the customer
/// only (`customer_only`), several answers (`ambiguous`: nothing applied, though the payment is
/// posted as unapplied cash when every answer is one customer's), nobody (`unidentified`), or not
/// money in (`not_credit`). A settlement proposal (write-off, credit on account, dispute) is kept in
/// the explanation for the analyst; nothing is posted from it.
enum CashMatchingStep {
    static func decide(_ receipts: [BankReceipt], _ ledger: CashLedger, settings: CashMatchSettings = .defaults) throws -> [CashDecision] {
        guard !receipts.isEmpty else { return [] }
        var index = MatchIndex(invoices: ledger.openInvoices, customers: ledger.customers.map(PayerCustomer.init), aliases: ledger.aliases)
        return CashMatcher(settings: settings).match(receipts, in: &index).map(decision)
    }

    static func decision(_ match: CashMatch) -> CashDecision {
        let outcome: ReceiptOutcome =
            switch match.status {
            case .matched: match.unapplied.isPositive ? .partlyMatched : .matched
            case .customerOnly: .customerOnly
            case .ambiguous: .ambiguous
            case .unidentified: .unidentified
            case .notACredit: .notCredit
            }
        let rule = match.rule?.rawValue ?? ""
        var explanation = match.explanation
        if let proposal = match.settlement {
            explanation += "; proposed: \(proposal.kind.rawValue.replacingOccurrences(of: "_", with: " ")) of \(proposal.amount)"
                + (proposal.invoiceID.map { " on \($0)" } ?? "") + " (\(proposal.reason))"
        }
        return CashDecision(
            outcome: outcome, customerID: match.customerID ?? "",
            applications: match.applications.map {
                ReceiptApplication(invoiceID: $0.invoiceID, amount: $0.amount, rule: rule, confidence: match.confidence)
            },
            suggestions: match.suggestions.map {
                ReceiptSuggestion(customerID: $0.customerID, invoiceIDs: $0.invoiceIDs, rule: $0.rule.rawValue, confidence: $0.confidence)
            },
            explanation: explanation, proposal: match.settlement
        )
    }
}
