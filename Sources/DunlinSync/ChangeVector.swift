/// One change made on a replica: the replica's id and its own counter, which rises by one with
/// every local write. A dot names a change for ever, so the server can tell a retried push from
/// a new one.
public struct Dot: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    public var replica: String
    public var counter: UInt64

    public init(replica: String, counter: UInt64) {
        self.replica = replica
        self.counter = counter
    }

    public static func < (lhs: Dot, rhs: Dot) -> Bool {
        (lhs.replica, lhs.counter) < (rhs.replica, rhs.counter)
    }

    public var description: String { "\(replica):\(counter)" }
}

/// One write to a field of a record, as the authority that committed it saw it: the authority
/// (a server store) and its change sequence number, the client dot the write came from (none for
/// a write made on the server directly), and the writer's wall clock in milliseconds, which only
/// ever breaks a tie between writes already known to be concurrent.
public struct Stamp: Sendable, Hashable, Codable {
    public var authority: String
    public var seq: UInt64
    public var dot: Dot?
    public var at: Int64

    public init(authority: String, seq: UInt64, dot: Dot? = nil, at: Int64) {
        self.authority = authority
        self.seq = seq
        self.dot = dot
        self.at = at
    }

    /// Who made the write: the client replica, or the authority itself.
    public var origin: String { dot?.replica ?? authority }

    /// The deterministic order between two concurrent writes: the later wall clock wins, then the
    /// greater origin id, then the greater sequence number. Every replica computes the same answer.
    public func wins(over other: Stamp) -> Bool {
        (at, origin, seq) > (other.at, other.origin, other.seq)
    }
}

/// How two change vectors relate.
public enum VectorOrder: Sendable, Hashable {
    case equal
    /// The left side has seen everything the right side has, and more.
    case dominates
    /// The right side has seen everything the left side has, and more.
    case dominated
    /// Each has seen something the other has not.
    case concurrent
}

/// What a replica (or a record) has seen: for each authoritative store, the highest change
/// sequence number, and for the replica that carries it, its own highest counter. The entries are
/// the authorities (one server store per tenant today) plus, on a change a client makes, that
/// client's own counter; they never grow with the number of laptops.
public struct ChangeVector: Sendable, Hashable, Codable, CustomStringConvertible {
    public private(set) var entries: [String: UInt64]

    public init(_ entries: [String: UInt64] = [:]) {
        self.entries = entries.filter { $0.value > 0 }
    }

    public subscript(_ key: String) -> UInt64 {
        get { entries[key] ?? 0 }
        set { entries[key] = newValue == 0 ? nil : newValue }
    }

    /// Whether a write with this stamp had been seen: the vector has reached the authority's
    /// sequence number at which it was committed, or it holds the client dot it came from.
    public func includes(_ stamp: Stamp) -> Bool {
        if self[stamp.authority] >= stamp.seq { return true }
        if let dot = stamp.dot { return includes(dot) }
        return false
    }

    public func includes(_ dot: Dot) -> Bool { self[dot.replica] >= dot.counter }

    /// Raises each entry to at least the other's.
    public mutating func formJoin(_ other: ChangeVector) {
        for (key, value) in other.entries where value > self[key] { self[key] = value }
    }

    public func joined(_ other: ChangeVector) -> ChangeVector {
        var result = self
        result.formJoin(other)
        return result
    }

    /// Compares entry by entry (a missing entry is zero).
    public func compare(_ other: ChangeVector) -> VectorOrder {
        var ahead = false
        var behind = false
        for key in Set(entries.keys).union(other.entries.keys) {
            let mine = self[key], theirs = other[key]
            if mine > theirs { ahead = true }
            if mine < theirs { behind = true }
        }
        switch (ahead, behind) {
        case (false, false): return .equal
        case (true, false): return .dominates
        case (false, true): return .dominated
        case (true, true): return .concurrent
        }
    }

    public var description: String {
        "[" + entries.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value)" }.joined(separator: ", ") + "]"
    }
}
