import DunlinCore
import DunlinWire
import Testing

@Suite("A statement's open invoices as columns")
struct InvoiceColumnsTests {
    static let usd = Currency(code: "USD")!
    static let items: [(entry: LedgerEntry, open: Money)] = [
        (LedgerEntry(id: "INV-1", kind: .invoice, customerID: "C1", amount: Money(minorUnits: 1_000_00, currency: usd), date: CivilDate("2026-08-01")!,
                     dueDate: CivilDate("2026-09-01"), reference: "R-1", memo: "first\tline"), Money(minorUnits: 400_00, currency: usd)),
        (LedgerEntry(id: "INV-2", kind: .invoice, customerID: "C1", amount: Money(minorUnits: 5, currency: usd), date: CivilDate("2026-08-02")!),
         Money(minorUnits: -3, currency: usd)),
    ]

    @Test("the columns read back as the records a statement answers without them, through the wire form")
    func roundTrip() throws {
        let columns = Dunlin_V1_InvoiceColumns(Self.items)
        let decoded = try Dunlin_V1_InvoiceColumns(serializedBytes: try columns.serializedBytes() as [UInt8])
        #expect(try decoded.records(customerID: "C1") == Self.items.map { Dunlin_V1_LedgerEntryRecord($0.entry, balance: $0.open) })
    }

    @Test("lists of different lengths are a corrupt answer, refused naming the list", arguments: ["amount", "due_date", "memo"])
    func uneven(list: String) throws {
        var columns = Dunlin_V1_InvoiceColumns(Self.items)
        switch list {
        case "amount": columns.amount.removeLast()
        case "due_date": columns.dueDate.append("")
        default: columns.memo = []
        }
        let error = #expect(throws: RPCError.self) { try columns.records(customerID: "C1") }
        #expect(error?.code == .dataLoss && error?.message.contains("values of \(list)") == true, "\(String(describing: error))")
    }
}
