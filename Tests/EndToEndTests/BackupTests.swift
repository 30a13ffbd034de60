import DunlinClient
import DunlinCore
@testable import DunlinStore
import DunlinTLS
import DunlinWire
import Foundation
import GRDB
import NIOConcurrencyHelpers
import Testing

/// `dunlind backup`, `check` and `restore` as an operator runs them: on a server under write load,
/// then the restored directory served again and read by a laptop.
@Suite("Backups of a serving dunlind", .loadsTheMachine, .timeLimit(.minutes(10)))
struct BackupTests {
    static let writers = 3

    /// Posts payments `PAY-W<w>-<n>`, n = 0, 1, 2, ... one call at a time on its own connection,
    /// until told to stop. Each writer's acknowledged entries are always `0..<acknowledged[w]`.
    final class WriteLoad: Sendable {
        let acknowledged = NIOLockedValueBox([Int](repeating: 0, count: BackupTests.writers))
        let stop = NIOLockedValueBox(false)
        /// One element per acknowledgement; finished when a writer fails.
        let acks: AsyncStream<Void>
        private let ackContinuation: AsyncStream<Void>.Continuation

        init() { (acks, ackContinuation) = AsyncStream.makeStream(of: Void.self) }

        static func id(_ writer: Int, _ n: Int) -> String { "PAY-W\(writer)-\(n)" }

        func run(writer: Int, port: Int, token: String, fingerprint: CertificateFingerprint, customer: String) async throws {
            let client = RPCClient(configuration: .init(host: "127.0.0.1", port: port, token: token, tls: ClientTLS(trust: .pinned(fingerprint))))
            do {
                var n = 0
                while !stop.withLockedValue({ $0 }) {
                    _ = try await client.unary(Receivables.postEntries, .with {
                        $0.entries = [.with {
                            $0.id = Self.id(writer, n); $0.kind = "payment"; $0.customerID = customer; $0.date = "2026-11-30"
                            $0.amount = .with { $0.currency = "USD"; $0.minor = Int64(100 + n) }
                        }]
                    })
                    n += 1
                    acknowledged.withLockedValue { $0[writer] = n }
                    ackContinuation.yield()
                }
            } catch {
                ackContinuation.finish()
                await client.close()
                throw error
            }
            await client.close()
        }

        var total: Int { acknowledged.withLockedValue { $0.reduce(0, +) } }

        /// Waits (for acknowledgements, not for time) until `condition` holds of the counts.
        func wait(until condition: ([Int]) -> Bool, iterator: inout AsyncStream<Void>.Iterator) async throws {
            while !condition(acknowledged.withLockedValue { $0 }) {
                guard await iterator.next() != nil else { throw RawError("a writer failed: no more acknowledgements") }
            }
        }
    }

    /// The `PAY-W` entries in a tenant file, read without changing a byte of it.
    func loadEntries(_ file: URL) throws -> Set<String> {
        let store = try TenantStore(readingOnly: file.path)
        defer { TenantFiles.close(store) }
        let ids: [String] = try store.writer.read { db in try String.fetchAll(db, sql: "SELECT id FROM ledger_entry WHERE id LIKE 'PAY-W%'") }
        return Set(ids)
    }

    @Test("a backup taken under write load is one point in time: every acknowledged entry up to the tenants' copy, nothing unacknowledged; it checks sound; restored and served it presents the pinned certificate and a laptop reads exactly the backup; a tampered copy is refused untouched")
    func backupUnderLoad() async throws {
        let world = try await FaultWorld(tls: true)
        defer { try? FileManager.default.removeItem(at: world.directory) }
        let fingerprintText = try #require(world.fingerprint)
        let fingerprint = try #require(CertificateFingerprint(fingerprintText))
        let copy = world.directory.appendingPathComponent("copy"), restored = world.directory.appendingPathComponent("restored")
        let tenantFile = "tenants/demo.sqlite"
        let live = try TenantStore(readingOnly: world.serverStorePath)
        let firstCustomer: String? = try await live.writer.read { db in try String.fetchOne(db, sql: "SELECT id FROM customer ORDER BY id LIMIT 1") }
        TenantFiles.close(live)
        let customer = try #require(firstCustomer)

        // Writers on their own connections, through the real client, over TLS.
        let load = WriteLoad()
        var acks = load.acks.makeAsyncIterator()
        let (port, token) = (world.server.port, world.managerToken)
        let writers = Task {
            try await withThrowingDiscardingTaskGroup { group in
                for writer in 0..<Self.writers {
                    group.addTask {
                        try await load.run(writer: writer, port: port, token: token, fingerprint: fingerprint, customer: customer)
                    }
                }
            }
        }
        try await load.wait(until: { $0.allSatisfy { $0 >= 2 } }, iterator: &acks)

        // The backup holds after the control database's copy until the test writes a byte to a
        // FIFO, which it does once every writer has had more entries acknowledged; then it
        // copies the tenant.
        let fifo = world.directory.appendingPathComponent("hold.fifo").path
        #expect(mkfifo(fifo, 0o600) == 0)
        let release = open(fifo, O_RDWR | O_CLOEXEC)
        #expect(release >= 0)
        let before = load.acknowledged.withLockedValue { $0 }
        let backup = try ChildProcess(
            try Executables.url("dunlind"), ["backup", "--data", world.data.path, "--to", copy.path],
            environment: ProcessInfo.processInfo.environment.merging(["DUNLIN_TEST_BACKUP_HOLD": fifo]) { _, new in new }
        )
        try await backup.waitForLine(containing: "DUNLIN_TEST_HOLD backup-after-control", onStderr: true)
        let atHold = load.acknowledged.withLockedValue { $0 }
        try await load.wait(until: { counts in zip(counts, atHold).allSatisfy { $0 >= $1 + 2 } }, iterator: &acks)
        let held = load.acknowledged.withLockedValue { $0 }
        #expect(write(release, "g", 1) == 1)
        close(release)
        #expect(try await backup.waitForExit(timeout: .seconds(120)) == 0, "\(backup.stderr)")
        let finished = load.acknowledged.withLockedValue { $0 }
        try await load.wait(until: { counts in zip(counts, finished).allSatisfy { $0 >= $1 + 2 } }, iterator: &acks)
        load.stop.withLockedValue { $0 = true }
        try await writers.value
        let acknowledged = load.acknowledged.withLockedValue { $0 }
        world.server.terminate()
        #expect(try await world.server.waitForExit() == 0)

        // Every file checks out, the TLS pair among them.
        let (manifest, problems) = try Backups.verify(copy)
        #expect(problems.isEmpty, "\(problems)")
        #expect(manifest?.files.map(\.path) == ["control.sqlite", tenantFile] + Backups.tlsFiles)

        // One point in time: each writer's entries in the copy are exactly its first k, with
        // everything acknowledged before the tenant's copy began (so before the backup began) in
        // it, and nothing that was never acknowledged.
        let inCopy = try loadEntries(copy.appendingPathComponent(tenantFile))
        for writer in 0..<Self.writers {
            let mine = inCopy.filter { $0.hasPrefix("PAY-W\(writer)-") }
            let prefix = Set((0..<mine.count).map { WriteLoad.id(writer, $0) })
            #expect(mine == prefix, "writer \(writer): the copy holds \(mine.count) entries, not its first \(mine.count)")
            #expect(mine.count >= held[writer] && held[writer] >= before[writer], "writer \(writer): \(mine.count) in the copy, \(held[writer]) acknowledged before the tenant's copy")
            // At most the one call in flight when the backup ended went in unanswered; the next
            // was sent after that answer, so after the backup, and is not in it.
            #expect(mine.count <= finished[writer] + 1 && mine.count < acknowledged[writer],
                    "writer \(writer): \(mine.count) in the copy, \(finished[writer]) acknowledged when the backup ended, \(acknowledged[writer]) in all")
        }

        // Checked where it lies: sound, and the check leaves every byte as the manifest has it.
        let check = try ChildProcess(try Executables.url("dunlind"), ["check", "--data", copy.path])
        #expect(try await check.waitForExit() == 0, "\(check.stdout) \(check.stderr)")
        let afterCheck = try Backups.verify(copy).problems
        #expect(afterCheck.isEmpty, "the check changed the backup: \(afterCheck)")

        // A second backup into the same directory is refused.
        let again = try ChildProcess(try Executables.url("dunlind"), ["backup", "--data", world.data.path, "--to", copy.path])
        #expect(try await again.waitForExit() == 100 + Int32(StatusCode.failedPrecondition.rawValue))

        // Restored into a fresh directory and served: the certificate laptops pinned, and a
        // laptop's replica reads exactly what the backup holds.
        let restore = try ChildProcess(try Executables.url("dunlind"), ["restore", "--from", copy.path, "--data", restored.path])
        #expect(try await restore.waitForExit() == 0, "\(restore.stderr)")
        let server = try await DunlindProcess(arguments: ["--data", restored.path], tls: true)
        #expect(server.child.stdout.contains("dunlind TLS certificate \(fingerprintText)"), "\(server.child.stdout)")
        _ = try await world.cli(["login", "--server", "127.0.0.1:\(server.port)", "--token", world.analystToken, "--fingerprint", fingerprintText])
        server.terminate()
        #expect(try await server.waitForExit() == 0)
        #expect(try StoreContents(world.replicaPath) == StoreContents(copy.appendingPathComponent(tenantFile).path, readingOnly: true))
        #expect(try loadEntries(URL(fileURLWithPath: world.replicaPath)) == inCopy)
        #expect(try Backups.verify(copy).problems.isEmpty, "reading the copy changed nothing")

        // One byte changed in the copy: refused before anything is replaced.
        let file = copy.appendingPathComponent(tenantFile)
        var bytes = try Data(contentsOf: file)
        bytes[bytes.count / 2] ^= 0xFF
        try bytes.write(to: file)
        let untouched = try Data(contentsOf: restored.appendingPathComponent(tenantFile))
        let tampered = try ChildProcess(try Executables.url("dunlind"), ["restore", "--from", copy.path, "--data", restored.path])
        #expect(try await tampered.waitForExit() == 100 + Int32(StatusCode.dataLoss.rawValue))
        #expect(tampered.stderr.contains("\(tenantFile): SHA-256"), "\(tampered.stderr)")
        #expect(try Data(contentsOf: restored.appendingPathComponent(tenantFile)) == untouched, "nothing replaced")
    }
}
