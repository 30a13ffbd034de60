import ArgumentParser
import DunlinCore
import DunlinStore
import DunlinWire
import Foundation

/// `dunlind backup`: a consistent copy of a data directory while the server runs (``Backups``).
struct Backup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Copy a data directory, online: the control database and every tenant, each file checksummed in manifest.json.",
        discussion: """
            Safe while dunlind serves: each database is read from one snapshot. The data directory's TLS certificate and key \
            (tls/) are copied too, so a restored server presents the certificate laptops pinned. --to must be a new or empty directory. \
            Exits 109 (FAILED_PRECONDITION) when --data holds no control database or --to is not empty.
            """
    )

    @Option(help: "The data directory made by `dunlind init`.")
    var data: String

    @Option(help: "A new (or empty) directory for the backup.")
    var to: String

    func run() async throws {
        do {
            let manifest = try Backups.backup(data: URL(fileURLWithPath: data), to: URL(fileURLWithPath: to), afterControl: Self.testHold)
            print("backed up \(manifest.files.count) database\(manifest.files.count == 1 ? "" : "s") to \(to) (manifest.json)")
        } catch let error as ControlError {
            FileHandle.standardError.write(Data("dunlind backup: \(error.message)\n".utf8))
            throw ExitCode(100 + Int32(StatusCode.failedPrecondition.rawValue))
        }
    }
}

extension Backup {
    /// Test-only: with `DUNLIN_TEST_BACKUP_HOLD` naming a FIFO, the backup, once the control
    /// database is copied, writes `DUNLIN_TEST_HOLD backup-after-control` on stderr and waits
    /// for a byte (or the end) on the FIFO: an event, not a time, so the end-to-end test knows
    /// writes landed between the control database's copy and the tenants'. Unset, as in any
    /// real deployment, it does nothing.
    static func testHold() throws {
        guard let fifo = ProcessInfo.processInfo.environment["DUNLIN_TEST_BACKUP_HOLD"] else { return }
        FileHandle.standardError.write(Data("DUNLIN_TEST_HOLD backup-after-control\n".utf8))
        guard let handle = FileHandle(forReadingAtPath: fifo) else {
            throw ControlError(.failedPrecondition, field: "DUNLIN_TEST_BACKUP_HOLD", reason: "unreadable", "cannot read \(fifo)")
        }
        _ = handle.readData(ofLength: 1)
        try handle.close()
    }
}

/// `dunlind restore`: puts a backup back, only after every file of it checks out.
struct Restore: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Restore a backup into a data directory, after checking every file against its manifest.",
        discussion: """
            Stop dunlind first. Nothing is replaced unless every file the manifest names is there with its size and SHA-256 \
            and nothing else is: a tampered or incomplete backup exits 115 (DATA_LOSS) naming each file. Then run `dunlind check`.
            """
    )

    @Option(help: "The backup directory (made by `dunlind backup`).")
    var from: String

    @Option(help: "The data directory to restore into.")
    var data: String

    func run() async throws {
        do {
            let manifest = try Backups.restore(from: URL(fileURLWithPath: from), to: URL(fileURLWithPath: data))
            print("restored \(manifest.files.count) database\(manifest.files.count == 1 ? "" : "s") into \(data); `dunlind check --data \(data)` checks them")
        } catch let refused as BackupRefused {
            FileHandle.standardError.write(Data("dunlind restore: \(terminalSafe(refused.description))\n".utf8))
            throw ExitCode(100 + Int32(StatusCode.dataLoss.rawValue))
        }
    }
}
