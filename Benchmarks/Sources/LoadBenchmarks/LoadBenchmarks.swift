import ArgumentParser
import BenchmarkSupport
import DunlinClient
import DunlinStore
import DunlinWire
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import GRDB
import Synchronization

/// Load and soak against a real `dunlind` process (issue 15 item 6): many connections of mixed
/// tenants held open, replicas syncing while writers post, the server's memory and descriptors
/// sampled over time, then a SIGKILL of the server under that load, a restart, and a count:
/// nothing acknowledged lost, nothing doubled, every replica converged.
///
/// One JSON line per figure on stdout; progress on stderr. Build the server first, in release:
/// `swift build -c release --product dunlind` at the root; then, in Benchmarks/,
/// `swift build -c release --product LoadBenchmarks && .build/release/LoadBenchmarks`.
/// `taskset -c 0 .build/release/LoadBenchmarks --server-cpus 1` keeps the load generator and the
/// server on cores of their own. A server with a metrics port (`--metrics-port`) is started with
/// one, and its call-duration histograms give the server's own latency per call (`server_side`),
/// summed over both processes when it is killed and restarted.
@main
struct LoadBenchmarks: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Load and soak a real dunlind, kill it under load, and count.")

    @Option(help: "The dunlind executable.") var dunlind = "../.build/release/dunlind"
    @Option(help: "Connections held open, across the tenants (keepalive on; each calls Ping once a minute).") var connections = 1_000
    @Option(help: "Replicas syncing, across the tenants.") var replicas = 100
    @Option(help: "Writers posting payments, across the tenants.") var writers = 10
    @Option(help: "Tenants: the demo tenant and this many less one made for the run.") var tenants = 5
    @Option(help: "Seconds of soak.") var duration = 600
    @Option(help: "Seconds between samples of the server's memory and descriptors.") var sample = 10
    @Option(help: "Seconds into the soak at which the server is SIGKILLed and restarted; 0: never.") var killAt: Int?
    @Option(help: "Working directory (default: a new one under the temporary directory).") var directory: String?
    @Option(name: .customLong("server-cpus"), help: """
        CPUs for the server, as taskset takes them (e.g. 1): the server runs under `taskset -c LIST`. Run the benchmark \
        itself under `taskset -c` with the other CPUs, so the load generator and the server never share a core.
        """) var serverCPUs: String?

    func run() async throws {
        let root = URL(fileURLWithPath: directory ?? NSTemporaryDirectory() + "dunlin-load-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let data = root.appendingPathComponent("data")
        let executable = URL(fileURLWithPath: dunlind)
        guard FileManager.default.isExecutableFile(atPath: executable.path) else {
            throw BenchError("no dunlind at \(executable.path): swift build -c release --product dunlind at the root, or --dunlind PATH")
        }
        // Plain TCP on 127.0.0.1, as the RPC benchmarks measure: a dunlind that serves TLS by
        // default is asked for it (one built before TLS knows no such flag).
        let serveHelp = try ServerProcess.help(executable, "serve")
        let plaintext = serveHelp.contains("--insecure-plaintext") ? ["--insecure-plaintext"] : []
        // The server's own figures: its call-duration histograms, scraped from its metrics port,
        // are its latency per call, apart from the load generator's queueing.
        let metered = serveHelp.contains("--metrics-port")
        let launch = ServerProcess.Launch(executable: executable, cpus: serverCPUs)
        var server = try ServerProcess(
            launch, ["demo", "--data", data.path, "--port", "0"] + plaintext + (metered ? ["--metrics-port", "0"] : []),
            log: root.appendingPathComponent("dunlind.log")
        )
        let listening = try await server.waitForLine(containing: "dunlind listening on")
        guard let port = listening.split(separator: ":").last.flatMap({ Int($0) }) else { throw BenchError("no port in \"\(listening)\"") }
        var metrics: URL?
        if metered {
            let line = try await server.waitForLine(containing: "dunlind metrics on")
            metrics = line.split(separator: " ").last.flatMap { URL(string: String($0)) }
        }
        progress("dunlind \(server.pid) on 127.0.0.1:\(port)\(serverCPUs.map { ", CPUs \($0)" } ?? ""), data in \(data.path)")
        let world = try await LoadWorld.make(port: port, data: data, tenants: tenants)

        // Connections held open.
        let pings = Latencies()
        let clients = (0..<connections).map { n in
            RPCClient(
                configuration: .init(port: port, token: world.tenants[n % world.tenants.count].token, connectPatience: .seconds(30)),
                logger: quietLogger(label: "load.connection")
            )
        }
        let opening = try await timed {
            try await forEach(clients, width: 100) { client in
                try await pings.time("ping") { _ = try await client.unary(Diagnostics.ping, .init(), options: bounded) }
            }
        }
        let opened = server.sample()
        let first = (pings.all["ping"] ?? []).sorted()
        emit([
            "bench": "load_connections_open", "connections": connections, "tenants": world.tenants.count, "open_s": round(opening, 2),
            "first_ping_p50_ms": round(percentile(first, 0.5) * 1_000, 2), "first_ping_p99_ms": round(percentile(first, 0.99) * 1_000, 2),
            "server_rss_mib": opened.rssMiB, "server_fds": opened.fds, "load": loadAverage(),
        ])

        // The soak: writers, replicas and the connections' pings, the server sampled, killed once.
        let stop = StopFlag()
        let latencies = Latencies()
        let writes = Writes()
        let errors = Latencies()
        let laptops = try (0..<replicas).map { n -> Laptop in
            let tenant = world.tenants[n % world.tenants.count]
            return try Laptop(
                token: tenant.token, tenant: tenant.id, port: port, path: root.appendingPathComponent("replica-\(n).sqlite").path,
                batch: 500, compress: true, userID: tenant.userID
            )
        }
        let killAt = self.killAt ?? duration / 2
        let start = ContinuousClock.now
        var samples: [[String: Any]] = []
        var downtime = 0.0
        var beforeKill = CallDurations()
        var calls = CallDurations()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for w in 0..<writers {
                let tenant = world.tenants[w % world.tenants.count]
                group.addTask {
                    let client = RPCClient(configuration: .init(port: port, token: tenant.token, connectPatience: .seconds(5)), logger: quietLogger(label: "load.writer"))
                    defer { Task { await client.close() } }
                    var n = 0
                    while !stop.isSet {
                        let batch = (0..<20).map { k in payment("W\(w)-\(n + k)", amount: Int64(100 + n + k), customer: tenant.customers[(n + k) % tenant.customers.count]) }
                        writes.attempted(tenant.id, batch.map(\.id))
                        // A batch is retried, the same, until it is acknowledged: a retry of a
                        // batch that did commit before a kill must change nothing.
                        while !stop.isSet {
                            do {
                                try await latencies.time("post_entries_20") { _ = try await client.unary(Receivables.postEntries, .with { $0.entries = batch }, options: bounded) }
                                writes.acknowledged(tenant.id, batch.map(\.id))
                                break
                            } catch {
                                errors.count("post_entries: \((error as? RPCError)?.code.description ?? "\(error)")")
                            }
                        }
                        n += 20
                    }
                }
            }
            for laptop in laptops {
                group.addTask {
                    var bootstrapped = false
                    while !stop.isSet {
                        do {
                            try await latencies.time(bootstrapped ? "sync" : "bootstrap") { _ = try await boundedEngine(laptop).sync() }
                            bootstrapped = true
                        } catch {
                            errors.count("sync: \((error as? RPCError)?.code.description ?? "\(error)")")
                        }
                        try? await Task.sleep(for: .seconds(2))
                    }
                }
            }
            group.addTask {
                while !stop.isSet {
                    // A minute, in steps, so the end of the soak is not kept waiting.
                    for _ in 0..<60 where !stop.isSet { try? await Task.sleep(for: .seconds(1)) }
                    if stop.isSet { break }
                    try? await forEach(clients, width: 100) { client in
                        do {
                            try await latencies.time("ping") { _ = try await client.unary(Diagnostics.ping, .init(), options: bounded) }
                        } catch {
                            errors.count("ping: \((error as? RPCError)?.code.description ?? "\(error)")")
                        }
                    }
                }
            }
            // The sampler, and the kill: on this task, so the server handle stays here.
            var killed = killAt <= 0
            while ContinuousClock.now - start < .seconds(duration) {
                try await Task.sleep(for: .seconds(sample))
                let elapsed = seconds(ContinuousClock.now - start)
                let now = server.sample()
                let line: [String: Any] = [
                    "bench": "load_sample", "t_s": round(elapsed, 1), "server_rss_mib": now.rssMiB, "server_fds": now.fds,
                    "acknowledged": writes.acknowledgedCount, "load": loadAverage(),
                ]
                samples.append(line)
                emit(line)
                if !killed, elapsed >= Double(killAt) {
                    killed = true
                    progress("SIGKILL dunlind \(server.pid) at \(Int(elapsed)) s, \(writes.acknowledgedCount) entries acknowledged")
                    // The first process's histograms die with it: what they held until now is kept.
                    if let metrics { beforeKill = try await CallDurations.scrape(metrics) }
                    let down = ContinuousClock.now
                    server.kill()
                    server = try ServerProcess(
                        launch, ["serve", "--data", data.path, "--port", "\(port)"] + plaintext + (metered ? ["--metrics-port", "0"] : []),
                        log: root.appendingPathComponent("dunlind-restarted.log")
                    )
                    _ = try await server.waitForLine(containing: "dunlind listening on")
                    if metered {
                        let line = try await server.waitForLine(containing: "dunlind metrics on")
                        metrics = line.split(separator: " ").last.flatMap { URL(string: String($0)) }
                    }
                    downtime = seconds(ContinuousClock.now - down)
                    progress("dunlind \(server.pid) back after \(round(downtime, 2)) s")
                }
            }
            stop.set()
            progress("soak over: waiting for the writers, replicas and pings to stop")
            try await group.waitForAll()
        }

        // Every replica converges: it syncs until a sync brings nothing, then holds what the server holds.
        progress("syncing every replica to the end")
        var converged = 0
        var divergent: [String] = []
        let newest = try world.newestChange()
        for (n, laptop) in laptops.enumerated() {
            var report = try await boundedEngine(laptop).sync()
            while report.pulled > 0 { report = try await boundedEngine(laptop).sync() }
            let tenant = world.tenants[n % world.tenants.count]
            let held = try countW(root.appendingPathComponent("replica-\(n).sqlite").path)
            let served = try countW(world.storePath(tenant.id))
            if report.checkpoint == newest[tenant.id], held == served { converged += 1 } else {
                divergent.append("replica \(n) of \(tenant.id): checkpoint \(report.checkpoint) of \(newest[tenant.id] ?? -1), \(held) of \(served) entries")
            }
        }
        for laptop in laptops { await laptop.close() }
        for client in clients { await client.close() }

        // The server's latency per call over the whole soak and the convergence: both processes' histograms.
        if let metrics {
            calls = try await CallDurations.scrape(metrics)
            calls.add(beforeKill)
        }

        // Nothing acknowledged lost, nothing doubled, nothing made up.
        progress("counting")
        server.terminate()
        _ = await server.waitForExit()
        var lost = 0, unknown = 0, mismatches: [String] = []
        for tenant in world.tenants {
            let present = try idsW(world.storePath(tenant.id))
            lost += writes.acknowledgedIDs(tenant.id).subtracting(present).count
            unknown += present.subtracting(writes.attemptedIDs(tenant.id)).count
            let store = try TenantStore(path: world.storePath(tenant.id))
            mismatches += try store.derivedBalanceMismatches().map { "\(tenant.id): \($0)" }
            mismatches += try store.changeLogMismatches().map { "\(tenant.id): \($0)" }
        }
        var summary: [String: Any] = [
            "bench": "load_soak", "duration_s": duration, "connections": connections, "replicas": replicas, "writers": writers,
            "tenants": world.tenants.count, "acknowledged": writes.acknowledgedCount, "lost": lost, "unknown_entries": unknown,
            "derived_mismatches": mismatches.count, "replicas_converged": converged, "divergent": divergent,
            "restart_s": round(downtime, 2), "errors": errors.counts, "load": loadAverage(),
        ]
        for (name, values) in latencies.all where !values.isEmpty {
            let sorted = values.sorted()
            summary["\(name)_count"] = sorted.count
            summary["\(name)_p50_ms"] = round(percentile(sorted, 0.5) * 1_000, 2)
            summary["\(name)_p99_ms"] = round(percentile(sorted, 0.99) * 1_000, 2)
        }
        summary["server_side"] = calls.summary
        let rss = samples.compactMap { $0["server_rss_mib"] as? Double }
        let fds = samples.compactMap { $0["server_fds"] as? Int }
        if let low = rss.min(), let high = rss.max() { summary["server_rss_mib_min_max"] = [low, high] }
        if let low = fds.min(), let high = fds.max() { summary["server_fds_min_max"] = [low, high] }
        emit(summary)
        if lost > 0 || unknown > 0 || !mismatches.isEmpty || !divergent.isEmpty {
            throw BenchError("the soak lost \(lost), made up \(unknown), \(mismatches.count) derived mismatches, \(divergent.count) replicas divergent: \(mismatches.prefix(5)) \(divergent.prefix(5))")
        }
        if directory == nil { try? FileManager.default.removeItem(at: root) }
    }
}

/// The tenants of a run, each with a manager's token and customers to post to.
struct LoadWorld: Sendable {
    struct Tenant: Sendable {
        var id: String
        var token: String
        var userID: String
        var customers: [String]
    }

    let data: URL
    let tenants: [Tenant]

    func storePath(_ tenant: String) -> String { data.appendingPathComponent("tenants/\(tenant).sqlite").path }

    /// The newest change of each tenant, read from its file beside the running server.
    func newestChange() throws -> [String: Int64] {
        var newest: [String: Int64] = [:]
        for tenant in tenants {
            let queue = try DatabaseQueue(path: storePath(tenant.id), configuration: readOnly)
            newest[tenant.id] = try queue.read { try Int64.fetchOne($0, sql: "SELECT max(seq) FROM change_log") } ?? 0
            try queue.close()
        }
        return newest
    }

    /// As the demo's server admin: the demo tenant and `count - 1` more, each with a manager
    /// (a token without expiry) and 20 customers.
    static func make(port: Int, data: URL, tenants count: Int) async throws -> LoadWorld {
        let env = try String(contentsOf: data.appendingPathComponent("demo-tokens.env"), encoding: .utf8)
        guard let adminToken = env.split(separator: "\n").first(where: { $0.hasPrefix("export DUNLIN_ADMIN_TOKEN=") })?
            .split(separator: "=", maxSplits: 1).last.map(String.init) else {
            throw BenchError("demo-tokens.env names no server admin token: start from an empty data directory")
        }
        let admin = RPCClient(configuration: .init(port: port, token: adminToken), logger: quietLogger(label: "load.admin"))
        defer { Task { await admin.close() } }
        var tenants: [Tenant] = []
        for n in 0..<max(1, count) {
            let id = n == 0 ? "demo" : "load-\(n)"
            if n > 0 {
                _ = try await admin.unary(Admin.createTenant, .with { $0.id = id; $0.name = "Load \(n)"; $0.baseCurrency = "USD"; $0.timeZone = "UTC" })
            }
            let user = try await admin.unary(Admin.createUser, .with { $0.tenantID = id; $0.name = "Load manager \(n)"; $0.role = "manager" })
            let token = try await admin.unary(Admin.issueToken, .with { $0.userID = user.id; $0.device = "load-\(n)"; $0.noExpiry = true }).token
            let manager = RPCClient(configuration: .init(port: port, token: token), logger: quietLogger(label: "load.setup"))
            let customers = (1...20).map { "LOAD-\(n)-\($0)" }
            _ = try await manager.unary(Receivables.upsertCustomers, .with {
                $0.customers = customers.map { id in .with { $0.id = id; $0.number = id; $0.name = "Load customer \(id)" } }
            })
            await manager.close()
            tenants.append(Tenant(id: id, token: token, userID: user.id, customers: customers))
        }
        return LoadWorld(data: data, tenants: tenants)
    }
}

private var readOnly: Configuration {
    var configuration = Configuration()
    configuration.readonly = true
    return configuration
}

/// The ids of the writers' entries in a tenant or replica file.
private func idsW(_ path: String) throws -> Set<String> {
    let queue = try DatabaseQueue(path: path, configuration: readOnly)
    defer { try? queue.close() }
    return Set(try queue.read { try String.fetchAll($0, sql: "SELECT id FROM ledger_entry WHERE id LIKE 'W%'") })
}

private func countW(_ path: String) throws -> Int { try idsW(path).count }

private func payment(_ id: String, amount: Int64, customer: String) -> Dunlin_V1_LedgerEntryRecord {
    .with {
        $0.id = id
        $0.kind = "payment"
        $0.customerID = customer
        $0.amount = .with { $0.currency = "USD"; $0.minor = amount }
        $0.date = "2026-11-20"
    }
}

/// Every call of the soak has a deadline: a call the kill cut off, or one stuck behind it, fails
/// and is retried, so no task outlives the soak.
private let bounded = RPCClient.CallOptions(timeout: .seconds(60))

/// A laptop's sync engine with a deadline on each batch (the CLI's defaults allow minutes).
private func boundedEngine(_ laptop: Laptop) -> SyncEngine {
    var engine = laptop.engine()
    engine.pushBatchTimeout = .seconds(60)
    engine.pullBatchTimeout = .seconds(60)
    return engine
}

/// Runs `body` for each element, at most `width` at once.
private func forEach<Element: Sendable>(_ elements: [Element], width: Int, _ body: @escaping @Sendable (Element) async throws -> Void) async throws {
    try await withThrowingTaskGroup(of: Void.self) { group in
        var iterator = elements.makeIterator()
        for _ in 0..<width {
            guard let element = iterator.next() else { break }
            group.addTask { try await body(element) }
        }
        while try await group.next() != nil {
            if let element = iterator.next() { group.addTask { try await body(element) } }
        }
    }
}

/// Set once, when the soak is over.
final class StopFlag: Sendable {
    private let value = Atomic<Bool>(false)
    var isSet: Bool { value.load(ordering: .relaxed) }
    func set() { value.store(true, ordering: .relaxed) }
}

/// Latencies in seconds by kind, and counts of errors by what they were.
final class Latencies: Sendable {
    private let values = Mutex<[String: [Double]]>([:])
    private let tallies = Mutex<[String: Int]>([:])

    func time(_ kind: String, _ body: () async throws -> Void) async throws {
        let start = ContinuousClock.now
        try await body()
        let elapsed = seconds(ContinuousClock.now - start)
        values.withLock { $0[kind, default: []].append(elapsed) }
    }

    func count(_ what: String) { tallies.withLock { $0[what, default: 0] += 1 } }

    var all: [String: [Double]] { values.withLock { $0 } }
    var counts: [String: Int] { tallies.withLock { $0 } }
}

/// The writers' entries by tenant: every id sent, and those acknowledged.
final class Writes: Sendable {
    private let sent = Mutex<[String: Set<String>]>([:])
    private let acked = Mutex<[String: Set<String>]>([:])

    func attempted(_ tenant: String, _ ids: [String]) { sent.withLock { $0[tenant, default: []].formUnion(ids) } }
    func acknowledged(_ tenant: String, _ ids: [String]) { acked.withLock { $0[tenant, default: []].formUnion(ids) } }
    func attemptedIDs(_ tenant: String) -> Set<String> { sent.withLock { $0[tenant] ?? [] } }
    func acknowledgedIDs(_ tenant: String) -> Set<String> { acked.withLock { $0[tenant] ?? [] } }
    var acknowledgedCount: Int { acked.withLock { $0.values.reduce(0) { $0 + $1.count } } }
}

/// A `dunlind` child process: its stdout kept for the lines it prints, its stderr to a log file.
final class ServerProcess: @unchecked Sendable {
    // The process is started in init and only signalled and read afterwards; `output` is locked.
    private let process = Process()
    private let output = Output()

    private final class Output: Sendable {
        let text = Mutex<String>("")
    }

    /// How to start it: the executable, and the CPUs it may run on (through `taskset -c`,
    /// which execs it, so the child's pid is the server's).
    struct Launch {
        var executable: URL
        var cpus: String?
    }

    init(_ launch: Launch, _ arguments: [String], log: URL) throws {
        if let cpus = launch.cpus {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/taskset")
            process.arguments = ["-c", cpus, launch.executable.path] + arguments
        } else {
            process.executableURL = launch.executable
            process.arguments = arguments
        }
        let pipe = Pipe()
        process.standardOutput = pipe
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        process.standardError = try FileHandle(forWritingTo: log)
        let output = self.output
        pipe.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if !data.isEmpty { output.text.withLock { $0 += String(decoding: data, as: UTF8.self) } }
        }
        try process.run()
    }

    var pid: Int32 { process.processIdentifier }

    /// What `dunlind COMMAND --help` prints.
    static func help(_ executable: URL, _ command: String) throws -> String {
        let process = Process()
        process.executableURL = executable
        process.arguments = [command, "--help"]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return text
    }

    func waitForLine(containing text: String, timeout: Duration = .seconds(120)) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let line = output.text.withLock({ $0.split(separator: "\n").first { $0.contains(text) } }) {
                return String(line).trimmingCharacters(in: .whitespaces)
            }
            guard process.isRunning else { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw BenchError("dunlind never printed \"\(text)\": \(output.text.withLock { $0 })")
    }

    func kill() { Foundation.kill(pid, SIGKILL); process.waitUntilExit() }
    func terminate() { process.terminate() }
    func waitForExit() async -> Int32 {
        while process.isRunning { try? await Task.sleep(for: .milliseconds(20)) }
        return process.terminationStatus
    }

    /// The server's resident memory (MiB) and open descriptors, from /proc.
    func sample() -> (rssMiB: Double, fds: Int) {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        let kib = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") }?.split(separator: " ").dropFirst().first.flatMap { Double($0) } ?? -1
        let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? -1
        return (round(kib / 1024, 1), fds)
    }
}

/// The server's call-duration histograms (`dunlin_call_duration_seconds`) by method, as its
/// metrics endpoint serves them in Prometheus' text format: cumulative counts per upper bound.
struct CallDurations {
    /// Per method, the cumulative count at each bucket's upper bound (seconds; +Inf last).
    private(set) var buckets: [String: [Double: Double]] = [:]

    static func scrape(_ url: URL) async throws -> CallDurations {
        var request = URLRequest(url: url)
        request.timeoutInterval = 30
        let (data, _) = try await URLSession.shared.data(for: request)
        return CallDurations(text: String(decoding: data, as: UTF8.self))
    }

    init() {}

    /// Reads the `_bucket` lines of the call-duration histogram; every other line is skipped.
    init(text: String) {
        let prefix = "dunlin_call_duration_seconds_bucket{"
        for line in text.split(separator: "\n") where line.hasPrefix(prefix) {
            guard let close = line.lastIndex(of: "}"), let value = Double(line[line.index(after: close)...].trimmingCharacters(in: .whitespaces)) else { continue }
            let labels = line[line.index(line.startIndex, offsetBy: prefix.count)..<close]
            var method = "", bound = Double.infinity
            for pair in labels.split(separator: ",") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                guard parts.count == 2 else { continue }
                let text = parts[1].trimmingCharacters(in: CharacterSet(charactersIn: "\""))
                if parts[0] == "method" { method = text }
                if parts[0] == "le" { bound = text == "+Inf" ? .infinity : Double(text) ?? .infinity }
            }
            buckets[method, default: [:]][bound, default: 0] += value
        }
    }

    mutating func add(_ other: CallDurations) {
        for (method, counts) in other.buckets {
            for (bound, count) in counts { buckets[method, default: [:]][bound, default: 0] += count }
        }
    }

    /// Per method with calls: the count, and the bucket bounds p50 and p99 fall in (ms), as
    /// "≤ upper" (a histogram knows no finer).
    var summary: [String: Any] {
        var result: [String: Any] = [:]
        for (method, counts) in buckets {
            let bounds = counts.keys.sorted()
            guard let total = bounds.last.flatMap({ counts[$0] }), total > 0 else { continue }
            func quantile(_ q: Double) -> Double {
                let bound = bounds.first { (counts[$0] ?? 0) >= q * total } ?? .infinity
                return bound.isFinite ? bound * 1_000 : -1
            }
            result[method] = ["calls": Int(total), "p50_le_ms": quantile(0.5), "p99_le_ms": quantile(0.99)]
        }
        return result
    }
}
