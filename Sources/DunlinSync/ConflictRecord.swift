/// A conflict as a record every replica holds (kind "sync_conflict"): what was kept, what was set
/// aside, who wrote each (the replica, and the person and device behind it), and whether an
/// analyst has settled it. Its sync form (RecordForms.swift) names the conflicted record
/// `record_kind` and `record_id`.
///
/// Settling is one decision with one outcome: the server applies it as an edit of the conflicted
/// field (to the kept or the set-aside value) in the same commit that marks the conflict settled,
/// so the record and the conflict's stated outcome never disagree. A conflict is settled once: a
/// second settlement is refused, naming who settled it first and when (PROTOCOL.md §16.2).
public struct ConflictRecord: Sendable, Hashable, Identifiable {
    public enum Status: String, Sendable, Hashable, CaseIterable {
        case open
        case settled
    }

    /// Which of the two values a settlement made the record's.
    public enum Outcome: String, Sendable, Hashable, CaseIterable {
        /// The value every replica already showed.
        case kept
        /// The value the merge had set aside, put back.
        case setAside = "set_aside"
    }

    public var id: String
    public var kind: String
    public var recordID: String
    public var field: String
    public var kept: FieldValue
    /// The replica (or the server's authority id) whose write is kept.
    public var keptBy: String
    public var keptAt: Int64
    /// The user who made the kept write, and the device that replica runs on; empty when the
    /// write was made on the server itself or before replicas said who they were.
    public var keptByUser: String
    public var keptDevice: String
    public var lost: FieldValue
    public var lostBy: String
    public var lostAt: Int64
    public var lostByUser: String
    public var lostDevice: String
    public var status: Status
    public var settledBy: String
    /// What the settlement chose, and when (the settling analyst's clock, Unix milliseconds);
    /// nil while open.
    public var outcome: Outcome?
    public var settledAt: Int64?

    public init(
        id: String, kind: String, recordID: String, field: String,
        kept: FieldValue, keptBy: String, keptAt: Int64, keptByUser: String = "", keptDevice: String = "",
        lost: FieldValue, lostBy: String, lostAt: Int64, lostByUser: String = "", lostDevice: String = "",
        status: Status, settledBy: String, outcome: Outcome? = nil, settledAt: Int64? = nil
    ) {
        self.id = id
        self.kind = kind
        self.recordID = recordID
        self.field = field
        self.kept = kept
        self.keptBy = keptBy
        self.keptAt = keptAt
        self.keptByUser = keptByUser
        self.keptDevice = keptDevice
        self.lost = lost
        self.lostBy = lostBy
        self.lostAt = lostAt
        self.lostByUser = lostByUser
        self.lostDevice = lostDevice
        self.status = status
        self.settledBy = settledBy
        self.outcome = outcome
        self.settledAt = settledAt
    }

    /// An open conflict as a merge found it; `writer` says who is behind a stamp's origin
    /// (user id and device), when known.
    public init(_ conflict: Conflict, writer: (String) -> (user: String, device: String)? = { _ in nil }) {
        let kept = writer(conflict.keptStamp.origin), lost = writer(conflict.lostStamp.origin)
        self.init(
            id: conflict.id, kind: conflict.kind, recordID: conflict.recordID, field: conflict.field,
            kept: conflict.kept, keptBy: conflict.keptStamp.origin, keptAt: conflict.keptStamp.at,
            keptByUser: kept?.user ?? "", keptDevice: kept?.device ?? "",
            lost: conflict.lost, lostBy: conflict.lostStamp.origin, lostAt: conflict.lostStamp.at,
            lostByUser: lost?.user ?? "", lostDevice: lost?.device ?? "",
            status: .open, settledBy: ""
        )
    }

    /// The value the settlement made the record's; nil while open.
    public var settledValue: FieldValue? {
        switch outcome {
        case .kept: kept
        case .setAside: lost
        case nil: nil
        }
    }

    /// The conflict settled by `user` at `at` (Unix ms), keeping the chosen value.
    public func settled(by user: String, outcome: Outcome, at: Int64) -> ConflictRecord {
        var settled = self
        settled.status = .settled
        settled.settledBy = user
        settled.outcome = outcome
        settled.settledAt = at
        return settled
    }
}
