import DunlinStore
import Foundation
import GRDBSQLite

/// One read-only SQL query over a replica's analyst views (``DunlinStore/AnalystViews``), on its
/// own read-only connection: `dunlin sql`. The query reads the `ar_` views and nothing else (an
/// authorizer refuses every other table, every write, PRAGMA and ATTACH), and is one statement.
public enum AnalystSQL {
    /// A value as SQLite gave it.
    public enum Value: Sendable, Hashable {
        case null
        case integer(Int64)
        case real(Double)
        case text(String)
    }

    public struct Result: Sendable, Hashable {
        public var columns: [String]
        public var rows: [[Value]]
    }

    /// Why a query was refused: `permission` when it reads beyond the views or writes, else the
    /// query is malformed (SQLite's message).
    public struct Refusal: Error, Sendable, Hashable, CustomStringConvertible {
        public var permission: Bool
        public var message: String
        public var description: String { message }
    }

    /// The most rows one query answers; more is refused (narrow the query, or page with LIMIT/OFFSET).
    public static let maximumRows = 1_000_000

    /// Runs `sql` on the SQLite file at `path`, read-only.
    public static func run(_ sql: String, path: String) throws -> Result {
        var connection: OpaquePointer?
        guard sqlite3_open_v2(path, &connection, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nil) == SQLITE_OK, let connection else {
            let message = connection.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close_v2(connection)
            throw Refusal(permission: false, message: "cannot open the replica at \(path): \(message)")
        }
        defer { sqlite3_close_v2(connection) }
        sqlite3_busy_timeout(connection, 5_000)
        let denied = DeniedBox()
        let box = Unmanaged.passUnretained(denied).toOpaque()
        sqlite3_set_authorizer(connection, { box, action, first, second, _, inner in
            let denied = Unmanaged<DeniedBox>.fromOpaque(box!).takeUnretainedValue()
            let name = first.map { String(cString: $0) } ?? ""
            let within = inner.map { String(cString: $0) } ?? ""
            switch action {
            case SQLITE_SELECT, SQLITE_FUNCTION, SQLITE_RECURSIVE:
                return SQLITE_OK
            case SQLITE_READ:
                // A view's own reads of its tables carry the view's name; the query's own reads must
                // be of a view. A flattened view that reads no column (count(*)) names its table
                // and no column: that is one of the views' tables, and tells nothing beyond them.
                let column = second.map { String(cString: $0) } ?? ""
                if name.hasPrefix("ar_") || within.hasPrefix("ar_") || column.isEmpty && AnalystViews.sources.contains(name) { return SQLITE_OK }
                denied.what = "table \(name)"
                return SQLITE_DENY
            default:
                denied.what = name.isEmpty ? "a statement that is not a SELECT" : "\(name)"
                return SQLITE_DENY
            }
        }, box)

        var statement: OpaquePointer?
        var tail: UnsafePointer<CChar>?
        let prepared = sql.withCString { text in
            let status = sqlite3_prepare_v2(connection, text, -1, &statement, &tail)
            let rest = tail.map { String(cString: $0) } ?? ""
            return (status, rest)
        }
        defer { sqlite3_finalize(statement) }
        guard prepared.0 == SQLITE_OK else {
            if prepared.0 == SQLITE_AUTH {
                throw Refusal(permission: true, message: "dunlin sql reads the ar_ views only (\(AnalystViews.names.joined(separator: ", "))); \(denied.what ?? "this") is not one of them")
            }
            throw Refusal(permission: false, message: String(cString: sqlite3_errmsg(connection)))
        }
        guard let statement else { throw Refusal(permission: false, message: "no statement: the query is empty") }
        guard prepared.1.allSatisfy({ $0.isWhitespace || $0 == ";" }) else {
            throw Refusal(permission: false, message: "one statement at a time; the query goes on after it: \(prepared.1.prefix(40))")
        }
        guard sqlite3_stmt_readonly(statement) != 0 else { throw Refusal(permission: true, message: "dunlin sql only reads") }

        let count = sqlite3_column_count(statement)
        let columns = (0..<count).map { String(cString: sqlite3_column_name(statement, $0)) }
        var rows: [[Value]] = []
        while true {
            let step = sqlite3_step(statement)
            if step == SQLITE_DONE { break }
            guard step == SQLITE_ROW else { throw Refusal(permission: false, message: String(cString: sqlite3_errmsg(connection))) }
            guard rows.count < maximumRows else {
                throw Refusal(permission: false, message: "more than \(maximumRows) rows: narrow the query, or page it with LIMIT and OFFSET")
            }
            rows.append((0..<count).map { column in
                switch sqlite3_column_type(statement, column) {
                case SQLITE_INTEGER: .integer(sqlite3_column_int64(statement, column))
                case SQLITE_FLOAT: .real(sqlite3_column_double(statement, column))
                case SQLITE_NULL: .null
                default: .text(sqlite3_column_text(statement, column).map { String(cString: $0) } ?? "")
                }
            })
        }
        return Result(columns: columns, rows: rows)
    }

    private final class DeniedBox {
        var what: String?
    }
}
