import DunlinCore
import Foundation

/// A month of bank lines written as one BAI2 file, as a bank's file of a month would read: a 01
/// file header; a group (02 ... 98) per booking day, its as-of date that day; in each group an
/// account (03 ... 49) per currency, the operating account in USD and one in EUR (the currency on
/// the 03 record); a 16 record per line of the statement with 88 continuations past `width`
/// columns; the 99 file trailer. Every control total and record count is the one the
/// specification (and ``BAI2``, which refuses the file otherwise) asks for.
///
/// BAI2 has no payer-name, payer-account or structured-reference field: as real banks do, the
/// 16 record's free text starts with the payer's name, then any structured reference, then the
/// remittance text (`NORTHWIND TRADERS PMT INV 0010034`); a line with a payer account (and every
/// line when `keyed`) is written as ACH text with keys instead (`ORIG CO NAME:TRANSFER 4471
/// ORIG ID:DE44500105175407324931 ENTRY DESCR:PAYMENT`), the only way BAI2 carries an account.
/// Runs of spaces are made one (a continuation is joined with one space). Credits are type 195
/// (incoming wire) and 165 (preauthorized ACH credit) in turn, debits 698 (miscellaneous fees);
/// each line has its own bank reference, so the reader's identities are distinct.
struct BAI2File {
    /// The file's bytes.
    let data: Data
    /// The generator's receipts the file holds, in file order: the reader's receipts, one for one.
    let receipts: [BankReceipt]
    /// The 16 record text each of them was written with, in the same order.
    let texts: [String]
    /// Physical records (lines) in the file: exactly the `lines` asked for.
    let lines: Int

    static let accounts: [Currency: String] = [.usd: "4400112233", .eur: "4400112241"]

    /// The file of exactly `lines` lines holding the first of `month` that fit, in the order given
    /// (a line that would overshoot the count is left out and a later, shorter one taken), or of
    /// all of `month` when `lines` is nil. Every booking day and currency of `month` gets its
    /// group and account, so the headers and trailers are known before any line is chosen. Nil
    /// when `month` is too short to fill `lines`.
    init?(month: [BankReceipt], lines: Int?, width: Int = 80, keyed: Bool = false) {
        let days = Set(month.map(\.bookingDate)).sorted()
        var currencies: [CivilDate: Set<Currency>] = [:]
        for receipt in month { currencies[receipt.bookingDate, default: []].insert(receipt.amount.currency) }
        precondition(currencies.values.allSatisfy { $0.isSubset(of: Set(Self.accounts.keys)) }, "a currency with no account")
        let overhead = 2 + 2 * days.count + 2 * currencies.values.map(\.count).reduce(0, +)
        var budget = lines.map { $0 - overhead } ?? Int.max
        var chosen: [(receipt: BankReceipt, text: String, records: [String])] = []
        for (position, receipt) in month.enumerated() where budget > 0 {
            let text = Self.text(of: receipt, keyed: keyed)
            let records = Self.transaction(receipt, text: text, sequence: position + 1, width: width)
            guard records.count <= budget else { continue }
            chosen.append((receipt, text, records))
            budget -= records.count
        }
        guard lines == nil || budget == 0 else { return nil }

        var out: [String] = ["01,BANKOFBENCH,DUNLINBENCH,261201,0600,1,\(width),,2/"]
        var fileTotal: Int64 = 0
        let byGroup = Dictionary(grouping: chosen) { $0.receipt.bookingDate }
        var ordered: [(receipt: BankReceipt, text: String, records: [String])] = []
        for day in days {
            let groupStart = out.count
            out.append("02,DUNLINBENCH,BANKOFBENCH,1,\(Self.yymmdd(day)),2400,USD,2/")
            var groupTotal: Int64 = 0
            let inGroup = byGroup[day] ?? []
            for currency in currencies[day]!.sorted(by: { $0.code > $1.code }) {
                let items = inGroup.filter { $0.receipt.amount.currency == currency }
                let credits = items.filter { $0.receipt.direction == .credit }.map(\.receipt.amount.minorUnits).reduce(0, +)
                let debits = items.filter { $0.receipt.direction != .credit }.map(\.receipt.amount.minorUnits).reduce(0, +)
                let opening: Int64 = 150_000_000_00
                let closing = opening + credits - debits
                let accountStart = out.count
                out.append("03,\(Self.accounts[currency]!),\(currency.code),010,\(opening),,,015,\(closing),,/")
                for item in items { out += item.records }
                ordered += items
                let accountTotal = opening + closing + credits + debits
                out.append("49,\(accountTotal),\(out.count - accountStart + 1)/")
                groupTotal += accountTotal
            }
            out.append("98,\(groupTotal),\(currencies[day]!.count),\(out.count - groupStart + 1)/")
            fileTotal += groupTotal
        }
        out.append("99,\(fileTotal),\(days.count),\(out.count + 1)/")
        precondition(lines == nil || out.count == lines, "wrote \(out.count) lines for \(lines ?? 0)")
        data = Data((out.joined(separator: "\n") + "\n").utf8)
        receipts = ordered.map(\.receipt)
        texts = ordered.map(\.text)
        self.lines = out.count
    }

    /// The 16 record's text: payer name, structured references, remittance; or, keyed, the
    /// payer's name and account and the rest as an ACH entry's description.
    static func text(of receipt: BankReceipt, keyed: Bool) -> String {
        let rest = receipt.creditorReferences + [receipt.remittance]
        let parts =
            keyed || !receipt.payerAccount.isEmpty
            ? [receipt.payerName.isEmpty ? "" : "ORIG CO NAME:" + receipt.payerName,
               receipt.payerAccount.isEmpty ? "" : "ORIG ID:" + receipt.payerAccount, "ENTRY DESCR:" + rest.joined(separator: " ")]
            : [receipt.payerName] + rest
        return parts.joined(separator: " ").split(separator: " ").joined(separator: " ")
    }

    /// The 16 record of `receipt` and its 88 continuations, none wider than `width` where a space
    /// allows (a continuation starts where a space was, so the reader's joining space restores it;
    /// never after a comma, which the reader joins without one).
    static func transaction(_ receipt: BankReceipt, text: String, sequence: Int, width: Int) -> [String] {
        let credit = receipt.direction == .credit
        let type = credit ? (sequence % 2 == 0 ? "165" : "195") : "698"
        let prefix = credit ? (type == "195" ? "FW" : "AC") : "FE"
        let reference = "\(prefix)\(yymmdd(receipt.bookingDate))\(String(sequence + 1_000_000).dropFirst())"
        var records: [String] = []
        var line = "16,\(type),\(receipt.amount.minorUnits),0,\(reference),,"
        var rest = Substring(text)
        if rest.isEmpty { return [line + "/"] }
        while true {
            let room = width - line.count
            if rest.count <= room {
                records.append(line + rest)
                return records
            }
            // The last space within the room not after a comma; else the first one past it.
            let window = rest.prefix(room + 1)
            let split = window.indices.last { rest[$0] == " " && $0 > rest.startIndex && rest[rest.index(before: $0)] != "," }
                ?? rest.indices.first { rest[$0] == " " && $0 > rest.startIndex && rest[rest.index(before: $0)] != "," }
            guard let split else {
                records.append(line + rest)
                return records
            }
            records.append(line + rest[..<split])
            rest = rest[rest.index(after: split)...]
            line = "88,"
        }
    }

    static func yymmdd(_ day: CivilDate) -> String {
        let text = day.description  // YYYY-MM-DD
        return String(text.dropFirst(2).filter { $0 != "-" })
    }
}
