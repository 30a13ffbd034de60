import DunlinCore
import Foundation

/// The generated tenant, the same on every run: customers, open invoices, unapplied payments and
/// activities spread evenly over the customers; one customer in ten bills in PHP.
struct SyncPortfolio: Sendable {
    let customers: Int
    let invoices: Int
    let payments: Int
    let activities: Int

    var records: Int { customers + invoices + payments + activities }

    func divided(by divisor: Int) -> SyncPortfolio {
        SyncPortfolio(customers: customers / divisor, invoices: invoices / divisor, payments: payments / divisor, activities: activities / divisor)
    }

    private static let firstIssue = 20_454  // 2026-01-01, days since 1970-01-01
    private static let firstActivity = Date(timeIntervalSince1970: 1_767_225_600)

    private func currency(_ customer: Int) -> Currency { Currency(code: customer % 10 == 1 ? "PHP" : "USD")! }

    func customer(_ index: Int) -> Customer {
        Customer(
            id: "C\(index)", number: "N\(index)", name: "Customer \(index)", phone: "+1 312 555 \(index % 10_000)",
            analystID: "U\(index % 20)", timeZone: index % 2 == 0 ? "America/Chicago" : "Asia/Manila"
        )
    }

    func invoice(_ index: Int) -> LedgerEntry {
        let customer = index % customers
        let issue = index % 330
        return LedgerEntry(
            id: "INV\(index)", kind: .invoice, customerID: "C\(customer)",
            amount: Money(minorUnits: 1_00 + Int64((index &* 7_919) % 1_000_000), currency: currency(customer)),
            date: CivilDate(daysSinceEpoch: Self.firstIssue + issue), dueDate: CivilDate(daysSinceEpoch: Self.firstIssue + issue + 15 * (1 + index % 4)),
            reference: String(index)
        )
    }

    /// Payment `index` (ids from PAY0; `prefix` keeps later batches apart).
    func payment(_ index: Int, prefix: String = "PAY") -> LedgerEntry {
        let customer = (index &* 31) % customers
        return LedgerEntry(
            id: "\(prefix)\(index)", kind: .payment, customerID: "C\(customer)",
            amount: Money(minorUnits: 50_00 + Int64((index &* 104_729) % 500_000), currency: currency(customer)),
            date: CivilDate(daysSinceEpoch: Self.firstIssue + index % 360), reference: "WIRE-\(index)"
        )
    }

    /// Invoice `index` paid in full: payment `prefix`PAY`index` of its amount and the application
    /// `prefix`APP`index` of the payment to it, as a bank file's matches arrive.
    func settlement(ofInvoice index: Int, prefix: String) -> (payment: LedgerEntry, application: LedgerEntry) {
        let invoice = invoice(index)
        let paid = invoice.dueDate ?? invoice.date
        return (
            LedgerEntry(id: "\(prefix)PAY\(index)", kind: .payment, customerID: invoice.customerID, amount: invoice.amount, date: paid,
                        reference: "\(prefix)-WIRE-\(index)"),
            LedgerEntry(id: "\(prefix)APP\(index)", kind: .application, customerID: invoice.customerID, amount: invoice.amount, date: paid,
                        sourceID: "\(prefix)PAY\(index)", targetID: invoice.id)
        )
    }

    func activity(_ index: Int, prefix: String = "ACT", author: String = "U1") -> Activity {
        let kinds: [(ActivityKind, ActivityDirection, String)] = [
            (.call, .outbound, "left voicemail"), (.email, .outbound, "sent statement"), (.call, .inbound, "promised to pay Friday"),
            (.note, .undirected, ""), (.letter, .outbound, "first dunning letter"),
        ]
        let (kind, direction, outcome) = kinds[index % kinds.count]
        return Activity(
            id: "\(prefix)\(index)", customerID: "C\((index &* 17) % customers)", kind: kind, direction: direction, outcome: outcome,
            authorID: author, occurredAt: Self.firstActivity.addingTimeInterval(Double(index) * 60),
            body: index % 3 == 0 ? "Spoke with accounts payable about invoice INV\(index % max(invoices, 1))." : ""
        )
    }
}
