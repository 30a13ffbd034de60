import Foundation

/// Where each field sits in the fixed-width records of a BAI lockbox file. Banks agree on the
/// record types and their order, not on the columns, so the layout is a value a tenant can keep as
/// a setting (it is `Codable`); ``standard`` is the common 80-column layout.
///
/// Columns are 1-based and inclusive, as bank specifications print them. Amounts are whole cents
/// (minor units of ``currency``), without a decimal point; dates are `YYMMDD` in a 6-wide field and
/// `YYYYMMDD` in an 8-wide one. A field past the end of a short line reads as blank.
public struct LockboxLayout: Sendable, Hashable, Codable {
    /// A fixed-width field: its first column (1-based) and its width.
    public struct Columns: Sendable, Hashable, Codable {
        public var start: Int
        public var length: Int

        public init(_ start: Int, _ length: Int) {
            self.start = start
            self.length = length
        }
    }

    /// One invoice a remitter named: its number and, when the bank keys it, its amount.
    public struct InvoiceColumns: Sendable, Hashable, Codable {
        public var number: Columns
        public var amount: Columns?

        public init(number: Columns, amount: Columns? = nil) {
            self.number = number
            self.amount = amount
        }
    }

    /// Type 5, the lockbox (detail) header: which lockbox and which deposit day the checks after it belong to.
    public struct LockboxHeader: Sendable, Hashable, Codable {
        public var lockbox: Columns
        public var depositDate: Columns
    }

    /// Type 6, one check: its batch and item, amount, the MICR line's routing and account
    /// numbers, the check's number, and optionally the remitter's name and invoices keyed on it.
    public struct Check: Sendable, Hashable, Codable {
        public var batch: Columns
        public var item: Columns
        public var amount: Columns
        public var routing: Columns
        public var account: Columns
        public var checkNumber: Columns
        public var remitter: Columns?
        public var invoices: [InvoiceColumns]
    }

    /// Type 4, an overflow record: more invoices of the check (batch and item) before it.
    public struct Overflow: Sendable, Hashable, Codable {
        public var batch: Columns
        public var item: Columns
        public var invoices: [InvoiceColumns]
    }

    /// Type 7, a batch's total: its number, the count of its checks and their sum.
    public struct BatchTotal: Sendable, Hashable, Codable {
        public var batch: Columns
        public var itemCount: Columns
        public var amount: Columns
    }

    /// Type 8, the lockbox's (service) total: the count of its checks and their sum over every batch.
    public struct LockboxTotal: Sendable, Hashable, Codable {
        public var lockbox: Columns?
        public var itemCount: Columns
        public var amount: Columns
    }

    /// Type 9, the file trailer: the number of records in the file (1 through 9), required when
    /// the layout has its columns (nil for a bank that does not count).
    public struct FileTrailer: Sendable, Hashable, Codable {
        public var recordCount: Columns?
    }

    public var currency: Currency
    public var lockboxHeader: LockboxHeader
    public var check: Check
    public var overflow: Overflow
    public var batchTotal: BatchTotal
    public var lockboxTotal: LockboxTotal
    public var fileTrailer: FileTrailer

    /// The 80-column layout most US banks document, in USD:
    /// - 5: batch 2-4, item 5-7, lockbox 8-14, deposit date 15-20 (YYMMDD);
    /// - 6: batch 2-4, item 5-7, amount 8-17, routing 18-26, account 27-36, check number 37-46,
    ///   remitter name 47-76;
    /// - 4: batch 2-4, item 5-7, overflow type 8, sequence 9-10, last-record flag 11, then two
    ///   invoices: number 12-26 and amount 27-36, number 37-51 and amount 52-61;
    /// - 7: batch 2-4, lockbox 8-14, deposit date 15-20, item count 21-23, amount 24-33;
    /// - 8: lockbox 8-14, deposit date 15-20, item count 21-24, amount 25-34;
    /// - 9: record count 2-7.
    /// Types 1 (immediate address header) and 2 (service record) carry nothing a receipt needs.
    public static let standard = LockboxLayout(
        currency: .usd,
        lockboxHeader: LockboxHeader(lockbox: Columns(8, 7), depositDate: Columns(15, 6)),
        check: Check(
            batch: Columns(2, 3), item: Columns(5, 3), amount: Columns(8, 10), routing: Columns(18, 9), account: Columns(27, 10),
            checkNumber: Columns(37, 10), remitter: Columns(47, 30), invoices: []
        ),
        overflow: Overflow(batch: Columns(2, 3), item: Columns(5, 3), invoices: [
            InvoiceColumns(number: Columns(12, 15), amount: Columns(27, 10)), InvoiceColumns(number: Columns(37, 15), amount: Columns(52, 10)),
        ]),
        batchTotal: BatchTotal(batch: Columns(2, 3), itemCount: Columns(21, 3), amount: Columns(24, 10)),
        lockboxTotal: LockboxTotal(lockbox: Columns(8, 7), itemCount: Columns(21, 4), amount: Columns(25, 10)),
        fileTrailer: FileTrailer(recordCount: Columns(2, 6))
    )

    /// Every field's columns, to check the layout before reading with it.
    var allColumns: [(name: String, columns: Columns)] {
        var all: [(String, Columns?)] = [
            ("lockboxHeader.lockbox", lockboxHeader.lockbox), ("lockboxHeader.depositDate", lockboxHeader.depositDate),
            ("check.batch", check.batch), ("check.item", check.item), ("check.amount", check.amount), ("check.routing", check.routing),
            ("check.account", check.account), ("check.checkNumber", check.checkNumber), ("check.remitter", check.remitter),
            ("overflow.batch", overflow.batch), ("overflow.item", overflow.item), ("batchTotal.batch", batchTotal.batch),
            ("batchTotal.itemCount", batchTotal.itemCount), ("batchTotal.amount", batchTotal.amount), ("lockboxTotal.lockbox", lockboxTotal.lockbox),
            ("lockboxTotal.itemCount", lockboxTotal.itemCount), ("lockboxTotal.amount", lockboxTotal.amount),
            ("fileTrailer.recordCount", fileTrailer.recordCount),
        ]
        for (name, invoices) in [("check", check.invoices), ("overflow", overflow.invoices)] {
            for (index, invoice) in invoices.enumerated() {
                all += [("\(name).invoices[\(index)].number", invoice.number), ("\(name).invoices[\(index)].amount", invoice.amount)]
            }
        }
        return all.compactMap { name, columns in columns.map { (name, $0) } }
    }

    /// Refuses a layout that cannot be read with: a field before column 2 (column 1 is the record
    /// type), of no width, or wider than 200 columns; a date field neither 6 nor 8 wide; an
    /// amount or count wider than 15 digits.
    public func validated() throws(DomainError) -> LockboxLayout {
        for (name, columns) in allColumns {
            guard columns.start >= 2, (1...200).contains(columns.length), columns.start <= 1_000 else {
                throw .invalid(field: "layout.\(name)", "columns \(columns.start)+\(columns.length) are not within a record after its type column")
            }
        }
        guard [6, 8].contains(lockboxHeader.depositDate.length) else {
            throw .invalid(field: "layout.lockboxHeader.depositDate", "a date is 6 (YYMMDD) or 8 (YYYYMMDD) columns wide")
        }
        let numbers = [check.amount, batchTotal.amount, lockboxTotal.amount, batchTotal.itemCount, lockboxTotal.itemCount]
            + (check.invoices + overflow.invoices).compactMap(\.amount)
        guard numbers.allSatisfy({ $0.length <= 15 }) else {
            throw .invalid(field: "layout", "an amount or count is at most 15 digits wide")
        }
        return self
    }
}

/// A BAI lockbox transmission read into ``BankReceipt``s, one per check, with the invoices the
/// remitter named. Records are one line each, their type in column 1, their fields where the
/// ``LockboxLayout`` puts them:
///
/// - 1 immediate address header (first), 2 service record (ignored), 5 lockbox header, 6 check,
///   4 overflow (invoices of the check before it), 7 batch total, 8 lockbox total, 9 file trailer
///   (last); blank lines are passed over, any other type is refused;
/// - a lockbox runs from its first 5 to its 8 (a bank may repeat the 5 before each batch); a
///   batch is the checks of one batch number up to its 7;
/// - each 7's item count and amount must be its batch's count and sum of checks, each 8's its
///   lockbox's over every batch, and the 9's record count (when the layout has its columns) the number
///   of records from the 1 through the 9. A file that does not add up, or ends before its 9, is
///   refused whole, naming the line.
///
/// Every check is a credit in the layout's currency. `account` is the lockbox number,
/// `bookingDate` the deposit date, `bankReference` the check number, `payerAccount` the routing
/// and account numbers of the check's MICR line as `routing/account`, `payerName` the remitter
/// column, `creditorReferences` the invoice numbers of the 6 and its 4s, and `remittance` those
/// invoices as text (`10068 38395.70; 10069`). A check's identity is
/// `lockbox:<lockbox>:<deposit date>:<batch>:<item>`: check numbers repeat across payers, the
/// bank's batch and item numbers do not within a deposit day.
public enum Lockbox {
    public static func receipts(_ data: Data, layout: LockboxLayout = .standard) throws(DomainError) -> [BankReceipt] {
        var reader = Reader(layout: try layout.validated())
        for (number, raw) in BankFileLines.split(data) {
            let line = String(raw)
            if line.trimmingCharacters(in: .whitespaces).isEmpty { continue }
            try reader.read(Array(line), line: number)
        }
        return try reader.finish()
    }

    static func refusal(_ line: Int, _ message: String) -> DomainError { .bankFile(line: line, message) }

    struct Reader {
        struct OpenLockbox {
            var number: String
            var depositDate: CivilDate
            var items = 0
            var total: Int128 = 0
        }

        struct OpenBatch {
            var number: Int
            var items = 0
            var total: Int128 = 0
        }

        let layout: LockboxLayout
        var sawHeader = false
        var sawTrailer = false
        var records = 0
        var lastLine = 0
        var lockbox: OpenLockbox?
        var batch: OpenBatch?
        var receipts: [BankReceipt] = []
        /// Batch and item of the last check, for its overflow records.
        var lastCheck: (batch: Int, item: Int)?

        init(layout: LockboxLayout) { self.layout = layout }

        mutating func read(_ record: [Character], line: Int) throws(DomainError) {
            lastLine = line
            guard !sawTrailer else { throw refusal(line, "a record after the type 9 file trailer") }
            records += 1
            let type = record[0]
            guard sawHeader || type == "1" else { throw refusal(line, "the file does not start with a type 1 header record") }
            switch type {
            case "1":
                guard !sawHeader else { throw refusal(line, "a second type 1 header record") }
                sawHeader = true
            case "2": break
            case "5": try lockboxHeader(record, line: line)
            case "6": try check(record, line: line)
            case "4": try overflow(record, line: line)
            case "7": try batchTotal(record, line: line)
            case "8": try lockboxTotal(record, line: line)
            case "9": try fileTrailer(record, line: line)
            default: throw refusal(line, "record type \"\(type)\" is not a lockbox record type (1, 2, 5, 6, 4, 7, 8, 9)")
            }
        }

        func finish() throws(DomainError) -> [BankReceipt] {
            guard sawTrailer else { throw refusal(max(lastLine, 1), "the file ends without its type 9 trailer (truncated?)") }
            return receipts
        }

        private mutating func lockboxHeader(_ record: [Character], line: Int) throws(DomainError) {
            let number = text(record, layout.lockboxHeader.lockbox)
            guard !number.isEmpty else { throw refusal(line, "a type 5 lockbox header without a lockbox number") }
            let date = try self.date(record, layout.lockboxHeader.depositDate, line: line)
            if let batch, batch.items > 0 {
                throw refusal(line, "a type 5 lockbox header inside batch \(batch.number) (its type 7 total is missing)")
            }
            if let lockbox {
                guard lockbox.number == number, lockbox.depositDate == date else {
                    throw refusal(line, "lockbox \(number) starts before lockbox \(lockbox.number)'s type 8 total")
                }
                return
            }
            lockbox = OpenLockbox(number: number, depositDate: date)
        }

        private mutating func check(_ record: [Character], line: Int) throws(DomainError) {
            guard let lockbox else { throw refusal(line, "a type 6 check before any type 5 lockbox header") }
            let columns = layout.check
            let batchNumber = try count(record, columns.batch, "batch number", line: line)
            let item = try count(record, columns.item, "item number", line: line)
            var batch = self.batch ?? OpenBatch(number: batchNumber)
            guard batch.number == batchNumber else {
                throw refusal(line, "a check of batch \(batchNumber) inside batch \(batch.number) (its type 7 total is missing)")
            }
            let minor = try whole(record, columns.amount, "check amount", line: line)
            batch.items += 1
            batch.total += minor
            self.batch = batch
            let routing = text(record, columns.routing)
            let account = text(record, columns.account)
            var receipt = BankReceipt(
                identity: "lockbox:\(lockbox.number):\(lockbox.depositDate):\(batchNumber):\(item)", format: "lockbox", account: lockbox.number,
                amount: try BAI2.money(minor, layout.currency, line: line), direction: .credit, bookingDate: lockbox.depositDate,
                typeCode: "check", bankReference: text(record, columns.checkNumber),
                payerName: columns.remitter.map { text(record, $0) } ?? "",
                payerAccount: routing.isEmpty && account.isEmpty ? "" : "\(routing)/\(account)", line: line
            )
            try addInvoices(record, columns.invoices, to: &receipt, line: line)
            receipts.append(receipt)
            lastCheck = (batchNumber, item)
        }

        private mutating func overflow(_ record: [Character], line: Int) throws(DomainError) {
            let batchNumber = try count(record, layout.overflow.batch, "batch number", line: line)
            let item = try count(record, layout.overflow.item, "item number", line: line)
            guard let lastCheck, var receipt = receipts.popLast() else { throw refusal(line, "a type 4 overflow record before any check") }
            guard lastCheck == (batchNumber, item) else {
                throw refusal(line, "a type 4 overflow record of batch \(batchNumber) item \(item) after the check of batch \(lastCheck.batch) item \(lastCheck.item)")
            }
            try addInvoices(record, layout.overflow.invoices, to: &receipt, line: line)
            receipts.append(receipt)
        }

        private func addInvoices(_ record: [Character], _ invoices: [LockboxLayout.InvoiceColumns], to receipt: inout BankReceipt, line: Int) throws(DomainError) {
            for invoice in invoices {
                let number = text(record, invoice.number)
                guard !number.isEmpty else { continue }
                var described = number
                if let amountColumns = invoice.amount, !text(record, amountColumns).isEmpty {
                    let minor = try whole(record, amountColumns, "invoice amount", line: line)
                    described += " " + (try BAI2.money(minor, layout.currency, line: line)).decimalString
                }
                receipt.creditorReferences.append(number)
                receipt.remittance += (receipt.remittance.isEmpty ? "" : "; ") + described
            }
        }

        private mutating func batchTotal(_ record: [Character], line: Int) throws(DomainError) {
            guard var lockbox else { throw refusal(line, "a type 7 batch total outside a lockbox") }
            let columns = layout.batchTotal
            let number = try count(record, columns.batch, "batch number", line: line)
            let batch = self.batch ?? OpenBatch(number: number)
            guard batch.number == number else {
                throw refusal(line, "the type 7 total of batch \(number) closes batch \(batch.number)")
            }
            try checkTotals(
                record, count: columns.itemCount, amount: columns.amount, items: batch.items, total: batch.total,
                of: "batch \(number)'s type 7", holder: "the batch", parts: "its checks", line: line
            )
            lockbox.items += batch.items
            lockbox.total += batch.total
            self.lockbox = lockbox
            self.batch = nil
            lastCheck = nil
        }

        private mutating func lockboxTotal(_ record: [Character], line: Int) throws(DomainError) {
            guard let lockbox else { throw refusal(line, "a type 8 lockbox total outside a lockbox") }
            if let batch { throw refusal(line, "a type 8 lockbox total inside batch \(batch.number) (its type 7 total is missing)") }
            let columns = layout.lockboxTotal
            if let numberColumns = columns.lockbox {
                let number = text(record, numberColumns)
                guard number.isEmpty || number == lockbox.number else {
                    throw refusal(line, "the type 8 total of lockbox \(number) closes lockbox \(lockbox.number)")
                }
            }
            try checkTotals(
                record, count: columns.itemCount, amount: columns.amount, items: lockbox.items, total: lockbox.total,
                of: "lockbox \(lockbox.number)'s type 8", holder: "the lockbox", parts: "its batches", line: line
            )
            self.lockbox = nil
        }

        /// A total record's item count and amount against what was read: "batch 1's type 7 counts
        /// 3 checks; the batch has 2", "... total 175001 is not the sum of its checks, 175000".
        private func checkTotals(
            _ record: [Character], count countColumns: LockboxLayout.Columns, amount amountColumns: LockboxLayout.Columns, items: Int, total: Int128,
            of name: String, holder: String, parts: String, line: Int
        ) throws(DomainError) {
            let counted = try count(record, countColumns, "item count", line: line)
            guard counted == items else { throw refusal(line, "\(name) counts \(counted) checks; \(holder) has \(items)") }
            let amount = try whole(record, amountColumns, "total amount", line: line)
            guard amount == total else { throw refusal(line, "\(name) total \(amount) is not the sum of \(parts), \(total)") }
        }

        private mutating func fileTrailer(_ record: [Character], line: Int) throws(DomainError) {
            if let lockbox { throw refusal(line, "the type 9 trailer inside lockbox \(lockbox.number) (its type 8 total is missing)") }
            if let columns = layout.fileTrailer.recordCount {
                let recorded = try count(record, columns, "record count", line: line)
                guard recorded == records else {
                    throw refusal(line, "the type 9 trailer counts \(recorded) records; the file has \(records) (1 through 9)")
                }
            }
            sawTrailer = true
        }

        /// The field's characters, blanks around them dropped.
        private func text(_ record: [Character], _ columns: LockboxLayout.Columns) -> String {
            let start = columns.start - 1
            guard start < record.count else { return "" }
            return String(record[start..<min(start + columns.length, record.count)]).trimmingCharacters(in: .whitespaces)
        }

        /// A whole number (a count, an amount in minor units): digits only, blank refused.
        private func whole(_ record: [Character], _ columns: LockboxLayout.Columns, _ name: String, line: Int) throws(DomainError) -> Int128 {
            let field = text(record, columns)
            if field.contains(".") { throw refusal(line, "\(name) \"\(field)\" has a decimal point: lockbox amounts are whole cents") }
            guard !field.isEmpty, field.allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int128(field) else {
                throw refusal(line, "\(name) \"\(field)\" in columns \(columns.start)-\(columns.start + columns.length - 1) is not a number")
            }
            return value
        }

        /// A batch, item or record number, or a count.
        private func count(_ record: [Character], _ columns: LockboxLayout.Columns, _ name: String, line: Int) throws(DomainError) -> Int {
            let value = try whole(record, columns, name, line: line)
            guard let small = Int(exactly: value) else { throw refusal(line, "\(name) \(value) is too large") }
            return small
        }

        private func date(_ record: [Character], _ columns: LockboxLayout.Columns, line: Int) throws(DomainError) -> CivilDate {
            let field = text(record, columns)
            let parsed: CivilDate? = field.count == 8
                ? Int(field).flatMap { CivilDate(year: $0 / 10_000, month: $0 / 100 % 100, day: $0 % 100) }
                : BAI2.date(field)
            guard let parsed, field.allSatisfy({ $0.isASCII && $0.isNumber }) else {
                throw refusal(line, "deposit date \"\(field)\" is not \(columns.length == 8 ? "YYYYMMDD" : "YYMMDD")")
            }
            return parsed
        }
    }
}
