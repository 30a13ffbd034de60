import DunlinClient
import DunlinCore
import DunlinServer
import DunlinStore
import DunlinWire
import Foundation
import NIOCore
import Testing

private let maximum = Money.maximumMinorUnits

private func dollars(_ minor: Int64) -> Dunlin_V1_Amount { .with { $0.currency = "USD"; $0.minor = minor } }

private func entry(_ id: String, _ kind: String, customer: String, _ minor: Int64, due: String = "") -> Dunlin_V1_LedgerEntryRecord {
    .with {
        $0.id = id; $0.kind = kind; $0.customerID = customer; $0.amount = dollars(minor); $0.date = "2026-01-01"
        if kind == "invoice" { $0.dueDate = due.isEmpty ? "2026-09-01" : due; $0.reference = id }
    }
}

private func ledgerCount(_ store: TenantStore) throws -> Int {
    try store.writer.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM ledger_entry") ?? 0 }
}

@Suite("Amounts, customers and text at the edges, over the protocol", .loadsTheMachine, .timeLimit(.minutes(10)))
struct InputLimitEndToEndTests {
    @Test("9,000 invoices and 9,000 payments at the maximum amount for one customer: exact statement, aging, unapplied cash and customer totals")
    func manyAtTheMaximum() async throws {
        let world = try await TwoTenants.start()
        try world.acme.store.upsert([Customer(id: "C1", number: "1", name: "Whale"), Customer(id: "C2", number: "2", name: "Second")])
        let analyst = world.server.client(token: "acme-analyst")
        let count = 9_000
        var chunks: [Dunlin_V1_ImportEntriesRequest] = []
        for start in stride(from: 0, to: count, by: 3_000) {
            chunks.append(.with {
                $0.entries = (start..<start + 3_000).flatMap { index in
                    [entry("I\(index)", "invoice", customer: "C1", maximum, due: CivilDate("2026-11-23")!.adding(days: -(index % 200)).description),
                     entry("P\(index)", "payment", customer: "C1", maximum)]
                }
            })
        }
        #expect(try await analyst.clientStreaming(Receivables.importEntries, requests: chunks).count == UInt64(2 * count))
        let whole = Int64(count) * maximum  // 9 x 10^18: within int64, far beyond any 64-bit partial sum of mixed signs

        let statement = try await analyst.unary(Receivables.statement, .with { $0.customerID = "C1"; $0.asOf = "2026-11-23" })
        #expect(statement.totalOpen == [dollars(whole)])
        #expect(statement.totalUnapplied == [dollars(whole)])
        #expect(statement.openInvoices.count == count)
        let customer = try await analyst.unary(Receivables.getCustomer, .with { $0.id = "C1" })
        #expect(customer.openBalance == [dollars(whole)])
        #expect(customer.unapplied == [dollars(whole)])
        let unapplied = try await analyst.unary(Receivables.unappliedCash, .with { $0.customerID = "C1" })
        #expect(unapplied.totals == [dollars(whole)])
        let aging = try await analyst.unary(Receivables.aging, .with { $0.asOf = "2026-11-23"; $0.baseCurrency = "-" })
        #expect(aging.rows.first?.total == whole)
        #expect(aging.totals.first?.total == whole)
        #expect(aging.rows.first?.buckets.reduce(Int128(0)) { $0 + Int128($1) } == Int128(whole))
        let asOfPast = try await analyst.unary(Receivables.aging, .with { $0.asOf = "2026-08-01"; $0.baseCurrency = "-" })
        #expect(asOfPast.totals.first?.total == whole)

        // A second customer takes the portfolio beyond int64: the aging says OUT_OF_RANGE, naming
        // the total; each customer's own statement still answers.
        _ = try await analyst.clientStreaming(Receivables.importEntries, requests: [.with {
            $0.entries = (0..<300).map { entry("J\($0)", "invoice", customer: "C2", maximum) }
        }])
        let tooMuch = await #expect(throws: RPCError.self) {
            _ = try await analyst.unary(Receivables.aging, .with { $0.asOf = "2026-11-23"; $0.baseCurrency = "-" })
        }
        #expect(tooMuch?.code == .outOfRange)
        #expect(try await analyst.unary(Receivables.statement, .with { $0.customerID = "C1" }).totalOpen == [dollars(whole)])
        #expect(try await analyst.unary(Receivables.statement, .with { $0.customerID = "C2" }).totalOpen == [dollars(300 * maximum)])
        try await world.server.stop()
    }

    @Test("an amount above the maximum is OUT_OF_RANGE naming the field and item, through PostEntries, ImportEntries and ApplyCash; nothing is written")
    func aboveTheMaximum() async throws {
        let world = try await TwoTenants.start()
        try world.acme.store.upsert([Customer(id: "C1", number: "1", name: "Acme")])
        let analyst = world.server.client(token: "acme-analyst")
        let before = try ledgerCount(world.acme.store)
        // The import: two payments of 92233720368547758.07 USD.
        let posted = await #expect(throws: RPCError.self) {
            _ = try await analyst.unary(Receivables.postEntries, .with {
                $0.entries = [entry("P1", "payment", customer: "C1", 100), entry("P2", "payment", customer: "C1", .max), entry("P3", "payment", customer: "C1", .max)]
            })
        }
        #expect(posted?.code == .outOfRange)
        #expect(posted?.details.first?.field == "amount")
        #expect(posted?.details.first?.line == 2)
        let imported = await #expect(throws: RPCError.self) {
            _ = try await analyst.clientStreaming(Receivables.importEntries, requests: [.with {
                $0.entries = [entry("I1", "invoice", customer: "C1", maximum), entry("I2", "invoice", customer: "C1", maximum + 1)]
            }])
        }
        #expect(imported?.code == .outOfRange)
        #expect(imported?.details.first?.line == 2)
        #expect(try ledgerCount(world.acme.store) == before)

        _ = try await analyst.unary(Receivables.postEntries, .with {
            $0.entries = [entry("I1", "invoice", customer: "C1", maximum), entry("P1", "payment", customer: "C1", maximum)]
        })
        let applied = await #expect(throws: RPCError.self) {
            _ = try await analyst.unary(Receivables.applyCash, .with {
                $0.sourceID = "P1"; $0.allocations = [.with { $0.invoiceID = "I1"; $0.amount = dollars(maximum + 1) }]
            })
        }
        #expect(applied?.code == .outOfRange)
        #expect(try ledgerCount(world.acme.store) == before + 2)
        try await world.server.stop()
    }

    @Test("an entry naming a customer the tenant does not have is NOT_FOUND on customer_id, naming the item; nothing is written")
    func unknownCustomer() async throws {
        let world = try await TwoTenants.start()
        try world.acme.store.upsert([Customer(id: "C1", number: "1", name: "Acme")])
        let analyst = world.server.client(token: "acme-analyst")
        let posted = await #expect(throws: RPCError.self) {
            _ = try await analyst.unary(Receivables.postEntries, .with {
                $0.entries = [entry("P1", "payment", customer: "C1", 100), entry("P2", "payment", customer: "NOPE", 100)]
            })
        }
        #expect(posted?.code == .notFound)
        #expect(posted?.details.first?.field == "customer_id")
        #expect(posted?.details.first?.line == 2)
        let imported = await #expect(throws: RPCError.self) {
            _ = try await analyst.clientStreaming(Receivables.importEntries, requests: [.with { $0.entries = [entry("I9", "invoice", customer: "NOPE", 100)] }])
        }
        #expect(imported?.code == .notFound)
        #expect(imported?.details.first?.field == "customer_id")
        #expect(try ledgerCount(world.acme.store) == 0)
        // An unidentified payment names no customer, and is fine.
        _ = try await analyst.unary(Receivables.postEntries, .with { $0.entries = [entry("P3", "payment", customer: "", 100)] })
        try await world.server.stop()
    }

    @Test("control characters in stored text are INVALID_ARGUMENT naming the field; nothing is written")
    func controlCharacters() async throws {
        let world = try await TwoTenants.start()
        let manager = world.server.client(token: "acme-manager")
        let refused = await #expect(throws: RPCError.self) {
            _ = try await manager.unary(Receivables.upsertCustomers, .with {
                $0.customers = [.with { $0.id = "C1"; $0.number = "1"; $0.name = "nul\0byte" }]
            })
        }
        #expect(refused?.code == .invalidArgument)
        #expect(refused?.details.first?.field == "name")
        #expect(try world.acme.store.customer("C1") == nil)
        try world.acme.store.upsert([Customer(id: "C1", number: "1", name: "Acme")])
        let memo = await #expect(throws: RPCError.self) {
            _ = try await manager.unary(Receivables.postEntries, .with {
                var payment = entry("P1", "payment", customer: "C1", 100)
                payment.memo = "see \u{1B}]52;c;Y2xpcA==\u{07}"
                $0.entries = [payment]
            })
        }
        #expect(memo?.code == .invalidArgument)
        #expect(memo?.details.first?.field == "memo")
        try await world.server.stop()
    }

    @Test("a string field that is not UTF-8 is a protocol error saying so, never text with U+FFFD in it")
    func invalidUTF8() async throws {
        let world = try await TwoTenants.start()
        let raw = try await RawConnection.connect(port: world.server.port)
        _ = try await raw.handshake(token: "acme-manager")
        // GetCustomerRequest { id (1) = 0xC3 0x28 }: a truncated two-byte sequence.
        try await raw.send(
            .open(1, Receivables.getCustomer.path),
            Frame(type: .message, flags: .endStream, streamID: 1, payload: ByteBuffer(bytes: [0x0A, 0x02, 0xC3, 0x28]))
        )
        let goAway = try await raw.goAway()
        #expect(goAway.reason == .malformedMessage)
        #expect(goAway.message.contains("UTF-8"), "\(goAway.message)")
        await raw.close()
        try await world.server.stop()
    }
}

extension AdminProcessTests {
    @Test("the CLI: CSV refusals exit 103 naming the line (bad value, not UTF-8, a customer id twice), an unknown customer exits 105, and stored text is printed escaped")
    func cliRefusals() async throws {
        let acme = try await servedAcme("limits")
        let directory = acme.directory, server = acme.server
        defer { try? FileManager.default.removeItem(at: directory) }
        func dunlin(_ arguments: [String], token: String) async throws -> (status: Int32, output: String) { try await acme.dunlin(arguments, token: token) }
        let token = try await acme.token(for: "Maria", role: "manager")
        func file(_ name: String, _ bytes: [UInt8]) throws -> String {
            let url = directory.appendingPathComponent(name)
            try Data(bytes).write(to: url)
            return url.path
        }

        let twice = try await dunlin(["customers", "import", try file("twice.csv", Array("id,number,name\nC1,1,Acme\nC1,2,Acme again\n".utf8)), "--json"], token: token)
        #expect(twice.status == 103, "\(twice.output)")
        #expect(twice.output.contains("line 3") && twice.output.contains("also on line 2"), "\(twice.output)")
        #expect(try await dunlin(["customers", "list", "--json"], token: token).output.contains("C1") == false)

        #expect(try await dunlin(["customers", "import", try file("ok.csv", Array("id,number,name\nC1,1,Acme\n".utf8))], token: token).status == 0)
        let header = "id,customer_id,number,amount,currency,issue_date,due_date\n"
        let badAmount = try await dunlin(["invoices", "import", try file("bad.csv", Array((header + "I1,C1,1,12.345,USD,2026-10-01,2026-10-31\n").utf8)), "--json"], token: token)
        #expect(badAmount.status == 103, "\(badAmount.output)")
        #expect(badAmount.output.contains("line 2"), "\(badAmount.output)")
        let latin1 = try await dunlin(["invoices", "import", try file("latin1.csv", Array((header + "I1,C1,1,1.00,USD,2026-10-01,2026-10-31\nI2,C1,Caf").utf8) + [0xE9] + Array(",1.00,USD,2026-10-01,2026-10-31\n".utf8)), "--json"], token: token)
        #expect(latin1.status == 103, "\(latin1.output)")
        #expect(latin1.output.contains("line 3") && latin1.output.contains("UTF-8"), "\(latin1.output)")
        let tooBig = try await dunlin(["invoices", "import", try file("big.csv", Array((header + "I1,C1,1,10000000000000.01,USD,2026-10-01,2026-10-31\n").utf8)), "--json"], token: token)
        #expect(tooBig.status == 111, "\(tooBig.output)")
        #expect(tooBig.output.contains("line 2"), "\(tooBig.output)")
        let escaped = try await dunlin(["customers", "import", try file("escape.csv", Array("id,number,name\nC2,2,\"Evil \u{1B}]52;c;cGF5\u{07}\"\n".utf8)), "--json"], token: token)
        #expect(escaped.status == 103, "\(escaped.output)")
        #expect(escaped.output.contains("line 2") && escaped.output.contains("name"), "\(escaped.output)")

        let nope = try await dunlin(["payments", "record", "--customer", "NOPE", "--amount", "10.00", "--currency", "USD", "--json"], token: token)
        #expect(nope.status == 105, "\(nope.output)")
        #expect(nope.output.contains("customer_id"), "\(nope.output)")
        #expect(try await dunlin(["ledger", "--json"], token: token).output.contains("NOPE") == false)

        // Text that reaches a person's terminal has its control characters made visible.
        let echo = try await dunlin(["echo", "clip \u{1B}]52;c;cGF5\u{07} \u{1B}[8mhidden"], token: token)
        #expect(echo.output == "clip \\e]52;c;cGF5\\x07 \\e[8mhidden\n", "\(echo.output)")
        #expect(!echo.output.unicodeScalars.contains("\u{1B}"))

        server.terminate()
        #expect(try await server.waitForExit() == 0)
    }
}
