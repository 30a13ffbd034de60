import Foundation

/// Which way money moved on a bank account line.
public enum ReceiptDirection: String, Sendable, Hashable, Codable, CaseIterable {
    /// Money in: a receipt to match to invoices.
    case credit
    /// Money out, or a credit reversed or returned: listed, never posted as a payment.
    case debit
    /// A line that is neither (a loan detail, a bank's own code): listed only.
    case other
}

/// One line of a bank file in the form every format is read into (issue 12): BAI2, camt.053/054,
/// MT940 and lockbox files all become these, with the file and line each came from.
public struct BankReceipt: Sendable, Hashable, Codable {
    /// Stable across a re-sent file, an overlapping notification and statement, and a second
    /// import: built from the bank's own references (each format documents how), never from the
    /// file's name or the order of import.
    public var identity: String
    /// "bai2", "camt053", "camt054", "mt940", "lockbox".
    public var format: String
    /// The receiving account as the bank names it.
    public var account: String
    /// Positive; `direction` says which way.
    public var amount: Money
    public var direction: ReceiptDirection
    public var bookingDate: CivilDate
    public var valueDate: CivilDate?
    /// The bank's transaction code (BAI2 type code, camt bank transaction code, MT940 type).
    public var typeCode: String
    public var bankReference: String
    /// The payer's end-to-end id, when it identifies something ("NOTPROVIDED" is dropped).
    public var endToEndID: String
    public var payerName: String
    public var payerAccount: String
    /// The remittance text as the bank passed it on.
    public var remittance: String
    /// Structured creditor references (ISO 11649 RF, or the invoice numbers of a lockbox item).
    public var creditorReferences: [String]
    /// The 1-based line of the file it came from.
    public var line: Int

    public init(
        identity: String, format: String, account: String, amount: Money, direction: ReceiptDirection, bookingDate: CivilDate,
        valueDate: CivilDate? = nil, typeCode: String = "", bankReference: String = "", endToEndID: String = "", payerName: String = "",
        payerAccount: String = "", remittance: String = "", creditorReferences: [String] = [], line: Int
    ) {
        self.identity = identity
        self.format = format
        self.account = account
        self.amount = amount
        self.direction = direction
        self.bookingDate = bookingDate
        self.valueDate = valueDate
        self.typeCode = typeCode
        self.bankReference = bankReference
        self.endToEndID = endToEndID
        self.payerName = payerName
        self.payerAccount = payerAccount
        self.remittance = remittance
        self.creditorReferences = creditorReferences
        self.line = line
    }
}

extension DomainError {
    /// A bank file refused whole: INVALID_ARGUMENT on the field "file", the message starting with
    /// the 1-based line where the reader found what was wrong.
    public static func bankFile(line: Int, _ message: String) -> DomainError {
        .invalid(field: "file", "line \(line): \(message)")
    }
}

/// The text of a bank file as lines: UTF-8 (a byte-order mark dropped) or, failing that, Latin-1;
/// line ends `\r\n`, `\n` or `\r`, mixed as they come; each line numbered from 1.
enum BankFileLines {
    static func split(_ data: Data) -> [(number: Int, text: Substring)] {
        var bytes = data
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes = bytes.dropFirst(3) }
        let text = String(data: bytes, encoding: .utf8) ?? String(decoding: bytes.map { UInt16($0) }, as: UTF16.self)
        // Split on the bytes: a line end is always a grapheme of its own (CR LF together), so this
        // is the split by Characters, without their cost.
        var lines: [(number: Int, text: Substring)] = []
        let utf8 = text.utf8
        var start = utf8.startIndex, index = start
        while index != utf8.endIndex {
            let byte = utf8[index]
            guard byte == 0x0A || byte == 0x0D else {
                utf8.formIndex(after: &index)
                continue
            }
            lines.append((lines.count + 1, text[start..<index]))
            utf8.formIndex(after: &index)
            if byte == 0x0D, index != utf8.endIndex, utf8[index] == 0x0A { utf8.formIndex(after: &index) }
            start = index
        }
        lines.append((lines.count + 1, text[start...]))
        return lines
    }

    /// `text` without the blanks around it: tabs and space separators (what
    /// `trimmingCharacters(in: .whitespaces)` trims), found without bridging to NSString.
    static func trimmed(_ text: Substring) -> Substring {
        func blank(_ scalar: Unicode.Scalar) -> Bool {
            scalar.isASCII ? scalar == " " || scalar == "\t" : scalar.properties.generalCategory == .spaceSeparator
        }
        let scalars = text.unicodeScalars
        guard let first = scalars.firstIndex(where: { !blank($0) }), let last = scalars.lastIndex(where: { !blank($0) }) else {
            return text[text.endIndex...]
        }
        return Substring(scalars[first...last])
    }

    /// Whether `text` is one or more ASCII digits.
    static func isDigits<Text: StringProtocol>(_ text: Text) -> Bool {
        !text.utf8.isEmpty && text.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
    }
}
