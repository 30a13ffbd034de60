import DunlinCore
import DunlinSync
import Foundation
import Testing

/// One record of every kind, with every optional field set on some and unset on others.
let syncFormSamples: [any SyncRecordForm] = {
    let usd = Currency(code: "USD")!
    let day = { (text: String) in CivilDate(text)! }
    return [
        Customer(id: "C1", number: "1001", name: "Globe \"Retail\"", creditLimit: Money(minorUnits: 1_000_000_000_000_000, currency: usd), tags: ["key", "ph"]),
        Customer(id: "C2", number: "1002", name: "Ayala", paymentTermsDays: 45, riskRating: 1),
        LedgerEntry(id: "INV-1", kind: .invoice, customerID: "C1", amount: Money(minorUnits: 1_234_56, currency: usd), date: day("2026-11-01"), dueDate: day("2026-12-01"), reference: "INV-1"),
        LedgerEntry(id: "ADJ-1", kind: .adjustment, customerID: "C1", amount: Money(minorUnits: -500, currency: usd), date: day("2026-11-02"), targetID: "INV-1", memo: "fee"),
        Activity(id: "A1", customerID: "C1", kind: .call, direction: .outbound, outcome: "left voicemail", authorID: "u-ana", occurredAt: Date(timeIntervalSince1970: 1_795_000_000.123)),
        Activity(id: "A2", customerID: "C1", kind: .note, direction: .undirected, authorID: "u-ana", occurredAt: Date(timeIntervalSince1970: 0), body: "a/b\nc"),
        Contact(id: "K1", customerID: "C1", name: "Rosa", email: "rosa@globe.example", preferredChannel: .email),
        Dispute(id: "D1", customerID: "C1", invoiceIDs: ["INV-1"], amount: Money(minorUnits: 100_00, currency: usd), reasonCode: "pricing", status: .resolved, ownerTeam: .customerService, openedOn: day("2026-11-03"), resolvedOn: day("2026-11-04")),
        Dispute(id: "D2", customerID: "C1", invoiceIDs: ["INV-1"], amount: Money(minorUnits: 1, currency: usd), reasonCode: "damaged_goods", openedOn: day("2026-11-03")),
        PromiseToPay(id: "P1", customerID: "C1", invoiceIDs: ["INV-1"], amount: Money(minorUnits: 500_00, currency: usd), madeOn: day("2026-11-05"), promisedDate: day("2026-11-20"), status: .partlyKept),
        PromiseToPay(
            id: "P2", customerID: "C1", invoiceIDs: ["INV-1"], amount: Money(minorUnits: 500_00, currency: usd), madeOn: day("2026-11-05"), promisedDate: day("2026-12-20"),
            installments: [Installment(dueDate: day("2026-11-20"), amount: Money(minorUnits: 200_00, currency: usd)), Installment(dueDate: day("2026-12-20"), amount: Money(minorUnits: 300_00, currency: usd))]
        ),
        CollectionTask(id: "T1", assigneeID: "u-ana", customerID: "C1", title: "call Rosa", dueDate: day("2026-11-30"), done: true),
        ConflictRecord(
            id: "cfl_dispute_D1_amount_r1_2", kind: "dispute", recordID: "D1", field: "amount",
            kept: SyncValue.amount(Money(minorUnits: 100_00, currency: usd)), keptBy: "r1", keptAt: 1_795_000_000_000,
            lost: SyncValue.amount(Money(minorUnits: 90_00, currency: usd)), lostBy: "r2", lostAt: -1, status: .open, settledBy: ""
        ),
        DunningPolicy(id: "POL-1", name: "Standard", segment: "smb", customerIDs: ["C1"], levels: [
            DunningLevel(days: -5, channel: .email, template: "friendly_reminder"),
            DunningLevel(days: 30, channel: .letter, template: "second_notice", fee: Money(minorUnits: 25_00, currency: usd), interestBasisPoints: 1850),
        ]),
        DunningHold(id: "H1", customerID: "C1", reason: "CFO on leave", placedOn: day("2026-11-03")),
        DunningHold(id: "H2", customerID: "C1", reason: "audit", placedOn: day("2026-11-03"), releasedOn: day("2026-11-10"), releaseReason: "done"),
        DunningNotice(
            id: "DN:C1:30:INV-1", runID: "R-2026-12-31", customerID: "C1", policyID: "POL-1", level: 2, levelDays: 30, channel: .letter,
            template: "second_notice", asOf: day("2026-12-31"), anchorInvoiceID: "INV-1",
            lines: [DunningNoticeLine(invoiceID: "INV-1", reference: "INV-1", dueDate: day("2026-12-01"), daysPastDue: 30, balance: Money(minorUnits: 1_234_56, currency: usd))],
            charges: [DunningCharge(total: Money(minorUnits: 1_234_56, currency: usd), interest: Money(minorUnits: 18_77, currency: usd))],
            status: .released, createdAt: Date(timeIntervalSince1970: 1_798_700_000), releasedAt: Date(timeIntervalSince1970: 1_798_700_100),
            releasedBy: "u-ben", delivery: .sent, deliveredAs: .email, deliveredAt: Date(timeIntervalSince1970: 1_798_700_200),
            deliveryDetail: "to ap@globe.example", deliveryAttempts: 1
        ),
        NoticeTemplate(id: "T1", name: "first_notice", language: "fil", subject: "Lampas na: {{amount_due}}", text: "{{contact.name}}", html: "<p>{{contact.name}}</p>"),
        TenantSetting(id: "worklist.broken_promise", value: "30"),
        EscalationRule(id: "ER-1", name: "Big and old", trigger: .overdue, days: 60, amount: Money(minorUnits: 10_000_00, currency: usd), action: .escalate),
        Escalation(
            id: "ESC:ER-1:C1:INV-1", customerID: "C1", action: .escalate, ruleID: "ER-1", reason: "Big and old", escalatedOn: day("2026-12-31"),
            summary: "overdue USD 12,000.00", taskID: "tsk_ESC:ER-1:C1:INV-1", assigneeID: "u-mia", createdAt: Date(timeIntervalSince1970: 1_798_700_000)
        ),
        BankFile(
            id: "bfile_1", name: "statement.bai", format: "bai2", bytes: 4_096, importedAt: Date(timeIntervalSince1970: 1_798_700_000),
            importedBy: "u-ana", receipts: 4, newReceipts: 3, notCredits: 1, credits: 2, customerMatches: 2, invoiceMatches: 1
        ),
        CashReceipt(
            id: "rcpt_1", fileID: "bfile_1",
            receipt: BankReceipt(
                identity: "bai2|123456789|2026-12-01|REF-1", format: "bai2", account: "123456789", amount: Money(minorUnits: 1_500_00, currency: usd),
                direction: .credit, bookingDate: day("2026-12-01"), valueDate: day("2026-12-02"), typeCode: "195", bankReference: "REF-1",
                payerName: "Globe Telecom", remittance: "INV 1001 and 1002", creditorReferences: ["RF18539007547034"], line: 7
            ),
            outcome: .partlyMatched, customerID: "C1", paymentID: "pay_1",
            applications: [ReceiptApplication(invoiceID: "INV-1001", amount: Money(minorUnits: 1_000_00, currency: usd), rule: "invoice_number_in_text", confidence: 90)],
            suggestions: [ReceiptSuggestion(customerID: "C1", invoiceIDs: ["INV-1002"], rule: "invoice_number_in_text", confidence: 60)],
            explanation: "INV-1001 cited in the remittance text", importedAt: Date(timeIntervalSince1970: 1_798_700_000)
        ),
        ApprovalRequest(
            id: "req_1", kind: .writeOff, customerID: "C1", invoiceID: "INV-1", amount: Money(minorUnits: 120_00, currency: usd),
            reason: "short-paid freight", requestedBy: "u-ana", requestedOn: day("2026-12-01")
        ),
        ApprovalRequest(
            id: "req_2", kind: .terms, customerID: "C1", termsDays: 45, reason: "new contract", requestedBy: "u-ana", requestedOn: day("2026-12-01"),
            status: .rejected, decidedBy: "u-ben", decidedOn: day("2026-12-02"), decisionReason: "not before the renewal"
        ),
        DatedRate(from: .usd, to: .php, date: day("2026-11-30"), rate: "56.125", source: "BSP reference rate"),
        PeriodClose(
            month: "2026-11", through: day("2026-11-30"), status: .reopened, baseCurrency: .usd,
            buckets: [PeriodClose.Bucket(label: "current", amount: 100_000_00, rateBasisPoints: 100, allowance: 1_000_00)],
            currencies: [PeriodClose.CurrencyTotal(currency: .php, total: 5_000_000_00, rate: "56.125", inverse: true, rateDate: "2026-11-30")],
            previousID: "close_2026-10", previousAllowance: 900_00, closedBy: "u-mia", closedOn: day("2026-12-01"), closedSeq: 4_321,
            reopenedBy: "u-root", reopenedOn: day("2026-12-02"), reopenReason: "late credit memo", postCloseAdjustments: 2
        ),
        TeamCalendar(id: "billing-manila", timeZone: "Asia/Manila", opens: "09:00", closes: "18:00", holidays: [day("2026-11-30"), day("2026-12-08")], members: ["u-ana", "u-ben"]),
        TeamCalendar(id: "billing-newyork", timeZone: "America/New_York", workingDays: [.mon, .tue, .wed, .thu], closes: "24:00"),
        Ticket(
            id: "tkt_1", customerID: "C1", invoiceIDs: ["INV-1"], category: .customerService, priority: .urgent, subject: "invoice \"copy\"",
            status: .waitingOnCustomer, teamID: "billing-manila", assigneeID: "u-ana", openedAt: 1_795_000_000_123, slaMinutes: 120,
            disputeID: "D1", requestID: "req_1"
        ),
        Ticket(id: "tkt_2", customerID: "C1", category: .tax, subject: "VAT", teamID: "tax", openedAt: 0, slaMinutes: 960),
        TicketEvent(id: "tev_1", ticketID: "tkt_1", kind: .assigned, at: 1_795_000_000_123, authorID: "u-ana", teamID: "billing-newyork", assigneeID: "u-ben", note: "hand-off"),
        TicketEvent(id: "tev_2", ticketID: "tkt_1", kind: .comment, at: 0, authorID: "u-ben", note: "called AP\nno answer"),
    ]
}()

@Suite struct SyncFormTests {
    @Test("every kind's field map has exactly its form's keys and reads back to the same record")
    func everyKindRoundTrips() throws {
        #expect(Set(syncFormSamples.map { type(of: $0).recordKind }) == Set(RecordKind.allCases))
        for sample in syncFormSamples {
            let form = type(of: sample)
            #expect(Set(sample.fieldMap.keys) == Set(form.form.map(\.name)), "\(form.recordKind)")
            let back = try form.init(fieldMap: try RecordCoding.decode(RecordCoding.canonical(sample.fieldMap)))
            #expect(back.fieldMap == sample.fieldMap, "\(form.recordKind)")
            try SyncForms.check(sample.fieldMap, kind: form.recordKind.rawValue, allowsDeleted: false)
        }
    }

    /// The fields of `message` in a .proto file of Protocol/, by number: (name, type, repeated).
    static func protoFields(_ message: String, in file: String) throws -> [(name: String, type: String, repeated: Bool)] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Protocol/\(file)")
        let lines = try String(contentsOf: url, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        guard let start = lines.firstIndex(where: { $0.hasPrefix("message \(message) {") }) else { return [] }
        var fields: [(number: Int, name: String, type: String, repeated: Bool)] = []
        for line in lines[(start + 1)...] {
            if line.hasPrefix("}") { break }
            let words = line.split(separator: "//")[0].split(whereSeparator: { $0 == " " || $0 == "=" || $0 == ";" }).map(String.init)
            guard words.count >= 3, let number = Int(words[words.count - 1]) else { continue }
            let repeated = words[0] == "repeated"
            fields.append((number, words[words.count - 2], words[repeated || words[0] == "optional" ? 1 : 0], repeated))
        }
        return fields.sorted { $0.number < $1.number }.map { ($0.name, $0.type, $0.repeated) }
    }

    @Test("every kind's form is its RPC message: the same field names, in field-number order, of matching types")
    func formsAreTheRPCMessages() throws {
        let messages: [(RecordKind, String, String, derived: Set<String>)] = [
            (.customer, "CustomerRecord", "receivables.proto", []),
            (.ledgerEntry, "LedgerEntryRecord", "receivables.proto", ["balance", "reversed"]),
            (.activity, "ActivityRecord", "records.proto", []),
            (.contact, "ContactRecord", "records.proto", []),
            (.dispute, "DisputeRecord", "records.proto", []),
            (.promiseToPay, "PromiseRecord", "records.proto", []),
            (.collectionTask, "TaskRecord", "records.proto", []),
            (.dunningPolicy, "DunningPolicyRecord", "dunning.proto", []),
            (.dunningHold, "DunningHoldRecord", "dunning.proto", []),
            (.dunningNotice, "DunningNoticeRecord", "dunning.proto", []),
            (.escalationRule, "EscalationRuleRecord", "dunning.proto", []),
            (.escalation, "EscalationRecord", "dunning.proto", []),
            (.bankFile, "BankFileRecord", "cash.proto", []),
            (.bankReceipt, "BankReceiptRecord", "cash.proto", ["unapplied"]),
            (.tenantSetting, "TenantSettingRecord", "records.proto", ["is_default"]),
            (.approvalRequest, "ApprovalRequestRecord", "records.proto", ["entry_id"]),
            (.exchangeRate, "ExchangeRateRecord", "records.proto", []),
            (.periodClose, "PeriodCloseRecord", "receivables.proto", []),
            (.teamCalendar, "TeamCalendarRecord", "records.proto", []),
            (.ticket, "TicketRecord", "records.proto", ["sla"]),
            (.ticketEvent, "TicketEventRecord", "records.proto", []),
        ]
        for (kind, message, file, derived) in messages {
            let proto = try Self.protoFields(message, in: file).filter { !derived.contains($0.name) }
            let form = try #require(SyncForms.byKind[kind.rawValue]).form
            #expect(proto.map(\.name) == form.map(\.name), "\(message)")
            for (field, wire) in zip(form, proto) {
                let expected: (type: String, repeated: Bool) = switch field.type {
                case .text, .choice, .date: ("string", false)
                case .textList: ("string", true)
                case .int32: ("int32", false)
                case .int64, .instant: ("int64", false)
                case .bool: ("bool", false)
                case .amount: ("Amount", false)
                case .value: ("", false)
                // An array of objects: a repeated message, whichever (its fields are checked below).
                case .objects: (wire.type, true)
                }
                #expect(wire.type == expected.type && wire.repeated == expected.repeated, "\(message).\(wire.name)")
            }
        }
    }

    @Test("the objects inside a record (a policy's levels, a notice's lines and charges) are their RPC messages too")
    func nestedFormsAreTheRPCMessages() throws {
        let nested: [(RecordKind, String, String, String)] = [
            (.dunningPolicy, "levels", "DunningLevel", "dunning.proto"), (.dunningNotice, "lines", "DunningNoticeLine", "dunning.proto"),
            (.dunningNotice, "charges", "DunningCharge", "dunning.proto"),
            (.bankReceipt, "applications", "ReceiptApplication", "cash.proto"), (.bankReceipt, "suggestions", "ReceiptSuggestion", "cash.proto"),
            (.periodClose, "buckets", "CloseBucket", "receivables.proto"), (.periodClose, "currencies", "CloseCurrency", "receivables.proto"),
        ]
        for (kind, field, message, file) in nested {
            let parent = try #require(SyncForms.byKind[kind.rawValue]).form
            guard case .objects(let form)? = parent.first(where: { $0.name == field })?.type else {
                Issue.record("\(kind).\(field) is not an array of objects")
                continue
            }
            let proto = try Self.protoFields(message, in: file)
            #expect(proto.map(\.name) == form.map(\.name), "\(message)")
            #expect(proto.map(\.repeated) == form.map { $0.type == .textList }, "\(message)")
        }
    }

    @Test("an object of a record's field is read by its own form, and a refusal names its path")
    func nestedRefusalsNameThePath() throws {
        var fields = syncFormSamples.first { $0 is DunningPolicy }!.fieldMap
        guard case .array(var levels) = fields["levels"], case .object(var level) = levels[1] else { return }
        level["days"] = .string("30")
        levels[1] = .object(level)
        fields["levels"] = .array(levels)
        #expect(throws: DomainError.self) { try DunningPolicy(fieldMap: fields) }
        do throws(DomainError) { _ = try DunningPolicy(fieldMap: fields) } catch { #expect(error.field == "levels[1].days") }
        do throws(DomainError) {
            try SyncForms.check(fields, kind: "dunning_policy", allowsDeleted: true)
            Issue.record("accepted")
        } catch { #expect(error.field == "levels[1].days") }
        level["days"] = .integer(30)
        level["colour"] = .string("red")
        levels[1] = .object(level)
        fields["levels"] = .array(levels)
        do throws(DomainError) { _ = try DunningPolicy(fieldMap: fields) } catch { #expect(error.field == "levels[1].colour") }
    }

    @Test("a stored plan read without the form reader gives what the form reader gives, and its refusals name the same path")
    func planReadsLikeTheForm() throws {
        let promise = syncFormSamples.compactMap { $0 as? PromiseToPay }.first { !$0.installments.isEmpty }!
        let plan = try #require(promise.fieldMap["installments"])
        #expect(try Installment.plan(plan) == promise.installments)
        #expect(try Installment.plan(.array([])) == [])
        guard case .array(var items) = plan, case .object(var first) = items[0] else { Issue.record("not an array of objects"); return }
        let broken: [(FieldValue, String)] = [
            (.string("2026-11-31"), "installments[0].due_date"),  // no such day
            (.string("2026-11-20 "), "installments[0].due_date"),
        ]
        for (due, field) in broken {
            first["due_date"] = due
            items[0] = .object(first)
            do throws(DomainError) { _ = try Installment.plan(.array(items)); Issue.record("accepted \(due)") } catch { #expect(error.field == field) }
        }
        // An unknown field goes to the form reader, which names it.
        first["due_date"] = .string("2026-11-20")
        first["colour"] = .string("red")
        items[0] = .object(first)
        do throws(DomainError) { _ = try Installment.plan(.array(items)); Issue.record("accepted colour") } catch { #expect(error.field == "installments[0].colour") }
        first.removeValue(forKey: "colour")
        first["amount"] = .object(["currency": .string("usd"), "minor": .string("100")])
        items[0] = .object(first)
        do throws(DomainError) { _ = try Installment.plan(.array(items)); Issue.record("accepted usd") } catch { #expect(error.field == "installments[0].amount.currency") }
    }

    @Test("the RPC's names and units: snake_case keys, amounts in minor units as int64 strings, instants in Unix ms")
    func namesAndUnitsAreTheRPCs() {
        let usd = Currency(code: "USD")!
        let entry = LedgerEntry(id: "I", kind: .creditMemo, customerID: "C", amount: Money(minorUnits: 100050, currency: usd), date: CivilDate("2026-01-31")!)
        #expect(String(decoding: RecordCoding.canonical(entry.fieldMap), as: UTF8.self)
            == #"{"amount":{"currency":"USD","minor":"100050"},"customer_id":"C","date":"2026-01-31","due_date":null,"id":"I","kind":"credit_memo","memo":"","reference":"","source_id":null,"target_id":null}"#)
        let note = Activity(id: "A", customerID: "C", kind: .note, direction: .undirected, authorID: "u", occurredAt: Date(timeIntervalSince1970: 1.5))
        #expect(note.fieldMap["occurred_at"] == .string("1500"))
        #expect(note.fieldMap["direction"] == .string("none"))
    }

    @Test("canonical JSON: keys in byte order, no whitespace, only the escapes JSON requires")
    func canonicalBytes() {
        let value: FieldValue = .object([
            "b": .array([.integer(-1), .null, .bool(true), .bool(false)]),
            "a": .string("q\"b\\s/é\u{1}\t\n\r\u{8}\u{c}\u{1f}\u{7f}\u{2028}"),
            "_": .object(["z": .string(""), "Z": .integer(0)]),
        ])
        #expect(String(decoding: CanonicalJSON.encode(value), as: UTF8.self)
            == #"{"_":{"Z":0,"z":""},"a":"q\"b\\s/é\u0001\t\n\r\b\f\u001f"# + "\u{7f}\u{2028}" + #"","b":[-1,null,true,false]}"#)
    }

    @Test("a notice's canonical JSON written from its values is the bytes of its field map encoded, and without its lines those of the map without them", arguments: [1, 2, 3, 4, 5, 6] as [UInt64])
    func noticeCanonicalJSON(seed: UInt64) {
        var random = SeededGenerator(seed: seed)
        let currencies = [Currency(code: "USD")!, Currency(code: "JPY")!, Currency(code: "KWD")!]
        let texts = ["", "INV-1", "q\"b\\s/é\u{1}\t\n\u{7f}\u{2028}", "Globe Retail", "DN:C1:30:INV-9", "日本"]
        func text() -> String { texts[Int.random(in: 0..<texts.count, using: &random)] }
        func money() -> Money {
            Money(minorUnits: Int64.random(in: -Money.maximumMinorUnits...Money.maximumMinorUnits, using: &random),
                  currency: currencies[Int.random(in: 0..<currencies.count, using: &random)])
        }
        func maybe<T>(_ make: () -> T) -> T? { Bool.random(using: &random) ? make() : nil }
        func instant() -> Date { Date(timeIntervalSince1970: Double(Int64.random(in: -1_000_000_000_000...4_000_000_000_000, using: &random)) / 1_000) }
        for _ in 0..<40 {
            let lines = (0..<Int.random(in: 0...5, using: &random)).map { _ in
                DunningNoticeLine(invoiceID: text(), reference: text(), dueDate: CivilDate("2026-02-28")!.adding(days: Int.random(in: -400...400, using: &random)),
                                  daysPastDue: Int.random(in: -30...900, using: &random), balance: money())
            }
            let charges = (0..<Int.random(in: 0...3, using: &random)).map { _ in DunningCharge(total: money(), interest: maybe(money), fee: maybe(money)) }
            let notice = DunningNotice(
                id: text(), runID: text(), customerID: text(), policyID: text(), level: Int.random(in: 1...9, using: &random),
                levelDays: Int.random(in: -30...400, using: &random), channel: DunningChannel.allCases.randomElement(using: &random)!, template: text(),
                asOf: CivilDate("2026-03-08")!, anchorInvoiceID: text(), lines: lines, charges: charges,
                status: DunningNoticeStatus.allCases.randomElement(using: &random)!, statusReason: text(), createdAt: instant(),
                releasedAt: maybe(instant), releasedBy: text(), delivery: maybe { NoticeDeliveryState.allCases.randomElement(using: &random)! },
                deliveredAs: maybe { DunningChannel.allCases.randomElement(using: &random)! }, deliveredAt: maybe(instant), deliveryDetail: text(),
                deliveryAttempts: Int.random(in: 0...5, using: &random)
            )
            #expect(String(decoding: notice.canonicalJSON, as: UTF8.self) == String(decoding: RecordCoding.canonical(notice.fieldMap), as: UTF8.self))
            var withoutLines = notice.fieldMap
            withoutLines["lines"] = nil
            #expect(String(decoding: notice.canonicalJSONBytes(lines: false), as: UTF8.self) == String(decoding: RecordCoding.canonical(withoutLines), as: UTF8.self))
        }
    }

    @Test("a malformed value in a pushed change is refused, naming the field", arguments: [
        ("contact", ["nickname": FieldValue.string("x")], "nickname", false),
        ("contact", ["phone": .integer(5)], "phone", false),
        ("contact", ["_deleted": .string("yes")], "_deleted", false),
        ("ledger_entry", ["_deleted": .bool(true)], "_deleted", false),
        ("customer", ["payment_terms_days": .integer(1 << 40)], "payment_terms_days", true),
        ("customer", ["risk_rating": .string("3")], "risk_rating", false),
        ("customer", ["risk_rating": .number(3.5)], "risk_rating", false),
        ("customer", ["tags": .array([.string("a"), .integer(2)])], "tags[1]", false),
        ("customer", ["credit_limit": .object(["currency": .string("USD"), "minorUnits": .integer(5)])], "credit_limit.minorUnits", false),
        ("dispute", ["amount": .object(["currency": .string("USD"), "minor": .integer(5)])], "amount.minor", false),
        ("dispute", ["amount": .object(["currency": .string("USD"), "minor": .string("9223372036854775808")])], "amount.minor", true),
        ("dispute", ["amount": .object(["currency": .string("USD"), "minor": .string("05")])], "amount.minor", false),
        ("dispute", ["amount": .object(["currency": .string("USD"), "minor": .string("-0")])], "amount.minor", false),
        ("dispute", ["amount": .object(["currency": .string("USD"), "minor": .string("+5")])], "amount.minor", false),
        ("dispute", ["amount": .object(["currency": .string("usd"), "minor": .string("5")])], "amount.currency", false),
        ("dispute", ["amount": .null], "amount", false),
        ("dispute", ["opened_on": .string("2026-02-30")], "opened_on", false),
        ("dispute", ["opened_on": .string("+202-01-01")], "opened_on", false),
        ("dispute", ["status": .string("closed")], "status", false),
        ("activity", ["occurred_at": .integer(1_795_000_000_000)], "occurred_at", false),
        ("sync_conflict", ["kept_at": .string("1e3")], "kept_at", false),
        ("no_such_kind", [:], "kind", false),
    ] as [(String, FieldMap, String, Bool)])
    func malformedValuesAreRefused(kind: String, fields: FieldMap, field: String, outOfRange: Bool) {
        do {
            try SyncForms.check(fields, kind: kind, allowsDeleted: kind != "ledger_entry")
            Issue.record("\(fields) was let in")
        } catch {
            #expect(error.field == field)
            if case .outOfRange = error { #expect(outOfRange) } else { #expect(!outOfRange, "\(error)") }
        }
    }

    @Test("a refusal stays short whatever was pushed: a huge unknown key or value is cut to 64 characters")
    func refusalsDoNotGrowWithThePush() {
        let huge = String(repeating: "é", count: 100_000)
        for (fields, kind) in [
            ([huge: FieldValue.string("x")], "contact"), (["phone": .array(Array(repeating: .string(huge), count: 3))], "contact"),
            (["opened_on": .string(huge)], "dispute"), (["status": .string(huge)], "dispute"),
            (["amount": .object(["currency": .string("USD"), "minor": .string(huge)])], "dispute"),
            (["amount": .object(["currency": .string("USD"), "minor": .string("1"), huge: .null])], "dispute"),
        ] as [(FieldMap, String)] {
            do {
                try SyncForms.check(fields, kind: kind, allowsDeleted: true)
                Issue.record("let in")
            } catch {
                #expect(error.description.count < 300, "\(error.description.prefix(100))")
                #expect(error.field.count <= 80)
            }
        }
    }

    @Test("an integer too large for int64 in the JSON text is out of range, naming the field")
    func hugeJSONNumberIsOutOfRange() throws {
        let fields = try RecordCoding.decode(Data(#"{"risk_rating":123456789012345678901234}"#.utf8))
        do {
            try SyncForms.check(fields, kind: "customer", allowsDeleted: true)
            Issue.record("let in")
        } catch {
            guard case .outOfRange(field: "risk_rating", _) = error else { return #expect(Bool(false), "\(error)") }
        }
    }

    @Test("a full record missing a required field, or null where none is allowed, names the field")
    func fullRecordsNeedEveryRequiredField() {
        var fields = Contact(id: "K1", customerID: "C1", name: "Rosa", email: "r@x.example").fieldMap
        fields["customer_id"] = nil
        #expect(throws: DomainError.invalid(field: "customer_id", "is missing: every contact record has it")) { try Contact(fieldMap: fields) }
        fields["customer_id"] = .null
        #expect(throws: DomainError.invalid(field: "customer_id", "must not be null")) { try Contact(fieldMap: fields) }
    }

    @Test("schema 1's Codable form of every kind upgrades to the record's form today")
    func legacyFormUpgrades() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        for sample in syncFormSamples {
            let form = type(of: sample)
            // The dunning and cash kinds came after replica schema 1: no store holds them in its form.
            let later: [RecordKind] = [.dunningPolicy, .dunningHold, .dunningNotice, .escalationRule, .escalation, .bankFile, .bankReceipt, .approvalRequest, .exchangeRate, .periodClose,
                                     .teamCalendar, .ticket, .ticketEvent]
            guard let codable = sample as? any Encodable, !later.contains(form.recordKind) else { continue }
            // Schema 1 had no payment plans: no schema 1 record holds installments.
            if let promise = sample as? PromiseToPay, !promise.installments.isEmpty { continue }
            let legacy = try RecordCoding.decode(encoder.encode(codable))
            let upgraded = LegacySyncForm.upgrade(legacy, kind: form.recordKind.rawValue)
            #expect(try form.init(fieldMap: upgraded).fieldMap == sample.fieldMap, "\(form.recordKind)")
        }
        // Conflicts had no Codable twin left: schema 1's form as it wrote one.
        let legacyConflict: FieldMap = [
            "id": .string("cfl_customer_C1_creditLimit_r1_2"), "kind": .string("customer"), "recordID": .string("C1"),
            "field": .string("creditLimit"), "kept": .object(["currency": .string("USD"), "minorUnits": .integer(5)]), "keptBy": .string("r1"),
            "keptAt": .integer(7), "lost": .null, "lostBy": .string("server"), "lostAt": .integer(6), "status": .string("open"),
            "settledBy": .string(""),
        ]
        let conflict = try ConflictRecord(fieldMap: LegacySyncForm.upgrade(legacyConflict, kind: "sync_conflict"))
        #expect(conflict.field == "credit_limit")
        #expect(conflict.kept == .object(["currency": .string("USD"), "minor": .string("5")]))
        #expect(conflict.lost == .null && conflict.keptAt == 7 && conflict.lostAt == 6)
        #expect(conflict.id == "cfl_customer_C1_creditLimit_r1_2")
        #expect(LegacySyncForm.fieldName("assigneeID", kind: "collection_task") == "assignee_id")
        #expect(LegacySyncForm.fieldName("_deleted", kind: "contact") == "_deleted")
    }
}
