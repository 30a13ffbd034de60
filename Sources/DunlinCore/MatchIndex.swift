/// The open invoices, customers and learned aliases of one tenant, indexed for matching: built once
/// per import and reused for every receipt of it, so matching a receipt is a handful of hash
/// lookups and never a scan of the invoices.
///
/// Indexes: invoice-number key (``InvoiceNumberKey``) to invoices; customer to its invoices, oldest
/// due first; customer, currency and amount to invoices; currency and amount to invoices (for
/// suggestions only), both keyed by integers (the currencies numbered);
/// normalized customer name to customers, and the names sorted for a shortened name's prefix;
/// alias name and alias account to the customer they teach.
///
/// ``record(_:)`` takes a match's applications off the balances, so that within one import a
/// second receipt does not pay what the first already paid.
public struct MatchIndex: Sendable {
    private(set) var invoices: [OpenInvoice]
    private let invoiceCustomer: [Int32]
    private var invoicesByNumber: IndexMultimap<String>
    /// By amount, and by customer and amount; a key of customer -1 is anyone's.
    private var invoicesByAmount: IndexMultimap<AmountKey>
    private let invoicesByCustomer: [[Int32]]
    /// The currencies the invoices are in, numbered, so amount keys hash as integers.
    private let currencyNumbers: [Currency: Int32]
    /// Invoices whose number has no key (no digit), by id: ``record(_:)`` finds the rest by number.
    private let keylessInvoices: [String: Int32]
    let customers: [PayerCustomer]
    private let customerByID: [String: Int32]
    private var customersByName = IndexMultimap<String>()
    private var customersByWord = IndexMultimap<String>()
    private let normalizedNames: [String]
    private let sortedNames: [(name: String, customer: Int32)]
    private let aliasByName: [String: (customer: Int32, taught: Int)]
    private let aliasByAccount: [String: (customer: Int32, taught: Int)]
    /// The first word of every customer's and alias's name: where a name in remittance text can start.
    private let nameStarts: Set<String>
    /// The series prefixes the tenant's invoice numbers use ("INV"), for reading remittance text.
    let citationReader: RemittanceCitations

    struct AmountKey: Hashable, Sendable {
        var minorUnits: Int64
        var currency: Int32
        var customer: Int32
    }

    /// Indexes `invoices` (those with no positive balance are left out), `customers` and `aliases`.
    /// An invoice of a customer missing from `customers` is indexed under a nameless customer.
    public init(invoices: [OpenInvoice], customers: [PayerCustomer], aliases: [PayerAlias] = []) {
        var customerList = customers
        var customerByID: [String: Int32] = [:]
        customerByID.reserveCapacity(customers.count)
        for (position, customer) in customers.enumerated() where customerByID[customer.id] == nil {
            customerByID[customer.id] = Int32(position)
        }
        // The store gives only positive balances: no copy of a million invoices then.
        let open = invoices.allSatisfy(\.openBalance.isPositive) ? invoices : invoices.filter(\.openBalance.isPositive)
        invoicesByNumber = IndexMultimap(capacity: open.count)
        invoicesByAmount = IndexMultimap(capacity: open.count * 2)
        var lastCustomer: (id: String, position: Int32)?
        var invoiceCustomer: [Int32] = []
        invoiceCustomer.reserveCapacity(open.count)
        var prefixes: Set<String> = []
        var currencyNumbers: [Currency: Int32] = [:]
        var lastCurrency: (Currency, Int32)?
        var keyless: [String: Int32] = [:]
        for (position, invoice) in open.enumerated() {
            let customer: Int32
            if let lastCustomer, lastCustomer.id == invoice.customerID {
                customer = lastCustomer.position
            } else if let known = customerByID[invoice.customerID] {
                customer = known
            } else {
                customer = Int32(customerList.count)
                customerByID[invoice.customerID] = customer
                customerList.append(PayerCustomer(id: invoice.customerID, number: "", name: ""))
            }
            invoiceCustomer.append(customer)
            lastCustomer = (invoice.customerID, customer)
            if let (prefix, key) = InvoiceNumberKey.split(invoice.number) {
                invoicesByNumber.insert(Int32(position), for: key)
                if !prefix.isEmpty, prefix.count <= 10, !prefixes.contains(prefix) { prefixes.insert(prefix) }
            } else {
                keyless[invoice.id] = Int32(position)
            }
            let currency = invoice.openBalance.currency
            let number: Int32
            if let lastCurrency, lastCurrency.0 == currency {
                number = lastCurrency.1
            } else {
                number = currencyNumbers[currency] ?? Int32(currencyNumbers.count)
                currencyNumbers[currency] = number
                lastCurrency = (currency, number)
            }
            let minorUnits = invoice.openBalance.minorUnits
            invoicesByAmount.insert(Int32(position), for: AmountKey(minorUnits: minorUnits, currency: number, customer: customer))
            invoicesByAmount.insert(Int32(position), for: AmountKey(minorUnits: minorUnits, currency: number, customer: -1))
        }
        var byCustomer = [[Int32]](repeating: [], count: customerList.count)
        for (position, customer) in invoiceCustomer.enumerated() { byCustomer[Int(customer)].append(Int32(position)) }
        for customer in byCustomer.indices where byCustomer[customer].count > 1 {
            byCustomer[customer].sort { Self.dueOrder(open[Int($0)], open[Int($1)]) }
        }
        var names: [(name: String, customer: Int32)] = []
        var normalizedNames: [String] = []
        for (position, customer) in customerList.enumerated() {
            let name = PayerName.normalized(customer.name)
            normalizedNames.append(name)
            guard !name.isEmpty else { continue }
            customersByName.insert(Int32(position), for: name)
            names.append((name, Int32(position)))
            for word in Set(name.split(separator: " ")) where word.count >= Self.shortestIndexedWord {
                customersByWord.insert(Int32(position), for: String(word))
            }
        }
        names.sort { $0.name < $1.name }
        self.invoices = open
        self.invoiceCustomer = invoiceCustomer
        self.invoicesByCustomer = byCustomer
        self.currencyNumbers = currencyNumbers
        self.keylessInvoices = keyless
        self.customers = customerList
        self.customerByID = customerByID
        self.sortedNames = names
        self.normalizedNames = normalizedNames
        self.aliasByName = Self.winners(aliases.filter { $0.kind == .name }, customerByID)
        self.aliasByAccount = Self.winners(aliases.filter { $0.kind == .account }, customerByID)
        self.citationReader = RemittanceCitations(prefixes: prefixes)
        var nameStarts: Set<String> = []
        for name in normalizedNames + aliases.filter({ $0.kind == .name }).map(\.key) {
            if let first = name.split(separator: " ", maxSplits: 1).first { nameStarts.insert(String(first)) }
        }
        self.nameStarts = nameStarts
    }

    /// Oldest due first (no due date last), then by number: the order payers pay in.
    private static func dueOrder(_ a: OpenInvoice, _ b: OpenInvoice) -> Bool {
        switch (a.dueDate, b.dueDate) {
        case let (x?, y?) where x != y: x < y
        case (.some, nil): true
        case (nil, .some): false
        default: a.number < b.number
        }
    }

    /// Per alias key, the customer taught more often than all others together, if there is one.
    private static func winners(_ aliases: [PayerAlias], _ customerByID: [String: Int32]) -> [String: (customer: Int32, taught: Int)] {
        var counts: [String: [Int32: Int]] = [:]
        for alias in aliases where !alias.key.isEmpty && alias.manualMatches > 0 {
            guard let customer = customerByID[alias.customerID] else { continue }
            counts[alias.key, default: [:]][customer, default: 0] += alias.manualMatches
        }
        var winners: [String: (customer: Int32, taught: Int)] = [:]
        for (key, byCustomer) in counts {
            let total = byCustomer.values.reduce(0, +)
            guard let best = byCustomer.max(by: { ($0.value, $1.key) < ($1.value, $0.key) }), best.value * 2 > total else { continue }
            winners[key] = (best.key, best.value)
        }
        return winners
    }

    // MARK: Lookups the matcher makes

    func invoice(_ position: Int32) -> OpenInvoice { invoices[Int(position)] }
    func customer(_ position: Int32) -> PayerCustomer { customers[Int(position)] }
    func customer(ofInvoice position: Int32) -> Int32 { invoiceCustomer[Int(position)] }

    /// Every invoice whose number has `key`, open or not: the invoices whose balances
    /// ``invoices(key:prefix:currency:)`` reads.
    func numbered(key: String) -> [Int32] { invoicesByNumber.values(for: key) }

    /// Open invoices in `currency` whose number has `key`; those with `prefix` when any has it.
    func invoices(key: String, prefix: String, currency: Currency) -> [Int32] {
        let hits = invoicesByNumber.values(for: key).filter {
            let invoice = invoices[Int($0)]
            return invoice.openBalance.currency == currency && invoice.openBalance.isPositive
        }
        guard hits.count > 1, !prefix.isEmpty else { return hits }
        let spelled = hits.filter { InvoiceNumberKey.split(invoices[Int($0)].number)?.prefix == prefix }
        return spelled.isEmpty ? hits : spelled
    }

    /// Open invoices of `customer` of exactly `amount`.
    func invoices(of customer: Int32, amount: Money) -> [Int32] {
        guard let key = amountKey(amount, customer: customer) else { return [] }
        return invoicesByAmount.values(for: key)
    }

    /// Open invoices of anyone of exactly `amount`.
    func invoices(amount: Money) -> [Int32] {
        guard let key = amountKey(amount, customer: -1) else { return [] }
        return invoicesByAmount.values(for: key)
    }

    func amountKey(_ amount: Money, customer: Int32) -> AmountKey? {
        currencyNumbers[amount.currency].map { AmountKey(minorUnits: amount.minorUnits, currency: $0, customer: customer) }
    }

    /// Open invoices of `customer` in `currency`, oldest due first.
    func invoices(of customer: Int32, currency: Currency) -> [Int32] {
        invoicesByCustomer[Int(customer)].filter {
            let balance = invoices[Int($0)].openBalance
            return balance.currency == currency && balance.isPositive
        }
    }

    func customer(id: String) -> Int32? { customerByID[id] }

    /// Whether invoice `a` comes before `b`: oldest due first, then by number.
    func dueOrder(_ a: Int32, _ b: Int32) -> Bool { Self.dueOrder(invoices[Int(a)], invoices[Int(b)]) }
    func customers(named name: String) -> [Int32] { customersByName.values(for: name) }
    /// The customer's name as ``PayerName/normalized(_:)`` compares it.
    func normalizedName(_ customer: Int32) -> String { normalizedNames[Int(customer)] }
    /// Whether some customer's or alias's name starts with `word`.
    func startsName(_ word: String) -> Bool { nameStarts.contains(word) }
    func alias(name: String) -> (customer: Int32, taught: Int)? { aliasByName[name] }
    func alias(account: String) -> (customer: Int32, taught: Int)? { aliasByAccount[account] }

    /// The customers whose normalized name starts with `prefix`, up to `limit` + 1 of them.
    func customers(namePrefix prefix: String, limit: Int) -> [Int32] {
        var low = 0
        var high = sortedNames.count
        while low < high {
            let middle = (low + high) / 2
            if sortedNames[middle].name < prefix { low = middle + 1 } else { high = middle }
        }
        var found: [Int32] = []
        while low < sortedNames.count, sortedNames[low].name.hasPrefix(prefix), found.count <= limit {
            if !found.contains(sortedNames[low].customer) { found.append(sortedNames[low].customer) }
            low += 1
        }
        return found
    }

    /// Words shorter than this are not indexed for similar names.
    static let shortestIndexedWord = 3
    /// A word shared by more customers than this is too common to find similar names by.
    static let mostCustomersPerWord = 500

    /// The customers whose normalized name is within one edit (a letter dropped, added, changed or
    /// two swapped) of `name`, or two edits when it has 12 characters or more, found among the
    /// customers sharing its least common indexed word: a misspelled word leaves the others to find
    /// it by. No customer when `name` has no word shared by at most
    /// ``mostCustomersPerWord`` customers, or is shorter than 6 characters.
    func customers(similarTo name: String) -> [Int32] {
        guard name.count >= 6 else { return [] }
        var pool: [Int32] = []
        for word in Set(name.split(separator: " ")) where word.count >= Self.shortestIndexedWord {
            let sharing = customersByWord.values(for: String(word))
            if !sharing.isEmpty, sharing.count <= Self.mostCustomersPerWord, pool.isEmpty || sharing.count < pool.count { pool = sharing }
        }
        let target = Array(name.unicodeScalars)
        let allowed = target.count >= 12 ? 2 : 1
        return pool.filter { Self.editDistance(Array(normalizedNames[Int($0)].unicodeScalars), target, atMost: allowed) <= allowed }
    }

    /// The optimal-string-alignment distance between `a` and `b` (insertions, deletions,
    /// substitutions and swaps of neighbours), or `limit` + 1 as soon as it must exceed `limit`.
    static func editDistance(_ a: [Unicode.Scalar], _ b: [Unicode.Scalar], atMost limit: Int) -> Int {
        guard abs(a.count - b.count) <= limit else { return limit + 1 }
        if a.isEmpty || b.isEmpty { return max(a.count, b.count) }
        var before = [Int](repeating: 0, count: b.count + 1)
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            var rowBest = i
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                var value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] { value = min(value, before[j - 2] + 1) }
                current[j] = value
                rowBest = min(rowBest, value)
            }
            guard rowBest <= limit else { return limit + 1 }
            (before, previous, current) = (previous, current, before)
        }
        return previous[b.count]
    }

    // MARK: Consuming balances within an import

    /// Takes `match`'s applications off the open balances: an invoice paid in full no longer
    /// matches by amount, one paid in part matches by what is left.
    public mutating func record(_ match: CashMatch) {
        var changes = MatchChanges()
        record(match, changes: &changes)
    }

    /// ``record(_:)``, adding to `changes` what it changed: the invoices whose balances it
    /// lowered, their customers, and the amount keys they left and joined.
    mutating func record(_ match: CashMatch, changes: inout MatchChanges) {
        for application in match.applications {
            let numbered = InvoiceNumberKey.split(application.invoiceNumber).map { invoicesByNumber.values(for: $0.key) } ?? []
            guard let position = numbered.first(where: { invoices[Int($0)].id == application.invoiceID }) ?? keylessInvoices[application.invoiceID]
            else { continue }
            let before = invoices[Int(position)].openBalance
            guard let after = try? before.subtracting(application.amount) else { continue }
            let customer = invoiceCustomer[Int(position)]
            changes.invoices.insert(position)
            changes.customers.insert(customer)
            for owner in [customer, -1] {
                if let key = amountKey(before, customer: owner) {
                    invoicesByAmount.remove(position, for: key)
                    changes.amounts.insert(key)
                }
                if after.isPositive, let key = amountKey(after, customer: owner) {
                    invoicesByAmount.insert(position, for: key)
                    changes.amounts.insert(key)
                }
            }
            invoices[Int(position)].openBalance = after
        }
    }
}

/// What one receipt's match read of the part of a ``MatchIndex`` that ``MatchIndex/record(_:)``
/// changes: open balances of single invoices, all of a customer's open invoices, and which
/// invoices are open at an amount (a key of customer -1 is anyone's). Everything else the
/// matcher reads (names, numbers, due dates, aliases) no import changes.
struct MatchReads: Sendable {
    var invoices: [Int32] = []
    var customers: [Int32] = []
    var amounts: [MatchIndex.AmountKey] = []
}

/// What the receipts recorded so far in an import changed in a ``MatchIndex`` (see
/// ``MatchReads``): a match whose reads it does not touch is the match the changed index gives.
struct MatchChanges: Sendable {
    var invoices: Set<Int32> = []
    var customers: Set<Int32> = []
    var amounts: Set<MatchIndex.AmountKey> = []

    func touches(_ reads: MatchReads) -> Bool {
        reads.invoices.contains(where: invoices.contains) || reads.customers.contains(where: customers.contains)
            || reads.amounts.contains(where: amounts.contains)
    }
}

/// A map from keys to invoice or customer positions that stores the usual single position
/// inline, and a list only for keys that have several: a million invoices cost a million
/// dictionary entries, not a million arrays.
struct IndexMultimap<Key: Hashable & Sendable>: Sendable {
    private var single: [Key: Int32] = [:]
    private var several: [Key: [Int32]] = [:]

    init(capacity: Int = 0) {
        single.reserveCapacity(capacity)
    }

    /// One hash for a new key in the usual case (no key has several yet, or this one has not).
    mutating func insert(_ value: Int32, for key: Key) {
        if let existing = single.updateValue(value, forKey: key) {
            single.removeValue(forKey: key)
            several[key] = [existing, value]
        } else if !several.isEmpty, several[key] != nil {
            single.removeValue(forKey: key)
            several[key]!.append(value)
        }
    }

    mutating func remove(_ value: Int32, for key: Key) {
        if single[key] == value {
            single[key] = nil
        } else if var list = several.removeValue(forKey: key) {
            list.removeAll { $0 == value }
            if list.count == 1 { single[key] = list[0] } else if !list.isEmpty { several[key] = list }
        }
    }

    func values(for key: Key) -> [Int32] {
        if let value = single[key] { return [value] }
        return several[key] ?? []
    }
}
