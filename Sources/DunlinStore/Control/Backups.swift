import Crypto
import DunlinCore
import Foundation

/// `dunlind backup` and `dunlind restore`: a consistent online copy of a data directory, and
/// putting one back only after every file of it checks out.
///
/// A backup is a directory: `control.sqlite`, `tenants/<id>.sqlite` for every tenant not deleted,
/// the server's TLS certificate and key when the data directory has them (``tlsFiles``), and
/// `manifest.json` naming each file with its size and SHA-256. Each file is SQLite's online
/// backup of one database, read from one snapshot while the server keeps writing (every
/// transaction committed before it, none after); files are taken one after another, control
/// database first, so a tenant's file can hold writes made after the control database's copy
/// (never the other way round: a tenant the control database names is always there).
public enum Backups {
    public struct Manifest: Codable, Sendable, Equatable {
        public struct File: Codable, Sendable, Equatable {
            /// Relative to the backup directory: `control.sqlite`, `tenants/<id>.sqlite`.
            public var path: String
            public var bytes: UInt64
            public var sha256: String
        }

        public var version: Int
        /// When the backup started, Unix milliseconds (the injected clock's).
        public var createdAtMs: Int64
        public var files: [File]

        enum CodingKeys: String, CodingKey {
            case version, files
            case createdAtMs = "created_at_ms"
        }
    }

    public static let manifestName = "manifest.json"

    /// The data directory's own TLS certificate and key (DunlinServer's `ServerCertificateFiles`),
    /// copied as they are when both are there: a server restored from the backup presents the
    /// certificate the laptops pinned, instead of none (plain TCP) or a new one they refuse.
    public static let tlsFiles = [tlsCertificate, tlsKey]
    /// Where in a data directory the server's certificate and key are: the one place both the
    /// server (`ServerCertificateFiles`) and the backup name them.
    public static let tlsCertificate = "tls/server-cert.pem"
    public static let tlsKey = "tls/server-key.pem"
    public static let tlsFolder = "tls"

    /// Copies the data directory `data` into `destination`, which must not exist or be empty,
    /// and writes the manifest last: a backup without one is incomplete.
    /// `afterControl` runs once the control database is copied and before any tenant is: the
    /// end-to-end test holds the backup there while its writers keep posting.
    public static func backup(data: URL, to destination: URL, clock: WallClock = .system, afterControl: () throws -> Void = {}) throws -> Manifest {
        let manager = FileManager.default
        if manager.fileExists(atPath: destination.path), !(try manager.contentsOfDirectory(atPath: destination.path)).isEmpty {
            throw ControlError(.failedPrecondition, field: "to", reason: "not_empty", "\(destination.path) is not empty: a backup goes into a new directory")
        }
        try OwnerOnlyFiles.directory(destination)
        try OwnerOnlyFiles.directory(destination.appendingPathComponent(ControlStore.tenantsFolder))
        let started = clock.milliseconds
        let control = try ControlStore(data)
        var paths = [ControlStore.fileName]
        try TenantFiles.copy(control.writer, to: destination.appendingPathComponent(ControlStore.fileName))
        try afterControl()
        for tenant in try control.allTenants() {
            let path = "\(ControlStore.tenantsFolder)/\(tenant.id).sqlite"
            let store = try TenantStore(path: control.tenantFile(tenant.id).path)
            defer { TenantFiles.close(store) }
            try TenantFiles.copy(store, to: destination.appendingPathComponent(path))
            paths.append(path)
        }
        if tlsFiles.allSatisfy({ manager.fileExists(atPath: data.appendingPathComponent($0).path) }) {
            try OwnerOnlyFiles.directory(destination.appendingPathComponent(tlsFolder))
            for path in tlsFiles {
                try OwnerOnlyFiles.write(try Data(contentsOf: data.appendingPathComponent(path)), to: destination.appendingPathComponent(path))
                paths.append(path)
            }
        }
        let manifest = Manifest(version: 1, createdAtMs: started, files: try paths.map { try file($0, in: destination) })
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        try OwnerOnlyFiles.creating(destination.appendingPathComponent(manifestName).path) {
            try encoder.encode(manifest).write(to: destination.appendingPathComponent(manifestName))
        }
        return manifest
    }

    /// What is wrong with the backup at `source`: every file the manifest names must be there
    /// with its size and SHA-256, and nothing else may be there. Empty when it checks out.
    public static func verify(_ source: URL) throws -> (manifest: Manifest?, problems: [String]) {
        let manifestFile = source.appendingPathComponent(manifestName)
        guard let data = try? Data(contentsOf: manifestFile) else { return (nil, ["\(manifestFile.path): no manifest (an incomplete or foreign backup)"]) }
        guard let manifest = try? JSONDecoder().decode(Manifest.self, from: data), manifest.version == 1 else {
            return (nil, ["\(manifestFile.path): not a version 1 manifest"])
        }
        var problems: [String] = []
        var named = Set<String>()
        for expected in manifest.files {
            guard isSafe(expected.path) else {
                problems.append("\(expected.path): not a path a backup holds")
                continue
            }
            named.insert(expected.path)
            guard FileManager.default.fileExists(atPath: source.appendingPathComponent(expected.path).path) else {
                problems.append("\(expected.path): missing")
                continue
            }
            let found = try file(expected.path, in: source)
            if found.bytes != expected.bytes { problems.append("\(expected.path): \(found.bytes) bytes, the manifest says \(expected.bytes)") }
            else if found.sha256 != expected.sha256 { problems.append("\(expected.path): SHA-256 \(found.sha256), the manifest says \(expected.sha256)") }
        }
        if !named.contains(ControlStore.fileName) { problems.append("the manifest names no \(ControlStore.fileName)") }
        for folder in [ControlStore.tenantsFolder, tlsFolder] {
            let files = (try? FileManager.default.contentsOfDirectory(atPath: source.appendingPathComponent(folder).path)) ?? []
            for name in files where !named.contains("\(folder)/\(name)") {
                problems.append("\(folder)/\(name): not in the manifest")
            }
        }
        return (manifest, problems)
    }

    /// Puts the backup at `source` in place as the data directory `data` (which must not hold a
    /// running server): refused, with nothing touched, unless ``verify(_:)`` finds nothing wrong.
    /// Tenant files the backup does not have are left where they are.
    public static func restore(from source: URL, to data: URL) throws -> Manifest {
        let (manifest, problems) = try verify(source)
        guard let manifest, problems.isEmpty else {
            throw BackupRefused(problems: problems)
        }
        try OwnerOnlyFiles.directory(data)
        try OwnerOnlyFiles.directory(data.appendingPathComponent(ControlStore.tenantsFolder))
        for file in manifest.files {
            let target = data.appendingPathComponent(file.path)
            if tlsFiles.contains(file.path) {
                try OwnerOnlyFiles.directory(data.appendingPathComponent(tlsFolder))
                try OwnerOnlyFiles.write(try Data(contentsOf: source.appendingPathComponent(file.path)), to: target)
                continue
            }
            try TenantFiles.remove(target)
            try FileManager.default.copyItem(at: source.appendingPathComponent(file.path), to: target)
        }
        return manifest
    }

    /// `control.sqlite`, `tenants/<name>.sqlite` or one of ``tlsFiles``, nothing that climbs out
    /// of the directory.
    private static func isSafe(_ path: String) -> Bool {
        if path == ControlStore.fileName || tlsFiles.contains(path) { return true }
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        return parts.count == 2 && parts[0] == ControlStore.tenantsFolder && parts[1].hasSuffix(".sqlite")
            && !parts[1].hasPrefix(".") && !parts[1].contains("\\")
    }

    private static func file(_ path: String, in directory: URL) throws -> Manifest.File {
        let reader = try ChunkedFileReader(directory.appendingPathComponent(path))
        while try reader.next() != nil {}
        return Manifest.File(path: path, bytes: reader.size, sha256: reader.sha256())
    }
}

/// A restore refused because the backup does not check out (``Backups/verify(_:)``): nothing was
/// replaced. Each problem names the file.
public struct BackupRefused: Error, Sendable, CustomStringConvertible {
    public var problems: [String]
    public var description: String { "the backup does not check out, nothing was restored: " + problems.joined(separator: "; ") }
}
