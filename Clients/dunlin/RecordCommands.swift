import ArgumentParser
import DunlinClient
import DunlinCore
import DunlinWire
import Foundation

// One command family for every mutable record kind (contacts, disputes, promises, tasks):
// `dunlin <kind> list|get|add|update|delete` on one implementation. A kind brings its columns, its
// JSON (`Codable`), its list filters, the options that make a new record and those that change one
// (Records.swift). `update` reads the record, changes the fields given and writes it back; fields
// not given keep their value.

/// A mutable record kind as the CLI lists, shows, adds, updates and deletes it.
protocol RecordCommandKind: MutableRecordMessage {
    associatedtype JSON: Encodable
    associatedtype Filters: RecordFilters where Filters.Request == ListRequest
    associatedtype NewRecord: NewRecordOptions where NewRecord.Record == Self
    associatedtype Changes: RecordChanges where Changes.Record == Self

    /// What the kind is called, and what its commands say in --help.
    static var help: RecordHelp { get }
    /// Commands of this kind only (promises' evaluate).
    static var moreCommands: [any ParsableCommand.Type] { get }

    /// The table's columns.
    static var header: [String] { get }
    /// The record's table row; user ids shown as names where `people` knows them.
    func row(_ people: People) -> [String]
    /// What `--json` prints: ids, never names.
    var json: JSON { get }
    /// Long text `get` prints under the table ("note: ..."), if any.
    var remark: String? { get }
    /// Whether the table shows a user (so the names are worth looking up).
    static var showsPeople: Bool { get }
}

extension RecordCommandKind {
    static var moreCommands: [any ParsableCommand.Type] { [] }
    var remark: String? { nil }
    static var showsPeople: Bool { false }
}

/// What a kind's commands say in --help; `get`, `update` and `delete` say the same for every kind
/// unless the kind has more to say.
struct RecordHelp {
    /// "contact": the kind in help and messages; "contacts" names the family and a list's JSON.
    var noun: String
    /// The family's command and a list's JSON key, when not the noun + "s" ("policy", "policies").
    var command: String? = nil
    var pluralNoun: String? = nil
    var family: String
    var list: String
    var add: String
    var get: String?
    /// `add`'s and `update`'s discussion: an example, or what the rights allow.
    var addDiscussion = ""
    var updateDiscussion = ""
}

extension RecordCommandKind {
    static var noun: String { help.noun }
    static var plural: String { help.pluralNoun ?? help.noun + "s" }
    /// "Contact": the noun at the start of a sentence.
    static var title: String { noun.prefix(1).uppercased() + noun.dropFirst() }
}

/// A kind's list filters, as options.
protocol RecordFilters: ParsableArguments {
    associatedtype Request
    func apply(to request: inout Request)
}

/// The options that make a new record (`add`).
protocol NewRecordOptions: ParsableArguments {
    associatedtype Record
    /// The record the options describe; `client` answers what a default needs to look up (the
    /// invoices' currency when --currency is left out).
    func record(client: any UnaryCaller, options: RPCClient.CallOptions) async throws -> Record
}

/// New-record options whose defaults need no lookup.
protocol PlainNewRecordOptions: NewRecordOptions {
    func record() throws -> Record
}

extension PlainNewRecordOptions {
    func record(client: any UnaryCaller, options: RPCClient.CallOptions) async throws -> Record { try record() }
}

/// The options that change a record (`update`): nil keeps the field.
protocol RecordChanges: ParsableArguments {
    associatedtype Record
    func apply(to record: inout Record) throws
}

/// `dunlin contacts|disputes|promises|tasks`.
struct RecordFamily<Kind: RecordCommandKind>: AsyncParsableCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(
            commandName: Kind.help.command ?? Kind.plural, abstract: Kind.help.family,
            subcommands: [ListRecords<Kind>.self, GetRecord<Kind>.self, AddRecord<Kind>.self, UpdateRecord<Kind>.self, DeleteRecords<Kind>.self]
                + Kind.moreCommands
        )
    }
}

struct ListRecords<Kind: RecordCommandKind>: AsyncParsableCommand {
    static var configuration: CommandConfiguration { CommandConfiguration(commandName: "list", abstract: Kind.help.list) }
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var paging: PageOptions
    @OptionGroup var filters: Kind.Filters

    func run() async throws {
        try await connection.withCaller { client in
            let (records, next) = try await paging.read { size, cursor in
                var request = Kind.ListRequest()
                filters.apply(to: &request)
                request.pageSize = size
                request.cursor = cursor
                let page = try await client.unary(Kind.list, request, options: connection.callOptions)
                return (page[keyPath: Kind.listed], page.nextCursor)
            }
            if connection.json {
                printJSON(encoding: ListJSON(key: Kind.plural, items: records.map(\.json), nextCursor: next))
            } else {
                let people = await People.lookUp(for: Kind.self, connection: connection, client: client)
                printTable([Kind.header] + records.map { $0.row(people) })
                if !next.isEmpty { say("more: --cursor \(next)") }
            }
        }
    }
}

struct GetRecord<Kind: RecordCommandKind>: AsyncParsableCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(commandName: "get", abstract: Kind.help.get ?? "Show a \(Kind.noun).", aliases: ["show"])
    }
    @OptionGroup var connection: ConnectionOptions
    @Argument(help: ArgumentHelp("\(Kind.title) id.")) var id: String

    func run() async throws {
        try await connection.withCaller { client in
            let record = try await client.unary(Kind.get, .with { $0.id = id }, options: connection.callOptions)
            await show(record, connection: connection, client: client)
            if !connection.json, let remark = record.remark { say(remark) }
        }
    }
}

struct AddRecord<Kind: RecordCommandKind>: AsyncParsableCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(commandName: "add", abstract: Kind.help.add, discussion: Kind.help.addDiscussion)
    }
    @OptionGroup var connection: ConnectionOptions
    @Option(help: ArgumentHelp("\(Kind.title) id (default: generated).")) var id = ""
    @OptionGroup var fields: Kind.NewRecord

    func run() async throws {
        try await connection.withCaller { client in
            var record = try await fields.record(client: client, options: connection.callOptions)
            record.id = id
            try await save(record, client: client, connection: connection)
        }
    }
}

struct UpdateRecord<Kind: RecordCommandKind>: AsyncParsableCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(
            commandName: "update", abstract: "Change a \(Kind.noun)'s fields (those not given keep their value).", discussion: Kind.help.updateDiscussion
        )
    }
    @OptionGroup var connection: ConnectionOptions
    @Argument(help: ArgumentHelp("\(Kind.title) id.")) var id: String
    @OptionGroup var changes: Kind.Changes

    func run() async throws {
        try await connection.withCaller { client in
            var record = try await client.unary(Kind.get, .with { $0.id = id }, options: connection.callOptions)
            try changes.apply(to: &record)
            try await save(record, client: client, connection: connection)
        }
    }
}

struct DeleteRecords<Kind: RecordCommandKind>: AsyncParsableCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(commandName: "delete", abstract: "Delete \(Kind.plural) (managers; all or none).")
    }
    @OptionGroup var connection: ConnectionOptions
    @Argument(help: ArgumentHelp("\(Kind.title) ids.")) var ids: [String]

    func run() async throws {
        try await connection.withCaller { client in
            let response = try await client.unary(Kind.delete, .with { $0.ids = ids }, options: connection.callOptions)
            if connection.json {
                printJSON(encoding: DeletedJSON(deleted: response.count, ids: ids))
            } else {
                say("deleted \(response.count) \(Kind.plural)")
            }
        }
    }
}

/// Writes one record and prints it as stored.
private func save<Kind: RecordCommandKind>(_ record: Kind, client: any UnaryCaller, connection: ConnectionOptions) async throws {
    var request = Kind.UpsertRequest()
    request[keyPath: Kind.batch] = [record]
    let response = try await client.unary(Kind.upsert, request, options: connection.callOptions)
    await show(response[keyPath: Kind.saved].first ?? record, connection: connection, client: client)
}

/// Prints one record: its JSON object, or a one-row table.
private func show<Kind: RecordCommandKind>(_ record: Kind, connection: ConnectionOptions, client: any UnaryCaller) async {
    if connection.json {
        printJSON(encoding: record.json)
    } else {
        let people = await People.lookUp(for: Kind.self, connection: connection, client: client)
        printTable([Kind.header, record.row(people)])
    }
}

// MARK: JSON

/// Prints `value` as one line of JSON with sorted keys, as `printJSON(_: Any)` does.
func printJSON(encoding value: some Encodable) {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
    print(String(decoding: data, as: UTF8.self))
}

/// A list: `{"<key>": [...], "next_cursor": "..."}`.
struct ListJSON<Item: Encodable>: Encodable {
    var key: String
    var items: [Item]
    var nextCursor: String

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: JSONKey.self)
        try container.encode(items, forKey: JSONKey(key))
        try container.encode(nextCursor, forKey: JSONKey("next_cursor"))
    }
}

/// The outcome of a delete.
struct DeletedJSON: Encodable {
    var deleted: UInt32
    var ids: [String]
}

/// An amount: `{"currency", "minor", "amount"}` (the decimal text), as `json(_: Dunlin_V1_Amount)`.
struct AmountJSON: Encodable {
    var currency: String
    var minor: Int64
    var amount: String

    init(_ amount: Dunlin_V1_Amount) {
        currency = amount.currency
        minor = amount.minor
        self.amount = Currency(code: amount.currency).map { Money(minorUnits: amount.minor, currency: $0).decimalString } ?? "\(amount.minor)"
    }
}

private struct JSONKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ name: String) { stringValue = name }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}
