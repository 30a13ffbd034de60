import DunlinCore
import DunlinServices
import DunlinStore
import DunlinSync
import DunlinTLS
import DunlinWire
import Foundation
import Logging
import NIOConcurrencyHelpers

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

/// How far a sync has got, for a progress display. Each is told after a batch is answered or applied.
public enum SyncProgress: Sendable, Hashable {
    /// The server has answered `done` of the `total` records the outbox held when the push began
    /// (more, when local work goes on during the push).
    case pushed(done: Int, total: Int)
    /// Records pulled (or bootstrapped) so far in this sync.
    case pulled(Int)
}

/// What `watch` reports.
public enum SyncWatchEvent: Sendable {
    /// A sync finished.
    case synced(SyncReport)
    /// A sync or the wait for the next one failed (the server is away, say); the next try comes
    /// after `retryIn`, growing with each failure in a row.
    case failed(any Error, retryIn: Duration)
    /// A sync failed in a way no retry mends (``SyncEngine/endsWatch(_:)``); the watch has ended.
    case stopped(any Error)
}

/// Reconciles a replica with the server: push the outbox, then pull (or bootstrap) until caught
/// up. Safe to interrupt at any instant: a push is acknowledged only after the server's commit and
/// deduplicated by dot if sent again, and the replica records each answered batch as it comes, so
/// an interrupted push resumes after it; each pulled batch is applied in one transaction with its
/// checkpoint.
///
/// Patience: reaching the server may take the client's `connectPatience` (the user's
/// `--timeout`), for the first call and for every later one that finds the connection gone, so a
/// server that is away is reported (UNAVAILABLE) after that, whatever the outbox or the pull.
/// Once connected, each batch has its own, longer deadline: a large push or pull is never cut
/// short by a deadline for the whole of it.
public struct SyncEngine: Sendable {
    public let replica: Replica
    public let client: RPCClient
    /// Changes per push call and records per pulled batch.
    public var batchSize = 500
    /// How long the server may take to answer one pushed batch. Default 60 s.
    public var pushBatchTimeout: Duration = .seconds(60)
    /// How long the next batch of a pull or bootstrap may take to come (the server reads and
    /// sends the next batch meanwhile). Default 600 s.
    public var pullBatchTimeout: Duration = .seconds(600)
    /// Whether a sync ends by checking the ledger invariants over the local ledger (it always
    /// should; the sync benchmark turns it off to measure what the rest of a sync costs).
    public var checksInvariants = true
    /// Told after each batch (``SyncProgress``); nil: nobody is watching.
    public var onProgress: (@Sendable (SyncProgress) -> Void)?
    /// The waits between tries of ``watch(_:)`` while syncs fail. Default 0.5 s, doubling up to 30 s.
    public var retryBackoff = RPCClient.Backoff(initial: .milliseconds(500), multiplier: 2, maximum: .seconds(30), jitter: 0.2)

    public init(replica: Replica, client: RPCClient) {
        self.replica = replica
        self.client = client
    }

    /// A client configured for this profile: its token, replica id and schema version in HELLO.
    /// `timeout` is how long a sync keeps trying to reach the server; no single connection
    /// attempt takes longer either (at most 5 s each).
    public static func client(for profile: Profile, timeout: Duration = .seconds(10)) throws -> RPCClient {
        guard let (host, port) = RPCClient.Configuration.hostAndPort(profile.server) else {
            throw RPCError(.invalidArgument, "profile \(profile.name): server must be HOST:PORT, not \"\(profile.server)\"")
        }
        let tls: ClientTLS?
        do {
            tls = try (profile.transport ?? TransportRequest()).resolve(host: host)
        } catch {
            throw RPCError(.invalidArgument, "profile \(profile.name): \(error.message)")
        }
        return RPCClient(configuration: .init(
            host: host, port: port, token: profile.token, replicaID: profile.replicaID, clientVersion: "dunlin/\(DunlinVersion.current)",
            schemaVersion: SyncMethods.schemaVersion, connectTimeout: min(timeout, .seconds(5)), connectPatience: timeout, tls: tls
        ))
    }

    /// Options for a sync call: `timeout` for the call, the client's patience for the connection.
    private func options(timeout: Duration?) -> RPCClient.CallOptions {
        .init(timeout: timeout, connectPatience: client.configuration.connectPatience)
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

    /// Sends the outbox batch by batch, each prepared just before it is sent, and records each
    /// batch's answers as soon as they come (``TenantStore/settlePush(_:refusals:)``): if this is
    /// interrupted, the next push starts after the last answered batch. A batch sent but not
    /// answered goes again, and the server answers its dots as duplicates.
    func push(_ report: inout SyncReport) async throws {
        let store = replica.store
        let total = try store.pendingCount()
        guard total > 0 else { return }
        var done = 0
        onProgress?(.pushed(done: 0, total: total))
        while true {
            let batch = try store.outboxBatch(limit: batchSize)
            guard !batch.isEmpty else { break }
            var refusals: [PushRefusal?] = []
            if !batch.changes.isEmpty {
                let request = Dunlin_V1_PushRequest.with {
                    $0.replicaID = replica.profile.replicaID
                    $0.changes = batch.changes.map { change in
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
                let response = try await client.unary(SyncMethods.push, request, options: options(timeout: pushBatchTimeout))
                guard response.results.count == batch.changes.count else {
                    throw RPCError(.internal, "the server answered \(response.results.count) of \(batch.changes.count) pushed changes")
                }
                for result in response.results {
                    report.pushed += 1
                    switch result.outcome {
                    case .accepted: report.accepted += 1
                    case .duplicate: report.duplicates += 1
                    default: report.refused += 1
                    }
                    let refused = result.outcome == .refused || (result.outcome == .duplicate && result.code != 0)
                    refusals.append(refused ? PushRefusal(code: result.code, message: result.message, field: result.field) : nil)
                }
                await FaultPause.afterPushBatch.pause()
            }
            try store.settlePush(batch, refusals: refusals)
            done += batch.recordCount
            onProgress?(.pushed(done: done, total: max(total, done)))
        }
    }

    func pull(_ report: inout SyncReport) async throws {
        let checkpoint = try replica.store.syncInteger(.checkpoint)
        let request = Dunlin_V1_PullRequest.with {
            $0.replicaID = replica.profile.replicaID
            $0.afterSeq = UInt64(checkpoint)
            $0.batchSize = UInt32(batchSize)
        }
        let stream = client.serverStreaming(SyncMethods.pull, request, options: options(timeout: nil))
        let start = report.pulled
        report.pulled = try await receive(stream, into: start) { pulled, batch in
            pulled += try apply(batch, checkpoint: batch.through)
            onProgress?(.pulled(pulled))
            await FaultPause.afterPullBatch.pause()
        }
    }

    /// What a bootstrap has received so far.
    private struct BootstrapState: Sendable {
        var pulled: Int
        /// What the snapshot holds of each mutable kind: at the end, what it did not hold goes.
        var held: [String: Set<String>] = [:]
    }

    /// Starts the replica over from a snapshot (emptied first: the outbox has just been pushed).
    func bootstrap(_ report: inout SyncReport) async throws {
        report.bootstrapped = true
        if try replica.store.holdsRecords() { try replica.store.resetForBootstrap() }
        // Lists' and reports' indexes are built after the snapshot, in its last batch.
        try replica.store.deferIndexesForBootstrap()
        let request = Dunlin_V1_BootstrapRequest.with {
            $0.replicaID = replica.profile.replicaID
            $0.batchSize = UInt32(batchSize)
        }
        let stream = client.serverStreaming(SyncMethods.bootstrap, request, options: options(timeout: nil))
        let state = try await receive(stream, into: BootstrapState(pulled: report.pulled)) { state, batch in
            for record in batch.records where TenantStore.isMutable(kind: record.kind) { state.held[record.kind, default: []].insert(record.id) }
            // Only the last batch carries the checkpoint: an interrupted bootstrap starts over.
            state.pulled += try apply(batch, checkpoint: batch.last ? batch.through : nil, snapshot: batch.last ? state.held : nil)
            onProgress?(.pulled(state.pulled))
            await FaultPause.afterPullBatch.pause()
        }
        report.pulled = state.pulled
    }

    /// A batch as received: its records checked against its checksum, ready to apply.
    struct ReceivedBatch: Sendable {
        var records: [SyncRecordState]
        var through: Int64
        var last: Bool
        var baseCurrency: String
        var timeZone: String

        /// Checks `batch` (its checksum, its integers): what a batch costs before its transaction,
        /// done while the one before it is applied.
        init(_ batch: Dunlin_V1_SyncBatch) throws(RPCError) {
            var records: [SyncRecordState] = []
            records.reserveCapacity(batch.records.count)
            for record in batch.records { records.append(try SyncRecordState(wire: record)) }
            self.records = records
            guard SyncRecordState.checksum(records) == batch.checksum else {
                throw RPCError(.dataLoss, "a sync batch of \(records.count) records failed its checksum; nothing of it was applied")
            }
            through = try WireInteger.int64(batch.throughSeq, field: "through_seq")
            last = batch.last
            baseCurrency = batch.baseCurrency
            timeZone = batch.timeZone
        }
    }

    /// Applies one batch; returns how many records it held.
    private func apply(_ batch: ReceivedBatch, checkpoint: Int64?, snapshot: [String: Set<String>]? = nil) throws -> Int {
        do {
            try replica.store.applySyncBatch(batch.records, checkpoint: checkpoint, snapshot: snapshot)
        } catch let error as PackedForm.DecodingError {
            throw RPCError(.dataLoss, "a sync batch of \(batch.records.count) records holds one the replica cannot read (\(error)); nothing of it was applied")
        }
        if batch.last, !batch.baseCurrency.isEmpty {
            try replica.store.setSyncValue(.baseCurrency, batch.baseCurrency)
            try replica.store.setSyncValue(.timeZone, batch.timeZone)
        }
        return batch.records.count
    }

    /// Receives a stream of batches into `state`, handling each in order. A batch is received,
    /// decoded and checked while the one before it is handled (applied), so the replica's
    /// transaction and the work before it overlap; at most one batch waits, so a replica slower
    /// than the server holds two batches, not the stream. The call fails with DEADLINE_EXCEEDED,
    /// and is cancelled on the server, when the next batch takes longer than ``pullBatchTimeout``
    /// to come; time spent handling a batch does not count, and neither does the length of the
    /// whole stream. Nothing is handled after the call returns or throws.
    private func receive<State: Sendable>(
        _ stream: ServerStream<Dunlin_V1_SyncBatch>, into state: State,
        _ handle: @escaping @Sendable (inout State, ReceivedBatch) async throws -> Void
    ) async throws -> State {
        let patience = pullBatchTimeout
        // When the wait for the next batch began; nil while a batch is being checked or handled.
        let waitingSince = NIOLockedValueBox<ContinuousClock.Instant?>(ContinuousClock.now)
        return try await withThrowingTaskGroup(of: State.self) { group in
            group.addTask {
                var batches = stream.makeAsyncIterator()
                return try await BatchPipeline.run(
                    &batches, into: state, waiting: { waiting in waitingSince.withLockedValue { $0 = waiting ? .now : nil } },
                    prepare: ReceivedBatch.init, handle: handle
                )
            }
            group.addTask {
                while true {
                    let since = waitingSince.withLockedValue { $0 }
                    if let since, ContinuousClock.now - since >= patience {
                        throw RPCError(.deadlineExceeded, "no sync batch came within \(patience.milliseconds / 1000) s of the last")
                    }
                    try await Task.sleep(until: (since ?? .now) + patience)
                }
            }
            defer { group.cancelAll() }
            guard let state = try await group.next() else { throw CancellationError() }
            return state
        }
    }

    /// Stays connected: syncs now, then whenever the server says something changed, whenever the
    /// outbox grows, and after a reconnect. While syncs fail (the server is away), tries again
    /// after ``retryBackoff``'s growing waits, telling `onEvent` each failure and the wait before
    /// the next try. Returns nil when the task is cancelled, and the error when a sync fails in a
    /// way no retry mends (``endsWatch(_:)``): a refused certificate, a revoked token, TLS asked
    /// of a plain server. Those are told to `onEvent` as `.stopped`, never as a retry.
    @discardableResult
    public func watch(_ onEvent: @Sendable (SyncWatchEvent) -> Void) async -> (any Error)? {
        var failures = 0
        while !Task.isCancelled {
            do {
                onEvent(.synced(try await sync()))
                failures = 0
                try await waitForChange()
            } catch is CancellationError {
                return nil
            } catch {
                if Self.endsWatch(error) {
                    onEvent(.stopped(error))
                    return error
                }
                failures += 1
                let delay = retryBackoff.delay(attempt: failures)
                onEvent(.failed(error, retryIn: delay))
                try? await Task.sleep(for: delay)
                // The wait above is the backoff: the retry it announced reaches for the server.
                client.forgetFailedAttempts()
            }
        }
        return nil
    }

    /// Whether `error` is one a retry cannot mend, so a watch ends on it: UNAUTHENTICATED (the
    /// server's certificate refused: changed, expired, not yet valid, untrusted, for another host;
    /// or the token revoked, expired, its user deactivated: each needs the analyst, a new
    /// `dunlin login`) and a TLS client on a plain port (`server_not_tls`). A server away, a
    /// deadline or a refused batch stays retried.
    public static func endsWatch(_ error: any Error) -> Bool {
        guard let error = error as? RPCError else { return false }
        return error.code == .unauthenticated || (error.code == .failedPrecondition && error.details.contains { $0.reason == "server_not_tls" })
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
        let watchOptions = options(timeout: .seconds(86_400))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for try await _ in client.serverStreaming(SyncMethods.watch, request, options: watchOptions) { return }
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

extension SyncRecordState {
    /// A record as the wire carries it; its seq checked (PROTOCOL.md §16.2 "Integers").
    init(wire record: Dunlin_V1_SyncRecord) throws(RPCError) {
        let seq = try WireInteger.int64(record.seq, field: "seq")
        switch record.form {
        case .fields(let bytes)?: self.init(kind: record.kind, id: record.id, seq: seq, form: .fields, bytes: bytes)
        case .ledgerEntry(let bytes)?: self.init(kind: record.kind, id: record.id, seq: seq, form: .ledgerEntry, bytes: bytes)
        case .activity(let bytes)?: self.init(kind: record.kind, id: record.id, seq: seq, form: .activity, bytes: bytes)
        case nil: self.init(kind: record.kind, id: record.id, seq: seq, form: .fields, bytes: Data())
        }
    }
}

/// A stream's batches, each prepared as it comes (decoded and checked) while the one before is
/// handled (applied), and handled in order, one at a time. At most one prepared batch waits for
/// its turn, so a consumer slower than the stream holds two batches, not the stream; nothing is
/// handled after ``run`` returns or throws.
enum BatchPipeline {
    /// Runs the pipeline to the end of `batches`. `waiting` is told true when the wait for the
    /// next batch begins and false when one has come (the time a deadline counts).
    static func run<Batches: AsyncIteratorProtocol, Prepared: Sendable, State: Sendable>(
        _ batches: inout Batches, into state: State, waiting: (Bool) -> Void,
        prepare: (Batches.Element) throws -> Prepared,
        handle: @escaping @Sendable (inout State, Prepared) async throws -> Void
    ) async throws -> State {
        var state = state
        // The handling of the batch before the one being received.
        var handling: Task<State, any Error>?
        do {
            while true {
                waiting(true)
                guard let batch = try await batches.next() else { break }
                waiting(false)
                let prepared = try prepare(batch)
                if let handling { state = try await handling.value }
                handling = Task { [state] in
                    var state = state
                    try await handle(&state, prepared)
                    return state
                }
            }
            waiting(false)
            if let handling { state = try await handling.value }
            return state
        } catch {
            handling?.cancel()
            _ = try? await handling?.value
            throw error
        }
    }
}
