import DunlinCore
import DunlinServices
import DunlinStore
import DunlinWire
import Foundation
import Testing

/// Month-end closes in process, on 2026-11-23 (Chicago), with every figure worked out by hand.
@Suite("Services in process: month-end close")
struct CloseServiceTests {
    static func day(_ text: String) -> CivilDate { CivilDate(text)! }
    static func usd(_ minor: Int64) -> Money { Money(minorUnits: minor, currency: .usd) }

    /// Acme (USD): C1 owes USD 400.00 due Jul 1, 2,000.00 due Sep 15 and 1,000.00 due Oct 31
    /// (issued Oct 1); C2 EUR 500.00 due Oct 20 (issued Sep 20). EUR/USD is 1.10 from Oct 1.
    static func world() async throws -> InProcessTenants {
        let tenants = try InProcessTenants.make()
        let store = tenants.acme.store
        try store.upsert([
            Customer(id: "C1", number: "1001", name: "Globe Retail", analystID: "u-a"),
            Customer(id: "C2", number: "1002", name: "Euro Foods", analystID: "u-a"),
        ])
        try store.post([
            LedgerEntry(id: "INV-J", kind: .invoice, customerID: "C1", amount: usd(400_00), date: day("2026-06-01"), dueDate: day("2026-07-01"), reference: "INV-J"),
            LedgerEntry(id: "INV-S", kind: .invoice, customerID: "C1", amount: usd(2_000_00), date: day("2026-08-16"), dueDate: day("2026-09-15"), reference: "INV-S"),
            LedgerEntry(id: "INV-O", kind: .invoice, customerID: "C1", amount: usd(1_000_00), date: day("2026-10-01"), dueDate: day("2026-10-31"), reference: "INV-O"),
            LedgerEntry(id: "INV-E", kind: .invoice, customerID: "C2", amount: Money(minorUnits: 500_00, currency: .eur),
                        date: day("2026-09-20"), dueDate: day("2026-10-20"), reference: "INV-E"),
        ])
        try store.upsert([DatedRate(from: .eur, to: .usd, date: day("2026-10-01"), rate: "1.10")])
        return tenants
    }

    static func admin(_ tenants: InProcessTenants) -> InProcessCaller {
        InProcessCaller(router: tenants.router, principal: .with { $0.id = "u-root"; $0.tenantID = "t-acme"; $0.role = "admin" })
    }

    @Test("September then October by hand: the buckets in USD (euros at October's rate; none in force on Sep 30), the allowance at 1/5/15/30/50%, its change, the snapshot per customer")
    func twoMonths() async throws {
        let tenants = try await Self.world()
        let manager = tenants.acme(.manager)
        let september = try await manager.unary(Receivables.closeMonth, .with { $0.month = "2026-09" })
        // Sep 30: INV-S 15 days (1-30), INV-J 91 days (90+); INV-O not issued; INV-E current, in EUR, no rate yet.
        #expect(september.buckets.map(\.amount) == [0, 2_000_00, 0, 0, 400_00])
        #expect(september.buckets.map(\.allowance) == [0, 100_00, 0, 0, 200_00] && september.allowance == 300_00)
        #expect(september.currencies.map { "\($0.currency) \($0.total) \($0.rate)" } == ["EUR 50000 ", "USD 240000 "], "EUR is kept as booked, unconverted")
        #expect(september.previousID.isEmpty && september.allowanceChange == 300_00 && september.closedBy == "u-m" && september.closedOn == "2026-11-23")

        let october = try await manager.unary(Receivables.closeMonth, .with { $0.month = "2026-10" })
        // Oct 31: INV-O current, INV-E 11 days (1-30) at 1.10 = 550.00, INV-S 46 days (31-60), INV-J 122 days (90+).
        #expect(october.buckets.map(\.label) == ["current", "1-30", "31-60", "61-90", "90+"])
        #expect(october.buckets.map(\.amount) == [1_000_00, 550_00, 2_000_00, 0, 400_00] && october.receivables == 3_950_00)
        // 1% of 1,000.00, 5% of 550.00, 15% of 2,000.00, 50% of 400.00.
        #expect(october.buckets.map(\.allowance) == [10_00, 27_50, 300_00, 0, 200_00] && october.allowance == 537_50)
        #expect(october.previousID == "close_2026-09" && october.previousAllowance == 300_00 && october.allowanceChange == 237_50)
        #expect(october.currencies.first { $0.currency == "EUR" }.map { [$0.rate, $0.rateDate] } == ["1.10", "2026-10-01"])

        let snapshot = try await tenants.acme(.viewer).unary(Receivables.closeSnapshot, .with { $0.month = "2026-10" })
        #expect(snapshot.labels == ["current", "1-30", "31-60", "61-90", "90+"])
        #expect(snapshot.rows.map { "\($0.customerName) \($0.currency) \($0.buckets)" } == [
            "Globe Retail USD [100000, 0, 200000, 0, 40000]", "Euro Foods EUR [0, 50000, 0, 0, 0]",
        ])
        let listed = try await tenants.acme(.viewer).unary(Receivables.listCloses, .init()).closes
        #expect(listed.map(\.month) == ["2026-10", "2026-09"])
    }

    @Test("a back-dated entry leaves the close as it was and is listed as a post-close adjustment; reopened by an admin with a reason and closed again, the month takes it in")
    func backDated() async throws {
        let tenants = try await Self.world()
        let manager = tenants.acme(.manager)
        let closed = try await manager.unary(Receivables.closeMonth, .with { $0.month = "2026-10" })
        try tenants.acme.store.post([
            LedgerEntry(id: "INV-LATE", kind: .invoice, customerID: "C1", amount: Self.usd(300_00), date: Self.day("2026-10-15"), dueDate: Self.day("2026-11-14"), reference: "INV-LATE"),
            LedgerEntry(id: "INV-NOV", kind: .invoice, customerID: "C1", amount: Self.usd(50_00), date: Self.day("2026-11-02"), dueDate: Self.day("2026-12-02"), reference: "INV-NOV"),
        ])
        let again = try await tenants.acme(.viewer).unary(Receivables.getClose, .with { $0.month = "2026-10" })
        #expect(again == closed, "nothing written later changes a close")
        let aging = try await tenants.acme(.viewer).unary(Receivables.aging, .with { $0.asOf = "2026-10-31" })
        #expect(aging.baseTotal.total == 3_950_00 + 300_00, "the live as-of aging does take it in")
        let adjustments = try await tenants.acme(.viewer).unary(Receivables.postCloseAdjustments, .with { $0.month = "2026-10" })
        #expect(adjustments.entries.map(\.id) == ["INV-LATE"], "dated in October, posted after its close; November's entry is not one")

        // Closing twice, a month not over yet, a malformed one: refused.
        #expect(await refusal { _ = try await manager.unary(Receivables.closeMonth, .with { $0.month = "2026-10" }) }?.code == .failedPrecondition)
        #expect(await refusal { _ = try await manager.unary(Receivables.closeMonth, .with { $0.month = "2026-11" }) }?.code == .failedPrecondition)
        for bad in ["2026-13", "2026-1", "", "2026-10-01"] {
            let refused = await refusal { _ = try await manager.unary(Receivables.closeMonth, .with { $0.month = bad }) }
            #expect(refused?.code == .invalidArgument && refused?.details.first?.field == "month", "\(bad)")
        }

        // Only an admin reopens, with a reason; closed again, the month takes the late invoice in,
        // and the record keeps who reopened it and why.
        #expect(await refusal { _ = try await manager.unary(Receivables.reopenMonth, .with { $0.month = "2026-10"; $0.reason = "late invoice" }) }?.code == .permissionDenied)
        let noReason = await refusal { _ = try await Self.admin(tenants).unary(Receivables.reopenMonth, .with { $0.month = "2026-10"; $0.reason = " " }) }
        #expect(noReason?.code == .invalidArgument && noReason?.details.first?.field == "reason")
        let reopened = try await Self.admin(tenants).unary(Receivables.reopenMonth, .with { $0.month = "2026-10"; $0.reason = "late invoice INV-LATE" })
        #expect(reopened.status == "reopened" && reopened.reopenedBy == "u-root" && reopened.reopenReason == "late invoice INV-LATE")
        #expect(await refusal { _ = try await Self.admin(tenants).unary(Receivables.reopenMonth, .with { $0.month = "2026-10"; $0.reason = "again" }) }?.code == .failedPrecondition)
        let reclosed = try await manager.unary(Receivables.closeMonth, .with { $0.month = "2026-10" })
        #expect(reclosed.status == "closed" && reclosed.buckets[0].amount == 1_300_00 && reclosed.allowance == 537_50 + 3_00)
        #expect(reclosed.reopenReason == "late invoice INV-LATE")
        #expect(try await tenants.acme(.viewer).unary(Receivables.postCloseAdjustments, .with { $0.month = "2026-10" }).entries.isEmpty)
    }

    @Test("analysts and viewers cannot close; another tenant sees none of Acme's closes; the allowance rates are a manager's setting")
    func rights() async throws {
        let tenants = try await Self.world()
        for role in [Role.viewer, .analyst] {
            #expect(await refusal { _ = try await tenants.acme(role).unary(Receivables.closeMonth, .with { $0.month = "2026-10" }) }?.code == .permissionDenied, "\(role)")
        }
        _ = try await tenants.acme(.manager).unary(Records.updateSettings, .with { $0.settings = [.with { $0.id = "close.allowance_rates"; $0.value = "0, 2.5, 10, 25, 100" }] })
        let bad = await refusal {
            _ = try await tenants.acme(.manager).unary(Records.updateSettings, .with { $0.settings = [.with { $0.id = "close.allowance_rates"; $0.value = "1,5,15" }] })
        }
        #expect(bad?.code == .invalidArgument && bad?.details.first?.field == "close.allowance_rates")
        let october = try await tenants.acme(.manager).unary(Receivables.closeMonth, .with { $0.month = "2026-10" })
        #expect(october.buckets.map(\.rateBasisPoints) == [0, 250, 1000, 2500, 10000])
        // 2.5% of 550.00 = 13.75; 10% of 2,000.00; 100% of 400.00.
        #expect(october.allowance == 13_75 + 200_00 + 400_00)
        #expect(await refusal { _ = try await tenants.bayaniManager.unary(Receivables.getClose, .with { $0.month = "2026-10" }) }?.code == .notFound)
        #expect(await refusal { _ = try await tenants.bayaniManager.unary(Receivables.closeSnapshot, .with { $0.month = "2026-10" }) }?.code == .notFound)
        #expect(try await tenants.bayaniManager.unary(Receivables.listCloses, .init()).closes.isEmpty)
    }
}
