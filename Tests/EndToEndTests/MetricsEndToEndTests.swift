import DunlinClient
import DunlinStore
import DunlinWire
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// The metrics endpoint of a real `dunlind`, scraped over HTTP on 127.0.0.1 while the real `dunlin`
/// logs in, syncs and posts.
@Suite("Metrics on their own port", .serialized, .loadsTheMachine, .timeLimit(.minutes(10)))
struct MetricsEndToEndTests {
    /// One scrape: every sample line, keyed by its series (`name{labels}`), and the body as is.
    struct Scrape {
        let body: String
        let samples: [String: Double]

        init(_ body: String) {
            self.body = body
            var samples: [String: Double] = [:]
            for line in body.split(separator: "\n") where !line.hasPrefix("#") {
                guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
                samples[String(line[..<space])] = value
            }
            self.samples = samples
        }

        /// The sum of the samples of `name` whose labels include every one of `labels`.
        func sum(_ name: String, _ labels: [String: String] = [:]) -> Double {
            samples.filter { series, _ in
                guard series == name || series.hasPrefix(name + "{") else { return false }
                return labels.allSatisfy { series.contains("\($0.key)=\"\($0.value)\"") }
            }.values.reduce(0, +)
        }
    }

    static func get(_ url: URL, method: String = "GET") async throws -> (status: Int, body: String) {
        var request = URLRequest(url: url)
        request.httpMethod = method
        request.timeoutInterval = 30
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
    }

    static func scrape(_ url: URL) async throws -> Scrape {
        let (status, body) = try await get(url)
        #expect(status == 200, "\(body)")
        return Scrape(body)
    }

    @Test("dunlind demo --metrics-port 0 serves Prometheus figures on 127.0.0.1 that move with a login, a sync and a post, with the tenant id the only tenant label and no token anywhere")
    func figuresMove() async throws {
        let world = try await FaultWorld(serverArguments: ["--metrics-port", "0"])
        defer { try? FileManager.default.removeItem(at: world.directory) }
        let line = try await world.server.child.waitForLine(containing: "dunlind metrics on")
        let address = try #require(line.split(separator: " ").last.map(String.init))
        #expect(address.hasPrefix("http://127.0.0.1:") && address.hasSuffix("/metrics"), "\(line)")
        let url = try #require(URL(string: address))

        let before = try await Self.scrape(url)
        // Read at the scrape: the demo tenant's file is there before any call.
        #expect(before.sum("dunlin_store_bytes", ["tenant": "demo"]) > 0, "\(before.body)")
        #expect(before.sum("dunlin_calls_total") == 0)

        _ = try await world.login()
        _ = try await world.sync()
        let served = try StoreContents(world.serverStorePath).records
        let middle = try await Self.scrape(url)
        #expect(middle.sum("dunlin_connections_total") >= 1)
        #expect(middle.sum("dunlin_calls_total", ["status": "OK"]) >= 2, "\(middle.body)")
        #expect(middle.sum("dunlin_sync_pulls_total", ["tenant": "demo"]) >= 1, "\(middle.body)")
        // Every record the bootstrap sent is counted in the pull sizes' histogram.
        #expect(!served.isEmpty && middle.sum("dunlin_sync_pull_records_sum", ["tenant": "demo"]) >= Double(served.count), "\(middle.body)")
        #expect(middle.sum("dunlin_bytes_received_total") > 0 && middle.sum("dunlin_bytes_sent_total") > middle.sum("dunlin_bytes_received_total"))
        #expect(middle.sum("dunlin_call_duration_seconds_count") == middle.sum("dunlin_calls_total"), "\(middle.body)")

        let customer = try #require(served.keys.filter { $0.hasPrefix("customer/") }.min()).dropFirst("customer/".count)
        try await world.postOnServer(payments: 3, prefix: "MET", customer: String(customer))
        let after = try await Self.scrape(url)
        let postEntries = ["method": Receivables.postEntries.path, "status": "OK"]
        #expect(after.sum("dunlin_calls_total", postEntries) == middle.sum("dunlin_calls_total", postEntries) + 1, "\(after.body)")
        #expect(after.sum("dunlin_connections_total") > middle.sum("dunlin_connections_total"))

        // No token and no customer data in any series; the only tenant label value is the tenant id.
        for secret in [world.analystToken, world.managerToken] { #expect(!after.body.contains(secret)) }
        let tenants = Set(after.samples.keys.compactMap { series -> String? in
            guard let range = series.range(of: "tenant=\"") else { return nil }
            return String(series[range.upperBound...].prefix { $0 != "\"" })
        })
        #expect(tenants == ["demo"], "\(tenants)")

        // Only GET /metrics.
        #expect(try await Self.get(url.deletingLastPathComponent().appendingPathComponent("other")).status == 404)
        #expect(try await Self.get(url, method: "POST").status == 405)
        world.server.terminate()
        #expect(try await world.server.waitForExit() == 0)
    }

    @Test("an unknown method and a refused credential are counted: calls by status, refusals by reason")
    func refusalsAreCounted() async throws {
        let world = try await FaultWorld(serverArguments: ["--metrics-port", "0"])
        defer { try? FileManager.default.removeItem(at: world.directory) }
        let line = try await world.server.child.waitForLine(containing: "dunlind metrics on")
        let url = try #require(URL(string: String(line.split(separator: " ").last ?? "")))

        let refused = try await runCLI(["ping", "--server", world.address, "--token", "dn_not_a_token"], environment: world.cliEnvironment())
        #expect(refused.status != 0)
        let client = RPCClient(configuration: .init(host: "127.0.0.1", port: world.server.port, token: world.analystToken, connectPatience: .seconds(5)))
        await #expect(throws: RPCError.self) {
            _ = try await client.unary(MethodDescriptor<Dunlin_V1_EchoRequest, Dunlin_V1_EchoResponse>(path: "/dunlin.v1.Nothing/Here", kind: .unary), .init())
        }
        await client.close()
        let scrape = try await Self.scrape(url)
        #expect(scrape.sum("dunlin_calls_total", ["method": "unrouted", "status": "UNIMPLEMENTED"]) == 1, "\(scrape.body)")
        #expect(scrape.sum("dunlin_refused_total", ["reason": "call_refused"]) == 1, "\(scrape.body)")
        #expect(scrape.sum("dunlin_refused_total", ["reason": "unauthenticated"]) >= 1, "\(scrape.body)")
        #expect(!scrape.body.contains("Nothing/Here"))
        world.server.terminate()
        _ = try await world.server.waitForExit()
    }
}

/// Per-tenant limits on a real `dunlind`, set and read with the real `dunlin`.
@Suite("Tenant limits through the CLI", .serialized, .loadsTheMachine, .timeLimit(.minutes(10)))
struct TenantLimitsEndToEndTests {
    @Test("a server admin holds the demo tenant to 1 call a second: a burst of calls past it ends RESOURCE_EXHAUSTED tenant_rate with a retry hint, a manager may not set it, --reset returns the defaults")
    func rateThroughTheCLI() async throws {
        let world = try await FaultWorld()
        defer { try? FileManager.default.removeItem(at: world.directory) }
        let env = try String(contentsOf: world.data.appendingPathComponent("demo-tokens.env"), encoding: .utf8)
        let adminToken = try #require(env.split(separator: "\n").first { $0.hasPrefix("export DUNLIN_ADMIN_TOKEN=") }?.split(separator: "=").last.map(String.init))
        func limits(_ arguments: [String], token: String) async throws -> (status: Int32, output: String) {
            try await runCLI(["admin", "tenant", "limits", "demo", "--server", world.address, "--token", token] + arguments, environment: world.cliEnvironment())
        }

        // A manager may not (asked first: once the tenant is held to 1 a second, so are its users).
        let manager = try await limits(["--calls-per-second", "1000"], token: world.managerToken)
        #expect(manager.status == 100 + Int32(StatusCode.permissionDenied.rawValue), "\(manager.output)")

        let set = try await limits(["--calls-per-second", "1", "--json"], token: adminToken)
        #expect(set.status == 0, "\(set.output)")
        let shown = try #require(try JSONSerialization.jsonObject(with: Data(set.output.utf8)) as? [String: Any])
        #expect((shown["set"] as? [String: Any])?["calls_per_second"] as? Int == 1, "\(set.output)")
        #expect((shown["effective"] as? [String: Any])?["calls_per_second"] as? Int == 1)
        #expect((shown["set"] as? [String: Any])?["max_calls"] is NSNull, "not set: the server's default")

        // Twelve calls at once: two seconds' worth pass (and a little more, as time passes), the rest wait.
        let client = RPCClient(configuration: .init(host: "127.0.0.1", port: world.server.port, token: world.analystToken, connectPatience: .seconds(5)))
        let outcomes = await withTaskGroup(of: Result<Void, RPCError>.self) { group in
            for n in 0..<12 {
                group.addTask {
                    do {
                        _ = try await client.unary(Diagnostics.echo, .with { $0.payload = Data("\(n)".utf8) })
                        return .success(())
                    } catch let error as RPCError {
                        return .failure(error)
                    } catch {
                        return .failure(RPCError(.unknown, "\(error)"))
                    }
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        await client.close()
        let refused = outcomes.compactMap { outcome -> RPCError? in if case .failure(let error) = outcome { error } else { nil } }
        #expect(outcomes.count - refused.count >= 2, "the burst passes")
        #expect(!refused.isEmpty, "past the rate")
        for error in refused {
            #expect(error.code == .resourceExhausted && error.details.first?.reason == "tenant_rate", "\(error)")
            #expect((1...1_000).contains(error.details.first?.retryAfterMs ?? 0), "\(error)")
        }

        let reset = try await limits(["--reset", "--json"], token: adminToken)
        let defaults = try #require(try JSONSerialization.jsonObject(with: Data(reset.output.utf8)) as? [String: Any])
        #expect((defaults["effective"] as? [String: Any])?["calls_per_second"] as? Int == TenantLimits.defaults.callsPerSecond, "\(reset.output)")
        let table = try await limits([], token: adminToken)
        #expect(table.status == 0 && table.output.contains("calls a second") && table.output.contains("default"), "\(table.output)")
        world.server.terminate()
        _ = try await world.server.waitForExit()
    }

    @Test("dunlind serve refuses tenant limits that cannot hold, naming the option (exit 64)", arguments: [
        ["--tenant-max-streams", "0"], ["--tenant-max-calls", "5", "--tenant-max-streams", "6"], ["--tenant-max-import-mb", "-1"],
    ])
    func badDefaults(arguments: [String]) async throws {
        let refused = try ChildProcess(try Executables.url("dunlind"), ["serve", "--port", "0", "--dev-token", "t"] + arguments)
        #expect(try await refused.waitForExit() == 64)
        #expect(refused.stderr.contains(arguments[arguments.count - 2]), "\(refused.stderr)")
    }
}
