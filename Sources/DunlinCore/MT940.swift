import Foundation

/// A SWIFT MT940 customer statement read into ``BankReceipt``s. Fields: `:20:` reference, `:25:`
/// account, `:28C:` statement and page number, `:60F:`/`:60M:` opening balance (final, or
/// intermediate on a later page), `:61:` a statement line with an optional `:86:` after it,
/// `:62F:`/`:62M:` closing balance, `:64:` available balance; SWIFT block wrappers (`{1:…}{4:`,
/// `-}`) are skipped. One file may hold several statements (pages).
///
/// A `:61:` is value date YYMMDD, an optional entry date MMDD, the mark (`C`, `D`, `RC` a
/// reversed credit, so money out, `RD` a reversed debit, so money in), an optional funds code
/// letter, the amount with a decimal comma (`1234,` is 1234.00), the transaction type (`N`, `S` or
/// `F` and three characters), the customer reference up to `//`, the bank reference after it, and
/// on a next line supplementary details. A `:86:`'s lines are joined as they come, without a
/// space: banks wrap at 65 characters even inside an invoice number.
///
/// Each page must add up: its opening balance plus its credits minus its debits is its closing
/// balance, in its currency; otherwise the whole file is refused, naming the closing balance's
/// line. A receipt's identity is `mt940:<account>:<value date>:<mark>:<amount>:<bank reference>`,
/// the customer reference standing in when there is no bank reference, and the line's place among
/// the account's lines of that date when neither is given (`NONREF`).
public enum MT940 {
    public static func receipts(_ data: Data) throws(DomainError) -> [BankReceipt] {
        var fields: [(tag: String, value: String, line: Int)] = []
        for (number, raw) in BankFileLines.split(data) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("{") || line == "-}" || line == "-" { continue }
            if line.hasPrefix(":"), let close = line.dropFirst().firstIndex(of: ":"), line.distance(from: line.startIndex, to: close) <= 4 {
                fields.append((String(line[line.index(after: line.startIndex)..<close]), String(line[line.index(after: close)...]), number))
            } else {
                guard !fields.isEmpty else { throw refusal(number, "\"\(line.prefix(20))\" comes before any MT940 field") }
                fields[fields.count - 1].value += "\n" + line
            }
        }
        guard !fields.isEmpty else { throw refusal(1, "the file holds no MT940 field") }

        var receipts: [BankReceipt] = []
        var account = ""
        var opening: (minor: Int128, currency: Currency)?
        var sum: Int128 = 0
        var ordinals: [String: Int] = [:]
        for field in fields {
            switch field.tag {
            case "20", "28C", "28", "64", "65":
                continue
            case "25":
                account = field.value.trimmingCharacters(in: .whitespacesAndNewlines)
            case "60F", "60M":
                guard opening == nil else { throw refusal(field.line, "an opening balance before the last page's closing balance") }
                opening = try balance(field.value, line: field.line)
                sum = 0
            case "61":
                guard let opened = opening, !account.isEmpty else {
                    throw refusal(field.line, "a :61: statement line before the :25: account and :60F: opening balance")
                }
                let entry = try statementLine(field.value, currency: opened.currency, line: field.line)
                sum += entry.credit ? entry.minor : -entry.minor
                let reference = !entry.bankReference.isEmpty ? entry.bankReference
                    : entry.customerReference.isEmpty || entry.customerReference == "NONREF" ? nil : entry.customerReference
                let key = "\(account):\(entry.valueDate)"
                let ordinal = (ordinals[key] ?? 0) + 1
                ordinals[key] = ordinal
                receipts.append(BankReceipt(
                    identity: "mt940:\(account):\(entry.valueDate):\(entry.mark):\(entry.minor):\(reference ?? "#\(ordinal)")", format: "mt940",
                    account: account, amount: try BAI2.money(entry.minor, opened.currency, line: field.line),
                    direction: entry.credit ? .credit : .debit, bookingDate: entry.entryDate ?? entry.valueDate, valueDate: entry.valueDate,
                    typeCode: entry.type, bankReference: entry.bankReference,
                    endToEndID: entry.customerReference == "NONREF" ? "" : entry.customerReference, remittance: entry.details, line: field.line
                ))
            case "86":
                guard var last = receipts.last, last.line < field.line else { throw refusal(field.line, "a :86: without a :61: before it") }
                let text = field.value.split(separator: "\n").joined()
                last.remittance = last.remittance.isEmpty ? text : last.remittance + " " + text
                receipts[receipts.count - 1] = last
            case "62F", "62M":
                guard let opened = opening else { throw refusal(field.line, "a closing balance without an opening balance") }
                let closing = try balance(field.value, line: field.line)
                guard closing.currency == opened.currency else {
                    throw refusal(field.line, "the closing balance is in \(closing.currency.code), the opening balance in \(opened.currency.code)")
                }
                guard opened.minor + sum == closing.minor else {
                    throw refusal(
                        field.line, "the opening balance \(opened.minor) plus the lines (\(sum)) is \(opened.minor + sum), not the closing balance \(closing.minor) (minor units of \(closing.currency.code))"
                    )
                }
                opening = nil
            default:
                throw refusal(field.line, ":\(field.tag): is not an MT940 field")
            }
        }
        if opening != nil { throw refusal(fields[fields.count - 1].line, "the statement ends without its :62F: closing balance (truncated?)") }
        return receipts
    }

    static func refusal(_ line: Int, _ message: String) -> DomainError { BAI2.refusal(line, message) }

    /// "C261129EUR1234,56": the mark, date, currency and amount, as signed minor units.
    static func balance(_ text: String, line: Int) throws(DomainError) -> (minor: Int128, currency: Currency) {
        let value = Array(text.trimmingCharacters(in: .whitespacesAndNewlines))
        guard value.count >= 11, value[0] == "C" || value[0] == "D", BAI2.date(String(value[1..<7])) != nil else {
            throw refusal(line, "balance \"\(text.prefix(30))\" is not C or D, a date YYMMDD, a currency and an amount")
        }
        let currency = try BAI2.currency(String(value[7..<10]), default: .usd, line: line)
        let minor = try amount(String(value[10...]), currency, line: line)
        return (value[0] == "D" ? -minor : minor, currency)
    }

    /// "1234,56" in minor units of `currency`: a decimal comma, at most the currency's digits after it.
    static func amount(_ text: String, _ currency: Currency, line: Int) throws(DomainError) -> Int128 {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[0].count <= 15, parts[1].count <= currency.exponent,
            (parts[0] + parts[1]).allSatisfy({ $0.isASCII && $0.isNumber }), let whole = Int128(parts[0])
        else {
            throw refusal(line, "amount \"\(text)\" is not digits with a decimal comma and at most \(currency.exponent) decimals for \(currency.code)")
        }
        var minor = whole
        for _ in 0..<currency.exponent { minor *= 10 }
        let fraction = String(parts[1]).padding(toLength: currency.exponent, withPad: "0", startingAt: 0)
        return minor + (Int128(fraction) ?? 0)
    }

    struct Line {
        var valueDate: CivilDate
        var entryDate: CivilDate?
        var mark: String
        var credit: Bool
        var minor: Int128
        var type: String
        var customerReference: String
        var bankReference: String
        var details: String
    }

    /// A `:61:` statement line, its supplementary details on its second line.
    static func statementLine(_ text: String, currency: Currency, line: Int) throws(DomainError) -> Line {
        let lines = text.split(separator: "\n", maxSplits: 1).map(String.init)
        var rest = Substring(lines.first ?? "")
        func take(_ count: Int) -> String {
            let end = rest.index(rest.startIndex, offsetBy: count, limitedBy: rest.endIndex) ?? rest.endIndex
            defer { rest = rest[end...] }
            return String(rest[..<end])
        }
        guard let valueDate = BAI2.date(take(6)) else { throw refusal(line, "a :61: line must start with its value date YYMMDD") }
        var entryDate: CivilDate?
        if rest.prefix(4).allSatisfy({ $0.isASCII && $0.isNumber }), rest.count >= 4, let month = Int(rest.prefix(2)), let day = Int(rest.dropFirst(2).prefix(4 - 2)) {
            _ = take(4)
            // The entry date's year is the value date's, or the one next to it across a new year.
            let candidates = [valueDate.year, valueDate.year - 1, valueDate.year + 1].compactMap { CivilDate(year: $0, month: month, day: day) }
            entryDate = candidates.min { abs($0.days(until: valueDate)) < abs($1.days(until: valueDate)) }
            guard entryDate != nil else { throw refusal(line, "the :61: entry date \(String(format: "%02d%02d", month, day)) is not a date") }
        }
        let mark: String
        if rest.hasPrefix("RC") || rest.hasPrefix("RD") { mark = take(2) } else if rest.hasPrefix("C") || rest.hasPrefix("D") { mark = take(1) } else {
            throw refusal(line, "the :61: mark is not C, D, RC or RD")
        }
        if let letter = rest.first, letter.isLetter { _ = take(1) } // the funds code
        let amountText = String(rest.prefix { $0.isNumber || $0 == "," })
        _ = take(amountText.count)
        let minor = try amount(amountText, currency, line: line)
        let type = take(4)
        guard type.count == 4, let kind = type.first, "NSF".contains(kind) else {
            throw refusal(line, "the :61: transaction type \"\(type)\" is not N, S or F and three characters")
        }
        let references = String(rest).components(separatedBy: "//")
        return Line(
            valueDate: valueDate, entryDate: entryDate, mark: mark, credit: mark == "C" || mark == "RD", minor: minor, type: type,
            customerReference: references[0].trimmingCharacters(in: .whitespaces),
            bankReference: references.count > 1 ? references[1].trimmingCharacters(in: .whitespaces) : "",
            details: lines.count > 1 ? lines[1].trimmingCharacters(in: .whitespaces) : ""
        )
    }
}
