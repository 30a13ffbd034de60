import DunlinCore
import Foundation

/// Replica schema 1's record form, read only to upgrade what a store written by it keeps (a
/// replica's record bases and refused changes, both sides' field stamps and conflicts): the
/// DunlinCore types' Swift Codable output, with camelCase keys (``SyncField/legacyName``), amounts
/// as `{"currency", "minorUnits": number}`, an activity's instant as floating-point seconds since
/// 2001-01-01 and a conflict's clocks as JSON numbers. Everything else (text, dates, enums,
/// booleans, lists, null) was already written as today's form writes it.
public enum LegacySyncForm {
    /// Today's name of a field schema 1 called `legacy` in records of `kind`; a name it does not
    /// know (`"_deleted"`, or one of no form) is kept as it is.
    public static func fieldName(_ legacy: String, kind: String) -> String {
        field(legacy, kind: kind)?.name ?? legacy
    }

    /// A field map of `kind` in schema 1's form, in today's: keys renamed, values converted by
    /// their field's type. A conflict's `field` is renamed, and its kept and lost values converted,
    /// by the conflicted kind's form; `conflicted` gives the conflicted kind and schema-1 field for
    /// a partial conflict map that does not carry them itself. Keys of no form are kept unchanged.
    public static func upgrade(_ fields: FieldMap, kind: String, conflicted: (kind: String, field: String)? = nil) -> FieldMap {
        var result: FieldMap = [:]
        for (key, value) in fields {
            guard let field = field(key, kind: kind) else {
                result[key] = value
                continue
            }
            result[field.name] = upgrade(value, as: field.type)
        }
        guard kind == RecordKind.syncConflict.rawValue else { return result }
        let recordKind = fields["kind"]?.text ?? conflicted?.kind
        let legacyField = fields["field"]?.text ?? conflicted?.field
        guard let recordKind, let legacyField else { return result }
        if result["field"] != nil { result["field"] = .string(fieldName(legacyField, kind: recordKind)) }
        if let type = field(legacyField, kind: recordKind)?.type {
            for side in ["kept", "lost"] {
                if let value = result[side] { result[side] = upgrade(value, as: type) }
            }
        }
        return result
    }

    private static func field(_ legacy: String, kind: String) -> SyncField? {
        SyncForms.byKind[kind]?.form.first { $0.legacyName == legacy }
    }

    private static func upgrade(_ value: FieldValue, as type: SyncFieldType) -> FieldValue {
        switch (type, value) {
        case (.amount, .object(let members)):
            guard case .integer(let minor) = members["minorUnits"] else { return value }
            return .object(["currency": members["currency"] ?? .null, "minor": SyncValue.int64(minor)])
        case (.int64, .integer(let number)):
            return SyncValue.int64(number)
        case (.instant, .number(let seconds)):
            return SyncValue.instant(Date(timeIntervalSinceReferenceDate: seconds))
        case (.instant, .integer(let seconds)):
            return SyncValue.instant(Date(timeIntervalSinceReferenceDate: Double(seconds)))
        default:
            return value
        }
    }
}
