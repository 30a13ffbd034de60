import Foundation

/// What an import's matching made of a receipt.
public enum ReceiptOutcome: String, Sendable, Hashable, Codable, CaseIterable {
    /// Applied in full to the customer's invoices.
    case matched
    /// The customer is known and part of the receipt is applied to invoices; the rest is unapplied
    /// cash on the customer.
    case partlyMatched = "partly_matched"
    /// The customer is known, no invoice is: the whole receipt is unapplied cash on the customer.
    case customerOnly = "customer_only"
    /// More than one customer or set of invoices fits equally: nothing is applied, the queue asks.
    case ambiguous
    /// Nothing identifies the payer: nothing is applied, the queue asks.
    case unidentified
    /// A debit, a returned or reversed item, or a line that is neither: listed, never posted.
    case notCredit = "not_credit"
}

/// One invoice a receipt pays, and the rule that found it.
public struct ReceiptApplication: Sendable, Hashable, Codable {
    public var invoiceID: String
    public var amount: Money
    /// The matching rule that found it (the matcher's rule names, e.g. `structured_reference`).
    public var rule: String
    /// 0-100.
    public var confidence: Int

    public init(invoiceID: String, amount: Money, rule: String, confidence: Int) {
        self.invoiceID = invoiceID
        self.amount = amount
        self.rule = rule
        self.confidence = confidence
    }
}

/// A ranked suggestion the queue shows for a receipt the import did not settle.
public struct ReceiptSuggestion: Sendable, Hashable, Codable {
    public var customerID: String
    public var invoiceIDs: [String]
    public var rule: String
    /// 0-100.
    public var confidence: Int

    public init(customerID: String, invoiceIDs: [String], rule: String, confidence: Int) {
        self.customerID = customerID
        self.invoiceIDs = invoiceIDs
        self.rule = rule
        self.confidence = confidence
    }
}

/// A bank receipt as a tenant keeps it (kind `bank_receipt`): what the bank file said and what
/// the import's matching made of it, written once by the server's import and never changed. What
/// an analyst does with it afterwards is in the ledger (the payment ``paymentID`` and its
/// applications) and in the payer aliases a manual match teaches, so the queue is always the
/// ledger's answer, offline too.
///
/// Its id comes from the receipt's bank identity ("rcpt_" and a digest of it, made by the store):
/// the same credit imported twice, from a re-sent file or an overlapping notification and
/// statement, is one record.
public struct CashReceipt: Sendable, Hashable, Codable, Identifiable {
    public var id: String
    /// The ``BankFile`` that first brought it.
    public var fileID: String
    public var receipt: BankReceipt
    public var outcome: ReceiptOutcome
    /// The customer the matching found; empty when none.
    public var customerID: String
    /// The payment entry a credit with a customer is posted as (``CashReceipt/paymentID(forReceipt:)``),
    /// by the import or later by hand; always this id, so a receipt is never posted twice.
    public var paymentID: String
    public var applications: [ReceiptApplication]
    public var suggestions: [ReceiptSuggestion]
    /// In words a person reads: why the matching decided as it did.
    public var explanation: String
    public var importedAt: Date

    public init(
        id: String, fileID: String, receipt: BankReceipt, outcome: ReceiptOutcome, customerID: String = "", paymentID: String = "",
        applications: [ReceiptApplication] = [], suggestions: [ReceiptSuggestion] = [], explanation: String = "", importedAt: Date
    ) {
        self.id = id
        self.fileID = fileID
        self.receipt = receipt
        self.outcome = outcome
        self.customerID = customerID
        self.paymentID = paymentID
        self.applications = applications
        self.suggestions = suggestions
        self.explanation = explanation
        self.importedAt = importedAt
    }

    /// The payment entry of receipt `id` ("rcpt_<digest>" -> "pay_<digest>"): the same wherever
    /// and whenever the receipt is posted, so posting it twice is refused as the same entry.
    public static func paymentID(forReceipt id: String) -> String {
        "pay_" + (id.hasPrefix("rcpt_") ? String(id.dropFirst(5)) : id)
    }
}

/// A bank file as imported (kind `bank_file`): its name, format, what it held and the import's
/// hit rates. Its id is the SHA-256 of its bytes, so a re-sent file is known as such.
public struct BankFile: Sendable, Hashable, Codable, Identifiable {
    public var id: String
    public var name: String
    public var format: String
    public var bytes: Int64
    public var importedAt: Date
    public var importedBy: String
    /// Receipts the file held; of those, new (not imported before from any file).
    public var receipts: Int
    public var newReceipts: Int
    /// Debits, returns and other lines: listed, not posted.
    public var notCredits: Int
    /// Of the new credits: how many the matching tied to a customer (header level), and how many
    /// it applied in full to invoices (invoice level).
    public var credits: Int
    public var customerMatches: Int
    public var invoiceMatches: Int

    public init(
        id: String, name: String, format: String, bytes: Int64, importedAt: Date, importedBy: String, receipts: Int, newReceipts: Int,
        notCredits: Int, credits: Int, customerMatches: Int, invoiceMatches: Int
    ) {
        self.id = id
        self.name = name
        self.format = format
        self.bytes = bytes
        self.importedAt = importedAt
        self.importedBy = importedBy
        self.receipts = receipts
        self.newReceipts = newReceipts
        self.notCredits = notCredits
        self.credits = credits
        self.customerMatches = customerMatches
        self.invoiceMatches = invoiceMatches
    }
}
