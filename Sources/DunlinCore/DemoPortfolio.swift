import Foundation

/// A realistic receivables portfolio for a new user to explore: customers in US and Philippine
/// time zones, invoices in several currencies spread over every aging bucket, payments applied
/// in full and in part, unapplied cash and an unidentified payer. Deterministic for a seed and a
/// date, so demos and tests see the same numbers.
public struct DemoPortfolio: Sendable {
    public var customers: [Customer] = []
    /// In posting order: invoices and payments first, then applications.
    public var entries: [LedgerEntry] = []
    /// Two dunning policies: a gentle one for the key accounts (by their tag) and the standard one
    /// for everyone else (named explicitly), with fees and interest from the 30-day level; a run
    /// on the portfolio gives notices at several levels.
    public var policies: [DunningPolicy] = []
    /// A manual hold on one customer, so a run shows a customer held.
    public var holds: [DunningHold] = []
    /// An accounts-payable contact per customer, with an email except every fifth customer's (whose
    /// email notices go out as letters).
    public var contacts: [Contact] = []
    /// The templates of the email and letter levels, in English (and the first notice in Filipino).
    public var templates: [NoticeTemplate] = DemoPortfolio.noticeTemplates
    /// The letterhead: the tenant's `letterhead.*` settings.
    public var letterhead: [TenantSetting] = [
        TenantSetting(id: "letterhead.name", value: "Dunlin Demo Co"),
        TenantSetting(id: "letterhead.address", value: "200 W Madison St\nChicago, IL 60606"),
        TenantSetting(id: "letterhead.phone", value: "+1 312 555 0100"),
        TenantSetting(id: "letterhead.email", value: "ar@demo.example"),
    ]

    public init(today: CivilDate, seed: UInt64 = 2026, analysts: [String] = ["ana", "ben"], customerCount: Int = 24) {
        var random = SeededGenerator(seed: seed)
        let profiles: [(name: String, timeZone: String, currency: Currency, language: String)] = [
            ("Jollibee Foods", "Asia/Manila", .php, "fil"), ("Ayala Land", "Asia/Manila", .php, "en"),
            ("San Miguel Brewery", "Asia/Manila", .php, "fil"), ("Globe Telecom", "Asia/Manila", .php, "en"),
            ("Cebu Pacific", "Asia/Manila", .usd, "en"), ("Abenson Appliances", "Asia/Manila", .php, "fil"),
            ("Northwind Traders", "America/Chicago", .usd, "en"), ("Contoso Retail", "America/New_York", .usd, "en"),
            ("Fabrikam Logistics", "America/Los_Angeles", .usd, "en"), ("Tailspin Toys", "America/Denver", .usd, "en"),
            ("Wide World Importers", "America/Chicago", .usd, "es-US"), ("Litware Health", "America/New_York", .usd, "en"),
            ("Adventure Works", "America/Los_Angeles", .usd, "en"), ("Blue Yonder Airlines", "America/Chicago", .usd, "en"),
            ("Coho Winery", "America/Los_Angeles", .usd, "en"), ("Lucerne Publishing", "Europe/Berlin", Currency.eur, "de"),
            ("Proseware Tokyo", "Asia/Tokyo", .jpy, "ja"), ("Trey Research", "America/New_York", .usd, "en"),
            ("Woodgrove Bank", "America/Chicago", .usd, "en"), ("Alpine Ski House", "America/Denver", .usd, "en"),
            ("Mandaue Foam", "Asia/Manila", .php, "fil"), ("Robinsons Retail", "Asia/Manila", .php, "en"),
            ("Margie's Travel", "America/Los_Angeles", .usd, "en"), ("Graphic Design Institute", "America/New_York", .usd, "en"),
        ]
        // Days past due for each invoice slot: every bucket, current to 120+.
        let ages = [-20, -5, 0, 3, 12, 25, 34, 47, 58, 66, 79, 88, 95, 104, 117, 133, 160, 210]
        var invoiceNumber = 10_000
        for index in 0..<min(customerCount, profiles.count) {
            let profile = profiles[index]
            let terms = [15, 30, 30, 45, 60][index % 5]
            let customerID = "CUS-\(1001 + index)"
            customers.append(Customer(
                id: customerID, number: "\(1001 + index)", name: profile.name,
                billingAddress: profile.timeZone == "Asia/Manila" ? "Makati City, Metro Manila" : "Suite \(100 + index), Main Street",
                paymentTermsDays: terms,
                creditLimit: Money(minorUnits: Int64(random.next(in: 5...50)) * 10_000 * profile.currency.minorUnitsPerMajor, currency: profile.currency),
                riskRating: 1 + index % 5, analystID: analysts[index % analysts.count], timeZone: profile.timeZone,
                language: profile.language, portalBilling: index % 4 == 0 ? "Coupa" : "", tags: index % 3 == 0 ? ["key-account"] : []
            ))
            let slug = profile.name.lowercased().filter { $0.isLetter || $0.isNumber }
            contacts.append(Contact(
                id: "CON-\(1001 + index)", customerID: customerID, name: "Accounts Payable, \(profile.name)", role: "AP clerk",
                email: index % 5 == 4 ? "" : "ap@\(slug).example", preferredChannel: index % 5 == 4 ? .letter : .email
            ))
            var invoices: [LedgerEntry] = []
            for slot in 0..<Int(random.next(in: 3...7)) {
                let daysPastDue = ages[Int(random.next(in: 0...UInt64(ages.count - 1)))]
                let due = today.adding(days: -daysPastDue)
                invoiceNumber += 1
                let major = Int64(random.next(in: 250...60_000))
                let cents = profile.currency.exponent == 0 ? 0 : Int64(random.next(in: 0...99))
                let minor = profile.currency.exponent == 0 ? major * 100 : major * profile.currency.minorUnitsPerMajor + cents
                invoices.append(LedgerEntry(
                    id: "INV-\(invoiceNumber)", kind: .invoice, customerID: customerID,
                    amount: Money(minorUnits: minor, currency: profile.currency), date: due.adding(days: -terms), dueDate: due,
                    reference: "\(invoiceNumber)", memo: slot == 0 ? "Monthly subscription" : "Services"
                ))
            }
            entries += invoices
            // Most customers paid something: the oldest invoice in full, sometimes part of the next.
            guard index % 4 != 3, let oldest = invoices.min(by: { $0.dueDate! < $1.dueDate! }) else { continue }
            var paid = oldest.amount.minorUnits
            let partial = invoices.first { $0.id != oldest.id }
            let partialAmount = partial.map { $0.amount.minorUnits / 2 } ?? 0
            paid += partialAmount
            let extra = index % 5 == 0 ? Int64(random.next(in: 1...500)) * profile.currency.minorUnitsPerMajor : 0  // unapplied
            let paymentID = "PAY-\(7001 + index)"
            entries.append(LedgerEntry(
                id: paymentID, kind: .payment, customerID: customerID, amount: Money(minorUnits: paid + extra, currency: profile.currency),
                date: today.adding(days: -Int(random.next(in: 1...20))), reference: "BDO-\(880_000 + index)"
            ))
            entries.append(LedgerEntry(
                id: "APP-\(7001 + index)-1", kind: .application, customerID: customerID, amount: oldest.amount,
                date: today.adding(days: -1), sourceID: paymentID, targetID: oldest.id
            ))
            if let partial, partialAmount > 0 {
                entries.append(LedgerEntry(
                    id: "APP-\(7001 + index)-2", kind: .application, customerID: customerID,
                    amount: Money(minorUnits: partialAmount, currency: profile.currency), date: today.adding(days: -1),
                    sourceID: paymentID, targetID: partial.id
                ))
            }
        }
        policies = [
            DunningPolicy(id: "POL-KEY", name: "Key accounts", segment: "key-account", levels: [
                DunningLevel(days: 0, channel: .email, template: "courtesy_reminder"),
                DunningLevel(days: 30, channel: .callTask, template: "account_manager_call"),
                DunningLevel(days: 60, channel: .escalate, template: "manager_review"),
            ]),
            DunningPolicy(
                id: "POL-STD", name: "Standard", customerIDs: customers.map(\.id).filter { id in !customers.contains { $0.id == id && $0.tags.contains("key-account") } },
                levels: [
                    DunningLevel(days: -5, channel: .email, template: "friendly_reminder"),
                    DunningLevel(days: 15, channel: .email, template: "first_notice"),
                    DunningLevel(days: 30, channel: .letter, template: "second_notice", fee: Money(minorUnits: 25_00, currency: .usd), interestBasisPoints: 1200),
                    DunningLevel(days: 60, channel: .callTask, template: "collections_call", interestBasisPoints: 1200),
                    DunningLevel(days: 90, channel: .escalate, template: "final_demand", interestBasisPoints: 1200),
                    DunningLevel(days: 120, channel: .place, template: "agency_placement", interestBasisPoints: 1200),
                ]
            ),
        ]
        if customers.count > 3 {
            holds = [DunningHold(id: "HOLD-1", customerID: customers[3].id, reason: "CFO on leave; agreed to wait for her return", placedOn: today.adding(days: -7))]
        }
        // Cash nobody has matched yet.
        entries.append(LedgerEntry(
            id: "PAY-UNID-1", kind: .payment, amount: Money(minorUnits: 1_234_567, currency: .php), date: today.adding(days: -2),
            reference: "BPI wire, no remittance advice"
        ))
    }
}

extension DemoPortfolio {
    /// One template per email and letter level of the demo's policies: a table of the overdue
    /// items, the totals with interest and fees, and the analyst to answer.
    static let noticeTemplates: [NoticeTemplate] = {
        let text = """
            Dear {{contact.name}},

            {{opening}}

            {{#lines}}
            Invoice {{reference}}, due {{due_date}} ({{days_past_due}} days): {{balance}}
            {{/lines}}

            {{#totals}}
            Total {{currency}}: {{total}}{{#has_interest}}, interest {{interest}}{{/has_interest}}{{#has_fee}}, late fee {{fee}}{{/has_fee}}; amount due {{amount_due}}
            {{/totals}}

            Questions? Reply to this message, or write to {{analyst.name}} ({{analyst.email}}).

            {{tenant.name}}
            """
        let html = """
            <p>Dear {{contact.name}},</p>
            <p>{{opening}}</p>
            <table>
            <tr><th>Invoice</th><th>Due</th><th>Days</th><th>Balance</th></tr>
            {{#lines}}<tr><td>{{reference}}</td><td>{{due_date}}</td><td>{{days_past_due}}</td><td>{{balance}}</td></tr>
            {{/lines}}</table>
            {{#totals}}<p>Total {{currency}}: {{total}}{{#has_interest}}, interest {{interest}}{{/has_interest}}{{#has_fee}}, late fee {{fee}}{{/has_fee}}. <strong>Amount due: {{amount_due}}</strong></p>
            {{/totals}}
            <p>Questions? Reply to this message, or write to {{analyst.name}} ({{analyst.email}}).</p>
            <p>{{tenant.name}}</p>
            """
        let openings: [(name: String, subject: String, opening: String)] = [
            ("friendly_reminder", "Coming due: {{amount_due}} for {{customer.name}}", "A friendly reminder that these invoices come due soon."),
            ("courtesy_reminder", "Courtesy reminder: {{amount_due}} for {{customer.name}}", "As a courtesy, these invoices are now due."),
            ("first_notice", "Overdue: {{amount_due}} for {{customer.name}}", "Our records show these invoices are past due. Please arrange payment."),
            ("second_notice", "Second notice: {{amount_due}} for {{customer.name}}", "These invoices remain unpaid despite our earlier notice. Interest and a late fee now apply."),
        ]
        var templates = openings.map { opening in
            NoticeTemplate(
                id: "TPL-\(opening.name)-en", name: opening.name, language: "en", subject: opening.subject,
                text: text.replacingOccurrences(of: "{{opening}}", with: opening.opening),
                html: html.replacingOccurrences(of: "{{opening}}", with: opening.opening)
            )
        }
        templates.append(NoticeTemplate(
            id: "TPL-first_notice-fil", name: "first_notice", language: "fil", subject: "Lampas na sa takdang petsa: {{amount_due}} para sa {{customer.name}}",
            text: text.replacingOccurrences(of: "{{opening}}", with: "Ayon sa aming talaan, lampas na sa takdang petsa ang mga invoice na ito. Pakisaayos ang bayad.")
                .replacingOccurrences(of: "Dear", with: "Mahal na"),
            html: html.replacingOccurrences(of: "{{opening}}", with: "Ayon sa aming talaan, lampas na sa takdang petsa ang mga invoice na ito. Pakisaayos ang bayad.")
                .replacingOccurrences(of: "Dear", with: "Mahal na")
        ))
        return templates
    }()
}
