import DunlinClient
import DunlinCore
import DunlinWire
import Foundation
import Testing

#if canImport(FoundationXML)
import FoundationXML
#endif

/// The reports' charts and pages, from hand-made figures: every chart is well-formed SVG whatever
/// the figures (none, all zero, one month, negative, absent, as large as an amount can be), a page
/// is well-formed XHTML with nothing to fetch, stored text is escaped, and the tables hold the
/// figures they were given, written as `dunlin metrics` writes them.
@Suite struct ReportTests {
    static let huge = Double(Int64.max) / 100

    /// The edge cases every chart kind is drawn for.
    static let cases: [(name: String, categories: [String], values: [Double?])] = [
        ("no data", [], []),
        ("all zero", ["2026-10", "2026-11"], [0, 0]),
        ("one month", ["2026-11"], [42.5]),
        ("negative", ["a", "b", "c"], [-1_500, 300, -2]),
        ("absent", ["a", "b", "c", "d"], [nil, 12, nil, 14]),
        ("none present", ["a", "b"], [nil, nil]),
        ("huge", ["a", "b", "c"], [huge, -huge, Double(Int64.min)]),
        ("not finite", ["a", "b", "c"], [.nan, .infinity, -.infinity]),
        ("fewer values than categories", ["a", "b", "c"], [1]),
    ]

    /// Parses `text` as XML; a failure fails the test with the parser's message.
    static func xml(_ text: String, _ comment: Comment? = nil) throws -> XMLDocument {
        do {
            return try XMLDocument(xmlString: text, options: [])
        } catch {
            Issue.record("not well-formed XML (\(comment?.description ?? "")): \(error)\n\(text.prefix(2000))")
            throw error
        }
    }

    @Test("every chart kind draws well-formed SVG with finite coordinates, whatever the figures", arguments: cases.indices)
    func chartsAreWellFormed(_ index: Int) throws {
        let (name, categories, values) = Self.cases[index]
        let drawings = [
            Chart.bars(title: "bars", categories: categories, series: [Chart.Series(name: "one", values: values)]),
            Chart.bars(title: "pairs", categories: categories, series: [Chart.Series(name: "one", values: values), Chart.Series(name: "two", values: values.reversed())]),
            Chart.lines(title: "lines", categories: categories, series: [Chart.Series(name: "one", values: values), Chart.Series(name: "two", values: values.map { $0.map { -$0 } })]),
            Chart.horizontalBars(title: "rows", names: categories, values: values.map { $0 ?? 0 }, tips: values.map { _ in "tip" }),
        ]
        for drawing in drawings {
            let svg = ReportPage.svg(drawing)
            let document = try Self.xml(svg, "\(name), \(drawing.title)")
            #expect(document.rootElement()?.name == "svg", "\(name)")
            #expect(try document.nodes(forXPath: "/svg/title").first?.stringValue == drawing.title)
            for attribute in ["x", "y", "width", "height", "x1", "y1", "x2", "y2", "cx", "cy"] {
                for node in try document.nodes(forXPath: "//@\(attribute)") {
                    #expect(Double(node.stringValue ?? "").map(\.isFinite) == true, "\(name), \(drawing.title): \(attribute)=\(node.stringValue ?? "")")
                }
            }
            #expect(!svg.contains("nan") && !svg.contains("inf"), "\(name)")
        }
    }

    @Test("a bar's height is in proportion to its figure; a negative one hangs below the zero line; an absent one draws nothing")
    func barsInProportion() {
        let drawing = Chart.bars(title: "t", categories: ["a", "b", "c", "d"], series: [Chart.Series(name: "s", values: [100, 50, -50, nil])])
        #expect(drawing.rects.count == 3)
        let (a, b, c) = (drawing.rects[0], drawing.rects[1], drawing.rects[2])
        #expect(abs(a.height - 2 * b.height) < 0.001)
        #expect(abs(b.height - c.height) < 0.001)
        #expect(abs((a.y + a.height) - c.y) < 0.001, "the positive bars end where the negative one starts: the zero line")
        #expect(a.x < b.x && b.x < c.x)
    }

    @Test("a line breaks where a figure is absent; a single figure is a dot")
    func linesBreakAtAbsentFigures() {
        let drawing = Chart.lines(title: "t", categories: ["1", "2", "3", "4", "5"], series: [Chart.Series(name: "s", values: [1, 2, nil, 4, nil])])
        #expect(drawing.dots.count == 3)
        #expect(drawing.polylines.map(\.points.count) == [2])
        let single = Chart.lines(title: "t", categories: ["2026-11"], series: [Chart.Series(name: "s", values: [30])])
        #expect(single.dots.count == 1 && single.polylines.isEmpty)
    }

    @Test("axis figures are short; months parse only as YYYY-MM; twelve months stop at the calendar's start")
    func figuresAndMonths() {
        #expect(Chart.compact(1_500_000) == "1.5M" && Chart.compact(250_000) == "250k" && Chart.compact(-40) == "-40" && Chart.compact(12.5) == "12.5")
        #expect(MonthEndReport.month("2026-11") == CivilDate("2026-11-01"))
        for bad in ["2026-13", "2026-00", "2026-1", "26-11", "2026-11-01", "2026/11", "", "２０２６-11"] {
            #expect(MonthEndReport.month(bad) == nil, "\(bad)")
        }
        #expect(MonthEndReport.period(endingIn: CivilDate("2026-11-01")!) == (CivilDate("2025-12-01")!, CivilDate("2026-11-30")!))
        #expect(MonthEndReport.period(endingIn: CivilDate("0001-03-01")!).from == CivilDate("0001-01-01")!)
        #expect(ReportFigures.amount(Int64.min, "USD") == "-92,233,720,368,547,758.08")
        #expect(ReportFigures.figure(nil) == "-" && ReportFigures.figure(.nan) == "-" && ReportFigures.figure(73.66) == "73.7")
    }

    static let hostile = "<script>alert(1)</script> Bain & Sons \"Ltd\" 'x'"

    static func metricsRow(_ month: String, last: String, dso: Double?, cei: Double?, over90: Double?, collected: Int64, target: Int64) -> Dunlin_V1_MetricsRow {
        .with {
            $0.from = "\(month)-01"
            $0.through = "\(month)-\(last)"
            let usd = { (minor: Int64) in Dunlin_V1_Amount.with { $0.currency = "USD"; $0.minor = minor } }
            $0.opening = usd(1_000_00)
            $0.closing = usd(2_000_00)
            $0.sales = usd(3_000_00)
            $0.collected = usd(collected)
            $0.target = usd(target)
            if let dso { $0.dsoSimple = dso; $0.dsoCountback = dso + 1 }
            if let cei { $0.cei = cei }
            if let over90 { $0.over90Percent = over90 }
            if target != 0 { $0.collectedPercentOfTarget = Double(collected) / Double(target) * 100 }
        }
    }

    static func monthEnd(aging rows: [Dunlin_V1_AgingRow]) -> MonthEndReport {
        let metrics = Dunlin_V1_MetricsResponse.with {
            $0.baseCurrency = "USD"
            $0.excludedCurrencies = ["PHP"]
            $0.rows = [
                metricsRow("2026-10", last: "31", dso: nil, cei: nil, over90: nil, collected: 0, target: 5_000_00),
                metricsRow("2026-11", last: "30", dso: 45.26, cei: 81.04, over90: 12.5, collected: 4_000_00, target: 5_000_00),
            ]
        }
        let aging = Dunlin_V1_AgingResponse.with {
            $0.asOf = "2026-11-30"
            $0.labels = AgingBuckets.standard.labels
            $0.rows = rows
            $0.totals = [
                .with { $0.currency = "USD"; $0.buckets = [100_00, 200_00, 0, 0, 300_00, 400_00]; $0.total = 1_000_00 },
                .with { $0.currency = "PHP"; $0.buckets = [5_00, 0, 0, 0, 0, 0]; $0.total = 5_00 },
            ]
        }
        return MonthEndReport(organization: "Dunlin & Co", month: CivilDate("2026-11-01")!, metrics: metrics, aging: aging)
    }

    static func agingRow(_ id: String, _ name: String, _ buckets: [Int64], currency: String = "USD") -> Dunlin_V1_AgingRow {
        .with { $0.customerID = id; $0.customerName = name; $0.currency = currency; $0.buckets = buckets; $0.total = buckets.reduce(0, &+) }
    }

    /// The text of each `td` with `data-field` in rows with `attribute`, by the attribute's value.
    static func cells(_ document: XMLDocument, rows attribute: String, in section: String) throws -> [String: [String: String]] {
        var result: [String: [String: String]] = [:]
        for row in try document.nodes(forXPath: "//section[@id='\(section)']//tr[@\(attribute)]") {
            guard let row = row as? XMLElement, let key = row.attribute(forName: attribute)?.stringValue else { continue }
            for cell in try row.nodes(forXPath: "td[@data-field]") {
                guard let cell = cell as? XMLElement, let field = cell.attribute(forName: "data-field")?.stringValue else { continue }
                result[key, default: [:]][field] = cell.stringValue
            }
        }
        return result
    }

    @Test("the month-end page is well-formed XHTML with nothing to fetch, its names escaped, its tables holding the figures")
    func monthEndPage() throws {
        let report = Self.monthEnd(aging: [
            Self.agingRow("C1", Self.hostile, [0, 100_00, 0, 0, 300_00, 0]),
            Self.agingRow("C2", "Zeta", [100_00, 100_00, 0, 0, 0, 400_00]),
            Self.agingRow("C3", "Paid Up", [0, 0, 0, 0, 0, 0]),
            Self.agingRow("C4", "Manila", [0, 999_00, 0, 0, 0, 0], currency: "PHP"),
        ])
        let html = try report.html()
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        for forbidden in ["http://", "https://", "src=", "<script", "<link", "@import", "url("] {
            #expect(!html.contains(forbidden), "\(forbidden)")
        }
        let document = try Self.xml(html)
        #expect(try document.nodes(forXPath: "//svg").count == 5)
        // The hostile name comes back as it was, as text, in the table and in the chart.
        let top = try Self.cells(document, rows: "data-customer", in: "top-overdue")
        #expect(try document.nodes(forXPath: "//section[@id='top-overdue']//tr[@data-customer='C1']/td[1]").first?.stringValue == Self.hostile)
        #expect(try document.nodes(forXPath: "//svg//title").contains { $0.stringValue?.hasPrefix(Self.hostile + ": ") == true })
        #expect(html.contains("&lt;script&gt;") && html.contains("Dunlin &amp; Co"))
        // Most overdue first: Zeta 500.00 (400.00 over 90), then C1 400.00; nobody without overdue, no PHP.
        #expect(try report.topOverdue().map(\.customerID) == ["C2", "C1"])
        #expect(top["C2"] == ["overdue": "500.00", "over_90": "400.00", "open": "600.00"])
        #expect(top["C1"]?["over_90"] == "300.00")

        let dso = try Self.cells(document, rows: "data-month", in: "dso")
        #expect(dso["2026-11"]?["dso_simple"] == "45.3" && dso["2026-11"]?["dso_countback"] == "46.3")
        #expect(dso["2026-10"]?["dso_simple"] == "-")
        let cei = try Self.cells(document, rows: "data-month", in: "cei")
        #expect(cei["2026-11"] == ["cei": "81.0", "over_90_percent": "12.5"])
        let collected = try Self.cells(document, rows: "data-month", in: "collected")
        #expect(collected["2026-11"] == ["collected": "4,000.00", "target": "5,000.00", "collected_percent_of_target": "80.0"])
        let aging = try Self.cells(document, rows: "data-bucket", in: "aging")
        #expect(aging["120+"] == ["amount": "400.00", "share": "40.0"] && aging["total"]?["amount"] == "1,000.00")
        let key = try document.nodes(forXPath: "//section[@id='key-figures']//td[@data-field='closing']").first?.stringValue
        #expect(key == "2,000.00")
        #expect(html.contains("left out: PHP"))
    }

    @Test("the aging charts the converted total when every currency had a rate, and lists each currency's own")
    func convertedAging() throws {
        var report = Self.monthEnd(aging: [])
        report.aging.baseTotal = .with { $0.currency = "USD"; $0.buckets = [100_10, 200_00, 0, 0, 300_00, 400_00]; $0.total = 1_000_10 }
        let document = try Self.xml(try report.html())
        let aging = try Self.cells(document, rows: "data-bucket", in: "aging")
        #expect(aging["current"]?["amount"] == "100.10" && aging["total"]?["amount"] == "1,000.10", "\(aging)")
        #expect(try document.nodes(forXPath: "//section[@id='aging']/h2").first?.stringValue == "Aging as of 2026-11-30, USD, every currency converted")
        #expect(try document.nodes(forXPath: "//section[@id='aging']/table/tbody/tr/td[1]").map(\.stringValue) == ["PHP"])
    }

    @Test("the month-end page of a tenant with nothing: no rows, no target, every chart still drawn")
    func emptyMonthEnd() throws {
        let report = MonthEndReport(
            organization: "", month: CivilDate("2026-11-01")!,
            metrics: .with { $0.baseCurrency = "USD"; $0.rows = [Self.metricsRow("2026-11", last: "30", dso: nil, cei: nil, over90: nil, collected: 0, target: 0)] },
            aging: .with { $0.asOf = "2026-11-30"; $0.labels = AgingBuckets.standard.labels }
        )
        let html = try report.html()
        let document = try Self.xml(html)
        #expect(try document.nodes(forXPath: "//svg").count == 5)
        #expect(html.contains("No collection target is set") && html.contains("Nobody is overdue"))
    }

    @Test("a top overdue sum beyond int64 is OUT_OF_RANGE, never a trap or a wrong number")
    func hugeOverdue() throws {
        let report = Self.monthEnd(aging: [Self.agingRow("C1", "Big", [0, Int64.max, Int64.max, 0, 0, 0])])
        #expect(throws: DomainError.self) { try report.topOverdue() }
        let fits = Self.monthEnd(aging: [Self.agingRow("C1", "Big", [0, Int64.max / 2, Int64.max / 2, 0, 0, 0])])
        #expect(try fits.topOverdue().first?.overdue == Int64.max - 1)
        #expect(throws: Never.self) { _ = try fits.html() }
    }

    @Test("the customer page: the account, its aging, twelve months of activity, its open invoices, escaped")
    func customerPage() throws {
        let usd = { (minor: Int64) in Dunlin_V1_Amount.with { $0.currency = "USD"; $0.minor = minor } }
        let statement = Dunlin_V1_StatementResponse.with {
            $0.asOf = "2026-11-30"
            $0.customer = .with { $0.id = "C1"; $0.number = "1001"; $0.name = Self.hostile; $0.paymentTermsDays = 30; $0.riskRating = 3 }
            $0.openInvoices = [
                .with { $0.id = "INV-1"; $0.kind = "invoice"; $0.reference = "R<1>"; $0.date = "2026-07-01"; $0.dueDate = "2026-08-15"; $0.amount = usd(500_00); $0.balance = usd(400_00) },
                .with { $0.id = "INV-2"; $0.kind = "invoice"; $0.date = "2026-11-10"; $0.dueDate = "2026-12-10"; $0.amount = usd(100_00); $0.balance = usd(100_00) },
            ]
            $0.payments = [.with { $0.id = "PAY-9"; $0.kind = "payment"; $0.date = "2026-11-20"; $0.amount = usd(50_00); $0.balance = usd(50_00) }]
            $0.totalOpen = [usd(500_00)]
            $0.totalUnapplied = [usd(50_00)]
        }
        let entries: [Dunlin_V1_LedgerEntryRecord] = [
            .with { $0.id = "INV-1"; $0.kind = "invoice"; $0.date = "2026-07-01"; $0.amount = usd(500_00) },
            .with { $0.id = "INV-2"; $0.kind = "invoice"; $0.date = "2026-11-10"; $0.amount = usd(100_00) },
            .with { $0.id = "INV-X"; $0.kind = "invoice"; $0.date = "2026-11-11"; $0.amount = usd(999_00); $0.reversed = true },
            .with { $0.id = "PAY-1"; $0.kind = "payment"; $0.date = "2026-08-15"; $0.amount = usd(100_00) },
            .with { $0.id = "PAY-9"; $0.kind = "payment"; $0.date = "2026-11-20"; $0.amount = usd(50_00) },
        ]
        let report = CustomerReport(organization: "", statement: statement, analystName: "Ana <Reyes>", entries: entries)
        let html = try report.html()
        for forbidden in ["http://", "https://", "src=", "<script"] { #expect(!html.contains(forbidden), "\(forbidden)") }
        let document = try Self.xml(html)
        #expect(try document.nodes(forXPath: "//svg").count == 2)
        #expect(try document.nodes(forXPath: "//td[@data-field='name']").first?.stringValue == Self.hostile)
        #expect(try document.nodes(forXPath: "//td[@data-field='analyst']").first?.stringValue == "Ana <Reyes>")
        #expect(try document.nodes(forXPath: "//td[@data-field='open_USD']").first?.stringValue == "500.00")
        let activity = try Self.cells(document, rows: "data-month", in: "activity-USD")
        #expect(activity.count == 12)
        #expect(activity["2026-11"] == ["invoiced": "100.00", "collected": "50.00"], "the reversed invoice is not counted")
        #expect(activity["2026-07"]?["invoiced"] == "500.00" && activity["2025-12"]?["invoiced"] == "0.00")
        let aging = try Self.cells(document, rows: "data-bucket", in: "aging-USD")
        #expect(aging["91-120"]?["amount"] == "400.00" && aging["current"]?["amount"] == "100.00" && aging["total"]?["amount"] == "500.00")
        #expect(try document.nodes(forXPath: "//tr[@data-entry='INV-1']/td[1]").first?.stringValue == "R<1>")
    }
}
