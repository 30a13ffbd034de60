/// An invoice that can still take cash: what the matcher is given about it (issue 12). The store
/// fills these from the ledger's open balances.
public struct OpenInvoice: Sendable, Hashable, Codable, Identifiable {
    public var id: String
    public var customerID: String
    /// The invoice number as printed on the invoice ("INV-000123"), the one payers cite.
    public var number: String
    /// What is still owed; positive. Its currency is the invoice's.
    public var openBalance: Money
    public var dueDate: CivilDate?

    public init(id: String, customerID: String, number: String, openBalance: Money, dueDate: CivilDate? = nil) {
        self.id = id
        self.customerID = customerID
        self.number = number
        self.openBalance = openBalance
        self.dueDate = dueDate
    }
}

/// A customer as the matcher knows it: enough to recognize a payer and name it.
public struct PayerCustomer: Sendable, Hashable, Codable, Identifiable {
    public var id: String
    public var number: String
    public var name: String

    public init(id: String, number: String, name: String) {
        self.id = id
        self.number = number
        self.name = name
    }

    public init(_ customer: Customer) { self.init(id: customer.id, number: customer.number, name: customer.name) }
}

/// A payer name or account an analyst's manual match tied to a customer ("cash assign" teaches it):
/// the next receipt from that payer finds the customer by it.
public struct PayerAlias: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Hashable, Codable, CaseIterable {
        /// `key` is a payer name in ``PayerName/normalized(_:)`` form.
        case name
        /// `key` is a payer account in ``PayerName/normalizedAccount(_:)`` form.
        case account
    }

    public var kind: Kind
    public var key: String
    public var customerID: String
    /// How many manual matches taught it. When one key was taught for several customers, the one
    /// taught more often than all the others together wins; otherwise the alias identifies no one.
    public var manualMatches: Int

    public init(kind: Kind, key: String, customerID: String, manualMatches: Int = 1) {
        self.kind = kind
        self.key = key
        self.customerID = customerID
        self.manualMatches = manualMatches
    }

    /// The alias a manual match of a payer `name` teaches, in the form the matcher compares.
    public static func name(_ name: String, customerID: String, manualMatches: Int = 1) -> PayerAlias {
        PayerAlias(kind: .name, key: PayerName.normalized(name), customerID: customerID, manualMatches: manualMatches)
    }

    /// The alias a manual match of a payer `account` teaches, in the form the matcher compares.
    public static func account(_ account: String, customerID: String, manualMatches: Int = 1) -> PayerAlias {
        PayerAlias(kind: .account, key: PayerName.normalizedAccount(account), customerID: customerID, manualMatches: manualMatches)
    }
}

/// How far a payment may miss what it pays and still be taken as paying it, per tenant. A
/// difference is within tolerance when it is at most `absoluteMinorUnits` (in the receipt's
/// currency's minor units) and at most `basisPoints` of the invoices' open total: the smaller of the
/// two bounds. A nil bound does not limit; both nil means no tolerance (exact amounts only).
public struct MatchTolerance: Sendable, Hashable, Codable {
    public var absoluteMinorUnits: Int64?
    /// Hundredths of a percent of the invoices' open total: 100 is 1%.
    public var basisPoints: Int?

    public init(absoluteMinorUnits: Int64?, basisPoints: Int?) {
        self.absoluteMinorUnits = absoluteMinorUnits
        self.basisPoints = basisPoints
    }

    /// 25.00 in a two-digit currency (2,500 minor units) and 1% of the invoices, the smaller
    /// applying: a wire's bank fee on a large invoice, small change on a small one.
    public static let defaults = MatchTolerance(absoluteMinorUnits: 2_500, basisPoints: 100)

    /// Exact amounts only.
    public static let none = MatchTolerance(absoluteMinorUnits: nil, basisPoints: nil)

    /// Whether `difference` (either sign) on invoices totalling `total` is within tolerance.
    public func allows(difference: Int64, of total: Int64) -> Bool {
        guard absoluteMinorUnits != nil || basisPoints != nil else { return difference == 0 }
        let magnitude = Int128(difference.magnitude)
        if let absoluteMinorUnits, magnitude > Int128(absoluteMinorUnits) { return false }
        if let basisPoints, magnitude * 10_000 > Int128(total.magnitude) * Int128(basisPoints) { return false }
        return true
    }
}

/// The bound on the search for a combination of a payer's open invoices that adds up to a
/// receipt (a subset sum, which grows exponentially without one).
public struct CombinationSearchBounds: Sendable, Hashable, Codable {
    /// Only the payer's oldest open invoices in the receipt's currency, by due date, this many.
    public var invoices: Int
    /// At most this many invoices in one combination.
    public var parts: Int
    /// At most this many steps (invoices tried) per receipt; a search cut short proves nothing unique,
    /// so what it found is only suggested.
    public var steps: Int

    public init(invoices: Int, parts: Int, steps: Int) {
        self.invoices = invoices
        self.parts = parts
        self.steps = steps
    }

    /// The 24 oldest invoices, up to 6 in a combination, 20,000 steps: a few milliseconds at worst.
    public static let defaults = CombinationSearchBounds(invoices: 24, parts: 6, steps: 20_000)
}

/// A tenant's matching settings.
public struct CashMatchSettings: Sendable, Hashable, Codable {
    public var tolerance: MatchTolerance
    public var combinations: CombinationSearchBounds

    public init(tolerance: MatchTolerance = .defaults, combinations: CombinationSearchBounds = .defaults) {
        self.tolerance = tolerance
        self.combinations = combinations
    }

    public static let defaults = CashMatchSettings()
}

/// What became of a receipt.
public enum CashMatchStatus: String, Sendable, Hashable, Codable, CaseIterable {
    /// Applied to invoices (and any rest is unapplied cash on the customer).
    case matched
    /// The customer is known, the invoices are not: unapplied cash on the customer.
    case customerOnly = "customer_only"
    /// Several answers fit equally: ranked suggestions, nothing applied. `customerID` is set when
    /// every suggestion is the same customer's (equal recurring amounts).
    case ambiguous
    /// No payer found: suggestions at most, never applied.
    case unidentified
    /// A debit, a returned item or another line that is not money in: listed, never posted.
    case notACredit = "not_a_credit"
}

/// The rule that decided a match, kept on it so the analyst sees why. Confidence per rule is in
/// ``CashMatcher``'s documentation.
public enum MatchRule: String, Sendable, Hashable, Codable, CaseIterable {
    /// A valid ISO 11649 RF reference, or a structured reference equal to an invoice number.
    case structuredReference = "structured_reference"
    /// An invoice number found in the remittance text or end-to-end id (see ``RemittanceCitations``).
    case invoiceNumberInText = "invoice_number_in_text"
    /// One open invoice of the payer of exactly the amount.
    case amountAndPayer = "amount_and_payer"
    /// One open invoice of the payer within tolerance of the amount (a short or over payment).
    case amountWithinTolerance = "amount_within_tolerance"
    /// Exactly one combination of the payer's open invoices adding up to the amount.
    case amountCombination = "amount_combination"
    /// The payer recognized by name (``PayerName/normalized(_:)``).
    case payerName = "payer_name"
    /// The payer recognized by a learned alias: a name or account of an earlier manual match.
    case payerAlias = "payer_alias"
    /// Only the amount fits: a suggestion, never a match.
    case amountOnly = "amount_only"
}

/// Cash applied to one invoice.
public struct CashMatchApplication: Sendable, Hashable, Codable {
    public var invoiceID: String
    public var invoiceNumber: String
    public var amount: Money

    public init(invoiceID: String, invoiceNumber: String, amount: Money) {
        self.invoiceID = invoiceID
        self.invoiceNumber = invoiceNumber
        self.amount = amount
    }
}

/// A ranked answer for the analyst's queue: nothing is applied from it until someone chooses it.
public struct MatchSuggestion: Sendable, Hashable, Codable {
    public var customerID: String
    /// Empty when only the customer is suggested.
    public var invoiceIDs: [String]
    public var rule: MatchRule
    /// Integer percent.
    public var confidence: Int
    public var reason: String

    public init(customerID: String, invoiceIDs: [String], rule: MatchRule, confidence: Int, reason: String) {
        self.customerID = customerID
        self.invoiceIDs = invoiceIDs
        self.rule = rule
        self.confidence = confidence
        self.reason = reason
    }
}

/// What a short or over payment could be settled with. A proposal only: the approvals decide.
public struct SettlementProposal: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Hashable, Codable, CaseIterable {
        /// Write off the short amount on `invoiceID` (a short payment within tolerance).
        case writeOff = "write_off"
        /// Leave the excess on account as credit (an over payment within tolerance).
        case creditOnAccount = "credit_on_account"
        /// Open a dispute for the short amount on `invoiceID`: the payer cited the invoice and paid
        /// less than it, beyond tolerance, which is how a deduction looks.
        case dispute
    }

    public var kind: Kind
    /// The invoice left short; nil for a credit on account.
    public var invoiceID: String?
    /// Positive.
    public var amount: Money
    public var reason: String

    public init(kind: Kind, invoiceID: String?, amount: Money, reason: String) {
        self.kind = kind
        self.invoiceID = invoiceID
        self.amount = amount
        self.reason = reason
    }
}

/// What the matcher made of one receipt, with why.
public struct CashMatch: Sendable, Hashable, Codable {
    public var receiptIdentity: String
    public var status: CashMatchStatus
    /// The customer the cash belongs to: set for `matched` and `customerOnly`, and for `ambiguous`
    /// when every suggestion is that customer's.
    public var customerID: String?
    /// Never more in total than the receipt; empty unless `matched`.
    public var applications: [CashMatchApplication]
    /// The receipt less the applications: unapplied cash on the customer when there is one.
    public var unapplied: Money
    /// The rules that decided, the deciding one first (the one that chose the invoices), then the
    /// one that recognized the payer when that helped. Empty for unidentified and non-credits.
    public var rules: [MatchRule]
    /// Integer percent; 0 when nothing was matched.
    public var confidence: Int
    /// For people: "invoice INV-000123 cited in remittance text as 'inv 123'; payer name 'ACME CORP.' is Acme Corp (1001)".
    public var explanation: String
    /// Ranked, best first: for the queue when not `matched`, and alternatives otherwise.
    public var suggestions: [MatchSuggestion]
    public var settlement: SettlementProposal?

    public init(
        receiptIdentity: String, status: CashMatchStatus, customerID: String?, applications: [CashMatchApplication], unapplied: Money,
        rules: [MatchRule], confidence: Int, explanation: String, suggestions: [MatchSuggestion] = [], settlement: SettlementProposal? = nil
    ) {
        self.receiptIdentity = receiptIdentity
        self.status = status
        self.customerID = customerID
        self.applications = applications
        self.unapplied = unapplied
        self.rules = rules
        self.confidence = confidence
        self.explanation = explanation
        self.suggestions = suggestions
        self.settlement = settlement
    }

    /// The rule that decided, if any.
    public var rule: MatchRule? { rules.first }
}
