import DunlinCore
import Foundation
import Testing

/// Notice templates without the engine: the names a template may use (``TemplateFields``), the
/// template a customer's language takes, and amounts and dates in the customer's locale.
@Suite("Notice templates: fields, languages and local formats")
struct NoticeTemplateTests {
    static let usd = Currency(code: "USD")!

    // MARK: Fields

    @Test("a template names only a notice's fields, found as Mustache finds them", arguments: [
        ("Dear {{contact.name}}", nil),
        ("{{#lines}}{{reference}} {{balance}} {{customer.name}}{{/lines}}", nil),
        ("{{#totals}}{{#has_fee}}{{fee}}{{/has_fee}}{{/totals}}", nil),
        ("{{#customer}}{{name}} owes {{amount_due}}{{/customer}}", nil),
        ("{{^lines}}nothing{{/lines}} {{! a comment {{nothing}} }}", nil),
        ("{{{customer.name}}} {{& tenant.name}}", nil),
        ("{{#customer.address_lines}}{{line}}<br>{{/customer.address_lines}}", nil),
        ("{{#lines}}{{.}}{{/lines}}", nil),
        ("line one\nline two {{customer.nmae}}", "line 2: {{customer.nmae}} names no field; customer has customer.address, customer.address_lines, customer.name, customer.number"),
        ("{{reference}}", "line 1: {{reference}} names no field;"),
        ("\n\n{{#lines}}\n{{reference}}\n{{/totals}}", "line 5: {{/totals}} closes {{#lines}} of line 3"),
        ("{{#lines}}{{reference}}", "line 1: {{#lines}} is never closed"),
        ("{{/lines}}", "line 1: {{/lines}} closes no section"),
        ("{{> header}}", "line 1: {{>…}} is not allowed"),
        ("{{=<% %>=}}", "line 1: {{=…}} is not allowed"),
        ("Dear {{contact.name", "line 1: a tag opened with \"{{\" is never closed"),
        ("{{uppercase(customer.name)}}", "line 1: {{uppercase(customer.name)}} is not a field name"),
    ] as [(String, String?)])
    func fields(source: String, refusal: String?) {
        do {
            try TemplateFields.check(source, field: "html")
            #expect(refusal == nil, "accepted: \(source)")
        } catch {
            #expect(error.field == "html")
            #expect(refusal.map { "\(error)".contains($0) } == true, "\(error)")
        }
    }

    @Test func aTemplateIsRefusedNamingThePartAndTheLine() {
        var template = NoticeTemplate(id: "T1", name: "first_notice", subject: "Overdue: {{amount_due}}", text: "Dear {{contact.name}}", html: "<p>{{total}}</p>")
        #expect(throws: DomainError.invalid(field: "html", "line 1: {{total}} names no field; the fields are \(NoticeDocument.fieldNames.joined(separator: ", "))")) {
            try template.validate()
        }
        template.html = "<p>{{amount_due}}</p>"
        #expect(throws: Never.self) { try template.validate() }
        template.name = "first notice"
        #expect(throws: DomainError.self) { try template.validate() }
        template.name = "first_notice"
        template.language = "english!"
        #expect(throws: DomainError.self) { try template.validate() }
        template.language = "es-US"
        template.subject = ""
        #expect(throws: DomainError.invalid(field: "subject", "must not be empty")) { try template.validate() }
    }

    @Test("the headers a template renders", arguments: [
        ("Overdue", "ap@globe.example", nil),
        ("", "ap@globe.example", "subject"),
        ("Overdue\nBcc: everyone@example.com", "ap@globe.example", "subject"),
        ("Overdue", "", "recipient"),
        ("Overdue", "Rosa <rosa@globe.example>", "recipient"),
        ("Overdue", "a@example.com, b@example.com", "recipient"),
        ("Overdue", "not an address", "recipient"),
    ] as [(String, String, String?)])
    func renderedHeaders(subject: String, recipient: String, refusedField: String?) {
        do {
            try NoticeTemplate.checkRendered(subject: subject, recipient: recipient)
            #expect(refusedField == nil)
        } catch {
            #expect(error.field == refusedField)
        }
    }

    // MARK: Languages

    @Test("the customer's language chooses the template", arguments: [
        ("fil", "T-fil"), ("es-US", "T-es"), ("es", "T-es"), ("de", "T-en"), ("EN", "T-en"),
    ])
    func language(customer: String, chosen: String) {
        let templates = ["en", "fil", "es"].map {
            NoticeTemplate(id: "T-\($0)", name: "first_notice", language: $0, subject: "s", text: "t", html: "h")
        } + [NoticeTemplate(id: "T-other", name: "second_notice", language: "de", subject: "s", text: "t", html: "h")]
        #expect(NoticeTemplate.choose("first_notice", language: customer, among: templates)?.id == chosen)
        #expect(NoticeTemplate.choose("second_notice", language: customer, among: templates)?.id == "T-other", "any language before none")
        #expect(NoticeTemplate.choose("final_demand", language: customer, among: templates) == nil)
    }

    // MARK: Local formats

    @Test("amounts keep every digit in the customer's format", arguments: [
        ("en", "USD", 1_500_00, "1,500.00"),
        ("en", "USD", 5, "0.05"),
        ("en", "USD", -1_234_56, "1,234.56"),
        ("en", "JPY", 1_234_567, "1,234,567"),
        ("en", "KWD", 1_234_567, "1,234.567"),
        ("en", "USD", 999_999_999_999_999_99, "999,999,999,999,999.99"),
        ("de", "EUR", 1_500_00, "1.500,00"),
    ] as [(String, String, Int64, String)])
    func money(language: String, code: String, minor: Int64, digits: String) {
        let money = Money(minorUnits: minor, currency: Currency(code: code)!)
        let text = LocalFormat(language: language).money(money)
        #expect(text.contains(digits), "\(text)")
        #expect(text.contains("-") == (minor < 0), "\(text)")
    }

    @Test func datesAreLongInTheCustomersLanguage() {
        let day = CivilDate("2026-03-08")!
        #expect(LocalFormat(language: "en").date(day) == "March 8, 2026")
        #expect(LocalFormat(language: "de").date(day).contains("2026"))
        #expect(LocalFormat(language: "de").date(day).contains("März"))
    }

    @Test func theDocumentCarriesTheNoticeInTheCustomersFormat() throws {
        let notice = DunningNotice(
            id: "DN:C1:30:INV-1", runID: "R-2026-03-08", customerID: "C1", policyID: "P", level: 3, levelDays: 30, channel: .letter,
            template: "second_notice", asOf: CivilDate("2026-03-08")!, anchorInvoiceID: "INV-1",
            lines: [DunningNoticeLine(invoiceID: "INV-1", reference: "1001", dueDate: CivilDate("2026-02-01")!, daysPastDue: 35, balance: Money(minorUnits: 1_000_00, currency: Self.usd))],
            charges: [DunningCharge(total: Money(minorUnits: 1_000_00, currency: Self.usd), interest: Money(minorUnits: 17_26, currency: Self.usd), fee: Money(minorUnits: 25_00, currency: Self.usd))],
            createdAt: Date(timeIntervalSince1970: 0)
        )
        let document = NoticeDocument.build(
            notice: notice, customer: Customer(id: "C1", number: "1001", name: "Globe <Retail>", billingAddress: "1 Ayala Ave\nMakati"),
            contact: NoticePerson(name: "Rosa", email: "rosa@globe.example"), analyst: nil, letterhead: Letterhead(name: "Acme AR")
        )
        guard case .object(let fields) = document, case .list(let totals) = fields["totals"], case .list(let address)? = {
            if case .object(let customer) = fields["customer"] { return customer["address_lines"] }
            return nil
        }() else {
            Issue.record("not the document's shape: \(document)")
            return
        }
        #expect(fields["amount_due"] == .text("$1,042.26"), "total + interest + fee")
        #expect(totals.first?["has_fee"] == .flag(true))
        #expect(address.count == 2)
        #expect(fields["oldest_days_past_due"] == .text("35"))
    }
}
