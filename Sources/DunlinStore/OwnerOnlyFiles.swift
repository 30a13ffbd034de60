import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Files and folders only their owner may read: the data directory (0700), every database (the
/// control database, tenant files, client replicas, exports: 0600) and client profiles (0600).
///
/// Modes are set when a file is created, never loosened afterwards, and never left to the umask:
/// the process umask is shared by every thread, so it is not changed. SQLite gives a database's
/// `-wal`, `-shm` and `-journal` files the mode of the database file, so a database created 0600
/// keeps its companions 0600 too; ``restrict(database:)`` tightens files an older version made.
public enum OwnerOnlyFiles {
    public static let fileMode: mode_t = 0o600
    public static let directoryMode: mode_t = 0o700

    /// Creates `url` (and missing parents) if needed, and sets it to 0700 even if it existed:
    /// `dunlind init` into an existing folder must not leave it readable by others.
    public static func directory(_ url: URL) throws {
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: Int(directoryMode)])
        try FileManager.default.setAttributes([.posixPermissions: Int(directoryMode)], ofItemAtPath: url.path)
    }

    /// Creates an empty file at `path` with mode 0600 if none exists (exclusively: an existing file
    /// is left alone), then runs `open`, which opens it as a database.
    public static func creating<T>(_ path: String, open: () throws -> T) throws -> T {
        let descriptor = createExclusively(path)
        if descriptor >= 0 {
            close(descriptor)
        } else if errno != EEXIST {
            throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: path])
        }
        return try open()
    }

    /// Sets a database file and whichever of its `-wal`, `-shm` and `-journal` companions exist to 0600.
    public static func restrict(database path: String) throws {
        for suffix in ["", "-wal", "-shm", "-journal"] where FileManager.default.fileExists(atPath: path + suffix) {
            try FileManager.default.setAttributes([.posixPermissions: Int(fileMode)], ofItemAtPath: path + suffix)
        }
    }

    /// Writes `data` to `url` atomically (a temporary file beside it, then a rename), the file being
    /// 0600 from its first byte: a token or a tenant's data is never readable by others, not even
    /// for a moment.
    public static func write(_ data: Data, to url: URL) throws {
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString).tmp")
        let handle = try createFile(temporary)
        do {
            try handle.write(contentsOf: data)
            try handle.synchronize()
            try handle.close()
            guard rename(temporary.path, url.path) == 0 else {
                throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: url.path])
            }
        } catch {
            try? handle.close()
            try? FileManager.default.removeItem(at: temporary)
            throw error
        }
    }

    /// Creates a new file, 0600, for writing; fails if it exists.
    public static func createFile(_ url: URL) throws -> FileHandle {
        let descriptor = createExclusively(url.path)
        guard descriptor >= 0 else {
            let code = errno
            throw CocoaError(code == EEXIST ? .fileWriteFileExists : .fileWriteNoPermission,
                             userInfo: [NSFilePathErrorKey: url.path, NSUnderlyingErrorKey: POSIXError(POSIXErrorCode(rawValue: code) ?? .EIO)])
        }
        return FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
    }

    /// `open(2)` with O_CREAT | O_EXCL and mode 0600: a descriptor, or -1 with `errno` set.
    private static func createExclusively(_ path: String) -> Int32 {
        #if canImport(Glibc)
        Glibc.open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, fileMode)
        #else
        Darwin.open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, fileMode)
        #endif
    }
}
