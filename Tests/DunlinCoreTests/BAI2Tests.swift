import DunlinCore
import Foundation
import Testing

/// BAI2 files written from the specification (Cash Management Balance Reporting Specifications,
/// version 2): two accounts in two currencies, continuation records, the funds types that add
/// fields, a debit, and every control total and record count; then the files that must be
/// refused whole, each with its line.
@Suite("Bank files: BAI2")
struct BAI2Tests {
    static let file = """
        01,BANKID,DUNLIN,261130,0800,1,,,2/
        02,DUNLIN,BANKID,1,261129,2400,USD,2/
        03,123456789,USD,010,500000,,,015,750000,,/
        16,165,150000,0,REF001,CUST1,PAYMENT FROM GLOBE RETAIL, INV 1001/1002
        88,AND INV-1003
        16,195,100000,V,261130,,REF002,,WIRE ACME CORP
        16,475,25000,,REF003,,CHECK PAID
        49,1525000,6/
        03,987654321,EUR,010,100000,,/
        16,175,5000,S,1000,2000,2000,,,SEPA CREDIT
        49,105000,3/
        98,1630000,2,11/
        99,1630000,1,13/
        """

    static func read(_ text: String) throws(DomainError) -> [BankReceipt] { try BAI2.receipts(Data(text.utf8)) }

    @Test func everyTransactionOfEveryAccountIsAReceiptWithItsCurrencyDateAndText() throws {
        let receipts = try Self.read(Self.file)
        #expect(receipts.count == 4)
        let first = receipts[0]
        #expect(first.account == "123456789")
        #expect(first.amount == Money(minorUnits: 150_000, currency: Currency(code: "USD")!))
        #expect(first.direction == .credit)
        #expect(first.bookingDate == CivilDate("2026-11-29"))
        #expect(first.bankReference == "REF001")
        #expect(first.remittance == "PAYMENT FROM GLOBE RETAIL, INV 1001/1002 AND INV-1003", "commas, slashes and the 88 continuation kept")
        #expect(first.line == 4)
        #expect(receipts[1].valueDate == CivilDate("2026-11-30"), "funds type V carries a value date")
        #expect(receipts[1].remittance == "WIRE ACME CORP")
        #expect(receipts[2].direction == .debit, "type 475 is a debit")
        #expect(receipts[3].amount == Money(minorUnits: 5_000, currency: Currency(code: "EUR")!), "the 03's currency overrides the group's")
        #expect(receipts[3].remittance == "SEPA CREDIT", "funds type S's three amounts are not the text")
        #expect(Set(receipts.map(\.identity)).count == 4)
        #expect(receipts[3].identity == "bai2:987654321:2026-11-29:175:#1:5000", "no bank reference: its place in the account")
    }

    @Test("the payer's name and account are read from ACH and wire keys in a 16 record's text; free text names none")
    func payerFromKeyedText() {
        let ach = BAI2.payer(in: "ORIG CO NAME:ZENITH PAYABLES ORIG ID:9876543210 DESC DATE:261128 ENTRY DESCR:PAYMENT IND NAME:INV 1001")
        #expect(ach.name == "ZENITH PAYABLES" && ach.account == "9876543210")
        let wire = BAI2.payer(in: "ORG=/998877 ACME CORP OBI=INV 1001 REF=FW123")
        #expect(wire.name == "ACME CORP" && wire.account == "998877")
        let byOrder = BAI2.payer(in: "WIRE IN B/O: Globe Retail, Inc. REF:88231")
        #expect(byOrder.name == "Globe Retail, Inc." && byOrder.account.isEmpty)
        let free = BAI2.payer(in: "NORTHWIND TRADERS PMT INV 0010034, PORG:X")
        #expect(free.name.isEmpty && free.account.isEmpty)
        let receipt = try? BAI2.receipts(Data("""
            01,BANKID,DUNLIN,261130,0800,1,,,2/
            02,DUNLIN,BANKID,1,261129,2400,USD,2/
            03,123456789,USD,/
            16,165,150000,0,REF001,,ORIG CO NAME:ZENITH PAYABLES ORIG ID:
            88,9876543210 ENTRY DESCR:PAYMENT
            49,150000,4/
            98,150000,1,6/
            99,150000,1,8/
            """.utf8)).first
        #expect(receipt?.payerName == "ZENITH PAYABLES" && receipt?.payerAccount == "9876543210", "across a continuation record")
    }

    @Test func theSameFileReadTwiceNamesTheSameReceipts() throws {
        #expect(try Self.read(Self.file).map(\.identity) == (try Self.read(Self.file).map(\.identity)))
    }

    @Test func aByteOrderMarkAndMixedLineEndsAreAccepted() throws {
        let lines = Self.file.split(separator: "\n").map(String.init)
        var text = "\u{FEFF}"
        for (index, line) in lines.enumerated() { text += line + ["\r\n", "\n", "\r"][index % 3] }
        #expect(try Self.read(text).map(\.identity) == (try Self.read(Self.file).map(\.identity)))
    }

    @Test("a file that does not add up is refused whole, naming the line", arguments: [
        ("16,165,150000,0,REF001", "16,165,1500.00,0,REF001", "line 4: amount \"1500.00\" has a decimal point"),
        ("49,1525000,6/", "49,1525000,5/", "line 8: account 123456789's 49 says 5 records; it has 6"),
        ("49,1525000,6/", "49,1525001,6/", "line 8: account 123456789's control total 1525001 is not the sum of its amounts, 1525000"),
        ("98,1630000,2,11/", "98,1630000,2,12/", "line 12: the group's 98 counts 2 accounts and 12 records"),
        ("99,1630000,1,13/", "99,1630001,1,13/", "line 13: the file's control total 1630001"),
        ("03,987654321,EUR,", "03,987654321,XXX,", "line 9: currency \"XXX\" is not an ISO 4217 code"),
        ("16,475,25000,,REF003", "16,47,25000,,REF003", "line 7: type code \"47\" of a 16 record is not three digits"),
        ("16,195,100000,V,261130", "16,195,100000,V,261340", "line 6: value date \"261340\" is not YYMMDD"),
        ("16,175,5000,S", "16,175,5000,Q", "line 10: funds type \"Q\""),
    ])
    func refused(original: String, replacement: String, message: String) {
        expectRefusal(of: Self.file, replacing: original, with: replacement, message: message) { text throws(DomainError) in try Self.read(text) }
    }

    @Test func aTruncatedFileIsRefused() {
        let text = Self.file.split(separator: "\n").dropLast(2).joined(separator: "\n")
        #expect(throws: DomainError.invalid(field: "file", "line 11: the file ends without its 99 file trailer (truncated?)")) { try Self.read(text) }
        #expect(throws: DomainError.self) { try Self.read("88,CONTINUES NOTHING\n") }
        #expect(throws: DomainError.self) { try Self.read("") }
        #expect(throws: DomainError.self) { try Self.read("<?xml version=\"1.0\"?>\n") }
    }
}
