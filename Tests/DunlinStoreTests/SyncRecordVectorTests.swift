import DunlinCore
import DunlinStore
import DunlinSync
import Foundation
import Testing

/// Protocol/vectors/sync-records.json, written by an independent Python implementation of
/// PROTOCOL.md §16.2 (generate_sync_records.py), against the records DunlinCore values make: a
/// change to any kind's form, to the canonical JSON or to the checksum breaks these tests.
@Suite struct SyncRecordVectorTests {
    struct Vector: Decodable {
        var kind: String
        var id: String
        var seq: Int64
        var fields: String
        /// A ledger entry's or an activity's packed form, in hex: how it travels.
        var packedHex: String?

        enum CodingKeys: String, CodingKey {
            case kind, id, seq, fields
            case packedHex = "packed_hex"
        }

        var packed: Data? {
            packedHex.map { hex in
                Data(stride(from: 0, to: hex.count, by: 2).map { offset in
                    UInt8(hex.dropFirst(offset).prefix(2), radix: 16)!
                })
            }
        }

        /// The record as a batch carries it.
        var state: SyncRecordState {
            let form = SyncRecordState.Form.of(kind: kind)
            return SyncRecordState(kind: kind, id: id, seq: seq, form: form, bytes: packed ?? Data(fields.utf8))
        }
    }

    struct VectorFile: Decodable {
        var records: [Vector]
        var checksumHex: String

        enum CodingKeys: String, CodingKey {
            case records
            case checksumHex = "checksum_hex"
        }
    }

    static func vectors() throws -> VectorFile {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Protocol/vectors/sync-records.json")
        return try JSONDecoder().decode(VectorFile.self, from: Data(contentsOf: url))
    }

    /// The vectors' records, made from DunlinCore values, as a batch carries them.
    static let records: [(kind: String, id: String, seq: Int64, fields: FieldMap)] = {
        let php = Currency(code: "PHP")!
        let day = { (text: String) in CivilDate(text)! }
        let replica = "r4f1c2a9b7d3e4f5061728394a5b6c7d8"
        func live(_ record: some SyncRecordForm, deleted: Bool = false) -> FieldMap {
            var fields = record.fieldMap
            fields[RecordCoding.deletedField] = .bool(deleted)
            return fields
        }
        return [
            ("customer", "C-1001", 3, live(Customer(
                id: "C-1001", number: "1001", name: "Globe Telecom \"Retail\"", billingAddress: "12/F Tower One, Ayala Ave\nMakati City",
                phone: "+63 2 8888 0000", creditLimit: Money(minorUnits: Money.maximumMinorUnits, currency: php), riskRating: 4,
                analystID: "u-ana", timeZone: "Asia/Manila", language: "fil", tags: ["key", "ph"]
            ))),
            ("ledger_entry", "INV-1042", 4, LedgerEntry(
                id: "INV-1042", kind: .invoice, customerID: "C-1001", amount: Money(minorUnits: 1_250_050, currency: php),
                date: day("2026-11-01"), dueDate: day("2026-12-01"), reference: "INV-1042", memo: "Kasunduan № 7 — ₱12,500.50"
            ).fieldMap),
            ("ledger_entry", "ADJ-7", 5, LedgerEntry(
                id: "ADJ-7", kind: .adjustment, customerID: "C-1001", amount: Money(minorUnits: -50000, currency: php),
                date: day("2026-11-02"), targetID: "INV-1042", memo: "late fee waived"
            ).fieldMap),
            ("activity", "ACT-1", 6, Activity(
                id: "ACT-1", customerID: "C-1001", kind: .call, direction: .outbound, outcome: "promised 5,000 by Friday",
                authorID: "u-ana", occurredAt: Activity.instant(milliseconds: 1_795_000_000_123), body: "Rosa said:\t\"next week\" \\ maybe"
            ).fieldMap),
            ("contact", "K1", 7, live(Contact(
                id: "K1", customerID: "C-1001", name: "Rosa Cruz", role: "AP clerk", email: "rosa.cruz@globe.example"
            ))),
            ("dispute", "D-1", 8, live(Dispute(
                id: "D-1", customerID: "C-1001", invoiceIDs: ["INV-1042"], amount: Money(minorUnits: 250_000, currency: php),
                reasonCode: "pricing", status: .resolved, ownerTeam: .customerService, openedOn: day("2026-11-05"), resolvedOn: day("2026-11-12")
            ))),
            ("promise_to_pay", "P-1", 9, live(PromiseToPay(
                id: "P-1", customerID: "C-1001", invoiceIDs: ["INV-1042"], amount: Money(minorUnits: 1_000_000, currency: php),
                madeOn: day("2026-11-10"), promisedDate: day("2026-12-20"), status: .partlyKept, note: "half by the 20th",
                installments: [
                    Installment(dueDate: day("2026-11-20"), amount: Money(minorUnits: 500_000, currency: php)),
                    Installment(dueDate: day("2026-12-20"), amount: Money(minorUnits: 500_000, currency: php)),
                ]
            ))),
            ("collection_task", "T-1", 10, live(CollectionTask(
                id: "T-1", assigneeID: "u-ana", customerID: "C-1001", title: "call Rosa about INV-1042", dueDate: day("2026-11-30")
            ))),
            ("sync_conflict", "cfl_dispute_D-1_amount_server_11", 11, live(ConflictRecord(Conflict(
                kind: "dispute", recordID: "D-1", field: "amount",
                kept: SyncValue.amount(Money(minorUnits: 250_000, currency: php)),
                keptStamp: Stamp(authority: "server", seq: 12, dot: Dot(replica: replica, counter: 4), at: 1_795_000_100_000),
                lost: SyncValue.amount(Money(minorUnits: 200_000, currency: php)),
                lostStamp: Stamp(authority: "server", seq: 11, at: 1_794_999_900_000)
            ), writer: { $0 == replica ? ("u-ana", "ana-laptop") : nil }).settled(by: "u-ben", outcome: .kept, at: 1_795_000_200_000))),
            ("contact", "K2", 12, live(Contact(
                id: "K2", customerID: "C-1001", name: "Old AP", phone: "+63 2 8888 0001", preferredChannel: .phone
            ), deleted: true)),
            ("dunning_policy", "POL-1", 13, live(DunningPolicy(
                id: "POL-1", name: "Standard \"SMB\"", segment: "smb", customerIDs: ["C-1001"], levels: [
                    DunningLevel(days: -5, channel: .email, template: "friendly_reminder"),
                    DunningLevel(days: 30, channel: .letter, template: "second_notice", fee: Money(minorUnits: 50_000, currency: php), interestBasisPoints: 1850),
                ]
            ))),
            ("dunning_hold", "HOLD-1", 14, live(DunningHold(
                id: "HOLD-1", customerID: "C-1001", reason: "CFO on leave until the 15th", placedOn: day("2026-11-03"),
                releasedOn: day("2026-11-16"), releaseReason: "back at work"
            ))),
            ("dunning_notice", "DN:C-1001:30:INV-1042", 15, live(DunningNotice(
                id: DunningNotice.id(customerID: "C-1001", levelDays: 30, anchorInvoiceID: "INV-1042"), runID: DunningRunID.of(day("2026-12-31")),
                customerID: "C-1001", policyID: "POL-1", level: 2, levelDays: 30, channel: .letter, template: "second_notice",
                asOf: day("2026-12-31"), anchorInvoiceID: "INV-1042",
                lines: [DunningNoticeLine(invoiceID: "INV-1042", reference: "INV-1042", dueDate: day("2026-12-01"), daysPastDue: 30, balance: Money(minorUnits: 1_200_050, currency: php))],
                charges: [DunningCharge(
                    total: Money(minorUnits: 1_200_050, currency: php),
                    interest: try! DunningInterest.interest(
                        on: [(Money(minorUnits: 1_200_050, currency: php), 30)], basisPoints: 1850, currency: php
                    ),
                    fee: Money(minorUnits: 50_000, currency: php)
                )],
                status: .released, createdAt: Activity.instant(milliseconds: 1_798_700_000_000),
                releasedAt: Activity.instant(milliseconds: 1_798_700_100_000), releasedBy: "u-ben", delivery: .sent, deliveredAs: .letter,
                deliveredAt: Activity.instant(milliseconds: 1_798_700_200_000),
                deliveryDetail: "letter written to outbox/demo/letters/DN_C-1001_30_INV-1042-1a2b3c4d.html"
            ))),
            ("tenant_setting", "dunning.run_time", 16, live(TenantSetting(id: "dunning.run_time", value: "06:30"))),
            ("tenant_setting", "worklist.broken_promise", 17, live(TenantSetting(id: "worklist.broken_promise", value: "30"))),
            ("escalation_rule", "ER-1", 18, live(EscalationRule(
                id: "ER-1", name: "Twice broken", trigger: .brokenPromises, count: 2, windowDays: 90, action: .place, agency: "Acme Recovery"
            ))),
            ("escalation", "ESC:ER-1:C-1001:P-1#2", 19, live(Escalation(
                id: Escalation.id(rule: "ER-1", customerID: "C-1001", episode: "P-1#2"), customerID: "C-1001", action: .place, ruleID: "ER-1",
                reason: "Twice broken: 2 promises broken within 90 days", agency: "Acme Recovery", escalatedOn: day("2026-12-24"),
                summary: "overdue PHP 12,000.50; oldest item 23 days past due; 2 promises broken in the last 90 days; 0 open disputes",
                status: .recalled, recalledOn: day("2027-01-05"), recalledBy: "u-ben", recallReason: "paid in full",
                createdAt: Activity.instant(milliseconds: 1_798_070_400_000)
            ))),
            ("notice_template", "TPL-first_notice-fil", 20, live(NoticeTemplate(
                id: "TPL-first_notice-fil", name: "first_notice", language: "fil", subject: "Lampas na sa takdang petsa: {{amount_due}}",
                text: "Mahal na {{contact.name}},\n{{#lines}}\n{{reference}}: {{balance}}\n{{/lines}}",
                html: "<p>Mahal na {{contact.name}},</p>{{#lines}}<p>{{reference}}: {{balance}}</p>{{/lines}}"
            ))),
            ("bank_file", "bfile_0f1e2d3c4b5a69788796a5b4c3d2e1f0", 21, live(BankFile(
                id: "bfile_0f1e2d3c4b5a69788796a5b4c3d2e1f0", name: "BDO-2026-12-01.bai", format: "bai2", bytes: 18_432,
                importedAt: Activity.instant(milliseconds: 1_798_790_400_000), importedBy: "u-ana", receipts: 12, newReceipts: 11, notCredits: 1,
                credits: 10, customerMatches: 9, invoiceMatches: 7
            ))),
            ("bank_receipt", "rcpt_00112233445566778899aabbccddeeff", 22, live(CashReceipt(
                id: "rcpt_00112233445566778899aabbccddeeff", fileID: "bfile_0f1e2d3c4b5a69788796a5b4c3d2e1f0",
                receipt: BankReceipt(
                    identity: "bai2|0012345678|2026-12-01|BDO-7781", format: "bai2", account: "0012345678",
                    amount: Money(minorUnits: 1_700_050, currency: php), direction: .credit, bookingDate: day("2026-12-01"), typeCode: "195",
                    bankReference: "BDO-7781", payerName: "GLOBE TELECOM INC", remittance: "PAYMENT INV1042 / INV-1043", line: 7
                ),
                outcome: .partlyMatched, customerID: "C-1001", paymentID: CashReceipt.paymentID(forReceipt: "rcpt_00112233445566778899aabbccddeeff"),
                applications: [ReceiptApplication(invoiceID: "INV-1042", amount: Money(minorUnits: 1_200_050, currency: php), rule: "invoice_number_in_text", confidence: 90)],
                suggestions: [ReceiptSuggestion(customerID: "C-1001", invoiceIDs: ["INV-1043"], rule: "invoice_number_in_text", confidence: 60)],
                explanation: "INV-1042 cited in the remittance text as \"INV1042\"", importedAt: Activity.instant(milliseconds: 1_798_790_400_000)
            ))),
            ("approval_request", "req_1", 23, live(ApprovalRequest(
                id: "req_1", kind: .writeOff, customerID: "C-1001", invoiceID: "INV-1042", amount: Money(minorUnits: 45_000, currency: php),
                reason: "short-paid freight, not worth chasing", requestedBy: "u-ana", requestedOn: day("2026-12-01"), status: .approved,
                decidedBy: "u-ben", decidedOn: day("2026-12-02"), decisionReason: "agreed"
            ))),
            ("exchange_rate", "fx_USD_PHP_2026-11-30", 24, live(DatedRate(from: .usd, to: php, date: day("2026-11-30"), rate: "56.125", source: "BSP reference rate"))),
            ("period_close", "close_2026-11", 25, live(PeriodClose(
                month: "2026-11", through: day("2026-11-30"), status: .reopened, baseCurrency: .usd,
                buckets: [
                    PeriodClose.Bucket(label: "current", amount: 100_000_00, rateBasisPoints: 100, allowance: 1_000_00),
                    PeriodClose.Bucket(label: "90+", amount: 2_000_00, rateBasisPoints: 5000, allowance: 1_000_00),
                ],
                currencies: [
                    PeriodClose.CurrencyTotal(currency: php, total: 5_000_000_00, rate: "56.125", inverse: true, rateDate: "2026-11-30"),
                    PeriodClose.CurrencyTotal(currency: .usd, total: 13_091_06),
                ],
                previousID: "close_2026-10", previousAllowance: 900_00, closedBy: "u-mia", closedOn: day("2026-12-01"), closedSeq: 4_321,
                reopenedBy: "u-root", reopenedOn: day("2026-12-02"), reopenReason: "late credit memo", postCloseAdjustments: 2
            ))),
            ("team_calendar", "billing-manila", 26, live(TeamCalendar(
                id: "billing-manila", timeZone: "Asia/Manila", opens: "09:00", closes: "18:00", holidays: [day("2026-11-30"), day("2026-12-08")], members: ["u-ana"]
            ))),
            ("ticket", "tkt_1", 27, live(Ticket(
                id: "tkt_1", customerID: "C-1001", invoiceIDs: ["INV-1042"], category: .billing, priority: .high, subject: "invoice copy",
                status: .waitingOnCustomer, teamID: "billing-manila", assigneeID: "u-ana", openedAt: 1_795_000_000_123, slaMinutes: 480,
                disputeID: "", requestID: "req_1"
            ))),
            ("ticket_event", "tev_1", 28, TicketEvent(
                id: "tev_1", ticketID: "tkt_1", kind: .assigned, at: 1_795_003_600_000, authorID: "u-ana", teamID: "billing-newyork",
                assigneeID: "u-ben", note: "hand-off to New York"
            ).fieldMap),
            ("ledger_entry", "APP-1", 29, LedgerEntry(
                id: "APP-1", kind: .application, customerID: "C-1001", amount: Money(minorUnits: 1_200_050, currency: php),
                date: day("2026-12-01"), sourceID: "pay_00112233445566778899aabbccddeeff", targetID: "INV-1042"
            ).fieldMap),
            ("activity", "ACT-2", 30, Activity(
                id: "ACT-2", customerID: "C-1001", kind: .note, direction: .undirected, authorID: "u-ben",
                occurredAt: Activity.instant(milliseconds: 86_400_000), body: "statement sent"
            ).fieldMap),
        ]
    }()

    /// A record of `records` as the server sends it: ledger entries and activities packed.
    static func sent(_ record: (kind: String, id: String, seq: Int64, fields: FieldMap)) throws -> SyncRecordState {
        switch SyncRecordState.Form.of(kind: record.kind) {
        case .fields:
            return SyncRecordState(kind: record.kind, id: record.id, seq: record.seq, fields: RecordCoding.canonical(record.fields))
        case .ledgerEntry:
            let packed = PackedLedgerEntry(try LedgerEntry(fieldMap: record.fields)).packed
            return SyncRecordState(kind: record.kind, id: record.id, seq: record.seq, form: .ledgerEntry, bytes: packed)
        case .activity:
            let packed = PackedActivity(try Activity(fieldMap: record.fields)).packed
            return SyncRecordState(kind: record.kind, id: record.id, seq: record.seq, form: .activity, bytes: packed)
        }
    }

    @Test("a record of every kind encodes to the golden bytes, and a batch of them to the golden checksum")
    func recordsEncodeToTheVectors() throws {
        let file = try Self.vectors()
        let batch = try Self.records.map(Self.sent)
        #expect(Set(batch.map(\.kind)) == Set(RecordKind.allCases.map(\.rawValue)))
        #expect(batch.map(\.kind) == file.records.map(\.kind))
        #expect(batch.map(\.id) == file.records.map(\.id))
        #expect(batch.map(\.seq) == file.records.map(\.seq))
        for (record, vector) in zip(Self.records, file.records) {
            #expect(String(decoding: RecordCoding.canonical(record.fields), as: UTF8.self) == vector.fields, "\(vector.kind) \(vector.id)")
        }
        for (record, vector) in zip(batch, file.records) {
            #expect(record.bytes == vector.state.bytes, "\(vector.kind) \(vector.id) travels as the vector's bytes")
            #expect((vector.packedHex != nil) == (record.form != .fields), "\(vector.kind) \(vector.id)")
        }
        let checksum = SyncRecordState.checksum(batch).map { String(format: "%02x", $0) }.joined()
        #expect(checksum == file.checksumHex)
    }

    @Test("the golden bytes read back to the same records, and a replica applies them as the same records")
    func vectorsDecodeToTheRecords() throws {
        let file = try Self.vectors()
        for (vector, record) in zip(file.records, Self.records) {
            let fields = try RecordCoding.decode(Data(vector.fields.utf8))
            #expect(fields == record.fields, "\(vector.kind) \(vector.id)")
            let form = try #require(SyncForms.byKind[vector.kind])
            var typed = try form.init(fieldMap: fields).fieldMap
            typed[RecordCoding.deletedField] = fields[RecordCoding.deletedField]
            #expect(typed == fields, "\(vector.kind) \(vector.id)")
        }
        let replica = try TenantStore()
        for vector in file.records where vector.packedHex != nil {
            #expect(try vector.state.fieldMap() == RecordCoding.decode(Data(vector.fields.utf8)), "\(vector.kind) \(vector.id) unpacks to its fields")
        }
        let batch = file.records.map(\.state)
        try replica.applySyncBatch(batch, checkpoint: 19)
        let held = try replica.syncedRecords()
        for vector in file.records {
            #expect(held["\(vector.kind)/\(vector.id)"].map { String(decoding: RecordCoding.canonical($0), as: UTF8.self) } == vector.fields)
        }
    }
}
