/// A conflict as a record every replica holds (kind "sync_conflict"): what was kept, what was set
/// aside, who wrote each, and whether an analyst has settled it. Settling is an edit like any other.
/// Its sync form (RecordForms.swift) names the conflicted record `record_kind` and `record_id`.
public struct ConflictRecord: Sendable, Hashable, Identifiable {
    public enum Status: String, Sendable, Hashable, CaseIterable {
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

    public init(
        id: String, kind: String, recordID: String, field: String, kept: FieldValue, keptBy: String, keptAt: Int64,
        lost: FieldValue, lostBy: String, lostAt: Int64, status: Status, settledBy: String
    ) {
        self.id = id
        self.kind = kind
        self.recordID = recordID
        self.field = field
        self.kept = kept
        self.keptBy = keptBy
        self.keptAt = keptAt
        self.lost = lost
        self.lostBy = lostBy
        self.lostAt = lostAt
        self.status = status
        self.settledBy = settledBy
    }

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
