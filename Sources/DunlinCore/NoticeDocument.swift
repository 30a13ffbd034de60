import Foundation

/// The tenant's letterhead: what a letter's head and an email's sender say (tenant settings
/// `letterhead.*`, ``TenantSetting``).
public struct Letterhead: Sendable, Hashable {
    public var name: String
    /// Lines separated by newlines.
    public var address: String
    public var phone: String
    public var email: String

    public init(name: String, address: String = "", phone: String = "", email: String = "") {
        self.name = name
        self.address = address
        self.phone = phone
        self.email = email
    }
}

/// A person a notice names: the customer's contact, or the analyst who works the account.
public struct NoticePerson: Sendable, Hashable {
    public var name: String
    public var email: String

    public init(name: String, email: String) {
        self.name = name
        self.email = email
    }
}

/// What a notice's template sees, built from the notice, its customer, contact and analyst and the
/// tenant's letterhead, every amount and date formatted for the customer's language and each
/// amount's currency (``LocalFormat``). The fields (all text unless said):
///
/// - `tenant`: `name`, `address`, `address_lines` (list of `line`), `phone`, `email`
/// - `customer`: `name`, `number`, `address`, `address_lines` (list of `line`)
/// - `contact`: `name`, `email`; `analyst`: `name`, `email`
/// - `notice`: `id`, `level`, `date` (the run's as-of date, long form), `channel`
/// - `lines` (list): `reference`, `due_date`, `days_past_due`, `balance`
/// - `totals` (list, one per currency): `currency`, `total`, `interest`, `fee`, `amount_due`,
///   `has_interest` and `has_fee` (flags)
/// - `amount_due`: every currency's amount due, joined ("USD 1,500.00 and EUR 200.00" in words
///   of the locale's form)
/// - `oldest_days_past_due`
public enum NoticeDocument {
    public static func build(
        notice: DunningNotice, customer: Customer, contact: NoticePerson?, analyst: NoticePerson?, letterhead: Letterhead
    ) -> TemplateValue {
        let format = LocalFormat(language: customer.language)
        let lines = notice.lines.map { line -> [String: TemplateValue] in
            [
                "reference": .text(line.reference), "due_date": .text(format.date(line.dueDate)),
                "days_past_due": .text(String(line.daysPastDue)), "balance": .text(format.money(line.balance)),
            ]
        }
        var dues: [String] = []
        let totals = notice.charges.map { charge -> [String: TemplateValue] in
            let extras = [charge.interest, charge.fee].compactMap { $0 }
            // Within Money's maximum each (the run checked); their sum in 128 bits, then checked.
            let sum = extras.reduce(Int128(charge.total.minorUnits)) { $0 + Int128($1.minorUnits) }
            let due = Int64(exactly: sum).map { format.money(Money(minorUnits: $0, currency: charge.total.currency)) } ?? "—"
            dues.append(due)
            return [
                "currency": .text(charge.total.currency.code), "total": .text(format.money(charge.total)),
                "interest": .text(charge.interest.map(format.money) ?? ""), "fee": .text(charge.fee.map(format.money) ?? ""),
                "amount_due": .text(due), "has_interest": .flag(charge.interest != nil), "has_fee": .flag(charge.fee != nil),
            ]
        }
        return .object([
            "tenant": .object([
                "name": .text(letterhead.name), "address": .text(letterhead.address), "address_lines": lineList(letterhead.address),
                "phone": .text(letterhead.phone), "email": .text(letterhead.email),
            ]),
            "customer": .object([
                "name": .text(customer.name), "number": .text(customer.number), "address": .text(customer.billingAddress),
                "address_lines": lineList(customer.billingAddress),
            ]),
            "contact": .object(["name": .text(contact?.name ?? ""), "email": .text(contact?.email ?? "")]),
            "analyst": .object(["name": .text(analyst?.name ?? ""), "email": .text(analyst?.email ?? "")]),
            "notice": .object([
                "id": .text(notice.id), "level": .text(String(notice.level)), "date": .text(format.date(notice.asOf)),
                "channel": .text(notice.channel.rawValue),
            ]),
            "lines": .list(lines),
            "totals": .list(totals),
            "amount_due": .text(dues.joined(separator: ", ")),
            "oldest_days_past_due": .text(String(notice.lines.map(\.daysPastDue).max() ?? 0)),
        ])
    }

    private static func lineList(_ text: String) -> TemplateValue {
        .list(text.split(separator: "\n").map { ["line": .text(String($0))] })
    }

    /// A document with every field filled, lists of one item: what templates are checked and
    /// test-rendered against when saved.
    public static let sample: TemplateValue = {
        let usd = Currency.usd
        let notice = DunningNotice(
            id: "DN:CUS-SAMPLE:30:INV-SAMPLE", runID: "R-2026-01-31", customerID: "CUS-SAMPLE", policyID: "dpol_sample", level: 2, levelDays: 30,
            channel: .email, template: "sample", asOf: CivilDate(year: 2026, month: 1, day: 31)!, anchorInvoiceID: "INV-SAMPLE",
            lines: [
                DunningNoticeLine(
                    invoiceID: "INV-SAMPLE", reference: "INV-1001", dueDate: CivilDate(year: 2025, month: 12, day: 31)!, daysPastDue: 31,
                    balance: Money(minorUnits: 150_000, currency: usd)
                ),
            ],
            charges: [
                DunningCharge(
                    total: Money(minorUnits: 150_000, currency: usd), interest: Money(minorUnits: 1_529, currency: usd),
                    fee: Money(minorUnits: 2_500, currency: usd)
                ),
            ],
            createdAt: Date(timeIntervalSince1970: 0)
        )
        return build(
            notice: notice, customer: Customer(id: "CUS-SAMPLE", number: "C-1001", name: "Sample Trading Co.", billingAddress: "1 Sample St\nSpringfield"),
            contact: NoticePerson(name: "Pat Payables", email: "ap@sample.example"), analyst: NoticePerson(name: "Ana Analyst", email: "ana@tenant.example"),
            letterhead: Letterhead(name: "Sample Tenant Inc.", address: "2 Letterhead Ave\nMetro City", phone: "+1 312 555 0100", email: "ar@tenant.example")
        )
    }()

    /// Every field name, dotted, for refusals: "customer.name", "lines.balance", …
    public static let fieldNames: [String] = {
        func names(_ value: TemplateValue, _ prefix: String) -> [String] {
            guard let fields = value.fields else { return [prefix] }
            return fields.keys.sorted().flatMap { names(fields[$0]!, prefix.isEmpty ? $0 : "\(prefix).\($0)") }
        }
        return names(sample, "")
    }()
}

/// Amounts and dates as a customer's language writes them: exact to the minor unit whatever the
/// amount (the digits are Dunlin's, never a floating-point number's), with the locale's
/// separators and currency pattern.
public struct LocalFormat: Sendable {
    public let locale: Locale

    public init(language: String) {
        locale = Locale(identifier: language.replacingOccurrences(of: "-", with: "_"))
    }

    /// "$1,500.00" in English, "1.500,00 $" in German: the locale's pattern for the currency,
    /// filled with the exact digits of `money`.
    public func money(_ money: Money) -> String {
        let formatter = NumberFormatter()
        formatter.locale = locale
        formatter.numberStyle = .currency
        formatter.currencyCode = money.currency.code
        formatter.minimumFractionDigits = money.currency.exponent
        formatter.maximumFractionDigits = money.currency.exponent
        let decimal = formatter.decimalSeparator ?? "."
        let probeDigits = money.currency.exponent > 0 ? "1" + decimal + String(repeating: "0", count: money.currency.exponent) : "1"
        let probe = formatter.string(from: NSNumber(value: money.isNegative ? -1 : 1)) ?? ""
        guard let range = probe.range(of: probeDigits) else {
            return "\(money.isNegative ? "-" : "")\(money.currency.code) \(digits(money, decimal: decimal, grouping: formatter.groupingSeparator ?? ","))"
        }
        return probe.replacingCharacters(in: range, with: digits(money, decimal: decimal, grouping: formatter.groupingSeparator ?? ","))
    }

    /// The magnitude's digits, grouped by three, with the minor units after `decimal`.
    private func digits(_ money: Money, decimal: String, grouping: String) -> String {
        let magnitude = money.minorUnits.magnitude
        var per: UInt64 = 1
        for _ in 0..<money.currency.exponent { per *= 10 }
        let whole = String(magnitude / per)
        var grouped = ""
        for (offset, digit) in whole.enumerated() {
            if offset > 0, (whole.count - offset) % 3 == 0 { grouped += grouping }
            grouped.append(digit)
        }
        guard money.currency.exponent > 0 else { return grouped }
        let fraction = String(magnitude % per)
        return grouped + decimal + String(repeating: "0", count: money.currency.exponent - fraction.count) + fraction
    }

    /// "January 31, 2026" in English, "31. Januar 2026" in German.
    public func date(_ date: CivilDate) -> String {
        let formatter = DateFormatter()
        formatter.locale = locale
        formatter.dateStyle = .long
        formatter.timeStyle = .none
        formatter.timeZone = TimeZone(identifier: "UTC")
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        formatter.calendar = calendar
        guard let instant = calendar.date(from: DateComponents(year: date.year, month: date.month, day: date.day, hour: 12)) else {
            return date.description
        }
        return formatter.string(from: instant)
    }
}
