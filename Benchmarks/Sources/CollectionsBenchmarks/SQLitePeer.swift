import BenchmarkSupport
import Foundation
import GRDBSQLite

/// The peer: one hand-written query run through the sqlite3 C API on its own read-only
/// connection to the same file, every row stepped and every column read (as text, integer or
/// real by its type), so what it times is what SQLite itself needs to produce the answer.
final class SQLitePeer {
    private var connection: OpaquePointer?

    init(path: String) throws {
        guard sqlite3_open_v2(path, &connection, SQLITE_OPEN_READONLY, nil) == SQLITE_OK else {
            throw BenchError("sqlite3_open_v2 \(path): \(String(cString: sqlite3_errmsg(connection)))")
        }
    }

    deinit { sqlite3_close_v2(connection) }

    /// Prepares `sql`, binds `arguments` (?1, ?2, ...), steps through every row reading each
    /// column, finalizes; returns the rows.
    @discardableResult
    func run(_ sql: String, _ arguments: [String]) throws -> Int {
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(connection, sql, -1, &statement, nil) == SQLITE_OK else {
            throw BenchError("sqlite3_prepare_v2: \(String(cString: sqlite3_errmsg(connection)))")
        }
        defer { sqlite3_finalize(statement) }
        let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
        for (index, argument) in arguments.enumerated() {
            sqlite3_bind_text(statement, Int32(index + 1), argument, -1, transient)
        }
        var rows = 0
        var sink = 0
        while true {
            let step = sqlite3_step(statement)
            if step == SQLITE_DONE { break }
            guard step == SQLITE_ROW else { throw BenchError("sqlite3_step: \(String(cString: sqlite3_errmsg(connection)))") }
            rows += 1
            for column in 0..<sqlite3_column_count(statement) {
                switch sqlite3_column_type(statement, column) {
                case SQLITE_INTEGER: sink &+= Int(sqlite3_column_int64(statement, column))
                case SQLITE_FLOAT: sink &+= Int(sqlite3_column_double(statement, column))
                case SQLITE_TEXT: sink &+= Int(sqlite3_column_bytes(statement, column)) &+ Int(sqlite3_column_text(statement, column)?.pointee ?? 0)
                default: break
                }
            }
        }
        withExtendedLifetime(sink) {}
        return rows
    }
}
