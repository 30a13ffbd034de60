import DunlinClient
import DunlinCore
import DunlinServer
import DunlinServices
import DunlinStore
import DunlinWire
import Foundation
import Testing

/// Random amounts go in as CSV text, through the CSV importer, the store's validation, cash
/// application and the aging, and come out totalled to the minor unit: no amount is lost,
/// doubled or rounded anywhere on the way.
///
/// Size: DUNLIN_MONEY_TEST_SIZE invoices (default 100,000 for CI; the issue's full run is
/// DUNLIN_MONEY_TEST_SIZE=1000000, a few minutes in a release build).
@Suite("Money totals end to end", .loadsTheMachine, .timeLimit(.minutes(15)))
struct MoneyTotalsTests {
    static var size: Int { ProcessInfo.processInfo.environment["DUNLIN_MONEY_TEST_SIZE"].flatMap(Int.init) ?? 100_000 }

    @Test("every random amount survives import, application and aging to the minor unit")
    func totals() async throws {
        // Minutes of synchronous work: run it on its own thread, so it does not starve the
        // cooperative pool that the other (timing-sensitive) tests run on.
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            Thread.detachNewThread {
                continuation.resume(with: Result { try Self.run() })
            }
        }
    }

    static func run() throws {
        let count = size
        var random = SystemRandomNumberGenerator()
        let currencies: [Currency] = [.usd, .php, .jpy, .kwd]
        var invoiced: [Currency: Int64] = [:]
        var csv = "id,customer_id,number,amount,currency,issue_date,due_date\n"
        csv.reserveCapacity(count * 64)
        let issue = CivilDate("2026-01-01")!
        for index in 0..<count {
            let currency = currencies[index % currencies.count]
            let minor = Int64.random(in: 1...99_999_999, using: &random)
            invoiced[currency, default: 0] += minor
            let text = Money(minorUnits: minor, currency: currency).description.dropFirst(4)  // "1,234.56"
            let due = issue.adding(days: index % 300)
            csv += "I\(index),C\(index % 97),N\(index),\"\(text)\",\(currency.code),\(issue),\(due)\n"
        }
        let table = try CSVTable(parsing: csv)
        let records = try ImportFiles.entries(table, kind: .invoices)
        let store = try TenantStore()
        try store.upsert((0..<97).map { Customer(id: "C\($0)", number: "N-C\($0)", name: "Customer \($0)") })
        var entries: [LedgerEntry] = []
        entries.reserveCapacity(records.count)
        for record in records { entries.append(try record.entry.entry()) }
        for chunk in stride(from: 0, to: entries.count, by: 10_000) {
            try store.post(Array(entries[chunk..<min(chunk + 10_000, entries.count)]))
        }

        // Pay a random part of every tenth invoice, with one payment per invoice.
        var applied: [Currency: Int64] = [:]
        var cash: [LedgerEntry] = []
        for index in stride(from: 0, to: count, by: 10) {
            let invoice = entries[index]
            let part = Int64.random(in: 1...invoice.amount.minorUnits, using: &random)
            let money = Money(minorUnits: part, currency: invoice.amount.currency)
            cash.append(LedgerEntry(id: "P\(index)", kind: .payment, customerID: invoice.customerID, amount: money, date: issue))
            cash.append(LedgerEntry(id: "A\(index)", kind: .application, customerID: invoice.customerID, amount: money, date: issue, sourceID: "P\(index)", targetID: invoice.id))
            applied[money.currency, default: 0] += part
        }
        for chunk in stride(from: 0, to: cash.count, by: 10_000) {
            try store.post(Array(cash[chunk..<min(chunk + 10_000, cash.count)]))
        }

        let report = try AgingReport.compute(store.agingItems(), asOf: CivilDate("2026-12-31")!)
        for currency in currencies {
            let aged = report.totals[currency]?.reduce(0, +) ?? 0
            #expect(aged == invoiced[currency]! - (applied[currency] ?? 0), "\(currency.code)")
        }
        #expect(try store.unappliedSources().isEmpty)
    }
}
