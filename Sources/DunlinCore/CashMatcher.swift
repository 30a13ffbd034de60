import Foundation
import Synchronization

/// Matches bank receipts to customers and open invoices by rules it can explain (issue 12). Pure:
/// the same receipt, index and settings always give the same match.
///
/// A receipt that is not a credit is listed (``CashMatchStatus/notACredit``) and nothing else. For a
/// credit, the payer is recognized first, then the rules run in order and the first that decides wins:
///
/// **Payer.** A learned account alias, else a learned name alias (``PayerAlias``; rule
/// `payer_alias`), else the customer whose normalized name (``PayerName``) is the payer's (rule
/// `payer_name`). A name the bank cut short ("GRAPHIC DESIGN INSTITU", "NORTHERN FURNITURE IN")
/// of at least 8 characters recognizes every customer whose name it starts, and the customer named
/// without the cut-off legal form, when they are at most 3, with 10 points less confidence. A name
/// that several customers share (or a shortened one that starts several) recognizes all of them,
/// and then only the amount or a citation can pick one; with neither, the receipt is ambiguous.
/// Otherwise a misspelled name, within one edit (two from 12 characters) of exactly one customer's
/// name (``MatchIndex/customers(similarTo:)``), recognizes that customer with 15 points less
/// confidence: enough with an amount or a citation that agrees, never alone for unapplied cash.
/// A receipt with no payer name (BAI2 and MT940 have no field for it) is read for one in its
/// remittance text: see ``recognizeInText(_:_:_:)``, 5 points less confidence. When no payer is
/// recognized, or the one read from the text has nothing of the amount, the customers with an open
/// invoice of exactly the amount whose name the payer's name (else the text) starts with, as a bank
/// field cuts and misspells it (``PayerName/startsWithName(_:_:)``), are the payer, 15 points less:
/// the amount found them and the name confirms them, neither alone.
///
/// 1. **Structured reference** (`structured_reference`): a valid ISO 11649 RF reference whose body
///    is an open invoice's number (by ``InvoiceNumberKey``), or a structured reference spelled
///    exactly as an invoice number (case, spaces and dashes aside). 99%; 90% when the payer is
///    recognized as another customer who has no invoice of the amount (someone paying another's
///    invoice). When that other customer *does* have an invoice of exactly the amount, the two
///    strong signs disagree: ambiguous, both suggested at 50%. An RF reference with wrong check
///    digits (in its field, or written as a word of the text), or a structured reference that is
///    no invoice number, is read as remittance text.
/// 2. **Invoice numbers in text** (`invoice_number_in_text`): the remittance text and the
///    end-to-end id, read by ``RemittanceCitations`` (missing prefixes, leading zeros, spaces and
///    dashes, O/0 and I/1 confusions, numbers split by a wrap). Only the recognized payer's
///    invoices count when the payer is recognized; a cited invoice of *another* customer never
///    beats a payer with an invoice (or a combination) of exactly the amount: rule 3 decides, and
///    the citation is only suggested. A payer read from the text that has nothing of the amount,
///    by a name that is a part of the cited customer's ("DELTA SOFTWARE" of "Ramos Delta Software
///    Ohio Co."), yields to the citation when the amount agrees with it. With no payer recognized, a customer's cited invoices are
///    taken when the amount agrees with them (exactly, or within tolerance), or, at 75%, when they
///    are one customer's and spelled exactly as issued ("INV-000123", a part payment plainly
///    named); otherwise they are only suggested: a normalized reading ("123", "INVO0123") with
///    nothing to confirm it is too easily someone else's invoice. 95% when every citation is
///    spelled as issued, 90% when normalized.
/// 3. **Amount and payer**: among the recognized payer's open invoices in the receipt's currency,
///    one of exactly the amount (`amount_and_payer`, 90%); else exactly one combination of its
///    oldest ``CombinationSearchBounds/invoices`` invoices, at most ``CombinationSearchBounds/parts``
///    of them, found within ``CombinationSearchBounds/steps`` (`amount_combination`, 85%); else one
///    invoice within tolerance (`amount_within_tolerance`, 75%, with a write-off or credit on
///    account proposed). Several invoices or combinations that fit equally (equal recurring
///    amounts) make the receipt ambiguous, each suggested, none applied: the analyst chooses.
/// 4. **Payer only**: a recognized payer and no invoices: unapplied cash on the customer
///    (``CashMatchStatus/customerOnly``, 70%).
///
/// A receipt whose payer is not recognized is never matched on amount alone: open invoices of
/// exactly the amount are only suggested, at 10%, when there are at most five.
///
/// Amounts are compared in minor units of one currency (an invoice in another currency never
/// matches) and added with ``Money``'s checked arithmetic; a combination that would overflow is
/// not a match.
public struct CashMatcher: Sendable {
    public var settings: CashMatchSettings

    public init(settings: CashMatchSettings = .defaults) {
        self.settings = settings
    }

    /// Matches each receipt in order, taking what each applies off the index's balances before
    /// the next (``MatchIndex/record(_:)``): one import's receipts never pay the same money twice.
    /// The answer is the one matching the receipts one by one gives; from ``parallelFrom``
    /// receipts the work is shared between the machine's cores (see ``match(_:in:workers:)``).
    public func match(_ receipts: [BankReceipt], in index: inout MatchIndex) -> [CashMatch] {
        match(receipts, in: &index, workers: receipts.count < Self.parallelFrom ? 1 : ProcessInfo.processInfo.activeProcessorCount)
    }

    /// ``match(_:in:)`` on `workers` threads, with the same answer as one by one in file order.
    ///
    /// A receipt's match depends on the ones before it only through the balances they took off
    /// the index. So every receipt is first matched, in parallel, against the index as the import
    /// found it, noting what of the changing state it read (``MatchReads``); then, in file order,
    /// each match is kept unless a receipt before it changed something it read
    /// (``MatchChanges``), in which case the receipt is matched again against the index as it
    /// then is, and what it applies is taken off before the next. A kept match read only state
    /// no earlier receipt changed, so matching it again would read the same and decide the same.
    public func match(_ receipts: [BankReceipt], in index: inout MatchIndex, workers: Int) -> [CashMatch] {
        var matches: [CashMatch] = []
        matches.reserveCapacity(receipts.count)
        guard workers > 1, receipts.count > 1 else {
            for receipt in receipts {
                let match = match(receipt, in: index)
                if !match.applications.isEmpty { index.record(match) }
                matches.append(match)
            }
            return matches
        }
        let found = index
        let chunks = min(receipts.count, workers * 16)
        let speculated = Mutex<[[(match: CashMatch, reads: MatchReads)]]>(Array(repeating: [], count: chunks))
        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
            let range = (receipts.count * chunk / chunks)..<(receipts.count * (chunk + 1) / chunks)
            var local: [(match: CashMatch, reads: MatchReads)] = []
            local.reserveCapacity(range.count)
            for position in range {
                let log = MatchReadLog()
                local.append((match(receipts[position], in: found, reads: log), log.reads))
            }
            speculated.withLock { $0[chunk] = local }
        }
        var changes = MatchChanges()
        var position = 0
        for chunk in speculated.withLock({ $0 }) {
            for (guess, reads) in chunk {
                let match = changes.touches(reads) ? match(receipts[position], in: index) : guess
                if !match.applications.isEmpty { index.record(match, changes: &changes) }
                matches.append(match)
                position += 1
            }
        }
        return matches
    }

    /// Fewer receipts than this are matched on one thread: the threads would cost more than they save.
    static let parallelFrom = 512

    /// What the rules make of one receipt.
    public func match(_ receipt: BankReceipt, in index: MatchIndex) -> CashMatch {
        match(receipt, in: index, reads: nil)
    }

    /// ``match(_:in:)``, noting in `reads` what the match read of the state an import changes.
    func match(_ receipt: BankReceipt, in index: MatchIndex, reads: MatchReadLog?) -> CashMatch {
        guard receipt.direction == .credit, receipt.amount.isPositive else {
            let what = receipt.direction == .credit ? "a credit of no amount" : "a \(receipt.direction.rawValue), not money in"
            return CashMatch(
                receiptIdentity: receipt.identity, status: .notACredit, customerID: nil, applications: [],
                unapplied: .zero(receipt.amount.currency), rules: [], confidence: 0, explanation: "\(what): listed, never posted"
            )
        }
        return ReceiptMatching(receipt: receipt, index: index, settings: settings, reads: reads).decide()
    }
}

/// Where one receipt's match notes what it read (``MatchReads``); used by one thread only.
final class MatchReadLog {
    var reads = MatchReads()
}

/// The index as one receipt's matching reads it, noting in `log`, when there is one, what it
/// read of the state an import changes: balances, a customer's open invoices, the invoices open
/// at an amount. The rest (names, numbers, due dates) it reads as it is.
private struct IndexView {
    let index: MatchIndex
    let log: MatchReadLog?

    var citationReader: RemittanceCitations { index.citationReader }
    func invoice(_ position: Int32) -> OpenInvoice {
        log?.reads.invoices.append(position)
        return index.invoice(position)
    }
    func customer(_ position: Int32) -> PayerCustomer { index.customer(position) }
    func customer(ofInvoice position: Int32) -> Int32 { index.customer(ofInvoice: position) }
    func normalizedName(_ customer: Int32) -> String { index.normalizedName(customer) }
    func dueOrder(_ a: Int32, _ b: Int32) -> Bool { index.dueOrder(a, b) }

    func invoices(key: String, prefix: String, currency: Currency) -> [Int32] {
        log?.reads.invoices += index.numbered(key: key)
        return index.invoices(key: key, prefix: prefix, currency: currency)
    }
    func invoices(of customer: Int32, amount: Money) -> [Int32] {
        if let log, let key = index.amountKey(amount, customer: customer) { log.reads.amounts.append(key) }
        return index.invoices(of: customer, amount: amount)
    }
    func invoices(amount: Money) -> [Int32] {
        if let log, let key = index.amountKey(amount, customer: -1) { log.reads.amounts.append(key) }
        return index.invoices(amount: amount)
    }
    func invoices(of customer: Int32, currency: Currency) -> [Int32] {
        log?.reads.customers.append(customer)
        return index.invoices(of: customer, currency: currency)
    }
}

/// The confidences the rules give, in integer percent (see ``CashMatcher``).
enum MatchConfidence {
    static let structuredReference = 99
    static let structuredReferenceThirdParty = 90
    static let citedAsIssued = 95
    static let citedNormalized = 90
    static let citedAsIssuedAlone = 75
    static let amountAndPayer = 90
    static let amountCombination = 85
    static let amountWithinTolerance = 75
    static let payerOnly = 70
    static let shortenedPayerName = 10
    static let similarPayerName = 15
    static let payerNamedInText = 5
    /// A payer's name is looked for in the remittance text starting at one of its first this many words…
    static let payerInTextStarts = 8
    /// …as a run of at most this many words…
    static let longestNameInText = 8
    /// …and a one-word name away from the text's start has at least this many characters.
    static let shortestLoneWordInText = 4
    /// A shortened payer name is read as the start of customers' names when it has this many characters…
    static let shortestShortenedName = 8
    /// …and is the start of at most this many customers' names (then the amount picks one).
    static let shortenedNameCandidates = 3
    static let ambiguous = 50
    static let otherCustomersCitation = 30
    static let amountOnly = 10
    /// At most this many invoices of exactly the amount are read for a payer whose name the text spells.
    static let spelledPayerCandidates = 20
    /// At most this many invoices of exactly the amount are suggested for an unrecognized payer.
    static let amountOnlySuggestions = 5
}

/// The recognized payer: one customer, or several sharing a name.
struct RecognizedPayer {
    var customers: [Int32]
    var rule: MatchRule
    /// "payer name 'ACME CORP.' is Acme Corp (1001)".
    var reason: String
    /// Confidence points taken off for how the name was recognized: 0 as written, more for a
    /// shortened or misspelled one.
    var doubt: Int = 0
    /// Recognized only by a similar spelling: enough with an amount or a citation that agrees, never
    /// enough alone to post unapplied cash on the customer.
    var similar = false
    /// Read from the remittance text, not given by the bank as the payer: enough with an amount or
    /// a citation that agrees; alone, only a suggestion (at 50,000 customers a run of words in the
    /// text is too often another customer's name to post cash on it).
    var fromText = false
    /// The run of the text's words read as the name (normalized), when read from the text.
    var nameInText: String?

    var only: Int32? { customers.count == 1 ? customers[0] : nil }
}

/// One receipt's evidence and the decision made from it.
private struct ReceiptMatching {
    let receipt: BankReceipt
    let index: IndexView
    let settings: CashMatchSettings
    let currency: Currency
    let payer: RecognizedPayer?

    init(receipt: BankReceipt, index: MatchIndex, settings: CashMatchSettings, reads: MatchReadLog?) {
        self.receipt = receipt
        self.index = IndexView(index: index, log: reads)
        self.settings = settings
        self.currency = receipt.amount.currency
        self.payer = Self.recognizePayer(receipt, index)
    }

    // MARK: The payer

    static func recognizePayer(_ receipt: BankReceipt, _ index: MatchIndex) -> RecognizedPayer? {
        func describe(_ customer: Int32) -> String {
            let known = index.customer(customer)
            return known.number.isEmpty ? known.name : "\(known.name) (\(known.number))"
        }
        let account = PayerName.normalizedAccount(receipt.payerAccount)
        if !account.isEmpty, let alias = index.alias(account: account) {
            return RecognizedPayer(
                customers: [alias.customer], rule: .payerAlias,
                reason: "payer account \(receipt.payerAccount) was matched to \(describe(alias.customer)) by hand \(times(alias.taught))"
            )
        }
        let name = PayerName.normalized(receipt.payerName)
        guard !name.isEmpty else { return recognizeInText(receipt, index, describe) }
        if let payer = named(
            name, index,
            alias: { "payer name '\(receipt.payerName)' was matched to \(describe($0)) by hand \(times($1))" },
            customers: { "payer name '\(receipt.payerName)' is \($0.map(describe).joined(separator: " or "))" }
        ) {
            return payer
        }
        // A name the bank cut short: every customer it can be the start of, and the customer named
        // without a cut-off legal form ("NORTHERN FURNITURE IN" may be "… INTERNATIONAL" or "… INC").
        guard name.count >= MatchConfidence.shortestShortenedName else { return recognizeSimilar(name, receipt, index, describe) }
        var candidates = index.customers(namePrefix: name, limit: MatchConfidence.shortenedNameCandidates)
        if let shorter = PayerName.withoutTruncatedLegalForm(name) {
            for customer in index.customers(named: shorter) where !candidates.contains(customer) { candidates.append(customer) }
        }
        if candidates.isEmpty { return recognizeSimilar(name, receipt, index, describe) }
        guard candidates.count <= MatchConfidence.shortenedNameCandidates else { return nil }
        return RecognizedPayer(
            customers: candidates, rule: .payerName,
            reason: "payer name '\(receipt.payerName)' is the start of \(candidates.map(describe).joined(separator: " or "))'s name",
            doubt: MatchConfidence.shortenedPayerName
        )
    }

    /// A misspelled name ("EMERLD PHARMA"): the one customer whose name is within an edit or two
    /// of it (see ``MatchIndex/customers(similarTo:)``).
    static func recognizeSimilar(
        _ name: String, _ receipt: BankReceipt, _ index: MatchIndex, _ describe: (Int32) -> String
    ) -> RecognizedPayer? {
        let similar = index.customers(similarTo: name)
        guard similar.count == 1 else { return nil }
        return RecognizedPayer(
            customers: similar, rule: .payerName, reason: "payer name '\(receipt.payerName)' is spelled like \(describe(similar[0]))",
            doubt: MatchConfidence.similarPayerName, similar: true
        )
    }

    /// A payer named only in the remittance text, as BAI2 and MT940 files name them, with no field
    /// of their own ("NORTHWIND TRADERS PMT INV 0010034", "ORIG CO NAME:ACME CORP ENTRY DESCR:PAYMENT"):
    /// the longest run of the text's words, starting at one of its first
    /// ``MatchConfidence/payerInTextStarts`` words, that is a learned alias's name or exactly the
    /// name of customers (both normalized, a legal form after the name left out). The earliest such
    /// run wins; a single word away from the start must have at least
    /// ``MatchConfidence/shortestLoneWordInText`` characters. Recognized this way, the payer
    /// counts ``MatchConfidence/payerNamedInText`` points less than a name the bank gave as a name.
    static func recognizeInText(_ receipt: BankReceipt, _ index: MatchIndex, _ describe: (Int32) -> String) -> RecognizedPayer? {
        let words = PayerName.words(receipt.remittance)
        for start in words.indices.prefix(MatchConfidence.payerInTextStarts) where index.startsName(words[start]) {
            var end = min(words.count, start + MatchConfidence.longestNameInText)
            while end > start {
                defer { end -= 1 }
                let last = words[end - 1]
                if end - start > 1, PayerName.legalForms.contains(last) || last == "AND" { continue }
                if end - start == 1, start > 0, last.count < MatchConfidence.shortestLoneWordInText { continue }
                let name = words[start..<end].joined(separator: " ")
                if var payer = named(
                    name, index,
                    alias: { "payer name '\(name)' in the remittance text was matched to \(describe($0)) by hand \(times($1))" },
                    customers: { "the remittance text names '\(name)', \($0.map(describe).joined(separator: " or "))" }
                ) {
                    payer.doubt = MatchConfidence.payerNamedInText
                    payer.fromText = true
                    payer.nameInText = name
                    return payer
                }
            }
        }
        return nil
    }

    /// The customer a learned alias of normalized `name` teaches, else the customers named
    /// exactly `name`; each reason says how, from the customer (and times taught) or customers.
    private static func named(
        _ name: String, _ index: MatchIndex, alias: (Int32, Int) -> String, customers: ([Int32]) -> String
    ) -> RecognizedPayer? {
        if let taught = index.alias(name: name) {
            return RecognizedPayer(customers: [taught.customer], rule: .payerAlias, reason: alias(taught.customer, taught.taught))
        }
        let named = index.customers(named: name)
        return named.isEmpty ? nil : RecognizedPayer(customers: named, rule: .payerName, reason: customers(named))
    }

    private static func times(_ count: Int) -> String { count == 1 ? "once" : "\(count) times" }

    // MARK: The decision

    func decide() -> CashMatch {
        var notes: [String] = []
        let structured = structuredCitations()
        if !structured.found.isEmpty { return decideStructured(structured.found) }
        var cited = textCitations(in: [receipt.remittance, receipt.endToEndID].filter { !$0.isEmpty }.joined(separator: " | "))
        // A structured reference that named nothing (an RF with wrong check digits) is read as text,
        // but never counts as spelled as issued: something in it is already known to be wrong.
        for citation in textCitations(in: structured.unresolved.joined(separator: " | ")) where !cited.contains(where: { $0.invoice == citation.invoice }) {
            cited.append(Citation(invoice: citation.invoice, written: citation.written, asIssued: false, prefixed: citation.prefixed))
        }
        if !cited.isEmpty {
            switch decideCited(cited) {
            case .decided(let match): return match
            case .passed(let note): notes.append(note)
            }
        }
        if let payer {
            if payer.fromText, exactFit(payer) == nil, let spelled = payerSpelledByAmount() {
                return decideByAmount(spelled, notes: notes + [payer.reason + ", who has nothing of the amount"], cited: cited)
            }
            return decideByAmount(payer, notes: notes, cited: cited)
        }
        if let spelled = payerSpelledByAmount() { return decideByAmount(spelled, notes: notes, cited: cited) }
        return unidentified()
    }

    /// The customers with an open invoice of exactly the amount (among the first
    /// ``MatchConfidence/spelledPayerCandidates`` such invoices) whose name the payer's name, else
    /// the remittance text, starts with, spelled as bank fields spell names (``PayerName/startsWithName(_:_:)``):
    /// the amount found them and the name confirms them, so neither decides alone. Only when no
    /// name was recognized otherwise, or the one read from the text has nothing of the amount.
    func payerSpelledByAmount() -> RecognizedPayer? {
        let words = PayerName.words(receipt.payerName.isEmpty ? receipt.remittance : receipt.payerName)
        guard words.count >= 2 else { return nil }
        var customers: [Int32] = []
        for invoice in index.invoices(amount: receipt.amount).prefix(MatchConfidence.spelledPayerCandidates) {
            let customer = index.customer(ofInvoice: invoice)
            if !customers.contains(customer), PayerName.spells(words, index.normalizedName(customer)) { customers.append(customer) }
        }
        guard !customers.isEmpty else { return nil }
        let names = customers.map { index.customer($0).number.isEmpty ? index.customer($0).name : "\(index.customer($0).name) (\(index.customer($0).number))" }
        let source = receipt.payerName.isEmpty ? "the remittance text starts" : "payer name '\(receipt.payerName)' is"
        return RecognizedPayer(
            customers: customers, rule: .payerName,
            reason: "\(source) as a bank would write \(names.joined(separator: " or ")), who has an open invoice of exactly \(receipt.amount)",
            doubt: MatchConfidence.similarPayerName, similar: true, fromText: receipt.payerName.isEmpty
        )
    }

    /// An invoice and how the receipt cited it.
    struct Citation {
        var invoice: Int32
        var written: String
        /// Spelled as issued (prefix and number), or a valid RF reference.
        var asIssued: Bool
        var prefixed: Bool
    }

    /// Structured references that name open invoices, and the rest as text to read.
    func structuredCitations() -> (found: [Citation], unresolved: [String]) {
        var found: [Citation] = []
        var unresolved: [String] = []
        let inText = CreditorReference.references(inText: receipt.remittance).filter { !receipt.creditorReferences.contains($0) }
        for reference in receipt.creditorReferences + inText where !reference.isEmpty {
            if let body = CreditorReference.body(of: reference), let (prefix, key) = InvoiceNumberKey.split(body) {
                let hits = index.invoices(key: key, prefix: prefix, currency: currency)
                if !hits.isEmpty {
                    found += hits.map { Citation(invoice: $0, written: reference, asIssued: true, prefixed: true) }
                    continue
                }
            } else if !CreditorReference.looksStructured(reference), let (prefix, key) = InvoiceNumberKey.split(reference) {
                let exact = InvoiceNumberKey.alphanumerics(reference)
                let hits = index.invoices(key: key, prefix: prefix, currency: currency).filter {
                    InvoiceNumberKey.alphanumerics(index.invoice($0).number) == exact
                }
                if !hits.isEmpty {
                    found += hits.map { Citation(invoice: $0, written: reference, asIssued: true, prefixed: true) }
                    continue
                }
            }
            unresolved.append(CreditorReference.looksStructured(reference) ? String(reference.uppercased().filter { $0 != " " }.dropFirst(4)) : reference)
        }
        // An RF reference written in the text with wrong check digits: its body, read as text.
        unresolved += CreditorReference.malformedBodies(inText: receipt.remittance)
        return (found, unresolved)
    }

    func textCitations(in text: String) -> [Citation] {
        var found: [Citation] = []
        for citation in index.citationReader.citations(in: text) {
            for invoice in index.invoices(key: citation.key, prefix: citation.prefix, currency: currency)
            where !found.contains(where: { $0.invoice == invoice }) {
                let number = InvoiceNumberKey.alphanumerics(index.invoice(invoice).number)
                let spelled = InvoiceNumberKey.alphanumerics(citation.written)
                found.append(Citation(invoice: invoice, written: citation.written, asIssued: spelled == number, prefixed: citation.prefixed))
            }
        }
        return found
    }

    /// The citations grouped by customer, in order of first citation.
    func byCustomer(_ citations: [Citation]) -> [(customer: Int32, citations: [Citation])] {
        var groups: [(customer: Int32, citations: [Citation])] = []
        for citation in citations {
            let customer = index.customer(ofInvoice: citation.invoice)
            if let at = groups.firstIndex(where: { $0.customer == customer }) {
                groups[at].citations.append(citation)
            } else {
                groups.append((customer, [citation]))
            }
        }
        return groups
    }

    /// Rule 1.
    func decideStructured(_ found: [Citation]) -> CashMatch {
        let groups = byCustomer(found)
        let chosen: (customer: Int32, citations: [Citation])
        if groups.count == 1 {
            chosen = groups[0]
        } else if let payer = payer?.only, let group = groups.first(where: { $0.customer == payer }) {
            chosen = group
        } else {
            return ambiguous(
                groups.map { suggestion($0.customer, $0.citations.map(\.invoice), .structuredReference, MatchConfidence.ambiguous) },
                "structured references cite invoices of \(groups.count) customers"
            )
        }
        let cites = chosen.citations.map { "invoice \(index.invoice($0.invoice).number) cited by structured reference \($0.written)" }
        if let payer, !payer.customers.contains(chosen.customer), let fit = exactFit(payer) {
            return ambiguous(
                [
                    suggestion(chosen.customer, chosen.citations.map(\.invoice), .structuredReference, MatchConfidence.ambiguous),
                    suggestion(fit.customer, fit.invoices, fit.rule, MatchConfidence.ambiguous),
                ],
                (cites + [payer.reason, fit.reason, "the reference and the payer disagree"]).joined(separator: "; ")
            )
        }
        var rules: [MatchRule] = [.structuredReference]
        var reasons = cites
        var confidence = MatchConfidence.structuredReference
        if let payer {
            reasons.append(payer.reason)
            if payer.customers.contains(chosen.customer) {
                rules.append(payer.rule)
            } else {
                confidence = MatchConfidence.structuredReferenceThirdParty
                reasons.append("paid by another customer")
            }
        }
        return applied(chosen.citations.map(\.invoice), rules: rules, confidence: confidence, reasons: reasons, cited: true)
    }

    enum CitedOutcome {
        case decided(CashMatch)
        /// Rule 2 did not decide; the note says what it saw.
        case passed(String)
    }

    /// Rule 2.
    func decideCited(_ cited: [Citation]) -> CitedOutcome {
        let groups = byCustomer(cited)
        func describe(_ citations: [Citation]) -> [String] {
            citations.map { "invoice \(index.invoice($0.invoice).number) cited in remittance text as '\($0.written)'" }
        }
        func confidence(_ citations: [Citation]) -> Int {
            citations.allSatisfy(\.asIssued) ? MatchConfidence.citedAsIssued : MatchConfidence.citedNormalized
        }
        if let payer {
            if let group = groups.first(where: { payer.customers.contains($0.customer) }) {
                let citations = preferredReadings(group.citations)
                let shortening = payer.doubt
                return .decided(applied(
                    citations.map(\.invoice), rules: [.invoiceNumberInText, payer.rule], confidence: confidence(citations) - shortening,
                    reasons: describe(citations) + [payer.reason], cited: true
                ))
            }
            let others = groups.flatMap { group in describe(group.citations).map { "\($0) is \(index.customer(group.customer).name)'s" } }
            if exactFit(payer) != nil {
                return .passed(others.joined(separator: "; ") + ", not the payer's")
            }
            // The payer has nothing of the amount: do the citations agree with the amount?
            let agreeing = groups.filter { groupAgrees($0.citations) }
            // A name read from the text that is a run of the cited customer's own name ("DELTA
            // SOFTWARE" in "RAMOS DELTA SOFTWARE OHIO CO. INV-372160") named that customer by the
            // part of its name another customer has whole: the citation and the amount decide.
            if agreeing.count == 1, let group = agreeing.first, let run = payer.nameInText,
                Self.isRun(run, of: index.normalizedName(group.customer))
            {
                let citations = preferredReadings(group.citations)
                return .decided(applied(
                    citations.map(\.invoice), rules: [.invoiceNumberInText], confidence: confidence(citations) - MatchConfidence.payerNamedInText,
                    reasons: describe(citations) + ["the amount agrees", "the remittance text names '\(run)', a part of \(index.customer(group.customer).name)'s name"],
                    cited: true
                ))
            }
            if agreeing.count == 1, let group = agreeing.first, let customer = payer.only {
                return .decided(ambiguous(
                    [
                        suggestion(group.customer, group.citations.map(\.invoice), .invoiceNumberInText, MatchConfidence.ambiguous),
                        suggestion(customer, [], payer.rule, MatchConfidence.ambiguous - 10),
                    ],
                    (describe(group.citations) + ["the amount agrees with them", payer.reason, "the citation and the payer disagree"])
                        .joined(separator: "; ")
                ))
            }
            return .passed(others.joined(separator: "; ") + ", not the payer's")
        }
        let agreeing = groups.filter { groupAgrees($0.citations) }
        if agreeing.count == 1, let group = agreeing.first {
            let citations = preferredReadings(group.citations)
            return .decided(applied(
                citations.map(\.invoice), rules: [.invoiceNumberInText], confidence: confidence(citations),
                reasons: describe(citations) + ["the amount agrees", unrecognizedPayer], cited: true
            ))
        }
        // One customer cited, spelled exactly as issued: a part payment the payer named plainly.
        if groups.count == 1 {
            let issued = groups[0].citations.filter(\.asIssued)
            if !issued.isEmpty {
                return .decided(applied(
                    issued.map(\.invoice), rules: [.invoiceNumberInText], confidence: MatchConfidence.citedAsIssuedAlone,
                    reasons: describe(issued) + [unrecognizedPayer, "the amount does not agree"], cited: true
                ))
            }
        }
        return .decided(ambiguous(
            groups.prefix(5).map {
                suggestion($0.customer, $0.citations.map(\.invoice), .invoiceNumberInText, $0.citations.contains(where: \.prefixed) ? 40 : 20)
            },
            (groups.flatMap { describe($0.citations) } + ["the payer is not recognized and the amount does not agree"]).joined(separator: "; ")
        ))
    }

    /// Whether the words of `run` appear together, in order, in `name` (both normalized).
    static func isRun(_ run: String, of name: String) -> Bool {
        !run.isEmpty && run != name && (" " + name + " ").contains(" " + run + " ")
    }

    /// Several readings of one customer's citations: all of them when they add up to the amount
    /// (within tolerance), else the one that does, else the citations spelled as issued when there
    /// are any, else all.
    func preferredReadings(_ citations: [Citation]) -> [Citation] {
        guard citations.count > 1, !agrees(citations) else { return citations }
        if let single = citations.first(where: { agrees([$0]) }) { return [single] }
        let asIssued = citations.filter(\.asIssued)
        return asIssued.isEmpty ? citations : asIssued
    }

    /// Whether the open balances of `citations`' invoices add up to the amount, within tolerance.
    func agrees(_ citations: [Citation]) -> Bool {
        guard let total = try? total(citations.map(\.invoice)) else { return false }
        return settings.tolerance.allows(difference: total - receipt.amount.minorUnits, of: total)
    }

    /// Whether the amount agrees with all of one customer's citations, or with one of them.
    func groupAgrees(_ citations: [Citation]) -> Bool { agrees(citations) || citations.contains { agrees([$0]) } }

    /// The sum of the invoices' open balances, checked.
    func total(_ invoices: [Int32]) throws(MoneyError) -> Int64 {
        var sum = Money.zero(currency)
        for invoice in invoices { sum = try sum.adding(index.invoice(invoice).openBalance) }
        return sum.minorUnits
    }

    // MARK: Rule 3

    struct Fit {
        var customer: Int32
        var invoices: [Int32]
        var rule: MatchRule
        var reason: String
    }

    /// What the payer's invoices say about the amount.
    enum AmountFit {
        case one(Fit)
        /// Several fit equally well.
        case several([Fit])
        case none
    }

    /// The one exact fit (an invoice of the amount, or the one combination), if there is one.
    func exactFit(_ payer: RecognizedPayer) -> Fit? {
        if case .one(let fit) = amountFit(payer, tolerance: false) { return fit }
        return nil
    }

    func amountFit(_ payer: RecognizedPayer, tolerance: Bool) -> AmountFit {
        let amount = receipt.amount
        let singles = payer.customers.flatMap { customer in index.invoices(of: customer, amount: amount).map { (customer, $0) } }
            .sorted { index.dueOrder($0.1, $1.1) }
        let exactly = singles.map { customer, invoice in
            Fit(customer: customer, invoices: [invoice], rule: .amountAndPayer,
                reason: "amount \(amount) is exactly the open balance of \(index.invoice(invoice).number)")
        }
        if exactly.count == 1 { return .one(exactly[0]) }
        if exactly.count > 1 { return .several(exactly) }
        var combined: [Fit] = []
        var complete = true
        for customer in payer.customers {
            let open = index.invoices(of: customer, currency: currency)
            let search = combinations(of: Array(open.prefix(settings.combinations.invoices)))
            complete = complete && search.complete
            combined += search.found.map { invoices in
                Fit(customer: customer, invoices: invoices, rule: .amountCombination,
                    reason: "amount \(amount) is exactly \(invoices.map { index.invoice($0).number }.joined(separator: " + "))"
                        + (search.complete ? ", the only combination of the payer's oldest \(min(open.count, settings.combinations.invoices)) open invoices" : ""))
            }
        }
        if combined.count == 1, complete { return .one(combined[0]) }
        if !combined.isEmpty { return .several(combined) }
        // A search cut short may have missed an exact combination: no tolerance guess then.
        guard tolerance, complete else { return .none }
        let fits = payer.customers.flatMap { customer in
            index.invoices(of: customer, currency: currency).filter {
                let balance = index.invoice($0).openBalance.minorUnits
                return settings.tolerance.allows(difference: balance - amount.minorUnits, of: balance)
            }.map {
                Fit(customer: customer, invoices: [$0], rule: .amountWithinTolerance,
                    reason: "amount \(amount) is within tolerance of \(index.invoice($0).number)'s open balance \(index.invoice($0).openBalance)")
            }
        }
        if fits.count == 1 { return .one(fits[0]) }
        return fits.isEmpty ? .none : .several(fits)
    }

    /// Combinations of two or more of `invoices` adding up to the amount exactly: at most three
    /// (two already make it ambiguous), and whether the search ran to its end within its bounds.
    func combinations(of invoices: [Int32]) -> (found: [[Int32]], complete: Bool) {
        let bounds = settings.combinations
        let target = Int128(receipt.amount.minorUnits)
        let items = invoices.map { (invoice: $0, amount: Int128(index.invoice($0).openBalance.minorUnits)) }.sorted { $0.amount > $1.amount }
        guard items.count >= 2, bounds.parts >= 2 else { return ([], true) }
        var remaining = [Int128](repeating: 0, count: items.count + 1)
        for position in items.indices.reversed() { remaining[position] = remaining[position + 1] + items[position].amount }
        guard remaining[0] >= target else { return ([], true) }
        var found: [[Int32]] = []
        var chosen: [Int32] = []
        var steps = 0
        var complete = true
        func search(from start: Int, need: Int128) {
            for position in start..<items.count {
                guard found.count < 3 else { return }
                steps += 1
                guard steps <= bounds.steps else {
                    complete = false
                    return
                }
                guard remaining[position] >= need else { return }
                let amount = items[position].amount
                if amount > need { continue }
                chosen.append(items[position].invoice)
                if amount == need {
                    if chosen.count >= 2 { found.append(chosen) }
                } else if chosen.count < bounds.parts {
                    search(from: position + 1, need: need - amount)
                }
                chosen.removeLast()
                if !complete { return }
            }
        }
        search(from: 0, need: target)
        return (found, complete && found.count < 3)
    }

    func decideByAmount(_ payer: RecognizedPayer, notes: [String], cited: [Citation]) -> CashMatch {
        let shortening = payer.doubt
        let otherCitations = byCustomer(cited).filter { !payer.customers.contains($0.customer) }.map {
            suggestion($0.customer, $0.citations.map(\.invoice), .invoiceNumberInText, MatchConfidence.otherCustomersCitation)
        }
        switch amountFit(payer, tolerance: true) {
        case .one(let fit):
            let confidence =
                switch fit.rule {
                case .amountCombination: MatchConfidence.amountCombination
                case .amountWithinTolerance: MatchConfidence.amountWithinTolerance
                default: MatchConfidence.amountAndPayer
                }
            var match = applied(
                fit.invoices, rules: [fit.rule, payer.rule], confidence: confidence - shortening, reasons: [fit.reason, payer.reason] + notes,
                cited: false
            )
            match.suggestions += otherCitations
            return match
        case .several(let fits):
            let confidence = min(MatchConfidence.ambiguous, 100 / fits.count)
            return ambiguous(
                fits.map { suggestion($0.customer, $0.invoices, $0.rule, confidence) } + otherCitations,
                ([payer.reason] + notes + [
                    fits.count == 1
                        ? "\(fits[0].reason), but the search stopped at its bound before proving it the only one: confirm it"
                        : "\(fits.count) of the payer's open invoices or combinations fit \(receipt.amount) equally: choose one"
                ])
                    .joined(separator: "; ")
            )
        case .none:
            if payer.fromText {
                return CashMatch(
                    receiptIdentity: receipt.identity, status: .unidentified, customerID: nil, applications: [], unapplied: receipt.amount,
                    rules: [], confidence: 0,
                    explanation: ([payer.reason] + notes + [
                        "no invoice of theirs fits \(receipt.amount), and a name read from the text is not enough alone: suggested, not posted",
                    ]).joined(separator: "; "),
                    suggestions: payer.customers.map { suggestion($0, [], payer.rule, MatchConfidence.ambiguous - 20) } + otherCitations
                )
            }
            guard let customer = payer.only, !payer.similar else {
                return ambiguous(
                    payer.customers.map { suggestion($0, [], payer.rule, MatchConfidence.ambiguous) } + otherCitations,
                    ([payer.reason] + notes + ["no invoice of theirs fits \(receipt.amount)"]).joined(separator: "; ")
                )
            }
            let partial = index.invoices(of: customer, currency: currency).filter {
                index.invoice($0).openBalance.minorUnits > receipt.amount.minorUnits
            }
            return CashMatch(
                receiptIdentity: receipt.identity, status: .customerOnly, customerID: index.customer(customer).id, applications: [],
                unapplied: receipt.amount, rules: [payer.rule], confidence: MatchConfidence.payerOnly - shortening,
                explanation: ([payer.reason] + notes + ["no open invoice or combination fits \(receipt.amount): unapplied cash on the customer"])
                    .joined(separator: "; "),
                suggestions: otherCitations + partial.prefix(3).map { suggestion(customer, [$0], payer.rule, 20) }
            )
        }
    }

    /// "payer 'ACME' not recognized", or "no payer name" when the bank gave none.
    var unrecognizedPayer: String {
        receipt.payerName.isEmpty ? "no payer name" : "payer '\(receipt.payerName)' not recognized"
    }

    func unidentified() -> CashMatch {
        let sameAmount = index.invoices(amount: receipt.amount)
        let suggestions =
            sameAmount.count <= MatchConfidence.amountOnlySuggestions
            ? sameAmount.map { suggestion(index.customer(ofInvoice: $0), [$0], .amountOnly, MatchConfidence.amountOnly) } : []
        let payer = unrecognizedPayer
        return CashMatch(
            receiptIdentity: receipt.identity, status: .unidentified, customerID: nil, applications: [], unapplied: receipt.amount, rules: [],
            confidence: 0,
            explanation: "\(payer) and no invoice cited: never matched on amount alone"
                + (suggestions.isEmpty ? "" : "; \(suggestions.count) open invoice(s) of exactly \(receipt.amount) suggested"),
            suggestions: suggestions
        )
    }

    // MARK: Building the answer

    func suggestion(_ customer: Int32, _ invoices: [Int32], _ rule: MatchRule, _ confidence: Int) -> MatchSuggestion {
        let numbers = invoices.map { index.invoice($0).number }
        let known = index.customer(customer)
        return MatchSuggestion(
            customerID: known.id, invoiceIDs: invoices.map { index.invoice($0).id }, rule: rule, confidence: confidence,
            reason: numbers.isEmpty ? "customer \(known.name)" : "\(numbers.joined(separator: " + ")) of \(known.name)"
        )
    }

    func ambiguous(_ suggestions: [MatchSuggestion], _ explanation: String) -> CashMatch {
        let ranked = suggestions.enumerated().sorted { ($0.element.confidence, -$0.offset) > ($1.element.confidence, -$1.offset) }.map(\.element)
        let customers = Set(ranked.map(\.customerID))
        return CashMatch(
            receiptIdentity: receipt.identity, status: .ambiguous, customerID: customers.count == 1 ? customers.first : nil, applications: [],
            unapplied: receipt.amount, rules: [], confidence: 0, explanation: explanation + "; nothing applied", suggestions: ranked
        )
    }

    /// Applies the receipt to `invoices` (one customer's), oldest due first, and proposes how to
    /// settle a difference: within tolerance a write-off of the short amount or a credit on
    /// account of the excess; beyond it, for invoices the payer cited, a dispute of the short amount.
    func applied(_ invoices: [Int32], rules: [MatchRule], confidence: Int, reasons: [String], cited: Bool) -> CashMatch {
        var unique: [Int32] = []
        for invoice in invoices where !unique.contains(invoice) { unique.append(invoice) }
        let ordered = unique.sorted(by: index.dueOrder)
        let customer = index.customer(index.customer(ofInvoice: ordered[0]))
        var remaining = receipt.amount
        var applications: [CashMatchApplication] = []
        var shortInvoice: OpenInvoice?
        do {
            for position in ordered {
                let invoice = index.invoice(position)
                let pay = remaining.minorUnits < invoice.openBalance.minorUnits ? remaining : invoice.openBalance
                if pay.minorUnits < invoice.openBalance.minorUnits, shortInvoice == nil { shortInvoice = invoice }
                guard pay.isPositive else { continue }
                applications.append(CashMatchApplication(invoiceID: invoice.id, invoiceNumber: invoice.number, amount: pay))
                remaining = try remaining.subtracting(pay)
            }
            var reasons = reasons
            var settlement: SettlementProposal?
            let total = try self.total(ordered)
            let difference = receipt.amount.minorUnits - total
            let within = settings.tolerance.allows(difference: difference, of: total)
            if difference < 0, let shortInvoice {
                let short = Money(minorUnits: -difference, currency: currency)
                if within {
                    settlement = SettlementProposal(
                        kind: .writeOff, invoiceID: shortInvoice.id, amount: short,
                        reason: "short by \(short), within tolerance: write off on \(shortInvoice.number)"
                    )
                } else if cited {
                    settlement = SettlementProposal(
                        kind: .dispute, invoiceID: shortInvoice.id, amount: short,
                        reason: "short by \(short) on cited invoices, beyond tolerance: a deduction to dispute, or a part payment"
                    )
                }
                reasons.append("short by \(short)")
            } else if difference > 0 {
                let excess = Money(minorUnits: difference, currency: currency)
                if within {
                    settlement = SettlementProposal(
                        kind: .creditOnAccount, invoiceID: nil, amount: excess, reason: "over by \(excess), within tolerance: credit on account"
                    )
                }
                reasons.append("over by \(excess): unapplied cash on the customer")
            }
            return CashMatch(
                receiptIdentity: receipt.identity, status: .matched, customerID: customer.id, applications: applications, unapplied: remaining,
                rules: rules, confidence: confidence, explanation: reasons.joined(separator: "; "), settlement: settlement
            )
        } catch {
            return CashMatch(
                receiptIdentity: receipt.identity, status: .customerOnly, customerID: customer.id, applications: [], unapplied: receipt.amount,
                rules: Array(rules.suffix(1)), confidence: MatchConfidence.payerOnly,
                explanation: (reasons + ["the invoices' balances cannot be added (\(error)): unapplied cash on the customer"]).joined(separator: "; ")
            )
        }
    }
}
