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

    /// `text` as a JSON string, escaped as the canonical form escapes it.
    static func write(_ text: String, into bytes: inout [UInt8]) {
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

extension CanonicalJSON {
    /// Reads the JSON that ``encode(_:)`` writes, and any JSON made only of objects, arrays,
    /// strings, integers, booleans and null, without a decoder: the store reads thousands of
    /// records' columns per request, and `JSONDecoder` with ``FieldValue``'s trial decoding was
    /// most of a worklist's time. Nil for anything else (a fraction or exponent, an integer
    /// beyond 64 bits, a repeated key, malformed text): the caller then decodes with
    /// `JSONDecoder`, which reads or refuses it as before.
    public static func decode(_ text: String) -> FieldValue? {
        var text = text
        return text.withUTF8 { bytes in
            var reader = Reader(bytes: bytes)
            guard let value = reader.value() else { return nil }
            reader.skipSpace()
            return reader.position == bytes.count ? value : nil
        }
    }

    private struct Reader {
        let bytes: UnsafeBufferPointer<UInt8>
        var position = 0
        var depth = 0

        mutating func skipSpace() {
            while position < bytes.count, [0x20, 0x0A, 0x0D, 0x09].contains(bytes[position]) { position += 1 }
        }

        mutating func value() -> FieldValue? {
            skipSpace()
            guard position < bytes.count, depth < 64 else { return nil }
            switch bytes[position] {
            case UInt8(ascii: "{"): return object()
            case UInt8(ascii: "["): return array()
            case UInt8(ascii: "\""): return string().map(FieldValue.string)
            case UInt8(ascii: "t"): return literal("true", .bool(true))
            case UInt8(ascii: "f"): return literal("false", .bool(false))
            case UInt8(ascii: "n"): return literal("null", .null)
            default: return integer()
            }
        }

        mutating func literal(_ word: StaticString, _ value: FieldValue) -> FieldValue? {
            let count = word.utf8CodeUnitCount
            guard position + count <= bytes.count else { return nil }
            for offset in 0..<count where bytes[position + offset] != word.utf8Start[offset] { return nil }
            position += count
            return value
        }

        mutating func integer() -> FieldValue? {
            let start = position
            if position < bytes.count, bytes[position] == UInt8(ascii: "-") { position += 1 }
            let digits = position
            while position < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[position]) { position += 1 }
            guard position > digits, position - digits == 1 || bytes[digits] != UInt8(ascii: "0") else { return nil }
            if position < bytes.count, [UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E")].contains(bytes[position]) { return nil }
            return Int64(String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)).map(FieldValue.integer)
        }

        mutating func string() -> String? {
            position += 1
            var scalars: [UInt8] = []
            while position < bytes.count {
                let byte = bytes[position]
                position += 1
                switch byte {
                case UInt8(ascii: "\""): return String(validating: scalars, as: UTF8.self)
                case UInt8(ascii: "\\"):
                    guard position < bytes.count else { return nil }
                    let escaped = bytes[position]
                    position += 1
                    switch escaped {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): scalars.append(escaped)
                    case UInt8(ascii: "b"): scalars.append(0x08)
                    case UInt8(ascii: "f"): scalars.append(0x0C)
                    case UInt8(ascii: "n"): scalars.append(0x0A)
                    case UInt8(ascii: "r"): scalars.append(0x0D)
                    case UInt8(ascii: "t"): scalars.append(0x09)
                    case UInt8(ascii: "u"):
                        guard var code = hex4() else { return nil }
                        if (0xD800..<0xDC00).contains(code) {
                            guard position + 1 < bytes.count, bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u") else { return nil }
                            position += 2
                            guard let low = hex4(), (0xDC00..<0xE000).contains(low) else { return nil }
                            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                        }
                        guard let scalar = Unicode.Scalar(code) else { return nil }
                        scalars.append(contentsOf: Array(String(Character(scalar)).utf8))
                    default: return nil
                    }
                case 0x00..<0x20: return nil
                default: scalars.append(byte)
                }
            }
            return nil
        }

        mutating func hex4() -> UInt32? {
            guard position + 4 <= bytes.count else { return nil }
            var code: UInt32 = 0
            for _ in 0..<4 {
                guard let digit = Character(Unicode.Scalar(bytes[position])).hexDigitValue else { return nil }
                code = code << 4 + UInt32(digit)
                position += 1
            }
            return code
        }

        mutating func array() -> FieldValue? {
            position += 1
            depth += 1
            defer { depth -= 1 }
            var items: [FieldValue] = []
            skipSpace()
            if position < bytes.count, bytes[position] == UInt8(ascii: "]") { position += 1; return .array(items) }
            while true {
                guard let item = value() else { return nil }
                items.append(item)
                skipSpace()
                guard position < bytes.count else { return nil }
                let byte = bytes[position]
                position += 1
                if byte == UInt8(ascii: "]") { return .array(items) }
                guard byte == UInt8(ascii: ",") else { return nil }
            }
        }

        mutating func object() -> FieldValue? {
            position += 1
            depth += 1
            defer { depth -= 1 }
            var members: [String: FieldValue] = [:]
            skipSpace()
            if position < bytes.count, bytes[position] == UInt8(ascii: "}") { position += 1; return .object(members) }
            while true {
                skipSpace()
                guard position < bytes.count, bytes[position] == UInt8(ascii: "\""), let key = string() else { return nil }
                skipSpace()
                guard position < bytes.count, bytes[position] == UInt8(ascii: ":") else { return nil }
                position += 1
                guard let member = value(), members.updateValue(member, forKey: key) == nil else { return nil }
                skipSpace()
                guard position < bytes.count else { return nil }
                let byte = bytes[position]
                position += 1
                if byte == UInt8(ascii: "}") { return .object(members) }
                guard byte == UInt8(ascii: ",") else { return nil }
            }
        }
    }
}
