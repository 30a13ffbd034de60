import DunlinClient
import DunlinWire
import Foundation
import Logging

/// One laptop: a replica file and a client for its profile (user `u-bench`, a manager), synced by
/// ``SyncEngine`` as `dunlin sync` syncs.
public struct Laptop: Sendable {
    public let replica: Replica
    public let client: RPCClient
    public let batch: Int

    public init(token: String, tenant: String, port: Int, path: String, batch: Int, compress: Bool, userID: String = "u-bench") throws {
        let profile = Profile(
            name: token, server: "127.0.0.1:\(port)", token: token, replicaID: Profile.newReplicaID(),
            userID: userID, userName: "Bench", tenantID: tenant, role: "manager"
        )
        replica = try Replica(profile: profile, path: path)
        client = RPCClient(
            configuration: .init(host: "127.0.0.1", port: port, token: token, replicaID: profile.replicaID, clientVersion: "dunlin/bench",
                                 schemaVersion: SyncMethods.schemaVersion, compressRequests: compress, connectPatience: .seconds(30)),
            logger: quietLogger(label: "bench.client")
        )
        self.batch = batch
    }

    public func engine() -> SyncEngine {
        var engine = SyncEngine(replica: replica, client: client)
        engine.batchSize = batch
        return engine
    }

    public func close() async { await client.close() }
}

/// A logger that writes nothing below critical: the benchmarks' servers and clients.
public func quietLogger(label: String) -> Logger {
    var logger = Logger(label: label)
    logger.logLevel = .critical
    return logger
}
