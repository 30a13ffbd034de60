import DunlinCore
import Foundation
import GRDB

/// The ledger rules' view of the database during a bank-file import, answered from memory where
/// the import already knows the answer: the open invoices with their balances and the customers
/// read for matching (``CashLedger``), the payments and applications the import has posted since,
/// and which of the import's entry ids the database lacks (read in one query). Only the invoices
/// the import applies to are kept. Anything else (an
/// invoice the matching did not see, a source posted earlier by someone else) is read from the
/// database, which every post updates at once, so the answers are always the database's.
///
/// It answers as ``SQLLedgerState`` would over the same transaction, because:
/// - an open invoice read inside the transaction changes only by this import's entries, which
///   ``record(_:)`` takes off its balance; it has no reversal (`reversed_on` is NULL);
/// - a payment posted by the import is unapplied by its amount less what the import applied of
///   it, and has no reversal;
/// - a customer exists if the import's read of the customer table found it.
///
/// ``record(_:)`` keeps memory only for payments and applications (all an import posts); any other
/// kind drops what it kept, and the database answers from then on.
struct CashImportLedger: LedgerState {
    private let base: SQLLedgerState
    private var invoices: [String: (entry: LedgerEntry, open: Money)]
    private let customers: Set<String>
    /// Entries posted through this view, and the unapplied cash of the payments among them.
    private var posted: [String: LedgerEntry] = [:]
    private var unappliedBySource: [String: Money] = [:]
    /// Ids the database was found not to hold (and that were not posted since).
    private var absent: Set<String>

    /// A view over `base`'s database from `ledger` (read in the same transaction) for posting
    /// `entries`: it keeps the open invoices they apply to, and which of their ids the database lacks.
    init(_ ledger: CashLedger, base: SQLLedgerState, posting entries: [LedgerEntry]) throws {
        self.base = base
        let db = base.db
        let targets = Set(entries.lazy.filter { $0.kind == .application }.compactMap(\.targetID))
        var open: [String: Money] = [:]
        open.reserveCapacity(targets.count)
        for invoice in ledger.openInvoices where targets.contains(invoice.id) {
            open[invoice.id] = invoice.openBalance
        }
        // Their entries, in one query.
        var invoices: [String: (entry: LedgerEntry, open: Money)] = [:]
        invoices.reserveCapacity(open.count)
        let rows = try LedgerEntryRow.fetchCursor(db, sql: "SELECT * FROM ledger_entry WHERE id IN (SELECT value FROM json_each(?))", arguments: [TenantStore.jsonArray(Array(open.keys))])
        while let row = try rows.next() {
            if let entry = row.entry, entry.kind == .invoice, let balance = open[entry.id] { invoices[entry.id] = (entry, balance) }
        }
        self.invoices = invoices
        customers = Set(ledger.customers.map(\.id))
        let ids = entries.map(\.id)
        var absent = Set(ids)
        absent.subtract(try TenantStore.present(ids, in: LedgerEntryRow.databaseTableName, db))
        self.absent = absent
    }

    /// Takes `entry`, just written, into the view.
    mutating func record(_ entry: LedgerEntry) throws {
        absent.remove(entry.id)
        switch entry.kind {
        case .payment, .creditMemo:
            posted[entry.id] = entry
            unappliedBySource[entry.id] = entry.amount
        case .application:
            posted[entry.id] = entry
            if let source = entry.sourceID, let unapplied = unappliedBySource[source] {
                unappliedBySource[source] = try unapplied.subtracting(entry.amount)
            }
            if let target = entry.targetID, var invoice = invoices[target] {
                invoice.open = try invoice.open.subtracting(entry.amount)
                invoices[target] = invoice
            }
        default:
            posted = [:]
            invoices = [:]
            unappliedBySource = [:]
        }
    }

    /// Throws the first database read that failed (see ``SQLLedgerState/check()``).
    func check() throws { try base.check() }

    func entry(_ id: String) -> LedgerEntry? {
        if let entry = posted[id] ?? invoices[id]?.entry { return entry }
        return absent.contains(id) ? nil : base.entry(id)
    }

    func contains(_ id: String) -> Bool {
        if posted[id] != nil || invoices[id] != nil { return true }
        return absent.contains(id) ? false : base.contains(id)
    }

    func reversal(of id: String) -> LedgerEntry? {
        if posted[id] != nil || invoices[id] != nil || absent.contains(id) { return nil }
        return base.reversal(of: id)
    }

    func openBalance(ofInvoice id: String) -> Money? {
        if let invoice = invoices[id] { return invoice.open }
        return absent.contains(id) ? nil : base.openBalance(ofInvoice: id)
    }

    func unapplied(ofSource id: String) -> Money? {
        if let unapplied = unappliedBySource[id] { return unapplied }
        return absent.contains(id) || posted[id] != nil ? nil : base.unapplied(ofSource: id)
    }

    func hasLiveApplications(_ id: String) -> Bool { base.hasLiveApplications(id) }

    func hasCustomer(_ id: String) -> Bool { customers.contains(id) }
}
