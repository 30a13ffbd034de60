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


/// What a bank-file import writes once every entry and request of it has passed the rules, written
/// table by table: the change log, then the ledger entries, the write-off requests and their
/// stamps, the receipts and their stamps, each in one pass through one cached statement.
///
/// It writes what checking and writing each receipt in turn writes (`importBankFile` with
/// ``TenantStore/ImportRulesRead/database``, held to it by `CashImportWriteTests`), because:
/// - each table's rows go in in the same order as there (the receipts' order, a receipt's payment
///   before its applications), so rowids and change-log sequence numbers are the same;
/// - the change log is written first, its lines in the order the per-receipt writes made them
///   (a receipt's entries, its request, the receipt), so each line has the same `seq`, and the
///   stamps written after it carry those seqs;
/// - no trigger of the tables written reads another of them (the ledger's possible-duplicate
///   trigger reads the ledger alone, whose rows keep their order), and the stamps' keys are
///   distinct, so the order of the passes changes nothing.
/// Only the times differ: every line and stamp has the transaction's one time, where the per-row
/// path took the clock per request and per stamp.
struct CashImportWrites {
    /// One receipt's writes: its entries the rules accepted (a retry of an entry already there is
    /// left out), its write-off request, and the receipt.
    struct Receipt {
        var record: CashReceipt
        var entries: [LedgerEntry] = []
        var request: (row: ApprovalRequestRow, change: SaveChange<ApprovalRequestRow>)?
    }

    /// In the order they are written.
    var receipts: [Receipt]

    func write(_ db: Database, ledger: LedgerWriter, stampedAt: Int64) throws {
        var requestSeqs: [Int64] = [], receiptSeqs: [Int64] = []
        receiptSeqs.reserveCapacity(receipts.count)
        let log = try db.cachedStatement(sql: "INSERT INTO change_log (record_kind, record_id, op, dot_replica, dot_counter, at) VALUES (?, ?, ?, NULL, NULL, ?)")
        func logged(_ kind: RecordKind, _ id: String, _ op: String) throws -> Int64 {
            log.setUncheckedArguments([kind.rawValue, id, op, ledger.at])
            try log.execute()
            return db.lastInsertedRowID
        }
        for receipt in receipts {
            for entry in receipt.entries { _ = try logged(.ledgerEntry, entry.id, "insert") }
            if let request = receipt.request, let op = request.change.op { requestSeqs.append(try logged(.approvalRequest, request.row.id, op)) }
            receiptSeqs.append(try logged(.bankReceipt, receipt.record.id, "insert"))
        }

        for receipt in receipts {
            for entry in receipt.entries { try ledger.insertRow(entry) }
        }

        let requests = receipts.compactMap(\.request).filter { $0.change.op != nil }
        for ((row, change), seq) in zip(requests, requestSeqs) {
            try change.write(row, db)
            try change.stamp(row, seq: seq, db, at: stampedAt)
        }

        let insert = try db.cachedStatement(sql: """
            INSERT INTO bank_receipt (id, file_id, outcome, customer_id, payment_id, booking_date, body, deleted) VALUES (?, ?, ?, ?, ?, ?, ?, 0)
            """)
        for receipt in receipts {
            let record = receipt.record
            insert.setUncheckedArguments([
                record.id, record.fileID, record.outcome.rawValue, record.customerID, record.paymentID, record.receipt.bookingDate.description,
                BankReceiptRow.body(record),
            ])
            try insert.execute()
        }

        // Each new receipt's fields stamped at once (``TenantStore/stampWholeRecord``), as its change.
        let stamp = try db.cachedStatement(sql: """
            INSERT OR REPLACE INTO field_stamp (record_kind, record_id, field, seq, dot_replica, dot_counter, at) VALUES (?, ?, ?, ?, NULL, NULL, ?)
            """)
        for (receipt, seq) in zip(receipts, receiptSeqs) {
            stamp.setUncheckedArguments([RecordKind.bankReceipt.rawValue, receipt.record.id, TenantStore.wholeRecordField, seq, stampedAt])
            try stamp.execute()
        }
    }
}
