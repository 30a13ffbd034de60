import Crypto
import DunlinCore
import DunlinSync
import Foundation
import GRDB

/// What the matching decided for one new receipt of an import (the store turns it into the
/// receipt record, its payment and its applications).
public struct CashDecision: Sendable, Hashable {
    public var outcome: ReceiptOutcome
    public var customerID: String
    public var applications: [ReceiptApplication]
    public var suggestions: [ReceiptSuggestion]
    public var explanation: String
    /// How a short or over payment could be settled; a write-off becomes an approval request.
    public var proposal: SettlementProposal?

    public init(
        outcome: ReceiptOutcome, customerID: String = "", applications: [ReceiptApplication] = [], suggestions: [ReceiptSuggestion] = [],
        explanation: String = "", proposal: SettlementProposal? = nil
    ) {
        self.outcome = outcome
        self.customerID = customerID
        self.applications = applications
        self.suggestions = suggestions
        self.explanation = explanation
        self.proposal = proposal
    }
}

/// The ledger as the matching of one import sees it, read inside the import's transaction: every
/// open invoice with a positive balance (``TenantStore/matchableInvoices(_:)``), every customer,
/// and the payer aliases manual matches taught (``TenantStore/learnedAliases(_:)``).
public struct CashLedger: Sendable {
    public var openInvoices: [OpenInvoice]
    public var customers: [Customer]
    public var aliases: [PayerAlias]
}

/// What one bank-file import did.
public struct BankImportSummary: Sendable, Hashable {
    /// The file's record: new, or the one an earlier import of the same bytes wrote.
    public var file: BankFile
    /// Whether these exact bytes had been imported before (nothing was written this time).
    public var alreadyImported: Bool
    /// The receipts this import wrote, in file order (none when already imported).
    public var receipts: [CashReceipt]
    /// Receipts of the file another import had already brought (a re-sent file, an overlapping
    /// notification and statement): skipped.
    public var duplicates: Int
}

extension TenantStore {
    /// Imports the receipts read from one bank file, in one transaction: all of it or nothing.
    ///
    /// The file's id is the SHA-256 of its bytes: the same bytes a second time write nothing and
    /// answer with the first import's record. A receipt whose bank identity an earlier import
    /// already brought (from any file) is skipped and counted as a duplicate. `decide` gets the
    /// new receipts and the ledger as it stands inside the transaction, and answers one decision
    /// per receipt, in order; a credit with a customer is posted as its payment
    /// (``CashReceipt/paymentID(forReceipt:)``) and applied as decided, under the ledger rules,
    /// so a decision that would over-apply an invoice refuses the whole import. A short payment
    /// within tolerance becomes, in the same transaction, a pending request to write the short
    /// amount off (``writeOffRequestID(forReceipt:)``), asked by the importer and decided by
    /// someone else like any other request; nothing is written off before it is approved.
    public func importBankFile(
        name: String, format: String, digest: SHA256.Digest, bytes: Int64, receipts: [BankReceipt], by user: String, at now: Date,
        decide: @Sendable ([BankReceipt], CashLedger) throws -> [CashDecision]
    ) throws -> BankImportSummary {
        try importBankFile(name: name, format: format, digest: digest, bytes: bytes, receipts: receipts, by: user, at: now, rulesRead: .importLedger, decide: decide)
    }

    /// Where an import's ledger rules read the ledger: from ``CashImportLedger`` (what the
    /// import holds in memory), or from the database entry by entry, as ``post(_:)`` does: the
    /// reference the tests hold the first to.
    enum ImportRulesRead: Sendable { case importLedger, database }

    /// Writes the receipts, their entries, change-log lines and stamps in the order of the
    /// receipts' ids, which the ids of everything a receipt writes follow, so each B-tree is
    /// written from one end to the other instead of at random places (one transaction: the order
    /// is free).
    ///
    /// On ``ImportRulesRead/importLedger`` every entry and request is checked first, in file order
    /// and in memory, so a refusal names what the file names first; then each table's rows are
    /// written in one pass (``CashImportWrites``). On ``ImportRulesRead/database`` (the reference)
    /// each receipt is checked and written in turn; a refusal rolls it all back and the import runs
    /// again in file order, so the refusal names the entry it would have named had the writes been
    /// in file order (which of two receipts that together over-apply an invoice is refused depends
    /// on the order).
    func importBankFile(
        name: String, format: String, digest: SHA256.Digest, bytes: Int64, receipts: [BankReceipt], by user: String, at now: Date,
        rulesRead: ImportRulesRead, decide: @Sendable ([BankReceipt], CashLedger) throws -> [CashDecision]
    ) throws -> BankImportSummary {
        do {
            return try importBankFile(
                name: name, format: format, digest: digest, bytes: bytes, receipts: receipts, by: user, at: now, rulesRead: rulesRead,
                inKeyOrder: true, decide: decide
            )
        } catch let refusal where rulesRead == .database && (refusal is StoreError || refusal is DomainError) {
            return try importBankFile(
                name: name, format: format, digest: digest, bytes: bytes, receipts: receipts, by: user, at: now, rulesRead: rulesRead,
                inKeyOrder: false, decide: decide
            )
        }
    }

    func importBankFile(
        name: String, format: String, digest: SHA256.Digest, bytes: Int64, receipts: [BankReceipt], by user: String, at now: Date,
        rulesRead: ImportRulesRead, inKeyOrder: Bool, decide: @Sendable ([BankReceipt], CashLedger) throws -> [CashDecision]
    ) throws -> BankImportSummary {
        let fileID = CashIDs.file(digest: digest)
        return try writer.write { db in try Self.withImportCache(db) {
            if let existing = try BankFileRow.fetchOne(db, key: fileID) {
                return BankImportSummary(file: try existing.record(), alreadyImported: true, receipts: [], duplicates: receipts.count)
            }
            let ids = receipts.map { CashIDs.receipt(identity: $0.identity) }
            // Any row, a tombstone too: ids are never reused.
            var seen = try Self.present(ids, in: BankReceiptRow.databaseTableName, db)
            var fresh: [(id: String, receipt: BankReceipt)] = []
            for (id, receipt) in zip(ids, receipts) where seen.insert(id).inserted {
                fresh.append((id, receipt))
            }
            let ledger = CashLedger(
                openInvoices: try Self.matchableInvoices(db),
                customers: try CustomerRow.fetchAll(db).map(\.customer),
                aliases: try Self.learnedAliases(db)
            )
            let decisions = try decide(fresh.map(\.receipt), ledger)
            guard decisions.count == fresh.count else {
                throw DomainError.invalid(field: "receipts", "the matching answered \(decisions.count) decisions for \(fresh.count) receipts")
            }
            // The receipts as written, each with the entries it posts (none for a debit or a
            // receipt tied to no customer).
            var planned: [(record: CashReceipt, entries: [LedgerEntry], proposal: SettlementProposal?)] = []
            planned.reserveCapacity(fresh.count)
            for ((id, receipt), decision) in zip(fresh, decisions) {
                var record = CashReceipt(
                    id: id, fileID: fileID, receipt: receipt, outcome: decision.outcome, customerID: decision.customerID,
                    applications: decision.applications, suggestions: decision.suggestions, explanation: decision.explanation, importedAt: now
                )
                guard receipt.direction == .credit, !decision.customerID.isEmpty else {
                    planned.append((record, [], nil))
                    continue
                }
                record.paymentID = CashReceipt.paymentID(forReceipt: id)
                planned.append((record, Self.entries(posting: record, fileName: name), decision.proposal))
            }
            // The bulk path: the derived tables follow once for the file's entries, not per entry.
            let written = try BulkDerivation.run(db) { bulk in
                let writer = LedgerWriter(db: db, bulk: bulk)
                // Each receipt's entries are numbered in file order (a refusal names its entry so).
                var firstEntry: [Int] = []
                firstEntry.reserveCapacity(planned.count)
                var entries = 0
                for receipt in planned {
                    firstEntry.append(entries)
                    entries += receipt.entries.count
                }
                // The receipts are written in the order of their ids (a receipt's payment still
                // before its applications), or in file order.
                let order = inKeyOrder ? planned.indices.sorted { planned[$0].record.id < planned[$1].record.id } : Array(planned.indices)
                switch rulesRead {
                case .importLedger:
                    // The rules read the ledger the matching read, and what this import checked before.
                    var rules = try CashImportLedger(ledger, base: writer.state, posting: planned.flatMap(\.entries))
                    var checked: [CashImportWrites.Receipt] = []
                    checked.reserveCapacity(planned.count)
                    for (position, (record, entries, proposal)) in planned.enumerated() {
                        var receipt = CashImportWrites.Receipt(record: record)
                        for (offset, entry) in entries.enumerated() {
                            // A retry of an entry already there exactly so is not written again.
                            guard try writer.check(entry, index: firstEntry[position] + offset, against: rules) else { continue }
                            try rules.record(entry)
                            receipt.entries.append(entry)
                        }
                        if let request = Self.writeOffRequest(for: &receipt.record, proposal, fileName: name, by: user) {
                            try Self.check(request, db)
                            let row = ApprovalRequestRow(request)
                            receipt.request = (row, try SaveChange(row, db))
                        }
                        checked.append(receipt)
                    }
                    try CashImportWrites(receipts: order.map { checked[$0] }).write(db, ledger: writer, stampedAt: Self.nowMilliseconds)
                    return checked.map(\.record)
                case .database:
                    var written = planned.map(\.record)
                    for position in order {
                        let (_, entries, proposal) = planned[position]
                        var record = written[position]
                        for (offset, entry) in entries.enumerated() {
                            try writer.post(entry, index: firstEntry[position] + offset)
                        }
                        if let request = Self.writeOffRequest(for: &record, proposal, fileName: name, by: user) {
                            try Self.check(request, db)
                            try Self.save(ApprovalRequestRow(request), db)
                        }
                        // New: its id was looked for above.
                        try Self.insertNew(BankReceiptRow(record), db, changedAt: writer.at)
                        written[position] = record
                    }
                    return written
                }
            }
            let credits = written.filter { $0.receipt.direction == .credit }
            let file = BankFile(
                id: fileID, name: name, format: format, bytes: bytes, importedAt: now, importedBy: user, receipts: receipts.count,
                newReceipts: written.count, notCredits: written.count - credits.count, credits: credits.count,
                customerMatches: credits.filter { !$0.customerID.isEmpty }.count,
                invoiceMatches: credits.filter { $0.outcome == .matched }.count
            )
            try Self.save(BankFileRow(file), db)
            return BankImportSummary(file: file, alreadyImported: false, receipts: written, duplicates: receipts.count - written.count)
        } }
    }

    /// The request to write off the short amount a receipt's decision proposed, if it proposed a
    /// write-off of an invoice; the receipt's explanation then names the request.
    static func writeOffRequest(for record: inout CashReceipt, _ proposal: SettlementProposal?, fileName: String, by user: String) -> ApprovalRequest? {
        guard let proposal, proposal.kind == .writeOff, let invoice = proposal.invoiceID else { return nil }
        let request = ApprovalRequest(
            id: writeOffRequestID(forReceipt: record.id), kind: .writeOff, customerID: record.customerID, invoiceID: invoice,
            amount: proposal.amount, reason: "\(proposal.reason) (bank receipt \(record.id), file \(fileName))", requestedBy: user,
            requestedOn: record.receipt.bookingDate
        )
        record.explanation += "; write-off asked for approval as \(request.id)"
        return request
    }

    /// Every live invoice with a positive balance, as the matching reads it: its number is its
    /// reference (the ERP's number), else its id; oldest due first, then by id. Read by position
    /// with only the columns the matching uses: an import reads a million of them.
    public static func matchableInvoices(_ db: Database) throws -> [OpenInvoice] {
        let rows = try Row.fetchCursor(db, sql: """
            SELECT b.invoice_id, b.customer_id, i.reference, b.currency, b.gross, b.due_date
            FROM invoice_balance b JOIN ledger_entry i ON i.id = b.invoice_id
            WHERE b.reversed_on IS NULL AND b.gross > 0 ORDER BY b.due_date, b.invoice_id
            """)
        var invoices: [OpenInvoice] = []
        var last: (code: String, currency: Currency)?
        while let row = try rows.next() {
            let code: String = row[3]
            guard let currency = last?.code == code ? last?.currency : Currency(code: code) else { continue }
            last = (code, currency)
            let id: String = row[0], reference: String = row[2]
            invoices.append(OpenInvoice(
                id: id, customerID: row[1], number: reference.isEmpty ? id : reference, openBalance: Money(minorUnits: row[4], currency: currency),
                dueDate: (row[5] as String?).flatMap(CivilDate.init)
            ))
        }
        return invoices
    }

    /// Which of `ids` have a row in `table` (keyed by `id`): one query over a JSON array of them,
    /// where a lookup each cost an import of 100,000 receipts seconds.
    static func present(_ ids: [String], in table: String, _ db: Database) throws -> Set<String> {
        guard !ids.isEmpty else { return [] }
        return Set(try String.fetchAll(db, sql: "SELECT id FROM \(table) WHERE id IN (SELECT value FROM json_each(?))", arguments: [try jsonArray(ids)]))
    }

    /// `strings` as a JSON array, for `json_each(?)`: one argument however many.
    static func jsonArray(_ strings: [String]) throws -> String {
        String(decoding: try JSONEncoder().encode(strings), as: UTF8.self)
    }

    /// The id of the write-off request a short payment within tolerance makes: `req_` and the
    /// receipt id's digits, so a receipt asks once.
    public static func writeOffRequestID(forReceipt id: String) -> String {
        "req_" + id.dropFirst("rcpt_".count)
    }

    /// The payer aliases manual matches taught. A receipt the import tied to no customer whose
    /// payment (``CashReceipt/paymentID(forReceipt:)``) was later posted on a customer by hand
    /// (`dunlin cash assign` or `apply`, on the server or on a laptop and synced) teaches that
    /// customer its payer name and its payer account, once per receipt; ``MatchIndex`` lets the
    /// customer taught most often win, or nobody when the teaching disagrees. A payer named only
    /// in free remittance text teaches nothing: which of its words are the name cannot be told.
    public static func learnedAliases(_ db: Database) throws -> [PayerAlias] {
        let rows = try Row.fetchCursor(db, sql: """
            SELECT r.*, e.customer_id AS taught_customer FROM bank_receipt r
            JOIN ledger_entry e ON e.id = 'pay_' || substr(r.id, 6) AND e.kind = 'payment'
            WHERE r.customer_id = '' AND r.deleted = 0
            """)
        var aliases: [PayerAlias] = []
        while let row = try rows.next() {
            let customer: String = row["taught_customer"]
            let receipt = try BankReceiptRow(row: row).record().receipt
            guard !customer.isEmpty, receipt.direction == .credit else { continue }
            if !PayerName.normalized(receipt.payerName).isEmpty { aliases.append(.name(receipt.payerName, customerID: customer)) }
            if !PayerName.normalizedAccount(receipt.payerAccount).isEmpty { aliases.append(.account(receipt.payerAccount, customerID: customer)) }
        }
        return aliases
    }

    /// The payment a receipt is posted as, and its applications: the payment dated the booking
    /// day, referenced by the bank's reference, its memo naming the file and line.
    static func entries(posting receipt: CashReceipt, fileName: String) -> [LedgerEntry] {
        let bank = receipt.receipt
        let payment = LedgerEntry(
            id: receipt.paymentID, kind: .payment, customerID: receipt.customerID, amount: bank.amount, date: bank.bookingDate,
            reference: bank.bankReference.isEmpty ? bank.endToEndID : bank.bankReference,
            memo: "bank file \(fileName) line \(bank.line)"
        )
        let applications = receipt.applications.enumerated().map { index, application in
            LedgerEntry(
                id: "app_\(receipt.paymentID.dropFirst(4))_\(index + 1)", kind: .application, customerID: receipt.customerID,
                amount: application.amount, date: bank.bookingDate, sourceID: receipt.paymentID, targetID: application.invoiceID,
                memo: "\(application.rule), \(application.confidence)%"
            )
        }
        return [payment] + applications
    }

    public func bankFiles(page: PageRequest = .first) throws -> Page<BankFile> {
        try read(BankFileRow.live, page, ListOrder(BankFileRow.self, by: BankFileRow.Columns.importedAt)) { try BankFileRow(row: $0).record() }
    }

    /// Receipts in booking-day order, then id; of one file when given. `waiting`: only those an
    /// analyst still has to settle, as the ledger stands: credits whose payment (the import's, or
    /// one posted by hand under the receipt's payment id) is not posted yet or still has cash
    /// unapplied. A payment applied in full, or voided, settles its receipt.
    public func cashReceipts(fileID: String? = nil, waiting: Bool = false, page: PageRequest = .first) throws -> Page<CashReceipt> {
        let columns = BankReceiptRow.Columns.self
        var request = BankReceiptRow.live.matching(columns.fileID, fileID)
        if waiting {
            request = request.filter(sql: """
                outcome <> 'not_credit' AND NOT EXISTS (
                    SELECT 1 FROM source_balance s WHERE s.source_id = 'pay_' || substr(bank_receipt.id, 6)
                      AND (s.gross <= 0 OR s.reversed_on IS NOT NULL))
                """)
        }
        return try read(request, page, ListOrder(BankReceiptRow.self, by: columns.bookingDate)) { try BankReceiptRow(row: $0).record() }
    }

    /// What of each receipt is not applied to invoices yet, in one read of the ledger as it
    /// stands: nothing of a debit, the whole amount of a credit not posted, its payment's
    /// unapplied cash once posted (under the receipt's payment id, by the import or by hand).
    public func unapplied(of receipts: [CashReceipt]) throws -> [Money] {
        try writer.read { db in
            try SQLLedgerState.checking(db) { state in
                receipts.map { receipt in
                    let bank = receipt.receipt
                    guard bank.direction == .credit else { return Money(minorUnits: 0, currency: bank.amount.currency) }
                    return state.unapplied(ofSource: CashReceipt.paymentID(forReceipt: receipt.id)) ?? bank.amount
                }
            }
        }
    }

    public func cashReceipt(_ id: String) throws -> CashReceipt? {
        try writer.read { db in try BankReceiptRow.fetchOne(db, key: id)?.record() }
    }
}
