/// A conflict as a record every replica holds (kind "sync_conflict"): what was kept, what was set
/// aside, who wrote each, and whether an analyst has settled it. Settling is an edit like any other.
public struct ConflictRecord: Sendable, Hashable, Codable, Identifiable {
    public enum Status: String, Sendable, Hashable, Codable {
        case open
        case settled
    }

    public var id: String
    public var kind: String
    public var recordID: String
    public var field: String
    public var kept: FieldValue
    public var keptBy: String
    public var keptAt: Int64
    public var lost: FieldValue
    public var lostBy: String
    public var lostAt: Int64
    public var status: Status
    public var settledBy: String

    public init(_ conflict: Conflict) {
        id = conflict.id
        kind = conflict.kind
        recordID = conflict.recordID
        field = conflict.field
        kept = conflict.kept
        keptBy = conflict.keptStamp.origin
        keptAt = conflict.keptStamp.at
        lost = conflict.lost
        lostBy = conflict.lostStamp.origin
        lostAt = conflict.lostStamp.at
        status = .open
        settledBy = ""
    }
}
