/// A generated portfolio and a month of bank receipts over it, each with what it should match:
/// the same for the same seed, on every platform.
///
/// Portfolio: customers with generated names and legal forms (a few pairs differing only in their
/// legal form, so the name alone cannot tell them apart), mostly USD and some EUR, each with open
/// invoices "INV-" and six digits (more past 999,999); some bill a subscription, equal amounts month after month.
/// Some customers taught an alias by earlier manual matches: a bank account, or a trade name.
///
/// Receipts, by how they identify what they pay (``Kind``): a valid RF reference; an RF reference
/// with wrong check digits; a lockbox-style structured invoice number; invoice numbers in free text
/// written the ways people write them (prefix missing, zeros dropped, O for 0 and I for 1, spaces
/// and dashes, split by a 65-column wrap) paying in full, short by a bank fee, or in part; no
/// reference but the payer's name, paying one invoice or a combination; only a learned account or
/// trade name; payments on account; subscription payments equal to several open invoices; payers no
/// one can identify, often of an amount some invoice has; a payer citing another customer's invoice
/// by mistake; debits. Payer names vary in case, punctuation and legal form, are cut short as bank
/// fields cut them, and now and then are misspelled.
///
/// The cash-matching tests hold floors on the month's hit rates (``MatchHitRates``), and the cash
/// benchmarks write the same month as a BAI2 file and import it against the portfolio stored as a
/// tenant, so both measure one model of a bank's month. Its proportions were chosen before
/// measuring; changing what it generates changes every figure measured on it (the benchmarks key
/// their cached tenants by ``version``).
public struct RemittanceMonth: Sendable {
    /// The generator's version: bump it when the same arguments would generate something else.
    public static let version = 1

    /// How a receipt identifies what it pays.
    public enum Kind: String, CaseIterable, Sendable {
        case rfReference, badRFReference, structuredNumber, citedInText, payerAndAmount, payerAndCombination, accountAlias, nameAlias,
            onAccount, recurringAmount, unidentified, otherCustomersInvoiceCited, debit
    }

    /// The portfolio: customers in order, each with its open invoices (``invoices`` holds them
    /// customer by customer), and the aliases earlier manual matches taught.
    public private(set) var customers: [PayerCustomer] = []
    public private(set) var invoices: [OpenInvoice] = []
    public private(set) var aliases: [PayerAlias] = []
    /// The month's bank lines in the order generated, credits and debits; identities `gen:1`, ...
    public private(set) var receipts: [BankReceipt] = []
    /// What each credit should match, by receipt identity (debits have none).
    public private(set) var expected: [ExpectedMatch] = []
    /// How each receipt identifies what it pays, by receipt identity.
    public private(set) var kinds: [String: Kind] = [:]

    private var random: SeededGenerator
    private var open: [String: [Int]] = [:]
    private var used: Set<Int> = []
    private var subscribers: [Int] = []
    private var twins: [Int] = []
    private var aliasAccount: [Int: String] = [:]
    private var aliasName: [Int: String] = [:]
    private var accountAliased: [Int] = []
    private var nameAliased: [Int] = []

    static let firstWords = [
        "Northern", "Blue", "Summit", "Pacific", "Golden", "Silver", "Harbor", "Cedar", "Pioneer", "Atlas", "Delta", "Evergreen", "Maple",
        "Orion", "Quantum", "Redwood", "Sterling", "Titan", "Vertex", "Zenith", "Coral", "Falcon", "Granite", "Horizon", "Ironwood",
        "Juniper", "Keystone", "Lakeside", "Meridian", "Nova", "Oakridge", "Prairie", "Riverbend", "Sapphire", "Timber", "Union", "Vista",
        "Willow", "Bayani", "Mabuhay", "Lotus", "Sampaguita", "Alpen", "Rhein", "Bergmann", "Crescent", "Beacon", "Copper", "Emerald",
    ]
    static let secondWords = [
        "Logistics", "Foods", "Systems", "Retail", "Textiles", "Media", "Labs", "Motors", "Pharma", "Energy", "Outfitters", "Trading",
        "Builders", "Analytics", "Dental", "Hardware", "Printing", "Freight", "Marine", "Bakery", "Clinics", "Software", "Furniture",
        "Electric", "Ceramics", "Apparel", "Farms", "Studios", "Plastics", "Metals",
    ]
    static let familyNames = [
        "Garcia", "Santos", "Reyes", "Cruz", "Bautista", "Smith", "Johnson", "Miller", "Davis", "Wilson", "Anderson", "Taylor", "Thomas",
        "Moore", "Jackson", "Martin", "Lee", "Walker", "Hall", "Allen", "Young", "King", "Wright", "Lopez", "Hill", "Scott", "Green", "Adams",
        "Baker", "Nelson", "Carter", "Mitchell", "Perez", "Roberts", "Turner", "Phillips", "Campbell", "Parker", "Evans", "Edwards",
        "Collins", "Stewart", "Sanchez", "Morris", "Rogers", "Reed", "Cook", "Morgan", "Bell", "Murphy", "Schmidt", "Schneider", "Fischer",
        "Weber", "Meyer", "Wagner", "Becker", "Schulz", "Hoffmann", "Koch", "Tanaka", "Suzuki", "Sato", "Watanabe", "Ito", "Nakamura",
        "Kobayashi", "Yamamoto", "Mendoza", "Ramos", "Aquino", "Villanueva", "Castillo", "Flores", "Torres", "Rivera", "Gomez", "Diaz",
    ]
    static let places = ["", "", "", "", "Manila", "Cebu", "Austin", "Denver", "Berlin", "Ohio", "Pacific", "West", "East", "International"]
    static let legalForms = ["Inc.", "Corp", "Corporation", "LLC", "Ltd", "GmbH", "Co.", "", "Inc", "L.L.C.", "Pte Ltd", "S.A."]
    static let strangers = [
        "J SMITH", "ONLINE BANKING TRANSFER", "PAYPAL TRANSFER", "MARIA DELA CRUZ", "WIRE IN", "A. MUELLER", "CASH DEPOSIT", "STRIPE PAYOUT",
        "UNKNOWN ORDERING PARTY", "ZELLE FROM K LEE",
    ]

    /// The portfolio of `customerCount` customers, each with a number of open invoices drawn
    /// from `invoicesPerCustomer` (the default averages 8.5; 2...38 averages 20, so 50,000
    /// customers hold about a million), and `receiptCount` bank lines over it. The same arguments
    /// give the same month.
    public init(seed: UInt64, customerCount: Int, receiptCount: Int, invoicesPerCustomer: ClosedRange<Int> = 2...15) {
        precondition(customerCount >= 2 && invoicesPerCustomer.lowerBound >= 1, "a month needs two customers with an invoice each")
        random = SeededGenerator(seed: seed)
        makePortfolio(customerCount, invoicesPerCustomer: invoicesPerCustomer)
        let weights: [(Kind, Int)] = [
            (.rfReference, 12), (.badRFReference, 3), (.structuredNumber, 5), (.citedInText, 28), (.payerAndAmount, 17),
            (.payerAndCombination, 7), (.accountAlias, 4), (.nameAlias, 2), (.onAccount, 3), (.recurringAmount, 5), (.unidentified, 5),
            (.otherCustomersInvoiceCited, 3), (.debit, 3),
        ]
        let totalWeight = weights.map(\.1).reduce(0, +)
        var line = 0
        while receipts.count < receiptCount {
            var pick = Int(next(totalWeight))
            var kind = Kind.debit
            for (candidate, weight) in weights {
                if pick < weight {
                    kind = candidate
                    break
                }
                pick -= weight
            }
            line += 1
            guard let (receipt, truth) = makeReceipt(kind, line: line) else { continue }
            receipts.append(receipt)
            if let truth { expected.append(truth) }
            kinds[receipt.identity] = kind
        }
    }

    // MARK: Portfolio

    private mutating func next(_ bound: Int) -> Int { Int(random.next() % UInt64(bound)) }
    private mutating func chance(_ percent: Int) -> Bool { next(100) < percent }
    private mutating func pick<T>(_ items: [T]) -> T { items[next(items.count)] }

    private mutating func makePortfolio(_ count: Int, invoicesPerCustomer: ClosedRange<Int>) {
        var names: Set<String> = []
        var invoiceNumber = 0
        let today = CivilDate(year: 2026, month: 11, day: 30)!
        while customers.count < count {
            let position = customers.count
            var name: String
            if position > 0, chance(1) {
                // A twin: the same name as the last customer but for its legal form.
                name = PayerName.normalized(customers[position - 1].name).capitalized + " " + pick(["Inc.", "LLC", "Ltd"])
                twins.append(position - 1)
                twins.append(position)
            } else {
                // Three words and a legal form give some 16,000 distinct names; larger portfolios
                // take a family name in front, and then a branch number.
                var words = [pick(Self.firstWords), pick(Self.secondWords), pick(Self.places)]
                if position >= 8_000 { words.insert(pick(Self.familyNames), at: 0) }
                if position >= 200_000 { words.append("No \(position)") }
                name = (words + [pick(Self.legalForms)]).filter { !$0.isEmpty }.joined(separator: " ")
                guard names.insert(PayerName.normalized(name)).inserted else { continue }
            }
            let id = "cus_\(position)"
            customers.append(PayerCustomer(id: id, number: "C\(10_000 + position)", name: name))
            let currency = chance(15) ? Currency.eur : Currency.usd
            let subscription = chance(15)
            if subscription { subscribers.append(position) }
            let recurring = Int64(next(400) + 20) * 100 + (chance(50) ? 0 : 99)
            var list: [Int] = []
            for slot in 0..<(invoicesPerCustomer.lowerBound + next(invoicesPerCustomer.count)) {
                invoiceNumber += 1
                let amount = subscription && slot < 4 ? recurring : Int64(next(1_500_000) + 5_000)
                let number = "INV-" + String(repeating: "0", count: max(0, 6 - String(invoiceNumber).count)) + String(invoiceNumber)
                list.append(invoices.count)
                invoices.append(OpenInvoice(
                    id: "inv_\(invoiceNumber)", customerID: id, number: number, openBalance: Money(minorUnits: amount, currency: currency),
                    dueDate: today.adding(days: slot * 30 - 120 + next(20))
                ))
            }
            open[id] = list
            if chance(10) {
                let account = "DE" + (0..<20).map { _ in String(next(10)) }.joined()
                aliasAccount[position] = account
                accountAliased.append(position)
                aliases.append(.account(account, customerID: id, manualMatches: 1 + next(3)))
            }
            if chance(5) {
                let trade = pick(Self.firstWords).uppercased() + " " + pick(["DISTRIBUTION", "GROUP PAYABLES", "SHARED SERVICES"]) + " \(position)"
                aliasName[position] = trade
                nameAliased.append(position)
                aliases.append(.name(trade, customerID: id, manualMatches: 1 + next(2)))
            }
        }
    }

    // MARK: Receipts

    private mutating func unusedInvoices(of customer: Int) -> [Int] {
        (open[customers[customer].id] ?? []).filter { !used.contains($0) }
    }

    /// An unused invoice of a customer whose amount no other open invoice of that customer has.
    private mutating func distinctInvoice(of customer: Int) -> Int? {
        let list = unusedInvoices(of: customer)
        let all = open[customers[customer].id] ?? []
        let candidates = list.filter { invoice in all.filter { invoices[$0].openBalance == invoices[invoice].openBalance }.count == 1 }
        return candidates.isEmpty ? nil : pick(candidates)
    }

    private mutating func payerName(_ customer: Int) -> String {
        var name = customers[customer].name
        switch next(100) {
        case 0..<30: break
        case 30..<55: name = name.uppercased()
        case 55..<65: name = name.uppercased().filter { $0.isLetter || $0.isNumber || $0 == " " }
        case 65..<75: name = PayerName.normalized(name) + " " + pick(["INC", "CORP", "LTD", "LLC", ""])
        case 75..<85: name = String(name.uppercased().prefix(18 + next(6)))
        case 85..<92: name = name.replacingOccurrences(of: " and ", with: " & ")
        default:
            // A misspelling: one letter dropped.
            let letters = Array(name)
            let at = 1 + next(max(1, letters.count - 2))
            name = String(letters[..<at] + letters[(at + 1)...])
        }
        return name
    }

    /// One way people write an invoice number in remittance text.
    private mutating func written(_ number: String) -> String {
        let digits = String(number.dropFirst(4))
        let short = String(digits.drop { $0 == "0" })
        switch next(12) {
        case 0: return number
        case 1: return "INV" + digits
        case 2: return "inv " + short
        case 3: return "Invoice " + short
        case 4: return "INV" + digits.replacingOccurrences(of: "0", with: "O")
        case 5: return "INV " + digits.prefix(3) + " " + digits.dropFirst(3)
        case 6: return digits
        case 7: return "INV-" + digits.replacingOccurrences(of: "1", with: "I")
        case 8: return "INV NO. " + short
        case 9: return "INV#" + digits
        case 10: return "inv-" + digits.prefix(2) + "-" + digits.dropFirst(2)
        default: return "Rechnung " + digits
        }
    }

    /// Remittance text citing `numbers`, sometimes split by a 65-column wrap inside a number (joined
    /// with a space, as BAI2 continuations are, or with nothing, as MT940 :86: lines are).
    private mutating func remittance(citing numbers: [String]) -> String {
        let cited = numbers.map { written($0) }.joined(separator: pick([", ", " ", " AND ", "/"]))
        let lead = pick(["PAYMENT ", "PMT FOR ", "", "REMITTANCE ADVICE ", "SETTLEMENT OF ", "ACH CREDIT PAYMENT REF 20261130 "])
        var text = lead + cited
        if chance(12), let numberStart = text.firstIndex(where: \.isNumber) {
            // Pad so that column 65 falls two characters into the number, then wrap there.
            let offset = text.distance(from: text.startIndex, to: numberStart)
            let padding = max(0, 63 - offset)
            text = String(repeating: ".", count: padding) + text
            let wrap = text.index(text.startIndex, offsetBy: min(65, text.count))
            text = String(text[..<wrap]) + (chance(50) ? " " : "") + String(text[wrap...])
            text = "PAYMENT" + String(text.drop { $0 == "." })
        }
        return text
    }

    private mutating func makeReceipt(_ kind: Kind, line: Int) -> (BankReceipt, ExpectedMatch?)? {
        let identity = "gen:\(line)"
        let date = CivilDate(year: 2026, month: 11, day: 1 + next(30))!
        func receipt(_ amount: Money, payer: String = "", account: String = "", text: String = "", references: [String] = []) -> BankReceipt {
            BankReceipt(
                identity: identity, format: "bai2", account: "OPERATING", amount: amount, direction: .credit, bookingDate: date, typeCode: "195",
                payerName: payer, payerAccount: account, remittance: text, creditorReferences: references, line: line
            )
        }
        func truth(_ customer: Int?, _ paid: [Int]) -> ExpectedMatch {
            ExpectedMatch(
                receiptIdentity: identity, customerID: customer.map { customers[$0].id }, invoiceIDs: Set(paid.map { invoices[$0].id })
            )
        }
        let customer = next(customers.count)
        switch kind {
        case .rfReference, .badRFReference, .structuredNumber:
            guard let invoice = pick(optional: unusedInvoices(of: customer)) else { return nil }
            used.insert(invoice)
            let number = invoices[invoice].number
            var reference = number
            if kind != .structuredNumber {
                reference = CreditorReference.make(body: number.filter { $0 != "-" })!
                if kind == .badRFReference {
                    let check = Int(reference.dropFirst(2).prefix(2))!
                    let wrong = (check + 1 + next(90)) % 100
                    reference = "RF" + (wrong < 10 ? "0" : "") + String(wrong) + reference.dropFirst(4)
                    if CreditorReference.body(of: reference) != nil { return nil }
                }
            }
            return (receipt(invoices[invoice].openBalance, payer: payerName(customer), references: [reference]), truth(customer, [invoice]))
        case .citedInText:
            var list = unusedInvoices(of: customer)
            guard !list.isEmpty else { return nil }
            let count = min(list.count, chance(75) ? 1 : chance(70) ? 2 : 3)
            var paid: [Int] = []
            for _ in 0..<count {
                let invoice = pick(list)
                paid.append(invoice)
                list.removeAll { $0 == invoice }
            }
            paid.forEach { used.insert($0) }
            var total = paid.map { invoices[$0].openBalance.minorUnits }.reduce(0, +)
            switch next(100) {
            case 0..<10: total -= min(1_500, total / 100)  // a bank fee taken off, within tolerance
            case 10..<22:
                paid = [paid[0]]  // a part payment of the first
                total = invoices[paid[0]].openBalance.minorUnits * Int64(30 + next(40)) / 100
            default: break
            }
            let payer =
                switch next(100) {
                case 0..<80: payerName(customer)
                case 80..<95: pick(Self.strangers)
                default: ""
                }
            let text = remittance(citing: paid.map { invoices[$0].number })
            return (receipt(Money(minorUnits: total, currency: invoices[paid[0]].openBalance.currency), payer: payer, text: text), truth(customer, paid))
        case .payerAndAmount, .accountAlias, .nameAlias:
            let customer = kind == .accountAlias ? pick(accountAliased) : kind == .nameAlias ? pick(nameAliased) : customer
            guard let invoice = distinctInvoice(of: customer) else { return nil }
            used.insert(invoice)
            let text = pick(["", "PAYMENT", "THANK YOU", "ACH CREDIT", "SUPPLIER PAYMENT NOV"])
            let amount = invoices[invoice].openBalance
            switch kind {
            case .accountAlias:
                return (receipt(amount, payer: "TRANSFER \(next(99_999))", account: aliasAccount[customer]!, text: text), truth(customer, [invoice]))
            case .nameAlias:
                return (receipt(amount, payer: aliasName[customer]!.lowercased(), text: text), truth(customer, [invoice]))
            default:
                return (receipt(amount, payer: payerName(customer), text: text), truth(customer, [invoice]))
            }
        case .payerAndCombination:
            let list = Array(unusedInvoices(of: customer).prefix(8))
            guard list.count >= 3 else { return nil }
            let paid = Array(list.shuffled(using: &random).prefix(2 + next(2)))
            paid.forEach { used.insert($0) }
            let total = paid.map { invoices[$0].openBalance.minorUnits }.reduce(0, +)
            let amount = Money(minorUnits: total, currency: invoices[paid[0]].openBalance.currency)
            return (receipt(amount, payer: payerName(customer), text: pick(["", "PAYMENT", "VARIOUS INVOICES"])), truth(customer, paid))
        case .onAccount:
            guard let first = open[customers[customer].id]?.first else { return nil }
            let amount = Money(minorUnits: Int64(next(50) + 1) * 10_000 + 1, currency: invoices[first].openBalance.currency)
            return (receipt(amount, payer: payerName(customer), text: "DEPOSIT ON ACCOUNT"), truth(customer, []))
        case .recurringAmount:
            guard !subscribers.isEmpty else { return nil }
            let customer = pick(subscribers)
            let list = unusedInvoices(of: customer).filter { invoices[$0].openBalance == invoices[open[customers[customer].id]![0]].openBalance }
            guard list.count >= 2 else { return nil }
            used.insert(list[0])
            return (receipt(invoices[list[0]].openBalance, payer: payerName(customer), text: "SUBSCRIPTION"), truth(customer, [list[0]]))
        case .unidentified:
            let amount = chance(50) ? invoices[next(invoices.count)].openBalance : Money(minorUnits: Int64(next(900_000) + 100), currency: .usd)
            return (receipt(amount, payer: pick(Self.strangers), text: pick(["", "PAYMENT", "TRANSFER", "REF 4471"])), truth(nil, []))
        case .otherCustomersInvoiceCited:
            guard let invoice = distinctInvoice(of: customer) else { return nil }
            let other = (customer + 1 + next(customers.count - 1)) % customers.count
            guard let cited = pick(optional: open[customers[other].id] ?? []) else { return nil }
            used.insert(invoice)
            let text = "PAYMENT " + invoices[cited].number
            return (receipt(invoices[invoice].openBalance, payer: customers[customer].name.uppercased(), text: text), truth(customer, [invoice]))
        case .debit:
            var debit = receipt(Money(minorUnits: Int64(next(100_000) + 100), currency: .usd), payer: "BANK FEES", text: "SERVICE CHARGE")
            debit.direction = .debit
            return (debit, nil)
        }
    }

    private mutating func pick<T>(optional items: [T]) -> T? { items.isEmpty ? nil : pick(items) }
}
