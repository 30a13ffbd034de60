import Crypto
import Foundation
import GRDB

/// What happens to a tenant's database file outside its normal use: a consistent copy for export,
/// closing before deletion, removal.
public enum TenantFiles {
    /// Copies `store` into a new database file at `destination` while the server runs.
    ///
    /// SQLite's online backup reads from one snapshot of the WAL database, so the copy is
    /// consistent (every transaction committed before the snapshot, none after) and writers are
    /// not blocked while it is taken. The copy is switched to rollback-journal mode, so it is one
    /// self-contained file with no `-wal` beside it. The copy is created 0600.
    public static func copy(_ store: TenantStore, to destination: URL) throws {
        try copy(store.writer, to: destination)
    }

    /// ``copy(_:to:)`` of any database: a tenant's or the control database.
    static func copy(_ source: any DatabaseWriter, to destination: URL) throws {
        let copy = try OwnerOnlyFiles.creating(destination.path) { try DatabaseQueue(path: destination.path) }
        try source.backup(to: copy)
        try copy.writeWithoutTransaction { db in
            _ = try String.fetchOne(db, sql: "PRAGMA journal_mode = DELETE")
        }
        try copy.close()
    }

    /// Closes a store's connections, so no handle is left on a file about to be removed. Calls
    /// still holding the store fail from then on.
    public static func close(_ store: TenantStore) {
        try? store.writer.close()
    }

    /// Removes a database file and its `-wal` and `-shm` companions; a missing file is fine.
    public static func remove(_ file: URL) throws {
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let path = file.path + suffix
            if FileManager.default.fileExists(atPath: path) {
                try FileManager.default.removeItem(atPath: path)
            }
        }
    }
}

/// Reads a file in chunks while computing its SHA-256, for streaming an export.
public final class ChunkedFileReader {
    private let handle: FileHandle
    private var hasher = SHA256()
    public let size: UInt64
    public let chunkSize: Int

    public init(_ file: URL, chunkSize: Int = 256 << 10) throws {
        handle = try FileHandle(forReadingFrom: file)
        size = try handle.seekToEnd()
        try handle.seek(toOffset: 0)
        self.chunkSize = chunkSize
    }

    /// The next chunk, or nil at the end of the file.
    public func next() throws -> Data? {
        guard let data = try handle.read(upToCount: chunkSize), !data.isEmpty else { return nil }
        hasher.update(data: data)
        return data
    }

    /// Lower-case hex SHA-256 of every byte `next()` returned.
    public func sha256() -> String {
        hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }

    deinit { try? handle.close() }
}

extension TenantFiles {
    /// SQLite's `PRAGMA integrity_check` of a database file, opened read-only: "ok" when sound.
    /// For checking an export before trusting it.
    public static func integrityCheck(_ file: URL) throws -> String {
        var configuration = Configuration()
        configuration.readonly = true
        let database = try DatabaseQueue(path: file.path, configuration: configuration)
        defer { try? database.close() }
        return try database.read { db in
            try String.fetchAll(db, sql: "PRAGMA integrity_check").joined(separator: "; ")
        }
    }
}
