/// The Sync service (Protocol/sync.proto, PROTOCOL.md §16.2): how a replica catches up with the
/// server and hands it the changes made offline. Every method needs a tenant role; pushing needs
/// the role the same RPC would need for each change.
public enum SyncMethods {
    /// A snapshot of current state, in checksummed batches; the last one carries the checkpoint.
    public static let bootstrap = MethodDescriptor<Dunlin_V1_BootstrapRequest, Dunlin_V1_SyncBatch>(
        path: "/dunlin.v1.Sync/Bootstrap", kind: .serverStreaming
    )
    /// The change feed after a checkpoint, in checksummed batches, until caught up.
    public static let pull = MethodDescriptor<Dunlin_V1_PullRequest, Dunlin_V1_SyncBatch>(
        path: "/dunlin.v1.Sync/Pull", kind: .serverStreaming
    )
    /// The outbox: deduplicated by dot, answered only after the commit.
    public static let push = MethodDescriptor<Dunlin_V1_PushRequest, Dunlin_V1_PushResponse>(
        path: "/dunlin.v1.Sync/Push", kind: .unary
    )
    /// A notice whenever the tenant's change sequence moves past what the replica has.
    public static let watch = MethodDescriptor<Dunlin_V1_WatchRequest, Dunlin_V1_WatchNotice>(
        path: "/dunlin.v1.Sync/Watch", kind: .serverStreaming
    )

    /// The tenant's replicas and the tombstone horizon (tenant admins).
    public static let listReplicas = MethodDescriptor<Dunlin_V1_ListReplicasRequest, Dunlin_V1_ListReplicasResponse>(
        path: "/dunlin.v1.Sync/ListReplicas", kind: .unary
    )
    /// Takes a lost replica out of the horizon (tenant admins).
    public static let retireReplica = MethodDescriptor<Dunlin_V1_RetireReplicaRequest, Dunlin_V1_ReplicaInfo>(
        path: "/dunlin.v1.Sync/RetireReplica", kind: .unary
    )

    /// Whether `id` is a replica id as PROTOCOL.md §16.2 defines it: `r` and 32 lower-case hex
    /// digits (128 random bits, so two laptops never pick the same one). HELLO's replica id, when
    /// present, and every Sync request's must have this form; anything else is refused before it
    /// can name a checkpoint or a dot.
    public static func isValidReplicaID(_ id: String) -> Bool {
        let bytes = Array(id.utf8)
        return bytes.count == 33 && bytes[0] == UInt8(ascii: "r")
            && bytes.dropFirst().allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }

    /// The replica schema this build speaks. A client announcing an older one in HELLO is told to
    /// upgrade before anything is read or written.
    ///
    /// 2: records travel in the language-neutral sync form (PROTOCOL.md §16.2 "Record forms":
    /// RPC field names, amounts in `minor` units, int64 as decimal strings, instants in Unix
    /// milliseconds). 1 was the DunlinCore types' Swift Codable form; a replica file written by
    /// it is upgraded in place when this build opens it (DunlinStore's "v9" migration).
    ///
    /// 3: ledger entries and activities travel packed (`SyncRecord.ledger_entry` and `.activity`,
    /// PROTOCOL.md §16.2 "Packed forms"), which a version 2 client cannot read; the replica file is
    /// the same, so nothing is migrated.
    public static let schemaVersion: UInt32 = 3
}
