import DunlinWire
import Foundation

/// The generated portfolio, the same on every run: `customers` customers, `invoices` open invoices
/// of which the first `statementItems` belong to customer C0 (the statement), the rest spread over
/// the others; one customer in ten bills in PHP, the rest in USD; issued through 2026 with 15 to 60 day terms,
/// so every aging bucket holds some.
struct Portfolio: Sendable {
    let customers: Int
    let invoices: Int
    let statementItems: Int

    /// After every generated entry: an as-of date with nothing dated later.
    static let asOf = "2026-12-31"
    /// Issue dates run over 330 days from here.
    private static let firstIssue = Date(timeIntervalSince1970: 1_767_225_600)  // 2026-01-01 UTC

    /// "YYYY-MM-DD" for each day from 2026-01-01 on, computed once (not per row).
    private static let days: [String] = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return (0..<400).map { offset in
            let date = calendar.date(byAdding: .day, value: offset, to: firstIssue)!
            let parts = calendar.dateComponents([.year, .month, .day], from: date)
            return String(format: "%04d-%02d-%02d", parts.year!, parts.month!, parts.day!)
        }
    }()

    func customer(_ index: Int) -> Dunlin_V1_CustomerRecord {
        .with {
            $0.id = "C\(index)"
            $0.number = "N\(index)"
            $0.name = "Customer \(index)"
            $0.paymentTermsDays = 30
            $0.analystID = "U\(index % 20)"
            $0.timeZone = index % 2 == 0 ? "America/Chicago" : "Asia/Manila"
        }
    }

    struct Invoice {
        var id: String
        var customerID: String
        var currency: String
        var minor: Int64
        var date: String
        var dueDate: String
    }

    func invoice(_ index: Int) -> Invoice {
        let issue = index % 330
        let customer = index < statementItems ? 0 : 1 + index % (customers - 1)
        return Invoice(
            id: "INV\(index)",
            customerID: "C\(customer)",
            currency: customer % 10 == 1 ? "PHP" : "USD",
            minor: 1_00 + Int64((index &* 7_919) % 1_000_000),
            date: Self.days[issue],
            dueDate: Self.days[issue + 15 * (1 + index % 4)]
        )
    }

    func record(_ index: Int) -> Dunlin_V1_LedgerEntryRecord {
        let invoice = invoice(index)
        return .with {
            $0.id = invoice.id
            $0.kind = "invoice"
            $0.customerID = invoice.customerID
            $0.amount = .with { $0.currency = invoice.currency; $0.minor = invoice.minor }
            $0.date = invoice.date
            $0.dueDate = invoice.dueDate
            $0.reference = String(index)
        }
    }

    /// The same invoice as a `ledger_entry` CSV line for the sqlite3 peer (no header).
    func csvLine(_ index: Int) -> String {
        let invoice = invoice(index)
        return "\(invoice.id),invoice,\(invoice.customerID),\(invoice.currency),\(invoice.minor),\(invoice.date),\(invoice.dueDate),\(index),,,\n"
    }
}
