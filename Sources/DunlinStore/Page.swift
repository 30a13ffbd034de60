import DunlinCore
import Foundation
import GRDB

/// One page of a list, and where the next one starts.
///
/// Lists are read in a stable order, (sort key, id), and a cursor is the last row's position in
/// it, so paging never skips or repeats a row that is inserted or removed between two pages: one
/// written behind the cursor is simply not on a later page, one written ahead of it is. (A row
/// whose sort key itself changes between two pages moves in the order, and may be met twice or
/// not at all.)
public struct Page<Item: Sendable>: Sendable {
    public var items: [Item]
    /// Pass it back (``PageRequest/cursor``) for the next page; nil when this page is the last.
    public var nextCursor: String?

    public init(items: [Item], nextCursor: String?) {
        self.items = items
        self.nextCursor = nextCursor
    }
}

extension Page: Equatable where Item: Equatable {}
extension Page: Hashable where Item: Hashable {}

/// Which page of a list to read: the one paging scheme of every list the services answer
/// (customers, ledger entries, contacts, disputes, promises, tasks, activities, aging rows,
/// tenants, users, people, tokens, replicas; PROTOCOL.md §16.1). On the wire, `cursor` and
/// `page_size`; the answer's `next_cursor` is the next page's cursor, empty on the last page.
public struct PageRequest: Sendable, Hashable {
    /// A list's page sizes: the one a request that names none (0) gets, and the most a page holds.
    public struct Sizes: Sendable, Hashable {
        /// Rows a page holds when the request names no size.
        public let standard: Int
        /// The most rows a page holds: a larger request is cut to it, never refused.
        public let maximum: Int

        /// Every list but the aging: 100 rows, at most 1,000.
        public static let lists = Sizes(standard: 100, maximum: 1000)
        /// Aging rows: 1,000, at most 10,000. Every page carries the complete report's totals (the
        /// tenant's from the kept totals; an analyst's summed over their customers on each page).
        public static let aging = Sizes(standard: 1000, maximum: 10_000)
    }

    /// The previous page's ``Page/nextCursor``, opaque; nil for the first page.
    public let cursor: String?
    /// Rows on the page: 1 to the list's maximum.
    public let size: Int

    /// A request for `size` rows (0: the list's standard size; above its maximum: the maximum)
    /// after `cursor` (nil or empty: from the start).
    public init(after cursor: String? = nil, size: UInt32 = 0, sizes: Sizes = .lists) {
        self.cursor = (cursor?.isEmpty ?? true) ? nil : cursor
        self.size = size == 0 ? sizes.standard : min(Int(exactly: size) ?? sizes.maximum, sizes.maximum)
    }

    /// The first page, of the standard size.
    public static let first = PageRequest()
}

/// A position in a list: the last row's sort key and id (its tie-breaker, unique within a key),
/// and which list it belongs to, so a cursor of one list is refused by another. Callers see it
/// only as an opaque string: base64url (no padding) of its JSON.
struct PageCursor: Codable, Sendable {
    /// A sort key: text or an integer, as the column holds it.
    enum Key: Codable, Sendable, Comparable {
        case text(String)
        case integer(Int64)

        init(_ value: DatabaseValue) throws {
            switch value.storage {
            case .string(let text): self = .text(text)
            case .int64(let integer): self = .integer(integer)
            default: throw DatabaseError(resultCode: .SQLITE_MISMATCH, message: "a list's sort key is neither text nor an integer")
            }
        }

        var databaseValue: DatabaseValue {
            switch self {
            case .text(let text): text.databaseValue
            case .integer(let integer): integer.databaseValue
            }
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let integer = try? container.decode(Int64.self) {
                self = .integer(integer)
            } else {
                self = .text(try container.decode(String.self))
            }
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case .text(let text): try container.encode(text)
            case .integer(let integer): try container.encode(integer)
            }
        }
    }

    var list: String
    var key: Key
    var id: String

    init(list: String, key: Key, id: String) {
        self.list = list
        self.key = key
        self.id = id
    }

    /// The position `text` names in `list`; INVALID_ARGUMENT naming `cursor` for text that is no
    /// cursor, or another list's.
    init(decoding text: String, list: String) throws(DomainError) {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        guard let data = Data(base64Encoded: base64), let cursor = try? JSONDecoder().decode(PageCursor.self, from: data) else {
            throw .invalid(field: "cursor", "\"\(text.prefix(64))\" is not a page cursor")
        }
        guard cursor.list == list else {
            throw .invalid(field: "cursor", "the cursor is from another list (\(cursor.list)); pass back this list's next cursor")
        }
        self = cursor
    }

    var encoded: String {
        let data = (try? JSONEncoder().encode(self)) ?? Data()
        return data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}

/// The order a list is read in: one column, then `id`, ascending or descending; or one column
/// alone, when its values are unique (the audit trail's `seq`: no `id` to break ties with). Its
/// name is what a cursor is bound to.
struct ListOrder: Sendable {
    let name: String
    let column: Column
    let descending: Bool
    /// `column` alone orders the rows: the cursor carries no id.
    let unique: Bool

    init(table: String, by column: Column, descending: Bool = false, unique: Bool = false) {
        name = "\(table).\(column.name)\(descending ? ".desc" : "")"
        self.column = column
        self.descending = descending
        self.unique = unique
    }

    init<Table: TableRecord>(_ table: Table.Type, by column: Column, descending: Bool = false) {
        self.init(table: Table.databaseTableName, by: column, descending: descending)
    }

    /// Ascending by `column`, whose values are unique in `table`.
    init<Table: TableRecord>(_ table: Table.Type, uniquelyBy column: Column) {
        self.init(table: Table.databaseTableName, by: column, unique: true)
    }

    static let id = Column("id")
}

extension QueryInterfaceRequest {
    /// One page of this request in `order`: `page.size` rows after the cursor, read with one more
    /// to learn whether another page follows, each turned into an item by `decode`.
    func page<Item>(_ page: PageRequest, in order: ListOrder, _ db: Database, _ decode: (Row) throws -> Item) throws -> Page<Item> {
        let id = ListOrder.id
        var request = self
        if let text = page.cursor {
            let position = try PageCursor(decoding: text, list: order.name)
            let key = position.key.databaseValue
            request =
                switch (order.unique, order.descending) {
                case (true, false): request.filter(literal: "\(order.column) > \(key)")
                case (true, true): request.filter(literal: "\(order.column) < \(key)")
                case (false, false): request.filter(literal: "(\(order.column), \(id)) > (\(key), \(position.id))")
                case (false, true): request.filter(literal: "(\(order.column), \(id)) < (\(key), \(position.id))")
                }
        }
        let columns = order.unique ? [order.column] : [order.column, id]
        request = request.order(columns.map { order.descending ? $0.desc : $0.asc }).limit(page.size + 1)
        let rows = try Row.fetchAll(db, request)
        let items = try rows.prefix(page.size).map(decode)
        guard rows.count > page.size else { return Page(items: items, nextCursor: nil) }
        let last = rows[page.size - 1]
        let next = PageCursor(list: order.name, key: try .init(last[order.column.name] as DatabaseValue), id: order.unique ? "" : last[id.name])
        return Page(items: items, nextCursor: next.encoded)
    }
}

extension Page {
    /// One page of `rows`, a whole list already in memory, in its order: by `position`, (key, id),
    /// ascending and unique. What a list computed whole (the aging) pages with.
    public init(slicing rows: [Item], list: String, _ request: PageRequest, position: (Item) -> (key: String, id: String)) throws {
        var start = rows.startIndex
        if let text = request.cursor {
            let after = try PageCursor(decoding: text, list: list)
            guard case .text(let key) = after.key else {
                throw DomainError.invalid(field: "cursor", "the cursor is from another list; pass back this list's next cursor")
            }
            start = rows.firstIndex { let (rowKey, rowID) = position($0); return (rowKey, rowID) > (key, after.id) } ?? rows.endIndex
        }
        let end = rows.index(start, offsetBy: request.size, limitedBy: rows.endIndex) ?? rows.endIndex
        let items = Array(rows[start..<end])
        guard end < rows.endIndex, let last = items.last else {
            self.init(items: items, nextCursor: nil)
            return
        }
        let (key, id) = position(last)
        self.init(items: items, nextCursor: PageCursor(list: list, key: .text(key), id: id).encoded)
    }
}
