import Crypto
import DunlinCore
import DunlinSync
import Foundation
import GRDB

struct BankFileRow: BodyRow {
    typealias Record = BankFile
    static let recordKind = RecordKind.bankFile

    var id: String
    var imported_at: Int64
    var body: String
    var deleted: Bool

    init(_ file: BankFile) {
        id = file.id
        imported_at = Activity.milliseconds(of: file.importedAt)
        body = Self.body(file)
        deleted = false
    }

    enum Columns {
        static let importedAt = Column(CodingKeys.imported_at)
    }
}

struct BankReceiptRow: BodyRow {
    typealias Record = CashReceipt
    static let recordKind = RecordKind.bankReceipt

    var id: String
    var file_id: String
    var outcome: String
    var customer_id: String
    var payment_id: String
    var booking_date: String
    var body: String
    var deleted: Bool

    init(_ receipt: CashReceipt) {
        id = receipt.id
        file_id = receipt.fileID
        outcome = receipt.outcome.rawValue
        customer_id = receipt.customerID
        payment_id = receipt.paymentID
        booking_date = receipt.receipt.bookingDate.description
        body = Self.body(receipt)
        deleted = false
    }

    enum Columns {
        static let fileID = Column(CodingKeys.file_id)
        static let outcome = Column(CodingKeys.outcome)
        static let bookingDate = Column(CodingKeys.booking_date)
    }
}

/// The ids of the cash kinds, from digests (SHA-256, first 128 bits in hex): a receipt's from its
/// bank identity, a file's from its bytes. The same identity or the same bytes, wherever and
/// however often imported, give the same id; the id says nothing of what it was made from.
public enum CashIDs {
    public static func receipt(identity: String) -> String {
        RecordID.prefix(for: .bankReceipt) + hex(SHA256.hash(data: Data(identity.utf8)))
    }

    public static func file(digest: SHA256.Digest) -> String {
        RecordID.prefix(for: .bankFile) + hex(digest)
    }

    private static func hex(_ digest: SHA256.Digest) -> String {
        digest.prefix(16).map { byte in
            let digits = String(byte, radix: 16)
            return digits.count == 1 ? "0" + digits : digits
        }.joined()
    }
}
