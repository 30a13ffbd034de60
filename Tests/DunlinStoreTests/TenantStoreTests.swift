import DunlinCore
@testable import DunlinStore
import Foundation
import GRDB
import Testing

private func usd(_ minor: Int64) -> Money { Money(minorUnits: minor, currency: .usd) }
private let day = CivilDate("2026-10-01")!

@Suite("Tenant store")
struct TenantStoreTests {
    @Test("the store and the in-memory ledger agree on every decision and every balance")
    func differential() throws {
        let store = try TenantStore()
        try store.addCustomers("C0", "C1", "C2", "C3", "C4")
        var ledger = Ledger(customers: ["C0", "C1", "C2", "C3", "C4"])
        var generator = SplitMix(seed: 11)
        var seed: [LedgerEntry] = []
        for index in 0..<20 {
            let currency: Currency = index % 4 == 0 ? .php : .usd
            seed.append(LedgerEntry(id: "I\(index)", kind: .invoice, customerID: "C\(index % 5)", amount: Money(minorUnits: Int64.random(in: 1...50_000, using: &generator), currency: currency), date: day, dueDate: day.adding(days: index * 9), reference: "N\(index)"))
            seed.append(LedgerEntry(id: "P\(index)", kind: .payment, customerID: "C\(index % 5)", amount: Money(minorUnits: Int64.random(in: 1...50_000, using: &generator), currency: currency), date: day))
        }
        try store.post(seed)
        for entry in seed { try ledger.post(entry) }

        var posted: [LedgerEntry] = []
        for step in 0..<400 {
            let entry: LedgerEntry
            switch Int.random(in: 0..<5, using: &generator) {
            case 0 where !posted.isEmpty:
                let target = posted.randomElement(using: &generator)!
                entry = LedgerEntry(id: "R\(step)", kind: .reversal, amount: target.amount.magnitudeMoney, date: day, targetID: target.id)
            case 1:
                entry = LedgerEntry(id: "W\(step)", kind: .writeOff, amount: usd(Int64.random(in: 1...5_000, using: &generator)), date: day, targetID: "I\(Int.random(in: 0..<20, using: &generator))")
            case 2:
                entry = LedgerEntry(id: "F\(step)", kind: .refund, amount: usd(Int64.random(in: 1...5_000, using: &generator)), date: day, sourceID: "P\(Int.random(in: 0..<20, using: &generator))")
            default:
                entry = LedgerEntry(id: "A\(step)", kind: .application, amount: usd(Int64.random(in: 1...20_000, using: &generator)), date: day,
                                    sourceID: "P\(Int.random(in: 0..<20, using: &generator))", targetID: "I\(Int.random(in: 0..<20, using: &generator))")
            }
            let memoryAccepted = (try? ledger.post(entry)) != nil
            let storeAccepted = (try? store.post([entry])) != nil
            #expect(memoryAccepted == storeAccepted, "step \(step): \(entry.kind) \(entry.id)")
            if memoryAccepted { posted.append(entry) }
        }
        for index in 0..<20 {
            #expect(try store.openBalance(ofInvoice: "I\(index)") == ledger.openBalance(ofInvoice: "I\(index)"))
            #expect(try store.unapplied(ofSource: "P\(index)") == ledger.unapplied(ofSource: "P\(index)"))
        }
        let asOf = day.adding(days: 100)
        #expect(try AgingReport.compute(store.agingItems(), asOf: asOf) == AgingReport.compute(ledger.agingItems, asOf: asOf))
        #expect(try AgingReport.assemble(store.agingSums(asOf: asOf, buckets: .standard), asOf: asOf) == AgingReport.compute(ledger.agingItems, asOf: asOf))
        #expect(try store.derivedBalanceMismatches() == [])
    }

    @Test("a batch with one bad entry writes nothing, and names the entry")
    func atomicBatch() throws {
        let store = try TenantStore()
        try store.addCustomers("C1")
        let before = try store.lastChangeSequence()
        let batch = [
            LedgerEntry(id: "I1", kind: .invoice, customerID: "C1", amount: usd(100_00), date: day, dueDate: day, reference: "1"),
            LedgerEntry(id: "I2", kind: .invoice, customerID: "C1", amount: usd(-5), date: day, dueDate: day, reference: "2"),
        ]
        let error = #expect(throws: StoreError.self) { try store.post(batch) }
        #expect(error == .refused(index: 1, .invalid(field: "amount", "must be greater than zero")))
        #expect(try store.entry("I1") == nil)
        #expect(try store.lastChangeSequence() == before)
    }

    @Test("ledger rows cannot be updated or deleted, even with raw SQL")
    func immutability() throws {
        let store = try TenantStore()
        try store.addCustomers("C1")
        try store.post([LedgerEntry(id: "I1", kind: .invoice, customerID: "C1", amount: usd(100_00), date: day, dueDate: day, reference: "1")])
        #expect(throws: (any Error).self) { try store.writer.write { try $0.execute(sql: "UPDATE ledger_entry SET amount = 1") } }
        #expect(throws: (any Error).self) { try store.writer.write { try $0.execute(sql: "DELETE FROM ledger_entry") } }
        #expect(try store.entry("I1")?.amount == usd(100_00))
    }

    @Test("every write appends to the change log, in order")
    func changeLog() throws {
        let store = try TenantStore()
        try store.upsert([Customer(id: "C1", number: "1001", name: "Acme Pty")])
        try store.post([LedgerEntry(id: "I1", kind: .invoice, customerID: "C1", amount: usd(1), date: day, dueDate: day, reference: "1")])
        try store.upsert([Customer(id: "C1", number: "1001", name: "Acme Pty Ltd")])
        let rows = try store.writer.read { db in
            try Row.fetchAll(db, sql: "SELECT seq, record_kind, record_id, op FROM change_log ORDER BY seq")
        }
        #expect(rows.map { "\($0["record_kind"] as String)/\($0["record_id"] as String)/\($0["op"] as String)" }
            == ["customer/C1/insert", "ledger_entry/I1/insert", "customer/C1/update"])
        #expect(try store.lastChangeSequence() == 3)
    }

    @Test("customers are validated, and numbers are unique within the tenant")
    func customers() throws {
        let store = try TenantStore()
        try store.upsert([Customer(id: "C1", number: "1001", name: "Jollibee Foods", creditLimit: Money(minorUnits: 5_000_000_00, currency: .php), timeZone: "Asia/Manila")])
        #expect(try store.customer("C1")?.creditLimit == Money(minorUnits: 5_000_000_00, currency: .php))
        #expect(throws: StoreError.self) { try store.upsert([Customer(id: "C2", number: "1001", name: "Other")]) }
        #expect(throws: StoreError.self) { try store.upsert([Customer(id: "C3", number: "1003", name: "Tz", timeZone: "Mars/Olympus")]) }
        #expect(throws: StoreError.self) { try store.upsert([Customer(id: "C4", number: "1004", name: "Risky", riskRating: 9)]) }
    }

    @Test("a file store survives reopening")
    func reopen() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dunlin-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("tenant.sqlite").path
        do {
            let store = try TenantStore(path: path)
            try store.addCustomers("C1")
            try store.post([LedgerEntry(id: "I1", kind: .invoice, customerID: "C1", amount: usd(42_00), date: day, dueDate: day, reference: "1")])
        }
        let reopened = try TenantStore(path: path)
        #expect(try reopened.openBalance(ofInvoice: "I1") == usd(42_00))
    }
}

struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
