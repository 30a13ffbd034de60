import DunlinClient
import DunlinStore
import DunlinWire
import Foundation

/// The tenant's people by id, so tables show a name where a record holds a user id (a task's
/// assignee, an activity's author, a customer's analyst); `--json` keeps the ids.
///
/// Where the names come from (README, "People by name"): against a server, `Admin/ListPeople`,
/// which any tenant role may call; on a profile's replica, the copy of that list the last
/// `dunlin login` or `dunlin sync` saved beside the replica (`people.json`, 0600), plus the
/// profile's own user. An id no list knows (a user added since, an old server) shows as the id.
struct People: Sendable {
    var names: [String: String]

    static let none = People(names: [:])

    /// The person's name, or the id itself when it names no one known (or is empty).
    func name(_ id: String) -> String { names[id] ?? id }

    /// The names, when `Kind`'s table shows a user.
    static func lookUp<Kind: RecordCommandKind>(for _: Kind.Type, connection: ConnectionOptions, client: any UnaryCaller) async -> People {
        Kind.showsPeople ? await lookUp(connection: connection, client: client) : .none
    }

    /// The names as `client` knows them: the replica's saved copy, or the server's list. Never
    /// fails: without names, tables show ids.
    static func lookUp(connection: ConnectionOptions, client: any UnaryCaller) async -> People {
        if let replica = client as? Replica { return saved(for: replica.profile) }
        return (try? await fetch(from: client, options: connection.callOptions)) ?? .none
    }

    /// Every page of `Admin/ListPeople`.
    static func fetch(from client: any UnaryCaller, options: RPCClient.CallOptions) async throws -> People {
        var names: [String: String] = [:]
        var cursor = ""
        repeat {
            let page = try await client.unary(Admin.listPeople, .with { $0.pageSize = 1000; $0.cursor = cursor }, options: options)
            for user in page.users { names[user.id] = user.name }
            cursor = page.nextCursor
        } while !cursor.isEmpty
        return People(names: names)
    }

    /// Saves the server's list for `profile`'s offline tables; a failure leaves the last copy.
    static func refresh(for profile: Profile, from client: any UnaryCaller, options: RPCClient.CallOptions) async {
        guard let people = try? await fetch(from: client, options: options), let data = try? JSONEncoder().encode(people.names) else { return }
        try? OwnerOnlyFiles.write(data, to: file(of: profile))
    }

    /// The copy saved for `profile`, and its own user.
    static func saved(for profile: Profile) -> People {
        var names = (try? Data(contentsOf: file(of: profile))).flatMap { try? JSONDecoder().decode([String: String].self, from: $0) } ?? [:]
        if !profile.userID.isEmpty, !profile.userName.isEmpty { names[profile.userID] = profile.userName }
        return People(names: names)
    }

    private static func file(of profile: Profile) -> URL {
        URL(fileURLWithPath: profile.replicaPath).deletingLastPathComponent().appendingPathComponent("people.json")
    }
}

/// Customers' names by id, for tables that would otherwise show a customer id (notices,
/// escalations); `--json` keeps the ids. One GetCustomer per distinct customer, answered by the
/// replica offline; a customer that cannot be read shows as its id.
enum CustomerNames {
    static func lookUp(_ ids: [String], client: any UnaryCaller, connection: ConnectionOptions) async -> [String: String] {
        var names: [String: String] = [:]
        for id in Set(ids) {
            names[id] = try? await client.unary(Receivables.getCustomer, .with { $0.id = id }, options: connection.callOptions).customer.name
        }
        return names
    }
}
