import BenchmarkSupport
import DunlinClient
import DunlinCore
import DunlinServer
import DunlinServices
import DunlinStore
import DunlinWire
import Foundation
import Logging
import NIOCore
import Synchronization

/// The measured run, in order: build both tenants (not timed), bootstrap a replica of the large
/// one and pull ledger changes beside it, a snapshot's wire bytes, the empty sync, a pull of mixed
/// kinds, a push, the small tenant's empty sync, then the sqlite3 restore.
struct SyncSuite {
    struct Settings: Sendable {
        var changes: Int
        var ledgerPull: Int
        var batch: Int
        var runs: Int
        var compress: Bool
        var sqlite3: String
        var directory: URL
    }

    let large: TenantPortfolio
    let small: TenantPortfolio
    let settings: Settings

    func run() async throws {
        emit(["bench": "environment", "load_average": loadAverage(), "cores": ProcessInfo.processInfo.activeProcessorCount,
              "records": large.records, "customers": large.customers, "invoices": large.invoices, "payments": large.payments,
              "activities": large.activities, "batch": settings.batch, "compress": settings.compress])
        let largeStore = try build(large, name: "large")
        let smallStore = try build(small, name: "small")
        var logger = Logger(label: "bench.dunlind")
        logger.logLevel = .critical
        let tenants = FixedTenants([
            TenantHandle(id: "t-large", store: largeStore, baseCurrency: .usd, timeZone: TimeZone(identifier: "UTC")!),
            TenantHandle(id: "t-small", store: smallStore, baseCurrency: .usd, timeZone: TimeZone(identifier: "UTC")!),
        ])
        let server = RPCServer(
            configuration: .init(host: "127.0.0.1", port: 0, compressResponses: settings.compress),
            services: [SyncService(tenants: tenants)],
            authenticator: StaticTokenAuthenticator([
                "large": .with { $0.id = "u-bench"; $0.tenantID = "t-large"; $0.role = "manager" },
                "small": .with { $0.id = "u-bench"; $0.tenantID = "t-small"; $0.role = "manager" },
            ]),
            logger: logger
        )
        let serving = Task { try await server.run() }
        let port = try await server.listeningPort

        let laptop = try newLaptop(token: "large", tenant: "t-large", port: port)
        let bootstrapped = try await bootstrap(laptop, large)
        try await pullLedger(laptop, server: largeStore, beside: bootstrapped)
        try await wireBytes(port: port)
        try await emptySync(laptop, large)
        try await pull(laptop, server: largeStore)
        try await push(laptop)
        await laptop.close()

        let smallLaptop = try newLaptop(token: "small", tenant: "t-small", port: port)
        _ = try await bootstrap(smallLaptop, small, bench: "bootstrap_small")
        try await emptySync(smallLaptop, small)
        await smallLaptop.close()

        server.beginShutdown()
        try await serving.value
        try peer(ours: bootstrapped.rate)
    }

    // MARK: The tenants

    /// A server store holding `portfolio` (``TenantPortfolio/write(to:)``). Not timed beyond a
    /// progress line.
    private func build(_ portfolio: TenantPortfolio, name: String) throws -> TenantStore {
        let store = try TenantStore(path: settings.directory.appendingPathComponent("\(name).sqlite").path)
        let start = ContinuousClock.now
        progress("building the \(name) tenant: \(portfolio.records) records")
        try portfolio.write(to: store)
        progress("built the \(name) tenant in \(round(seconds(ContinuousClock.now - start), 1)) s")
        return store
    }

    /// A laptop syncing `tenant`, its replica file in the run's directory.
    private func newLaptop(token: String, tenant: String, port: Int) throws -> Laptop {
        try Laptop(
            token: token, tenant: tenant, port: port, path: settings.directory.appendingPathComponent("replica-\(tenant).sqlite").path,
            batch: settings.batch, compress: settings.compress
        )
    }

    // MARK: Figures

    /// What one timed `sync()` moved, and how long it and the invariant check it ends with took.
    struct SyncRun {
        var records: Int
        var syncSeconds: Double
        var checkSeconds: Double
        /// CPU seconds of the whole process (server and replica) over both.
        var cpuSeconds: Double

        var seconds: Double { syncSeconds + checkSeconds }
        /// Records/s of the whole: the sync and its invariant check.
        var rate: Double { Double(records) / seconds }
        var syncRate: Double { Double(records) / syncSeconds }
        /// Records per CPU second of the whole: what another process's load barely moves.
        var cpuRate: Double { Double(records) / cpuSeconds }

        /// The figures every timed sync prints.
        var fields: [String: Any] {
            ["records": records, "seconds": round(seconds, 3), "records_per_s": Int(rate), "sync_seconds": round(syncSeconds, 3),
             "sync_records_per_s": Int(syncRate), "invariant_check_seconds": round(checkSeconds, 3), "cpu_seconds": round(cpuSeconds, 3),
             "records_per_cpu_s": Int(cpuRate)]
        }
    }

    /// One `sync()` with the invariant check it ends with timed apart (as `dunlin sync` runs them,
    /// one after the other); `expect` checks what it moved.
    private func syncTimed(_ laptop: Laptop, expect: (SyncReport) -> Bool) async throws -> SyncRun {
        var engine = laptop.engine()
        engine.checksInvariants = false
        let cpu = processCPUSeconds()
        let (report, syncSeconds) = try await measured { try await engine.sync() }
        precondition(expect(report), "the sync moved \(report.pulled) records in (bootstrapped: \(report.bootstrapped))")
        let checkSeconds = try timedSync { _ = try laptop.replica.store.recheckInvariants() }
        return SyncRun(records: report.pulled, syncSeconds: syncSeconds, checkSeconds: checkSeconds, cpuSeconds: processCPUSeconds() - cpu)
    }

    /// A new replica's first `dunlin sync`, end to end: snapshot and apply, then the invariant
    /// check it ends with, timed apart.
    private func bootstrap(_ laptop: Laptop, _ portfolio: TenantPortfolio, bench: String = "bootstrap") async throws -> SyncRun {
        progress("\(bench): \(portfolio.records) records")
        let run = try await syncTimed(laptop) { $0.bootstrapped && $0.pulled >= portfolio.records }
        emit(run.fields.merging([
            "bench": bench, "impl": "dunlin", "target_records_per_s": 250_000, "met": run.rate >= 250_000, "usable_under_10_s": run.seconds < 10,
            "via": "SyncEngine.sync() on an empty replica file, batch \(settings.batch), then TenantStore.recheckInvariants() (what sync() ends with)",
        ]) { first, _ in first })
        return run
    }

    /// Issue 10's case, beside the bootstrap just measured: the server records `ledgerPull / 2`
    /// invoices paid in full (a payment and its application each: insert-only records, as most
    /// of a bootstrap is), then the replica's next `dunlin sync` pulls them, its invariant check
    /// timed apart as the bootstrap's is. The ratios are the pull's records/s over the bootstrap's,
    /// and its records per CPU second over the bootstrap's (steadier on a loaded machine).
    private func pullLedger(_ laptop: Laptop, server store: TenantStore, beside bootstrap: SyncRun) async throws {
        let invoices = settings.ledgerPull / 2
        progress("server: \(invoices) invoices paid, a payment and an application each")
        let settlements = (0..<invoices).map { large.settlement(ofInvoice: $0, prefix: "LP") }
        try store.post(settlements.map(\.payment))
        try store.post(settlements.map(\.application))
        let run = try await syncTimed(laptop) { !$0.bootstrapped && $0.pulled == 2 * invoices }
        emit(run.fields.merging([
            "bench": "pull_ledger", "impl": "dunlin", "payments": invoices, "applications": invoices,
            "bootstrap_records_per_s": Int(bootstrap.rate), "ratio_to_bootstrap": round(run.rate / bootstrap.rate, 3),
            "bootstrap_records_per_cpu_s": Int(bootstrap.cpuRate), "cpu_ratio_to_bootstrap": round(run.cpuRate / bootstrap.cpuRate, 3),
            "via": "SyncEngine.sync() after the server's payments and applications, batch \(settings.batch), then TenantStore.recheckInvariants(); ratios: records/s and records per CPU second over the bootstrap's",
        ]) { first, _ in first })
    }

    /// A snapshot as the wire carries it, read but not applied: its bytes per record as protobuf
    /// and after per-message deflate (what a compressing server sends), and how fast the server
    /// produces it with nothing applying it.
    private func wireBytes(port: Int) async throws {
        progress("snapshot stream, not applied")
        let client = RPCClient(
            configuration: .init(host: "127.0.0.1", port: port, token: "large", replicaID: "r0000000000000000000000000000c0de", schemaVersion: SyncMethods.schemaVersion,
                                 compressRequests: settings.compress),
            logger: quietLogger(label: "bench.client")
        )
        var records = 0
        var messages = 0
        var plain = 0
        var deflated = 0
        let request = Dunlin_V1_BootstrapRequest.with { $0.replicaID = "r0000000000000000000000000000c0de"; $0.batchSize = UInt32(settings.batch) }
        let elapsed = try await timed {
            for try await batch in client.serverStreaming(SyncMethods.bootstrap, request, options: .init(timeout: .seconds(600))) {
                records += batch.records.count
                messages += 1
                let bytes: [UInt8] = try batch.serializedBytes()
                plain += bytes.count
                deflated += MessageCompression.compress(ByteBuffer(bytes: bytes))?.readableBytes ?? bytes.count
            }
        }
        await client.close()
        emit(["bench": "bootstrap_stream", "impl": "dunlin", "records": records, "messages": messages, "seconds": round(elapsed, 3),
              "records_per_s": Int(Double(records) / elapsed), "via": "Bootstrap read by a bare RPCClient, nothing applied (deflate sizes computed after each message)"])
        emit(["bench": "wire_bytes_per_record", "impl": "dunlin", "records": records, "plain_bytes": plain, "deflated_bytes": deflated,
              "plain_per_record": round(Double(plain) / Double(records), 1), "deflated_per_record": round(Double(deflated) / Double(records), 1),
              "via": "SyncBatch protobuf size; deflated = MessageCompression.compress per message (frame headers not counted)"])
    }

    /// A sync with nothing to do, with and without the invariant check at its end.
    private func emptySync(_ laptop: Laptop, _ portfolio: TenantPortfolio) async throws {
        for checks in [true, false] {
            progress("empty sync, \(portfolio.invoices) invoices, invariants \(checks ? "checked" : "not checked")")
            var engine = laptop.engine()
            engine.checksInvariants = checks
            let times = try await repeated(runs: settings.runs) {
                let report = try await engine.sync()
                precondition(report.pulled == 0 && report.pushed == 0, "the empty sync moved \(report.pulled) in, \(report.pushed) out")
            }
            emit(figure("empty_sync", times, target: 5, extra: [
                "invoices": portfolio.invoices, "records": portfolio.records, "invariants_checked": checks,
                "via": "SyncEngine.sync(): push with an empty outbox, pull of nothing" + (checks ? ", recheckInvariants()" : ""),
            ]))
        }
    }

    /// `changes` server changes (payments and activities posted, customers edited), then one sync.
    private func pull(_ laptop: Laptop, server store: TenantStore) async throws {
        let count = settings.changes
        let edits = count / 5, payments = (count - edits) / 2, activities = count - edits - payments
        progress("server: \(payments) payments, \(activities) activities, \(edits) customer edits")
        try store.post((0..<payments).map { large.payment($0, prefix: "SPAY") })
        try store.append((0..<activities).map { large.activity($0, prefix: "SACT", author: "U2") })
        try store.upsert((0..<edits).map { index in
            var customer = large.customer(index * (large.customers / edits))
            customer.phone = "+63 2 8555 \(index)"
            return customer
        })
        var engine = laptop.engine()
        engine.checksInvariants = false  // timed apart: the empty sync's two lines
        let (report, elapsed) = try await measured { try await engine.sync() }
        precondition(report.pulled == count, "pulled \(report.pulled) of \(count)")
        emit(["bench": "pull", "impl": "dunlin", "records": report.pulled, "seconds": round(elapsed, 3),
              "records_per_s": Int(Double(report.pulled) / elapsed), "payments": payments, "activities": activities, "customer_edits": edits,
              "invariants_checked": false,
              "via": "SyncEngine.sync() after the server's changes"])
    }

    /// `changes` local changes (payments posted, activities logged on the replica), then one sync:
    /// the push, and the pull that brings them back as the server's.
    private func push(_ laptop: Laptop) async throws {
        let count = settings.changes
        let payments = count / 2, activities = count - payments
        progress("replica: \(payments) payments, \(activities) activities")
        try laptop.replica.store.post((0..<payments).map { large.payment($0, prefix: "LPAY") })
        try laptop.replica.store.append((0..<activities).map { large.activity($0, prefix: "LACT", author: "u-bench") })
        var engine = laptop.engine()
        engine.checksInvariants = false  // timed apart: the empty sync's two lines
        // When the last push batch was answered and settled (its progress report), and the CPU
        // then: the push alone, apart from the pull that follows it.
        let pushEnd = PushEnd()
        engine.onProgress = { event in
            if case .pushed(let done, let total) = event, done >= total, done > 0 {
                pushEnd.mark.withLock { $0 = (ContinuousClock.now, processCPUSeconds()) }
            }
        }
        let start = ContinuousClock.now, cpu = processCPUSeconds()
        let (report, elapsed) = try await measured { try await engine.sync() }
        let cpuSeconds = processCPUSeconds() - cpu
        precondition(report.accepted == count, "accepted \(report.accepted) of \(count) (refused \(report.refused))")
        guard let (pushedAt, pushCPU) = pushEnd.mark.withLock({ $0 }) else { preconditionFailure("the push reported no end") }
        let pushSeconds = seconds(pushedAt - start)
        emit(["bench": "push", "impl": "dunlin", "changes": report.pushed, "accepted": report.accepted, "pulled_back": report.pulled,
              "seconds": round(elapsed, 3), "changes_per_s": Int(Double(report.pushed) / elapsed), "cpu_seconds": round(cpuSeconds, 3),
              "push_seconds": round(pushSeconds, 3), "push_cpu_seconds": round(pushCPU - cpu, 3),
              "pull_back_seconds": round(elapsed - pushSeconds, 3), "pull_back_cpu_seconds": round(cpuSeconds - (pushCPU - cpu), 3),
              "via": "SyncEngine.sync() with \(count) local changes: push in calls of \(settings.batch), then the pull of them back; push_* up to the last push batch settled", "invariants_checked": false])
    }

    // MARK: The peer

    /// The large tenant's rows, as the replica holds them, restored by the sqlite3 shell into the
    /// same schema (indexes and the derived-balance triggers included; the indexes a bootstrap
    /// builds after its snapshot built after the rows here too), WAL and synchronous=NORMAL as
    /// the store runs: the replica's write limit. The rows are exported (not timed) as CSV with
    /// NULL spelled ~NULL~; the timed restore is `.import` into a staging table per table and one
    /// `INSERT ... SELECT` per table in one transaction, so each statement (and its triggers) is
    /// compiled once. (`.read` of one INSERT per row recompiles the triggers for every row and runs
    /// at a twentieth of the speed: that would flatter the replica.)
    private func peer(ours: Double) throws {
        let source = settings.directory.appendingPathComponent("replica-t-large.sqlite")
        let tables = ["customer", "ledger_entry", "activity"]
        progress("exporting the replica's rows for sqlite3")
        var restore: [String] = ["PRAGMA synchronous = NORMAL;"]
        var copies: [String] = []
        for table in tables {
            let csv = settings.directory.appendingPathComponent("\(table).csv")
            guard FileManager.default.createFile(atPath: csv.path, contents: nil) else { throw BenchError("cannot create \(csv.path)") }
            let handle = try FileHandle(forWritingTo: csv)
            try sqlite3(source, [".mode csv", ".headers on", ".nullvalue ~NULL~", "SELECT * FROM \(table);"], output: handle)
            try handle.close()
            let columns = try sqlite3Output(source, "SELECT group_concat(name, ',') FROM pragma_table_info('\(table)');").split(separator: ",")
            restore.append(".import --csv \(csv.path) staging_\(table)")
            copies.append("INSERT INTO \(table) SELECT \(columns.map { "NULLIF(\($0), '~NULL~')" }.joined(separator: ", ")) FROM staging_\(table);")
        }
        let restored = Int(try sqlite3Output(source, "SELECT (SELECT COUNT(*) FROM customer) + (SELECT COUNT(*) FROM ledger_entry) + (SELECT COUNT(*) FROM activity);")) ?? 0

        let database = settings.directory.appendingPathComponent("sqlite3-restore.sqlite")
        _ = try TenantStore(path: database.path)  // the tenant schema, migrated; closed when released
        // The replica's bootstrap regime: the indexes only lists read are built after the rows
        // (TenantStore.bootstrapDeferredIndexes), so the peer does the same, timed.
        let deferred = TenantStore.bootstrapDeferredIndexes
        let rebuilds = try sqlite3Output(
            database, "SELECT sql || ';' FROM sqlite_master WHERE type = 'index' AND name IN (\(deferred.map { "'\($0)'" }.joined(separator: ", ")));"
        ).split(separator: "\n").map(String.init)
        restore.append("BEGIN;")
        restore.append(contentsOf: deferred.map { "DROP INDEX \($0);" })
        restore.append(contentsOf: copies)
        restore.append(contentsOf: rebuilds)
        restore.append("COMMIT;")
        progress("sqlite3 restore of \(restored) rows")
        let elapsed = try timedSync { try sqlite3(database, restore) }
        let check = Int(try sqlite3Output(database, "SELECT (SELECT COUNT(*) FROM customer) + (SELECT COUNT(*) FROM ledger_entry) + (SELECT COUNT(*) FROM activity) + (SELECT COUNT(*) FROM invoice_balance) - (SELECT COUNT(*) FROM ledger_entry WHERE kind = 'invoice');")) ?? -1
        precondition(check == restored, "sqlite3 restored \(check) of \(restored) rows")
        let rate = Double(restored) / elapsed
        emit(["bench": "sqlite3_restore", "impl": "sqlite3", "records": restored, "seconds": round(elapsed, 3), "records_per_s": Int(rate),
              "bootstrap_ratio": round(ours / rate, 3),
              "via": "sqlite3 .import --csv into staging tables, then in one transaction: the lists' indexes dropped, one INSERT ... SELECT per table into the tenant schema (its other indexes, triggers), the lists' indexes built; WAL, synchronous=NORMAL"])
    }

    private func sqlite3(_ database: URL, _ commands: [String], output: FileHandle? = nil) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: settings.sqlite3)
        process.arguments = [database.path] + commands.flatMap { ["-cmd", $0] } + [".quit"]
        process.standardOutput = output ?? FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw BenchError("sqlite3 \(commands) exited \(process.terminationStatus)") }
    }

    private func sqlite3Output(_ database: URL, _ query: String) throws -> String {
        let process = Process()
        let pipe = Pipe()
        process.executableURL = URL(fileURLWithPath: settings.sqlite3)
        process.arguments = [database.path, query]
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// When a push's last batch was settled, and the process's CPU seconds then (the push benchmark's
/// split of one sync into its push and its pull).
private final class PushEnd: Sendable {
    let mark = Mutex<(ContinuousClock.Instant, Double)?>(nil)
}
