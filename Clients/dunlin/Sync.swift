import ArgumentParser
import DunlinClient
import DunlinCore
import DunlinStore
import DunlinSync
import DunlinWire
import Foundation

// The offline replica and its sync: login, sync, status, conflicts, exceptions.

/// The profile the command works on; a clear error when there is none.
private func requireProfile(_ connection: ConnectionOptions) throws -> Profile {
    guard let profile = try Profile.load(connection.profileName) else {
        throw ValidationError("no profile \"\(connection.profileName)\": run `dunlin login --server HOST:PORT --token-file FILE` first")
    }
    return profile
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
        discussion: "Afterwards every receivables and records command works on the replica, online or not; `dunlin sync` reconciles."
    )

    @Option(help: "Server as HOST:PORT.") var server: String
    @Option(help: "API token (or set DUNLIN_TOKEN). Other local users can see it in the process list: prefer --token-file.") var token: String?
    @Option(help: "Read the API token from this file, or from standard input if \"-\" (e.g. `pass show dunlin | dunlin login --token-file -`).")
    var tokenFile: String?
    @Option(help: "Profile name (default \"default\").") var profile = "default"
    @Option(help: "Seconds to wait for the server.") var timeout: Double = 30
    @Flag(help: "Print JSON instead of text.") var json = false

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
        let client = try SyncEngine.client(for: draft, timeout: .milliseconds(Int64(timeout * 1000)))
        do {
            let welcome = try await client.connect()
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
            try draft.save()
            let replica = try Replica(profile: draft)
            let report = try await SyncEngine(replica: replica, client: client).sync()
            await People.refresh(for: draft, from: client, options: connection.callOptions)
            await client.close()
            if json {
                printJSON(["profile": profile, "tenant": draft.tenantID, "user": draft.userName, "role": draft.role, "replica": draft.replicaPath, "sync": reportJSON(report)])
            } else {
                say("logged in as \(draft.userName) (\(draft.role)) in \(draft.tenantID); profile \(profile)")
                say("replica: \(draft.replicaPath)")
                say(summary(report))
            }
        } catch {
            await client.close()
            throw connection.report(error)
        }
    }
}

struct SyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync",
        abstract: "Push local changes and pull the server's; with --watch, stay connected and keep syncing."
    )

    @OptionGroup var connection: ConnectionOptions
    @Flag(help: "Stay connected: sync on local changes, on the server's notice and after reconnecting.") var watch = false

    func run() async throws {
        let profile = try requireProfile(connection)
        let replica = try Replica(profile: profile)
        let client = try SyncEngine.client(for: profile, timeout: .milliseconds(Int64(connection.timeout * 1000)))
        let engine = SyncEngine(replica: replica, client: client)
        let json = connection.json
        if watch {
            let task = Task {
                await engine.watch { result in
                    let stamp = ISO8601DateFormatter().string(from: WallClock.system.now())
                    switch result {
                    case .success(let report):
                        if json { printJSON(["at": stamp, "sync": reportJSON(report)]) } else { say("\(stamp) \(summary(report))") }
                    case .failure(let error):
                        FileHandle.standardError.write(Data("\(stamp) dunlin: sync failed, retrying: \(terminalSafe("\(error)"))\n".utf8))
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
            await task.value
            sources.forEach { $0.cancel() }
            await client.close()
            return
        }
        do {
            let report = try await engine.sync()
            await People.refresh(for: profile, from: client, options: connection.callOptions)
            await client.close()
            if json { printJSON(reportJSON(report)) } else { say(summary(report)) }
        } catch {
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
        let profile = try requireProfile(connection)
        let store = try Replica(profile: profile).store
        do {
            for counter in dismiss { try store.dismissRefused(counter: counter) }
        } catch {
            throw connection.report(error)
        }
        let pending = try store.pendingCount()
        let lastSync = try store.syncValue(.lastSync) ?? "never"
        let checkpoint = try store.syncValue(.checkpoint) ?? "none (not bootstrapped)"
        let conflicts = try store.conflicts()
        let exceptions = try store.exceptions()
        let refused = try store.refusedChanges()
        if connection.json {
            printJSON([
                "profile": profile.name, "server": profile.server, "tenant": profile.tenantID, "user": profile.userName,
                "pending_changes": pending, "last_sync": lastSync, "checkpoint": checkpoint,
                "open_conflicts": conflicts.count, "open_exceptions": exceptions.count,
                "refused": refused.map { ["counter": $0.counter, "kind": $0.kind, "id": $0.id, "status": Int($0.refusal.code), "message": $0.refusal.message, "field": $0.refusal.field] },
            ])
            return
        }
        printTable([
            ["item", "value"],
            ["profile", "\(profile.name): \(profile.userName) (\(profile.role)) in \(profile.tenantID) at \(profile.server)"],
            ["pending changes", "\(pending)"],
            ["last sync", lastSync],
            ["checkpoint", checkpoint],
            ["open conflicts", "\(conflicts.count)"],
            ["open exceptions", "\(exceptions.count)"],
            ["refused changes", "\(refused.count)"],
        ])
        for change in refused {
            say("refused #\(change.counter) \(change.kind) \(change.id): \(StatusCode(rawValue: change.refusal.code)?.description ?? "\(change.refusal.code)"): \(change.refusal.message)")
        }
    }
}

struct ConflictsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "conflicts", abstract: "Concurrent edits the sync resolved, with both sides.",
        subcommands: [List.self, Show.self, Settle.self], defaultSubcommand: List.self
    )

    static func describe(_ value: FieldValue) -> String {
        if case .string(let text) = value { return text }
        return value.description
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Open conflicts (--all: settled ones too).")
        @OptionGroup var connection: ConnectionOptions
        @Flag(help: "Include settled conflicts.") var all = false

        func run() async throws {
            let conflicts = try Replica(profile: try requireProfile(connection)).store.conflicts(includeSettled: all)
            if connection.json {
                printJSON(conflicts.map(ConflictsCommand.json))
                return
            }
            guard !conflicts.isEmpty else { return say("no open conflicts") }
            printTable([["id", "record", "field", "kept", "set aside", "status"]] + conflicts.map {
                [$0.id, "\($0.kind) \($0.recordID)", $0.field, "\(describe($0.kept)) (\($0.keptBy))", "\(describe($0.lost)) (\($0.lostBy))", $0.status.rawValue]
            })
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Both sides of one conflict.")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Conflict id.") var id: String

        func run() async throws {
            let conflicts = try Replica(profile: try requireProfile(connection)).store.conflicts(includeSettled: true)
            guard let conflict = conflicts.first(where: { $0.id == id }) else {
                throw connection.report(RPCError(.notFound, "no conflict \(id)"))
            }
            if connection.json { return printJSON(ConflictsCommand.json(conflict)) }
            let time = { (ms: Int64) in ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(ms) / 1000)) }
            say("\(conflict.kind) \(conflict.recordID), field \(conflict.field): \(conflict.status.rawValue)")
            say("  kept:      \(describe(conflict.kept))  (by \(conflict.keptBy) at \(time(conflict.keptAt)))")
            say("  set aside: \(describe(conflict.lost))  (by \(conflict.lostBy) at \(time(conflict.lostAt)))")
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
            let profile = try requireProfile(connection)
            do {
                let conflict = try Replica(profile: profile).store.settleConflict(id, restoreLost: keep == .setAside, by: profile.userID)
                if connection.json { printJSON(ConflictsCommand.json(conflict)) } else {
                    say("settled \(id): \(conflict.field) is \(describe(keep == .setAside ? conflict.lost : conflict.kept)); `dunlin sync` sends it")
                }
            } catch {
                throw connection.report(error)
            }
        }
    }

    static func json(_ conflict: ConflictRecord) -> [String: Any] {
        [
            "id": conflict.id, "kind": conflict.kind, "record_id": conflict.recordID, "field": conflict.field,
            "kept": describe(conflict.kept), "kept_by": conflict.keptBy, "kept_at_ms": conflict.keptAt,
            "lost": describe(conflict.lost), "lost_by": conflict.lostBy, "lost_at_ms": conflict.lostAt,
            "status": conflict.status.rawValue, "settled_by": conflict.settledBy,
        ]
    }
}

struct ExceptionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exceptions", abstract: "The reconciliation queue: ledger invariants broken after a merge.",
        subcommands: [List.self, Resolve.self], defaultSubcommand: List.self
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Open exceptions (--all: resolved ones too).")
        @OptionGroup var connection: ConnectionOptions
        @Flag(help: "Include resolved exceptions.") var all = false

        func run() async throws {
            let store = try Replica(profile: try requireProfile(connection)).store
            try store.recheckInvariants()
            let exceptions = try store.exceptions(includeResolved: all)
            if connection.json {
                printJSON(exceptions.map { item in
                    [
                        "id": item.exception.id, "kind": item.exception.kind.rawValue, "subject_id": item.exception.subjectID,
                        "customer_id": item.exception.customerID, "excess": json(Dunlin_V1_Amount(item.exception.excess)),
                        "entry_ids": item.exception.entryIDs, "holds": item.exception.holds, "status": item.status, "detected_at": item.detectedAt,
                    ] as [String: Any]
                })
                return
            }
            guard !exceptions.isEmpty else { return say("no open exceptions") }
            printTable([["id", "kind", "subject", "customer", "excess", "entries", "dunning held on", "status"]] + exceptions.map { item in
                [
                    item.exception.id, item.exception.kind.rawValue, item.exception.subjectID, item.exception.customerID,
                    item.exception.excess.description, item.exception.entryIDs.joined(separator: " "),
                    item.exception.holds.joined(separator: " "), item.status,
                ]
            })
            say("dunning is held on these invoices until each exception is resolved with a reversing entry (dunlin exceptions resolve)")
        }
    }

    struct Resolve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Resolve an exception by reversing one of its entries (an unapply for an application).")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Exception id.") var id: String
        @Option(help: "The entry to reverse (one of the exception's entries).") var entry: String

        func run() async throws {
            let replica = try Replica(profile: try requireProfile(connection))
            do {
                guard let item = try replica.store.exceptions().first(where: { $0.exception.id == id }) else {
                    throw RPCError(.notFound, "no open exception \(id)")
                }
                guard item.exception.entryIDs.contains(entry) else {
                    throw RPCError(.invalidArgument, "\(entry) is not one of \(id)'s entries: \(item.exception.entryIDs.joined(separator: ", "))")
                }
                let reversal = try await replica.unary(Receivables.unapply, .with { $0.applicationID = entry; $0.memo = "resolves \(id)" })
                let open = try replica.store.recheckInvariants()
                if connection.json {
                    printJSON(["reversal": reversal.reversal.id, "resolved": !open.contains { $0.id == id }])
                } else {
                    say("reversed \(entry) with \(reversal.reversal.id); \(open.contains { $0.id == id } ? "still open" : "resolved"); `dunlin sync` sends it")
                }
            } catch {
                throw connection.report(error)
            }
        }
    }
}
