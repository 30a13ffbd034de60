import Foundation

/// A field's value as sync carries it: one JSON value of a record's sync form (``SyncRecordForm``,
/// PROTOCOL.md §16.2). Records travel as canonical JSON objects, one key per field, so field-level
/// merge is the same code for every record kind. `number` (a JSON number with a fraction, an
/// exponent or beyond int64) is in no kind's form: it exists so that a reader can name the field
/// that holds one.
public enum FieldValue: Sendable, Hashable, Codable, CustomStringConvertible {
    case null
    case bool(Bool)
    case integer(Int64)
    case number(Double)
    case string(String)
    case array([FieldValue])
    case object([String: FieldValue])

    /// The string this value holds; nil for any other kind of value.
    public var text: String? {
        if case .string(let value) = self { value } else { nil }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(Int64.self) { self = .integer(value) }
        else if let value = try? container.decode(Double.self) { self = .number(value) }
        else if let value = try? container.decode(String.self) { self = .string(value) }
        else if let value = try? container.decode([FieldValue].self) { self = .array(value) }
        else { self = .object(try container.decode([String: FieldValue].self)) }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .integer(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    public var description: String {
        String(decoding: CanonicalJSON.encode(self), as: UTF8.self)
    }
}

/// A record as named fields. The key "_deleted" carries the tombstone.
public typealias FieldMap = [String: FieldValue]

/// Field maps as bytes (the canonical JSON of PROTOCOL.md §16.2) and the diff that field-level
/// merge is made of. Which keys and values a kind's map holds is its ``SyncRecordForm``.
public enum RecordCoding {
    public static let deletedField = "_deleted"

    /// Canonical bytes of a field map, as stored and as sent (``CanonicalJSON``).
    public static func canonical(_ fields: FieldMap) -> Data {
        CanonicalJSON.encode(.object(fields))
    }

    /// Reads a JSON object. Any valid JSON text whose top level is an object is read, canonical or
    /// not (the reader compares values, never bytes); whether its keys and values fit a kind's
    /// form is ``SyncForms/check(_:kind:allowsDeleted:)``'s to say.
    public static func decode(_ data: Data) throws -> FieldMap {
        try JSONDecoder().decode(FieldMap.self, from: data)
    }

    /// The fields whose values differ between `base` and `changed` (a field absent from one side
    /// counts as null), with their values in `changed`.
    public static func diff(from base: FieldMap, to changed: FieldMap) -> FieldMap {
        var result: FieldMap = [:]
        for key in Set(base.keys).union(changed.keys) {
            let new = changed[key] ?? .null
            if new != (base[key] ?? .null) { result[key] = new }
        }
        return result
    }
}

/// The one byte form of a JSON value that sync writes (PROTOCOL.md §16.2, "Number format and
/// canonical JSON"), written here by hand so that it depends on no library's defaults: UTF-8, no
/// insignificant whitespace, object keys in ascending order of their UTF-8 bytes, integers in
/// shortest decimal, and strings escaped only where JSON requires it (`"`, `\\`, and U+0000 to
/// U+001F, as `\b \t \n \f \r` or else `\u00xx` with lower-case hex); everything else, `/` and
/// non-ASCII included, is written as its own UTF-8 bytes.
public enum CanonicalJSON {
    public static func encode(_ value: FieldValue) -> Data {
        var bytes: [UInt8] = []
        write(value, into: &bytes)
        return Data(bytes)
    }

    private static func write(_ value: FieldValue, into bytes: inout [UInt8]) {
        switch value {
        case .null: bytes.append(contentsOf: "null".utf8)
        case .bool(let value): bytes.append(contentsOf: (value ? "true" : "false").utf8)
        case .integer(let value): bytes.append(contentsOf: String(value).utf8)
        // No form holds one; written so that a value read can always be shown.
        case .number(let value): bytes.append(contentsOf: (value.isFinite ? "\(value)" : "null").utf8)
        case .string(let value): write(value, into: &bytes)
        case .array(let items):
            bytes.append(UInt8(ascii: "["))
            for (index, item) in items.enumerated() {
                if index > 0 { bytes.append(UInt8(ascii: ",")) }
                write(item, into: &bytes)
            }
            bytes.append(UInt8(ascii: "]"))
        case .object(let members):
            bytes.append(UInt8(ascii: "{"))
            let sorted = members.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
            for (index, member) in sorted.enumerated() {
                if index > 0 { bytes.append(UInt8(ascii: ",")) }
                write(member.key, into: &bytes)
                bytes.append(UInt8(ascii: ":"))
                write(member.value, into: &bytes)
            }
            bytes.append(UInt8(ascii: "}"))
        }
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    private static func write(_ text: String, into bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "\""))
        // Every byte of a multi-byte UTF-8 sequence is 0x80 or above, so looking at bytes alone
        // never splits a character.
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): bytes.append(contentsOf: "\\\"".utf8)
            case UInt8(ascii: "\\"): bytes.append(contentsOf: "\\\\".utf8)
            case 0x08: bytes.append(contentsOf: "\\b".utf8)
            case 0x09: bytes.append(contentsOf: "\\t".utf8)
            case 0x0A: bytes.append(contentsOf: "\\n".utf8)
            case 0x0C: bytes.append(contentsOf: "\\f".utf8)
            case 0x0D: bytes.append(contentsOf: "\\r".utf8)
            case 0x00..<0x20:
                bytes.append(contentsOf: "\\u00".utf8)
                bytes.append(contentsOf: [hexDigits[Int(byte >> 4)], hexDigits[Int(byte & 0x0F)]])
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}
