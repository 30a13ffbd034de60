import DunlinClient
import DunlinCore
import DunlinServer
import DunlinServices
import DunlinStore
import DunlinWire
import Foundation
import Testing

private func invoices(_ range: Range<Int>, prefix: String = "INV-") -> Dunlin_V1_ImportEntriesRequest {
    .with {
        $0.entries = range.map { index in
            .with {
                $0.id = "\(prefix)\(index)"; $0.kind = "invoice"; $0.customerID = "C\(index % 3)"; $0.reference = "\(index)"
                $0.amount = .with { $0.currency = "USD"; $0.minor = Int64(100 + index) }
                $0.date = "2026-10-01"; $0.dueDate = "2026-10-31"
            }
        }
    }
}

/// How many ledger entries the tenant holds, read after any import in flight has ended (a post
/// waits for the tenant's writer, which the import holds until it commits or rolls back).
private func settledEntryCount(_ client: RPCClient, _ store: TenantStore) async throws -> Int {
    _ = try await client.unary(Receivables.postEntries, .with {
        $0.entries = [.with { $0.kind = "payment"; $0.amount = .with { $0.currency = "USD"; $0.minor = 1 }; $0.date = "2026-11-01" }]
    })
    return try await store.writer.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM ledger_entry WHERE kind = 'invoice'") ?? 0 }
}

@Suite("Streaming import over the protocol", .loadsTheMachine, .timeLimit(.minutes(10)))
struct StreamingImportTests {
    @Test("entries streamed in chunks are imported in one transaction, and the balances follow")
    func importsAll() async throws {
        let world = try await TwoTenants.start()
        try world.acme.store.upsert((0..<3).map { Customer(id: "C\($0)", number: "N-C\($0)", name: "Customer \($0)") })
        let analyst = world.server.client(token: "acme-analyst")
        let chunks = [invoices(0..<300), invoices(300..<301), invoices(301..<700)]
        let response = try await analyst.clientStreaming(Receivables.importEntries, requests: chunks)
        #expect(response.count == 700)
        let aging = try await analyst.unary(Receivables.aging, .with { $0.asOf = "2026-11-23" })
        #expect(aging.totals.first?.total == (0..<700).reduce(0) { $0 + Int64(100 + $1) })
        #expect(try world.acme.store.openBalance(ofInvoice: "INV-699") == Money(minorUnits: 799, currency: .usd))
        try await world.server.stop()
    }

    @Test("a bad entry in a later chunk refuses the whole import and is named by its place in the stream")
    func badEntryInLaterChunk() async throws {
        let world = try await TwoTenants.start()
        try world.acme.store.upsert((0..<3).map { Customer(id: "C\($0)", number: "N-C\($0)", name: "Customer \($0)") })
        let analyst = world.server.client(token: "acme-analyst")
        var third = invoices(500..<700)
        third.entries[42].id = "INV-7"  // already in the first chunk, for another amount: item 500 + 42 + 1
        var fourth = invoices(700..<800)
        fourth.entries[0].amount.minor = 0
        let error = await #expect(throws: RPCError.self) {
            _ = try await analyst.clientStreaming(Receivables.importEntries, requests: [invoices(0..<250), invoices(250..<500), third, fourth])
        }
        #expect(error?.code == .alreadyExists)
        #expect(error?.details.first?.line == 543)
        #expect(error?.details.first?.field == "id")
        #expect(try await settledEntryCount(analyst, world.acme.store) == 0)

        // A malformed entry (refused while decoding, before the store sees it) writes nothing either.
        var malformed = invoices(900..<1000)
        malformed.entries[9].amount.currency = "XYZ"
        let decodeError = await #expect(throws: RPCError.self) {
            _ = try await analyst.clientStreaming(Receivables.importEntries, requests: [invoices(0..<250), malformed])
        }
        #expect(decodeError?.code == .invalidArgument)
        #expect(decodeError?.details.first?.line == 260)
        #expect(try await settledEntryCount(analyst, world.acme.store) == 0)
        try await world.server.stop()
    }

    @Test("a viewer cannot import, and a reversal in an import needs the role its target needs")
    func roles() async throws {
        let world = try await TwoTenants.start()
        try world.acme.store.upsert((0..<3).map { Customer(id: "C\($0)", number: "N-C\($0)", name: "Customer \($0)") })
        let viewer = world.server.client(token: "acme-viewer")
        let analyst = world.server.client(token: "acme-analyst")
        let error = await #expect(throws: RPCError.self) { _ = try await viewer.clientStreaming(Receivables.importEntries, requests: [invoices(0..<3)]) }
        #expect(error?.code == .permissionDenied)
        var void = invoices(0..<3)
        void.entries.append(.with { $0.id = "REV-1"; $0.kind = "reversal"; $0.targetID = "INV-1"; $0.amount = .with { $0.currency = "USD"; $0.minor = 101 }; $0.date = "2026-10-02" })
        let denied = await #expect(throws: RPCError.self) { _ = try await analyst.clientStreaming(Receivables.importEntries, requests: [void]) }
        #expect(denied?.code == .permissionDenied)
        #expect(denied?.message.contains("item 4") == true)
        #expect(try await settledEntryCount(analyst, world.acme.store) == 0)
        try await world.server.stop()
    }

    @Test("a cancelled import, or one past its deadline, writes nothing")
    func cancelledOrLate() async throws {
        let world = try await TwoTenants.start()
        try world.acme.store.upsert((0..<3).map { Customer(id: "C\($0)", number: "N-C\($0)", name: "Customer \($0)") })
        let analyst = world.server.client(token: "acme-analyst")
        let started = AsyncStream<Void>.makeStream()
        let call = Task {
            try await analyst.clientStreaming(Receivables.importEntries) { writer in
                try await writer.write(invoices(0..<200))
                try await writer.write(invoices(200..<400))
                started.continuation.yield()
                try await Task.sleep(for: .seconds(60))
            }
        }
        for await _ in started.stream { break }
        try await Task.sleep(for: .milliseconds(200))
        call.cancel()
        _ = await call.result
        #expect(try await settledEntryCount(analyst, world.acme.store) == 0)

        let late = await #expect(throws: RPCError.self) {
            _ = try await analyst.clientStreaming(Receivables.importEntries, options: .init(timeout: .milliseconds(500))) { writer in
                try await writer.write(invoices(0..<200))
                try await Task.sleep(for: .seconds(60))
            }
        }
        #expect(late?.code == .deadlineExceeded)
        #expect(try await settledEntryCount(analyst, world.acme.store) == 0)
        try await world.server.stop()
    }
}

extension AdminProcessTests {
    @Test("dunlin invoices import streams a CSV file to a real dunlind: all of it, or with one bad line in a later chunk none of it, naming the line")
    func csvImportThroughTheCLI() async throws {
        let acme = try await servedAcme("import")
        let directory = acme.directory, server = acme.server
        defer { try? FileManager.default.removeItem(at: directory) }
        func dunlin(_ arguments: [String], token: String) async throws -> (status: Int32, output: String) { try await acme.dunlin(arguments, token: token) }
        let token = try await acme.token(for: "Ana", role: "analyst", device: "nightly-import")
        // The invoices name customers C0 to C6: a manager imports them first.
        let managerToken = try await acme.token(for: "Maria", role: "manager")
        let customers = directory.appendingPathComponent("customers.csv")
        try Data(("id,number,name\n" + (0..<7).map { "C\($0),N\($0),Customer \($0)\n" }.joined()).utf8).write(to: customers)
        #expect(try await dunlin(["customers", "import", customers.path], token: managerToken).status == 0)

        // More lines than one chunk holds, so the refusal comes from a chunk after the first.
        let count = importChunkSizeForTests + 1_000
        func csv(duplicateAt bad: Int?) -> URL {
            var text = "id,customer_id,number,amount,currency,issue_date,due_date\n"
            for index in 0..<count {
                let id = index == bad ? "INV-3" : "INV-\(index)"
                text += "\(id),C\(index % 7),N\(index),\(index % 90 + 1).25,USD,2026-09-01,2026-10-01\n"
            }
            let file = directory.appendingPathComponent("invoices-\(bad ?? -1).csv")
            try? Data(text.utf8).write(to: file)
            return file
        }
        let refused = try await dunlin(["invoices", "import", csv(duplicateAt: count - 10).path, "--json"], token: token)
        #expect(refused.status == 100 + Int32(StatusCode.alreadyExists.rawValue))  // INV-3 again, with other content
        #expect(refused.output.contains("line \(count - 10 + 2)"), "\(refused.output)")
        let empty = try await dunlin(["aging", "--as-of", "2026-11-23", "--json"], token: token)
        #expect(!empty.output.contains("INV") && !empty.output.contains("C3"), "\(empty.output)")

        let imported = try await dunlin(["invoices", "import", csv(duplicateAt: nil).path, "--json"], token: token)
        #expect(imported.status == 0, "\(imported.output)")
        #expect(try object(imported.output)["imported"] as? Int == count)

        server.terminate()
        #expect(try await server.waitForExit() == 0)
    }
}

extension AdminProcessTests {
    /// A real dunlind over a fresh data directory, with tenant acme (USD, UTC) made through the CLI
    /// by the server admin `dunlind init` printed.
    struct ServedAcme {
        let directory: URL
        let server: DunlindProcess
        let root: String

        /// Runs `dunlin` against this server with `token`.
        func dunlin(_ arguments: [String], token: String) async throws -> (status: Int32, output: String) {
            try await runCLI(arguments + ["--server", "127.0.0.1:\(server.port)", "--token", token])
        }

        /// Creates a user of acme with `role` and issues it a token that never expires.
        func token(for name: String, role: String, device: String = "desk") async throws -> String {
            let user = try AdminProcessTests.object(try await dunlin(["admin", "user", "create", "--tenant", "acme", "--name", name, "--role", role, "--json"], token: root).output)
            let issued = try AdminProcessTests.object(try await dunlin(
                ["admin", "token", "issue", try #require(user["id"] as? String), "--device", device, "--no-expiry", "--json"], token: root
            ).output)
            return try #require(issued["token"] as? String)
        }
    }

    func servedAcme(_ name: String) async throws -> ServedAcme {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dunlin-\(name)-\(UUID().uuidString)")
        let root = try #require(try Self.object(try dunlind(["init", "--data", directory.path, "--json"]).output)["token"] as? String)
        let acme = ServedAcme(directory: directory, server: try await DunlindProcess(arguments: ["--data", directory.path]), root: root)
        #expect(try await acme.dunlin(["admin", "tenant", "create", "acme", "--name", "Acme", "--currency", "USD", "--time-zone", "UTC"], token: root).status == 0)
        return acme
    }
}

/// The CLI's chunk size (Clients/dunlin), which the tests cannot import.
private let importChunkSizeForTests = 5_000
