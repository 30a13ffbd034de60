import DunlinCore
import DunlinServices
import DunlinStore
import DunlinWire
import Foundation
import Testing

// The Receivables service called in process on the two in-memory tenants (InProcessTenants):
// rights per role, refusals naming field and item, paging, tenant isolation and the ledger rules.
// The end-to-end suite keeps one case over a real connection (ReceivablesTests).

private func invoice(_ id: String, customer: String, _ minor: Int64, due: String, currency: String = "USD") -> Dunlin_V1_LedgerEntryRecord {
    .with {
        $0.id = id; $0.kind = "invoice"; $0.customerID = customer; $0.amount = amount(minor, currency)
        $0.date = "2026-08-01"; $0.dueDate = due; $0.reference = id
    }
}

private func payment(_ id: String, customer: String, _ minor: Int64, currency: String = "USD") -> Dunlin_V1_LedgerEntryRecord {
    .with { $0.id = id; $0.kind = "payment"; $0.customerID = customer; $0.amount = amount(minor, currency); $0.date = "2026-11-20" }
}

extension InProcessTenants {
    /// Acme's customer C1 with invoices INV-1 (1,000.00 USD, due 2026-09-01) and INV-2 (500.00
    /// USD, due 2026-12-01) and payment PAY-1 (1,200.00 USD), written to its store directly.
    func seedAcme() throws {
        try acme.store.upsert([Customer(id: "C1", number: "1001", name: "Globe Retail", timeZone: "America/Chicago")])
        func usd(_ minor: Int64) -> Money { Money(minorUnits: minor, currency: .usd) }
        let issued = CivilDate("2026-08-01")!
        try acme.store.post([
            LedgerEntry(id: "INV-1", kind: .invoice, customerID: "C1", amount: usd(1_000_00), date: issued, dueDate: CivilDate("2026-09-01"), reference: "INV-1"),
            LedgerEntry(id: "INV-2", kind: .invoice, customerID: "C1", amount: usd(500_00), date: issued, dueDate: CivilDate("2026-12-01"), reference: "INV-2"),
            LedgerEntry(id: "PAY-1", kind: .payment, customerID: "C1", amount: usd(1_200_00), date: CivilDate("2026-11-20")!),
        ])
    }
}

@Suite("Receivables in process: rights, refusals, paging and tenant isolation")
struct ReceivablesServiceTests {
    @Test("aging rows come a page at a time, every row once, with the totals on every page")
    func agingPages() async throws {
        let world = try InProcessTenants.make()
        let manager = world.acme(.manager)
        let customers = (1...25).map { n in Dunlin_V1_CustomerRecord.with { $0.id = String(format: "C%02d", n); $0.number = "\(1000 + n)"; $0.name = "Customer \(n)" } }
        _ = try await manager.unary(Receivables.upsertCustomers, .with { $0.customers = customers })
        _ = try await manager.unary(Receivables.postEntries, .with {
            $0.entries = customers.flatMap { customer in
                [invoice("I-\(customer.id)", customer: customer.id, 100_00, due: "2026-10-01"),
                 invoice("J-\(customer.id)", customer: customer.id, 7_00, due: "2026-10-01", currency: "PHP")]
            }
        })
        let whole = try await manager.unary(Receivables.aging, .with { $0.asOf = "2026-11-23"; $0.baseCurrency = "-" })
        #expect(whole.rows.count == 50 && whole.nextCursor.isEmpty)
        var rows: [Dunlin_V1_AgingRow] = []
        var cursor = ""
        var pages = 0
        repeat {
            let page = try await manager.unary(Receivables.aging, .with { $0.asOf = "2026-11-23"; $0.baseCurrency = "-"; $0.pageSize = 7; $0.cursor = cursor })
            #expect(page.rows.count <= 7)
            #expect(page.totals == whole.totals)
            rows += page.rows
            cursor = page.nextCursor
            pages += 1
        } while !cursor.isEmpty
        #expect(pages == 8)
        #expect(rows.map { "\($0.customerID) \($0.currency)" } == whole.rows.map { "\($0.customerID) \($0.currency)" }.sorted())
        #expect(rows.map(\.total).reduce(0, +) == whole.rows.map(\.total).reduce(0, +))
    }

    @Test("another tenant's ids answer exactly like ids that do not exist")
    func tenantIsolation() async throws {
        let world = try InProcessTenants.make()
        let acme = world.acme(.manager)
        let bayani = world.bayaniManager
        try world.seedAcme()
        _ = try await acme.unary(Receivables.applyCash, .with {
            $0.sourceID = "PAY-1"; $0.allocations = [.with { $0.invoiceID = "INV-1"; $0.amount = amount(100_00); $0.applicationID = "APP-1" }]
        })

        func expectNotFound(_ what: String, _ body: () async throws -> Void) async {
            let error = await #expect(throws: RPCError.self, "\(what)") { try await body() }
            #expect(error?.code == .notFound, "\(what): \(String(describing: error))")
        }
        await expectNotFound("GetCustomer") { _ = try await bayani.unary(Receivables.getCustomer, .with { $0.id = "C1" }) }
        await expectNotFound("GetEntry") { _ = try await bayani.unary(Receivables.getEntry, .with { $0.id = "INV-1" }) }
        await expectNotFound("Statement") { _ = try await bayani.unary(Receivables.statement, .with { $0.customerID = "C1" }) }
        await expectNotFound("Statement, packed") { _ = try await bayani.unary(Receivables.statement, .with { $0.customerID = "C1"; $0.packed = true }) }
        await expectNotFound("ApplyCash") {
            _ = try await bayani.unary(Receivables.applyCash, .with {
                $0.sourceID = "PAY-1"; $0.allocations = [.with { $0.invoiceID = "INV-1"; $0.amount = amount(1) }]
            })
        }
        await expectNotFound("Unapply") { _ = try await bayani.unary(Receivables.unapply, .with { $0.applicationID = "APP-1" }) }
        await expectNotFound("PostEntries") {
            _ = try await bayani.unary(Receivables.postEntries, .with {
                $0.entries = [.with { $0.kind = "application"; $0.sourceID = "PAY-1"; $0.targetID = "INV-1"; $0.amount = amount(1); $0.date = "2026-11-23" }]
            })
        }
        // A missing id in Acme's own tenant reads the same.
        let missing = await #expect(throws: RPCError.self) { _ = try await acme.unary(Receivables.getEntry, .with { $0.id = "INV-404" }) }
        #expect(missing?.code == .notFound)

        let bayaniAging = try await bayani.unary(Receivables.aging, .init())
        #expect(bayaniAging.rows.isEmpty)
        let bayaniCash = try await bayani.unary(Receivables.unappliedCash, .init())
        #expect(bayaniCash.sources.isEmpty)
        // And nothing Bayani tried changed Acme.
        #expect(try world.acme.store.openBalance(ofInvoice: "INV-1") == Money(minorUnits: 900_00, currency: .usd))
        #expect(try world.bayani.store.lastChangeSequence() == 0)
    }

    @Test("each role is held to its rights")
    func roles() async throws {
        let world = try InProcessTenants.make()
        _ = world.acme(.manager)
        try world.seedAcme()
        let viewer = world.acme(.viewer)
        let analyst = world.acme(.analyst)
        let admin = world.serverAdmin

        _ = try await viewer.unary(Receivables.aging, .init())
        let viewerPost = await #expect(throws: RPCError.self) {
            _ = try await viewer.unary(Receivables.postEntries, .with { $0.entries = [payment("PAY-V", customer: "C1", 1)] })
        }
        #expect(viewerPost?.code == .permissionDenied)

        _ = try await analyst.unary(Receivables.postEntries, .with { $0.entries = [payment("PAY-A", customer: "C1", 1_00)] })
        let analystWriteOff = await #expect(throws: RPCError.self) {
            _ = try await analyst.unary(Receivables.postEntries, .with {
                $0.entries = [.with { $0.kind = "write_off"; $0.targetID = "INV-1"; $0.amount = amount(1_00); $0.date = "2026-11-23" }]
            })
        }
        #expect(analystWriteOff?.code == .permissionDenied)
        let analystCustomers = await #expect(throws: RPCError.self) {
            _ = try await analyst.unary(Receivables.upsertCustomers, .with { $0.customers = [.with { $0.id = "C9"; $0.number = "9"; $0.name = "X" }] })
        }
        #expect(analystCustomers?.code == .permissionDenied)
        // What lowers or changes what is owed is written only on an approval: no role posts it,
        // a tenant admin's included (the sync push is held to the same rule: SyncRightsTests).
        let owedChanging: [Dunlin_V1_LedgerEntryRecord] = [
            .with { $0.id = "WO-M"; $0.kind = "write_off"; $0.targetID = "INV-1"; $0.amount = amount(1_00); $0.date = "2026-11-23" },
            .with { $0.id = "ADJ-M"; $0.kind = "adjustment"; $0.targetID = "INV-1"; $0.amount = amount(-1_00); $0.date = "2026-11-23" },
            .with { $0.id = "CM-M"; $0.kind = "credit_memo"; $0.customerID = "C1"; $0.amount = amount(1_00); $0.date = "2026-11-23" },
            .with { $0.id = "REF-M"; $0.kind = "refund"; $0.sourceID = "PAY-A"; $0.amount = amount(1_00); $0.date = "2026-11-23" },
        ]
        let sequence = try world.acme.store.lastChangeSequence()
        for role in [Role.analyst, .manager, .admin] {
            for entry in owedChanging {
                let refused = await #expect(throws: RPCError.self, "\(role) posting a \(entry.kind)") {
                    _ = try await world.acme(role).unary(Receivables.postEntries, .with { $0.entries = [entry] })
                }
                #expect(refused?.code == .permissionDenied, "\(role) posting a \(entry.kind)")
                #expect(refused?.message.contains("only when a request for it is approved") == true, "\(String(describing: refused?.message))")
            }
        }
        #expect(try world.acme.store.lastChangeSequence() == sequence)
        #expect(try world.acme.store.entry("WO-M") == nil && world.acme.store.entry("CM-M") == nil)

        let adminRead = await #expect(throws: RPCError.self) { _ = try await admin.unary(Receivables.aging, .init()) }
        #expect(adminRead?.code == .permissionDenied)
    }

    @Test("bad input names the field and the item, and writes nothing", arguments: [
        ("a negative amount", [invoice("I-9", customer: "C1", -5, due: "2026-12-01")], StatusCode.invalidArgument, "amount"),
        ("a zero payment", [payment("P-9", customer: "C1", 0)], .invalidArgument, "amount"),
        ("an unknown currency", [invoice("I-9", customer: "C1", 5, due: "2026-12-01", currency: "XYZ")], .invalidArgument, "amount.currency"),
        ("a due date before the issue date", [invoice("I-9", customer: "C1", 5, due: "2026-07-01")], .invalidArgument, "due_date"),
        ("a date that does not exist", [invoice("I-9", customer: "C1", 5, due: "2026-02-30")], .invalidArgument, "due_date"),
        ("an unknown kind", [.with { $0.kind = "bonus"; $0.amount = amount(1); $0.date = "2026-11-01" }], .invalidArgument, "kind"),
        ("one good line then a bad one", [invoice("I-8", customer: "C1", 5, due: "2026-12-01"), payment("P-8", customer: "C1", -1)], .invalidArgument, "amount"),
    ] as [(String, [Dunlin_V1_LedgerEntryRecord], StatusCode, String)])
    func badEntries(_ name: String, _ entries: [Dunlin_V1_LedgerEntryRecord], _ code: StatusCode, _ field: String) async throws {
        let world = try InProcessTenants.make()
        let manager = world.acme(.manager)
        try world.seedAcme()
        let before = try world.acme.store.lastChangeSequence()
        let error = await #expect(throws: RPCError.self, "\(name)") {
            _ = try await manager.unary(Receivables.postEntries, .with { $0.entries = entries })
        }
        #expect(error?.code == code, "\(name): \(String(describing: error))")
        #expect(error?.details.first?.field == field, "\(name)")
        #expect(error?.details.first?.line == UInt64(entries.count), "\(name): names the item")
        #expect(try world.acme.store.lastChangeSequence() == before, "\(name): nothing written")
    }

    @Test("a retried write with the client's ids answers as the first did and changes nothing; the same id with other content is ALREADY_EXISTS")
    func retriesAreIdempotent() async throws {
        let world = try InProcessTenants.make()
        let analyst = world.acme(.analyst)
        try world.seedAcme()
        let apply = Dunlin_V1_ApplyCashRequest.with {
            $0.sourceID = "PAY-1"
            $0.allocations = [
                .with { $0.invoiceID = "INV-1"; $0.amount = amount(700_00); $0.applicationID = "APP-A" },
                .with { $0.invoiceID = "INV-2"; $0.amount = amount(500_00); $0.applicationID = "APP-B" },
            ]
            $0.date = "2026-11-21"
        }
        let first = try await analyst.unary(Receivables.applyCash, apply)
        let aging = try await analyst.unary(Receivables.aging, .with { $0.asOf = "2026-11-23" })
        #expect(aging.totals.first?.buckets == [0, 0, 0, 300_00, 0, 0])
        // The answer was lost; the analyst's script sends the same request again.
        let retry = try await analyst.unary(Receivables.applyCash, apply)
        #expect(retry == first)
        #expect(try await analyst.unary(Receivables.aging, .with { $0.asOf = "2026-11-23" }) == aging)
        #expect(try world.acme.store.unapplied(ofSource: "PAY-1")?.minorUnits == 0)

        // The same application id for another amount is a different write.
        var changed = apply
        changed.allocations[1].amount = amount(400_00)
        let taken = await #expect(throws: RPCError.self) { _ = try await analyst.unary(Receivables.applyCash, changed) }
        #expect(taken?.code == .alreadyExists)
        #expect(taken?.details.first?.field == "id" && taken?.details.first?.line == 2)
        #expect(try await analyst.unary(Receivables.aging, .with { $0.asOf = "2026-11-23" }) == aging)

        // Unapply's reversal_id, and PostEntries' ids, the same way.
        let unapply = Dunlin_V1_UnapplyRequest.with { $0.applicationID = "APP-B"; $0.reversalID = "REV-B"; $0.date = "2026-11-22" }
        let reversed = try await analyst.unary(Receivables.unapply, unapply)
        #expect(try await analyst.unary(Receivables.unapply, unapply) == reversed)
        #expect(try world.acme.store.openBalance(ofInvoice: "INV-2")?.minorUnits == 500_00)
        let post = Dunlin_V1_PostEntriesRequest.with { $0.entries = [payment("PAY-2", customer: "C1", 50_00)] }
        #expect(try await analyst.unary(Receivables.postEntries, post).count == 1)
        #expect(try await analyst.unary(Receivables.postEntries, post).count == 1)
        #expect(try world.acme.store.unapplied(ofSource: "PAY-2")?.minorUnits == 50_00)
        let other = await #expect(throws: RPCError.self) {
            _ = try await analyst.unary(Receivables.postEntries, .with { $0.entries = [payment("PAY-3", customer: "C1", 1_00), payment("PAY-2", customer: "C1", 60_00)] })
        }
        #expect(other?.code == .alreadyExists && other?.details.first?.line == 2)
        #expect(try world.acme.store.entry("PAY-3") == nil)
    }

    @Test("cash application refuses over-application, mixed currencies and a reversal of a reversal")
    func applicationRules() async throws {
        let world = try InProcessTenants.make()
        let manager = world.acme(.manager)
        try world.seedAcme()
        _ = try await manager.unary(Receivables.postEntries, .with { $0.entries = [payment("PAY-PHP", customer: "C1", 56_000_00, currency: "PHP")] })

        func apply(_ source: String, _ invoiceID: String, _ value: Dunlin_V1_Amount) async -> RPCError? {
            await #expect(throws: RPCError.self) {
                _ = try await manager.unary(Receivables.applyCash, .with {
                    $0.sourceID = source; $0.allocations = [.with { $0.invoiceID = invoiceID; $0.amount = value }]
                })
            }
        }
        #expect(await apply("PAY-1", "INV-2", amount(500_01))?.code == .failedPrecondition)  // above the invoice's balance
        #expect(await apply("PAY-1", "INV-1", amount(1_000_00 + 1))?.code == .failedPrecondition)  // above the balance too
        #expect(await apply("PAY-PHP", "INV-1", amount(100_00, "PHP"))?.code == .invalidArgument)  // mixed currencies
        // A split across invoices that is too much in total is refused whole.
        let split = await #expect(throws: RPCError.self) {
            _ = try await manager.unary(Receivables.applyCash, .with {
                $0.sourceID = "PAY-1"
                $0.allocations = [
                    .with { $0.invoiceID = "INV-1"; $0.amount = amount(1_000_00) },
                    .with { $0.invoiceID = "INV-2"; $0.amount = amount(300_00) },
                ]
            })
        }
        #expect(split?.code == .failedPrecondition)
        #expect(split?.details.first?.line == 2)
        #expect(try world.acme.store.openBalance(ofInvoice: "INV-1")?.minorUnits == 1_000_00)

        _ = try await manager.unary(Receivables.applyCash, .with {
            $0.sourceID = "PAY-1"; $0.allocations = [.with { $0.invoiceID = "INV-2"; $0.amount = amount(500_00); $0.applicationID = "APP-2" }]
        })
        _ = try await manager.unary(Receivables.unapply, .with { $0.applicationID = "APP-2"; $0.reversalID = "REV-2" })
        let again = await #expect(throws: RPCError.self) {
            _ = try await manager.unary(Receivables.postEntries, .with {
                $0.entries = [.with { $0.id = "REV-3"; $0.kind = "reversal"; $0.targetID = "REV-2"; $0.amount = amount(500_00); $0.date = "2026-11-23" }]
            })
        }
        #expect(again?.code == .invalidArgument)
    }

    @Test("customers and ledger entries list a page at a time, and only the caller's tenant")
    func listing() async throws {
        let world = try InProcessTenants.make()
        let acme = world.acme(.manager)
        let bayani = world.bayaniManager
        try world.seedAcme()
        _ = try await acme.unary(Receivables.upsertCustomers, .with {
            $0.customers = (2...7).map { index in .with { $0.id = "C\(index)"; $0.number = "10\(index)"; $0.name = "Customer \(index)" } }
        })
        var seen: [String] = []
        var cursor = ""
        repeat {
            let page = try await acme.unary(Receivables.listCustomers, .with { $0.pageSize = 3; $0.cursor = cursor })
            #expect(page.customers.count <= 3)
            seen += page.customers.map(\.id)
            cursor = page.nextCursor
        } while !cursor.isEmpty
        #expect(Set(seen) == Set((1...7).map { "C\($0)" }))
        #expect(seen.count == 7)

        let invoices = try await acme.unary(Receivables.listEntries, .with { $0.kinds = ["invoice"] })
        #expect(invoices.entries.map(\.id).sorted() == ["INV-1", "INV-2"])
        let badKind = await #expect(throws: RPCError.self) { _ = try await acme.unary(Receivables.listEntries, .with { $0.kinds = ["bonus"] }) }
        #expect(badKind?.code == .invalidArgument)

        #expect(try await bayani.unary(Receivables.listCustomers, .init()).customers.isEmpty)
        #expect(try await bayani.unary(Receivables.listEntries, .init()).entries.isEmpty)
    }
}
