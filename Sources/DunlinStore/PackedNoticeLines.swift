import DunlinCore
import DunlinSync
import Foundation
import GRDB

/// A dunning notice's lines as `dunning_notice.lines` holds them (migration "v35: notice lines
/// packed"), beside the rest of the notice in `body` as canonical JSON. A full-size first run
/// writes 47,500 notices of 890,000 lines: as JSON objects in the body that was some 140 MB, a
/// line costing ~150 bytes to write and to escape-check; packed, a line is ~40 bytes copied
/// as they are. Only the store's column changes: the record, its sync form and the wire are
/// what they were (``DunningNoticeRow/record()`` puts the lines back).
///
/// The form: one version byte (1), then each line in order: `invoice_id` and `reference` (each a
/// LEB128 byte count, then its UTF-8), the due date (days since 1970-01-01), days past due, the
/// balance's currency code (as a string) and its minor units; the integers zigzag LEB128
/// varints. Nothing follows the last line.
enum PackedNoticeLines {
    static let version: UInt8 = 1

    /// No lines: the column's default.
    static let empty = Data([version])

    static func pack(_ lines: [DunningNoticeLine]) -> Data {
        var out: [UInt8] = [version]
        out.reserveCapacity(1 + 48 * lines.count)
        for line in lines {
            text(line.invoiceID, into: &out)
            text(line.reference, into: &out)
            signed(Int64(line.dueDate.daysSinceEpoch), into: &out)
            signed(Int64(line.daysPastDue), into: &out)
            text(line.balance.currency.code, into: &out)
            signed(line.balance.minorUnits, into: &out)
        }
        return Data(out)
    }

    /// The lines `data` holds; a form this version cannot read is refused naming the notice and
    /// the byte (SQLITE_MISMATCH, as the other stored forms).
    static func unpack(_ data: Data, id: String) throws -> [DunningNoticeLine] {
        try data.withUnsafeBytes { buffer throws -> [DunningNoticeLine] in
            var reader = Reader(bytes: buffer, id: id)
            guard try reader.byte() == version else { throw reader.refusal("an unknown version") }
            var lines: [DunningNoticeLine] = []
            while !reader.atEnd {
                let invoiceID = try reader.text(), reference = try reader.text()
                let due = try reader.signed(), days = try reader.signed()
                let code = try reader.text(), minor = try reader.signed()
                guard let due = Int32(exactly: due), let days = Int32(exactly: days) else { throw reader.refusal("a day out of range") }
                guard let currency = Currency(code: code) else { throw reader.refusal("an unknown currency \(code)") }
                guard minor.magnitude <= Money.maximumMinorUnits.magnitude else { throw reader.refusal("an amount out of range") }
                lines.append(DunningNoticeLine(
                    invoiceID: invoiceID, reference: reference, dueDate: CivilDate(daysSinceEpoch: Int(due)), daysPastDue: Int(days),
                    balance: Money(minorUnits: minor, currency: currency)
                ))
            }
            return lines
        }
    }

    private static func unsigned(_ value: UInt64, into out: inout [UInt8]) {
        var value = value
        while value >= 0x80 {
            out.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        out.append(UInt8(value))
    }

    private static func signed(_ value: Int64, into out: inout [UInt8]) {
        unsigned(UInt64(bitPattern: (value << 1) ^ (value >> 63)), into: &out)
    }

    private static func text(_ value: String, into out: inout [UInt8]) {
        unsigned(UInt64(value.utf8.count), into: &out)
        out.append(contentsOf: value.utf8)
    }

    private struct Reader {
        let bytes: UnsafeRawBufferPointer
        let id: String
        var offset = 0

        var atEnd: Bool { offset == bytes.count }

        func refusal(_ what: String) -> DatabaseError {
            DatabaseError(resultCode: .SQLITE_MISMATCH, message: "dunning_notice.lines of \(id) holds \(what) at byte \(offset)")
        }

        mutating func byte() throws -> UInt8 {
            guard offset < bytes.count else { throw refusal("too few bytes") }
            defer { offset += 1 }
            return bytes[offset]
        }

        mutating func unsigned() throws -> UInt64 {
            var value: UInt64 = 0
            for shift in stride(from: 0, to: 64, by: 7) {
                let byte = try byte()
                let bits = UInt64(byte & 0x7F)
                guard shift < 63 || bits <= 1 else { throw refusal("a varint beyond 64 bits") }
                value |= bits << shift
                if byte < 0x80 { return value }
            }
            throw refusal("a varint beyond 64 bits")
        }

        mutating func signed() throws -> Int64 {
            let value = try unsigned()
            return Int64(bitPattern: (value >> 1) ^ (0 &- (value & 1)))
        }

        mutating func text() throws -> String {
            let count = try unsigned()
            guard let length = Int(exactly: count), length <= bytes.count - offset else { throw refusal("a string longer than what is left") }
            guard let value = String(validating: UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + length]), as: UTF8.self) else {
                throw refusal("a string that is not UTF-8")
            }
            offset += length
            return value
        }
    }

    /// Migration "v35: notice lines packed": the column, then every notice's lines moved out of
    /// its body. A body this version cannot read is left as it was (reading it fails as before).
    static func migrate(_ db: Database) throws {
        try db.execute(sql: "ALTER TABLE dunning_notice ADD COLUMN lines BLOB NOT NULL DEFAULT x'01'")
        let rows = try Row.fetchCursor(db, sql: "SELECT id, body FROM dunning_notice")
        var moved: [(id: String, body: String, lines: Data)] = []
        while let row = try rows.next() {
            let id: String = row["id"], body: String = row["body"]
            guard case .object(let fields) = try? FormColumn.decode(body, "dunning_notice", "body", id: id),
                  let notice = try? DunningNotice(fieldMap: fields)
            else { continue }
            let packed = DunningNoticeRow(notice)
            moved.append((id, packed.body, packed.lines))
        }
        let update = try db.makeStatement(sql: "UPDATE dunning_notice SET body = ?, lines = ? WHERE id = ?")
        for notice in moved { try update.execute(arguments: [notice.body, notice.lines, notice.id]) }
    }
}
