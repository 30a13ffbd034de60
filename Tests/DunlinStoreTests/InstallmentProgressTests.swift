import DunlinCore
@testable import DunlinStore
import Foundation
import GRDB
import Testing

/// A tenant whose promises (single payments and plans) and ledger (invoices, payments, credit
/// memos, applications of both, reversals) are written at random and in turn, with promises
/// changed and deleted along the way, dated over four months so payments land before promises
/// were made, on due dates, in grace periods and after deadlines.
private struct PromiseTenant {
    static let start = CivilDate("2026-09-01")!
    let store: TenantStore
    var random: SplitMix
    var entries: [LedgerEntry] = []
    var promises: [String: PromiseToPay] = [:]
    var deleted: Set<String> = []
    var steps = 0

    init(seed: UInt64, steps: Int) throws {
        store = try TenantStore()
        try store.upsert(Self.customers)
        random = SplitMix(seed: seed)
        try run(steps)
    }

    static let customers = (0..<4).map { Customer(id: "C\($0)", number: "N\($0)", name: "Customer \($0)", analystID: "U\($0 % 2)") }

    static func currency(_ customer: String) -> Currency { customer == "C3" ? .php : .usd }

    mutating func day(_ range: Range<Int>) -> CivilDate { Self.start.adding(days: Int.random(in: range, using: &random)) }
    mutating func amount(_ range: ClosedRange<Int64>) -> Int64 { Int64.random(in: range, using: &random) }

    mutating func run(_ count: Int) throws {
        for _ in 0..<count {
            steps += 1
            try step("\(steps)")
        }
    }

    private mutating func post(_ entry: LedgerEntry) {
        if (try? store.post([entry])) != nil { entries.append(entry) }
    }

    private mutating func step(_ n: String) throws {
        let customer = "C\(Int.random(in: 0..<4, using: &random))"
        let currency = Self.currency(customer)
        let invoices = entries.filter { $0.kind == .invoice && $0.customerID == customer }
        let sources = entries.filter { [.payment, .creditMemo].contains($0.kind) && $0.customerID == customer }
        switch Int.random(in: 0..<15, using: &random) {
        case 0, 1:
            let date = day(0..<90)
            post(LedgerEntry(id: "I\(n)", kind: .invoice, customerID: customer, amount: Money(minorUnits: amount(500_00...5_000_00), currency: currency),
                             date: date, dueDate: date.adding(days: 30), reference: "INV\(n)"))
        case 2:
            post(LedgerEntry(id: "P\(n)", kind: .payment, customerID: customer, amount: Money(minorUnits: amount(100_00...3_000_00), currency: currency), date: day(0..<120)))
        case 3:
            post(LedgerEntry(id: "M\(n)", kind: .creditMemo, customerID: customer, amount: Money(minorUnits: amount(10_00...500_00), currency: currency), date: day(0..<120)))
        case 4, 5, 6, 7:
            // Often to a promised invoice, so applications land on promises in every position.
            let promised = live.filter { $0.customerID == customer }.flatMap(\.invoiceIDs)
            guard let source = sources.randomElement(using: &random),
                  let target = (promised.isEmpty || Bool.random(using: &random) ? invoices.map(\.id) : promised).randomElement(using: &random)
            else { return }
            post(LedgerEntry(id: "A\(n)", kind: .application, customerID: customer, amount: Money(minorUnits: amount(1_00...400_00), currency: currency),
                             date: day(0..<120), sourceID: source.id, targetID: target))
        case 8:
            guard let target = entries.filter({ [.application, .payment].contains($0.kind) }).randomElement(using: &random) else { return }
            post(LedgerEntry(id: "R\(n)", kind: .reversal, amount: target.amount, date: day(0..<120), targetID: target.id))
        case 9, 10, 11:
            guard !invoices.isEmpty else { return }
            let ids = Array(Set((0..<Int.random(in: 1...3, using: &random)).map { _ in invoices.randomElement(using: &random)!.id })).sorted()
            let madeOn = day(0..<90)
            try upsert(plan(id: "T\(n)", customer: customer, invoices: ids, madeOn: madeOn))
        case 12:
            // A promise changed: another plan, other invoices or another date.
            guard let old = live.randomElement(using: &random) else { return }
            let ids = entries.filter { $0.kind == .invoice && $0.customerID == old.customerID }.map(\.id)
            let chosen = Bool.random(using: &random) ? old.invoiceIDs : [ids.randomElement(using: &random)!]
            try upsert(plan(id: old.id, customer: old.customerID, invoices: chosen, madeOn: old.madeOn.adding(days: Int.random(in: -5...5, using: &random))))
        case 13:
            guard let old = live.randomElement(using: &random) else { return }
            try store.deletePromises([old.id])
            deleted.insert(old.id)
        default:
            // A promise paid in full on a day from the day it was made to its promised date.
            guard let promise = live.randomElement(using: &random) else { return }
            let date = promise.madeOn.adding(days: Int.random(in: 0...promise.madeOn.days(until: promise.promisedDate), using: &random))
            post(LedgerEntry(id: "P\(n)", kind: .payment, customerID: promise.customerID, amount: promise.amount, date: date))
            post(LedgerEntry(id: "A\(n)", kind: .application, customerID: promise.customerID, amount: promise.amount, date: date,
                             sourceID: "P\(n)", targetID: promise.invoiceIDs[0]))
        }
    }

    /// The promises not deleted, by id (so a seed always picks the same).
    var live: [PromiseToPay] { promises.values.filter { !deleted.contains($0.id) }.sorted { $0.id < $1.id } }

    /// A promise of one payment or a plan of two or three installments, over 0-40 days.
    private mutating func plan(id: String, customer: String, invoices: [String], madeOn: CivilDate) -> PromiseToPay {
        let currency = Self.currency(customer)
        let count = [0, 0, 2, 3].randomElement(using: &random)!
        var due = madeOn
        let installments = (0..<count).map { _ in
            due = due.adding(days: Int.random(in: 1...15, using: &random))
            return Installment(dueDate: due, amount: Money(minorUnits: amount(50_00...300_00), currency: currency))
        }
        let total = installments.isEmpty ? amount(50_00...600_00) : installments.reduce(0) { $0 + $1.amount.minorUnits }
        return PromiseToPay(
            id: id, customerID: customer, invoiceIDs: invoices, amount: Money(minorUnits: total, currency: currency), madeOn: madeOn,
            promisedDate: installments.last?.dueDate ?? madeOn.adding(days: Int.random(in: 0...40, using: &random)), installments: installments
        )
    }

    private mutating func upsert(_ promise: PromiseToPay) throws {
        try store.upsert([promise])
        promises[promise.id] = promise
    }
}

/// One installment the worklist reads, described for comparison.
struct MeasuredInstallment: Hashable, CustomStringConvertible {
    var customerID: String
    var evaluation: InstallmentEvaluation
    var description: String {
        "\(customerID) \(evaluation.installment.amount) due \(evaluation.installment.dueDate): \(evaluation.status) \(evaluation.received)"
    }
}

@Suite("Installment progress kept by triggers")
struct InstallmentProgressTests {
    /// The installments the worklist reads on `today` (past their deadline, or due that day),
    /// measured from the kept progress.
    static func kept(_ store: TenantStore, today: CivilDate, analyst: String? = nil) throws -> [MeasuredInstallment] {
        let since = today.adding(days: -Worklist.brokenPromiseWindowDays)
        return try store.writer.read { db in
            try TenantStore.keptInstallmentEvaluations(
                db, since: since, today: today, scope: analyst == nil ? "" : " AND customer_id IN (SELECT id FROM customer WHERE analyst_id = ?)",
                analyst.map { [$0] } ?? []
            ).map { MeasuredInstallment(customerID: $0.customerID, evaluation: $0.evaluation) }
        }
    }

    /// The same installments measured from every promise's applications, as the worklist did
    /// before the progress was kept, in the kept read's order.
    static func recomputed(_ store: TenantStore, today: CivilDate, analyst: String? = nil) throws -> [MeasuredInstallment] {
        let since = today.adding(days: -Worklist.brokenPromiseWindowDays)
        let evaluated = try store.writer.read { db in
            try TenantStore.recentPromiseEvaluations(
                db, since: since, today: today, scope: analyst == nil ? "" : " AND customer_id IN (SELECT id FROM customer WHERE analyst_id = ?)",
                analyst.map { [$0] } ?? []
            )
        }
        var read: [(key: String, measured: MeasuredInstallment)] = []
        for (promise, installments) in evaluated {
            for (number, evaluation) in installments.enumerated()
            where today > evaluation.deadline || today == evaluation.installment.dueDate {
                let key = [promise.customerID, promise.promisedDate.description, promise.id, String(1000 + number)].joined(separator: "\u{0}")
                read.append((key, MeasuredInstallment(customerID: promise.customerID, evaluation: evaluation)))
            }
        }
        return read.sorted { $0.key < $1.key }.map(\.measured)
    }

    /// Every day from before the first promise to well after the last deadline.
    static let days = (-5...150).map { PromiseTenant.start.adding(days: $0) }

    @Test("the kept evaluation equals the one recomputed from the applications, on every day, as entries and promises arrive, change and go",
          arguments: [1, 2, 3, 4] as [UInt64])
    func keptEqualsRecomputed(seed: UInt64) throws {
        var tenant = try PromiseTenant(seed: seed, steps: 0)
        var statuses: [PromiseStatus: Int] = [:]
        for _ in 0..<6 {
            try tenant.run(60)
            #expect(try tenant.store.derivedBalanceMismatches() == [], "after \(tenant.steps) steps")
            for today in Self.days {
                let kept = try Self.kept(tenant.store, today: today)
                #expect(kept == (try Self.recomputed(tenant.store, today: today)), "\(today) after \(tenant.steps) steps")
                for measured in kept { statuses[measured.evaluation.status, default: 0] += 1 }
            }
        }
        // The generated tenants reach every outcome (a kept installment is read on its due day).
        #expect(PromiseStatus.allCases.allSatisfy { statuses[$0, default: 0] > 0 }, "\(statuses)")
        for analyst in ["U0", "U1"] {
            for today in Self.days.filter({ $0.day % 5 == 0 }) {
                #expect(try Self.kept(tenant.store, today: today, analyst: analyst) == Self.recomputed(tenant.store, today: today, analyst: analyst))
            }
        }
    }

    @Test("the worklist's broken and due promises are the recomputed evaluation's, customer by customer", arguments: [5, 6] as [UInt64])
    func worklistFactsFromKeptProgress(seed: UInt64) throws {
        let tenant = try PromiseTenant(seed: seed, steps: 300)
        var seen = 0
        for today in Self.days {
            var broken: [String: [WorklistFacts.BrokenPromise]] = [:], due: [String: [WorklistFacts.PromiseDue]] = [:]
            for measured in try Self.recomputed(tenant.store, today: today, analyst: "U1") {
                let evaluation = measured.evaluation, installment = evaluation.installment
                switch evaluation.status {
                case .broken, .partlyKept:
                    broken[measured.customerID, default: []].append(.init(amount: installment.amount, brokenOn: evaluation.brokenOn, partly: evaluation.status == .partlyKept))
                case .open where installment.dueDate == today:
                    due[measured.customerID, default: []].append(.init(amount: installment.amount, promisedDate: installment.dueDate))
                case .open, .kept:
                    break
                }
            }
            for facts in try tenant.store.worklistFacts(analystID: "U1", today: today, timeZone: .gmt) {
                #expect(facts.brokenPromises == broken[facts.customerID] ?? [], "\(facts.customerID) on \(today)")
                #expect(facts.promisesDue == due[facts.customerID] ?? [], "\(facts.customerID) on \(today)")
                seen += facts.brokenPromises.count + facts.promisesDue.count
            }
        }
        #expect(seen > 0)
    }

    @Test("entries and promises merged in any order, as a replica's sync would, keep the same progress")
    func anyArrivalOrder() throws {
        let tenant = try PromiseTenant(seed: 7, steps: 300)
        var generator = SplitMix(seed: 17)
        let merged = try TenantStore()
        try merged.upsert(PromiseTenant.customers)
        let promises = tenant.live
        var arrivals: [Either] = tenant.entries.map(Either.entry) + promises.map(Either.promise)
        arrivals.shuffle(using: &generator)
        try merged.writer.write { db in
            for arrival in arrivals {
                switch arrival {
                case .entry(let entry): try LedgerEntryRow(entry).insert(db)
                case .promise(let promise): try PromiseToPayRow(promise).insert(db)
                }
            }
        }
        #expect(try merged.derivedBalanceMismatches() == [])
        for today in Self.days {
            #expect(try Self.kept(merged, today: today) == Self.kept(tenant.store, today: today), "\(today)")
        }
    }

    private enum Either {
        case entry(LedgerEntry)
        case promise(PromiseToPay)
    }

    @Test("applications, payments and reversals a replica retracts leave the progress equal to a recomputation")
    func retractions() throws {
        let tenant = try PromiseTenant(seed: 11, steps: 300)
        var generator = SplitMix(seed: 3)
        let retracted = tenant.entries.filter { [.application, .payment, .reversal].contains($0.kind) }.shuffled(using: &generator).prefix(40)
        #expect(retracted.count == 40)
        for entry in retracted {
            try tenant.store.writer.write { db in
                try db.execute(sql: "INSERT OR IGNORE INTO retraction (entry_id) VALUES (?)", arguments: [entry.id])
                try db.execute(sql: "DELETE FROM ledger_entry WHERE id = ?", arguments: [entry.id])
            }
            #expect(try tenant.store.derivedBalanceMismatches() == [], "after retracting \(entry.id)")
        }
    }

    @Test("a replica bootstrapped from a snapshot, then pulling in small batches, keeps the server's progress")
    func replicaBootstrapAndPull() throws {
        var tenant = try PromiseTenant(seed: 13, steps: 200)
        let replica = try TenantStore()
        let start = try tenant.store.snapshotStart()
        for kind in TenantStore.syncKindOrder {
            var cursor = ""
            while true {
                let page = try tenant.store.snapshotPage(kind: kind, after: cursor, limit: 7)
                guard let last = page.last else { break }
                try replica.applySyncBatch(page, checkpoint: nil)
                cursor = last.id
            }
        }
        try tenant.run(200)
        var checkpoint = start
        while true {
            let (records, through, last) = try tenant.store.changes(after: checkpoint, limit: 5)
            try replica.applySyncBatch(records, checkpoint: through)
            checkpoint = through
            if last { break }
        }
        #expect(try replica.derivedBalanceMismatches() == [])
        for today in Self.days {
            #expect(try Self.kept(replica, today: today) == Self.kept(tenant.store, today: today), "\(today)")
        }
    }

    @Test("a tenant written before the migration gets its progress filled in when it opens")
    func migrationFillsProgress() throws {
        let tenant = try PromiseTenant(seed: 9, steps: 300)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("dunlin-progress-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("tenant.sqlite").path
        do {
            let old = try DatabaseQueue(path: path)
            try TenantSchema.migrator.migrate(old, upTo: "v31: portfolio totals")
            try old.write { db in
                for customer in PromiseTenant.customers { try CustomerRow(customer).insert(db) }
                for entry in tenant.entries { try LedgerEntryRow(entry).insert(db) }
                for promise in tenant.live { try PromiseToPayRow(promise).insert(db) }
            }
            try old.close()
        }
        let reopened = try TenantStore(path: path)
        #expect(try reopened.writer.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM installment_progress") ?? 0 } > 0)
        #expect(try reopened.derivedBalanceMismatches() == [])
        for today in Self.days {
            #expect(try Self.kept(reopened, today: today) == Self.kept(tenant.store, today: today), "\(today)")
        }
    }

    @Test("kept progress edited by hand is found by the consistency check", arguments: [
        "UPDATE installment_progress SET by_deadline_low = by_deadline_low + 1 WHERE promise_id = (SELECT MIN(promise_id) FROM installment_progress)",
        "UPDATE installment_progress SET before_high = before_high + 1 WHERE promise_id = (SELECT MAX(promise_id) FROM installment_progress)",
        "DELETE FROM promise_invoice WHERE promise_id = (SELECT MIN(promise_id) FROM promise_invoice)",
    ])
    func editedProgressFound(sql: String) throws {
        let tenant = try PromiseTenant(seed: 4, steps: 120)
        #expect(try tenant.store.derivedBalanceMismatches() == [])
        try tenant.store.writer.write { db in
            try db.execute(sql: sql)
            #expect(db.changesCount > 0)
        }
        let table = sql.contains("promise_invoice") ? "promise_invoice" : "installment_progress"
        #expect(try tenant.store.derivedBalanceMismatches().contains { $0.hasPrefix(table) })
    }
}
