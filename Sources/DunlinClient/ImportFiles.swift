import DunlinCore
import DunlinWire
import Foundation

/// Turns CSV files from an ERP or a bank into the records the server takes, refusing the whole
/// file at the first bad value with its line and column.
///
/// Invoices: `id,customer_id,number,amount,currency,issue_date,due_date[,memo]`
/// Payments: `id,customer_id,amount,currency,date[,reference,memo]` (empty customer_id: unidentified payer)
/// Customers: `id,number,name[,billing_address,payment_terms_days,credit_limit,credit_currency,risk_rating,analyst_id,time_zone,language,portal_billing,tags,portal_upload_days]`
/// Exchange rates: `from_currency,to_currency,date,rate[,source]` (1 from = rate to, in force from the date)
/// Amounts are decimal text in the currency's units ("1,000.50"); never more decimals than the currency has.
public enum ImportFiles {
    public enum Kind: String, Sendable, CaseIterable {
        case invoices, payments, customers

        public var required: [String] {
            switch self {
            case .invoices: ["id", "customer_id", "number", "amount", "currency", "issue_date", "due_date"]
            case .payments: ["id", "customer_id", "amount", "currency", "date"]
            case .customers: ["id", "number", "name"]
            }
        }
    }

    /// Reads one row's values by column name, with errors naming line and column.
    struct Row {
        let table: CSVTable
        let line: Int
        let fields: [String]

        func text(_ name: String) -> String {
            table.column(name).map { fields[$0 - 1].trimmingCharacters(in: .whitespaces) } ?? ""
        }

        func fail(_ name: String, _ message: String) -> CSVError {
            .invalidValue(line: line, column: table.column(name) ?? 0, name: name, message)
        }

        func required(_ name: String) throws(CSVError) -> String {
            let value = text(name)
            guard !value.isEmpty else { throw fail(name, "is empty") }
            return value
        }

        func currency(_ name: String) throws(CSVError) -> Currency {
            let code = try required(name)
            guard let currency = Currency(code: code) else { throw fail(name, "\"\(code)\" is not an ISO 4217 currency") }
            return currency
        }

        func money(_ name: String, currency: Currency) throws(CSVError) -> Money {
            let text = try required(name)
            do throws(MoneyError) {
                return try Money(parsing: text, currency: currency)
            } catch {
                throw fail(name, error.description)
            }
        }

        func date(_ name: String) throws(CSVError) -> String {
            let text = try required(name)
            guard CivilDate(text) != nil else { throw fail(name, "\"\(text)\" is not a date (YYYY-MM-DD)") }
            return text
        }

        func integer(_ name: String, default value: Int32) throws(CSVError) -> Int32 {
            let text = text(name)
            if text.isEmpty { return value }
            guard let number = Int32(text) else { throw fail(name, "\"\(text)\" is not a whole number") }
            return number
        }
    }

    /// Ledger entries from an invoices or payments file, each with its CSV line.
    public static func entries(_ table: CSVTable, kind: Kind) throws(CSVError) -> [(line: Int, entry: Dunlin_V1_LedgerEntryRecord)] {
        try table.require(kind.required)
        var result: [(Int, Dunlin_V1_LedgerEntryRecord)] = []
        result.reserveCapacity(table.rows.count)
        for (line, fields) in table.rows {
            let row = Row(table: table, line: line, fields: fields)
            var record = Dunlin_V1_LedgerEntryRecord()
            record.id = try row.required("id")
            let currency = try row.currency("currency")
            let amount = try row.money("amount", currency: currency)
            guard amount.isPositive else { throw row.fail("amount", "must be greater than zero") }
            record.amount = Dunlin_V1_Amount(amount)
            record.customerID = row.text("customer_id")
            record.memo = row.text("memo")
            switch kind {
            case .invoices:
                record.kind = "invoice"
                guard !record.customerID.isEmpty else { throw row.fail("customer_id", "is empty") }
                record.reference = try row.required("number")
                record.date = try row.date("issue_date")
                record.dueDate = try row.date("due_date")
                if record.dueDate < record.date {
                    throw row.fail("due_date", "due date \(record.dueDate) is before the issue date \(record.date)")
                }
            case .payments:
                record.kind = "payment"
                record.date = try row.date("date")
                record.reference = row.text("reference")
            case .customers:
                preconditionFailure("customers are not ledger entries")
            }
            result.append((line, record))
        }
        return result
    }

    /// Customers from a customers file, each with its CSV line.
    public static func customers(_ table: CSVTable) throws(CSVError) -> [(line: Int, customer: Dunlin_V1_CustomerRecord)] {
        try table.require(Kind.customers.required)
        var result: [(Int, Dunlin_V1_CustomerRecord)] = []
        // A customers file is a set: the same id on two lines would let the later row replace
        // the earlier one silently, so it is refused, naming both lines.
        var firstLine: [String: Int] = [:]
        for (line, fields) in table.rows {
            let row = Row(table: table, line: line, fields: fields)
            var record = Dunlin_V1_CustomerRecord()
            record.id = try row.required("id")
            if let first = firstLine[record.id] {
                throw row.fail("id", "customer \(record.id) is also on line \(first); each customer may appear once per file")
            }
            firstLine[record.id] = line
            record.number = try row.required("number")
            record.name = try row.required("name")
            record.billingAddress = row.text("billing_address")
            record.paymentTermsDays = try row.integer("payment_terms_days", default: 30)
            if !row.text("credit_limit").isEmpty {
                record.creditLimit = Dunlin_V1_Amount(try row.money("credit_limit", currency: try row.currency("credit_currency")))
            }
            record.riskRating = try row.integer("risk_rating", default: 3)
            record.analystID = row.text("analyst_id")
            record.timeZone = row.text("time_zone").isEmpty ? "UTC" : row.text("time_zone")
            if TimeZone(identifier: record.timeZone) == nil {
                throw row.fail("time_zone", "\"\(record.timeZone)\" is not an IANA time zone")
            }
            record.language = row.text("language").isEmpty ? "en" : row.text("language")
            record.portalBilling = row.text("portal_billing")
            if !row.text("portal_upload_days").isEmpty { record.portalUploadDays = try row.integer("portal_upload_days", default: 0) }
            record.tags = row.text("tags").split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            result.append((line, record))
        }
        return result
    }

    /// Exchange rates, each with its CSV line; a pair's day twice in one file is refused, naming
    /// both lines (one would silently replace the other).
    public static func exchangeRates(_ table: CSVTable) throws(CSVError) -> [(line: Int, rate: Dunlin_V1_ExchangeRateRecord)] {
        try table.require(["from_currency", "to_currency", "date", "rate"])
        var result: [(Int, Dunlin_V1_ExchangeRateRecord)] = []
        var firstLine: [String: Int] = [:]
        for (line, fields) in table.rows {
            let row = Row(table: table, line: line, fields: fields)
            let from = try row.currency("from_currency")
            let to = try row.currency("to_currency")
            guard from != to else { throw row.fail("to_currency", "a rate converts one currency into another, not \(from) into itself") }
            guard let date = CivilDate(try row.date("date")) else { throw row.fail("date", "is not a date") }
            let text = try row.required("rate")
            do throws(MoneyError) {
                _ = try ExchangeRate(from: from, to: to, rate: text)
            } catch {
                throw row.fail("rate", "\"\(text)\" is not a positive decimal rate of at most 12 decimals (1 \(from) = rate \(to))")
            }
            let rate = DatedRate(from: from, to: to, date: date, rate: text, source: row.text("source"))
            if let first = firstLine[rate.id] {
                throw row.fail("date", "the \(from)/\(to) rate of \(date) is also on line \(first); each pair's day may appear once per file")
            }
            firstLine[rate.id] = line
            result.append((line, Dunlin_V1_ExchangeRateRecord(rate)))
        }
        return result
    }
}
