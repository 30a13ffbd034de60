import DunlinClient
import DunlinStore
import DunlinWire
import Foundation
import NIOConcurrencyHelpers
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// What an analyst meets when the sync does not go smoothly, through real `dunlind` and `dunlin`
/// processes: a server that is away, a first bootstrap cut off midway, and a large outbox on a
/// terminal.
@Suite("Syncing a laptop through a stopped server, a cut-off bootstrap and a large outbox", .serialized, .loadsTheMachine, .timeLimit(.minutes(10)))
struct OfflineSyncCLITests {
    static let unavailable = 100 + Int32(StatusCode.unavailable.rawValue)
    static let failedPrecondition = 100 + Int32(StatusCode.failedPrecondition.rawValue)

    /// Runs `dunlin ARGUMENTS` in the world's laptop environment to the end.
    func run(_ world: FaultWorld, _ arguments: [String]) async throws -> (status: Int32, stdout: String, stderr: String) {
        let child = try world.startCLI(arguments)
        let status = try await child.waitForExit(timeout: .seconds(120))
        return (status, child.stdout, child.stderr)
    }

    func pendingChanges(_ world: FaultWorld) async throws -> Int? {
        let status = try await run(world, ["status", "--json"])
        let object = try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any]
        return object?["pending_changes"] as? Int
    }

    @Test("with the server stopped, dunlin sync --timeout 2 exits 114 within seconds, with or without an outbox, and leaves the outbox as it was")
    func stoppedServerFailsFast() async throws {
        let world = try await FaultWorld()
        defer { try? FileManager.default.removeItem(at: world.directory) }
        _ = try await world.login()
        world.server.terminate()
        _ = try await world.server.waitForExit()

        // Nothing pending: the sync goes straight to its pull (it took 588 s before).
        let clock = ContinuousClock()
        var start = clock.now
        let idle = try await run(world, ["sync", "--timeout", "2", "--json"])
        let idleElapsed = clock.now - start
        #expect(idle.status == Self.unavailable, "\(idle)")
        #expect(idleElapsed < .seconds(30), "exit 114 took \(idleElapsed)")
        let error = try JSONSerialization.jsonObject(with: Data(idle.stdout.utf8)) as? [String: Any]
        #expect((error?["error"] as? [String: Any])?["code"] as? String == "UNAVAILABLE")

        // An outbox: the push fails as fast (it took 48-56 s before) and nothing of it is settled.
        try await world.workOffline(payments: 1_000, prefix: "OFF")
        let outbox = try await pendingChanges(world)
        #expect(outbox == 1_200)
        start = clock.now
        let pushing = try await run(world, ["sync", "--timeout", "2"])
        let pushingElapsed = clock.now - start
        #expect(pushing.status == Self.unavailable, "\(pushing)")
        #expect(pushingElapsed < .seconds(30), "exit 114 took \(pushingElapsed)")
        #expect(pushing.stderr.contains("UNAVAILABLE: cannot reach"), "\(pushing.stderr)")
        #expect(try await pendingChanges(world) == outbox)
    }

    @Test("dunlin sync --watch with the server away says it is retrying, with growing waits, and syncs once the server is back")
    func watchRetriesWithBackoff() async throws {
        let world = try await FaultWorld()
        _ = try await world.login()
        world.server.terminate()
        _ = try await world.server.waitForExit()

        let watch = try world.startCLI(["sync", "--watch", "--timeout", "1", "--json"])
        defer { watch.signal(SIGKILL) }
        let retries = try await lines(of: watch, onStderr: true, containing: "retrying in", count: 3)
        #expect(retries.allSatisfy { $0.contains("dunlin: sync failed: UNAVAILABLE") }, "\(retries)")
        // Scripts get each failure as a JSON line too, with the wait before the next try.
        let failures = try await lines(of: watch, onStderr: false, containing: "retry_in_ms", count: 3).compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        #expect(failures.count == 3 && failures.allSatisfy { ($0["error"] as? [String: Any])?["code"] as? String == "UNAVAILABLE" && $0["retry_in_ms"] is Int }, "\(failures)")
        let waits = retries.compactMap { line in
            line.components(separatedBy: "retrying in ").last?.split(separator: " ").first.flatMap { Double($0) }
        }
        // 0.5 s, then 1 s, then 2 s, each within 20 % either way: always growing.
        #expect(waits.count == 3 && waits[0] < waits[1] && waits[1] < waits[2], "\(waits)")

        try await world.restartServer()
        _ = try await watch.waitForLine(containing: "checkpoint", timeout: .seconds(60))
        watch.signal(SIGTERM)
        #expect(try await watch.waitForExit(timeout: .seconds(20)) == 0)
        try await world.stop()
    }

    @Test("a first bootstrap cut off midway: reads refuse (exit 109, not_bootstrapped) until login finishes it, then answer as the server does")
    func cutOffBootstrapRefusesReads() async throws {
        let world = try await FaultWorld()
        let customer = try firstCustomerOnServer(world)
        try await world.postOnServer(payments: FaultWorld.size, prefix: "SRV", customer: customer)
        let login = ["login", "--server", world.address, "--token", world.analystToken]

        // Killed after the second bootstrap batch of its first sync.
        let cut = try world.startCLI(login, pauses: ["DUNLIN_TEST_PAUSE_BETWEEN_BATCHES_MS": FaultWorld.pause(at: 2)])
        try await cut.waitForLine(containing: "DUNLIN_TEST_PAUSE after-pull-batch 2", onStderr: true)
        cut.signal(SIGKILL)
        _ = try await cut.waitForExit()
        #expect(try !StoreContents(world.replicaPath).records.isEmpty, "the kill came after some batches were applied")

        for read in [["aging", "--as-of", "2099-12-31"], ["customers", "list"], ["exceptions"], ["conflicts"]] {
            let refused = try await run(world, read + ["--json"])
            #expect(refused.status == Self.failedPrecondition, "dunlin \(read): \(refused)")
            let error = try JSONSerialization.jsonObject(with: Data(refused.stdout.utf8)) as? [String: Any]
            #expect((error?["error"] as? [String: Any])?["reason"] as? String == Replica.notBootstrappedReason, "\(refused.stdout)")
        }
        let text = try await run(world, ["aging", "--as-of", "2099-12-31"])
        #expect(text.status == Self.failedPrecondition)
        #expect(text.stdout.isEmpty, "no partial totals: \(text.stdout)")
        #expect(text.stderr.contains("not bootstrapped") && text.stderr.contains("dunlin sync"), "\(text.stderr)")
        let status = try await run(world, ["status", "--json"])
        #expect(status.status == 0)
        #expect((try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any])?["bootstrapped"] as? Bool == false)

        // Logging in again finishes it; the replica then answers what the server answers.
        let again = try await run(world, login + ["--json"])
        #expect(again.status == 0, "\(again)")
        #expect(again.stderr.contains("the first sync of profile default did not finish; bootstrapping it again"), "\(again.stderr)")
        #expect((try JSONSerialization.jsonObject(with: Data(again.stdout.utf8)) as? [String: Any]).flatMap { $0["sync"] as? [String: Any] }?["bootstrapped"] as? Bool == true)
        let local = try await run(world, ["aging", "--as-of", "2099-12-31", "--json"])
        let remote = try await run(world, ["aging", "--as-of", "2099-12-31", "--json", "--server", world.address, "--token", world.analystToken])
        #expect(local.status == 0 && remote.status == 0)
        let localTotals = (try JSONSerialization.jsonObject(with: Data(local.stdout.utf8)) as? [String: Any])?["totals"] as? [[String: Any]]
        let remoteTotals = (try JSONSerialization.jsonObject(with: Data(remote.stdout.utf8)) as? [String: Any])?["totals"] as? [[String: Any]]
        #expect(localTotals != nil && localTotals?.isEmpty == false)
        let canonical = { (totals: [[String: Any]]?) in
            try totals.map { String(decoding: try JSONSerialization.data(withJSONObject: $0, options: .sortedKeys), as: UTF8.self) }
        }
        #expect(try canonical(localTotals) == canonical(remoteTotals))
        #expect(try StoreContents(world.replicaPath) == StoreContents(world.serverStorePath))
        try await world.stop()
    }

    @Test("on a terminal, dunlin sync shows how much of the outbox is pushed (pushed 500 of 1,200); a script's stderr gets no progress, only the final line on stdout")
    func pushProgressOnATerminal() async throws {
        let world = try await FaultWorld()
        _ = try await world.login()
        try await world.workOffline(payments: 1_000, prefix: "TTY")

        let terminal = try TerminalRun(try Executables.url("dunlin"), ["sync"], environment: world.cliEnvironment())
        let (status, stdout, screen) = try await terminal.waitForExit()
        #expect(status == 0, "\(stdout) \(screen)")
        #expect(screen.contains("pushed 0 of 1,200"), "\(screen)")
        #expect(screen.contains("pushed 500 of 1,200"), "\(screen)")
        #expect(screen.contains("pushed 1,200 of 1,200"), "\(screen)")
        #expect(stdout.contains("pushed 1200 (1200 accepted"), "\(stdout)")

        try await world.workOffline(payments: 600, prefix: "PIPE")
        let script = try await run(world, ["sync"])
        #expect(script.status == 0)
        #expect(!script.stderr.contains("pushed"), "\(script.stderr)")
        #expect(script.stdout.split(separator: "\n").count == 1, "\(script.stdout)")
        #expect(script.stdout.contains("pushed 720 (720 accepted"), "\(script.stdout)")
        try await world.stop()
    }

    /// Waits until the process has written `count` lines containing `text` on stderr (or stdout),
    /// and returns them.
    func lines(of child: ChildProcess, onStderr: Bool, containing text: String, count: Int, timeout: Duration = .seconds(60)) async throws -> [String] {
        let deadline = ContinuousClock.now + timeout
        while true {
            let lines = (onStderr ? child.stderr : child.stdout).split(separator: "\n").filter { $0.contains(text) }.map(String.init)
            if lines.count >= count { return Array(lines.prefix(count)) }
            guard ContinuousClock.now < deadline, child.isRunning else {
                throw RawError("wrote \(lines.count) of \(count) lines containing \"\(text)\"; stdout: \(child.stdout) stderr: \(child.stderr)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    func firstCustomerOnServer(_ world: FaultWorld) throws -> String {
        let contents = try StoreContents(world.serverStorePath)
        let ids = contents.records.keys.filter { $0.hasPrefix("customer/") }.sorted()
        return String(try #require(ids.first).dropFirst("customer/".count))
    }
}

/// A process whose stderr is a terminal (the slave side of a pseudo-terminal the test reads),
/// and whose stdout is a pipe, as when a person runs a command whose output a script collects.
final class TerminalRun: Sendable {
    private let process: Process
    private let stdout = NIOLockedValueBox((bytes: Data(), closed: false))
    private let screen = NIOLockedValueBox((bytes: Data(), closed: false))

    /// The C library's pseudo-terminal functions, which Swift's Glibc module leaves out (they sit
    /// behind _XOPEN_SOURCE in stdlib.h): looked up by name.
    private enum pty {
        static func function<T>(_ name: String, _ type: T.Type) throws -> T {
            guard let symbol = dlsym(nil, name) else { throw RawError("the C library has no \(name)") }
            return unsafeBitCast(symbol, to: type)
        }

        static func open(_ flags: Int32) throws -> Int32 {
            try function("posix_openpt", (@convention(c) (Int32) -> Int32).self)(flags)
        }

        static func grant(_ fd: Int32) throws -> Int32 { try function("grantpt", (@convention(c) (Int32) -> Int32).self)(fd) }
        static func unlock(_ fd: Int32) throws -> Int32 { try function("unlockpt", (@convention(c) (Int32) -> Int32).self)(fd) }
        static func name(_ fd: Int32) throws -> UnsafeMutablePointer<CChar>? {
            try function("ptsname", (@convention(c) (Int32) -> UnsafeMutablePointer<CChar>?).self)(fd)
        }
    }

    init(_ executable: URL, _ arguments: [String], environment: [String: String]) throws {
        let master = try Self.pty.open(O_RDWR | O_NOCTTY)
        guard master >= 0, fcntl(master, F_SETFD, FD_CLOEXEC) == 0, try Self.pty.grant(master) == 0, try Self.pty.unlock(master) == 0,
              let name = try Self.pty.name(master) else {
            throw RawError("no pseudo-terminal: errno \(errno)")
        }
        // Close-on-exec, so no other child started meanwhile keeps the terminal open; the
        // child's own copy (its stderr) is made by dup2, which clears the flag.
        let slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC)
        guard slave >= 0 else { throw RawError("cannot open \(String(cString: name)): errno \(errno)") }
        let terminal = FileHandle(fileDescriptor: slave, closeOnDealloc: true)
        process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = environment
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = terminal
        pipe.fileHandleForReading.readabilityHandler = { [stdout] handle in
            let chunk = handle.availableData
            stdout.withLockedValue {
                if chunk.isEmpty {
                    handle.readabilityHandler = nil
                    $0.closed = true
                } else {
                    $0.bytes.append(chunk)
                }
            }
        }
        try process.run()
        // Only the child holds the terminal now: once it exits, reading the master ends (EIO).
        try terminal.close()
        let screen = self.screen
        Thread.detachNewThread {
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let count = read(master, &buffer, buffer.count)
                if count <= 0 { break }
                screen.withLockedValue { $0.bytes.append(contentsOf: buffer[0..<count]) }
            }
            close(master)
            screen.withLockedValue { $0.closed = true }
        }
    }

    /// Waits for the exit, then (up to two seconds) for both outputs to be read to their end.
    func waitForExit(timeout: Duration = .seconds(120)) async throws -> (status: Int32, stdout: String, screen: String) {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            guard ContinuousClock.now < deadline else {
                kill(process.processIdentifier, SIGKILL)
                throw RawError("dunlin did not finish within \(timeout)")
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        let drained = ContinuousClock.now + .seconds(2)
        while !(stdout.withLockedValue { $0.closed } && screen.withLockedValue { $0.closed }), ContinuousClock.now < drained {
            try await Task.sleep(for: .milliseconds(10))
        }
        return (
            process.terminationStatus, String(decoding: stdout.withLockedValue { $0.bytes }, as: UTF8.self),
            String(decoding: screen.withLockedValue { $0.bytes }, as: UTF8.self)
        )
    }
}
