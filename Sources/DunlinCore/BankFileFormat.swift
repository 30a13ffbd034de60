import Foundation

/// The kinds of bank file Dunlin reads into ``BankReceipt``s, as `dunlin cash import --format`
/// names them; `auto` asks ``detect(_:)`` to tell from the file's first bytes.
public enum BankFileFormat: String, Sendable, Hashable, Codable, CaseIterable {
    case auto
    /// BAI2 balance and transaction reporting (``BAI2``).
    case bai2
    /// ISO 20022 camt.053, the bank-to-customer statement.
    case camt053
    /// ISO 20022 camt.054, the bank-to-customer debit and credit notification.
    case camt054
    /// SWIFT MT940 customer statement (``MT940``).
    case mt940
    /// BAI lockbox transmission (``Lockbox``).
    case lockbox

    /// The largest bank file Dunlin reads: 256 MiB. Every reader is handed the whole file as `Data`
    /// (the camt reader builds the document in memory), so a caller checks a file's size against
    /// this before reading it, and refuses a larger one without loading it.
    public static let maximumFileBytes = 256 * 1024 * 1024

    /// Refuses, OUT_OF_RANGE, a file over ``maximumFileBytes``.
    public static func checkSize(_ byteCount: Int) throws(DomainError) {
        guard byteCount <= maximumFileBytes else {
            throw .outOfRange(field: "file", "the file is \(byteCount) bytes; a bank file is at most \(maximumFileBytes)")
        }
    }

    /// How many leading bytes ``detect(_:)`` looks at: enough for an XML declaration, comments and
    /// the root element's namespace before the camt message element.
    public static let detectionWindow = 64 * 1024

    /// The format a file's first bytes show, or nil when they show none of them. A UTF-8 byte-order
    /// mark and leading blank lines are passed over. `01,` starts BAI2; `{1:`, `{4:` or `:20:`
    /// MT940; a `1` record with no comma in its first line a lockbox file; `<` an XML document,
    /// camt.053 when its message element is `BkToCstmrStmt` (or its namespace `camt.053`) and
    /// camt.054 when `BkToCstmrDbtCdtNtfctn` (or `camt.054`), whichever comes first. Never `auto`.
    public static func detect(_ data: Data) -> BankFileFormat? {
        var bytes = data.prefix(detectionWindow)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes = bytes.dropFirst(3) }
        bytes = bytes.drop { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }
        let head = String(decoding: bytes, as: UTF8.self)
        if head.hasPrefix("<") { return xmlFormat(head) }
        if head.hasPrefix("01,") { return .bai2 }
        if head.hasPrefix("{1:") || head.hasPrefix("{4:") || head.hasPrefix(":20:") { return .mt940 }
        let firstLine = head.prefix { $0 != "\n" && $0 != "\r" }
        if firstLine.hasPrefix("1"), firstLine.count > 1, !firstLine.contains(",") { return .lockbox }
        return nil
    }

    private static func xmlFormat(_ head: String) -> BankFileFormat? {
        let markers: [(String, BankFileFormat)] = [
            ("BkToCstmrStmt", .camt053), ("camt.053", .camt053), ("BkToCstmrDbtCdtNtfctn", .camt054), ("camt.054", .camt054),
        ]
        let found = markers.compactMap { marker, format in head.range(of: marker).map { ($0.lowerBound, format) } }
        return found.min { $0.0 < $1.0 }?.1
    }
}
