import Foundation

/// A field's value as sync carries it: the JSON value of the field in the record's Codable form.
/// Records travel as JSON objects (one key per field, canonical: sorted keys), so field-level
/// merge is the same code for every record kind.
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
        (try? String(decoding: RecordCoding.encoder.encode(self), as: UTF8.self)) ?? "?"
    }
}

/// A record as named fields. The key "_deleted" carries the tombstone.
public typealias FieldMap = [String: FieldValue]

/// Turns records into field maps and back, through their Codable form.
public enum RecordCoding {
    public static let deletedField = "_deleted"

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    public static func fields(of record: some Encodable) throws -> FieldMap {
        try JSONDecoder().decode(FieldMap.self, from: encoder.encode(record))
    }

    public static func record<Record: Decodable>(_ type: Record.Type, from fields: FieldMap) throws -> Record {
        var fields = fields
        fields[deletedField] = nil
        return try JSONDecoder().decode(type, from: encoder.encode(fields))
    }

    /// Canonical bytes of a field map (sorted keys), as stored and as sent.
    public static func canonical(_ fields: FieldMap) -> Data {
        (try? encoder.encode(fields)) ?? Data("{}".utf8)
    }

    /// Canonical bytes of a record straight from its Codable form: the same bytes as
    /// `canonical(fields(of: record))` without the round trip through a field map (what the sync
    /// feed sends for insert-only kinds, a record at a time).
    public static func canonical(of record: some Encodable) throws -> Data {
        try encoder.encode(record)
    }

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
