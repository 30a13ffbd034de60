import DunlinCore
import Foundation

/// A kind of record as sync carries it: its fields by the names the RPC messages give them
/// (Protocol/records.proto, receivables.proto), each with one JSON type and unit, built and read
/// field by field (never through a Codable default). PROTOCOL.md §16.2 "Record forms" is the
/// same table in words; Protocol/vectors/sync-records.json pins the bytes.
///
/// A full record (a pulled one, a pushed insert-only one) holds every field of its kind, an
/// optional one as null when it has no value. A pushed change to a mutable kind holds only the
/// fields it changed (null clears an optional one), plus `"_deleted"`.
public protocol SyncRecordForm: Sendable {
    static var recordKind: RecordKind { get }
    /// Every field of the form, in the order the RPC message numbers them (a conflict, which has
    /// no RPC message, in the order of PROTOCOL.md's table).
    static var form: [SyncField] { get }
    /// The record as a full field map (no `"_deleted"`: the store adds it for mutable kinds).
    var fieldMap: FieldMap { get }
    /// Reads a full record, refusing a key that is not a field of the kind, a required field
    /// missing, and any value not of its field's type, each naming the field.
    init(fieldMap: FieldMap) throws(DomainError)
}

/// The JSON type of a field of a sync record's form (PROTOCOL.md §16.2 "Number format").
public enum SyncFieldType: Sendable, Hashable {
    /// A JSON string.
    case text
    /// A JSON array of strings, in the record's order.
    case textList
    /// A JSON number: an integer within int32, with no sign but `-`, no fraction and no exponent.
    case int32
    /// An int64 as a JSON string of its decimal digits: `-` for a negative, no leading zeros, no
    /// `+`. A string because a JSON number beyond 2^53 is not exact in every language.
    case int64
    /// An instant: Unix milliseconds (UTC), written as an ``int64``.
    case instant
    case bool
    /// A civil date, `"YYYY-MM-DD"`.
    case date
    /// An amount: `{"currency": ISO 4217 code in capitals, "minor": int64 string of minor units}`.
    case amount
    /// One of these names (an enum, by the lower-case names PROTOCOL.md uses).
    case choice([String])
    /// Any JSON value: a field value of another record, in that record's form (a conflict's kept
    /// and set-aside values).
    case value
    /// A JSON array of objects, each holding exactly these fields (a policy's levels, a notice's
    /// lines), by the same rules as a record's: every key a field, every required one present.
    case objects([SyncField])
}

/// One field of a sync record's form.
public struct SyncField: Sendable, Hashable {
    /// The key: the RPC message's field name.
    public var name: String
    public var type: SyncFieldType
    /// Whether the field may be null (it has no value).
    public var optional: Bool
    /// The key replica schema 1 used (the Swift Codable form), read only when a replica file or
    /// tenant store written by that schema is upgraded (``LegacySyncForm``).
    public var legacyName: String

    public init(_ name: String, _ type: SyncFieldType, optional: Bool = false, legacy: String? = nil) {
        self.name = name
        self.type = type
        self.optional = optional
        legacyName = legacy ?? name
    }

    /// Checks that `value` is of the field's type (null only when optional), naming the field.
    public func check(_ value: FieldValue) throws(DomainError) {
        if value == .null {
            guard optional else { throw .invalid(field: name, "must not be null") }
            return
        }
        switch type {
        case .text: _ = try SyncValue.text(value, name)
        case .textList: _ = try SyncValue.textList(value, name)
        case .int32: _ = try SyncValue.int32(value, name)
        case .int64, .instant: _ = try SyncValue.int64(value, name)
        case .bool: _ = try SyncValue.bool(value, name)
        case .date: _ = try SyncValue.date(value, name)
        case .amount: _ = try SyncValue.amount(value, name)
        case .choice(let names): _ = try SyncValue.choice(value, names, name)
        case .value: break
        case .objects(let form): _ = try SyncValue.objects(value, form, name)
        }
    }
}

/// Field values to and from their sync form: one function per JSON type, each refusing anything
/// but the canonical form and naming the field (DomainError: INVALID_ARGUMENT for a wrong type or
/// format, OUT_OF_RANGE for an integer beyond its type).
public enum SyncValue {
    public static func int64(_ value: Int64) -> FieldValue { .string(String(value)) }

    public static func amount(_ money: Money) -> FieldValue {
        .object(["currency": .string(money.currency.code), "minor": int64(money.minorUnits)])
    }

    public static func instant(_ date: Date) -> FieldValue { int64(Activity.milliseconds(of: date)) }

    public static func date(_ date: CivilDate) -> FieldValue { .string(date.description) }

    public static func text(_ value: FieldValue, _ field: String) throws(DomainError) -> String {
        guard case .string(let text) = value else { throw wrongType(value, field, "a string") }
        return text
    }

    public static func textList(_ value: FieldValue, _ field: String) throws(DomainError) -> [String] {
        guard case .array(let items) = value else { throw wrongType(value, field, "an array of strings") }
        var texts: [String] = []
        for (index, item) in items.enumerated() { texts.append(try text(item, "\(field)[\(index)]")) }
        return texts
    }

    public static func int32(_ value: FieldValue, _ field: String) throws(DomainError) -> Int {
        switch value {
        case .integer(let number):
            guard let narrow = Int32(exactly: number) else {
                throw .outOfRange(field: field, "\(number) is beyond int32 (\(Int32.min) to \(Int32.max))")
            }
            return Int(narrow)
        case .number(let number) where number.magnitude >= 0x1p63:
            // A whole number too large for int64 is read as a double.
            throw .outOfRange(field: field, "\(value) is beyond int32 (\(Int32.min) to \(Int32.max))")
        default:
            throw wrongType(value, field, "an integer (a JSON number without fraction or exponent)")
        }
    }

    public static func int64(_ value: FieldValue, _ field: String) throws(DomainError) -> Int64 {
        guard case .string(let digits) = value else {
            throw wrongType(value, field, "an int64 written as a string of decimal digits")
        }
        let bytes = Array(digits.utf8)
        let magnitude = bytes.first == UInt8(ascii: "-") ? bytes.dropFirst() : bytes[...]
        guard !magnitude.isEmpty, magnitude.allSatisfy({ (0x30...0x39).contains($0) }),
            magnitude.count == 1 || magnitude.first != UInt8(ascii: "0"), digits != "-0"
        else {
            throw .invalid(field: field, "\"\(shown(digits))\" is not an int64 in decimal (digits, \"-\" for a negative, no leading zeros)")
        }
        guard let number = Int64(digits) else {
            throw .outOfRange(field: field, "\(shown(digits)) is beyond int64 (\(Int64.min) to \(Int64.max))")
        }
        return number
    }

    public static func bool(_ value: FieldValue, _ field: String) throws(DomainError) -> Bool {
        guard case .bool(let flag) = value else { throw wrongType(value, field, "true or false") }
        return flag
    }

    public static func date(_ value: FieldValue, _ field: String) throws(DomainError) -> CivilDate {
        let text = try text(value, field)
        guard let date = CivilDate(text), date.description == text else {
            throw .invalid(field: field, "\"\(shown(text))\" is not a date YYYY-MM-DD")
        }
        return date
    }

    public static func amount(_ value: FieldValue, _ field: String) throws(DomainError) -> Money {
        guard case .object(let members) = value else {
            throw wrongType(value, field, "an amount {\"currency\": code, \"minor\": int64 string}")
        }
        for key in members.keys.sorted() where key != "currency" && key != "minor" {
            throw .invalid(field: "\(field).\(shown(key))", "is not a field of an amount (currency, minor)")
        }
        let code = try text(members["currency"] ?? .null, "\(field).currency")
        guard let currency = Currency(code: code), currency.code == code else {
            throw .invalid(field: "\(field).currency", "\"\(shown(code))\" is not an ISO 4217 currency code in capitals")
        }
        return Money(minorUnits: try int64(members["minor"] ?? .null, "\(field).minor"), currency: currency)
    }

    public static func choice(_ value: FieldValue, _ names: [String], _ field: String) throws(DomainError) -> String {
        let name = try text(value, field)
        guard names.contains(name) else {
            throw .invalid(field: field, "\"\(shown(name))\" is not one of \(names.joined(separator: ", "))")
        }
        return name
    }

    /// An array of objects of `form`, each read with a ``SyncFieldReader`` that names its
    /// fields `field[i].name`.
    public static func objects(_ value: FieldValue, _ form: [SyncField], _ field: String) throws(DomainError) -> [SyncFieldReader] {
        guard case .array(let items) = value else { throw wrongType(value, field, "an array of objects") }
        var readers: [SyncFieldReader] = []
        for (index, item) in items.enumerated() {
            guard case .object(let members) = item else { throw wrongType(item, "\(field)[\(index)]", "an object") }
            readers.append(try SyncFieldReader(members, form: form, what: "\(field)[\(index)]"))
        }
        return readers
    }

    public static func choice<Choice: RawRepresentable<String> & CaseIterable>(
        _ value: FieldValue, _ type: Choice.Type, _ field: String
    ) throws(DomainError) -> Choice {
        let name = try choice(value, Choice.allCases.map(\.rawValue), field)
        guard let choice = Choice(rawValue: name) else { throw .invalid(field: field, "\"\(name)\" is not a \(Choice.self)") }
        return choice
    }

    private static func wrongType(_ value: FieldValue, _ field: String, _ expected: String) -> DomainError {
        .invalid(field: field, "must be \(expected), not \(shown(value.description))")
    }

    /// Pushed text as a refusal shows it (in its message, or as the field when a key is unknown):
    /// at most 64 characters, since a refusal is stored with its dot and sent back with every
    /// retry, and must not grow with what was pushed.
    static func shown(_ text: String) -> String {
        guard text.utf8.count > 64, text.count > 64 else { return text }
        return String(text.prefix(64)) + "…"
    }
}

/// A full record's fields, read by its kind's form: built once the keys are known to be the
/// kind's, every required field present and every value of its type; then each typed read names
/// its field.
public struct SyncFieldReader {
    private let fields: FieldMap
    /// "" for a record; "levels[2]" for an object of a record's field, prefixed to every field
    /// a refusal names.
    private let path: String

    public init(_ fields: FieldMap, form: [SyncField], kind: RecordKind) throws(DomainError) {
        try self.init(fields, form: form, path: "", noun: "\(kind.rawValue) record")
    }

    /// An object of a record's ``SyncFieldType/objects(_:)`` field, at `path` ("levels[2]").
    init(_ fields: FieldMap, form: [SyncField], what path: String) throws(DomainError) {
        try self.init(fields, form: form, path: path, noun: "object of \(path.prefix { $0 != "[" })")
    }

    private init(_ fields: FieldMap, form: [SyncField], path: String, noun: String) throws(DomainError) {
        let prefix = path.isEmpty ? "" : path + "."
        let byName = Dictionary(uniqueKeysWithValues: form.map { ($0.name, $0) })
        for key in fields.keys.sorted() where (!path.isEmpty || key != RecordCoding.deletedField) && byName[key] == nil {
            throw .invalid(field: prefix + SyncValue.shown(key), "is not a field of \(noun.first == "o" ? "an" : "a") \(noun)")
        }
        for field in form {
            guard let value = fields[field.name] else {
                guard field.optional else { throw .invalid(field: prefix + field.name, "is missing: every \(noun) has it") }
                continue
            }
            do throws(DomainError) {
                try field.check(value)
            } catch {
                throw error.prefixed(prefix)
            }
        }
        self.fields = fields
        self.path = prefix
    }

    private func value(_ name: String) -> FieldValue { fields[name] ?? .null }

    /// Runs a typed read, naming the field with its path.
    private func read<Value>(_ name: String, _ body: (FieldValue, String) throws(DomainError) -> Value) throws(DomainError) -> Value {
        do throws(DomainError) {
            return try body(value(name), name)
        } catch {
            throw error.prefixed(path)
        }
    }

    public func text(_ name: String) throws(DomainError) -> String { try read(name, SyncValue.text) }
    public func textList(_ name: String) throws(DomainError) -> [String] { try read(name, SyncValue.textList) }
    public func int32(_ name: String) throws(DomainError) -> Int { try read(name, SyncValue.int32) }
    public func int64(_ name: String) throws(DomainError) -> Int64 { try read(name, SyncValue.int64) }
    public func bool(_ name: String) throws(DomainError) -> Bool { try read(name, SyncValue.bool) }
    public func date(_ name: String) throws(DomainError) -> CivilDate { try read(name, SyncValue.date) }
    public func amount(_ name: String) throws(DomainError) -> Money { try read(name, SyncValue.amount) }
    public func any(_ name: String) -> FieldValue { value(name) }

    /// The objects of an ``SyncFieldType/objects(_:)`` field, each read by `body`.
    public func objects<Item>(_ name: String, _ form: [SyncField], _ body: (SyncFieldReader) throws(DomainError) -> Item) throws(DomainError) -> [Item] {
        var items: [Item] = []
        for reader in try SyncValue.objects(value(name), form, path + name) { items.append(try body(reader)) }
        return items
    }

    public func instant(_ name: String) throws(DomainError) -> Date {
        Activity.instant(milliseconds: try int64(name))
    }

    public func choice<Choice: RawRepresentable<String> & CaseIterable>(_ name: String, _ type: Choice.Type) throws(DomainError) -> Choice {
        try read(name) { value, name throws(DomainError) in try SyncValue.choice(value, type, name) }
    }

    /// nil when the field is null or absent.
    public func optional<Value>(_ name: String, _ read: (String) throws(DomainError) -> Value) throws(DomainError) -> Value? {
        value(name) == .null ? nil : try read(name)
    }
}

/// The forms of every synced kind, by kind name.
public enum SyncForms {
    public static let all: [any SyncRecordForm.Type] = [
        Customer.self, LedgerEntry.self, Activity.self, Contact.self, Dispute.self, PromiseToPay.self, CollectionTask.self,
        ConflictRecord.self, DunningPolicy.self, DunningHold.self, DunningNotice.self, TenantSetting.self,
        EscalationRule.self, Escalation.self, NoticeTemplate.self, BankFile.self, CashReceipt.self, ApprovalRequest.self, DatedRate.self, PeriodClose.self,
        TeamCalendar.self, Ticket.self, TicketEvent.self,
    ]

    public static let byKind: [String: any SyncRecordForm.Type] = Dictionary(
        uniqueKeysWithValues: all.map { ($0.recordKind.rawValue, $0) }
    )

    /// Checks a pushed change's fields against its kind's form, key by key: every key a field of
    /// the kind (`"_deleted"`, a boolean, only where `allowsDeleted`), every value of its field's
    /// type. Which fields must be there is the record's to say once it is merged (a change to a
    /// mutable kind holds only what it changed).
    public static func check(_ fields: FieldMap, kind: String, allowsDeleted: Bool) throws(DomainError) {
        guard let type = byKind[kind] else { throw .invalid(field: "kind", "\"\(SyncValue.shown(kind))\" is not a kind of record") }
        let form = Dictionary(uniqueKeysWithValues: type.form.map { ($0.name, $0) })
        for key in fields.keys.sorted() {
            let value = fields[key] ?? .null
            if key == RecordCoding.deletedField {
                guard allowsDeleted else { throw .invalid(field: key, "\(kind) records are never deleted") }
                _ = try SyncValue.bool(value, key)
                continue
            }
            guard let field = form[key] else { throw .invalid(field: SyncValue.shown(key), "is not a field of a \(kind) record") }
            try field.check(value)
        }
    }
}

extension DomainError {
    /// The same refusal with `prefix` ("levels[2].") before the field it names.
    func prefixed(_ prefix: String) -> DomainError {
        guard !prefix.isEmpty else { return self }
        switch self {
        case .invalid(let field, let reason): return .invalid(field: prefix + field, reason)
        case .money(let field, let error): return .money(field: prefix + field, error)
        case .conflict(let field, let reason): return .conflict(field: prefix + field, reason)
        case .notFound(let field, let id): return .notFound(field: prefix + field, id: id)
        case .alreadyExists(let field, let reason): return .alreadyExists(field: prefix + field, reason)
        case .outOfRange(let field, let reason): return .outOfRange(field: prefix + field, reason)
        }
    }
}
