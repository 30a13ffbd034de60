import Crypto
import DunlinCore
@testable import DunlinStore
import DunlinSync
import Foundation
import GRDB
import Testing

private func usd(_ minor: Int64) -> Money { Money(minorUnits: minor, currency: .usd) }
private func eur(_ minor: Int64) -> Money { Money(minorUnits: minor, currency: .eur) }
private let day = CivilDate("2026-11-02")!
private let importedAt = Date(timeIntervalSince1970: 1_793_000_000)

/// The bank import checks its payments and applications against what it holds in memory
/// (``CashImportLedger``) instead of reading the ledger entry by entry: held to the per-entry
/// path, it must write the same rows, balances and change log, and refuse the same files.
@Suite("Bank import writes")
struct CashImportWriteTests {
    /// A tenant with invoices open, part paid, voided and in euros, and a payment posted by hand
    /// under the payment id of receipt 7 (the import finds it and posts it no second time).
    private static func tenant() throws -> TenantStore {
        let store = try TenantStore()
        try store.addCustomers("C1", "C2", "C3")
        var entries: [LedgerEntry] = []
        for index in 1...12 {
            entries.append(LedgerEntry(
                id: "I\(index)", kind: .invoice, customerID: "C\(index % 3 + 1)", amount: index == 12 ? eur(50_000) : usd(Int64(index) * 10_000),
                date: day.adding(days: -30), dueDate: day.adding(days: index), reference: "INV-\(index)"
            ))
        }
        entries.append(LedgerEntry(id: "P0", kind: .payment, customerID: "C2", amount: usd(5_000), date: day.adding(days: -3)))
        entries.append(LedgerEntry(id: "A0", kind: .application, customerID: "C2", amount: usd(5_000), date: day.adding(days: -3), sourceID: "P0", targetID: "I4"))
        entries.append(LedgerEntry(id: "V9", kind: .reversal, amount: usd(90_000), date: day.adding(days: -2), targetID: "I9"))
        let handPosted = CashReceipt(id: receiptID(7), fileID: "", receipt: line(7, usd(7_000)), outcome: .unidentified, importedAt: importedAt)
        entries += TenantStore.entries(posting: withPayment(handPosted, customer: "C1"), fileName: "month.bai2")
        try store.post(entries)
        return store
    }

    private static func line(_ number: Int, _ amount: Money, direction: ReceiptDirection = .credit) -> BankReceipt {
        BankReceipt(
            identity: "bai2:acct:\(number)", format: "bai2", account: "123", amount: amount, direction: direction, bookingDate: day,
            bankReference: "REF\(number)", remittance: "INV-\(number)", line: number
        )
    }

    private static func receiptID(_ number: Int) -> String { CashIDs.receipt(identity: line(number, usd(1)).identity) }

    private static func withPayment(_ receipt: CashReceipt, customer: String) -> CashReceipt {
        var receipt = receipt
        receipt.customerID = customer
        receipt.paymentID = CashReceipt.paymentID(forReceipt: receipt.id)
        return receipt
    }

    private static func applying(_ customer: String, _ applications: [(String, Money)], outcome: ReceiptOutcome = .matched, proposal: SettlementProposal? = nil) -> CashDecision {
        CashDecision(
            outcome: outcome, customerID: customer,
            applications: applications.map { ReceiptApplication(invoiceID: $0.0, amount: $0.1, rule: "structured_reference", confidence: 95) },
            explanation: "test", proposal: proposal
        )
    }

    /// Imports `lines` decided by `decisions` into a fresh tenant, its rules reading `read`;
    /// answers every table's rows (wall-clock columns left out) or the refusal.
    private static func imported(_ lines: [BankReceipt], _ decisions: [CashDecision], read: TenantStore.ImportRulesRead) throws -> Result<[String: [String]], StoreError> {
        let store = try tenant()
        do {
            _ = try store.importBankFile(
                name: "month.bai2", format: "bai2", digest: SHA256.hash(data: Data("month".utf8)), bytes: 5, receipts: lines, by: "u1", at: importedAt,
                rulesRead: read, decide: { _, _ in decisions }
            )
        } catch let error as StoreError {
            #expect(try store.derivedBalanceMismatches() == [])
            return .failure(error)
        }
        #expect(try store.derivedBalanceMismatches() == [])
        return .success(try tables(of: store))
    }

    /// Every row of every table, as text, sorted, with the rowids of the tables the import writes
    /// itself; the change log's and the stamps' times (the wall clock's) left out.
    static func tables(of store: TenantStore) throws -> [String: [String]] {
        try store.writer.read { db in
            var tables: [String: [String]] = [:]
            for table in try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name != 'grdb_migrations'") {
                // The rows the import writes itself keep their rowids (the order they went in).
                let rowid = ["ledger_entry", "bank_receipt", "approval_request", "bank_file"].contains(table) ? "rowid AS row_id, " : ""
                let rows = try Row.fetchAll(db, sql: "SELECT \(rowid)* FROM \(table)")
                tables[table] = rows.map { row in
                    row.columnNames.filter { $0 != "at" }.map { "\($0)=\(row[$0] as DatabaseValue)" }.joined(separator: " ")
                }.sorted()
            }
            return tables
        }
    }

    @Test("the import's in-memory rule check writes exactly the rows, balances and change log the per-entry check writes")
    func sameRowsAsPerEntry() throws {
        let lines = (1...10).map { Self.line($0, usd(Int64($0) * 1_000)) } + [Self.line(11, usd(600), direction: .debit), Self.line(12, eur(20_000))]
        let decisions = [
            Self.applying("C2", [("I1", usd(1_000))]),
            Self.applying("C3", [("I2", usd(2_000))]),
            // Two receipts paying the same invoice: the second sees what the first took.
            Self.applying("C2", [("I4", usd(3_000))], outcome: .partlyMatched),
            Self.applying("C2", [("I4", usd(4_000))]),
            // Several invoices, and a short payment asked as a write-off.
            Self.applying("C3", [("I5", usd(2_000)), ("I8", usd(3_000))], proposal: SettlementProposal(kind: .writeOff, invoiceID: "I5", amount: usd(500), reason: "short")),
            Self.applying("C1", [], outcome: .customerOnly),
            // Its payment is already posted by hand, identically: the import applies from it.
            Self.applying("C1", [("I3", usd(7_000))]),
            CashDecision(outcome: .unidentified),
            Self.applying("C1", [("I6", usd(9_000))]),
            Self.applying("C2", [("I10", usd(10_000))]),
            CashDecision(outcome: .notCredit),
            Self.applying("C1", [("I12", eur(20_000))]),
        ]
        let fast = try Self.imported(lines, decisions, read: .importLedger).get()
        let reference = try Self.imported(lines, decisions, read: .database).get()
        #expect(fast.keys.sorted() == reference.keys.sorted())
        for table in reference.keys.sorted() {
            #expect(fast[table] == reference[table], "table \(table)")
        }
        #expect(fast["ledger_entry"]?.count == (reference["ledger_entry"]?.count ?? 0))
        #expect(reference["bank_receipt"]?.count == 12)
    }

    @Test("an import of 150 receipts checked first and written table by table writes the rows, rowids and change-log seqs the per-row path writes")
    func sameRowsAsPerRowAtLength() throws {
        var remaining: [String: Int64] = [:]
        var invoices: [LedgerEntry] = []
        for index in 1...45 {
            let id = "J\(index)"
            remaining[id] = 20_000
            invoices.append(LedgerEntry(
                id: id, kind: .invoice, customerID: "C\(index % 3 + 1)", amount: usd(20_000), date: day.adding(days: -20), dueDate: day.adding(days: index),
                reference: "INV-J\(index)"
            ))
        }
        // Invoices of `customer` with room for `amount`, taking it off.
        func take(_ customer: String, _ amount: Int64) -> String? {
            let id = invoices.first { $0.customerID == customer && (remaining[$0.id] ?? 0) >= amount }?.id
            if let id { remaining[id, default: 0] -= amount }
            return id
        }
        var lines: [BankReceipt] = [], decisions: [CashDecision] = []
        var requested: ApprovalRequest?
        for number in 1...150 {
            let amount: Int64 = number == 7 ? 7_000 : 1_000 + Int64(number * 37 % 50) * 100
            let customer = number == 7 ? "C1" : "C\(number % 3 + 1)"
            switch number % 7 {
            case 0 where number != 7:
                lines.append(Self.line(number, usd(amount)))
                decisions.append(CashDecision(outcome: .unidentified, explanation: "nobody"))
            case 1:
                lines.append(Self.line(number, usd(amount), direction: .debit))
                decisions.append(CashDecision(outcome: .notCredit))
            case 2:
                lines.append(Self.line(number, usd(amount)))
                decisions.append(Self.applying(customer, [], outcome: .customerOnly))
            case 5:
                // Two invoices, half each.
                lines.append(Self.line(number, usd(amount)))
                let half = amount / 2
                let applications = [take(customer, half), take(customer, amount - half)].compactMap { $0 }
                decisions.append(Self.applying(customer, zip(applications, [half, amount - half]).map { ($0, usd($1)) }))
            case 6:
                // Short: applied, with a write-off of 25.00 asked.
                lines.append(Self.line(number, usd(amount)))
                let invoice = take(customer, amount)
                let proposal = invoice.map { SettlementProposal(kind: .writeOff, invoiceID: $0, amount: usd(2_500), reason: "short") }
                decisions.append(Self.applying(customer, invoice.map { [($0, usd(amount))] } ?? [], proposal: proposal))
                if requested == nil, let invoice {
                    var record = CashReceipt(id: Self.receiptID(number), fileID: "", receipt: Self.line(number, usd(amount)), outcome: .matched, customerID: customer, importedAt: importedAt)
                    requested = TenantStore.writeOffRequest(for: &record, proposal, fileName: "month.bai2", by: "u1")
                    #expect(requested?.invoiceID == invoice)
                }
            default:
                lines.append(Self.line(number, usd(amount)))
                decisions.append(Self.applying(customer, take(customer, amount).map { [($0, usd(amount))] } ?? [], outcome: .matched))
            }
        }
        // One write-off request is there already, as the import would ask it: it is not written again.
        let existing = try #require(requested)
        let decided = decisions
        func imported(_ read: TenantStore.ImportRulesRead) throws -> [String: [String]] {
            let store = try Self.tenant()
            try store.post(invoices)
            try store.writer.write { db in try TenantStore.save(ApprovalRequestRow(existing), db) }
            let summary = try store.importBankFile(
                name: "month.bai2", format: "bai2", digest: SHA256.hash(data: Data("month".utf8)), bytes: 5, receipts: lines, by: "u1", at: importedAt,
                rulesRead: read, decide: { _, _ in decided }
            )
            #expect(summary.receipts.count == 150)
            #expect(try store.derivedBalanceMismatches() == [])
            return try Self.tables(of: store)
        }
        let fast = try imported(.importLedger), reference = try imported(.database)
        #expect(fast.keys.sorted() == reference.keys.sorted())
        for table in reference.keys.sorted() {
            #expect(fast[table] == reference[table], "table \(table)")
        }
        #expect(reference["approval_request"]?.count ?? 0 > 10)
        #expect(reference["ledger_entry"]?.count ?? 0 > 200)
    }

    @Test("an imported receipt has one stamp for all its fields, which a merge reads as each field's stamp until the field is stamped on its own")
    func wholeRecordStamp() throws {
        let store = try Self.tenant()
        let summary = try store.importBankFile(
            name: "month.bai2", format: "bai2", digest: SHA256.hash(data: Data("month".utf8)), bytes: 5, receipts: [Self.line(1, usd(1_000))],
            by: "u1", at: importedAt, decide: { _, _ in [Self.applying("C2", [("I1", usd(1_000))])] }
        )
        let receipt = try #require(summary.receipts.first)
        let fields = try #require(try store.writer.read { db in try BankReceiptRow.fetchOne(db, key: receipt.id).map(TenantStore.liveFields) })
        try store.writer.write { db in
            let rows = try String.fetchAll(db, sql: "SELECT field FROM field_stamp WHERE record_kind = 'bank_receipt' AND record_id = ?", arguments: [receipt.id])
            #expect(rows == [TenantStore.wholeRecordField])
            let seq = try #require(try Int64.fetchOne(db, sql: "SELECT seq FROM change_log WHERE record_id = ?", arguments: [receipt.id]))
            var stamps = try TenantStore.stamps(db, kind: .bankReceipt, id: receipt.id, fields: fields)
            #expect(stamps.count == fields.count && fields.count > 20)
            #expect(stamps.values.allSatisfy { $0.seq == UInt64(seq) && $0.authority == TenantStore.authority })
            try TenantStore.stampChangedFields(db, kind: .bankReceipt, id: receipt.id, before: fields, after: fields.merging(["explanation": .string("settled")]) { $1 }, seq: seq + 100)
            stamps = try TenantStore.stamps(db, kind: .bankReceipt, id: receipt.id, fields: fields)
            #expect(stamps["explanation"]?.seq == UInt64(seq + 100))
            #expect(stamps["amount"]?.seq == UInt64(seq))
        }
    }

    @Test("an import writes its receipts in the order of their ids (the change log shows it) and answers them in file order")
    func writesInKeyOrder() throws {
        let store = try Self.tenant()
        let lines = (1...6).map { Self.line($0, usd(Int64($0) * 1_000)) } + [Self.line(8, usd(8_000))]
        let ids = lines.map { CashIDs.receipt(identity: $0.identity) }
        #expect(ids != ids.sorted(), "the test needs receipts whose ids are not in file order")
        let summary = try store.importBankFile(
            name: "month.bai2", format: "bai2", digest: SHA256.hash(data: Data("month".utf8)), bytes: 5, receipts: lines, by: "u1", at: importedAt,
            decide: { receipts, _ in receipts.map { _ in Self.applying("C1", []) } }
        )
        #expect(summary.receipts.map(\.id) == ids)
        let logged = try store.writer.read { db in
            try String.fetchAll(db, sql: "SELECT record_id FROM change_log WHERE record_kind = 'bank_receipt' ORDER BY seq")
        }
        #expect(logged == ids.sorted())
        let payments = try store.writer.read { db in
            try String.fetchAll(db, sql: "SELECT record_id FROM change_log WHERE record_kind = 'ledger_entry' AND record_id LIKE 'pay_%' ORDER BY seq")
        }
        // The tenant's hand-posted payment comes first; then the import's, in order.
        #expect(Array(payments.suffix(ids.count)) == ids.sorted().map { CashReceipt.paymentID(forReceipt: $0) })
    }

    @Test("a refused import names the entry the writes in file order name, though it writes in the order of the receipts' ids")
    func refusalInFileOrder() throws {
        // Two receipts that together over-apply I4 (35,000 open), the later in the file first by id.
        let numbers = (1...40).filter { $0 != 7 }
        let ids = Dictionary(uniqueKeysWithValues: numbers.map { ($0, Self.receiptID($0)) })
        let (first, second) = try #require(numbers.lazy.flatMap { a in numbers.lazy.filter { $0 > a }.map { (a, $0) } }.first { ids[$0.1]! < ids[$0.0]! })
        let lines = [Self.line(first, usd(30_000)), Self.line(second, usd(6_000))]
        let decisions = [Self.applying("C2", [("I4", usd(30_000))]), Self.applying("C2", [("I4", usd(6_000))])]
        func refusal(inKeyOrder: Bool?, read: TenantStore.ImportRulesRead = .database) throws -> StoreError? {
            let store = try Self.tenant()
            do {
                let name = "month.bai2", digest = SHA256.hash(data: Data("month".utf8))
                if let inKeyOrder {
                    _ = try store.importBankFile(
                        name: name, format: "bai2", digest: digest, bytes: 5, receipts: lines, by: "u1", at: importedAt, rulesRead: read,
                        inKeyOrder: inKeyOrder, decide: { _, _ in decisions }
                    )
                } else {
                    _ = try store.importBankFile(name: name, format: "bai2", digest: digest, bytes: 5, receipts: lines, by: "u1", at: importedAt, decide: { _, _ in decisions })
                }
            } catch let error as StoreError {
                #expect(try store.writer.read { db in try Int.fetchOne(db, sql: "SELECT (SELECT COUNT(*) FROM bank_receipt) + (SELECT COUNT(*) FROM bank_file)") } == 0)
                return error
            }
            return nil
        }
        let inFileOrder = try #require(try refusal(inKeyOrder: false))
        guard case .refused(let index, _) = inFileOrder else { return }
        #expect(index == 3)
        // Checked and written receipt by receipt in key order, the other receipt is refused…
        #expect(try refusal(inKeyOrder: true) != inFileOrder)
        // …so the per-row path runs again in file order; the import checks in file order first.
        #expect(try refusal(inKeyOrder: nil) == inFileOrder)
        #expect(try refusal(inKeyOrder: true, read: .importLedger) == inFileOrder)
    }

    @Test("what the per-entry check refuses (over-application across receipts, a voided invoice, mixed currencies, an unknown customer or invoice, a payment id taken with other content), the in-memory check refuses the same way")
    func sameRefusals() throws {
        let lines = (1...3).map { Self.line($0, usd(60_000)) } + [Self.line(7, usd(7_000))]
        let cases: [(String, [CashDecision])] = [
            ("over-applied across receipts", [Self.applying("C2", [("I4", usd(30_000))]), Self.applying("C2", [("I4", usd(6_000))]), CashDecision(outcome: .unidentified), CashDecision(outcome: .unidentified)]),
            ("beyond the payment", [Self.applying("C2", [("I4", usd(30_000)), ("I10", usd(40_000))]), CashDecision(outcome: .unidentified), CashDecision(outcome: .unidentified), CashDecision(outcome: .unidentified)]),
            ("voided invoice", [Self.applying("C1", [("I9", usd(1_000))]), CashDecision(outcome: .unidentified), CashDecision(outcome: .unidentified), CashDecision(outcome: .unidentified)]),
            ("mixed currencies", [Self.applying("C1", [("I12", usd(1_000))]), CashDecision(outcome: .unidentified), CashDecision(outcome: .unidentified), CashDecision(outcome: .unidentified)]),
            ("unknown customer", [CashDecision(outcome: .unidentified), Self.applying("C9", []), CashDecision(outcome: .unidentified), CashDecision(outcome: .unidentified)]),
            ("unknown invoice", [CashDecision(outcome: .unidentified), CashDecision(outcome: .unidentified), Self.applying("C1", [("I99", usd(1_000))]), CashDecision(outcome: .unidentified)]),
            ("payment taken", [CashDecision(outcome: .unidentified), CashDecision(outcome: .unidentified), CashDecision(outcome: .unidentified), Self.applying("C2", [])]),
            ("an invoice paid in full, then again", [Self.applying("C2", [("I1", usd(10_000))]), Self.applying("C2", [("I1", usd(1))]), CashDecision(outcome: .unidentified), CashDecision(outcome: .unidentified)]),
        ]
        for (name, decisions) in cases {
            let fast = try Self.imported(lines, decisions, read: .importLedger)
            let reference = try Self.imported(lines, decisions, read: .database)
            guard case .failure(let refused) = reference else {
                Issue.record("\(name): the per-entry check accepted it")
                continue
            }
            let fastRefusal: StoreError? = if case .failure(let error) = fast { error } else { nil }
            #expect(fastRefusal == refused, "\(name)")
        }
    }
}
