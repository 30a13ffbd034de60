import DunlinCore
import Foundation
import GRDB

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
