import Foundation

/// A BAI2 file (the Cash Management Balance Reporting Specifications, version 2) read into
/// ``BankReceipt``s: the 16 records of every account of every group, each with its group's as-of
/// date and its account's currency. The whole file is checked before anything is returned, and a
/// file that does not add up is refused whole, naming the line:
///
/// - records: 01 file header, 02 group header, 03 account, 16 transaction, 88 continuation of the
///   record before it, 49 account trailer, 98 group trailer, 99 file trailer, in that nesting;
/// - amounts are whole numbers of the currency's minor units (a decimal point is refused); the
///   account's currency is its 03 record's, else its group's, else USD;
/// - a 16's funds type adds fields before the bank reference: `V` a value date and time, `S` three
///   amounts, `D` a count and that many day-and-amount pairs; its text is the rest of the record,
///   commas and slashes included, with its 88 continuations joined by a space;
/// - each 49's control total is the sum of its account's 03 amounts and 16 amounts, and its record
///   count counts the 03, 16, 88 and the 49 itself; each 98's total is the sum of its 49 totals,
///   with the number of accounts and of records (02 through 98); the 99's total is the sum of the
///   98 totals, with the number of groups and of records (01 through 99).
///
/// Type codes 100-399 are credits, 400-699 debits, anything else `other`. A receipt's identity is
/// `bai2:<account>:<as-of date>:<type code>:<bank reference>:<amount>`, and when the bank gives no
/// reference, the line's position among its account's 16 records that day stands in for it: the
/// same file sent again, or imported twice, names the same receipts.
public enum BAI2 {
    public static func receipts(_ data: Data) throws(DomainError) -> [BankReceipt] {
        var parser = Parser()
        for record in try logicalRecords(data) { try parser.read(record) }
        return try parser.finish()
    }

    /// A record with its 88 continuations, and the line it starts on.
    struct Record {
        var code: String
        /// The record after its code and comma, continuations included, without a final "/"
        /// (except a 16's, whose text keeps what it holds).
        var body: String
        var line: Int
        /// Physical records: the record and its 88s.
        var physical: Int
    }

    static func logicalRecords(_ data: Data) throws(DomainError) -> [Record] {
        var records: [Record] = []
        for (number, raw) in BankFileLines.split(data) {
            let line = BankFileLines.trimmed(raw)
            if line.isEmpty { continue }
            guard let comma = line.firstIndex(of: ","), line.distance(from: line.startIndex, to: comma) == 2 else {
                throw refusal(number, "\"\(line.prefix(20))\" is not a BAI2 record (a two-digit record code and a comma)")
            }
            let code = String(line[..<comma])
            let body = String(line[line.index(after: comma)...])
            if code == "88" {
                guard var last = records.popLast() else { throw refusal(number, "an 88 continuation record continues nothing") }
                if last.code == "16" {
                    last.body += (last.body.hasSuffix(",") ? "" : " ") + body
                } else {
                    last.body = strippingSlash(last.body) + "," + body
                }
                last.physical += 1
                records.append(last)
            } else {
                records.append(Record(code: code, body: body, line: number, physical: 1))
            }
        }
        return records
    }

    static func strippingSlash(_ body: String) -> String {
        body.hasSuffix("/") ? String(body.dropLast()) : body
    }

    static func refusal(_ line: Int, _ message: String) -> DomainError { .bankFile(line: line, message) }

    /// The file's state as its records come: the open group and account, and the running totals.
    struct Parser {
        struct Account {
            var number: String
            var currency: Currency
            var total: Int128 = 0
            var records = 0
            var transactions = 0
            var line: Int
        }

        struct Group {
            var asOf: CivilDate
            var currency: Currency
            var total: Int128 = 0
            var records = 0
            var accounts = 0
            var line: Int
        }

        var sawHeader = false
        var sawTrailer = false
        var group: Group?
        var account: Account?
        var fileTotal: Int128 = 0
        var fileRecords = 0
        var groups = 0
        var receipts: [BankReceipt] = []
        var lastLine = 0

        mutating func read(_ record: Record) throws(DomainError) {
            lastLine = record.line
            guard !sawTrailer else { throw refusal(record.line, "a record after the 99 file trailer") }
            fileRecords += record.physical
            group?.records += record.physical
            account?.records += record.physical
            switch record.code {
            case "01":
                guard !sawHeader else { throw refusal(record.line, "a second 01 file header") }
                sawHeader = true
            case "02": try groupHeader(record)
            case "03": try accountHeader(record)
            case "16": try transaction(record)
            case "49": try accountTrailer(record)
            case "98": try groupTrailer(record)
            case "99": try fileTrailer(record)
            default: throw refusal(record.line, "record code \(record.code) is not a BAI2 record code (01, 02, 03, 16, 88, 49, 98, 99)")
            }
        }

        func finish() throws(DomainError) -> [BankReceipt] {
            guard sawTrailer else { throw refusal(lastLine, "the file ends without its 99 file trailer (truncated?)") }
            return receipts
        }

        private mutating func groupHeader(_ record: Record) throws(DomainError) {
            guard sawHeader else { throw refusal(record.line, "a 02 group header before the 01 file header") }
            guard group == nil else { throw refusal(record.line, "a 02 group header inside a group (its 98 trailer is missing)") }
            let fields = BAI2.fields(record)
            guard fields.count >= 4, let asOf = BAI2.date(fields[3]) else {
                throw refusal(record.line, "a 02 group header needs an as-of date YYMMDD in its fourth field")
            }
            let currency = try BAI2.currency(fields.count > 5 ? fields[5] : "", default: .usd, line: record.line)
            group = Group(asOf: asOf, currency: currency, records: record.physical, line: record.line)
            groups += 1
        }

        private mutating func accountHeader(_ record: Record) throws(DomainError) {
            guard var group else { throw refusal(record.line, "a 03 account record outside a group") }
            guard account == nil else { throw refusal(record.line, "a 03 account record inside an account (its 49 trailer is missing)") }
            let fields = BAI2.fields(record)
            guard let number = fields.first, !number.isEmpty else { throw refusal(record.line, "a 03 account record without an account number") }
            let currency = try BAI2.currency(fields.count > 1 ? fields[1] : "", default: group.currency, line: record.line)
            var account = Account(number: number, currency: currency, records: record.physical, line: record.line)
            // Summaries: type code, amount, item count, funds type (and its fields), repeated.
            var index = 2
            while index < fields.count {
                if fields[index].isEmpty, index == fields.count - 1 { break }
                let amount = index + 1 < fields.count ? fields[index + 1] : ""
                if !amount.isEmpty { account.total += try BAI2.amount(amount, signed: true, line: record.line) }
                let funds = index + 3 < fields.count ? fields[index + 3] : ""
                index += 4 + (try BAI2.fundsFieldCount(funds, fields: fields, at: index + 4, line: record.line)).count
            }
            group.accounts += 1
            self.group = group
            self.account = account
        }

        private mutating func transaction(_ record: Record) throws(DomainError) {
            guard var account, let group else { throw refusal(record.line, "a 16 transaction record outside an account") }
            // Fields up to the funds type, then the funds type's own, then the two references;
            // the text is the rest, whatever it holds.
            var rest = Substring(record.body)
            func next() -> String {
                guard let comma = rest.firstIndex(of: ",") else {
                    defer { rest = rest[rest.endIndex...] }
                    return String(rest)
                }
                defer { rest = rest[rest.index(after: comma)...] }
                return String(rest[..<comma])
            }
            let typeCode = next()
            let amountText = next()
            let funds = next()
            guard let code = Int(typeCode), typeCode.count == 3 else {
                throw refusal(record.line, "type code \"\(typeCode)\" of a 16 record is not three digits")
            }
            let minor = try BAI2.amount(amountText, signed: false, line: record.line)
            var valueDate: CivilDate?
            switch funds.uppercased() {
            case "", "0", "1", "2", "Z":
                break
            case "V":
                let date = next()
                _ = next()
                guard let parsed = BAI2.date(date) else { throw refusal(record.line, "value date \"\(date)\" is not YYMMDD") }
                valueDate = parsed
            case "S":
                for _ in 0..<3 { _ = try BAI2.amount(next(), signed: false, line: record.line, allowEmpty: true) }
            case "D":
                let countText = next()
                guard let count = Int(countText), (0...99).contains(count) else {
                    throw refusal(record.line, "distribution count \"\(countText)\" is not a number 0 to 99")
                }
                for _ in 0..<count {
                    _ = next()
                    _ = try BAI2.amount(next(), signed: false, line: record.line)
                }
            default:
                throw refusal(record.line, "funds type \"\(funds)\" is not 0, 1, 2, Z, V, S or D")
            }
            let bankReference = next()
            _ = next() // the customer reference
            var text = String(BankFileLines.trimmed(rest))
            if text == "/" { text = "" }
            account.total += minor
            account.transactions += 1
            self.account = account
            let amount = try BAI2.money(minor, account.currency, line: record.line)
            let direction: ReceiptDirection = (100...399).contains(code) ? .credit : (400...699).contains(code) ? .debit : .other
            let reference = bankReference.isEmpty ? "#\(account.transactions)" : bankReference
            let payer = BAI2.payer(in: text)
            receipts.append(BankReceipt(
                identity: "bai2:\(account.number):\(group.asOf):\(typeCode):\(reference):\(minor)", format: "bai2", account: account.number,
                amount: amount, direction: direction, bookingDate: group.asOf, valueDate: valueDate, typeCode: typeCode,
                bankReference: bankReference, payerName: payer.name, payerAccount: payer.account, remittance: text, line: record.line
            ))
        }

        private mutating func accountTrailer(_ record: Record) throws(DomainError) {
            guard let account, var group else { throw refusal(record.line, "a 49 account trailer outside an account") }
            let fields = BAI2.fields(record)
            let total = try BAI2.amount(fields.first ?? "", signed: true, line: record.line)
            guard total == account.total else {
                throw refusal(record.line, "account \(account.number)'s control total \(total) is not the sum of its amounts, \(account.total)")
            }
            let count = fields.count > 1 ? Int(fields[1]) : nil
            guard count == account.records else {
                throw refusal(record.line, "account \(account.number)'s 49 says \(fields.count > 1 ? fields[1] : "nothing") records; it has \(account.records) (03 through 49, 88s included)")
            }
            group.total += total
            self.group = group
            self.account = nil
        }

        private mutating func groupTrailer(_ record: Record) throws(DomainError) {
            guard let group else { throw refusal(record.line, "a 98 group trailer outside a group") }
            guard account == nil else { throw refusal(record.line, "a 98 group trailer inside an account (its 49 trailer is missing)") }
            let fields = BAI2.fields(record)
            let total = try BAI2.amount(fields.first ?? "", signed: true, line: record.line)
            guard total == group.total else {
                throw refusal(record.line, "the group's control total \(total) is not the sum of its accounts' totals, \(group.total)")
            }
            guard fields.count > 2, Int(fields[1]) == group.accounts, Int(fields[2]) == group.records else {
                throw refusal(record.line, "the group's 98 counts \(fields.dropFirst().prefix(2).joined(separator: " accounts and ")) records; it has \(group.accounts) accounts and \(group.records) records (02 through 98)")
            }
            fileTotal += total
            self.group = nil
        }

        private mutating func fileTrailer(_ record: Record) throws(DomainError) {
            guard sawHeader else { throw refusal(record.line, "a 99 file trailer without a 01 file header") }
            guard group == nil else { throw refusal(record.line, "a 99 file trailer inside a group (its 98 trailer is missing)") }
            let fields = BAI2.fields(record)
            let total = try BAI2.amount(fields.first ?? "", signed: true, line: record.line)
            guard total == fileTotal else {
                throw refusal(record.line, "the file's control total \(total) is not the sum of its groups' totals, \(fileTotal)")
            }
            guard fields.count > 2, Int(fields[1]) == groups, Int(fields[2]) == fileRecords else {
                throw refusal(record.line, "the 99 counts \(fields.dropFirst().prefix(2).joined(separator: " groups and ")) records; the file has \(groups) groups and \(fileRecords) records (01 through 99)")
            }
            sawTrailer = true
        }
    }

    /// A record's fields, split on commas, its closing "/" dropped.
    static func fields(_ record: Record) -> [String] {
        strippingSlash(String(BankFileLines.trimmed(record.body[...]))).split(separator: ",", omittingEmptySubsequences: false)
            .map { String(BankFileLines.trimmed($0)) }
    }

    /// The fields a funds type adds after it, checked.
    static func fundsFieldCount(_ funds: String, fields: [String], at index: Int, line: Int) throws(DomainError) -> [String] {
        func take(_ count: Int) -> [String] { Array(fields[min(index, fields.count)..<min(index + count, fields.count)]) }
        switch funds.uppercased() {
        case "", "0", "1", "2", "Z": return []
        case "V": return take(2)
        case "S": return take(3)
        case "D":
            guard index < fields.count, let count = Int(fields[index]), (0...99).contains(count) else {
                throw refusal(line, "a distribution count is not a number 0 to 99")
            }
            return take(1 + 2 * count)
        default: throw refusal(line, "funds type \"\(funds)\" is not 0, 1, 2, Z, V, S or D")
        }
    }

    /// Digits, with a sign where balances may be negative; a decimal point is refused.
    static func amount(_ text: String, signed: Bool, line: Int, allowEmpty: Bool = false) throws(DomainError) -> Int128 {
        if text.isEmpty, allowEmpty { return 0 }
        var digits = Substring(text)
        var negative = false
        if signed, let first = digits.first, first == "+" || first == "-" {
            negative = first == "-"
            digits = digits.dropFirst()
        }
        if digits.contains(".") { throw refusal(line, "amount \"\(text)\" has a decimal point: BAI2 amounts are whole minor units") }
        guard BankFileLines.isDigits(digits), digits.utf8.count <= 30, let value = Int128(digits) else {
            throw refusal(line, "amount \"\(text)\" is not a whole number")
        }
        return negative ? -value : value
    }

    static func money(_ minor: Int128, _ currency: Currency, line: Int) throws(DomainError) -> Money {
        guard let units = Int64(exactly: minor), units <= Money.maximumMinorUnits else {
            throw refusal(line, "amount \(minor) is above the largest amount Dunlin keeps")
        }
        return Money(minorUnits: units, currency: currency)
    }

    static func currency(_ code: String, default fallback: Currency, line: Int) throws(DomainError) -> Currency {
        guard !code.isEmpty else { return fallback }
        guard let currency = Currency(code: code) else { throw refusal(line, "currency \"\(code)\" is not an ISO 4217 code Dunlin knows") }
        return currency
    }

    /// The keys banks write in a 16 record's text for ACH and wire details, each followed by `:` or
    /// `=` ("ORIG CO NAME:ACME CORP ORIG ID:1234567890 ENTRY DESCR:PAYMENT", "ORG=/998877 ACME CORP
    /// OBI=INV 1001"). A key's value runs to the next key.
    static let textKeys = [
        "ORIG CO NAME", "ORIG CO ID", "ORIG ID", "ORIGINATOR", "ORG", "B/O", "BY ORDER OF", "DESC DATE", "ENTRY DESCR", "SEC", "IND ID NO",
        "IND NAME", "TRACE NO", "EFF DATE", "OBI", "BNF", "BBI", "OGB", "RFB", "REF", "TRN", "ADDENDA", "RMR",
    ]
    /// ``textKeys`` as bytes, longest first.
    static let textKeyBytes = textKeys.map { ($0, Array($0.utf8)) }.sorted { $0.1.count > $1.1.count }
    /// Keys whose value names the payer…
    static let payerNameKeys: Set<String> = ["ORIG CO NAME", "ORIGINATOR", "ORG", "B/O", "BY ORDER OF"]
    /// …and keys whose value identifies the payer's account or company.
    static let payerAccountKeys: Set<String> = ["ORIG CO ID", "ORIG ID"]

    /// The payer's name and account as a 16 record's keyed text gives them; empty when it gives
    /// none (BAI2 has no field for either). A name key's value starting with "/" carries the
    /// account first ("ORG=/998877 ACME CORP"). Free text ("NORTHWIND TRADERS PMT INV 0010034")
    /// names no payer here; the matcher reads such text for a customer's name itself.
    public static func payer(in text: String) -> (name: String, account: String) {
        guard text.contains(":") || text.contains("=") else { return ("", "") }
        let upper = Array(text.uppercased().utf8)
        var found: [(start: Int, valueStart: Int, key: String)] = []
        // At each ':' or '=', the longest key that ends there and starts a word.
        for mark in upper.indices where upper[mark] == UInt8(ascii: ":") || upper[mark] == UInt8(ascii: "=") {
            for (key, bytes) in textKeyBytes {
                let start = mark - bytes.count
                guard start >= 0, start == 0 || upper[start - 1] == UInt8(ascii: " ") || upper[start - 1] == UInt8(ascii: "/"),
                    upper[start..<mark].elementsEqual(bytes)
                else { continue }
                if !found.contains(where: { $0.start <= start && start < $0.valueStart }) { found.append((start, mark + 1, key)) }
                break
            }
        }
        var name = ""
        var account = ""
        let original = Array(text.utf8)
        for (offset, hit) in found.enumerated() {
            let end = offset + 1 < found.count ? found[offset + 1].start : original.count
            guard hit.valueStart <= end else { continue }
            var value = String(decoding: original[hit.valueStart..<end], as: UTF8.self).trimmingCharacters(in: .whitespaces)
            if payerNameKeys.contains(hit.key), name.isEmpty {
                if value.hasPrefix("/") {
                    let parts = value.dropFirst().split(separator: " ", maxSplits: 1)
                    if account.isEmpty, let first = parts.first { account = String(first) }
                    value = parts.count > 1 ? String(parts[1]).trimmingCharacters(in: .whitespaces) : ""
                }
                name = value
            } else if payerAccountKeys.contains(hit.key), account.isEmpty {
                account = value
            }
        }
        return (name, account)
    }

    /// YYMMDD, years 2000-2099.
    static func date(_ text: String) -> CivilDate? {
        guard text.utf8.count == 6, BankFileLines.isDigits(text), let value = Int(text) else { return nil }
        return CivilDate(year: 2000 + value / 10_000, month: value / 100 % 100, day: value % 100)
    }
}
