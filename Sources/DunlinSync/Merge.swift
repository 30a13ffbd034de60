/// A mutable record with the stamp of the last write to each field: what the authority keeps.
public struct VersionedRecord: Sendable, Hashable {
    public var kind: String
    public var id: String
    public var fields: FieldMap
    public var stamps: [String: Stamp]

    public init(kind: String, id: String, fields: FieldMap, stamps: [String: Stamp]) {
        self.kind = kind
        self.id = id
        self.fields = fields
        self.stamps = stamps
    }

    public var isDeleted: Bool { fields[RecordCoding.deletedField] == .bool(true) }

    /// The record's vector: for each authority, the highest sequence number of any of its fields.
    public var vector: ChangeVector {
        var vector = ChangeVector()
        for stamp in stamps.values where stamp.seq > vector[stamp.authority] { vector[stamp.authority] = stamp.seq }
        return vector
    }
}

/// A change a replica made to one mutable record: the fields it set (a delete sets "_deleted" to
/// true; a create or an edit sets it to false), what it had seen of the record when it made the
/// change, and its dot.
public struct RecordChange: Sendable, Hashable {
    public var kind: String
    public var id: String
    public var dot: Dot
    /// The authorities' sequence numbers the replica had pulled for this record, plus its own
    /// counter: everything the change was made on top of.
    public var base: ChangeVector
    public var fields: FieldMap
    /// The replica's wall clock, in milliseconds: breaks ties between concurrent writes only.
    public var at: Int64

    public init(kind: String, id: String, dot: Dot, base: ChangeVector, fields: FieldMap, at: Int64) {
        self.kind = kind
        self.id = id
        self.dot = dot
        self.base = base
        self.fields = fields
        self.at = at
    }
}

/// Two concurrent writes to the same field with different values: the value every replica now
/// shows (`kept`) and the one the rule set aside (`lost`), each with the write it came from.
/// Nothing is discarded: an analyst sees both and settles it.
public struct Conflict: Sendable, Hashable, Codable {
    public var kind: String
    public var recordID: String
    public var field: String
    public var kept: FieldValue
    public var keptStamp: Stamp
    public var lost: FieldValue
    public var lostStamp: Stamp

    public init(kind: String, recordID: String, field: String, kept: FieldValue, keptStamp: Stamp, lost: FieldValue, lostStamp: Stamp) {
        self.kind = kind
        self.recordID = recordID
        self.field = field
        self.kept = kept
        self.keptStamp = keptStamp
        self.lost = lost
        self.lostStamp = lostStamp
    }

    /// The same conflict always gets the same id, so a replayed merge records it once.
    public var id: String {
        "cfl_\(kind)_\(recordID)_\(field)_\(lostStamp.origin)_\(lostStamp.dot?.counter ?? lostStamp.seq)"
    }
}

/// The outcome of merging one change.
public struct MergeOutcome: Sendable, Hashable {
    public var record: VersionedRecord
    /// Fields whose value changed.
    public var changed: [String]
    /// Fields written concurrently with different values, resolved by ``Stamp/wins(over:)``.
    public var conflicts: [Conflict]
}

/// Field-level merge of mutable records. The authority runs it on every pushed change; a field the
/// change set is taken when the replica had seen the field's last write; otherwise the two writes
/// are concurrent: equal values merge silently, different values are resolved by the
/// deterministic rule and the losing value is kept as a ``Conflict``.
public enum Merge {
    /// Applies `change` to `current` (nil: the record does not exist yet), stamping the fields it
    /// takes with `stamp` (the authority's sequence number for this commit and the change's dot).
    public static func apply(_ change: RecordChange, to current: VersionedRecord?, stamp: Stamp) -> MergeOutcome {
        var record = current ?? VersionedRecord(kind: change.kind, id: change.id, fields: [:], stamps: [:])
        var changed: [String] = []
        var conflicts: [Conflict] = []
        for field in change.fields.keys.sorted() {
            let incoming = change.fields[field]!
            let existing = record.fields[field] ?? .null
            guard let existingStamp = record.stamps[field], !change.base.includes(existingStamp) else {
                if incoming != existing { changed.append(field) }
                record.fields[field] = incoming
                record.stamps[field] = stamp
                continue
            }
            if incoming == existing {
                if stamp.wins(over: existingStamp) { record.stamps[field] = stamp }
                continue
            }
            if stamp.wins(over: existingStamp) {
                record.fields[field] = incoming
                record.stamps[field] = stamp
                changed.append(field)
                conflicts.append(Conflict(kind: change.kind, recordID: change.id, field: field, kept: incoming, keptStamp: stamp, lost: existing, lostStamp: existingStamp))
            } else {
                conflicts.append(Conflict(kind: change.kind, recordID: change.id, field: field, kept: existing, keptStamp: existingStamp, lost: incoming, lostStamp: stamp))
            }
        }
        return MergeOutcome(record: record, changed: changed, conflicts: conflicts)
    }
}
