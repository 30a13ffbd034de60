/// What a receipt should have been matched to, for measuring the matcher: a generated month
/// knows it, and so does an analyst's later settling of the queue.
public struct ExpectedMatch: Sendable, Hashable, Codable {
    public var receiptIdentity: String
    /// Nil when nothing on the receipt identifies the payer: it must not be posted to anyone.
    public var customerID: String?
    /// The invoices it pays; empty when it pays none (cash on account).
    public var invoiceIDs: Set<String>

    public init(receiptIdentity: String, customerID: String?, invoiceIDs: Set<String>) {
        self.receiptIdentity = receiptIdentity
        self.customerID = customerID
        self.invoiceIDs = invoiceIDs
    }
}

/// How well one import was matched (issue 12, "hit rates"), as exact counts; the rates are the
/// counts' ratios in basis points (1/100 of a percent), rounded down.
///
/// - Header level: of the receipts whose payer can be identified, those given to the right customer
///   (matched, unapplied cash on it, or ambiguous among that customer's invoices only: the cash is
///   the customer's, only the invoices wait for the analyst).
/// - Invoice level: of the receipts that pay invoices, those matched to exactly those invoices.
/// - Wrong customer: of all credits measured, those *posted* (matched or unapplied cash) to a
///   customer other than the right one, or to anyone when no one can be identified. This is the
///   costly error: money on the wrong account sends dunning to a customer who paid.
/// - Ambiguous applied: ambiguous or unidentified matches that nonetheless apply cash; always 0
///   unless the matcher is broken.
///
/// Receipts with no ``ExpectedMatch`` (debits, other lines) are not counted.
public struct MatchHitRates: Sendable, Hashable, Codable {
    public var receipts = 0
    public var identifiable = 0
    public var rightCustomer = 0
    public var payingInvoices = 0
    public var rightInvoices = 0
    public var wrongCustomer = 0
    public var ambiguousApplied = 0

    public init() {}

    /// `rightCustomer` of `identifiable`, in basis points; 10,000 when there is none to get right.
    public var headerBasisPoints: Int { Self.basisPoints(rightCustomer, of: identifiable) }
    /// `rightInvoices` of `payingInvoices`, in basis points; 10,000 when there is none to get right.
    public var invoiceBasisPoints: Int { Self.basisPoints(rightInvoices, of: payingInvoices) }
    /// `wrongCustomer` of `receipts`, in basis points.
    public var wrongCustomerBasisPoints: Int { receipts == 0 ? 0 : Self.basisPoints(wrongCustomer, of: receipts) }

    private static func basisPoints(_ part: Int, of whole: Int) -> Int {
        guard whole > 0 else { return 10_000 }
        return Int(Int128(part) * 10_000 / Int128(whole))
    }

    /// Compares `matches` with what each receipt should have matched.
    public static func measure(_ matches: [CashMatch], expected: [ExpectedMatch]) -> MatchHitRates {
        var truth: [String: ExpectedMatch] = [:]
        for item in expected { truth[item.receiptIdentity] = item }
        var rates = MatchHitRates()
        for match in matches {
            guard let right = truth[match.receiptIdentity], match.status != .notACredit else { continue }
            rates.receipts += 1
            let posted = match.status == .matched || match.status == .customerOnly
            if !posted, !match.applications.isEmpty { rates.ambiguousApplied += 1 }
            if posted, match.customerID != right.customerID { rates.wrongCustomer += 1 }
            guard let customer = right.customerID else { continue }
            rates.identifiable += 1
            let ownsIt = posted || match.status == .ambiguous
            if ownsIt, match.customerID == customer { rates.rightCustomer += 1 }
            guard !right.invoiceIDs.isEmpty else { continue }
            rates.payingInvoices += 1
            if match.status == .matched, match.customerID == customer, Set(match.applications.map(\.invoiceID)) == right.invoiceIDs {
                rates.rightInvoices += 1
            }
        }
        return rates
    }
}
