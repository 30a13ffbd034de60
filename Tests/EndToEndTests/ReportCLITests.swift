import DunlinClient
import DunlinCore
import DunlinWire
import Foundation
import Testing

#if canImport(FoundationXML)
import FoundationXML
#endif

/// `dunlin report month-end` and `dunlin report customer` against `dunlind demo`: through the
/// server and offline from Ana's replica (the same page, byte for byte), each page well-formed
/// XHTML with nothing to fetch, its figures those of `dunlin metrics --json` and `dunlin
/// statement --json`, a customer's name that is markup shown as text; bad input refused with its
/// exit code and nothing written. The month is last month by the test's clock (the demo's
/// portfolio is dated from it), passed explicitly.
@Suite("Reports through the CLI", .serialized, .loadsTheMachine, .timeLimit(.minutes(10)))
struct ReportCLITests {
    static let hostile = "<script>alert('x')</script> Bain & Sons"

    func run(_ world: FaultWorld, _ arguments: [String]) async throws -> (status: Int32, output: String) {
        try await runCLI(arguments, environment: world.cliEnvironment())
    }

    func json(_ world: FaultWorld, _ arguments: [String]) async throws -> [String: Any] {
        let (status, output) = try await run(world, arguments + ["--json"])
        guard status == 0, let object = try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any] else {
            throw RawError("dunlin \(arguments.joined(separator: " ")) exited \(status): \(output)")
        }
        return object
    }

    /// Reads a page: well-formed XML, or the test fails naming why.
    func page(_ file: URL) throws -> (html: String, document: XMLDocument) {
        let html = try String(contentsOf: file, encoding: .utf8)
        do {
            return (html, try XMLDocument(xmlString: html, options: []))
        } catch {
            Issue.record("\(file.lastPathComponent) is not well-formed: \(error)")
            throw error
        }
    }

    /// The text of the `td` with `data-field` `field` in the row whose `attribute` is `key`, in `section`.
    func cell(_ document: XMLDocument, _ section: String, _ attribute: String, _ key: String, _ field: String) throws -> String? {
        try document.nodes(forXPath: "//section[@id='\(section)']//tr[@\(attribute)='\(key)']/td[@data-field='\(field)']").first?.stringValue
    }

    /// A figure as the page writes it (one decimal, "-" when absent), from `dunlin metrics --json`.
    func figure(_ value: Any?) -> String {
        guard let number = value as? NSNumber else { return "-" }
        return String(format: "%.1f", number.doubleValue)
    }

    /// An amount as the page writes it, from its JSON ({"currency", "minor", "amount"}).
    func amount(_ value: Any?) -> String {
        let object = value as? [String: Any] ?? [:]
        return ReportFigures.amount((object["minor"] as? NSNumber)?.int64Value ?? 0, object["currency"] as? String ?? "")
    }

    /// Checks what every page must be: a document with nothing to fetch and every chart well-formed SVG.
    func checkSelfContained(_ html: String, _ document: XMLDocument) throws {
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        for forbidden in ["http://", "https://", "src=", "<script", "<link", "@import", "url("] {
            #expect(!html.contains(forbidden), "the page holds \(forbidden)")
        }
        let charts = try document.nodes(forXPath: "//svg")
        #expect(!charts.isEmpty)
        for chart in charts {
            #expect((try? XMLDocument(xmlString: chart.xmlString, options: []))?.rootElement()?.name == "svg")
        }
    }

    @Test("month-end and customer reports on the demo, through the server and offline, with dunlin metrics' figures")
    func reportsOnTheDemo() async throws {
        let world = try await FaultWorld()
        defer { try? FileManager.default.removeItem(at: world.directory) }
        let server = ["--server", world.address, "--token", world.analystToken]
        let today = WallClock.system.today(in: TimeZone(identifier: "America/Chicago")!)
        let month = today.firstOfMonth.adding(days: -1).firstOfMonth
        let monthText = String(month.description.prefix(7))

        // Mia sets a collection target and adds a customer whose name is markup, well overdue at
        // the month's end and large enough to lead the top overdue.
        let manager = RPCClient(configuration: .init(host: "127.0.0.1", port: world.server.port, token: world.managerToken, connectPatience: .seconds(5)))
        _ = try await manager.unary(Records.updateSettings, .with { $0.settings = [.with { $0.id = TenantSetting.collectionTarget; $0.value = "50000000" }] })
        _ = try await manager.unary(Receivables.upsertCustomers, .with {
            $0.customers = [.with { $0.id = "CUS-HTML"; $0.number = "9999"; $0.name = Self.hostile; $0.riskRating = 3; $0.timeZone = "America/Chicago"; $0.paymentTermsDays = 30 }]
        })
        let issued = month.adding(days: -150)
        _ = try await manager.unary(Receivables.postEntries, .with {
            $0.entries = [.with {
                $0.id = "INV-HTML"; $0.kind = "invoice"; $0.customerID = "CUS-HTML"; $0.reference = "HTML-1"
                $0.amount = .with { $0.currency = "USD"; $0.minor = 90_000_000_00 }
                $0.date = issued.description; $0.dueDate = issued.adding(days: 30).description
            }]
        })
        await manager.close()

        // Through the server.
        let online = world.directory.appendingPathComponent("month-online.html")
        #expect(try await run(world, ["report", "month-end", monthText, "-o", online.path] + server).status == 0)
        let (html, document) = try page(online)
        try checkSelfContained(html, document)
        #expect(try document.nodes(forXPath: "//svg").count == 5)

        // Each month's DSO, CEI and share over 90 days, and its cash against the target, are dunlin metrics'.
        let (from, through) = MonthEndReport.period(endingIn: month)
        let metrics = try await json(world, ["metrics", "--from", from.description, "--through", through.description, "--by", "month"] + server)
        let rows = try #require(metrics["rows"] as? [[String: Any]])
        #expect(rows.count == 12)
        for row in rows {
            let key = String((row["from"] as? String ?? "").prefix(7))
            #expect(try cell(document, "dso", "data-month", key, "dso_simple") == figure(row["dso_simple"]), "\(key)")
            #expect(try cell(document, "dso", "data-month", key, "dso_countback") == figure(row["dso_countback"]), "\(key)")
            #expect(try cell(document, "cei", "data-month", key, "cei") == figure(row["cei"]), "\(key)")
            #expect(try cell(document, "cei", "data-month", key, "over_90_percent") == figure(row["over_90_percent"]), "\(key)")
            #expect(try cell(document, "collected", "data-month", key, "collected") == amount(row["collected"]), "\(key)")
            #expect(try cell(document, "collected", "data-month", key, "collected_percent_of_target") == figure(row["collected_percent_of_target"]), "\(key)")
        }
        // The month at a glance, and its aging's total, are the month's row.
        let last = try #require(rows.last)
        for field in ["opening", "sales", "collected", "closing", "closing_over_90"] {
            let value = try document.nodes(forXPath: "//section[@id='key-figures']//td[@data-field='\(field)']").first?.stringValue
            #expect(value == amount(last[field]), "\(field)")
        }
        for field in ["dso_simple", "dso_countback", "cei", "over_90_percent", "average_days_delinquent"] {
            let value = try document.nodes(forXPath: "//section[@id='key-figures']//td[@data-field='\(field)']").first?.stringValue
            #expect(value == figure(last[field]), "\(field)")
        }
        #expect(try cell(document, "aging", "data-bucket", "total", "amount") == amount(last["closing"]))
        // The customer whose name is markup leads the top overdue, as text.
        let leader = try document.nodes(forXPath: "//section[@id='top-overdue']//tbody/tr[1]").first as? XMLElement
        #expect(leader?.attribute(forName: "data-customer")?.stringValue == "CUS-HTML")
        #expect(try leader?.nodes(forXPath: "td[1]").first?.stringValue == Self.hostile)
        #expect(html.contains("&lt;script&gt;"))

        // A customer's page, found by its name, with its statement's figures.
        let customer = world.directory.appendingPathComponent("customer-online.html")
        #expect(try await run(world, ["report", "customer", Self.hostile, "--as-of", through.description, "-o", customer.path] + server).status == 0)
        let (customerHTML, customerDocument) = try page(customer)
        try checkSelfContained(customerHTML, customerDocument)
        #expect(try customerDocument.nodes(forXPath: "//td[@data-field='name']").first?.stringValue == Self.hostile)
        let statement = try await json(world, ["statement", "CUS-HTML", "--as-of", through.description] + server)
        let open = try #require((statement["total_open"] as? [[String: Any]])?.first)
        #expect(try customerDocument.nodes(forXPath: "//td[@data-field='open_USD']").first?.stringValue == amount(open))
        #expect(try cell(customerDocument, "aging-USD", "data-bucket", "120+", "amount") == "90,000,000.00")
        #expect(try cell(customerDocument, "activity-USD", "data-month", String(issued.description.prefix(7)), "invoiced") == "90,000,000.00")
        // A demo customer by id.
        let demo = world.directory.appendingPathComponent("CUS-1001.html")
        #expect(try await run(world, ["report", "customer", "CUS-1001", "-o", demo.path] + server).status == 0)
        try checkSelfContained(try page(demo).html, try page(demo).document)

        // Offline, from Ana's replica: the same pages.
        #expect(try await run(world, ["login", "--server", world.address, "--token", world.analystToken]).status == 0)
        world.server.terminate()
        _ = try await world.server.waitForExit()
        let offline = world.directory.appendingPathComponent("month-offline.html")
        let written = try await json(world, ["report", "month-end", monthText, "-o", offline.path])
        #expect(written["file"] as? String == offline.path)
        #expect(try String(contentsOf: offline, encoding: .utf8) == html)
        let customerOffline = world.directory.appendingPathComponent("customer-offline.html")
        #expect(try await run(world, ["report", "customer", "9999", "--as-of", through.description, "-o", customerOffline.path]).status == 0)
        #expect(try String(contentsOf: customerOffline, encoding: .utf8) == customerHTML)

        // Bad input: its exit code, a message naming what and where, nothing written.
        let nothing = world.directory.appendingPathComponent("nothing.html")
        let unknown = try await runCLI(["report", "customer", "CUS-NOBODY", "-o", nothing.path], environment: world.cliEnvironment())
        #expect(unknown.status == 105)
        let badMonth = try ChildProcess(try Executables.url("dunlin"), ["report", "month-end", "2026-13", "-o", nothing.path], environment: world.cliEnvironment())
        #expect(try await badMonth.waitForExit(timeout: .seconds(60)) == 64)
        #expect(badMonth.stderr.contains("2026-13"), "\(badMonth.stderr)")
        let unwritable = world.directory.appendingPathComponent("no-such-folder/report.html")
        let badPath = try ChildProcess(try Executables.url("dunlin"), ["report", "month-end", monthText, "-o", unwritable.path], environment: world.cliEnvironment())
        #expect(try await badPath.waitForExit(timeout: .seconds(60)) == 64)
        #expect(badPath.stderr.contains("no-such-folder"), "\(badPath.stderr)")
        let unknownNamed = try ChildProcess(try Executables.url("dunlin"), ["report", "customer", "CUS-NOBODY", "-o", nothing.path], environment: world.cliEnvironment())
        #expect(try await unknownNamed.waitForExit(timeout: .seconds(60)) == 105)
        #expect(unknownNamed.stderr.contains("CUS-NOBODY"), "\(unknownNamed.stderr)")
        #expect(!FileManager.default.fileExists(atPath: nothing.path))
        #expect(!FileManager.default.fileExists(atPath: unwritable.path))
    }
}
