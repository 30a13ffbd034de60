import DunlinCore
import Foundation

/// The packed sync forms of the two insert-only kinds that are most of a tenant's records, ledger
/// entries and activities (PROTOCOL.md §16.2 "Packed forms"; `LedgerEntryForm` and `ActivityForm`
/// in sync.proto): a row's columns as a protobuf message, without the id (the record's). The
/// server writes one straight from the columns of a query and a replica binds one straight to its
/// insert, so neither builds a field map or JSON per record, and a batch's checksum covers these
/// bytes exactly as they travel.
///
/// Written by hand rather than through SwiftProtobuf so the store, which does not link it, reads
/// and writes them; `PackedFormTests` holds both to the generated messages byte for byte.
public enum PackedForm {
    /// Why packed bytes could not be read: what was wrong and at which byte.
    public struct DecodingError: Error, Sendable, Hashable, CustomStringConvertible {
        public var kind: String
        public var offset: Int
        public var reason: String

        public init(kind: String, offset: Int, reason: String) {
            self.kind = kind
            self.offset = offset
            self.reason = reason
        }

        public var description: String { "a packed \(kind) is malformed at byte \(offset): \(reason)" }
    }

    /// Appends protobuf fields in the order they are written (the caller writes them by number).
    public struct Writer: Sendable {
        public private(set) var bytes: [UInt8] = []

        public init(capacity: Int = 128) {
            bytes.reserveCapacity(capacity)
        }

        public var data: Data { Data(bytes) }

        /// A proto3 `string`: left out when empty.
        public mutating func text(_ field: UInt64, _ utf8: UnsafeRawBufferPointer) {
            guard !utf8.isEmpty else { return }
            present(field, utf8)
        }

        /// An `optional string` with a value: written even when empty.
        public mutating func present(_ field: UInt64, _ utf8: UnsafeRawBufferPointer) {
            varint(field << 3 | 2)
            varint(UInt64(utf8.count))
            bytes.append(contentsOf: utf8)
        }

        public mutating func text(_ field: UInt64, _ value: String) {
            var value = value
            value.withUTF8 { text(field, UnsafeRawBufferPointer($0)) }
        }

        public mutating func present(_ field: UInt64, _ value: String?) {
            guard var value else { return }
            value.withUTF8 { present(field, UnsafeRawBufferPointer($0)) }
        }

        /// A proto3 `int64`: left out when 0; a negative one in ten bytes, as protobuf writes it.
        public mutating func int64(_ field: UInt64, _ value: Int64) {
            guard value != 0 else { return }
            varint(field << 3)
            varint(UInt64(bitPattern: value))
        }

        private mutating func varint(_ value: UInt64) {
            var value = value
            while value >= 0x80 {
                bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
                value >>= 7
            }
            bytes.append(UInt8(value))
        }
    }

    /// Reads protobuf fields one at a time, every length and integer checked against what is left.
    /// Unknown fields are skipped, as protobuf readers do.
    struct Reader {
        let bytes: [UInt8]
        let kind: String
        var offset = 0

        init(_ data: Data, kind: String) {
            bytes = [UInt8](data)
            self.kind = kind
        }

        enum Value {
            case integer(UInt64)
            case text(String)
        }

        /// The next field's number and value, nil at the end.
        mutating func next() throws(DecodingError) -> (field: UInt64, value: Value)? {
            while offset < bytes.count {
                let start = offset
                let tag = try varint()
                let field = tag >> 3
                guard field > 0 else { throw failure(at: start, "field number 0") }
                switch tag & 7 {
                case 0:
                    return (field, .integer(try varint()))
                case 2:
                    let lengthAt = offset
                    let declared = try varint()
                    guard let length = Int(exactly: declared), length <= bytes.count - offset else {
                        throw failure(at: lengthAt, "a length beyond the \(bytes.count - lengthAt) bytes left")
                    }
                    let body = bytes[offset..<offset + length]
                    offset += length
                    guard let text = String(validating: body, as: UTF8.self) else {
                        // Only strings are length-delimited in these forms; anything else is not ours.
                        if Self.known(field, kind: kind) { throw failure(at: offset - length, "field \(field) is not UTF-8") }
                        continue
                    }
                    return (field, .text(text))
                case 1:
                    try skip(8, at: start)
                case 5:
                    try skip(4, at: start)
                default:
                    throw failure(at: start, "wire type \(tag & 7)")
                }
            }
            return nil
        }

        private static func known(_ field: UInt64, kind: String) -> Bool {
            kind == RecordKind.ledgerEntry.rawValue ? (1...10).contains(field) : (1...7).contains(field)
        }

        private mutating func skip(_ count: Int, at start: Int) throws(DecodingError) {
            guard count <= bytes.count - offset else { throw failure(at: start, "a fixed-width field past the end") }
            offset += count
        }

        private mutating func varint() throws(DecodingError) -> UInt64 {
            let start = offset
            var value: UInt64 = 0
            var shift: UInt64 = 0
            while offset < bytes.count, shift < 64 {
                let byte = bytes[offset]
                offset += 1
                value |= UInt64(byte & 0x7F) << shift
                if byte < 0x80 { return value }
                shift += 7
            }
            throw failure(at: start, offset < bytes.count ? "a varint longer than ten bytes" : "a varint past the end")
        }

        func failure(at offset: Int, _ reason: String) -> DecodingError {
            DecodingError(kind: kind, offset: offset, reason: reason)
        }

        /// A string field's value; an integer where a string belongs is malformed.
        func text(_ value: Value, _ name: String) throws(DecodingError) -> String {
            guard case .text(let text) = value else { throw failure(at: offset, "\(name) is not a string") }
            return text
        }

        /// An int64 field's value (two's complement in ten bytes when negative).
        func int64(_ value: Value, _ name: String) throws(DecodingError) -> Int64 {
            guard case .integer(let integer) = value else { throw failure(at: offset, "\(name) is not an integer") }
            return Int64(bitPattern: integer)
        }
    }
}

/// A ledger entry as its packed form carries it: the `ledger_entry` row's columns, checked to be
/// values the ledger can hold (a known kind, a currency code, dates), so a replica binds them to
/// its insert as they are.
public struct PackedLedgerEntry: Sendable, Hashable {
    public var kind: String
    public var customerID: String
    public var currency: String
    public var amount: Int64
    public var date: String
    public var dueDate: String?
    public var reference: String
    public var sourceID: String?
    public var targetID: String?
    public var memo: String

    public init(
        kind: String, customerID: String, currency: String, amount: Int64, date: String, dueDate: String?, reference: String,
        sourceID: String?, targetID: String?, memo: String
    ) {
        self.kind = kind
        self.customerID = customerID
        self.currency = currency
        self.amount = amount
        self.date = date
        self.dueDate = dueDate
        self.reference = reference
        self.sourceID = sourceID
        self.targetID = targetID
        self.memo = memo
    }

    public init(_ entry: LedgerEntry) {
        self.init(
            kind: entry.kind.rawValue, customerID: entry.customerID, currency: entry.amount.currency.code, amount: entry.amount.minorUnits,
            date: entry.date.description, dueDate: entry.dueDate?.description, reference: entry.reference, sourceID: entry.sourceID,
            targetID: entry.targetID, memo: entry.memo
        )
    }

    /// Reads packed bytes; throws on malformed protobuf and on a value the ledger cannot hold.
    public init(packed: Data) throws(PackedForm.DecodingError) {
        var reader = PackedForm.Reader(packed, kind: RecordKind.ledgerEntry.rawValue)
        self.init(kind: "", customerID: "", currency: "", amount: 0, date: "", dueDate: nil, reference: "", sourceID: nil, targetID: nil, memo: "")
        while let next = try reader.next() {
            let value = next.value
            switch next.field {
            case 1: kind = try reader.text(value, "kind")
            case 2: customerID = try reader.text(value, "customer_id")
            case 3: currency = try reader.text(value, "currency")
            case 4: amount = try reader.int64(value, "amount")
            case 5: date = try reader.text(value, "date")
            case 6: dueDate = try reader.text(value, "due_date")
            case 7: reference = try reader.text(value, "reference")
            case 8: sourceID = try reader.text(value, "source_id")
            case 9: targetID = try reader.text(value, "target_id")
            case 10: memo = try reader.text(value, "memo")
            default: continue
            }
        }
        guard LedgerEntryKind(rawValue: kind) != nil else { throw reader.failure(at: 0, "kind \"\(kind)\" is not a kind of entry") }
        guard Currency(code: currency)?.code == currency else { throw reader.failure(at: 0, "currency \"\(currency)\" is not an ISO 4217 code") }
        guard CivilDate(date) != nil else { throw reader.failure(at: 0, "date \"\(date)\" is not YYYY-MM-DD") }
        if let dueDate, CivilDate(dueDate) == nil { throw reader.failure(at: 0, "due_date \"\(dueDate)\" is not YYYY-MM-DD") }
    }

    /// The packed bytes, fields in number order.
    public var packed: Data {
        var writer = PackedForm.Writer()
        writer.text(1, kind)
        writer.text(2, customerID)
        writer.text(3, currency)
        writer.int64(4, amount)
        writer.text(5, date)
        writer.present(6, dueDate)
        writer.text(7, reference)
        writer.present(8, sourceID)
        writer.present(9, targetID)
        writer.text(10, memo)
        return writer.data
    }
}

/// An activity as its packed form carries it: the `activity` row's columns, checked as
/// ``PackedLedgerEntry`` checks an entry's.
public struct PackedActivity: Sendable, Hashable {
    public var customerID: String
    public var kind: String
    public var direction: String
    public var outcome: String
    public var authorID: String
    public var occurredAt: Int64
    public var body: String

    public init(customerID: String, kind: String, direction: String, outcome: String, authorID: String, occurredAt: Int64, body: String) {
        self.customerID = customerID
        self.kind = kind
        self.direction = direction
        self.outcome = outcome
        self.authorID = authorID
        self.occurredAt = occurredAt
        self.body = body
    }

    public init(_ activity: Activity) {
        self.init(
            customerID: activity.customerID, kind: activity.kind.rawValue, direction: activity.direction.rawValue, outcome: activity.outcome,
            authorID: activity.authorID, occurredAt: Activity.milliseconds(of: activity.occurredAt), body: activity.body
        )
    }

    public init(packed: Data) throws(PackedForm.DecodingError) {
        var reader = PackedForm.Reader(packed, kind: RecordKind.activity.rawValue)
        self.init(customerID: "", kind: "", direction: "", outcome: "", authorID: "", occurredAt: 0, body: "")
        while let next = try reader.next() {
            let value = next.value
            switch next.field {
            case 1: customerID = try reader.text(value, "customer_id")
            case 2: kind = try reader.text(value, "kind")
            case 3: direction = try reader.text(value, "direction")
            case 4: outcome = try reader.text(value, "outcome")
            case 5: authorID = try reader.text(value, "author_id")
            case 6: occurredAt = try reader.int64(value, "occurred_at")
            case 7: body = try reader.text(value, "body")
            default: continue
            }
        }
        guard ActivityKind(rawValue: kind) != nil else { throw reader.failure(at: 0, "kind \"\(kind)\" is not a kind of activity") }
        guard ActivityDirection(rawValue: direction) != nil else { throw reader.failure(at: 0, "direction \"\(direction)\" is not inbound, outbound or none") }
    }

    public var packed: Data {
        var writer = PackedForm.Writer()
        writer.text(1, customerID)
        writer.text(2, kind)
        writer.text(3, direction)
        writer.text(4, outcome)
        writer.text(5, authorID)
        writer.int64(6, occurredAt)
        writer.text(7, body)
        return writer.data
    }
}

extension PackedLedgerEntry {
    /// The entry with id `id`, nil when a value is not one the ledger holds.
    public func entry(id: String) -> LedgerEntry? {
        guard let kind = LedgerEntryKind(rawValue: kind), let currency = Currency(code: currency), let date = CivilDate(date) else { return nil }
        return LedgerEntry(
            id: id, kind: kind, customerID: customerID, amount: Money(minorUnits: amount, currency: currency), date: date,
            dueDate: dueDate.flatMap(CivilDate.init), reference: reference, sourceID: sourceID, targetID: targetID, memo: memo
        )
    }
}

extension PackedActivity {
    /// The activity with id `id`, nil when a value is not one an activity holds.
    public func activity(id: String) -> Activity? {
        guard let kind = ActivityKind(rawValue: kind), let direction = ActivityDirection(rawValue: direction) else { return nil }
        return Activity(
            id: id, customerID: customerID, kind: kind, direction: direction, outcome: outcome, authorID: authorID,
            occurredAt: Activity.instant(milliseconds: occurredAt), body: body
        )
    }
}
