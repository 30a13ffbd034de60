import DunlinCore
import DunlinServices
import DunlinStore
import DunlinSync
import DunlinWire
import Foundation
import Logging

/// What one sync did.
public struct SyncReport: Sendable, Hashable {
    public var pushed = 0
    public var accepted = 0
    public var duplicates = 0
    public var refused = 0
    public var pulled = 0
    public var bootstrapped = false
    public var checkpoint: Int64 = 0
    public var openConflicts = 0
    public var openExceptions = 0
}

/// Reconciles a replica with the server: push the outbox, then pull (or bootstrap) until caught
/// up. Safe to interrupt at any instant: a push is acknowledged only after the server's commit and
/// deduplicated by dot if sent again; each pulled batch is applied in one transaction with its
/// checkpoint.
public struct SyncEngine: Sendable {
    public let replica: Replica
    public let client: RPCClient
    /// Changes per push call and records per pulled batch.
    public var batchSize = 500
    /// Whether a sync ends by checking the ledger invariants over the local ledger (it always
    /// should; the sync benchmark turns it off to measure what the rest of a sync costs).
    public var checksInvariants = true

    public init(replica: Replica, client: RPCClient) {
        self.replica = replica
        self.client = client
    }

    /// A client configured for this profile: its token, replica id and schema version in HELLO.
    public static func client(for profile: Profile, timeout: Duration = .seconds(10)) throws -> RPCClient {
        guard let (host, port) = RPCClient.Configuration.hostAndPort(profile.server) else {
            throw RPCError(.invalidArgument, "profile \(profile.name): server must be HOST:PORT, not \"\(profile.server)\"")
        }
        return RPCClient(configuration: .init(
            host: host, port: port, token: profile.token, replicaID: profile.replicaID, clientVersion: "dunlin/\(DunlinVersion.current)",
            schemaVersion: SyncMethods.schemaVersion, connectPatience: timeout
        ))
    }

    public func sync() async throws -> SyncReport {
        var report = SyncReport()
        try await push(&report)
        let store = replica.store
        if try store.syncValue(.checkpoint) == nil {
            try await bootstrap(&report)
        } else {
            do {
                try await pull(&report)
            } catch let error as RPCError where error.details.contains(where: { $0.reason == "rebootstrap" }) {
                // Behind the horizon: the outbox is pushed (above); start again from a snapshot.
                try await bootstrap(&report)
            }
        }
        report.checkpoint = try store.syncInteger(.checkpoint)
        report.openExceptions = checksInvariants ? try store.recheckInvariants().count : try store.exceptions().count
        report.openConflicts = try store.conflicts().count
        try store.setSyncValue(.lastSync, ISO8601DateFormatter().string(from: WallClock.system.now()))
        return report
    }

    /// Sends the outbox and records the answers. The pushed-through counter moves only after every
    /// batch is answered; if this is interrupted, the next push sends the same dots again and the
    /// server answers them as duplicates.
    func push(_ report: inout SyncReport) async throws {
        let store = replica.store
        let pushedThrough = try store.syncInteger(.pushedThrough)
        let (changes, through) = try store.pendingChanges(after: pushedThrough)
        guard through > pushedThrough else { return }
        var results: [(change: PushedChange, refusal: PushRefusal?)] = []
        for start in stride(from: 0, to: changes.count, by: batchSize) {
            let slice = Array(changes[start..<min(start + batchSize, changes.count)])
            let request = Dunlin_V1_PushRequest.with {
                $0.replicaID = replica.profile.replicaID
                $0.changes = slice.map { change in
                    .with {
                        $0.kind = change.kind
                        $0.id = change.id
                        $0.counter = change.counter
                        $0.baseSeq = change.baseSeq
                        $0.fields = RecordCoding.canonical(change.fields)
                        $0.atMs = change.at
                    }
                }
            }
            let response = try await client.unary(SyncMethods.push, request, options: .init(timeout: .seconds(60)))
            guard response.results.count == slice.count else {
                throw RPCError(.internal, "the server answered \(response.results.count) of \(slice.count) pushed changes")
            }
            for (change, result) in zip(slice, response.results) {
                report.pushed += 1
                switch result.outcome {
                case .accepted: report.accepted += 1
                case .duplicate: report.duplicates += 1
                default: report.refused += 1
                }
                let refused = result.outcome == .refused || (result.outcome == .duplicate && result.code != 0)
                results.append((change, refused ? PushRefusal(code: result.code, message: result.message, field: result.field) : nil))
            }
            await FaultPause.afterPushBatch.pause()
        }
        try store.settlePush(results, through: through)
    }

    func pull(_ report: inout SyncReport) async throws {
        let checkpoint = try replica.store.syncInteger(.checkpoint)
        let request = Dunlin_V1_PullRequest.with {
            $0.replicaID = replica.profile.replicaID
            $0.afterSeq = UInt64(checkpoint)
            $0.batchSize = UInt32(batchSize)
        }
        for try await batch in client.serverStreaming(SyncMethods.pull, request, options: .init(timeout: .seconds(600))) {
            try apply(batch, checkpoint: Int64(batch.throughSeq), &report)
            await FaultPause.afterPullBatch.pause()
        }
    }

    /// Starts the replica over from a snapshot (emptied first: the outbox has just been pushed).
    func bootstrap(_ report: inout SyncReport) async throws {
        report.bootstrapped = true
        if try replica.store.holdsRecords() { try replica.store.resetForBootstrap() }
        let request = Dunlin_V1_BootstrapRequest.with {
            $0.replicaID = replica.profile.replicaID
            $0.batchSize = UInt32(batchSize)
        }
        // What the snapshot holds of each mutable kind: at the end, what it did not hold goes.
        var held: [String: Set<String>] = [:]
        for try await batch in client.serverStreaming(SyncMethods.bootstrap, request, options: .init(timeout: .seconds(600))) {
            for record in batch.records where TenantStore.isMutable(kind: record.kind) { held[record.kind, default: []].insert(record.id) }
            // Only the last batch carries the checkpoint: an interrupted bootstrap starts over.
            try apply(batch, checkpoint: batch.last ? Int64(batch.throughSeq) : nil, snapshot: batch.last ? held : nil, &report)
            await FaultPause.afterPullBatch.pause()
        }
    }

    private func apply(_ batch: Dunlin_V1_SyncBatch, checkpoint: Int64?, snapshot: [String: Set<String>]? = nil, _ report: inout SyncReport) throws {
        let records = batch.records.map { SyncRecordState(kind: $0.kind, id: $0.id, seq: Int64($0.seq), fields: $0.fields) }
        guard SyncRecordState.checksum(records) == batch.checksum else {
            throw RPCError(.dataLoss, "a sync batch of \(records.count) records failed its checksum; nothing of it was applied")
        }
        try replica.store.applySyncBatch(records, checkpoint: checkpoint, snapshot: snapshot)
        report.pulled += records.count
        if batch.last, !batch.baseCurrency.isEmpty {
            try replica.store.setSyncValue(.baseCurrency, batch.baseCurrency)
            try replica.store.setSyncValue(.timeZone, batch.timeZone)
        }
    }

    /// Stays connected: syncs now, then whenever the server says something changed, whenever the
    /// outbox grows, and after a reconnect (with exponential backoff while the server is away).
    /// Returns when the task is cancelled.
    public func watch(onSync: @Sendable (Result<SyncReport, any Error>) -> Void) async {
        var delay = Duration.milliseconds(500)
        while !Task.isCancelled {
            do {
                onSync(.success(try await sync()))
                delay = .milliseconds(500)
                try await waitForChange()
            } catch is CancellationError {
                return
            } catch {
                onSync(.failure(error))
                try? await Task.sleep(for: delay + .milliseconds(Int64.random(in: 0...250)))
                delay = min(delay * 2, .seconds(30))
            }
        }
    }

    /// Returns when the server announces a change past our checkpoint or the outbox has changes.
    private func waitForChange() async throws {
        let store = replica.store
        let checkpoint = UInt64(max(try store.syncInteger(.checkpoint), 0))
        let request = Dunlin_V1_WatchRequest.with {
            $0.replicaID = replica.profile.replicaID
            $0.afterSeq = checkpoint
        }
        let client = self.client
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for try await _ in client.serverStreaming(SyncMethods.watch, request, options: .init(timeout: .seconds(86_400))) { return }
                throw RPCError(.unavailable, "the server ended the watch")
            }
            group.addTask {
                while true {
                    try await Task.sleep(for: .milliseconds(500))
                    if try store.pendingCount() > 0 { return }
                }
            }
            try await group.next()
            group.cancelAll()
        }
    }
}
