import ArgumentParser
import DunlinClient
import DunlinCore
import DunlinWire
import Foundation

/// `dunlin report month-end|customer -o FILE.html`: a page a person reads or prints (README
/// "Reports"), from the replica or the server like `dunlin metrics`. The pages are drawn in
/// DunlinClient (Reports/); this only reads the arguments and writes the file.
struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write a report as one self-contained HTML file: charts (inline SVG) with their figures beside them.",
        subcommands: [MonthEnd.self, CustomerPage.self]
    )

    struct MonthEnd: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "month-end",
            abstract: "The month's key figures, the aging at its end, 12 months of DSO, CEI and the share over 90 days, collected against target, the top overdue customers.",
            discussion: "  dunlin report month-end 2026-11 -o 2026-11.html"
        )
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The month, YYYY-MM.") var month: String
        @Option(name: .shortAndLong, help: "The HTML file to write (- for stdout).") var output: String

        func validate() throws {
            guard MonthEndReport.month(month) != nil else { throw ValidationError("month: \"\(month)\" is not a month YYYY-MM (e.g. 2026-11)") }
            try ReportFile.check(output)
        }

        func run() async throws {
            let first = MonthEndReport.month(month)!
            try await connection.withCaller { client in
                let report = try await MonthEndReport.load(month: first, caller: client, options: connection.callOptions)
                try ReportFile.write(try report.html(), to: output, json: connection.json)
            }
        }
    }

    struct CustomerPage: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "customer",
            abstract: "A customer's account: its aging, 12 months of invoices and payments, open invoices and unapplied cash.",
            discussion: "  dunlin report customer CUS-1001 -o CUS-1001.html     # an id, a number or a name"
        )
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The customer: id, number or name.") var customer: String
        @Option(help: "As-of date YYYY-MM-DD (default: today in the tenant's time zone).") var asOf = ""
        @Option(name: .shortAndLong, help: "The HTML file to write (- for stdout).") var output: String

        func validate() throws {
            guard asOf.isEmpty || CivilDate(asOf) != nil else { throw ValidationError("--as-of: \"\(asOf)\" is not a date YYYY-MM-DD") }
            try ReportFile.check(output)
        }

        func run() async throws {
            try await connection.withCaller { client in
                let id = try await CustomerReport.customerID(customer, caller: client, options: connection.callOptions)
                let people = await People.lookUp(connection: connection, client: client)
                let report = try await CustomerReport.load(
                    customerID: id, asOf: asOf, analystName: { people.names[$0] ?? $0 }, caller: client, options: connection.callOptions
                )
                try ReportFile.write(try report.html(), to: output, json: connection.json)
            }
        }
    }
}

/// Where a report goes: checked before anything is asked, written whole or not at all.
enum ReportFile {
    /// Refuses (exit 64) a file whose folder does not exist or cannot be written, or a folder.
    static func check(_ path: String) throws {
        guard path != "-" else { return }
        let file = URL(fileURLWithPath: path)
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: file.path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw ValidationError("--output: \(file.path) is a folder; name a file")
        }
        let folder = file.deletingLastPathComponent().path
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ValidationError("--output: cannot write \(file.path): the folder \(folder) does not exist")
        }
        guard FileManager.default.isWritableFile(atPath: folder) else {
            throw ValidationError("--output: cannot write \(file.path): the folder \(folder) is not writable")
        }
    }

    /// Writes `html` to `path` through a temporary file renamed into place, so a failure leaves
    /// no part of a page (and an older file as it was); "-" is stdout.
    static func write(_ html: String, to path: String, json: Bool) throws {
        guard path != "-" else { return print(html, terminator: "") }
        let file = URL(fileURLWithPath: path)
        do {
            try Data(html.utf8).write(to: file, options: .atomic)
        } catch {
            throw ValidationError("--output: cannot write \(file.path): \(error.localizedDescription)")
        }
        if json { printJSON(["file": file.path, "bytes": html.utf8.count]) } else { say("wrote \(file.path) (\(html.utf8.count) bytes)") }
    }
}
