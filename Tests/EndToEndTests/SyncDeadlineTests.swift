import DunlinClient
import DunlinServer
import DunlinServices
import DunlinStore
import DunlinWire
import Foundation
import Testing

/// A Pull that sends `batches` empty batches `interval` apart (the last with `last`), then, if
/// `stallsAfter` is set, stops sending after that many and waits until cancelled.
struct PacedPull: RPCService {
    var batches: Int
    var interval: Duration
    var stallsAfter: Int?

    func register(in router: inout Router) {
        let (batches, interval, stallsAfter) = (self.batches, self.interval, self.stallsAfter)
        router.serverStreaming(SyncMethods.pull) { request, writer, _ in
            for n in 1...batches {
                if n > 1 { try await Task.sleep(for: interval) }
                if let stallsAfter, n > stallsAfter { try await Task.sleep(for: .seconds(3600)) }
                try await writer.write(.with {
                    $0.throughSeq = UInt64(n)
                    $0.checksum = SyncRecordState.checksum([])
                    $0.last = n == batches
                })
            }
        }
    }
}

/// The sync's deadlines: a pull may take as long as it needs while its batches keep coming; the
/// wait for any one batch is bounded.
@Suite("Sync deadlines are per batch", .serialized, .timingSensitive, .timeLimit(.minutes(10)))
struct SyncDeadlineTests {
    func engine(_ server: TestServer, pullBatchTimeout: Duration) throws -> (SyncEngine, URL) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dunlin-deadline-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let profile = Profile(
            name: "ana", server: "127.0.0.1:\(server.port)", token: "good-token", replicaID: Profile.newReplicaID(),
            userID: "u-ana", userName: "Ana", tenantID: "t-acme", role: "analyst"
        )
        let replica = try Replica(profile: profile, path: directory.appendingPathComponent("replica.sqlite").path)
        try replica.store.setSyncValue(.checkpoint, "0")   // bootstrapped: the sync pulls
        var engine = SyncEngine(replica: replica, client: try SyncEngine.client(for: profile, timeout: .seconds(30)))
        engine.pullBatchTimeout = pullBatchTimeout
        return (engine, directory)
    }

    @Test("a pull whose batches keep coming finishes although the whole of it takes longer than the deadline of one batch")
    func steadyPullOutlastsTheBatchDeadline() async throws {
        let server = try await TestServer.start(services: [PacedPull(batches: 6, interval: .milliseconds(400))])
        let (engine, directory) = try engine(server, pullBatchTimeout: .seconds(1))
        defer { try? FileManager.default.removeItem(at: directory) }
        let clock = ContinuousClock()
        let start = clock.now
        let report = try await engine.sync()
        #expect(clock.now - start > .seconds(1), "the pull as a whole outlasted one batch's deadline")
        #expect(report.checkpoint == 6)
        await engine.client.close()
        try await server.stop()
    }

    @Test("a pull whose next batch does not come fails DEADLINE_EXCEEDED after the batch deadline, keeping the batches it applied")
    func stalledPullFails() async throws {
        let server = try await TestServer.start(services: [PacedPull(batches: 6, interval: .milliseconds(100), stallsAfter: 2)])
        let (engine, directory) = try engine(server, pullBatchTimeout: .seconds(1))
        defer { try? FileManager.default.removeItem(at: directory) }
        let clock = ContinuousClock()
        let start = clock.now
        let error = await #expect(throws: RPCError.self) { try await engine.sync() }
        #expect(error?.code == .deadlineExceeded)
        #expect(clock.now - start < .seconds(30))
        #expect(try engine.replica.store.syncInteger(.checkpoint) == 2)
        await engine.client.close()
        try await server.stop()
    }
}
