import DunlinCore
import DunlinServices
import Foundation
import Testing

/// The demo tenant's sample bank files (Demo/bankfiles): each parses with the reader of its
/// format, found by detection, and each receipt meant to pay demo invoices pays open invoices of
/// the demo portfolio in their currency, in the ways the matcher must handle.
@Suite("Bank files: the demo samples")
struct DemoBankFileTests {
    static func file(_ name: String) -> Data {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Demo/bankfiles/\(name)")
        return (try? Data(contentsOf: url)) ?? Data()
    }

    enum Way { case exact, short, unidentified, debit }

    /// Per file: its format, then per receipt the invoices it pays and how.
    static let samples: [(name: String, format: BankFileFormat, receipts: [(invoices: [String], way: Way)])] = [
        ("demo.bai2", .bai2, [
            (["INV-10034"], .exact),  // "PMT INV 0010034": no prefix, leading zeros
            (["INV-10039"], .exact),  // Contoso's name and the exact amount only
            (["INV-10057", "INV-10058"], .exact),  // Litware's name and the sum of two invoices
            (["INV-10047"], .exact),  // "INV 1OO47": O for 0
            ([], .unidentified),  // no payer, of exactly INV-10037's balance: suggested, never applied
            ([], .debit),  // a returned item
        ]),
        ("demo-camt053.xml", .camt053, [
            (["INV-10077"], .exact),  // structured creditor reference
            (["INV-10078"], .exact),  // a batched entry: "RE 10078"
            (["INV-10081"], .exact),  // instructed in CHF, booked in EUR
            (["INV-10079"], .short),  // less bank charges
            ([], .debit),  // a reversed credit
            ([], .debit),  // account fees
        ]),
        ("demo-camt054.xml", .camt054, [
            (["INV-10087"], .short),
            (["INV-10064"], .exact),  // "INV-1OO64"
            (["INV-10023"], .exact),  // structured, payer name unlike the customer's
        ]),
        ("demo.mt940", .mt940, [
            (["INV-10002"], .exact),  // "INV10002"
            (["INV-10006", "INV-10007"], .exact),  // "INV 10006/10007"
            (["INV-10021"], .exact),  // payer name only
            (["INV-10108"], .exact),  // wrapped at 65 characters inside the invoice number
            ([], .unidentified),
            ([], .debit),  // RC: a returned credit
        ]),
        ("demo.lockbox", .lockbox, [
            (["INV-10068"], .exact),
            (["INV-10094", "INV-10095"], .exact),  // "10094", "10095" on an overflow record
            (["INV-10097"], .exact),  // a check with the remitter's name only
            (["INV-10044"], .short),
        ]),
    ]

    static let portfolio = DemoPortfolio(today: CivilDate("2026-11-30")!)

    /// The demo's invoices with their balances after the demo's applications, by id; an
    /// invoice's number is its reference, else its id (as the import reads it).
    static func openInvoices() throws -> [String: OpenInvoice] {
        var open: [String: OpenInvoice] = [:]
        for entry in portfolio.entries where entry.kind == .invoice {
            open[entry.id] = OpenInvoice(
                id: entry.id, customerID: entry.customerID, number: entry.reference.isEmpty ? entry.id : entry.reference,
                openBalance: entry.amount, dueDate: entry.dueDate
            )
        }
        for entry in portfolio.entries where entry.kind == .application {
            if let target = entry.targetID, let invoice = open[target] { open[target]?.openBalance = try invoice.openBalance.subtracting(entry.amount) }
        }
        return open
    }

    @Test("each demo file is detected and read by its format's reader", arguments: samples.map(\.name))
    func readsWithItsReader(name: String) throws {
        let sample = try #require(Self.samples.first { $0.name == name })
        let data = Self.file(name)
        #expect(BankFileFormat.detect(data) == sample.format)
        let read = try BankFileReader.receipts(data)
        #expect(read.format == sample.format)
        #expect(read.receipts.map(\.format) == Array(repeating: sample.format.rawValue, count: sample.receipts.count))
        #expect(Set(read.receipts.map(\.identity)).count == read.receipts.count)
    }

    @Test("each demo receipt pays open demo invoices as its sample says", arguments: samples.map(\.name))
    func paysDemoInvoices(name: String) throws {
        let sample = try #require(Self.samples.first { $0.name == name })
        let receipts = try BankFileReader.receipts(Self.file(name)).receipts
        try #require(receipts.count == sample.receipts.count)
        let open = try Self.openInvoices().mapValues(\.openBalance)
        for (receipt, expected) in zip(receipts, sample.receipts) {
            switch expected.way {
            case .debit:
                #expect(receipt.direction == .debit, "\(name) line \(receipt.line)")
            case .unidentified:
                #expect(receipt.direction == .credit)
                #expect(receipt.creditorReferences.isEmpty)
            case .exact, .short:
                #expect(receipt.direction == .credit)
                let balances = expected.invoices.compactMap { open[$0] }
                try #require(balances.count == expected.invoices.count, "\(expected.invoices) are demo invoices")
                #expect(balances.allSatisfy { $0.currency == receipt.amount.currency && $0.isPositive })
                let total = balances.reduce(Int64(0)) { $0 + $1.minorUnits }
                if expected.way == .exact {
                    #expect(total == receipt.amount.minorUnits, "\(name) line \(receipt.line) pays \(expected.invoices) exactly")
                } else {
                    #expect(total > receipt.amount.minorUnits, "\(name) line \(receipt.line) pays \(expected.invoices) short")
                }
            }
        }
    }

    @Test("the matcher applies each demo receipt to the invoices its sample names, and nothing else", arguments: samples.map(\.name))
    func matchesDemoInvoices(name: String) throws {
        let sample = try #require(Self.samples.first { $0.name == name })
        let receipts = try BankFileReader.receipts(Self.file(name)).receipts
        try #require(receipts.count == sample.receipts.count)
        var index = MatchIndex(
            invoices: try Self.openInvoices().values.sorted { $0.id < $1.id }, customers: Self.portfolio.customers.map(PayerCustomer.init)
        )
        let matches = CashMatcher().match(receipts, in: &index)
        for (match, expected) in zip(matches, sample.receipts) {
            let applied = Set(match.applications.map(\.invoiceID))
            switch expected.way {
            case .debit: #expect(match.status == .notACredit, "\(name): \(match.explanation)")
            case .unidentified: #expect(match.status == .unidentified && applied.isEmpty, "\(name): \(match.explanation)")
            case .exact, .short: #expect(applied == Set(expected.invoices), "\(name): \(match.explanation)")
            }
        }
    }
}
