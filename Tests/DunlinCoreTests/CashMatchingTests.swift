import DunlinCore
import Testing

/// The cash matcher's rules, each with a receipt only it matches; the traps real remittances set;
/// tolerance proposals; and a generated month with floors on its hit rates.
@Suite("Cash matching")
struct CashMatchingTests {
    static func usd(_ minor: Int64) -> Money { Money(minorUnits: minor, currency: .usd) }

    static let customers = [
        PayerCustomer(id: "cus_acme", number: "1001", name: "Acme Corp"),
        PayerCustomer(id: "cus_globex", number: "1002", name: "Globex Ltd."),
        PayerCustomer(id: "cus_initech", number: "1003", name: "Initech GmbH"),
        PayerCustomer(id: "cus_umbrella", number: "1004", name: "Umbrella Inc"),
        PayerCustomer(id: "cus_hooli", number: "1005", name: "Hooli"),
    ]

    static let invoices = [
        OpenInvoice(id: "inv_123", customerID: "cus_acme", number: "INV-000123", openBalance: usd(150_000), dueDate: CivilDate("2026-10-01")),
        OpenInvoice(id: "inv_124", customerID: "cus_acme", number: "INV-000124", openBalance: usd(250_000), dueDate: CivilDate("2026-10-15")),
        OpenInvoice(id: "inv_200", customerID: "cus_acme", number: "INV-000200", openBalance: usd(99_900), dueDate: CivilDate("2026-11-01")),
        OpenInvoice(id: "inv_555", customerID: "cus_globex", number: "INV-000555", openBalance: usd(150_000), dueDate: CivilDate("2026-10-20")),
        OpenInvoice(id: "inv_556", customerID: "cus_globex", number: "INV-000556", openBalance: usd(70_000), dueDate: CivilDate("2026-11-20")),
        OpenInvoice(id: "inv_700", customerID: "cus_initech", number: "INV-000700", openBalance: usd(49_900), dueDate: CivilDate("2026-09-01")),
        OpenInvoice(id: "inv_701", customerID: "cus_initech", number: "INV-000701", openBalance: usd(49_900), dueDate: CivilDate("2026-10-01")),
        OpenInvoice(id: "inv_702", customerID: "cus_initech", number: "INV-000702", openBalance: usd(49_900), dueDate: CivilDate("2026-11-01")),
        OpenInvoice(
            id: "inv_900", customerID: "cus_umbrella", number: "INV-000900", openBalance: Money(minorUnits: 100_000, currency: .eur),
            dueDate: CivilDate("2026-11-01")
        ),
        OpenInvoice(id: "inv_800", customerID: "cus_hooli", number: "INV-000800", openBalance: usd(33_300), dueDate: CivilDate("2026-11-01")),
    ]

    static let aliases = [
        PayerAlias.account("DE44 5001 0517 5407 3249 31", customerID: "cus_hooli", manualMatches: 2),
        PayerAlias.name("Hooli XYZ Payables", customerID: "cus_hooli"),
    ]

    static let index = MatchIndex(invoices: invoices, customers: customers, aliases: aliases)

    static func receipt(
        _ amount: Money, payer: String = "", account: String = "", text: String = "", references: [String] = [],
        direction: ReceiptDirection = .credit
    ) -> BankReceipt {
        BankReceipt(
            identity: "test:1", format: "bai2", account: "OPERATING", amount: amount, direction: direction,
            bookingDate: CivilDate("2026-11-30")!, payerName: payer, payerAccount: account, remittance: text, creditorReferences: references,
            line: 1
        )
    }

    static func match(_ receipt: BankReceipt, settings: CashMatchSettings = .defaults) -> CashMatch {
        CashMatcher(settings: settings).match(receipt, in: index)
    }

    static func applied(_ match: CashMatch) -> [String: Int64] {
        Dictionary(uniqueKeysWithValues: match.applications.map { ($0.invoiceID, $0.amount.minorUnits) })
    }

    // MARK: Normalization

    @Test("ISO 11649: the standard's example validates, a changed digit does not, and make() round-trips")
    func creditorReferences() {
        #expect(CreditorReference.body(of: "RF18 5390 0754 7034") == "539007547034")
        #expect(CreditorReference.body(of: "RF18 5390 0754 7035") == nil)
        #expect(CreditorReference.body(of: "RF19 5390 0754 7034") == nil)
        let made = CreditorReference.make(body: "INV000123")!
        #expect(CreditorReference.body(of: made) == "INV000123")
        #expect(CreditorReference.make(body: "TOO-LONG-FOR-ANY-REFERENCE") == nil)
    }

    @Test("payer names compare without case, punctuation, accents, a leading 'The' or legal forms")
    func payerNames() {
        #expect(PayerName.normalized("Acme Corp., Inc.") == "ACME")
        #expect(PayerName.normalized("ACME CORPORATION") == "ACME")
        #expect(PayerName.normalized("acme l.l.c.") == "ACME")
        #expect(PayerName.normalized("Margie's Travel") == "MARGIES TRAVEL")
        #expect(PayerName.normalized("The Coho Winery") == "COHO WINERY")
        #expect(PayerName.normalized("Müller & Söhne GmbH") == PayerName.normalized("MULLER+SOHNE"))
        #expect(PayerName.normalized("Inc.") == "INC", "a name that is only a legal form keeps it")
    }

    @Test("invoice numbers compare without prefix, leading zeros, spaces, dashes or O/0 and I/1 confusions")
    func invoiceNumberKeys() {
        #expect(InvoiceNumberKey.split("INV-000123")! == (prefix: "INV", key: "123"))
        #expect(InvoiceNumberKey.split("inv 0001O23")!.key == "1023")
        #expect(InvoiceNumberKey.split("2026-A-0001")!.key == "2026A0001")
        #expect(InvoiceNumberKey.split("CREDIT") == nil)
    }

    @Test("the index's byte-by-byte split of an invoice number agrees with the rule read character by character, on 20,000 generated numbers")
    func invoiceNumberKeysGenerated() {
        /// The rule as the doc comment states it, one character at a time.
        func reference(_ number: String) -> (prefix: String, key: String)? {
            let kept = number.uppercased().filter { $0.isASCII && ($0.isLetter || $0.isNumber) }
            let prefix = kept.prefix { $0.isLetter }
            var key = ""
            for character in kept.dropFirst(prefix.count) {
                let digit: Character = character == "O" ? "0" : (character == "I" || character == "L") ? "1" : character
                if key.isEmpty, digit == "0" { continue }
                key.append(digit)
            }
            guard key.contains(where: \.isNumber) else { return nil }
            return (String(prefix), key)
        }
        var generator = SeededGenerator(seed: 12)
        let alphabet = Array("INVOL0123456789 -/.abcioé")
        for _ in 0..<20_000 {
            let number = String((0..<Int.random(in: 0...14, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! })
            let split = InvoiceNumberKey.split(number)
            let expected = reference(number)
            #expect(split?.prefix == expected?.prefix && split?.key == expected?.key, "\(number)")
        }
    }

    // MARK: Rule 1: structured references

    @Test("a valid RF reference decides, with no payer and no remittance text")
    func structuredReference() {
        let reference = CreditorReference.make(body: "INV000124")!
        let match = Self.match(Self.receipt(Self.usd(250_000), references: [reference]))
        #expect(match.status == .matched)
        #expect(match.rule == .structuredReference)
        #expect(match.confidence == 99)
        #expect(Self.applied(match) == ["inv_124": 250_000])
        #expect(match.explanation.contains("INV-000124"))
    }

    @Test("a valid RF reference written as a word of the remittance text is read as structured; a broken one stays text")
    func structuredReferenceInText() {
        let reference = CreditorReference.make(body: "INV000124")!
        let match = Self.match(Self.receipt(Self.usd(250_000), text: "J SMITH PAYMENT \(reference.lowercased()), THANKS"))
        #expect(match.rule == .structuredReference && match.confidence == 99)
        #expect(Self.applied(match) == ["inv_124": 250_000])
        var broken = Array(reference)
        broken[2] = broken[2] == "9" ? "0" : "9"
        #expect(CreditorReference.references(inText: "PAYMENT \(String(broken))").isEmpty)
        #expect(Self.match(Self.receipt(Self.usd(250_000), text: "PAYMENT \(String(broken))")).rule != .structuredReference)
    }

    @Test("a structured reference spelled as the invoice number decides; one that is not stays text")
    func structuredInvoiceNumber() {
        let exact = Self.match(Self.receipt(Self.usd(99_900), references: ["inv-000200"]))
        #expect(exact.rule == .structuredReference)
        #expect(Self.applied(exact) == ["inv_200": 99_900])
        let loose = Self.match(Self.receipt(Self.usd(99_900), references: ["INV 200"]))
        #expect(loose.rule == .invoiceNumberInText, "a loose reference is read as text, and the amount agrees")
    }

    @Test("trap: an RF reference with a wrong check digit is not structured")
    func badCheckDigit() {
        let good = CreditorReference.make(body: "INV000124")!
        let check = Int(good.dropFirst(2).prefix(2))!
        let bad = "RF" + String((check + 1) % 90 + 10) + good.dropFirst(4)
        #expect(CreditorReference.body(of: bad) == nil)
        let match = Self.match(Self.receipt(Self.usd(250_000), references: [bad]))
        #expect(match.rule != .structuredReference)
        #expect(match.rule == .invoiceNumberInText, "its body is read as text, which the amount corroborates")
        #expect(match.confidence < 99)
        let disagreeing = Self.match(Self.receipt(Self.usd(1_000), references: [bad]))
        #expect(disagreeing.status == .ambiguous, "with no payer and an amount that disagrees it is only suggested")
        let plain = Self.match(Self.receipt(Self.usd(1_000), text: "INV-000124"))
        #expect(plain.status == .matched, "the same number spelled as issued in text is a part payment")
        #expect(plain.confidence == 75)
        #expect(disagreeing.applications.isEmpty)
    }

    @Test("a structured reference whose payer has an invoice of exactly the amount elsewhere is ambiguous")
    func structuredAgainstPayer() {
        let reference = CreditorReference.make(body: "INV000556")!
        let match = Self.match(Self.receipt(Self.usd(99_900), payer: "ACME CORP", references: [reference]))
        #expect(match.status == .ambiguous)
        #expect(match.applications.isEmpty)
        #expect(Set(match.suggestions.map(\.customerID)) == ["cus_globex", "cus_acme"])
        let thirdParty = Self.match(Self.receipt(Self.usd(70_000), payer: "ACME CORP", references: [reference]))
        #expect(thirdParty.status == .matched, "with no invoice of the amount the payer is paying another's invoice")
        #expect(thirdParty.customerID == "cus_globex")
        #expect(thirdParty.confidence == 90)
    }

    // MARK: Rule 2: invoice numbers in text

    @Test(
        "invoice numbers written the ways people write them are found in remittance text",
        arguments: [
            "INV-000123", "PAYMENT INV000123", "inv 123", "Invoice no. 123", "INVO0123", "INV-OOO123", "INV-000I23", "INV 000 123",
            "REMITTANCE 000123", "ACH CREDIT PAYMENTINV-000123", "PMT INV-0001 23", "Rechnung 000123 danke", "INV#000123",
        ]
    )
    func citedInText(text: String) {
        // No payer, so only the citation (and the amount agreeing with it) can decide.
        let match = Self.match(Self.receipt(Self.usd(150_000), text: text))
        #expect(match.status == .matched, "\(text): \(match.explanation)")
        #expect(match.rule == .invoiceNumberInText)
        #expect(Self.applied(match) == ["inv_123": 150_000])
    }

    @Test("short bare numbers, amounts and other identifiers are not invoice numbers")
    func notCitations() {
        for text in ["PAYMENT 123", "PO4500000123", "USD 1,500.00", "QTY 124 UNITS"] {
            let match = Self.match(Self.receipt(Self.usd(150_000), text: text))
            #expect(match.status == .unidentified, "\(text): \(match.explanation)")
        }
    }

    @Test("a payer citing two of its invoices pays both; the explanation says how each was cited")
    func twoCitations() {
        let match = Self.match(Self.receipt(Self.usd(400_000), payer: "ACME CORP.", text: "INV 123 AND 124"))
        #expect(match.rules == [.invoiceNumberInText, .payerName])
        #expect(Self.applied(match) == ["inv_123": 150_000, "inv_124": 250_000])
        #expect(match.explanation.contains("cited in remittance text as 'INV 123'"))
        #expect(match.explanation.contains("payer name 'ACME CORP.' is Acme Corp (1001)"))
    }

    @Test("trap: another customer's cited invoice does not beat a payer whose name and exact amount point elsewhere")
    func otherCustomersCitation() {
        // INV-000555 is Globex's and also 1,500.00; the payer is Acme, which has INV-000123 of 1,500.00.
        let match = Self.match(Self.receipt(Self.usd(150_000), payer: "ACME CORP", text: "PAYMENT INV-000555"))
        #expect(match.status == .matched)
        #expect(match.customerID == "cus_acme")
        #expect(match.rule == .amountAndPayer)
        #expect(Self.applied(match) == ["inv_123": 150_000])
        #expect(match.suggestions.contains { $0.customerID == "cus_globex" && $0.invoiceIDs == ["inv_555"] })
        #expect(match.explanation.contains("INV-000555"))
    }

    // MARK: Rule 3: amount and payer

    @Test("a recognized payer and one open invoice of exactly the amount")
    func amountAndPayer() {
        let match = Self.match(Self.receipt(Self.usd(250_000), payer: "ACME CORPORATION", text: "THANK YOU"))
        #expect(match.status == .matched)
        #expect(match.rules == [.amountAndPayer, .payerName])
        #expect(match.confidence == 90)
        #expect(Self.applied(match) == ["inv_124": 250_000])
    }

    @Test("a recognized payer and exactly one combination of its open invoices")
    func amountCombination() {
        let match = Self.match(Self.receipt(Self.usd(249_900), payer: "Acme Corp"))
        #expect(match.rules == [.amountCombination, .payerName])
        #expect(Self.applied(match) == ["inv_123": 150_000, "inv_200": 99_900])
        #expect(match.confidence == 85)
    }

    @Test("a combination search cut short by its bound only suggests what it found, and guesses nothing within tolerance")
    func boundedCombination() {
        let bounded = CashMatchSettings(combinations: CombinationSearchBounds(invoices: 24, parts: 6, steps: 3))
        let cut = Self.match(Self.receipt(Self.usd(249_900), payer: "Acme Corp"), settings: bounded)
        #expect(cut.status == .ambiguous)
        #expect(cut.applications.isEmpty)
        #expect(cut.suggestions.map { Set($0.invoiceIDs) } == [["inv_123", "inv_200"]])
        // 249,000 is within tolerance of INV-000124, but a search cut short proves nothing.
        let stopped = CashMatchSettings(combinations: CombinationSearchBounds(invoices: 24, parts: 6, steps: 1))
        let near = Self.match(Self.receipt(Self.usd(249_000), payer: "Acme Corp"), settings: stopped)
        #expect(near.status == .customerOnly)
        #expect(near.applications.isEmpty)
    }

    @Test("trap: equal recurring amounts make payer and amount ambiguous, every candidate suggested, none applied")
    func equalRecurringAmounts() {
        let match = Self.match(Self.receipt(Self.usd(49_900), payer: "INITECH"))
        #expect(match.status == .ambiguous)
        #expect(match.applications.isEmpty)
        #expect(match.customerID == "cus_initech", "the customer is certain, only the invoice is not")
        #expect(Set(match.suggestions.flatMap(\.invoiceIDs)) == ["inv_700", "inv_701", "inv_702"])
        #expect(match.suggestions.first?.invoiceIDs == ["inv_700"], "oldest due first")
    }

    @Test("a learned account alias, or a learned payer name, recognizes the payer")
    func payerAliases() {
        let byAccount = Self.match(Self.receipt(Self.usd(33_300), payer: "TRANSFER 4471", account: "de44500105175407324931"))
        #expect(byAccount.rules == [.amountAndPayer, .payerAlias])
        #expect(byAccount.customerID == "cus_hooli")
        #expect(byAccount.explanation.contains("by hand 2 times"))
        let byName = Self.match(Self.receipt(Self.usd(33_300), payer: "HOOLI XYZ PAYABLES"))
        #expect(byName.rules == [.amountAndPayer, .payerAlias])
        let unknown = Self.match(Self.receipt(Self.usd(33_300), payer: "TRANSFER 4471", account: "DE00123"))
        #expect(unknown.status == .unidentified)
    }

    @Test("a payer named only in the remittance text, as BAI2 and MT940 write it, is recognized there")
    func payerNamedInText() {
        // At the text's start, a legal form after the name and an invoice-free remainder.
        let first = Self.match(Self.receipt(Self.usd(250_000), text: "ACME CORPORATION PMT THANK YOU"))
        #expect(first.status == .matched)
        #expect(first.rules == [.amountAndPayer, .payerName])
        #expect(first.confidence == 85, "five points less than a name given as a name")
        #expect(first.explanation.contains("the remittance text names 'ACME'"))
        #expect(Self.applied(first) == ["inv_124": 250_000])
        // After a key; nothing of the amount: a name read from text alone is only a suggestion,
        // never cash posted on the customer.
        let keyed = Self.match(Self.receipt(Self.usd(12_345), text: "ORIG CO NAME:GLOBEX LTD ENTRY DESCR:PAYMENT"))
        #expect(keyed.status == .unidentified && keyed.customerID == nil && keyed.applications.isEmpty)
        #expect(keyed.suggestions.first?.customerID == "cus_globex")
        // The same name given as the payer's: unapplied cash on the customer.
        let given = Self.match(Self.receipt(Self.usd(12_345), payer: "GLOBEX LTD"))
        #expect(given.status == .customerOnly && given.customerID == "cus_globex")
        // A learned alias's name in the text.
        let alias = Self.match(Self.receipt(Self.usd(33_300), text: "HOOLI XYZ PAYABLES REMITTANCE"))
        #expect(alias.rules == [.amountAndPayer, .payerAlias])
        // A given payer name wins over the text; text naming no customer identifies no one.
        let named = Self.match(Self.receipt(Self.usd(250_000), payer: "J SMITH", text: "ACME CORP INVOICES"))
        #expect(named.status == .unidentified)
        let nobody = Self.match(Self.receipt(Self.usd(250_000), text: "WIRE IN ORIG REF 88231 NO ADVICE"))
        #expect(nobody.status == .unidentified)
        #expect(nobody.explanation.hasPrefix("no payer name"))
        // A name deep in the text (past the first eight words) is not read as the payer.
        let deep = Self.match(Self.receipt(Self.usd(12_345), text: "ONE TWO THREE FOUR FIVE SIX SEVEN EIGHT ACME CORP"))
        #expect(deep.status == .unidentified)
    }

    @Test("an alias taught for two customers equally identifies neither")
    func contestedAlias() {
        let index = MatchIndex(
            invoices: Self.invoices, customers: Self.customers,
            aliases: [.name("SHARED SERVICES", customerID: "cus_acme"), .name("SHARED SERVICES", customerID: "cus_globex")]
        )
        let match = CashMatcher().match(Self.receipt(Self.usd(250_000), payer: "Shared Services"), in: index)
        #expect(match.status == .unidentified)
    }

    // MARK: Rule 4 and the rest

    @Test("a recognized payer with nothing of the amount: unapplied cash on the customer")
    func customerOnly() {
        let match = Self.match(Self.receipt(Self.usd(12_345), payer: "acme corp"))
        #expect(match.status == .customerOnly)
        #expect(match.customerID == "cus_acme")
        #expect(match.unapplied == Self.usd(12_345))
        #expect(match.rules == [.payerName])
    }

    @Test("trap: an unidentified payer is never matched on amount alone, only suggested")
    func neverOnAmountAlone() {
        let match = Self.match(Self.receipt(Self.usd(250_000), payer: "J SMITH", text: "PAYMENT"))
        #expect(match.status == .unidentified)
        #expect(match.customerID == nil)
        #expect(match.applications.isEmpty)
        #expect(match.suggestions.map(\.invoiceIDs) == [["inv_124"]])
        #expect(match.suggestions.first?.rule == .amountOnly)
        #expect(match.suggestions.first?.confidence == 10)
    }

    @Test("amounts in another currency never match")
    func currencies() {
        let paidInDollars = Self.match(Self.receipt(Self.usd(100_000), payer: "Umbrella", text: "INV-000900"))
        #expect(paidInDollars.applications.isEmpty)
        #expect(paidInDollars.status == .customerOnly)
        let euros = Self.match(Self.receipt(Money(minorUnits: 100_000, currency: .eur), payer: "Umbrella"))
        #expect(Self.applied(euros) == ["inv_900": 100_000])
    }

    @Test("debits and other lines are listed, never posted")
    func notCredits() {
        for direction in [ReceiptDirection.debit, .other] {
            let match = Self.match(Self.receipt(Self.usd(250_000), payer: "ACME CORP", text: "INV-000124", direction: direction))
            #expect(match.status == .notACredit)
            #expect(match.applications.isEmpty && match.customerID == nil)
        }
    }

    @Test("within one import, cash applied by one receipt is not applied again by the next")
    func importConsumesBalances() {
        var index = Self.index
        let receipts = [Self.receipt(Self.usd(250_000), payer: "ACME CORP"), Self.receipt(Self.usd(250_000), payer: "ACME CORP")]
        let matches = CashMatcher().match(receipts, in: &index)
        #expect(matches[0].status == .matched)
        #expect(matches[1].status == .customerOnly)
    }

    // MARK: Tolerance

    @Test("a short payment within tolerance applies what came and proposes writing off the rest")
    func shortWithinTolerance() {
        let match = Self.match(Self.receipt(Self.usd(149_000), payer: "Acme Corp", text: "INV-000123"))
        #expect(Self.applied(match) == ["inv_123": 149_000])
        #expect(match.settlement == SettlementProposal(
            kind: .writeOff, invoiceID: "inv_123", amount: Self.usd(1_000), reason: match.settlement?.reason ?? ""
        ))
    }

    @Test("an over payment within tolerance leaves the excess unapplied and proposes a credit on account")
    func overWithinTolerance() {
        let match = Self.match(Self.receipt(Self.usd(151_000), payer: "Acme Corp", text: "INV-000123"))
        #expect(Self.applied(match) == ["inv_123": 150_000])
        #expect(match.unapplied == Self.usd(1_000))
        #expect(match.settlement?.kind == .creditOnAccount)
        #expect(match.settlement?.amount == Self.usd(1_000))
    }

    @Test("a cited invoice short beyond tolerance proposes a dispute; with no tolerance nothing is written off")
    func shortBeyondTolerance() {
        let match = Self.match(Self.receipt(Self.usd(100_000), payer: "Acme Corp", text: "INV-000123"))
        #expect(Self.applied(match) == ["inv_123": 100_000])
        #expect(match.settlement?.kind == .dispute)
        #expect(match.settlement?.amount == Self.usd(50_000))
        let strict = Self.match(
            Self.receipt(Self.usd(149_000), payer: "Acme Corp", text: "INV-000123"), settings: CashMatchSettings(tolerance: .none)
        )
        #expect(strict.settlement?.kind == .dispute)
    }

    @Test("a payer's single invoice within tolerance of the amount matches, with the write-off proposed")
    func amountWithinTolerance() {
        let match = Self.match(Self.receipt(Self.usd(249_000), payer: "Acme Corp"))
        #expect(match.rules == [.amountWithinTolerance, .payerName])
        #expect(Self.applied(match) == ["inv_124": 249_000])
        #expect(match.settlement?.kind == .writeOff)
        let strict = Self.match(Self.receipt(Self.usd(249_000), payer: "Acme Corp"), settings: CashMatchSettings(tolerance: .none))
        #expect(strict.status == .customerOnly)
    }

    @Test("tolerance is the smaller of the absolute and the percentage bound")
    func toleranceBounds() {
        let tolerance = MatchTolerance.defaults
        #expect(tolerance.allows(difference: 2_500, of: 1_000_000))
        #expect(!tolerance.allows(difference: 2_501, of: 1_000_000))
        #expect(!tolerance.allows(difference: 1_001, of: 100_000), "1% of 1,000.00 is 10.00")
        #expect(tolerance.allows(difference: -1_000, of: 100_000))
        #expect(MatchTolerance.none.allows(difference: 0, of: 100) && !MatchTolerance.none.allows(difference: 1, of: 100))
    }

    // MARK: Hit rates

    @Test("hit rates count the right customer, the right invoices and a wrong customer separately")
    func hitRates() {
        func match(_ id: String, _ status: CashMatchStatus, _ customer: String?, _ invoices: [String]) -> CashMatch {
            CashMatch(
                receiptIdentity: id, status: status, customerID: customer,
                applications: invoices.map { CashMatchApplication(invoiceID: $0, invoiceNumber: $0, amount: Self.usd(1)) }, unapplied: Self.usd(0),
                rules: [], confidence: 0, explanation: ""
            )
        }
        let matches = [
            match("a", .matched, "c1", ["i1"]), match("b", .matched, "c2", ["i2", "i3"]), match("c", .customerOnly, "c3", []),
            match("d", .matched, "c9", ["i9"]), match("e", .unidentified, nil, []), match("f", .notACredit, nil, []),
        ]
        let expected = [
            ExpectedMatch(receiptIdentity: "a", customerID: "c1", invoiceIDs: ["i1"]),
            ExpectedMatch(receiptIdentity: "b", customerID: "c2", invoiceIDs: ["i2"]),
            ExpectedMatch(receiptIdentity: "c", customerID: "c3", invoiceIDs: []),
            ExpectedMatch(receiptIdentity: "d", customerID: "c4", invoiceIDs: ["i4"]),
            ExpectedMatch(receiptIdentity: "e", customerID: nil, invoiceIDs: []),
        ]
        let rates = MatchHitRates.measure(matches, expected: expected)
        #expect(rates.receipts == 5)
        #expect(rates.identifiable == 4 && rates.rightCustomer == 3)
        #expect(rates.payingInvoices == 3 && rates.rightInvoices == 1)
        #expect(rates.wrongCustomer == 1)
        #expect(rates.headerBasisPoints == 7_500)
        #expect(rates.invoiceBasisPoints == 3_333)
        #expect(rates.wrongCustomerBasisPoints == 2_000)
    }

    // MARK: A generated month

    @Test("a generated month of remittances: hit rates above their floors, no ambiguity applied, almost no wrong customer")
    func generatedMonth() {
        let month = RemittanceMonth(seed: 2026_11, customerCount: 2_000, receiptCount: 3_000)
        var index = MatchIndex(invoices: month.invoices, customers: month.customers, aliases: month.aliases)
        let matches = CashMatcher().match(month.receipts, in: &index)
        let rates = MatchHitRates.measure(matches, expected: month.expected)
        print(
            "cash matching, generated month: \(rates.receipts) credits, header \(rates.rightCustomer)/\(rates.identifiable) = "
                + "\(rates.headerBasisPoints) bp, invoice \(rates.rightInvoices)/\(rates.payingInvoices) = \(rates.invoiceBasisPoints) bp, "
                + "wrong customer \(rates.wrongCustomer) = \(rates.wrongCustomerBasisPoints) bp"
        )
        let truth = Dictionary(uniqueKeysWithValues: month.expected.map { ($0.receiptIdentity, $0) })
        var missesByKind: [String: Int] = [:]
        for (receipt, match) in zip(month.receipts, matches) {
            let total = match.applications.reduce(Int64(0)) { $0 + $1.amount.minorUnits }
            #expect(total <= receipt.amount.minorUnits, "\(receipt.identity) applies more than it brought")
            if match.status != .matched { #expect(match.applications.isEmpty, "\(receipt.identity) is \(match.status) yet applied") }
            if let right = truth[receipt.identity], !right.invoiceIDs.isEmpty, Set(match.applications.map(\.invoiceID)) != right.invoiceIDs {
                missesByKind[month.kinds[receipt.identity]!.rawValue, default: 0] += 1
            }
        }
        print("cash matching, generated month: invoice-level misses by kind: \(missesByKind.sorted { $0.key < $1.key })")
        #expect(rates.ambiguousApplied == 0)
        // Measured at 9,916 (header), 9,120 (invoice) and 3 (wrong customer) basis points; the
        // invoice-level misses are mostly the subscription payments the matcher must not guess.
        #expect(rates.headerBasisPoints >= 9_800)
        #expect(rates.invoiceBasisPoints >= 9_000)
        #expect(rates.wrongCustomerBasisPoints <= 20)
    }
}
