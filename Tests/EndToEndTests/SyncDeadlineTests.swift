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

/// A Pull that sends one good batch, then one whose record is `record` (its checksum right).
struct BadRecordPull: RPCService {
    var record: Dunlin_V1_SyncRecord

    func register(in router: inout Router) {
        let record = self.record
        router.serverStreaming(SyncMethods.pull) { _, writer, _ in
            try await writer.write(.with {
                $0.throughSeq = 1
                $0.checksum = SyncRecordState.checksum([])
            })
            let bytes: Data = switch record.form {
            case .fields(let bytes)?, .ledgerEntry(let bytes)?, .activity(let bytes)?: bytes
            case nil: Data()
            }
            let form: SyncRecordState.Form = if case .ledgerEntry? = record.form { .ledgerEntry } else if case .activity? = record.form { .activity } else { .fields }
            try await writer.write(.with {
                $0.records = [record]
                $0.throughSeq = 2
                $0.checksum = SyncRecordState.checksum([SyncRecordState(kind: record.kind, id: record.id, seq: Int64(truncatingIfNeeded: record.seq), form: form, bytes: bytes)])
                $0.last = true
            })
        }
    }
}

/// What the server sends is checked before it is applied: a record a replica cannot read, or in
/// another kind's form, fails the sync DATA_LOSS with nothing of its batch applied.
@Suite("A pulled record the replica cannot read", .serialized, .timeLimit(.minutes(10)))
struct SyncUnreadableRecordTests {
    @Test("a packed entry that is not one, a packed form under another kind and a seq beyond int64 fail the pull; the batch before stays", arguments: [
        Dunlin_V1_SyncRecord.with { $0.kind = "ledger_entry"; $0.id = "X1"; $0.seq = 2; $0.ledgerEntry = Data([0x0A, 0x05, 0x61]) },
        Dunlin_V1_SyncRecord.with { $0.kind = "customer"; $0.id = "C1"; $0.seq = 2; $0.activity = Data([0x0A, 0x02, 0x43, 0x31]) },
        Dunlin_V1_SyncRecord.with { $0.kind = "activity"; $0.id = "A1"; $0.seq = UInt64.max; $0.activity = Data([0x0A, 0x02, 0x43, 0x31]) },
    ])
    func anUnreadableRecordFailsThePull(record: Dunlin_V1_SyncRecord) async throws {
        let server = try await TestServer.start(services: [BadRecordPull(record: record)])
        let (engine, directory) = try SyncDeadlineTests().engine(server, pullBatchTimeout: .seconds(30))
        defer { try? FileManager.default.removeItem(at: directory) }
        let error = await #expect(throws: RPCError.self) { try await engine.sync() }
        #expect(error?.code == (record.seq == UInt64.max ? .outOfRange : .dataLoss), "\(String(describing: error))")
        #expect(try engine.replica.store.syncInteger(.checkpoint) == 1)
        #expect(try engine.replica.store.syncedRecords().isEmpty)
        await engine.client.close()
        try await server.stop()
    }
}
