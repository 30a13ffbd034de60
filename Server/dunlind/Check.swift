import ArgumentParser
import DunlinCore
import DunlinStore
import DunlinWire
import Foundation

/// `dunlind check`: is a data directory sound? SQLite's integrity check of the control database
/// and of every tenant's file, every derived balance and kept total re-derived from the ledger and
/// compared, and the change log checked against the records. Read-only, to the byte: nothing is
/// migrated and no journal mode changed, so it checks a backup without breaking its manifest, and
/// runs beside a serving `dunlind` (SQLite's WAL lets it read a snapshot while the server writes).
struct Check: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a data directory: SQLite integrity, every balance re-derived from the ledger, the change log against the records.",
        discussion: """
            Exits 0 when everything is sound, 115 (100 + DATA_LOSS) when anything is not, each difference listed; \
            109 when the directory holds no control database, 105 for a tenant that is not there.
            """
    )

    @Option(help: "The data directory made by `dunlind init`, or a backup made by `dunlind backup`.")
    var data: String

    @Option(help: "Check only this tenant (and the control database).")
    var tenant: String?

    @Flag(help: "Print JSON instead of text.")
    var json = false

    /// What the check found, per file.
    struct Report: Codable {
        struct TenantCheck: Codable {
            var tenant: String
            var integrity: String
            var balanceMismatches: [String]
            var changeLogMismatches: [String]
            var sound: Bool { integrity == "ok" && balanceMismatches.isEmpty && changeLogMismatches.isEmpty }

            enum CodingKeys: String, CodingKey {
                case tenant, integrity
                case balanceMismatches = "balance_mismatches"
                case changeLogMismatches = "change_log_mismatches"
            }
        }

        var control: String
        var tenants: [TenantCheck]
        var sound: Bool { control == "ok" && tenants.allSatisfy(\.sound) }
    }

    func run() async throws {
        let directory = URL(fileURLWithPath: data)
        let control: ControlStore
        do {
            control = try ControlStore(readingOnly: directory)
        } catch let error as ControlError {
            FileHandle.standardError.write(Data("dunlind check: \(error.message)\n".utf8))
            throw ExitCode(100 + Int32(StatusCode.failedPrecondition.rawValue))
        }
        var ids = try control.allTenants().map(\.id)
        if let tenant {
            guard ids.contains(tenant) else {
                FileHandle.standardError.write(Data("dunlind check: no tenant \(tenant) in \(data)\n".utf8))
                throw ExitCode(100 + Int32(StatusCode.notFound.rawValue))
            }
            ids = [tenant]
        }
        var report = Report(control: try TenantFiles.integrityCheck(directory.appendingPathComponent(ControlStore.fileName)), tenants: [])
        for id in ids {
            let file = control.tenantFile(id)
            let integrity = try TenantFiles.integrityCheck(file)
            var check = Report.TenantCheck(tenant: id, integrity: integrity, balanceMismatches: [], changeLogMismatches: [])
            if integrity == "ok" {
                let store = try TenantStore(readingOnly: file.path)
                check.balanceMismatches = try store.derivedBalanceMismatches()
                check.changeLogMismatches = try store.changeLogMismatches()
                TenantFiles.close(store)
            }
            report.tenants.append(check)
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print("control database: \(report.control == "ok" ? "ok" : terminalSafe(report.control))")
            for check in report.tenants {
                let problems = check.balanceMismatches.count + check.changeLogMismatches.count
                print("tenant \(check.tenant): integrity \(terminalSafe(check.integrity)), \(check.balanceMismatches.count) balance and \(check.changeLogMismatches.count) change-log difference\(problems == 1 ? "" : "s")")
                for line in (check.balanceMismatches.map { "balance: \($0)" } + check.changeLogMismatches).prefix(50) {
                    print("  \(terminalSafe(line))")
                }
                if problems > 50 { print("  ... and \(problems - 50) more (--json lists every one)") }
            }
        }
        guard report.sound else { throw ExitCode(100 + Int32(StatusCode.dataLoss.rawValue)) }
    }
}
