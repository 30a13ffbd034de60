import DunlinCore
import DunlinServices
import DunlinStore
import DunlinWire
import Foundation
import Testing

/// Dates a request leaves out are the tenant's today (RightsTableTests.World: 2026-11-23 at noon
/// in Manila), through the services as the server and a replica both run them.
@Suite("Services in process: default dates are the tenant's")
struct TenantDefaultsTests {
    @Test("a payment posted without a date, and a dispute closed without one, take the tenant's today")
    func defaultDates() async throws {
        let world = try RightsTableTests.World.make()
        _ = try await world.call(Receivables.postEntries, .with {
            $0.entries = [.with { $0.id = "PAY-D"; $0.kind = "payment"; $0.customerID = "C1"; $0.amount = .with { $0.currency = "USD"; $0.minor = 100_00 } }]
        }, as: .analyst)
        #expect(try world.acme.store.entry("PAY-D")?.date.description == "2026-11-23")

        let saved = try await world.call(Records.upsertDisputes, .with {
            $0.disputes = [.with {
                $0.id = "D-D"; $0.customerID = "C1"; $0.invoiceIds = ["INV-1"]; $0.amount = .with { $0.currency = "USD"; $0.minor = 10_00 }
                $0.reasonCode = "pricing"; $0.openedOn = "2026-11-01"; $0.status = "resolved"
            }]
        }, as: .analyst).disputes
        #expect(saved.first?.resolvedOn == "2026-11-23")

        // A date that is given must be one.
        let refused = await RightsTableTests.status {
            _ = try await world.call(Receivables.postEntries, .with {
                $0.entries = [.with { $0.id = "PAY-E"; $0.kind = "payment"; $0.customerID = "C1"; $0.date = "2026-13-01"; $0.amount = .with { $0.currency = "USD"; $0.minor = 1 } }]
            }, as: .analyst)
        }
        #expect(refused == .invalidArgument)
    }
}
