/// A tenant's ledger held in memory: every entry, with balances derived from them. Used for
/// validation in tests and tools; the store derives the same balances with indexed queries.
public struct Ledger: LedgerState, Sendable {
    public private(set) var entries: [String: LedgerEntry] = [:]
    private var reversals: [String: String] = [:]
    private var byInvoice: [String: [String]] = [:]
    private var bySource: [String: [String]] = [:]
    /// The tenant's customers, or nil for a ledger that does not model them (then any customer id
    /// is taken as known).
    public var customers: Set<String>?

    public init(customers: Set<String>? = nil) {
        self.customers = customers
    }

    public func hasCustomer(_ id: String) -> Bool { customers?.contains(id) ?? true }

    /// Validates and writes an entry; nothing changes when it is refused.
    public mutating func post(_ entry: LedgerEntry) throws(DomainError) {
        try LedgerRules.validate(entry, against: self)
        insert(entry)
    }

    /// Writes an entry without validation (set union of entries already validated elsewhere).
    public mutating func insert(_ entry: LedgerEntry) {
        guard entries[entry.id] == nil else { return }
        entries[entry.id] = entry
        switch entry.kind {
        case .reversal:
            if let target = entry.targetID { reversals[target] = entry.id }
        case .application, .adjustment, .writeOff:
            if let target = entry.targetID { byInvoice[target, default: []].append(entry.id) }
            if let source = entry.sourceID { bySource[source, default: []].append(entry.id) }
        case .refund:
            if let source = entry.sourceID { bySource[source, default: []].append(entry.id) }
        default:
            break
        }
    }

    public func entry(_ id: String) -> LedgerEntry? { entries[id] }

    public func reversal(of id: String) -> LedgerEntry? { reversals[id].flatMap { entries[$0] } }

    private func isLive(_ id: String) -> Bool { reversals[id] == nil }

    public func openBalance(ofInvoice id: String) -> Money? {
        guard let invoice = entries[id], invoice.kind == .invoice else { return nil }
        var open = Int128(invoice.amount.minorUnits)
        for entryID in byInvoice[id] ?? [] where isLive(entryID) {
            let entry = entries[entryID]!
            switch entry.kind {
            case .adjustment: open += Int128(entry.amount.minorUnits)
            case .application, .writeOff: open -= Int128(entry.amount.minorUnits)
            default: break
            }
        }
        return Money(minorUnits: isLive(id) ? Self.clamped(open) : 0, currency: invoice.amount.currency)
    }

    public func unapplied(ofSource id: String) -> Money? {
        guard let source = entries[id], source.isCashSource else { return nil }
        var unapplied = Int128(source.amount.minorUnits)
        for entryID in bySource[id] ?? [] where isLive(entryID) {
            unapplied -= Int128(entries[entryID]!.amount.minorUnits)
        }
        return Money(minorUnits: isLive(id) ? Self.clamped(unapplied) : 0, currency: source.amount.currency)
    }

    /// A balance summed wide, as Int64: entries inserted without validation (``insert(_:)``) may
    /// exceed it, and the ledger rules then refuse anything more on that balance as out of range.
    private static func clamped(_ value: Int128) -> Int64 {
        Int64(exactly: value) ?? (value < 0 ? .min : .max)
    }

    public func hasLiveApplications(_ id: String) -> Bool {
        let related = (byInvoice[id] ?? []) + (bySource[id] ?? [])
        return related.contains { entries[$0]?.kind == .application && isLive($0) }
    }

    /// Open items for aging: every live invoice with a balance.
    public var agingItems: [AgingItem] {
        entries.values.compactMap { entry in
            guard entry.kind == .invoice, let due = entry.dueDate, let open = openBalance(ofInvoice: entry.id), !open.isZero else {
                return nil
            }
            return AgingItem(customerID: entry.customerID, dueDate: due, open: open)
        }
    }
}
