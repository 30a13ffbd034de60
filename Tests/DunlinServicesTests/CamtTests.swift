import DunlinCore
import DunlinServices
import Foundation
import Testing

/// camt.053 and camt.054 files written from the ISO 20022 message definitions (in
/// Tests/Fixtures/bankfiles): a .001.02 statement with two accounts, a structured reference, a
/// batched entry whose first transaction was instructed in another currency, NOTPROVIDED
/// end-to-end ids, a reversal, a pending entry and a debit; a .001.08 statement with a namespace
/// prefix, `Sts/Cd`, `Dbtr/Pty/Nm` and `TxDtls/Amt`; a camt.054 notifying credits the statement
/// reports again. Then the files that must be refused, each with its error.
@Suite("Bank files: camt.053 and camt.054")
struct CamtTests {
    static func fixture(_ name: String) -> Data {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/bankfiles/\(name)")
        return (try? Data(contentsOf: url)) ?? Data()
    }

    static let statement = fixture("camt053-v02.xml")
    static let statementV08 = fixture("camt053-v08.xml")
    static let notification = fixture("camt054-v02.xml")
    static func eur(_ minor: Int64) -> Money { Money(minorUnits: minor, currency: Currency("EUR")) }

    @Test func everyBookedEntryAndEveryTransactionOfABatchIsAReceipt() throws {
        let receipts = try Camt.receipts(Self.statement)
        #expect(receipts.map(\.amount.minorUnits) == [1_500_00, 1_000_00, 750_00, 500_00, 300_00, 125_50, 80_00, 80_00])
        #expect(receipts.allSatisfy { $0.format == "camt053" })
        let first = receipts[0]
        #expect(first.account == "DE89370400440532013000")
        #expect(first.amount == Self.eur(1_500_00))
        #expect(first.direction == .credit)
        #expect(first.bookingDate == CivilDate("2026-11-29"))
        #expect(first.valueDate == CivilDate("2026-11-30"))
        #expect(first.bankReference == "2026112900001")
        #expect(first.endToEndID == "E2E-GLOBE-77")
        #expect(first.payerName == "Globe Retail GmbH")
        #expect(first.payerAccount == "DE02120300000000202051")
        #expect(first.creditorReferences == ["RF18539007547034", "INV-2001"], "CdtrRefInf/Ref and RfrdDocInf/Nb")
        #expect(first.typeCode == "PMNT/RCDT/ESCT")
        #expect(first.line == 28, "the line of its <Ntry>")
        #expect(first.identity == "camt:DE89370400440532013000:2026112900001:C:150000EUR")
    }

    @Test func aBatchedEntrysTransactionsCarryTheirOwnAmountPayerAndRemittance() throws {
        let batch = Array(try Camt.receipts(Self.statement)[1...3])
        #expect(batch.map(\.amount) == [Self.eur(1_000_00), Self.eur(750_00), Self.eur(500_00)], "TxAmt in EUR, not the instructed USD")
        #expect(batch.map(\.endToEndID) == ["", "", ""], "NOTPROVIDED is no end-to-end id")
        #expect(batch.map(\.payerName) == ["Acme Corp", "Lucerne Verlag", ""])
        #expect(batch[0].payerAccount == "US-4455", "DbtrAcct/Id/Othr/Id")
        #expect(batch[1].remittance == "RECHNUNG 2003 UND 2004", "Ustrd lines joined")
        #expect(batch.map(\.line) == [53, 53, 53])
        #expect(batch.map(\.bankReference) == ["2026112900002", "2026112900002", "2026112900002"])
        #expect(batch.map(\.identity) == [
            "camt:DE89370400440532013000:2026112900002/1:C:100000EUR", "camt:DE89370400440532013000:2026112900002/2:C:75000EUR",
            "camt:DE89370400440532013000:2026112900002/3:C:50000EUR",
        ])
    }

    @Test func aReversedCreditIsADebitAndPendingEntriesAreNotReceipts() throws {
        let receipts = try Camt.receipts(Self.statement)
        let reversal = receipts[4]
        #expect(reversal.direction == .debit)
        #expect(reversal.remittance == "RUECKBUCHUNG GUTSCHRIFT", "AddtlNtryInf when there is no remittance")
        #expect(reversal.typeCode == "NRTI+159")
        #expect(!receipts.contains { $0.bankReference == "2026112900004" }, "PDNG")
        let debit = receipts[5]
        #expect(debit.direction == .debit)
        #expect(debit.payerName == "Office Supplies AG", "a debit's counterparty is the creditor")
    }

    @Test func severalAccountsAndReceiptsWithoutReferencesGetDistinctStableIdentities() throws {
        let receipts = try Camt.receipts(Self.statement)
        let usd = receipts.filter { $0.account == "123456789" }
        #expect(usd.count == 2)
        #expect(usd.allSatisfy { $0.amount == Money(minorUnits: 80_00, currency: .usd) && $0.bookingDate == CivilDate("2026-11-29") })
        #expect(usd[0].identity != usd[1].identity)
        #expect(usd[1].identity == usd[0].identity + "#2")
        #expect(Set(receipts.map(\.identity)).count == receipts.count)
        #expect(try Camt.receipts(Self.statement).map(\.identity) == receipts.map(\.identity), "read twice, the same identities")
    }

    @Test func aNewerVersionWithANamespacePrefixStatusCodesAndPartyNames() throws {
        let receipts = try Camt.receipts(Self.statementV08)
        #expect(receipts.map(\.amount.minorUnits) == [1_000_00, 205_25, 50_00])
        #expect(receipts.map(\.direction) == [.credit, .credit, .debit])
        #expect(receipts[0].payerName == "Alpen Hotel AG", "Dbtr/Pty/Nm")
        #expect(receipts[0].endToEndID == "INV-3001")
        #expect(receipts[0].bankReference == "ZKB-8841-1", "the transaction's own AcctSvcrRef")
        #expect(receipts[0].bookingDate == CivilDate("2026-11-29"), "BookgDt/DtTm")
        #expect(receipts[1].payerName == "Berg & Tal GmbH")
        #expect(receipts[1].remittance == "Rechnung 3002")
        #expect(receipts[2].typeCode == "ACMT/MDOP/CHRG")
        #expect(receipts.map(\.identity) == [
            "camt:CH9300762011623852957:ZKB-8841-1:C:100000CHF", "camt:CH9300762011623852957:ZKB-8841-2:C:20525CHF",
            "camt:CH9300762011623852957:ZKB-8842:D:5000CHF",
        ])
        #expect(receipts.map(\.line) == [17, 17, 45])
    }

    @Test func aCreditNotifiedByACamt054AndReportedByTheCamt053HasOneIdentity() throws {
        let notified = try Camt.receipts(Self.notification)
        #expect(notified.allSatisfy { $0.format == "camt054" })
        #expect(notified.count == 4, "the pending credit is not a receipt")
        let stated = try Camt.receipts(Self.statement)
        #expect(notified.map(\.identity) == Array(stated.prefix(4).map(\.identity)))
        #expect(notified[0].payerName == stated[0].payerName)
    }

    @Test func aByteOrderMarkAndCRLFLineEndsAreAccepted() throws {
        let text = String(decoding: Self.statement, as: UTF8.self)
        let crlf = Data(("\u{FEFF}" + text.replacingOccurrences(of: "\n", with: "\r\n")).utf8)
        let receipts = try Camt.receipts(crlf)
        #expect(receipts.map(\.identity) == (try Camt.receipts(Self.statement)).map(\.identity))
        #expect(receipts.map(\.line) == (try Camt.receipts(Self.statement)).map(\.line))
    }

    @Test func theFormatIsDetectedFromTheRootElementAndAMismatchIsRefused() throws {
        #expect(BankFileFormat.detect(Self.statement) == .camt053)
        #expect(BankFileFormat.detect(Self.statementV08) == .camt053)
        #expect(BankFileFormat.detect(Self.notification) == .camt054)
        #expect(try BankFileReader.receipts(Self.notification).format == .camt054)
        #expect(BankFileFormat.detect(Data("\u{FEFF}\r\n  \(String(decoding: Self.statement, as: UTF8.self))".utf8)) == .camt053)
        #expect(BankFileFormat.detect(Data("<html><body>hello</body></html>".utf8)) == nil)
        #expect(BankFileFormat.detect(Data("hello, world".utf8)) == nil)
        #expect(BankFileFormat.detect(Data()) == nil)
        #expect(throws: DomainError.invalid(field: "format", "the file is not BAI2, camt.053, camt.054, MT940 or a lockbox file by its first bytes; name its --format")) {
            try BankFileReader.receipts(Data("hello, world".utf8))
        }
        #expect(throws: DomainError.outOfRange(field: "file", "the file is 268435457 bytes; a bank file is at most 268435456")) {
            try BankFileFormat.checkSize(BankFileFormat.maximumFileBytes + 1)
        }
        #expect(throws: DomainError.self) { try BankFileReader.receipts(Self.statement, format: .mt940) }
        #expect(throws: DomainError.bankFile(line: 1, "the document is a camt054, not a camt053")) {
            try Camt.receipts(Self.notification, as: .camt053)
        }
    }

    static func refusal(_ data: Data) -> String {
        do {
            _ = try Camt.receipts(data)
            return "accepted"
        } catch {
            return "\(error)"
        }
    }

    static func edited(_ original: String, _ replacement: String, in data: Data = statement) -> Data {
        let text = String(decoding: data, as: UTF8.self)
        let edited = text.replacingOccurrences(of: original, with: replacement)
        precondition(edited != text, "the edit \(original) changed nothing")
        return Data(edited.utf8)
    }

    @Test("a file that does not add up, or holds what a camt file must not, is refused whole", arguments: [
        (#"<Amt Ccy="EUR">13324.50</Amt>"#, #"<Amt Ccy="EUR">13324.51</Amt>"#,
         "file: line 8: statement STMT-EUR-20261129: the opening balance 1000000 plus the booked entries (332450) is 1332450, not the closing balance 1332451 (minor units of EUR)"),
        (#"<Amt Ccy="EUR">125.50</Amt>"#, #"<Amt Ccy="XXX">125.50</Amt>"#,
         "file: line 101: currency \"XXX\" of the entry's amount is not an ISO 4217 code Dunlin knows"),
        (#"<Amt Ccy="EUR">125.50</Amt>"#, #"<Amt Ccy="EUR">125.505</Amt>"#, "file: line 101: the entry's amount \"125.505\" has 3 decimals; EUR has 2"),
        (#"<Amt Ccy="EUR">125.50</Amt>"#, #"<Amt Ccy="EUR">1.2E2</Amt>"#, "file: line 101: the entry's amount \"1.2E2\" is not a decimal amount"),
        (#"<TxAmt><Amt Ccy="EUR">750.00</Amt>"#, #"<TxAmt><Amt Ccy="EUR">749.00</Amt>"#,
         "file: line 53: the entry's 3 transactions add up to 224900, not the entry's amount 225000 (minor units of EUR)"),
        (#"<TxAmt><Amt Ccy="EUR">1000.00</Amt></TxAmt>"#, "",
         "file: line 53: transaction 1 of the batched entry gives no amount of its own in EUR (TxDtls/Amt or AmtDtls/TxAmt/Amt)"),
        ("<CdtDbtInd>DBIT</CdtDbtInd>", "<CdtDbtInd>DEBIT</CdtDbtInd>", "file: line 101: credit-debit indicator \"DEBIT\" is not CRDT or DBIT"),
        ("<IBAN>DE89370400440532013000</IBAN>", "", "file: line 8: statement STMT-EUR-20261129 names no account"),
        ("<BkToCstmrStmt>", "<BkToCstmrAcctRpt>", "is not a camt.053 statement (BkToCstmrStmt) or camt.054 notification"),
    ])
    func refused(original: String, replacement: String, message: String) {
        let text = String(decoding: Self.statement, as: UTF8.self)
        var edited = text.replacingOccurrences(of: original, with: replacement)
        if original == "<BkToCstmrStmt>" { edited = edited.replacingOccurrences(of: "</BkToCstmrStmt>", with: "</BkToCstmrAcctRpt>") }
        #expect(edited != text)
        #expect(Self.refusal(Data(edited.utf8)).contains(message), "\(Self.refusal(Data(edited.utf8)))")
    }

    @Test func aTruncatedDocumentIsRefusedNamingWhereItEnds() {
        let lines = String(decoding: Self.statement, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        let cut = Data(lines.prefix(64).joined(separator: "\n").utf8)
        #expect(Self.refusal(cut) == "file: line 64: the document ends inside <TxDtls> opened on line 63 (truncated?)")
        let midTag = Data(String(decoding: Self.statement, as: UTF8.self).prefix(941).utf8)
        #expect(Self.refusal(midTag).hasPrefix("file: line 29: the document ends inside <Amt> opened on line 29"), "\(Self.refusal(midTag))")
        #expect(Self.refusal(Data()).hasPrefix("file: line 1:"))
        #expect(Self.refusal(Data("<Document>\n<BkToCstmrStmt>\n</Document>".utf8)) == "file: line 3: </Document> closes <BkToCstmrStmt> opened on line 2")
    }

    @Test func aFileCutAnywhereIsRefusedNeverRead() {
        let text = String(decoding: Self.statement, as: UTF8.self).trimmingCharacters(in: .newlines)
        for length in stride(from: 0, to: text.utf8.count - 1, by: 97) {
            let cut = Data(text.utf8.prefix(length))
            #expect(Self.refusal(cut).hasPrefix("file: line "), "cut after \(length) bytes")
        }
    }

    @Test func aDoctypeOrEntityDeclarationIsRefusedBeforeParsing() {
        let external = """
            <?xml version="1.0"?>
            <!DOCTYPE Document [
              <!ENTITY xxe SYSTEM "file:///etc/passwd">
            ]>
            <Document><BkToCstmrStmt><Stmt><Id>&xxe;</Id></Stmt></BkToCstmrStmt></Document>
            """
        #expect(Self.refusal(Data(external.utf8))
            == "file: line 2: the document has a DOCTYPE declaration; bank files with DTDs or entities are refused (nothing is expanded or fetched)")
        let lowercase = Self.edited("<BkToCstmrStmt>", "<!doctype x><BkToCstmrStmt>")
        #expect(Self.refusal(lowercase).hasPrefix("file: line 3: the document has a DOCTYPE declaration"))
        let entity = Self.edited("<GrpHdr>", "<!EnTiTy bomb \"lol\"><GrpHdr>")
        #expect(Self.refusal(entity).hasPrefix("file: line 4: the document has an ENTITY declaration"))
        let utf16 = Data([0xFF, 0xFE]) + String(decoding: Self.statement, as: UTF8.self).data(using: .utf16LittleEndian)!
        #expect(Self.refusal(utf16) == "file: line 1: the document is UTF-16 or UTF-32; camt files are read in UTF-8")
    }
}
