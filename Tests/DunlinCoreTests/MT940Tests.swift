import DunlinCore
import Foundation
import Testing

/// MT940 statements written from the SWIFT field rules: two pages of one statement (:62M: then
/// :60M:), a reversed credit (RC, money out), a funds code letter, an entry date, an amount with
/// nothing after its comma, a :86: wrapped inside an invoice number, SWIFT block wrappers; then
/// the files that must be refused whole, each with its line.
@Suite("Bank files: MT940")
struct MT940Tests {
    static let file = """
        {1:F01BANKBEBBAXXX0000000000}{2:O9400000261129BANKBEBBAXXX00000000002611290000N}{4:
        :20:STMT261129
        :25:BE68539007547034
        :28C:00042/001
        :60F:C261128EUR1000,00
        :61:2611291129C1500,00NTRFINV-2001//B1234
        :86:PAYMENT GLOBE RETAIL INVOICE INV-20
        01 AND INV-2002
        :61:261129D250,NCHK000123//B1235
        :86:CHEQUE 123
        :62M:C261129EUR2250,00
        -}
        {4:
        :20:STMT261129
        :25:BE68539007547034
        :28C:00042/002
        :60M:C261129EUR2250,00
        :61:261130RC100,00NTRFNONREF//B1236
        :86:RETURNED CREDIT
        :61:261130CR50,5NTRFNONREF
        :86:SEPA CREDIT ACME
        :62F:C261130EUR2200,50
        -}
        """

    static func read(_ text: String) throws(DomainError) -> [BankReceipt] { try MT940.receipts(Data(text.utf8)) }
    static func eur(_ minor: Int64) -> Money { Money(minorUnits: minor, currency: Currency(code: "EUR")!) }

    @Test func everyStatementLineOfEveryPageIsAReceipt() throws {
        let receipts = try Self.read(Self.file)
        #expect(receipts.map(\.amount) == [Self.eur(1_500_00), Self.eur(250_00), Self.eur(100_00), Self.eur(50_50)])
        #expect(receipts.map(\.direction) == [.credit, .debit, .debit, .credit], "RC, a reversed credit, is money out")
        let first = receipts[0]
        #expect(first.account == "BE68539007547034")
        #expect(first.valueDate == CivilDate("2026-11-29"))
        #expect(first.bookingDate == CivilDate("2026-11-29"))
        #expect(first.bankReference == "B1234")
        #expect(first.endToEndID == "INV-2001")
        #expect(first.remittance == "PAYMENT GLOBE RETAIL INVOICE INV-2001 AND INV-2002", "a :86: wrapped inside an invoice number reads whole")
        #expect(first.line == 6)
        #expect(receipts[3].identity == "mt940:BE68539007547034:2026-11-30:C:5050:#2", "no reference: its place among the day's lines")
        #expect(receipts[3].endToEndID == "", "NONREF is no reference")
        #expect(try Self.read(Self.file).map(\.identity) == receipts.map(\.identity))
    }

    @Test("a statement that does not add up, or a malformed field, is refused whole naming the line", arguments: [
        (":62M:C261129EUR2250,00", ":62M:C261129EUR2250,01", "line 11: the opening balance 100000 plus the lines (125000) is 225000, not the closing balance 225001"),
        (":61:261129D250,NCHK", ":61:261129D250,123NCHK", "line 9: amount \"250,123\" is not digits with a decimal comma and at most 2 decimals"),
        (":60F:C261128EUR1000,00", ":60F:C261128XXX1000,00", "line 5: currency \"XXX\""),
        (":61:261129D250,", ":61:261129X250,", "line 9: the :61: mark is not C, D, RC or RD"),
        (":62F:C261130EUR2200,50", ":62F:C261130USD2200,50", "line 22: the closing balance is in USD"),
        (":28C:00042/002", ":99X:00042/002", "line 16: :99X: is not an MT940 field"),
    ])
    func refused(original: String, replacement: String, message: String) {
        expectRefusal(of: Self.file, replacing: original, with: replacement, message: message) { text throws(DomainError) in try Self.read(text) }
    }

    @Test func aTruncatedStatementIsRefused() {
        let text = Self.file.split(separator: "\n").dropLast(2).joined(separator: "\n")
        #expect(throws: DomainError.invalid(field: "file", "line 21: the statement ends without its :62F: closing balance (truncated?)")) { try Self.read(text) }
        #expect(throws: DomainError.self) { try Self.read(":86:NOTHING BEFORE\n") }
        #expect(throws: DomainError.self) { try Self.read("") }
    }
}
