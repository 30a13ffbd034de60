import DunlinCore
import Foundation
internal import SWXMLHash

/// ISO 20022 camt.053 (bank-to-customer statement) and camt.054 (debit and credit notification)
/// read into ``BankReceipt``s, versions .001.02 and later: elements are found by their local
/// names, whatever the namespace and its version. The XML goes through SWXMLHash (Foundation's
/// parser underneath), never by hand.
///
/// Refused before parsing: a file over ``BankFileFormat/maximumFileBytes``; any `<!DOCTYPE` or
/// `<!ENTITY` (case-insensitive), so no entity is ever expanded or fetched; a UTF-16 or UTF-32
/// document (a byte scan could not see those declarations in it). Refused when parsing: XML that
/// is not well-formed (a truncated file names the element it ends inside), a message other than
/// `BkToCstmrStmt` or `BkToCstmrDbtCdtNtfctn`, and the other one of the two when a format was asked.
///
/// Each statement (`Stmt`, or `Ntfctn` in a camt.054) names its account by `Acct/Id/IBAN` or
/// `Acct/Id/Othr/Id`. Only booked entries (`Sts` `BOOK`, or `Sts/Cd` `BOOK` from .001.08 on)
/// become receipts, in camt.054 too: a pending (`PDNG`) credit can still be withdrawn, and the
/// booked one arrives later (in the statement, under the same identity). An entry (`Ntry`) with
/// none or one `TxDtls` is one receipt of the entry's amount; a batched entry is one receipt per
/// `TxDtls`, of the transaction's own amount in the entry's currency: `TxDtls/Amt`, else
/// `AmtDtls/TxAmt/Amt` (.001.02 has only that), else `AmtDtls/CntrValAmt/Amt` or
/// `AmtDtls/InstdAmt/Amt`, the first in the entry's currency (an instructed amount in another
/// currency is passed over); the transactions must add up to the entry, with their own
/// `CdtDbtInd` where they give one.
///
/// - Amounts are decimal text converted exactly to minor units (never through floating point); more
///   decimals than the currency has, or an unknown currency, is refused.
/// - Direction: `CdtDbtInd`, turned over by `RvslInd` `true`: a reversed credit is money out, a
///   reversed debit money in (the original booking's indicator with the reversal flag, as in
///   MT940's `RC` and `RD`).
/// - Dates: `BookgDt` and `ValDt`, each `Dt` or `DtTm` (the date as written); a booked entry without
///   a booking date takes its value date, and one with neither is refused.
/// - References: `bankReference` is `Refs/AcctSvcrRef` of the transaction, else the entry's
///   `AcctSvcrRef`; `endToEndID` is `Refs/EndToEndId` unless `NOTPROVIDED`.
/// - The counterparty of a credit (by its `CdtDbtInd`) is the debtor, of a debit the creditor:
///   `RltdPties/Dbtr/Nm`, or `Dbtr/Pty/Nm` from .001.08 on, else the ultimate debtor; its account
///   `DbtrAcct/Id/IBAN` or `DbtrAcct/Id/Othr/Id`.
/// - Remittance: the `RmtInf/Ustrd` lines joined by a space, then `Strd/AddtlRmtInf`; when there
///   is none, `AddtlTxInf`, else the entry's `AddtlNtryInf`. `creditorReferences` are the
///   `Strd/CdtrRefInf/Ref`s and the `Strd/RfrdDocInf/Nb`s (the invoice numbers the payer cited).
/// - `typeCode`: `BkTxCd/Domn` as `PMNT/RCDT/ESCT`, else `BkTxCd/Prtry/Cd`; the transaction's, else the entry's.
/// - `line`: the line the entry's `<Ntry>` start tag is on, found by scanning the bytes for
///   start tags (SWXMLHash keeps no positions).
///
/// A camt.053 statement with an opening (`OPBD`, or `PRCD`) and a closing (`CLBD`) booked balance
/// must add up: the opening plus its booked credits minus its booked debits is the closing, else
/// the file is refused naming the statement and its line.
///
/// Identity, the same for a credit notified in a camt.054 and then reported in the day's
/// camt.053: `camt:<account>:<reference>:<C or D>:<minor units><currency>`, where the reference
/// is the transaction's `Refs/AcctSvcrRef`; else the entry's `AcctSvcrRef` (with `/<n>`, the
/// transaction's place, in a batched entry); else `TxId:<Refs/TxId>`. With none of them, the
/// reference is the booking date, the end-to-end id (never `NOTPROVIDED`) and a hash of the payer
/// and remittance. Two receipts of one file that would share an identity are told apart by `#2`,
/// `#3` in file order.
public enum Camt {
    /// The receipts of a camt.053 or camt.054 document, the format told by its message element;
    /// with `expected` (`camt053` or `camt054`), a document of the other kind is refused.
    public static func receipts(_ data: Data, as expected: BankFileFormat? = nil) throws(DomainError) -> [BankReceipt] {
        try BankFileFormat.checkSize(data.count)
        try refuseDeclarations(data)
        let tags = CamtTags(data)
        let xml = XMLHash.config { options in
            options.shouldProcessNamespaces = true
            options.detectParsingErrors = true
        }.parse(data)
        if case .parsingError(let error) = xml {
            if let mismatch = tags.mismatch {
                throw .bankFile(line: mismatch.line, "</\(mismatch.name)> closes <\(mismatch.open.name)> opened on line \(mismatch.open.line)")
            }
            try tags.refuseUnclosed()
            throw .bankFile(line: max(error.line, 1), "the document is not well-formed XML (column \(error.column))")
        }
        try tags.refuseUnclosed()
        var root = xml.children.first
        if root?.element?.name == "Document" { root = root?.children.first }
        guard let message = root, let name = message.element?.name else {
            throw .bankFile(line: 1, "the document holds no camt message")
        }
        let format: BankFileFormat
        let reportName: String
        switch name {
        case "BkToCstmrStmt": (format, reportName) = (.camt053, "Stmt")
        case "BkToCstmrDbtCdtNtfctn": (format, reportName) = (.camt054, "Ntfctn")
        default: throw .bankFile(line: 1, "<\(name)> is not a camt.053 statement (BkToCstmrStmt) or camt.054 notification (BkToCstmrDbtCdtNtfctn)")
        }
        if let expected, expected != .auto, expected != format {
            throw .bankFile(line: 1, "the document is a \(format.rawValue), not a \(expected.rawValue)")
        }
        var reader = Reader(format: format, tags: tags)
        for (index, report) in message[reportName].all.enumerated() {
            try reader.read(report, line: tags.line(of: reportName, index))
        }
        return reader.finish()
    }

    /// Refuses what could make the parser expand or fetch anything: a DOCTYPE or an ENTITY
    /// declaration anywhere, and encodings whose bytes would hide one from this scan.
    static func refuseDeclarations(_ data: Data) throws(DomainError) {
        if data.prefix(4).contains(0) || data.starts(with: [0xFE, 0xFF]) || data.starts(with: [0xFF, 0xFE]) {
            throw .bankFile(line: 1, "the document is UTF-16 or UTF-32; camt files are read in UTF-8")
        }
        for (declaration, name) in [("<!doctype", "a DOCTYPE"), ("<!entity", "an ENTITY")] {
            if let offset = find(declaration, in: data) {
                let line = data.prefix(offset).reduce(1) { $0 + ($1 == 0x0A ? 1 : 0) }
                throw .bankFile(line: line, "the document has \(name) declaration; bank files with DTDs or entities are refused (nothing is expanded or fetched)")
            }
        }
    }

    /// The offset of an ASCII needle in the bytes, ignoring ASCII case.
    private static func find(_ needle: String, in data: Data) -> Int? {
        let pattern = Array(needle.utf8)
        return data.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) -> Int? in
            guard bytes.count >= pattern.count else { return nil }
            var offset = 0
            while offset <= bytes.count - pattern.count {
                if bytes[offset] == pattern[0] {
                    var index = 1
                    while index < pattern.count, bytes[offset + index] | 0x20 == pattern[index] | 0x20 { index += 1 }
                    if index == pattern.count { return offset }
                }
                offset += 1
            }
            return nil
        }
    }
}

extension Camt {
    /// A camt amount: `<Amt Ccy="EUR">1234.50</Amt>`, as signed minor units with its currency.
    struct Amount {
        var minor: Int128
        var currency: Currency
    }

    /// One receipt before its identity is settled.
    struct Pending {
        var receipt: BankReceipt
        var reference: String
    }

    struct Reader {
        let format: BankFileFormat
        let tags: CamtTags
        var entryIndex = 0
        var pending: [Pending] = []

        init(format: BankFileFormat, tags: CamtTags) {
            self.format = format
            self.tags = tags
        }

        /// A statement or notification: its account, its entries, and (camt.053) its balances.
        mutating func read(_ report: XMLIndexer, line: Int) throws(DomainError) {
            let statement = report.value("Id") ?? "(no Id)"
            guard let account = report.value("Acct", "Id", "IBAN") ?? report.value("Acct", "Id", "Othr", "Id") else {
                throw .bankFile(line: line, "statement \(statement) names no account (Acct/Id/IBAN or Acct/Id/Othr/Id)")
            }
            var booked: [Amount] = []
            for entry in report["Ntry"].all {
                let entryLine = tags.line(of: "Ntry", entryIndex)
                entryIndex += 1
                if let amount = try self.entry(entry, account: account, line: entryLine) { booked.append(amount) }
            }
            if format == .camt053 { try checkBalances(report, booked: booked, statement: statement, line: line) }
        }

        func finish() -> [BankReceipt] {
            var seen: [String: Int] = [:]
            return pending.map { item in
                var receipt = item.receipt
                let base = "camt:\(receipt.account):\(item.reference):\(receipt.direction == .credit ? "C" : "D"):\(receipt.amount.minorUnits)\(receipt.amount.currency.code)"
                let count = (seen[base] ?? 0) + 1
                seen[base] = count
                receipt.identity = count == 1 ? base : "\(base)#\(count)"
                return receipt
            }
        }

        /// Reads one entry into its receipts, and answers its signed booked amount (nil when not booked).
        private mutating func entry(_ entry: XMLIndexer, account: String, line: Int) throws(DomainError) -> Amount? {
            let status = entry.value("Sts", "Cd") ?? entry.value("Sts") ?? entry.value("Sts", "Prtry")
            guard let status else { throw .bankFile(line: line, "an entry without a status (Sts)") }
            guard status.uppercased() == "BOOK" else { return nil }
            let amount = try Camt.amount(entry["Amt"], line: line, what: "the entry's amount")
            let credit = try Camt.credit(entry, line: line)
            let reversed = ["true", "1"].contains(entry.value("RvslInd")?.lowercased() ?? "")
            let valueDate = try Camt.date(entry["ValDt"], line: line)
            guard let bookingDate = try Camt.date(entry["BookgDt"], line: line) ?? valueDate else {
                throw .bankFile(line: line, "a booked entry without a booking or value date")
            }
            let context = EntryContext(
                account: account, line: line, amount: amount, credit: credit, reversed: reversed, bookingDate: bookingDate,
                valueDate: valueDate, reference: entry.value("AcctSvcrRef") ?? "",
                typeCode: Camt.typeCode(entry["BkTxCd"]), note: entry.value("AddtlNtryInf") ?? ""
            )
            let transactions = entry["NtryDtls"].all.flatMap { $0["TxDtls"].all }
            if transactions.count <= 1 {
                try add(transactions.first, amount: amount, credit: credit, position: nil, context)
            } else {
                var sum: Int128 = 0
                for (index, transaction) in transactions.enumerated() {
                    let own = try Camt.transactionAmount(transaction, currency: amount.currency, line: line, position: index + 1)
                    let ownCredit = transaction["CdtDbtInd"].element == nil ? credit : try Camt.credit(transaction, line: line)
                    sum += ownCredit == credit ? own.minor : -own.minor
                    try add(transaction, amount: own, credit: ownCredit, position: index + 1, context)
                }
                guard sum == amount.minor else {
                    throw .bankFile(line: line, "the entry's \(transactions.count) transactions add up to \(sum), not the entry's amount \(amount.minor) (minor units of \(amount.currency.code))")
                }
            }
            return Amount(minor: credit != reversed ? amount.minor : -amount.minor, currency: amount.currency)
        }

        /// What every receipt of one entry shares.
        struct EntryContext {
            var account: String
            var line: Int
            var amount: Amount
            var credit: Bool
            var reversed: Bool
            var bookingDate: CivilDate
            var valueDate: CivilDate?
            var reference: String
            var typeCode: String?
            var note: String
        }

        private mutating func add(_ transaction: XMLIndexer?, amount: Amount, credit: Bool, position: Int?, _ entry: EntryContext) throws(DomainError) {
            let details = transaction ?? XMLIndexer.xmlError(.error)
            let endToEnd = details.value("Refs", "EndToEndId").flatMap { $0.uppercased() == "NOTPROVIDED" ? nil : $0 } ?? ""
            let ownReference = details.value("Refs", "AcctSvcrRef")
            let bankReference = ownReference ?? entry.reference
            let parties = details["RltdPties"]
            let role = credit ? "Dbtr" : "Cdtr"
            let payerName = parties.value(role, "Nm") ?? parties.value(role, "Pty", "Nm") ?? parties.value("Ultmt\(role)", "Nm")
                ?? parties.value("Ultmt\(role)", "Pty", "Nm") ?? ""
            let payerAccount = parties.value("\(role)Acct", "Id", "IBAN") ?? parties.value("\(role)Acct", "Id", "Othr", "Id") ?? ""
            let remittance = details["RmtInf"]
            let structured = remittance["Strd"].all
            var text = (remittance["Ustrd"].all.compactMap { $0.element?.text.trimmed } + structured.compactMap { $0.value("AddtlRmtInf") })
                .filter { !$0.isEmpty }.joined(separator: " ")
            if text.isEmpty { text = details.value("AddtlTxInf") ?? entry.note }
            var references: [String] = []
            for item in structured {
                for reference in item["CdtrRefInf"].all.compactMap({ $0.value("Ref") }) + item["RfrdDocInf"].all.compactMap({ $0.value("Nb") })
                where !references.contains(reference) {
                    references.append(reference)
                }
            }
            let money = try Camt.money(amount, line: entry.line)
            let direction: ReceiptDirection = credit != entry.reversed ? .credit : .debit
            let identityReference: String
            if let ownReference {
                identityReference = ownReference
            } else if !entry.reference.isEmpty {
                identityReference = entry.reference + (position.map { "/\($0)" } ?? "")
            } else if let transactionID = details.value("Refs", "TxId") {
                identityReference = "TxId:\(transactionID)"
            } else {
                identityReference = "\(entry.bookingDate):\(endToEnd):\(Camt.digest(payerName + "\n" + payerAccount + "\n" + text))"
            }
            pending.append(Pending(
                receipt: BankReceipt(
                    identity: "", format: format.rawValue, account: entry.account, amount: money, direction: direction,
                    bookingDate: entry.bookingDate, valueDate: entry.valueDate, typeCode: Camt.typeCode(details["BkTxCd"]) ?? entry.typeCode ?? "",
                    bankReference: bankReference, endToEndID: endToEnd, payerName: payerName, payerAccount: payerAccount, remittance: text,
                    creditorReferences: references, line: entry.line
                ),
                reference: identityReference
            ))
        }

        /// Opening (OPBD or PRCD) plus the booked entries must be the closing (CLBD), when both are given.
        private func checkBalances(_ report: XMLIndexer, booked: [Amount], statement: String, line: Int) throws(DomainError) {
            var opening: Amount?
            var closing: Amount?
            for balance in report["Bal"].all {
                let code = balance.value("Tp", "CdOrPrtry", "Cd")?.uppercased()
                guard code == "OPBD" || code == "PRCD" || code == "CLBD" else { continue }
                var amount = try Camt.amount(balance["Amt"], line: line, what: "the \(code ?? "") balance")
                if try !Camt.credit(balance, line: line) { amount.minor = -amount.minor }
                if code == "CLBD" { closing = amount } else if opening == nil { opening = amount }
            }
            guard let opening, let closing else { return }
            guard opening.currency == closing.currency else {
                throw .bankFile(line: line, "statement \(statement): the opening balance is in \(opening.currency.code), the closing balance in \(closing.currency.code)")
            }
            if let foreign = booked.first(where: { $0.currency != opening.currency }) {
                throw .bankFile(line: line, "statement \(statement): an entry in \(foreign.currency.code) on a statement in \(opening.currency.code)")
            }
            let sum = booked.reduce(Int128(0)) { $0 + $1.minor }
            guard opening.minor + sum == closing.minor else {
                throw .bankFile(
                    line: line, "statement \(statement): the opening balance \(opening.minor) plus the booked entries (\(sum)) is \(opening.minor + sum), not the closing balance \(closing.minor) (minor units of \(closing.currency.code))"
                )
            }
        }
    }

    /// `CRDT` or `DBIT` of the element's `CdtDbtInd`.
    static func credit(_ element: XMLIndexer, line: Int) throws(DomainError) -> Bool {
        switch element.value("CdtDbtInd")?.uppercased() {
        case "CRDT": return true
        case "DBIT": return false
        case let other: throw .bankFile(line: line, "credit-debit indicator \"\(other ?? "")\" is not CRDT or DBIT")
        }
    }

    /// The amount of an `Amt` element: `Ccy` a currency Dunlin knows, the text digits with at most
    /// the currency's decimals after a point.
    static func amount(_ element: XMLIndexer, line: Int, what: String) throws(DomainError) -> Amount {
        guard let node = element.element else { throw .bankFile(line: line, "\(what) is missing") }
        let code = node.attribute(by: "Ccy")?.text ?? ""
        guard let currency = Currency(code: code) else { throw .bankFile(line: line, "currency \"\(code)\" of \(what) is not an ISO 4217 code Dunlin knows") }
        let text = node.text.trimmed
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), !parts[0].isEmpty, parts[0].count <= 18, parts.count == 1 || !parts[1].isEmpty,
            text.allSatisfy({ $0 == "." || ($0.isASCII && $0.isNumber) })
        else {
            throw .bankFile(line: line, "\(what) \"\(text)\" is not a decimal amount")
        }
        let fraction = parts.count == 2 ? String(parts[1]) : ""
        guard fraction.count <= currency.exponent else {
            throw .bankFile(line: line, "\(what) \"\(text)\" has \(fraction.count) decimals; \(currency.code) has \(currency.exponent)")
        }
        guard let minor = Int128(String(parts[0]) + fraction.padding(toLength: currency.exponent, withPad: "0", startingAt: 0)) else {
            throw .bankFile(line: line, "\(what) \"\(text)\" is not a decimal amount")
        }
        return Amount(minor: minor, currency: currency)
    }

    /// A batched transaction's own amount in the entry's currency.
    static func transactionAmount(_ transaction: XMLIndexer, currency: Currency, line: Int, position: Int) throws(DomainError) -> Amount {
        let candidates = [
            transaction["Amt"], transaction["AmtDtls"]["TxAmt"]["Amt"], transaction["AmtDtls"]["CntrValAmt"]["Amt"], transaction["AmtDtls"]["InstdAmt"]["Amt"],
        ]
        for candidate in candidates where candidate.element?.attribute(by: "Ccy")?.text.uppercased() == currency.code {
            return try amount(candidate, line: line, what: "transaction \(position)'s amount")
        }
        throw .bankFile(line: line, "transaction \(position) of the batched entry gives no amount of its own in \(currency.code) (TxDtls/Amt or AmtDtls/TxAmt/Amt)")
    }

    static func money(_ amount: Amount, line: Int) throws(DomainError) -> Money {
        guard let units = Int64(exactly: amount.minor), units <= Money.maximumMinorUnits else {
            throw .bankFile(line: line, "amount \(amount.minor) is above the largest amount Dunlin keeps")
        }
        return Money(minorUnits: units, currency: amount.currency)
    }

    /// `Dt`, or the date part of `DtTm`, as written.
    static func date(_ element: XMLIndexer, line: Int) throws(DomainError) -> CivilDate? {
        guard element.element != nil else { return nil }
        guard let text = element.value("Dt") ?? element.value("DtTm").map({ String($0.prefix(10)) }) else { return nil }
        guard let date = CivilDate(text) else { throw .bankFile(line: line, "date \"\(text)\" is not YYYY-MM-DD") }
        return date
    }

    /// `Domn/Cd`, `Domn/Fmly/Cd`, `Domn/Fmly/SubFmlyCd` as `PMNT/RCDT/ESCT`, else `Prtry/Cd`.
    static func typeCode(_ element: XMLIndexer) -> String? {
        if let domain = element.value("Domn", "Cd") {
            return [domain, element.value("Domn", "Fmly", "Cd"), element.value("Domn", "Fmly", "SubFmlyCd")].compactMap { $0 }.joined(separator: "/")
        }
        return element.value("Prtry", "Cd")
    }

    /// FNV-1a, 64 bits, as hex: a short stable stand-in for text in an identity.
    static func digest(_ text: String) -> String {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01B3
        }
        return String(hash, radix: 16)
    }
}

extension XMLIndexer {
    /// The trimmed text of the first element down this path of local names, nil when missing or blank.
    func value(_ path: String...) -> String? {
        var node = self
        for key in path {
            guard let first = node.all.first else { return nil }
            node = first[key]
        }
        guard let text = node.all.first?.element?.text.trimmed, !text.isEmpty else { return nil }
        return text
    }
}

extension String {
    fileprivate var trimmed: String { trimmingCharacters(in: .whitespacesAndNewlines) }
}

/// The start tags of a camt document with their lines, found by scanning the bytes, since the
/// parser keeps no positions: which line each `Stmt`, `Ntfctn` and `Ntry` starts on (the k-th in
/// the document is the k-th the parser gives), the number of lines, the elements left open at
/// the end of a truncated file, and the first end tag that closes the wrong element: the lines a
/// refusal names when the parser, which gives none on Linux, finds the XML not well-formed. Comments, CDATA, processing instructions and quoted attribute
/// values are passed over. Line ends are `\n`, `\r\n` or a lone `\r`.
struct CamtTags {
    private(set) var starts: [String: [Int]] = [:]
    private(set) var unclosed: [(name: String, line: Int)] = []
    /// The first end tag that does not close the element open before it.
    private(set) var mismatch: (name: String, line: Int, open: (name: String, line: Int))?
    private(set) var lines = 1

    static let recorded: Set<String> = ["Stmt", "Ntfctn", "Ntry"]
    /// Comments, CDATA sections and processing instructions: passed over to their end.
    static let skipped: [(open: [UInt8], close: [UInt8])] = [
        (Array("<!--".utf8), Array("-->".utf8)), (Array("<![CDATA[".utf8), Array("]]>".utf8)), (Array("<?".utf8), Array("?>".utf8)),
    ]

    init(_ data: Data) {
        let bytes = [UInt8](data)
        var index = 0
        var line = 1
        func advance(to end: Int) {
            while index < min(end, bytes.count) {
                if bytes[index] == 0x0A || (bytes[index] == 0x0D && (index + 1 >= bytes.count || bytes[index + 1] != 0x0A)) { line += 1 }
                index += 1
            }
        }
        func skip(past terminator: [UInt8]) {
            var end = index
            while end < bytes.count, !bytes[end...].starts(with: terminator) { end += 1 }
            advance(to: end + terminator.count)
        }
        while index < bytes.count {
            guard bytes[index] == UInt8(ascii: "<") else {
                advance(to: index + 1)
                continue
            }
            let rest = bytes[index...]
            if let skipped = Self.skipped.first(where: { rest.starts(with: $0.open) }) {
                skip(past: skipped.close)
                continue
            }
            let tagLine = line
            let closing = rest.dropFirst().first == UInt8(ascii: "/")
            var nameEnd = index + (closing ? 2 : 1)
            let nameStart = nameEnd
            while nameEnd < bytes.count, ![0x20, 0x09, 0x0A, 0x0D, UInt8(ascii: ">"), UInt8(ascii: "/")].contains(bytes[nameEnd]) { nameEnd += 1 }
            let qualified = String(decoding: bytes[nameStart..<nameEnd], as: UTF8.self)
            let name = qualified.split(separator: ":").last.map(String.init) ?? qualified
            // To the tag's end, passing over quoted attribute values.
            var end = nameEnd
            var quote: UInt8?
            while end < bytes.count {
                let byte = bytes[end]
                if let open = quote { if byte == open { quote = nil } } else if byte == 0x22 || byte == 0x27 { quote = byte } else if byte == UInt8(ascii: ">") { break }
                end += 1
            }
            let selfClosing = end > 0 && end < bytes.count && bytes[end - 1] == UInt8(ascii: "/")
            advance(to: end + 1)
            if end >= bytes.count { unclosed.append((name, tagLine)); break }
            if closing {
                if let open = unclosed.last, open.name != name, mismatch == nil { mismatch = (name, tagLine, open) }
                if unclosed.last?.name == name { unclosed.removeLast() }
            } else {
                if Self.recorded.contains(name) { starts[name, default: []].append(tagLine) }
                if !selfClosing { unclosed.append((name, tagLine)) }
            }
        }
        lines = line
    }

    /// Refuses a document that ends inside an element (a truncated file), naming the innermost.
    func refuseUnclosed() throws(DomainError) {
        if let open = unclosed.last {
            throw .bankFile(line: lines, "the document ends inside <\(open.name)> opened on line \(open.line) (truncated?)")
        }
    }

    /// The line the k-th (0-based) element of this name starts on; 1 when the scan saw fewer.
    func line(of name: String, _ index: Int) -> Int {
        let lines = starts[name] ?? []
        return index < lines.count ? lines[index] : 1
    }
}
