import DunlinCore
@testable import DunlinStore
import Foundation
import GRDB
import Testing

private let usd = Currency("USD")
private let php = Currency("PHP")
private let day = CivilDate("2026-10-01")!
private let noon = Date(timeIntervalSince1970: 1_790_000_000)

/// A store with customers C1 (Jollibee, analyst U1) and C2 (Acme, analyst U2); C1's invoices I1
/// (USD 1,000.00) and I2 (PHP 50,000.00), C2's invoice I3 (USD 200.00), and payment PAY1 (USD
/// 1,000.00) from C1.
private func store() throws -> TenantStore {
    let store = try TenantStore()
    try store.upsert([
        Customer(id: "C1", number: "1001", name: "Jollibee Foods", analystID: "U1", timeZone: "Asia/Manila"),
        Customer(id: "C2", number: "1002", name: "Acme Corp", analystID: "U2", timeZone: "America/Chicago"),
    ])
    try store.post([
        LedgerEntry(id: "I1", kind: .invoice, customerID: "C1", amount: Money(minorUnits: 1000_00, currency: usd), date: day, dueDate: day.adding(days: 30), reference: "INV-1"),
        LedgerEntry(id: "I2", kind: .invoice, customerID: "C1", amount: Money(minorUnits: 50_000_00, currency: php), date: day, dueDate: day.adding(days: 30), reference: "INV-2"),
        LedgerEntry(id: "I3", kind: .invoice, customerID: "C2", amount: Money(minorUnits: 200_00, currency: usd), date: day.adding(days: 5), dueDate: day.adding(days: 35), reference: "INV-3"),
        LedgerEntry(id: "PAY1", kind: .payment, customerID: "C1", amount: Money(minorUnits: 1000_00, currency: usd), date: day.adding(days: 10)),
    ])
    return store
}

private func contact(_ id: String, customer: String = "C1", name: String = "Maria Santos") -> Contact {
    Contact(id: id, customerID: customer, name: name, role: "AP clerk", email: "\(id.lowercased())@example.ph", phone: "+63 2 8634 1111", preferredChannel: .sms)
}

private func dispute(_ id: String, customer: String = "C1", invoices: [String] = ["I1"], amount: Int64 = 250_00, status: DisputeStatus = .open, team: DisputeOwnerTeam = .sales, opened: CivilDate = day) -> Dispute {
    Dispute(
        id: id, customerID: customer, invoiceIDs: invoices, amount: Money(minorUnits: amount, currency: usd), reasonCode: "pricing", status: status,
        ownerTeam: team, openedOn: opened, resolvedOn: status.isClosed ? opened.adding(days: 3) : nil, note: "short-shipped 3 cases"
    )
}

private func promise(_ id: String, customer: String = "C1", invoices: [String] = ["I1"], amount: Int64 = 1000_00, promised: CivilDate = day.adding(days: 14), status: PromiseStatus = .open) -> PromiseToPay {
    PromiseToPay(id: id, customerID: customer, invoiceIDs: invoices, amount: Money(minorUnits: amount, currency: usd), madeOn: day, promisedDate: promised, status: status, note: "by wire")
}

private func task(_ id: String, assignee: String = "U1", customer: String = "C1", due: CivilDate = day, done: Bool = false) -> CollectionTask {
    CollectionTask(id: id, assigneeID: assignee, customerID: customer, title: "Call AP about \(id)", dueDate: due, done: done, notes: "ask for remittance")
}

private func activity(_ id: String, customer: String = "C1", kind: ActivityKind = .call, author: String = "U1", at instant: Date = noon) -> Activity {
    Activity(
        id: id, customerID: customer, kind: kind, direction: kind == .note ? .undirected : .outbound, outcome: "left voicemail",
        authorID: author, occurredAt: instant, body: "Called the AP line; voicemail."
    )
}

/// "kind/id/op" of every change-log row, in order.
private func changeLog(_ store: TenantStore) throws -> [String] {
    try store.writer.read { db in
        try Row.fetchAll(db, sql: "SELECT record_kind, record_id, op FROM change_log ORDER BY seq")
            .map { "\($0["record_kind"] as String)/\($0["record_id"] as String)/\($0["op"] as String)" }
    }
}

/// Every item of a list, page by page, running `between` after each page (to write while paging).
private func everything<Item>(
    pageSize: UInt32, _ fetch: (PageRequest) throws -> Page<Item>, between: () throws -> Void = {}
) throws -> [Item] {
    var items: [Item] = []
    var cursor: String?
    var pages = 0
    repeat {
        let page = try fetch(PageRequest(after: cursor, size: pageSize))
        #expect(page.items.count <= Int(pageSize))
        #expect(page.nextCursor == nil || page.items.count == Int(pageSize))
        items += page.items
        cursor = page.nextCursor
        pages += 1
        try between()
    } while cursor != nil && pages < 10_000
    return items
}

@Suite("Record store")
struct RecordStoreTests {
    @Test("stored id lists read back exactly, by the fast path or the decoder, whatever the ids hold")
    func storedIDLists() throws {
        let lists: [[String]] = [
            [], ["INV-1"], ["INV-1", "INV-2"], [""], ["a,b", "c"], ["say \"hi\"", "x"], ["back\\slash"], ["a/b"], ["ünï", "日本"],
            ["\",\""], ["tab\there"], ["[", "]"],
        ]
        for ids in lists {
            #expect(try StoredValue.ids(StoredValue.json(ids), "t", "c", id: "x") == ids, "\(ids)")
        }
        // Written by other hands: spaces, escapes; and what is no list at all.
        #expect(try StoredValue.ids(#"[ "a" , "b" ]"#, "t", "c", id: "x") == ["a", "b"])
        #expect(try StoredValue.ids(#"["a\u0041"]"#, "t", "c", id: "x") == ["aA"])
        #expect(try StoredValue.ids(#"["a" ]"#, "t", "c", id: "x") == ["a"])
        for bad in [#"["a""#, #"["a","#, "x", #"["a"]]"#, "[", "]", "[,]"] {
            #expect(throws: DatabaseError.self, "\(bad)") { try StoredValue.ids(bad, "t", "c", id: "x") }
        }
    }

    // MARK: Round trips

    @Test("each record reads back exactly as written, and each write is in the change log")
    func roundTrip() throws {
        let store = try store()
        let before = try changeLog(store).count
        let k = contact("K1")
        let d = Dispute(
            id: "D1", customerID: "C1", invoiceIDs: ["I1"], amount: Money(minorUnits: 250_00, currency: usd), reasonCode: "damaged_goods",
            status: .resolved, ownerTeam: .customerService, openedOn: day, resolvedOn: day.adding(days: 9), note: "credit memo CM-7"
        )
        let p = PromiseToPay(id: "P1", customerID: "C1", invoiceIDs: ["I2"], amount: Money(minorUnits: 12_345_67, currency: php), madeOn: day, promisedDate: day.adding(days: 7), status: .partlyKept)
        let t = CollectionTask(id: "T1", assigneeID: "U1", title: "Send statement", dueDate: day, done: true)
        let a = Activity(id: "A1", customerID: "C1", kind: .email, direction: .inbound, outcome: "remittance advice", authorID: "U1", occurredAt: Date(timeIntervalSince1970: 1_790_000_000.987), body: "Attached: remittance")
        try store.upsert([k])
        try store.upsert([d])
        try store.upsert([p])
        try store.upsert([t])
        try store.append([a])
        #expect(try store.contact("K1") == k)
        #expect(try store.dispute("D1") == d)
        #expect(try store.promise("P1") == p)
        #expect(try store.task("T1") == t)
        #expect(try store.activity("A1") == a)
        #expect(try store.contact("nope") == nil)
        #expect(try changeLog(store).dropFirst(before) == ["contact/K1/insert", "dispute/D1/insert", "promise_to_pay/P1/insert", "collection_task/T1/insert", "activity/A1/insert"])
    }

    @Test("an upsert of an existing record logs an update; one that changes nothing writes nothing")
    func updates() throws {
        let store = try store()
        var t = task("T1")
        try store.upsert([t])
        t.done = true
        try store.upsert([t])
        let sequence = try store.lastChangeSequence()
        try store.upsert([t])
        #expect(try store.lastChangeSequence() == sequence)
        #expect(try store.task("T1")?.done == true)
        #expect(try changeLog(store).suffix(2) == ["collection_task/T1/insert", "collection_task/T1/update"])
    }

    @Test("a file store keeps the records across reopening")
    func reopen() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dunlin-records-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("tenant.sqlite").path
        do {
            let store = try TenantStore(path: path)
            try store.upsert([Customer(id: "C1", number: "1", name: "Jollibee Foods")])
            try store.upsert([contact("K1")])
            try store.append([activity("A1")])
        }
        let reopened = try TenantStore(path: path)
        #expect(try reopened.contact("K1") == contact("K1"))
        #expect(try reopened.activities().items == [activity("A1")])
    }

    // MARK: Validation

    @Test("a refused batch writes nothing, and names the item and the field")
    func refusedBatches() throws {
        let store = try store()
        let sequence = try store.lastChangeSequence()
        func refusal(_ body: () throws -> Void) -> StoreError? {
            do { try body() } catch let error as StoreError { return error } catch { Issue.record("unexpected \(error)") }
            return nil
        }
        var badEmail = contact("K2")
        badEmail.email = "maria.example.ph"
        #expect(refusal { try store.upsert([contact("K1"), badEmail]) } == .refused(index: 1, .invalid(field: "email", "\"maria.example.ph\" is not an email address (name@domain)")))
        #expect(refusal { try store.upsert([dispute("D1"), dispute("D2"), dispute("D3", invoices: ["I1", "I2"])]) }.map(\.location) == "2 invoice_ids[1]")
        #expect(refusal { try store.upsert([dispute("D1", amount: 0)]) }.map(\.location) == "0 amount")
        #expect(refusal { try store.upsert([promise("P1"), promise("P2", invoices: ["I3"])]) }.map(\.location) == "1 invoice_ids[0]")
        #expect(refusal { try store.upsert([promise("P1", promised: day.adding(days: -1))]) }.map(\.location) == "0 promised_date")
        #expect(refusal { try store.upsert([task("T1"), task("T2", assignee: "")]) }.map(\.location) == "1 assignee_id")
        #expect(refusal { try store.append([activity("A1"), activity("A2", author: "")]) }.map(\.location) == "1 author_id")
        #expect(refusal { try store.append([activity("A1"), activity("A1", kind: .note)]) }.map(\.location) == "1 id")
        #expect(try store.contact("K1") == nil)
        #expect(try store.dispute("D1") == nil)
        #expect(try store.promise("P1") == nil)
        #expect(try store.task("T1") == nil)
        #expect(try store.activity("A1") == nil)
        #expect(try store.lastChangeSequence() == sequence)
    }

    @Test("a record's customer and invoices must be the tenant's: an unknown id is not found")
    func references() throws {
        let store = try store()
        #expect(throws: StoreError.refused(index: 0, .notFound(field: "customer_id", id: "C9"))) { try store.upsert([contact("K1", customer: "C9")]) }
        #expect(throws: StoreError.refused(index: 0, .notFound(field: "customer_id", id: "C9"))) { try store.append([activity("A1", customer: "C9")]) }
        #expect(throws: StoreError.refused(index: 0, .notFound(field: "customer_id", id: "C9"))) { try store.upsert([task("T1", customer: "C9")]) }
        #expect(throws: StoreError.refused(index: 0, .notFound(field: "invoice_ids[0]", id: "I9"))) { try store.upsert([dispute("D1", invoices: ["I9"])]) }
        #expect(throws: StoreError.refused(index: 0, .notFound(field: "invoice_ids[0]", id: "PAY1"))) { try store.upsert([promise("P1", invoices: ["PAY1"])]) }
        // A task about no one customer is fine.
        try store.upsert([task("T1", customer: "")])
    }

    // MARK: Tombstones

    @Test("a deleted record disappears from gets and lists, stays in the change log, and its id is not reused")
    func tombstones() throws {
        let store = try store()
        try store.upsert([contact("K1"), contact("K2")])
        try store.upsert([dispute("D1"), dispute("D2")])
        try store.upsert([promise("P1"), promise("P2")])
        try store.upsert([task("T1"), task("T2")])
        try store.deleteContacts(["K1"])
        try store.deleteDisputes(["D1"])
        try store.deletePromises(["P1"])
        try store.deleteTasks(["T1"])
        #expect(try store.contact("K1") == nil)
        #expect(try store.dispute("D1") == nil)
        #expect(try store.promise("P1") == nil)
        #expect(try store.task("T1") == nil)
        #expect(try store.contacts().items.map(\.id) == ["K2"])
        #expect(try store.disputes().items.map(\.id) == ["D2"])
        #expect(try store.promises().items.map(\.id) == ["P2"])
        #expect(try store.tasks().items.map(\.id) == ["T2"])
        #expect(try store.evaluatePromise("P1", asOf: day) == nil)
        #expect(try changeLog(store).suffix(4) == ["contact/K1/delete", "dispute/D1/delete", "promise_to_pay/P1/delete", "collection_task/T1/delete"])
        // Still in the table, flagged, for the sync feed and the collector.
        #expect(try store.writer.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM contact WHERE deleted = 1") } == 1)

        #expect(throws: StoreError.refused(index: 0, .notFound(field: "id", id: "K1"))) { try store.deleteContacts(["K1"]) }
        #expect(throws: StoreError.self) { try store.upsert([contact("K1")]) }
        // All or nothing: K2 is not deleted when the batch's second id names nothing.
        #expect(throws: StoreError.refused(index: 1, .notFound(field: "id", id: "K9"))) { try store.deleteContacts(["K2", "K9"]) }
        #expect(try store.contact("K2") != nil)
    }

    @Test("activities cannot be updated or deleted, not even with raw SQL")
    func activitiesAreImmutable() throws {
        let store = try store()
        try store.append([activity("A1")])
        #expect(throws: (any Error).self) { try store.writer.write { try $0.execute(sql: "UPDATE activity SET body = 'rewritten'") } }
        #expect(throws: (any Error).self) { try store.writer.write { try $0.execute(sql: "DELETE FROM activity") } }
        #expect(throws: StoreError.refused(index: 0, .alreadyExists(
            field: "id", "activity A1 already exists with other content; a retry must repeat the first request exactly"
        ))) { try store.append([activity("A1", kind: .note)]) }
        // The same activity again is a retry: accepted, logged once.
        let sequence = try store.lastChangeSequence()
        try store.append([activity("A1")])
        #expect(try store.lastChangeSequence() == sequence)
        #expect(try store.activity("A1") == activity("A1"))
    }

    // MARK: Filters

    @Test("contacts and customers filter by customer and analyst")
    func contactAndCustomerFilters() throws {
        let store = try store()
        try store.upsert([contact("K1", name: "Zed"), contact("K2", name: "Ana"), contact("K3", customer: "C2", name: "Bo")])
        #expect(try store.contacts(customerID: "C1").items.map(\.id) == ["K2", "K1"])
        #expect(try store.contacts().items.map(\.id) == ["K2", "K3", "K1"])
        #expect(try store.customers().items.map(\.id) == ["C2", "C1"])
        #expect(try store.customers(analystID: "U1").items.map(\.id) == ["C1"])
        #expect(try store.customers(analystID: "U9").items.isEmpty)
    }

    @Test("disputes filter by customer, invoice, status, owner team and opening date")
    func disputeFilters() throws {
        let store = try store()
        try store.upsert([
            dispute("D1", invoices: ["I1"], status: .open, team: .sales, opened: day),
            dispute("D2", invoices: ["I1"], status: .investigating, team: .legal, opened: day.adding(days: 2)),
            dispute("D3", customer: "C2", invoices: ["I3"], amount: 50_00, status: .resolved, team: .billing, opened: day.adding(days: 4)),
            dispute("D4", invoices: ["I1"], status: .rejected, team: .customerService, opened: day.adding(days: 6)),
        ])
        #expect(try store.disputes().items.map(\.id) == ["D1", "D2", "D3", "D4"])
        #expect(try store.disputes(customerID: "C1").items.map(\.id) == ["D1", "D2", "D4"])
        #expect(try store.disputes(invoiceID: "I3").items.map(\.id) == ["D3"])
        #expect(try store.disputes(statuses: [.open, .investigating]).items.map(\.id) == ["D1", "D2"])
        #expect(try store.disputes(ownerTeams: [.legal, .billing]).items.map(\.id) == ["D2", "D3"])
        #expect(try store.disputes(openedFrom: day.adding(days: 2), openedThrough: day.adding(days: 4)).items.map(\.id) == ["D2", "D3"])
        #expect(try store.disputes(customerID: "C1", statuses: [.rejected], openedFrom: day.adding(days: 1)).items.map(\.id) == ["D4"])
    }

    @Test("promises filter by customer, invoice, status and promised date")
    func promiseFilters() throws {
        let store = try store()
        try store.upsert([
            promise("P1", promised: day.adding(days: 3)),
            promise("P2", promised: day.adding(days: 1), status: .broken),
            promise("P3", customer: "C2", invoices: ["I3"], amount: 200_00, promised: day.adding(days: 5), status: .kept),
        ])
        #expect(try store.promises().items.map(\.id) == ["P2", "P1", "P3"])
        #expect(try store.promises(customerID: "C2").items.map(\.id) == ["P3"])
        #expect(try store.promises(invoiceID: "I1").items.map(\.id) == ["P2", "P1"])
        #expect(try store.promises(statuses: [.open, .kept]).items.map(\.id) == ["P1", "P3"])
        #expect(try store.promises(promisedThrough: day.adding(days: 3)).items.map(\.id) == ["P2", "P1"])
        #expect(try store.promises(promisedFrom: day.adding(days: 4)).items.map(\.id) == ["P3"])
    }

    @Test("tasks filter by assignee, customer, done and due date")
    func taskFilters() throws {
        let store = try store()
        try store.upsert([
            task("T1", assignee: "U1", due: day.adding(days: 2)),
            task("T2", assignee: "U2", customer: "C2", due: day),
            task("T3", assignee: "U1", due: day.adding(days: 1), done: true),
            task("T4", assignee: "U1", customer: "", due: day.adding(days: 9)),
        ])
        #expect(try store.tasks().items.map(\.id) == ["T2", "T3", "T1", "T4"])
        #expect(try store.tasks(assigneeID: "U1").items.map(\.id) == ["T3", "T1", "T4"])
        #expect(try store.tasks(assigneeID: "U1", done: false).items.map(\.id) == ["T1", "T4"])
        #expect(try store.tasks(done: true).items.map(\.id) == ["T3"])
        #expect(try store.tasks(customerID: "C2").items.map(\.id) == ["T2"])
        #expect(try store.tasks(dueFrom: day.adding(days: 1), dueThrough: day.adding(days: 2)).items.map(\.id) == ["T3", "T1"])
    }

    @Test("activities filter by customer, author, kind and time, oldest or newest first")
    func activityFilters() throws {
        let store = try store()
        try store.append([
            activity("A1", at: noon),
            activity("A2", kind: .note, author: "U2", at: noon.addingTimeInterval(60)),
            activity("A3", customer: "C2", kind: .email, at: noon.addingTimeInterval(120)),
            activity("A4", kind: .letter, at: noon.addingTimeInterval(-3600)),
        ])
        #expect(try store.activities().items.map(\.id) == ["A4", "A1", "A2", "A3"])
        #expect(try store.activities(newestFirst: true).items.map(\.id) == ["A3", "A2", "A1", "A4"])
        #expect(try store.activities(customerID: "C1", newestFirst: true).items.map(\.id) == ["A2", "A1", "A4"])
        #expect(try store.activities(authorID: "U2").items.map(\.id) == ["A2"])
        #expect(try store.activities(kinds: [.email, .letter]).items.map(\.id) == ["A4", "A3"])
        #expect(try store.activities(occurredFrom: noon, occurredBefore: noon.addingTimeInterval(120)).items.map(\.id) == ["A1", "A2"])
    }

    @Test("ledger entries filter by customer, kind and date")
    func ledgerFilters() throws {
        let store = try store()
        #expect(try store.entries().items.map(\.id) == ["I1", "I2", "I3", "PAY1"])
        #expect(try store.entries(customerID: "C1").items.map(\.id) == ["I1", "I2", "PAY1"])
        #expect(try store.entries(kinds: [.payment]).items.map(\.id) == ["PAY1"])
        #expect(try store.entries(customerID: "C1", kinds: [.invoice]).items.map(\.id) == ["I1", "I2"])
        #expect(try store.entries(from: day.adding(days: 1), through: day.adding(days: 10)).items.map(\.id) == ["I3", "PAY1"])
        #expect(try store.entries(through: day).items.map(\.id) == ["I1", "I2"])
    }

    // MARK: Pagination

    @Test("paging visits every task exactly once, in order, while tasks are added between pages")
    func taskPagination() throws {
        let store = try store()
        var generator = SplitMix(seed: 3)
        let original = (0..<300).map { task("T\($0)", due: day.adding(days: Int.random(in: 0..<12, using: &generator))) }
        try store.upsert(original)
        var added = 0
        let seen = try everything(pageSize: 7, { try store.tasks(page: $0) }) {
            try store.upsert((0..<3).map { _ in
                added += 1
                return task("N\(added)", due: day.adding(days: Int.random(in: -2..<14, using: &generator)))
            })
        }
        try expectEachOnce(seen.map(\.id), covering: original.map(\.id))
        #expect(seen.map { "\($0.dueDate) \($0.id)" } == seen.map { "\($0.dueDate) \($0.id)" }.sorted())
        // Rows added ahead of the cursor are met; rows added behind it are not, and none twice.
        #expect(seen.count > original.count && seen.count < original.count + added)
    }

    @Test("paging activities newest first visits each once while new ones are logged")
    func activityPagination() throws {
        let store = try store()
        var generator = SplitMix(seed: 5)
        let original = (0..<250).map { activity("A\($0)", at: noon.addingTimeInterval(Double(Int.random(in: 0..<40, using: &generator)) * 60)) }
        try store.append(original)
        var added = 0
        let seen = try everything(pageSize: 9, { try store.activities(newestFirst: true, page: $0) }) {
            added += 1
            try store.append([activity("N\(added)", at: noon.addingTimeInterval(Double(Int.random(in: -10..<50, using: &generator)) * 60))])
        }
        try expectEachOnce(seen.map(\.id), covering: original.map(\.id))
        let instants = seen.map(\.occurredAt)
        #expect(instants == instants.sorted(by: >))
    }

    @Test("paging customers, ledger entries, disputes, promises and contacts visits each once")
    func otherPagination() throws {
        let store = try store()
        try store.upsert((0..<40).map { Customer(id: "CX\($0)", number: "9\($0)", name: ["Acme", "Bravo", "Jollibee"][$0 % 3]) })
        try store.post((0..<60).map {
            LedgerEntry(id: "IX\($0)", kind: .invoice, customerID: "C1", amount: Money(minorUnits: 1_00, currency: usd), date: day.adding(days: $0 % 4), dueDate: day.adding(days: 30), reference: "X\($0)")
        })
        try store.upsert((0..<30).map { dispute("D\($0)", opened: day.adding(days: $0 % 3)) })
        try store.upsert((0..<30).map { promise("P\($0)", promised: day.adding(days: $0 % 5)) })
        try store.upsert((0..<30).map { contact("K\($0)", name: ["Ana", "Bo"][$0 % 2]) })
        try expectEachOnce(everything(pageSize: 4) { try store.customers(page: $0) }.map(\.id), covering: try store.customers(page: PageRequest(size: 1000)).items.map(\.id), count: 42)
        try expectEachOnce(everything(pageSize: 6) { try store.entries(page: $0) }.map(\.id), covering: try store.entries(page: PageRequest(size: 1000)).items.map(\.id), count: 64)
        try expectEachOnce(everything(pageSize: 5) { try store.disputes(page: $0) }.map(\.id), covering: (0..<30).map { "D\($0)" })
        try expectEachOnce(everything(pageSize: 5) { try store.promises(page: $0) }.map(\.id), covering: (0..<30).map { "P\($0)" })
        try expectEachOnce(everything(pageSize: 5) { try store.contacts(page: $0) }.map(\.id), covering: (0..<30).map { "K\($0)" })
    }

    @Test("a page holds at most 1000 rows, and the last page says there is no next")
    func pageSizeCap() throws {
        let store = try store()
        try store.upsert((0..<1005).map { task(String(format: "T%04d", $0)) })
        let first = try store.tasks(page: PageRequest(size: 5000))
        #expect(first.items.count == PageRequest.Sizes.lists.maximum)
        let second = try store.tasks(page: PageRequest(after: first.nextCursor, size: 5000))
        #expect(second.items.map(\.id) == (1000..<1005).map { String(format: "T%04d", $0) })
        #expect(second.nextCursor == nil)
        #expect(try store.tasks(page: PageRequest(size: 5)).nextCursor != nil)
        #expect(try store.tasks().items.count == PageRequest.Sizes.lists.standard)
        #expect(try store.tasks(page: PageRequest(size: 0)).items.count == PageRequest.Sizes.lists.standard)
    }

    @Test("a garbled cursor, and another list's cursor, are refused naming the cursor")
    func badPageArguments() throws {
        let store = try store()
        try store.upsert([task("T1"), task("T2")])
        try store.append([activity("A1"), activity("A2")])
        let garbled = #expect(throws: DomainError.self) { try store.tasks(page: PageRequest(after: "not a cursor")) }
        #expect(garbled?.field == "cursor")
        let taskCursor = try #require(try store.tasks(page: PageRequest(size: 1)).nextCursor)
        let foreign = #expect(throws: DomainError.self) { try store.disputes(page: PageRequest(after: taskCursor)) }
        #expect(foreign?.field == "cursor")
        let oldestFirst = try #require(try store.activities(page: PageRequest(size: 1)).nextCursor)
        let reversed = #expect(throws: DomainError.self) { try store.activities(newestFirst: true, page: PageRequest(after: oldestFirst)) }
        #expect(reversed?.field == "cursor")
    }

    // MARK: Promise evaluation

    @Test("a promise is evaluated against live payment applications to its invoices, not credits or reversed ones")
    func promiseEvaluation() throws {
        let store = try store()
        try store.upsert([promise("P1", amount: 1000_00, promised: day.adding(days: 14))])
        let later = day.adding(days: 30)
        #expect(try store.evaluatePromise("P1", asOf: day)?.status == .open)
        #expect(try store.evaluatePromise("P1", asOf: later)?.status == .broken)

        try store.post([
            LedgerEntry(id: "CM1", kind: .creditMemo, customerID: "C1", amount: Money(minorUnits: 300_00, currency: usd), date: day),
            LedgerEntry(id: "APC", kind: .application, customerID: "C1", amount: Money(minorUnits: 300_00, currency: usd), date: day.adding(days: 11), sourceID: "CM1", targetID: "I1"),
            LedgerEntry(id: "AP1", kind: .application, customerID: "C1", amount: Money(minorUnits: 400_00, currency: usd), date: day.adding(days: 11), sourceID: "PAY1", targetID: "I1"),
        ])
        #expect(try store.paymentApplications(toInvoices: ["I1", "I2"]).map(\.id) == ["AP1"])
        #expect(try store.evaluatePromise("P1", asOf: later) == PromiseEvaluation(status: .partlyKept, received: Money(minorUnits: 400_00, currency: usd), deadline: day.adding(days: 17)))

        try store.post([
            LedgerEntry(id: "R1", kind: .reversal, customerID: "C1", amount: Money(minorUnits: 400_00, currency: usd), date: day.adding(days: 12), targetID: "AP1"),
            LedgerEntry(id: "AP2", kind: .application, customerID: "C1", amount: Money(minorUnits: 700_00, currency: usd), date: day.adding(days: 12), sourceID: "PAY1", targetID: "I1"),
        ])
        #expect(try store.evaluatePromise("P1", asOf: later)?.received == Money(minorUnits: 700_00, currency: usd))
        #expect(try store.evaluatePromise("P1", asOf: later, graceDays: 0)?.status == .partlyKept)
        #expect(try store.evaluatePromise("nope", asOf: later) == nil)
    }
}

/// Every id of `covering` is in `seen` exactly once, and no id is in `seen` twice.
private func expectEachOnce(_ seen: [String], covering expected: [String], count: Int? = nil, sourceLocation: SourceLocation = #_sourceLocation) throws {
    var counts: [String: Int] = [:]
    for id in seen { counts[id, default: 0] += 1 }
    let repeated = counts.filter { $0.value > 1 }.keys.sorted()
    let missing = expected.filter { counts[$0] == nil }
    #expect(repeated.isEmpty, "seen more than once: \(repeated)", sourceLocation: sourceLocation)
    #expect(missing.isEmpty, "never seen: \(missing)", sourceLocation: sourceLocation)
    if let count { #expect(expected.count == count, sourceLocation: sourceLocation) }
}

extension StoreError {
    /// "index field", for short expectations.
    fileprivate var location: String {
        switch self {
        case .refused(let index, let error): "\(index) \(error.field)"
        }
    }
}
