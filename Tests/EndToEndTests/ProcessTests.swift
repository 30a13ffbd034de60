import DunlinClient
import DunlinWire
import Foundation
import DunlinCore
import NIOConcurrencyHelpers
import DunlinStore
import GRDB
import Testing

/// The built `dunlind` and `dunlin` executables, found beside the test bundle (`scripts/test`
/// builds them before running the tests).
enum Executables {
    static let directory: URL? = {
        var candidates = [URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()]
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        candidates.append(root.appendingPathComponent(".build/debug"))
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.appendingPathComponent("dunlind").path) }
    }()

    static func url(_ name: String) throws -> URL {
        guard let directory else {
            throw RawError("\(name) is not built beside the tests; run scripts/test (swift build --build-tests first)")
        }
        return directory.appendingPathComponent(name)
    }
}

/// A child process whose stdout and stderr go to files, so a test can wait for a line (every
/// wait bounded), kill it at that moment, and read what it wrote.
///
/// Files, not pipes: once the process has exited, everything it wrote is in its files, whole. A
/// pipe's reader is a thread the loaded machine may schedule late, and a pipe can stay open after
/// its writer exits (another child spawned meanwhile may hold a copy of its write end): waiting
/// for either cut a 26 KB and an 8 KB JSON answer short on a loaded machine.
final class ChildProcess: Sendable {
    private let process: Process
    private let directory: URL
    private var stdoutFile: URL { directory.appendingPathComponent("stdout") }
    private var stderrFile: URL { directory.appendingPathComponent("stderr") }

    init(_ executable: URL, _ arguments: [String], environment: [String: String]? = nil) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("dunlin-child-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        process = Process()
        process.executableURL = executable
        process.arguments = arguments
        if let environment { process.environment = environment }
        for name in ["stdout", "stderr"] { try Data().write(to: directory.appendingPathComponent(name)) }
        let out = try FileHandle(forWritingTo: directory.appendingPathComponent("stdout"))
        let err = try FileHandle(forWritingTo: directory.appendingPathComponent("stderr"))
        defer {
            try? out.close()
            try? err.close()
        }
        process.standardOutput = out
        process.standardError = err
        try process.run()
    }

    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }
    var stdout: String { Self.read(stdoutFile) }
    var stderr: String { Self.read(stderrFile) }

    private static func read(_ file: URL) -> String {
        String(decoding: (try? Data(contentsOf: file)) ?? Data(), as: UTF8.self)
    }

    /// Waits until stdout (or stderr) holds a line containing `text`, and returns that line. The
    /// wait is for the line; the timeout only bounds a process that never writes it (a minute: a
    /// loaded machine can take seconds to schedule a child).
    @discardableResult
    func waitForLine(containing text: String, onStderr: Bool = false, timeout: Duration = .seconds(60)) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        func line() -> String? {
            (onStderr ? stderr : stdout).split(separator: "\n").first { $0.contains(text) }.map(String.init)
        }
        while true {
            // Checked after the exit too: what it wrote before exiting is in the file.
            let running = process.isRunning
            if let line = line() { return line }
            guard ContinuousClock.now < deadline, running else {
                throw RawError("\(process.executableURL?.lastPathComponent ?? "process") never wrote \"\(text)\"; stdout: \(stdout) stderr: \(stderr)")
            }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    func signal(_ signal: Int32) { kill(process.processIdentifier, signal) }

    /// Waits for the exit; SIGKILLs and throws after `timeout`. Everything the process wrote is in
    /// its files once it has exited.
    func waitForExit(timeout: Duration = .seconds(20)) async throws -> Int32 {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            guard ContinuousClock.now < deadline else {
                signal(SIGKILL)
                throw RawError("\(process.executableURL?.lastPathComponent ?? "process") did not exit within \(timeout)")
            }
            try await Task.sleep(for: .milliseconds(5))
        }
        return process.terminationStatus
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        try? FileManager.default.removeItem(at: directory)
    }
}

/// A real `dunlind` process (`serve` unless told otherwise), on a free port unless given one.
///
/// Plain TCP on 127.0.0.1 unless `tls` is set: a data directory made by `dunlind init` holds a
/// certificate, which `serve` and `demo` would otherwise use, and the suites that are not about
/// TLS drive the server with a plain client (TLSProcessTests drives it over TLS).
final class DunlindProcess: Sendable {
    let child: ChildProcess
    let port: Int

    init(command: String = "serve", arguments: [String] = [], environment: [String: String]? = nil, tls: Bool = false) async throws {
        let logLevel = command == "serve" ? ["--log-level", "error"] : []
        let port = arguments.contains("--port") ? [] : ["--port", "0"]
        let plaintext = !tls && ["serve", "demo"].contains(command) ? ["--insecure-plaintext"] : []
        child = try ChildProcess(try Executables.url("dunlind"), [command] + port + logLevel + plaintext + arguments, environment: environment)
        // A stdout line says where it listens.
        let line = try await child.waitForLine(containing: "dunlind listening on")
        guard let port = line.split(separator: ":").last.flatMap({ Int($0.trimmingCharacters(in: .whitespaces)) }) else {
            child.signal(SIGKILL)
            throw RawError("dunlind did not say where it listens: \"\(line)\"")
        }
        self.port = port
    }

    func terminate() { child.signal(SIGTERM) }

    func waitForExit(timeout: Duration = .seconds(20)) async throws -> Int32 {
        try await child.waitForExit(timeout: timeout)
    }
}

/// Runs the `dunlin` CLI and returns its exit status and stdout.
func runCLI(_ arguments: [String], environment: [String: String]? = nil) async throws -> (status: Int32, output: String) {
    let child = try ChildProcess(try Executables.url("dunlin"), arguments, environment: environment)
    let status = try await child.waitForExit(timeout: .seconds(60))
    return (status, child.stdout)
}

@Suite("The real executables", .loadsTheMachine, .timeLimit(.minutes(10)))
struct ProcessTests {
    @Test("dunlind demo --port 0 writes the port it listens on into demo-tokens.env and its login hint; its viewer token reads and may not write")
    func demoNamesItsRealPort() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dunlin-demo-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let server = try await DunlindProcess(command: "demo", arguments: ["--data", directory.path, "--port", "0"])
        let address = "127.0.0.1:\(server.port)"
        #expect(server.port != 0)
        let env = try String(contentsOf: directory.appendingPathComponent("demo-tokens.env"), encoding: .utf8)
        #expect(env.contains("export DUNLIN_SERVER=\(address)\n"), "\(env)")
        #expect(server.child.stdout.contains("dunlin login --server \(address) "), "\(server.child.stdout)")
        // What the file says reaches the server.
        let ping = try await runCLI(["ping", "--server", address])
        #expect(ping.status == 0)
        // The viewer's token reads, and a write with it is refused.
        let viewer = try #require(env.split(separator: "\n").first { $0.hasPrefix("export DUNLIN_VIEWER_TOKEN=") }?.split(separator: "=", maxSplits: 1).last.map(String.init))
        let environment = ProcessInfo.processInfo.environment.merging(["DUNLIN_TOKEN": viewer]) { _, new in new }
        let aging = try await runCLI(["aging", "--server", address, "--json"], environment: environment)
        #expect(aging.status == 0, "\(aging.output)")
        let write = try await runCLI(["payments", "record", "--id", "PAY-VIEWER-1", "--customer", "CUS-1007", "--amount", "1.00", "--currency", "USD", "--server", address, "--json"], environment: environment)
        #expect(write.status == 100 + Int32(StatusCode.permissionDenied.rawValue), "\(write.output)")
        #expect(server.child.stdout.contains("DUNLIN_TOKEN=\"$DUNLIN_VIEWER_TOKEN\" dunlin aging --server"), "\(server.child.stdout)")
        server.terminate()
        #expect(try await server.waitForExit() == 0)
    }

    @Test("dunlind serve --log-format json logs one JSON object per line; an unknown format or level exits 64 naming it")
    func jsonLogLines() async throws {
        let server = try await DunlindProcess(arguments: ["--dev-token", "demo-token", "--log-level", "info", "--log-format", "json"])
        server.terminate()
        #expect(try await server.waitForExit() == 0)
        let lines = server.child.stderr.split(separator: "\n")
        let objects = try lines.map { line in
            try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "not a JSON object: \(line)")
        }
        #expect(objects.contains { $0["message"] as? String == "listening" && ($0["metadata"] as? [String: Any])?["address"] != nil }, "\(lines)")
        #expect(objects.contains { $0["message"] as? String == "stopped" }, "\(lines)")
        #expect(objects.allSatisfy { $0["level"] is String && $0["label"] is String && ($0["time"] as? String)?.hasSuffix("Z") == true })

        for (option, value) in [("--log-format", "xml"), ("--log-level", "loud")] {
            let refused = try ChildProcess(try Executables.url("dunlind"), ["serve", "--port", "0", "--dev-token", "t", option, value])
            #expect(try await refused.waitForExit() == 64, "\(option) \(value)")
            #expect(refused.stderr.contains(option) || refused.stderr.contains(value), "\(refused.stderr)")
        }
    }

    @Test("the systemd unit in Server/deploy is hardened, and its ExecStart serves with this dunlind: JSON log lines, a drain on SIGTERM")
    func systemdUnit() async throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let unit = try String(contentsOf: root.appendingPathComponent("Server/deploy/dunlind.service"), encoding: .utf8)
        var settings: [String: String] = [:]
        for line in unit.split(separator: "\n") where !line.hasPrefix("#") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            settings[String(line[..<equals])] = String(line[line.index(after: equals)...])
        }
        for (key, value) in [
            ("User", "dunlin"), ("ProtectSystem", "strict"), ("ReadWritePaths", "/var/lib/dunlin"), ("NoNewPrivileges", "yes"),
            ("StateDirectory", "dunlin"), ("KillSignal", "SIGTERM"), ("CapabilityBoundingSet", ""), ("PrivateTmp", "yes"), ("ProtectHome", "yes"),
        ] {
            #expect(settings[key] == value, "\(key)")
        }
        // Longer than the server's own grace period, so systemd never kills a drain.
        #expect(Int(settings["TimeoutStopSec"] ?? "") ?? 0 > 30)

        // The unit's command line, with a data directory of the test's and a free port.
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dunlin-unit-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let initialized = try ChildProcess(try Executables.url("dunlind"), ["init", "--data", directory.path])
        #expect(try await initialized.waitForExit() == 0)
        let words = try #require(settings["ExecStart"]).split(separator: " ").map(String.init)
        #expect(words.first == "/usr/local/bin/dunlind" && words.dropFirst().first == "serve")
        let arguments = words.dropFirst(2).map { $0 == "/var/lib/dunlin" ? directory.path : ["7474", "9474"].contains($0) ? "0" : $0 }
        let server = try ChildProcess(try Executables.url("dunlind"), ["serve"] + arguments)
        // The metrics listen on loopback, and the figures are kept.
        try await server.waitForLine(containing: "dunlind metrics on http://127.0.0.1:")
        try await server.waitForLine(containing: "dunlind listening on 127.0.0.1:")
        server.signal(SIGTERM)
        #expect(try await server.waitForExit() == 0)
        let lines = server.stderr.split(separator: "\n")
        #expect(!lines.isEmpty && lines.allSatisfy { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) is [String: Any] }, "\(server.stderr)")
    }

    @Test("dunlind check finds the demo sound (exit 0), then a hand-edited kept total and a record missing from the change log (exit 115, each named)")
    func check() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dunlin-check-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let server = try await DunlindProcess(command: "demo", arguments: ["--data", directory.path])
        // Checked beside the running server: it reads a snapshot.
        let sound = try ChildProcess(try Executables.url("dunlind"), ["check", "--data", directory.path, "--json"])
        #expect(try await sound.waitForExit() == 0, "\(sound.stdout) \(sound.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(sound.stdout.utf8)) as? [String: Any])
        let tenants = try #require(report["tenants"] as? [[String: Any]])
        #expect(report["control"] as? String == "ok" && tenants.count == 1 && tenants[0]["integrity"] as? String == "ok")
        server.terminate()
        #expect(try await server.waitForExit() == 0)

        let tenant = try #require(tenants[0]["tenant"] as? String)
        let file = directory.appendingPathComponent("tenants/\(tenant).sqlite")
        let database = try DatabaseQueue(path: file.path)
        let customer = try await database.write { db in
            try db.execute(sql: "UPDATE receivable_open SET low = low + 1 WHERE (currency, due) IN (SELECT currency, due FROM receivable_open LIMIT 1)")
            let id = try String.fetchOne(db, sql: "SELECT id FROM customer ORDER BY id LIMIT 1")!
            try db.execute(sql: "DELETE FROM change_log WHERE record_kind = 'customer' AND record_id = ?", arguments: [id])
            return id
        }
        try database.close()
        let damaged = try ChildProcess(try Executables.url("dunlind"), ["check", "--data", directory.path, "--tenant", tenant])
        #expect(try await damaged.waitForExit() == 100 + Int32(StatusCode.dataLoss.rawValue))
        #expect(damaged.stdout.contains("customer \(customer): no change-log line"), "\(damaged.stdout)")
        #expect(damaged.stdout.contains("balance: receivable_open"), "\(damaged.stdout)")
        let missing = try ChildProcess(try Executables.url("dunlind"), ["check", "--data", directory.path, "--tenant", "t-nobody"])
        #expect(try await missing.waitForExit() == 100 + Int32(StatusCode.notFound.rawValue))
    }

    @Test("dunlin ping, info and echo talk to a real dunlind; failures exit 100 + the status code")
    func cli() async throws {
        let server = try await DunlindProcess(arguments: ["--dev-token", "demo-token"])
        let address = "127.0.0.1:\(server.port)"

        let ping = try await runCLI(["ping", "--server", address, "--json"])
        #expect(ping.status == 0)
        let pingJSON = try JSONSerialization.jsonObject(with: Data(ping.output.utf8)) as? [String: Any]
        #expect(pingJSON?["server_version"] as? String == "0.1.0")

        let info = try await runCLI(["info", "--server", address])
        #expect(info.status == 0)
        #expect(info.output.contains("/dunlin.v1.Diagnostics/Echo"))

        let echo = try await runCLI(["echo", "--server", address, "--token", "demo-token", "promise to pay"])
        #expect(echo.status == 0)
        #expect(echo.output == "promise to pay\n")

        let streamed = try await runCLI(["echo", "--server", address, "--token", "demo-token", "--count", "3", "x"])
        #expect(streamed.output == "x\nx\nx\n")

        let anonymous = try await runCLI(["echo", "--server", address, "hi"])
        #expect(anonymous.status == 100 + Int32(StatusCode.unauthenticated.rawValue))

        let wrongToken = try await runCLI(["echo", "--server", address, "--token", "nope", "--json", "hi"])
        #expect(wrongToken.status == 100 + Int32(StatusCode.unauthenticated.rawValue))
        #expect(wrongToken.output.contains("UNAUTHENTICATED"))

        server.terminate()
        #expect(try await server.waitForExit() == 0)

        let unreachable = try await runCLI(["ping", "--server", address, "--timeout", "0.3"])
        #expect(unreachable.status == 100 + Int32(StatusCode.unavailable.rawValue))
    }

    @Test("SIGTERM lets a call in flight finish, then dunlind exits 0")
    func sigterm() async throws {
        let server = try await DunlindProcess(arguments: ["--dev-token", "t"])
        let client = RPCClient(configuration: .init(port: server.port, token: "t"))
        var request = Dunlin_V1_EchoStreamRequest()
        request.payload = Data("collected".utf8)
        request.count = 4
        request.intervalMs = 200
        var received = 0
        // The first message proves the call is running on the server; SIGTERM then arrives
        // mid-call, and the rest of the stream must still come, ending OK.
        for try await response in client.serverStreaming(Diagnostics.echoStream, request) {
            #expect(response.payload == request.payload)
            received += 1
            if received == 1 { server.terminate() }
        }
        #expect(received == 4)
        #expect(try await server.waitForExit() == 0)
        await client.close()
    }
}
