import DunlinCore
import DunlinServices
import DunlinStore
import DunlinWire
import Foundation
import Testing

/// `Receivables/Worklist` in process, at noon on 2026-11-23 in Chicago: 13:00 in New York, already
/// 02:00 on the 24th in Manila. The same analyst's list follows their own day.
@Suite("Services in process: the worklist")
struct WorklistServiceTests {
    static func day(_ text: String) -> CivilDate { CivilDate(text)! }
    static func usd(_ major: Int64) -> Money { Money(minorUnits: major * 100, currency: .usd) }

    /// Acme's analyst u-a: C1 (long overdue, a broken promise, a call-back on the 24th) and C2
    /// (due on the 23rd); the manager's C3.
    static func world() throws -> InProcessTenants {
        let tenants = try InProcessTenants.make()
        let store = tenants.acme.store
        try store.upsert([
            Customer(id: "C1", number: "1001", name: "Globe Retail", analystID: "u-a"),
            Customer(id: "C2", number: "1002", name: "Harbor Foods", analystID: "u-a"),
            Customer(id: "C3", number: "1003", name: "Summit Steel", analystID: "u-m"),
        ])
        try store.post([
            LedgerEntry(id: "INV-1", kind: .invoice, customerID: "C1", amount: usd(12_000), date: day("2026-09-01"), dueDate: day("2026-10-01"), reference: "INV-1"),
            LedgerEntry(id: "INV-2", kind: .invoice, customerID: "C2", amount: usd(3_000), date: day("2026-10-24"), dueDate: day("2026-11-23"), reference: "INV-2"),
            LedgerEntry(id: "INV-3", kind: .invoice, customerID: "C3", amount: usd(90_000), date: day("2026-08-01"), dueDate: day("2026-09-01"), reference: "INV-3"),
        ])
        try store.upsert([PromiseToPay(id: "P1", customerID: "C1", invoiceIDs: ["INV-1"], amount: usd(5_000), madeOn: day("2026-11-01"), promisedDate: day("2026-11-10"))])
        try store.upsert([CollectionTask(id: "T1", assigneeID: "u-a", customerID: "C1", title: "call back Rosa", dueDate: day("2026-11-24"))])
        return tenants
    }

    static func analyst(_ tenants: InProcessTenants, timeZone: String) -> InProcessCaller {
        InProcessCaller(router: tenants.router, principal: .with { $0.id = "u-a"; $0.tenantID = "t-acme"; $0.role = "analyst"; $0.timeZone = timeZone })
    }

    @Test("the analyst's own day: Manila is on the 24th (call-back due, C2 overdue), New York still on the 23rd")
    func ownDay() async throws {
        let tenants = try Self.world()
        let manila = try await Self.analyst(tenants, timeZone: "Asia/Manila").unary(Receivables.worklist, .init())
        #expect(manila.asOf == "2026-11-24" && manila.timeZone == "Asia/Manila")
        #expect(manila.rows.map(\.customerID) == ["C1", "C2"])
        #expect(manila.rows[0].priority)
        #expect(manila.rows[0].reasons.first == "call back due today")
        #expect(manila.rows[0].reasons.contains("promise of USD 5,000.00 broken on 2026-11-14"))
        #expect(manila.rows[1].reasons.first == "USD 3,000.00 overdue, oldest 1 days past due")

        let newYork = try await Self.analyst(tenants, timeZone: "America/New_York").unary(Receivables.worklist, .init())
        #expect(newYork.asOf == "2026-11-23")
        #expect(newYork.rows.map(\.customerID) == ["C1"])
        #expect(newYork.rows[0].priority == false)
        // No time zone of their own: the tenant's (Chicago, the 23rd).
        let tenantDay = try await tenants.acme(.analyst).unary(Receivables.worklist, .init())
        #expect(tenantDay.asOf == "2026-11-23" && tenantDay.timeZone == "America/Chicago")
        #expect(tenantDay.weights["broken_promise"] == 20)
    }

    @Test("any role reads an analyst's list; another tenant's caller sees none of Acme's customers")
    func rights() async throws {
        let tenants = try Self.world()
        for role in [Role.viewer, .analyst, .manager] {
            let list = try await tenants.acme(role).unary(Receivables.worklist, .with { $0.analystID = "u-m" })
            #expect(list.rows.map(\.customerID) == ["C3"], "\(role)")
        }
        let bayani = try await tenants.bayaniManager.unary(Receivables.worklist, .with { $0.analystID = "u-a" })
        #expect(bayani.rows.isEmpty && bayani.total == 0)
        let admin = await refusal { _ = try await tenants.serverAdmin.unary(Receivables.worklist, .init()) }
        #expect(admin?.code == .permissionDenied)
    }

    @Test("bad input names the field and reads nothing", arguments: [
        (Dunlin_V1_WorklistRequest.with { $0.asOf = "2026-13-01" }, "as_of"),
        (Dunlin_V1_WorklistRequest.with { $0.baseCurrency = "XXX" }, "base_currency"),
        (Dunlin_V1_WorklistRequest.with { $0.rates = [.with { $0.currency = "PHP"; $0.rate = "-1" }] }, "rates.rate"),
    ])
    func badInput(request: Dunlin_V1_WorklistRequest, field: String) async throws {
        let tenants = try Self.world()
        let error = await refusal { _ = try await tenants.acme(.analyst).unary(Receivables.worklist, request) }
        #expect(error?.code == .invalidArgument)
        #expect(error?.details.first?.field == field)
    }

    @Test("a payment plan counts installment by installment: one broken raises the score, one due today comes first")
    func paymentPlans() async throws {
        let tenants = try Self.world()
        // C2's plan: 1,000 by 11-10 (broken: nothing came), 1,000 by 11-24 (due today in Manila), 1,000 by 12-24.
        _ = try await tenants.acme(.analyst).unary(Records.upsertPromises, .with {
            $0.promises = [.with {
                $0.id = "PLAN"; $0.customerID = "C2"; $0.invoiceIds = ["INV-2"]; $0.amount = amount(3_000_00); $0.madeOn = "2026-11-01"
                $0.promisedDate = "2026-12-24"
                $0.installments = ["2026-11-10", "2026-11-24", "2026-12-24"].map { date in
                    .with { $0.dueDate = date; $0.amount = amount(1_000_00) }
                }
            }]
        })
        let manila = try await Self.analyst(tenants, timeZone: "Asia/Manila").unary(Receivables.worklist, .init())
        let plan = try #require(manila.rows.first { $0.customerID == "C2" })
        #expect(plan.priority)
        #expect(plan.reasons.contains("promise of USD 1,000.00 due today"))
        #expect(plan.reasons.contains("promise of USD 1,000.00 broken on 2026-11-14"))
        #expect(plan.parts.contains { $0.name == "broken_promises" && $0.points == 20 })

        let evaluated = try await tenants.acme(.viewer).unary(Records.evaluatePromise, .with { $0.id = "PLAN"; $0.asOf = "2026-11-24" })
        #expect(evaluated.status == "broken")
        #expect(evaluated.installments.map(\.status) == ["broken", "open", "open"])
        // A plan that does not add up is refused, naming the field.
        let refused = await refusal {
            _ = try await tenants.acme(.analyst).unary(Records.upsertPromises, .with {
                $0.promises = [.with {
                    $0.id = "BAD"; $0.customerID = "C2"; $0.invoiceIds = ["INV-2"]; $0.amount = amount(3_000_00); $0.promisedDate = "2026-12-24"
                    $0.installments = [.with { $0.dueDate = "2026-12-24"; $0.amount = amount(2_000_00) }]
                }]
            })
        }
        #expect(refused?.code == .invalidArgument && refused?.details.first?.field == "installments")
    }

    @Test("the server's daily tick gives the analyst a follow-up task for a broken installment, once")
    func followUps() async throws {
        let tenants = try Self.world()
        _ = try await tenants.acme(.analyst).unary(Records.upsertPromises, .with {
            $0.promises = [.with {
                $0.id = "PLAN"; $0.customerID = "C2"; $0.invoiceIds = ["INV-2"]; $0.amount = amount(2_000_00); $0.madeOn = "2026-11-01"
                $0.promisedDate = "2026-12-24"
                $0.installments = ["2026-11-10", "2026-12-24"].map { date in .with { $0.dueDate = date; $0.amount = amount(1_000_00) } }
            }]
        })
        let scheduler = DunningScheduler(clock: InProcessTenants.clock)
        // C1's broken promise P1 and C2's first installment.
        #expect(scheduler.followUps([tenants.acme, tenants.bayani]).map { "\($0.tenant)=\($0.made)" } == ["t-acme=2", "t-bayani=0"])
        #expect(scheduler.followUps([tenants.acme]).isEmpty, "once a tenant day")
        let tasks = try await tenants.acme(.analyst).unary(Records.listTasks, .with { $0.customerID = "C2" })
        #expect(tasks.tasks.map(\.assigneeID) == ["u-a"])
        #expect(tasks.tasks.first?.title == "Follow up: installment 1 of 2 of USD 1,000.00 due 2026-11-10 broken on 2026-11-14")
        #expect(DunningScheduler(clock: InProcessTenants.clock).followUps([tenants.acme]).map(\.made) == [0], "a restarted server makes nothing twice")
    }

    @Test("the limit cuts the rows, not the total")
    func limit() async throws {
        let tenants = try Self.world()
        let list = try await Self.analyst(tenants, timeZone: "Asia/Manila").unary(Receivables.worklist, .with { $0.limit = 1 })
        #expect(list.rows.map(\.customerID) == ["C1"] && list.total == 2)
    }
}
