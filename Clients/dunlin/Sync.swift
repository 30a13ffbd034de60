import ArgumentParser
import DunlinClient
import DunlinCore
import DunlinStore
import DunlinSync
import DunlinTLS
import DunlinWire
import Foundation
import Synchronization

// The offline replica and its sync: login, sync, status, conflicts, exceptions.

/// The profile the command works on; a clear error when there is none.
func requireProfile(_ connection: ConnectionOptions) throws -> Profile {
    guard let profile = try Profile.load(connection.profileName) else {
        throw ValidationError("no profile \"\(connection.profileName)\": run `dunlin login --server HOST:PORT --token-file FILE` first")
    }
    return profile
}

/// The profile's replica, for a command that only a whole replica can answer: refused (exit 109,
/// reason `not_bootstrapped` in `--json`) until its first bootstrap has finished.
func bootstrappedReplica(_ connection: ConnectionOptions) throws -> Replica {
    let replica = try Replica(profile: try requireProfile(connection))
    do {
        try replica.requireBootstrapped()
    } catch {
        throw connection.report(error)
    }
    return replica
}

/// "39,300": counts a person reads at a glance.
func grouped(_ count: Int) -> String {
    let digits = String(count.magnitude)
    var text = ""
    for (index, digit) in digits.enumerated() {
        if index > 0, (digits.count - index) % 3 == 0 { text.append(",") }
        text.append(digit)
    }
    return count < 0 ? "-" + text : text
}

/// One line on a terminal's stderr that a sync rewrites in place as its batches are answered
/// (`pushed 2,500 of 39,300; pulled 1,000`). Made only when stderr is a terminal: a script, whose
/// stderr is a pipe or a file, sees no progress, only the final line on stdout.
final class ProgressLine: Sendable {
    private struct State {
        var pushed = ""
        var pulled = ""
    }

    private let state = Mutex(State())

    private init() {}

    /// A progress line, or nil when stderr is not a terminal.
    static func onTerminal() -> ProgressLine? {
        isatty(STDERR_FILENO) == 1 ? ProgressLine() : nil
    }

    func show(_ progress: SyncProgress) {
        state.withLock { state in
            switch progress {
            case .pushed(let done, let total): state.pushed = "pushed \(grouped(done)) of \(grouped(total))"
            case .pulled(let count): state.pulled = "pulled \(grouped(count))"
            }
            let line = [state.pushed, state.pulled].filter { !$0.isEmpty }.joined(separator: "; ")
            // Carriage return, the line, then erase what a longer earlier line left to its right.
            FileHandle.standardError.write(Data("\r\(line)\u{1B}[K".utf8))
        }
    }

    /// Ends the line (if anything was shown), so whatever is printed next starts on its own line.
    func finish() {
        state.withLock { state in
            guard !state.pushed.isEmpty || !state.pulled.isEmpty else { return }
            FileHandle.standardError.write(Data("\n".utf8))
            state = State()
        }
    }
}

private func summary(_ report: SyncReport) -> String {
    var parts: [String] = []
    if report.bootstrapped { parts.append("bootstrapped") }
    parts.append("pushed \(report.pushed) (\(report.accepted) accepted, \(report.duplicates) already there, \(report.refused) refused)")
    parts.append("pulled \(report.pulled)")
    parts.append("checkpoint \(report.checkpoint)")
    if report.openConflicts > 0 { parts.append("\(report.openConflicts) open conflicts (dunlin conflicts)") }
    if report.openExceptions > 0 { parts.append("\(report.openExceptions) open exceptions (dunlin exceptions)") }
    return parts.joined(separator: "; ")
}

private func reportJSON(_ report: SyncReport) -> [String: Any] {
    [
        "bootstrapped": report.bootstrapped, "pushed": report.pushed, "accepted": report.accepted, "duplicates": report.duplicates,
        "refused": report.refused, "pulled": report.pulled, "checkpoint": report.checkpoint,
        "open_conflicts": report.openConflicts, "open_exceptions": report.openExceptions,
    ]
}

struct Login: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Store a sync profile (server and token), create its local replica and sync it.",
        discussion: """
            Afterwards every receivables and records command works on the replica, online or not; `dunlin sync` reconciles.

            TLS: a server whose certificate no trusted CA signed (dunlind's own self-signed one) is shown by \
            its SHA-256 fingerprint; on a terminal you are asked whether to trust it, as ssh asks about a \
            new host key; compare it with the one `dunlind init` printed. Scripts pass --fingerprint (or \
            DUNLIN_FINGERPRINT); without a terminal an unpinned certificate is refused (exit 116). The \
            profile keeps the fingerprint, and every later connection refuses any other certificate \
            (reason certificate_changed) until you log in again with the new one.
            """
    )

    @Option(help: "Server as HOST:PORT.") var server: String
    @Option(help: "API token (or set DUNLIN_TOKEN). Other local users can see it in the process list: prefer --token-file.") var token: String?
    @Option(help: "Read the API token from this file, or from standard input if \"-\" (e.g. `pass show dunlin | dunlin login --token-file -`).")
    var tokenFile: String?
    @Option(help: "Profile name (default \"default\").") var profile = "default"
    @Option(help: "Seconds to wait for the server.") var timeout: Double = 30
    @Flag(help: "Print JSON instead of text.") var json = false
    @OptionGroup var transport: TransportOptions

    func validate() throws {
        try validateTimeout(timeout)
        if token != nil, tokenFile != nil { throw ValidationError("give --token or --token-file, not both") }
    }

    func run() async throws {
        let connection = try ConnectionOptions.parse(json ? ["--json"] : [])
        let given = try tokenFile.map(readToken(from:)) ?? token ?? ProcessInfo.processInfo.environment["DUNLIN_TOKEN"]
        guard let token = given, !token.isEmpty else {
            throw ValidationError("a token is needed: --token-file PATH (or - for standard input), DUNLIN_TOKEN, or --token")
        }
        let existing = try Profile.load(profile)
        var draft = Profile(
            name: profile, server: server, token: token, replicaID: existing?.replicaID ?? Profile.newReplicaID(),
            userID: "", userName: "", tenantID: "", role: ""
        )
        // The same server keeps its pin; another server starts from what is given.
        let request = try transport.request(saved: existing?.server == server ? existing?.transport : nil)
        draft.transport = request.isEmpty ? nil : request
        guard RPCClient.Configuration.hostAndPort(server) != nil else { throw ValidationError("--server must be HOST:PORT, got \"\(server)\"") }
        do {
            _ = try request.resolve(host: RPCClient.Configuration.hostAndPort(server)!.host)
        } catch {
            throw ValidationError(error.message)
        }
        var client = try SyncEngine.client(for: draft, timeout: .milliseconds(Int64(timeout * 1000)))
        do {
            let welcome: Dunlin_V1_Welcome
            do {
                welcome = try await client.connect()
            } catch let error as RPCError {
                // A certificate no CA vouches for, and nothing pinned or trusted was asked for:
                // show it and ask, as ssh does for a new host key.
                guard let presented = Self.unpinnedCertificate(error), request.fingerprint == nil, request.caFile == nil,
                      Self.askToTrust(server: server, fingerprint: presented)
                else { throw error }
                await client.close()
                draft.transport = TransportRequest(
                    fingerprint: presented, clientCertificateFile: request.clientCertificateFile, clientKeyFile: request.clientKeyFile
                )
                client = try SyncEngine.client(for: draft, timeout: .milliseconds(Int64(timeout * 1000)))
                welcome = try await client.connect()
            }
            guard !welcome.principal.tenantID.isEmpty, Role(rawValue: welcome.principal.role) != nil, welcome.principal.role != Role.serverAdmin.rawValue else {
                throw RPCError(.permissionDenied, "this token is not a tenant user's (it is \(welcome.principal.role)); a replica holds one tenant's data")
            }
            if let existing, existing.tenantID != welcome.principal.tenantID || existing.userID != welcome.principal.id {
                throw RPCError(.failedPrecondition, "profile \(profile) belongs to \(existing.userName) in \(existing.tenantID); use another --profile")
            }
            draft.userID = welcome.principal.id
            draft.userName = welcome.principal.name
            draft.tenantID = welcome.principal.tenantID
            draft.role = welcome.principal.role
            draft.userTimeZone = welcome.principal.timeZone
            try draft.save()
            let replica = try Replica(profile: draft)
            if existing != nil, try !replica.isBootstrapped() {
                FileHandle.standardError.write(Data("dunlin: the first sync of profile \(profile) did not finish; bootstrapping it again\n".utf8))
            }
            var engine = SyncEngine(replica: replica, client: client)
            let progress = ProgressLine.onTerminal()
            if let progress { engine.onProgress = { @Sendable in progress.show($0) } }
            let report: SyncReport
            do {
                report = try await engine.sync()
                progress?.finish()
            } catch {
                progress?.finish()
                throw error
            }
            await People.refresh(for: draft, from: client, options: connection.callOptions)
            await client.close()
            if json {
                var object: [String: Any] = ["profile": profile, "tenant": draft.tenantID, "user": draft.userName, "role": draft.role, "replica": draft.replicaPath, "sync": reportJSON(report)]
                if let pinned = draft.transport?.fingerprint { object["fingerprint"] = pinned.description }
                printJSON(object)
            } else {
                say("logged in as \(draft.userName) (\(draft.role)) in \(draft.tenantID); profile \(profile)")
                if let pinned = draft.transport?.fingerprint { say("server certificate pinned: \(pinned)") }
                say("replica: \(draft.replicaPath)")
                say(summary(report))
            }
        } catch {
            await client.close()
            throw connection.report(error)
        }
    }
}

extension Login {
    /// The fingerprint of a certificate refused as untrusted (the one to offer pinning), else nil.
    static func unpinnedCertificate(_ error: RPCError) -> CertificateFingerprint? {
        guard error.code == .unauthenticated,
              let detail = error.details.first(where: { $0.reason == CertificateRefusal.Reason.untrusted.rawValue })
        else { return nil }
        return CertificateFingerprint(detail.recordID)
    }

    /// Asks on the terminal whether to trust and pin `fingerprint`; false, without asking, when
    /// standard input or standard error is not a terminal (a script must pass --fingerprint).
    static func askToTrust(server: String, fingerprint: CertificateFingerprint) -> Bool {
        guard isatty(STDIN_FILENO) == 1, isatty(STDERR_FILENO) == 1 else { return false }
        FileHandle.standardError.write(Data("""
            The server at \(server) presented a certificate that no trusted CA signed.
            Its SHA-256 fingerprint is:

              \(fingerprint)

            Compare it with the one its operator gave you (`dunlind init` and `dunlind certificate --show` print it).

            """.utf8) + Data("Trust this certificate and pin it to this profile? (yes/no) ".utf8))
        let answer = readLine()?.trimmingCharacters(in: .whitespaces).lowercased() ?? ""
        return answer == "yes" || answer == "y"
    }
}

struct SyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync",
        abstract: "Push local changes and pull the server's; with --watch, stay connected and keep syncing."
    )

    @OptionGroup var connection: ConnectionOptions
    @Flag(help: "Stay connected: sync on local changes, on the server's notice and after reconnecting. Ends, with sync's exit code, on a refusal no retry mends (a certificate or token refused: 116).") var watch = false

    func run() async throws {
        let profile = try requireProfile(connection)
        let replica = try Replica(profile: profile)
        // --timeout is how long to keep trying to reach the server (UNAVAILABLE, exit 114, after
        // it); once connected, each batch has its own deadline (SyncEngine).
        let client = try SyncEngine.client(for: profile, timeout: .milliseconds(Int64(connection.timeout * 1000)))
        var engine = SyncEngine(replica: replica, client: client)
        let progress = ProgressLine.onTerminal()
        if let progress { engine.onProgress = { @Sendable in progress.show($0) } }
        let json = connection.json
        if watch {
            let task = Task { [engine] in
                await engine.watch { event in
                    progress?.finish()
                    let stamp = ISO8601DateFormatter().string(from: WallClock.system.now())
                    switch event {
                    case .stopped:
                        break // reported below, as the one-shot sync reports it, with its exit code
                    case .synced(let report):
                        if json { printJSON(["at": stamp, "sync": reportJSON(report)]) } else { say("\(stamp) \(summary(report))") }
                    case .failed(let error, let retryIn):
                        let seconds = String(format: "%.1f", Double(retryIn.milliseconds) / 1000)
                        FileHandle.standardError.write(Data("\(stamp) dunlin: sync failed: \(terminalSafe("\(error)")); retrying in \(seconds) s\n".utf8))
                        if json {
                            let failure = (error as? RPCError) ?? RPCError(.unknown, "\(error)")
                            printJSON([
                                "at": stamp, "retry_in_ms": retryIn.milliseconds,
                                "error": ["code": failure.code.description, "status": Int(failure.code.rawValue), "message": failure.message],
                            ])
                        }
                    }
                    fflush(nil)
                }
            }
            // SIGINT and SIGTERM end the watch; whatever was pushed is safe (acknowledged after commit).
            let sources = [SIGINT, SIGTERM].map { signal in
                Foundation.signal(signal, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: signal)
                source.setEventHandler { task.cancel() }
                source.resume()
                return source
            }
            let ended = await task.value
            progress?.finish()
            sources.forEach { $0.cancel() }
            await client.close()
            // A refused certificate or token: retrying would not mend it, so the watch ends
            // with the exit code `dunlin sync` gives for it.
            if let ended { throw connection.report(ended) }
            return
        }
        do {
            let report = try await engine.sync()
            progress?.finish()
            await People.refresh(for: profile, from: client, options: connection.callOptions)
            await client.close()
            if json { printJSON(reportJSON(report)) } else { say(summary(report)) }
        } catch {
            progress?.finish()
            await client.close()
            throw connection.report(error)
        }
    }
}

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Pending changes, last sync, conflicts, exceptions and refused changes of the replica.")
    @OptionGroup var connection: ConnectionOptions
    @Option(help: "Stop listing a refused change, by its number (repeat for several); it was never applied anywhere.")
    var dismiss: [Int64] = []

    func run() async throws {
        if connection.server != nil { return try await serverStatus() }
        let profile = try requireProfile(connection)
        let store = try Replica(profile: profile).store
        do {
            for counter in dismiss { try store.dismissRefused(counter: counter) }
        } catch {
            throw connection.report(error)
        }
        let pending = try store.pendingCount()
        let lastSync = try store.syncValue(.lastSync) ?? "never"
        let bootstrapped = try store.syncValue(.checkpoint) != nil
        let checkpoint = try store.syncValue(.checkpoint) ?? "none: not bootstrapped (its first sync did not finish; run dunlin sync)"
        let conflicts = try store.conflicts()
        let exceptions = try store.exceptions()
        let refused = try store.refusedChanges()
        if connection.json {
            printJSON([
                "profile": profile.name, "server": profile.server, "tenant": profile.tenantID, "user": profile.userName,
                "pending_changes": pending, "last_sync": lastSync, "checkpoint": checkpoint, "bootstrapped": bootstrapped,
                "open_conflicts": conflicts.count, "open_exceptions": exceptions.count,
                "refused": refused.map { ["counter": $0.counter, "kind": $0.kind, "id": $0.id, "status": Int($0.refusal.code), "message": $0.refusal.message, "field": $0.refusal.field] },
            ])
            return
        }
        printTable([
            ["item", "value"],
            ["profile", "\(profile.name): \(profile.userName) (\(profile.role)) in \(profile.tenantID) at \(profile.server)"],
            ["pending changes", "\(pending)"],
            ["last sync", localTime(iso: lastSync)],
            ["checkpoint", checkpoint],
            ["open conflicts", "\(conflicts.count)"],
            ["open exceptions", "\(exceptions.count)"],
            ["refused changes", "\(refused.count)"],
        ])
        let settled = Dictionary(try store.conflicts(includeSettled: true).filter { $0.status == .settled }.map { ($0.id, $0) }) { first, _ in first }
        for change in refused {
            let code = StatusCode(rawValue: change.refusal.code)?.description ?? "\(change.refusal.code)"
            // A settlement someone else made first: say who, in names, once the pull has it.
            if change.kind == RecordKind.syncConflict.rawValue, let first = settled[change.id], first.settledBy != profile.userID {
                say("refused #\(change.counter): your settlement of conflict \(change.id) (\(code)): it was \(ConflictsCommand.status(Dunlin_V1_SyncConflict(first), People.saved(for: profile)))")
                continue
            }
            say("refused #\(change.counter) \(change.kind) \(change.id): \(code): \(change.refusal.message)")
        }
    }
}

extension Status {
    /// `status --server`: the server's own view, what sync set aside there (a replica's pending
    /// changes and checkpoint are the laptop's, so they are not part of it).
    func serverStatus() async throws {
        guard dismiss.isEmpty else { throw ValidationError("--dismiss: refused changes are a replica's; drop --server") }
        try await connection.withClient { client in
            let conflicts = try await client.unary(Records.listConflicts, .init(), options: connection.callOptions).conflicts
            let exceptions = try await client.unary(Records.listExceptions, .init(), options: connection.callOptions).exceptions
            if connection.json {
                printJSON(["server": connection.serverAddress, "open_conflicts": conflicts.count, "open_exceptions": exceptions.count])
                return
            }
            printTable([
                ["item", "value"],
                ["server", connection.serverAddress],
                ["open conflicts", "\(conflicts.count)"],
                ["open exceptions", "\(exceptions.count)"],
            ])
        }
    }
}

struct ConflictsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "conflicts", abstract: "Concurrent edits the sync resolved, with both sides.",
        subcommands: [List.self, Show.self, Settle.self], defaultSubcommand: List.self
    )

    /// The conflicts of the replica, or of the server with `--server`, and the people they name.
    static func list(_ connection: ConnectionOptions, includeSettled: Bool, _ body: ([Dunlin_V1_SyncConflict], People) throws -> Void) async throws {
        try await connection.withCaller { client in
            let conflicts = try await client.unary(Records.listConflicts, .with { $0.includeSettled = includeSettled }, options: connection.callOptions).conflicts
            try body(conflicts, connection.json ? .none : await People.lookUp(connection: connection, client: client))
        }
    }

    /// One side of a conflict for people: the value and who wrote it.
    static func side(_ value: String, by origin: String, user: String, device: String, own: String?, _ people: People) -> String {
        "\(value) (\(writer(origin, user: user, device: device, ownReplica: own, people: people)))"
    }

    /// A conflict's status for people: "open", or how and by whom it was settled.
    static func status(_ conflict: Dunlin_V1_SyncConflict, _ people: People) -> String {
        guard conflict.status == ConflictRecord.Status.settled.rawValue else { return conflict.status }
        let chosen = conflict.outcome == ConflictRecord.Outcome.setAside.rawValue ? "put back \(conflict.lost)" : "kept \(conflict.kept)"
        let when = conflict.settledAtMs == 0 ? "" : " at \(localTime(milliseconds: conflict.settledAtMs))"
        return "settled by \(people.name(conflict.settledBy))\(when): \(chosen)"
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Open conflicts (--all: settled ones too).")
        @OptionGroup var connection: ConnectionOptions
        @Flag(help: "Include settled conflicts.") var all = false

        func run() async throws {
            try await ConflictsCommand.list(connection, includeSettled: all) { conflicts, people in
                if connection.json { return printJSON(conflicts.map(ConflictsCommand.json)) }
                guard !conflicts.isEmpty else { return say("no open conflicts") }
                let own = try connection.activeProfile()?.replicaID
                printTable([["id", "record", "field", "kept", "set aside", "status"]] + conflicts.map {
                    [$0.id, "\($0.kind) \($0.recordID)", $0.field,
                     ConflictsCommand.side($0.kept, by: $0.keptBy, user: $0.keptByUser, device: $0.keptDevice, own: own, people),
                     ConflictsCommand.side($0.lost, by: $0.lostBy, user: $0.lostByUser, device: $0.lostDevice, own: own, people),
                     ConflictsCommand.status($0, people)]
                })
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Both sides of one conflict.")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Conflict id.") var id: String

        func run() async throws {
            try await ConflictsCommand.list(connection, includeSettled: true) { conflicts, people in
                guard let conflict = conflicts.first(where: { $0.id == id }) else {
                    throw RPCError(.notFound, "no conflict \(id)")
                }
                if connection.json { return printJSON(ConflictsCommand.json(conflict)) }
                let own = try connection.activeProfile()?.replicaID
                say("\(conflict.kind) \(conflict.recordID), field \(conflict.field): \(ConflictsCommand.status(conflict, people))")
                let keptBy = writer(conflict.keptBy, user: conflict.keptByUser, device: conflict.keptDevice, ownReplica: own, people: people)
                let lostBy = writer(conflict.lostBy, user: conflict.lostByUser, device: conflict.lostDevice, ownReplica: own, people: people)
                say("  kept:      \(conflict.kept)  (by \(keptBy) at \(localTime(milliseconds: conflict.keptAtMs)))")
                say("  set aside: \(conflict.lost)  (by \(lostBy) at \(localTime(milliseconds: conflict.lostAtMs)))")
            }
        }
    }

    struct Settle: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Settle a conflict: keep what everyone sees, or put the set-aside value back.")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Conflict id.") var id: String
        @Option(help: "Which value stays, in the words the conflict table uses.") var keep: Side = .kept

        /// The two values of a conflict, named as `dunlin conflicts` shows them ("lost" is the
        /// old spelling of set-aside, still read).
        enum Side: String, ExpressibleByArgument, CaseIterable {
            case kept
            case setAside = "set-aside"

            init?(argument: String) {
                switch argument {
                case "kept": self = .kept
                case "set-aside", "set_aside", "lost": self = .setAside
                default: return nil
                }
            }
        }

        func run() async throws {
            // Settling is an edit of the replica that sync carries; the server has no edit of its own.
            guard connection.server == nil else { throw ValidationError("--server: settle a conflict on your replica (drop --server); `dunlin sync` sends it") }
            let profile = try requireProfile(connection)
            do {
                let store = try bootstrappedReplica(connection).store
                // Settled already (here, or by someone whose settlement was pulled): say by whom.
                if let first = try store.conflicts(includeSettled: true).first(where: { $0.id == id && $0.status == .settled }) {
                    let shown = Dunlin_V1_SyncConflict(first)
                    throw RPCError(.failedPrecondition, "conflict \(id) is \(ConflictsCommand.status(shown, People.saved(for: profile)))",
                                   details: [.with { $0.field = "id"; $0.reason = "already_settled" }])
                }
                let conflict = try store.settleConflict(id, outcome: keep == .setAside ? .setAside : .kept, by: profile.userID)
                let settled = Dunlin_V1_SyncConflict(conflict)
                if connection.json { printJSON(ConflictsCommand.json(settled)) } else {
                    say("settled \(id): \(conflict.field) is \(keep == .setAside ? settled.lost : settled.kept); `dunlin sync` sends it")
                }
            } catch {
                throw connection.report(error)
            }
        }
    }

    static func json(_ conflict: Dunlin_V1_SyncConflict) -> [String: Any] {
        [
            "id": conflict.id, "kind": conflict.kind, "record_id": conflict.recordID, "field": conflict.field,
            "kept": conflict.kept, "kept_by": conflict.keptBy, "kept_at_ms": conflict.keptAtMs,
            "lost": conflict.lost, "lost_by": conflict.lostBy, "lost_at_ms": conflict.lostAtMs,
            "status": conflict.status, "settled_by": conflict.settledBy,
            "kept_by_user": conflict.keptByUser, "kept_device": conflict.keptDevice,
            "lost_by_user": conflict.lostByUser, "lost_device": conflict.lostDevice,
            "outcome": conflict.outcome, "settled_at_ms": conflict.settledAtMs,
        ]
    }
}

struct ExceptionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exceptions", abstract: "The reconciliation queue: ledger invariants broken after a merge.",
        subcommands: [List.self, Resolve.self, Dismiss.self], defaultSubcommand: List.self
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Open exceptions (--all: resolved ones too).")
        @OptionGroup var connection: ConnectionOptions
        @Flag(help: "Include resolved exceptions.") var all = false

        func run() async throws {
            try await connection.withCaller { client in
                let exceptions = try await client.unary(Records.listExceptions, .with { $0.includeResolved = all }, options: connection.callOptions).exceptions
                if connection.json {
                    printJSON(exceptions.map { item in
                        [
                            "id": item.id, "kind": item.kind, "subject_id": item.subjectID, "customer_id": item.customerID,
                            "excess": json(item.excess), "entry_ids": item.entryIds, "holds": item.holds, "status": item.status, "detected_at": item.detectedAt,
                        ] as [String: Any]
                    })
                    return
                }
                guard !exceptions.isEmpty else { return say("no open exceptions") }
                printTable([["id", "kind", "subject", "customer", "excess", "entries", "dunning held on", "status"]] + exceptions.map { item in
                    [
                        item.id, item.kind, item.subjectID, item.customerID, "\(item.excess.currency) \(text(item.excess))",
                        item.entryIds.joined(separator: " "), item.holds.joined(separator: " "), item.status,
                    ]
                })
                say("dunning is held on these invoices until each exception is resolved with a reversing entry (dunlin exceptions resolve)")
            }
        }
    }

    struct Dismiss: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Dismiss a possible duplicate payment: both payments are real (this replica only; it does not sync)."
        )
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Exception id (a possible_duplicate_payment).") var id: String

        func run() async throws {
            guard connection.server == nil else { throw ValidationError("--server: dismiss on your replica (drop --server)") }
            let store = try Replica(profile: try requireProfile(connection)).store
            do {
                try store.dismissException(id)
            } catch {
                throw connection.report(error)
            }
            if connection.json { printJSON(["id": id, "status": "dismissed"]) } else { say("dismissed \(id)") }
        }
    }

    struct Resolve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Resolve an exception by reversing one of its entries (an unapply for an application, a void for a payment).")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Exception id.") var id: String
        @Option(help: "The entry to reverse (one of the exception's entries).") var entry: String

        func run() async throws {
            try await connection.withCaller { client in
                let open = { try await client.unary(Records.listExceptions, .init(), options: connection.callOptions).exceptions }
                guard let item = try await open().first(where: { $0.id == id }) else {
                    throw RPCError(.notFound, "no open exception \(id)")
                }
                guard item.entryIds.contains(entry) else {
                    throw RPCError(.invalidArgument, "\(entry) is not one of \(id)'s entries: \(item.entryIds.joined(separator: ", "))")
                }
                // An application is unapplied; anything else (a payment recorded twice) is voided
                // with a reversing entry, which needs the role voiding that entry needs.
                let reversed = try await client.unary(Receivables.getEntry, .with { $0.id = entry }, options: connection.callOptions)
                let reversalID: String
                if reversed.kind == LedgerEntryKind.application.rawValue {
                    reversalID = try await client.unary(Receivables.unapply, .with { $0.applicationID = entry; $0.memo = "resolves \(id)" }, options: connection.callOptions).reversal.id
                } else {
                    reversalID = RecordID.new(for: LedgerEntryKind.reversal)
                    _ = try await client.unary(Receivables.postEntries, .with {
                        $0.entries = [.with {
                            $0.id = reversalID; $0.kind = LedgerEntryKind.reversal.rawValue; $0.customerID = reversed.customerID
                            $0.amount = reversed.amount; $0.targetID = entry; $0.memo = "resolves \(id)"
                        }]
                    }, options: connection.callOptions)
                }
                let resolved = try await !open().contains { $0.id == id }
                if connection.json {
                    printJSON(["reversal": reversalID, "resolved": resolved])
                } else {
                    let syncHint = connection.server == nil ? "; `dunlin sync` sends it" : ""
                    say("reversed \(entry) with \(reversalID); \(resolved ? "resolved" : "still open")\(syncHint)")
                }
            }
        }
    }
}
