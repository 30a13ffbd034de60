import DunlinCore
import DunlinStore
import DunlinWire
import Foundation
import Mustache

/// The reports' pages: one self-contained HTML file each (styles inline, charts as inline SVG, no
/// script, font, image or link to fetch), drawn by the letters' engine, swift-mustache, with the
/// document a report makes (``MonthEndReport``, ``CustomerReport``). Every value goes in through
/// `{{ }}`, which escapes it, so stored text (a customer's name) is never markup. The pages are
/// well-formed XML as well as HTML5 (every element closed, every attribute quoted, no entity but
/// XML's), so a test, or a script, can read them with any XML parser.
public enum ReportPage {
    public enum Kind: String, Sendable {
        case monthEnd = "month_end"
        case customer
    }

    /// Renders `document` into the page of `kind`.
    public static func render(_ kind: Kind, _ document: TemplateValue) throws -> String {
        library.render(NoticeRenderer.mustacheValue(document), withTemplate: kind.rawValue) ?? ""
    }

    /// One chart alone, as the pages draw it: inline SVG.
    public static func svg(_ chart: ChartDrawing) -> String {
        library.render(NoticeRenderer.mustacheValue(chart.templateValue), withTemplate: "chart") ?? ""
    }

    /// The templates, compiled once: the pages and their partials (`chart`, `head`, `buckets`,
    /// `months`). They are constants of this file, so a template that does not compile is a
    /// programming error the first test finds.
    private static let library: MustacheLibrary = {
        var library = MustacheLibrary()
        let templates = [
            ("chart", chartTemplate), ("head", headTemplate), ("buckets", bucketsTemplate), ("months", monthsTemplate),
            (Kind.monthEnd.rawValue, monthEndTemplate), (Kind.customer.rawValue, customerTemplate),
        ]
        for (name, source) in templates {
            do {
                try library.register(source, named: name)
            } catch {
                preconditionFailure("report template \(name) does not compile: \(error)")
            }
        }
        return library
    }()

    /// A ``ChartDrawing`` (its ``ChartDrawing/templateValue``) as inline SVG. No namespace
    /// attribute: an HTML parser puts `<svg>` in SVG's namespace by itself.
    static let chartTemplate = """
        <svg class="chart" width="{{width}}" height="{{height}}" viewBox="0 0 {{width}} {{height}}" role="img" aria-label="{{title}}" font-family="sans-serif">
        <title>{{title}}</title>
        {{#rules}}<line x1="{{x1}}" y1="{{y1}}" x2="{{x2}}" y2="{{y2}}" stroke="{{stroke}}" stroke-width="1"/>
        {{/rules}}{{#rects}}<rect x="{{x}}" y="{{y}}" width="{{w}}" height="{{h}}" fill="{{fill}}"><title>{{tip}}</title></rect>
        {{/rects}}{{#polylines}}<polyline points="{{points}}" fill="none" stroke="{{stroke}}" stroke-width="2"/>
        {{/polylines}}{{#dots}}<circle cx="{{cx}}" cy="{{cy}}" r="3" fill="{{fill}}"><title>{{tip}}</title></circle>
        {{/dots}}{{#labels}}<text x="{{lx}}" y="{{ly}}" text-anchor="{{anchor}}" font-size="{{size}}" fill="#333333">{{text}}</text>
        {{/labels}}</svg>
        """

    /// Print first: A4 landscape, a chart and its table kept together on a page.
    static let style = """
        <style>
        @page { size: A4 landscape; margin: 12mm; }
        body { font-family: sans-serif; font-size: 10pt; color: #222222; margin: 16px; }
        h1 { font-size: 16pt; margin: 0 0 4px 0; }
        h2 { font-size: 12pt; margin: 18px 0 6px 0; border-bottom: 1px solid #999999; }
        p.meta { color: #555555; margin: 0 0 8px 0; }
        section { break-inside: avoid; page-break-inside: avoid; }
        .pair { display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-start; }
        svg.chart { max-width: 100%; height: auto; }
        table { border-collapse: collapse; margin: 4px 0; }
        th, td { border-bottom: 1px solid #dddddd; padding: 2px 8px; text-align: left; }
        td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
        p.note { color: #555555; font-size: 9pt; }
        </style>
        """

    /// The top of every page: the document, its styles, its heading.
    static let headTemplate = """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8"/>
        <title>{{title}}</title>
        \(style)
        </head>
        <body>
        <h1>{{title}}</h1>
        """

    /// An aging's buckets (``agingSection(asOf:currency:converted:labels:buckets:total:)``): chart and table.
    static let bucketsTemplate = """
        <h2>Aging as of {{as_of}}, {{currency}}{{#converted}}, every currency converted{{/converted}}</h2>
        <div class="pair">
        {{#chart}}{{> chart}}{{/chart}}
        <table>
        <thead><tr><th>bucket</th><th class="n">open</th><th class="n">share %</th></tr></thead>
        <tbody>
        {{#rows}}<tr data-bucket="{{label}}"><td>{{label}}</td><td class="n" data-field="amount">{{amount}}</td><td class="n" data-field="share">{{share}}</td></tr>
        {{/rows}}<tr data-bucket="total"><th>total</th><td class="n" data-field="amount">{{total}}</td><td class="n">{{total_share}}</td></tr>
        </tbody>
        </table>
        </div>
        """

    /// Figures by month (``monthsSection(id:heading:chart:columns:rows:note:)``): chart and table.
    static let monthsTemplate = """
        <section id="{{id}}">
        <h2>{{heading}}</h2>
        <div class="pair">
        {{#chart}}{{> chart}}{{/chart}}
        <table>
        <thead><tr><th>month</th>{{#columns}}<th class="n">{{name}}</th>{{/columns}}</tr></thead>
        <tbody>
        {{#rows}}<tr data-month="{{month}}"><td>{{month}}</td>{{#cells}}<td class="n" data-field="{{field}}">{{value}}</td>{{/cells}}</tr>
        {{/rows}}</tbody>
        </table>
        </div>
        {{#has_note}}<p class="note">{{note}}</p>
        {{/has_note}}</section>
        """

    static let monthEndTemplate = """
        {{> head}}
        <p class="meta">{{#has_organization}}{{organization}} · {{/has_organization}}{{from}} to {{through}} · amounts in {{base_currency}}{{#has_excluded}} · left out: {{excluded}}{{/has_excluded}}</p>

        <section id="key-figures">
        <h2>{{month}} at a glance</h2>
        <table>
        <tbody>
        {{#key_figures}}<tr><th>{{name}}</th><td class="n" data-field="{{field}}">{{value}}</td></tr>
        {{/key_figures}}</tbody>
        </table>
        </section>

        {{#aging}}<section id="aging">
        {{> buckets}}
        {{#others}}<p class="note">{{note}}</p>
        <table>
        <thead><tr><th>currency</th>{{#labels}}<th class="n">{{label}}</th>{{/labels}}<th class="n">total</th></tr></thead>
        <tbody>
        {{#rows}}<tr><td>{{currency}}</td>{{#amounts}}<td class="n">{{amount}}</td>{{/amounts}}</tr>
        {{/rows}}</tbody>
        </table>
        {{/others}}</section>
        {{/aging}}

        {{#trends}}{{> months}}
        {{/trends}}

        {{#top}}<section id="top-overdue">
        <h2>Top overdue customers as of {{as_of}}, {{currency}}</h2>
        <div class="pair">
        {{#chart}}{{> chart}}{{/chart}}
        <table>
        <thead><tr><th>customer</th><th class="n">overdue</th><th class="n">over 90 days</th><th class="n">open</th></tr></thead>
        <tbody>
        {{#rows}}<tr data-customer="{{customer_id}}"><td>{{name}}</td><td class="n" data-field="overdue">{{overdue}}</td><td class="n" data-field="over_90">{{over_90}}</td><td class="n" data-field="open">{{open}}</td></tr>
        {{/rows}}</tbody>
        </table>
        </div>
        {{^rows}}<p class="note">Nobody is overdue.</p>
        {{/rows}}</section>
        {{/top}}
        <p class="note">Every formula: README, "Metrics". A figure with nothing to divide by shows as -.</p>
        </body>
        </html>

        """

    static let customerTemplate = """
        {{> head}}
        <p class="meta">{{#has_organization}}{{organization}} · {{/has_organization}}as of {{as_of}}</p>

        {{#customer}}<section id="customer">
        <table>
        <tbody>
        <tr><th>customer</th><td data-field="name">{{name}}</td></tr>
        <tr><th>number</th><td data-field="number">{{number}}</td></tr>
        <tr><th>id</th><td data-field="id">{{id}}</td></tr>
        <tr><th>analyst</th><td data-field="analyst">{{analyst}}</td></tr>
        <tr><th>payment terms</th><td data-field="terms">{{terms}}</td></tr>
        <tr><th>credit limit</th><td data-field="credit_limit">{{credit_limit}}</td></tr>
        <tr><th>risk rating</th><td data-field="risk">{{risk}}</td></tr>
        {{#open}}<tr><th>open {{currency}}</th><td class="n" data-field="open_{{currency}}">{{amount}}</td></tr>
        {{/open}}{{#unapplied}}<tr><th>unapplied {{currency}}</th><td class="n" data-field="unapplied_{{currency}}">{{amount}}</td></tr>
        {{/unapplied}}</tbody>
        </table>
        </section>
        {{/customer}}

        {{#aging}}<section class="aging" id="aging-{{currency}}">
        {{> buckets}}
        </section>
        {{/aging}}{{^aging}}<p class="note">Nothing open.</p>
        {{/aging}}

        {{#activity}}{{> months}}
        {{/activity}}

        <section id="open-invoices">
        <h2>Open invoices</h2>
        <table>
        <thead><tr><th>reference</th><th>id</th><th>date</th><th>due</th><th class="n">days past due</th><th>cur</th><th class="n">amount</th><th class="n">open</th></tr></thead>
        <tbody>
        {{#invoices}}<tr data-entry="{{id}}"><td>{{reference}}</td><td>{{id}}</td><td>{{date}}</td><td>{{due}}</td><td class="n">{{days_past_due}}</td><td>{{currency}}</td><td class="n">{{amount}}</td><td class="n" data-field="open">{{open}}</td></tr>
        {{/invoices}}</tbody>
        </table>
        {{^invoices}}<p class="note">None.</p>
        {{/invoices}}</section>

        {{#has_sources}}<section id="unapplied">
        <h2>Payments and credits not yet applied</h2>
        <table>
        <thead><tr><th>kind</th><th>id</th><th>reference</th><th>date</th><th>cur</th><th class="n">amount</th><th class="n">unapplied</th></tr></thead>
        <tbody>
        {{#sources}}<tr data-entry="{{id}}"><td>{{kind}}</td><td>{{id}}</td><td>{{reference}}</td><td>{{date}}</td><td>{{currency}}</td><td class="n">{{amount}}</td><td class="n">{{open}}</td></tr>
        {{/sources}}</tbody>
        </table>
        </section>
        {{/has_sources}}
        </body>
        </html>

        """

    /// An aging in one currency as the `buckets` partial reads it: a bar per bucket, and each
    /// bucket's amount and share of the total in the table.
    /// `converted`: the buckets hold every currency converted into `currency`.
    static func agingSection(asOf: String, currency: String, converted: Bool = false, labels: [String], buckets: [Int64], total: Int64) -> [String: TemplateValue] {
        [
            "as_of": .text(asOf), "currency": .text(currency), "converted": .flag(converted), "total": .text(ReportFigures.amount(total, currency)),
            "total_share": .text(total == 0 ? "-" : "100.0"),
            "chart": Chart.bars(title: "Aging as of \(asOf), \(currency)", categories: labels, series: [
                Chart.Series(name: currency, values: buckets.map { ReportFigures.chartValue($0, currency) }, tips: buckets.map { ReportFigures.amount($0, currency) }),
            ]).templateValue,
            "rows": .list(zip(labels, buckets).map { label, amount in
                ["label": .text(label), "amount": .text(ReportFigures.amount(amount, currency)), "share": .text(ReportFigures.share(amount, of: total))]
            }),
        ]
    }

    /// Figures by month as the `months` partial reads them: the chart, then a row per month with
    /// a cell per column, each cell named by its field (`dunlin metrics --json`'s name where it
    /// has one). `note`, when not empty, goes under the table.
    static func monthsSection(
        id: String, heading: String, chart: ChartDrawing, columns: [(name: String, field: String)], rows: [(month: String, values: [String])], note: String = ""
    ) -> [String: TemplateValue] {
        [
            "id": .text(id), "heading": .text(heading), "chart": chart.templateValue,
            "note": .text(note), "has_note": .flag(!note.isEmpty),
            "columns": .list(columns.map { ["name": .text($0.name)] }),
            "rows": .list(rows.map { row in
                ["month": .text(row.month), "cells": .list(zip(columns, row.values).map { ["field": .text($0.field), "value": .text($1)] })]
            }),
        ]
    }
}

/// How the reports write figures: the CLI's tables' way, so a page and `dunlin metrics` agree to
/// the character.
public enum ReportFigures {
    /// "1,000.50" (exact, the currency's digits, no code); an unknown currency's minor units as they are.
    public static func amount(_ minor: Int64, _ currency: String) -> String {
        guard let known = Currency(code: currency) else { return "\(minor) \(currency)" }
        return String(Money(minorUnits: minor, currency: known).description.dropFirst(known.code.count + 1))
    }

    public static func amount(_ amount: Dunlin_V1_Amount) -> String { Self.amount(amount.minor, amount.currency) }

    /// One decimal, or "-" where the formula has nothing to divide by.
    public static func figure(_ value: Double?) -> String {
        guard let value, value.isFinite else { return "-" }
        return String(format: "%.1f", value)
    }

    /// An amount as a chart draws it: major units, display only.
    static func chartValue(_ minor: Int64, _ currency: String) -> Double {
        Double(minor) / Double(Currency(code: currency)?.minorUnitsPerMajor ?? 1)
    }

    /// `part` of `whole` in percent, one decimal; "-" for a zero whole.
    static func share(_ part: Int64, of whole: Int64) -> String {
        whole == 0 ? "-" : figure(Double(part) / Double(whole) * 100)
    }

    /// "2026-11" for a month's first day.
    static func month(_ day: CivilDate) -> String { String(day.description.prefix(7)) }

    /// The first day of the month eleven months before `month`'s: a twelve-month window ending
    /// with it (shorter at the calendar's start, January of year 1).
    static func twelveMonths(endingIn month: CivilDate) -> CivilDate {
        var first = month.firstOfMonth
        for _ in 0..<11 where !(first.year == 1 && first.month == 1) {
            first = first.adding(days: -1).firstOfMonth
        }
        return first
    }
}
