import DunlinCore
import Foundation
import Testing

/// A BAI lockbox transmission in the standard 80-column layout (Tests/Fixtures/bankfiles/lockbox.txt):
/// one lockbox, two batches (the type 5 repeated before the second), two checks with the same
/// check number from different payers, overflow records with one and two invoices each, with and
/// without amounts; then the files that must be refused, each with its line.
@Suite("Bank files: BAI lockbox")
struct LockboxTests {
    static let file: String = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/bankfiles/lockbox.txt")
        return (try? String(contentsOf: url, encoding: .utf8)) ?? ""
    }()

    static func read(_ text: String, layout: LockboxLayout = .standard) throws(DomainError) -> [BankReceipt] {
        try Lockbox.receipts(Data(text.utf8), layout: layout)
    }

    @Test func everyCheckIsACreditWithItsPayerAndTheInvoicesOfItsOverflowRecords() throws {
        let receipts = try Self.read(Self.file)
        #expect(receipts.map(\.amount) == [Money(minorUnits: 1_500_00, currency: .usd), Money(minorUnits: 250_00, currency: .usd), Money(minorUnits: 999_99, currency: .usd)])
        #expect(receipts.allSatisfy { $0.direction == .credit && $0.account == "1234567" && $0.bookingDate == CivilDate("2026-11-29") && $0.format == "lockbox" })
        let first = receipts[0]
        #expect(first.payerName == "GLOBE RETAIL INC")
        #expect(first.payerAccount == "021000021/1234567890")
        #expect(first.bankReference == "0000004711")
        #expect(first.creditorReferences == ["INV-1001", "INV-1002"])
        #expect(first.remittance == "INV-1001 1000.00; INV-1002 500.00")
        #expect(first.line == 4)
        #expect(receipts[1].creditorReferences == [], "a check without overflow records")
        #expect(receipts[2].creditorReferences == ["10003", "10004", "10005"], "two overflow records, the last invoice without an amount")
        #expect(receipts[2].remittance == "10003 500.00; 10004 499.99; 10005")
        #expect(receipts[2].payerAccount == "026009593/55501")
        #expect(receipts[2].line == 9)
    }

    @Test func aChecksIdentityIsLockboxDepositDateBatchAndItemNotItsCheckNumber() throws {
        let receipts = try Self.read(Self.file)
        #expect(receipts[0].bankReference == receipts[1].bankReference, "the same check number from two payers")
        #expect(receipts.map(\.identity) == ["lockbox:1234567:2026-11-29:1:1", "lockbox:1234567:2026-11-29:1:2", "lockbox:1234567:2026-11-29:2:1"])
        #expect(try Self.read(Self.file).map(\.identity) == receipts.map(\.identity))
    }

    @Test func aByteOrderMarkAndMixedLineEndsAreAccepted() throws {
        let lines = Self.file.split(separator: "\n").map(String.init)
        var text = "\u{FEFF}"
        for (index, line) in lines.enumerated() { text += line + ["\r\n", "\n", "\r"][index % 3] }
        #expect(try Self.read(text) == (try Self.read(Self.file)))
        #expect(BankFileFormat.detect(Data(text.utf8)) == .lockbox)
    }

    @Test func anotherBanksColumnsAreASettingThatRoundTripsAsJSON() throws {
        var layout = LockboxLayout.standard
        layout.check.remitter = nil
        layout.check.checkNumber = LockboxLayout.Columns(37, 6)
        let decoded = try JSONDecoder().decode(LockboxLayout.self, from: JSONEncoder().encode(layout))
        #expect(decoded == layout)
        let receipts = try Self.read(Self.file, layout: decoded)
        #expect(receipts[0].bankReference == "000000", "columns 37-42")
        #expect(receipts[0].payerName == "")
        var broken = layout
        broken.batchTotal.amount = LockboxLayout.Columns(0, 10)
        #expect(throws: DomainError.self) { try Self.read(Self.file, layout: broken) }
    }

    @Test("a file that does not add up is refused whole, naming the line", arguments: [
        ("700199912345672611290020000175000", "700199912345672611290020000175001", "line 7: batch 1's type 7 total 175001 is not the sum of its checks, 175000"),
        ("700199912345672611290020000175000", "700199912345672611290030000175000", "line 7: batch 1's type 7 counts 3 checks; the batch has 2"),
        ("8000000123456726112900030000274999", "8000000123456726112900030000275000", "line 13: lockbox 1234567's type 8 total 275000 is not the sum of its batches, 274999"),
        ("8000000123456726112900030000274999", "8000000123456726112900040000274999", "line 13: lockbox 1234567's type 8 counts 4 checks; the lockbox has 3"),
        ("9000014", "9000015", "line 14: the type 9 trailer counts 15 records; the file has 14 (1 through 9)"),
        ("60010020000025000", "600100200000250.0", "line 6: check amount \"00000250.0\" has a decimal point"),
        ("4002001402910005", "4002002402910005", "line 11: a type 4 overflow record of batch 2 item 2 after the check of batch 2 item 1"),
        ("700299912345672611290010000099999\n", "", "line 12: a type 8 lockbox total inside batch 2 (its type 7 total is missing)"),
        ("50020001234567261129", "50020001234567261340", "line 8: deposit date \"261340\" is not YYMMDD"),
        ("2DUNLIN", "3DUNLIN", "line 2: record type \"3\" is not a lockbox record type"),
    ])
    func refused(original: String, replacement: String, message: String) {
        expectRefusal(of: Self.file, replacing: original, with: replacement, message: message) { text throws(DomainError) in try Self.read(text) }
    }

    @Test func aTruncatedFileIsRefused() {
        let text = Self.file.split(separator: "\n").dropLast(2).joined(separator: "\n")
        #expect(throws: DomainError.bankFile(line: 12, "the file ends without its type 9 trailer (truncated?)")) { try Self.read(text) }
        #expect(throws: DomainError.bankFile(line: 1, "the file does not start with a type 1 header record")) {
            try Self.read("6001001000015000002100002112345678900000004711\n")
        }
        #expect(throws: DomainError.self) { try Self.read("") }
    }

    @Test func everyShorterPrefixOfTheFileIsRefused() {
        let text = Self.file.trimmingCharacters(in: .newlines)
        for length in 0..<text.count {
            #expect(throws: DomainError.self, "the first \(length) characters") { try Self.read(String(text.prefix(length))) }
        }
    }
}
