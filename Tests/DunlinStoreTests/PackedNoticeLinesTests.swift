import DunlinCore
import DunlinSync
@testable import DunlinStore
import Foundation
import GRDB
import Testing

/// A notice's lines in their own packed column (``PackedNoticeLines``, migration v35): read back
/// exactly as written, a form this version cannot read refused naming the notice, and a store
/// written before the column reading every notice as it did.
@Suite("Dunning notice lines, packed")
struct PackedNoticeLinesTests {
    static let currencies = [Currency(code: "USD")!, Currency(code: "JPY")!, Currency(code: "KWD")!]
    static let texts = ["", "INV-1", "q\"b\\s/é\u{1}\t\n\u{7f}\u{2028}", "Globe Retail", "DN:C1:30:INV-9", "日本", String(repeating: "x", count: 300)]

    static func lines(seed: UInt64, count: Int) -> [DunningNoticeLine] {
        var random = SeededGenerator(seed: seed)
        let minors: [Int64] = [0, 1, -1, 127, 128, -Money.maximumMinorUnits, Money.maximumMinorUnits]
        return (0..<count).map { _ in
            DunningNoticeLine(
                invoiceID: texts[Int.random(in: 0..<texts.count, using: &random)], reference: texts[Int.random(in: 0..<texts.count, using: &random)],
                dueDate: CivilDate("1970-01-01")!.adding(days: Int.random(in: -800_000...2_900_000, using: &random)),
                daysPastDue: Int.random(in: Int(Int32.min)...Int(Int32.max), using: &random),
                balance: Money(
                    minorUnits: Bool.random(using: &random) ? minors[Int.random(in: 0..<minors.count, using: &random)]
                        : Int64.random(in: -Money.maximumMinorUnits...Money.maximumMinorUnits, using: &random),
                    currency: currencies[Int.random(in: 0..<currencies.count, using: &random)]
                )
            )
        }
    }

    @Test("lines come back exactly as written: any text, day and amount in range, none, one or many", arguments: [1, 2, 3, 4] as [UInt64])
    func roundTrip(seed: UInt64) throws {
        for count in [0, 1, 2, 40] {
            let lines = Self.lines(seed: seed &* 100 &+ UInt64(count), count: count)
            #expect(try PackedNoticeLines.unpack(PackedNoticeLines.pack(lines), id: "N") == lines)
        }
    }

    @Test("a form this version cannot read is refused naming the notice and the byte", arguments: [
        ([], "too few bytes at byte 0"),
        ([2], "an unknown version at byte 1"),
        ([1, 5, 65], "a string longer than what is left at byte 2"),
        ([1, 1, 0xFF, 0], "a string that is not UTF-8 at byte 2"),
        ([1, 0, 0, 0, 0, 3, 85, 83, 68], "too few bytes at byte 9"),
        ([1, 0, 0, 0, 0, 3, 81, 81, 81, 0], "an unknown currency QQQ at byte 10"),
        ([1, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F], "a varint beyond 64 bits at byte 13"),
        ([1, 0, 0, 0x80, 0x80, 0x80, 0x80, 0x10, 0, 3, 85, 83, 68, 0], "a day out of range at byte 14"),
    ] as [([UInt8], String)])
    func refused(bytes: [UInt8], message: String) {
        #expect {
            try PackedNoticeLines.unpack(Data(bytes), id: "DN:C1:30:INV-1")
        } throws: { error in
            guard let error = error as? DatabaseError else { return false }
            return error.resultCode == .SQLITE_MISMATCH && error.message == "dunning_notice.lines of DN:C1:30:INV-1 holds \(message)"
        }
    }

    static func notice(_ id: String, lines: [DunningNoticeLine]) -> DunningNotice {
        DunningNotice(
            id: id, runID: "R-2026-03-08", customerID: "C1", policyID: "POL", level: 2, levelDays: 30, channel: .email, template: "second",
            asOf: CivilDate("2026-03-08")!, anchorInvoiceID: lines.first?.invoiceID ?? "", lines: lines,
            charges: [DunningCharge(total: Money(minorUnits: 100, currency: .usd), fee: Money(minorUnits: 2_500, currency: .usd))],
            createdAt: Date(timeIntervalSince1970: 1_772_960_000)
        )
    }

    @Test("a store written before the column opens with every notice's lines moved out of its body, read as they were; a body it cannot read still refuses")
    func migration() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("dunlin-notice-lines-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("tenant.sqlite").path
        let notices = [
            Self.notice("DN:C1:30:A", lines: Self.lines(seed: 7, count: 12)), Self.notice("DN:C1:60:B", lines: []),
            Self.notice("DN:C1:90:C", lines: Self.lines(seed: 8, count: 1)),
        ]
        do {
            let old = try DatabaseQueue(path: path)
            try TenantSchema.migrator.migrate(old, upTo: "v40: statement items")
            try old.write { db in
                // The notices as the store wrote them before v35: the whole sync form in the body.
                for notice in notices + [Self.notice("DN:C1:120:D", lines: [])] {
                    let body = notice.id == "DN:C1:120:D" ? "{\"id\":1}" : String(decoding: notice.canonicalJSON, as: UTF8.self)
                    try db.execute(
                        sql: "INSERT INTO dunning_notice (id, run_id, customer_id, status, as_of, body, delivery, deleted) VALUES (?, ?, ?, ?, ?, ?, '', 0)",
                        arguments: [notice.id, notice.runID, notice.customerID, notice.status.rawValue, notice.asOf.description, body]
                    )
                }
            }
            try old.close()
        }
        let store = try TenantStore(path: path)
        for notice in notices {
            #expect(try store.dunningNotice(notice.id) == notice)
            let stored = try store.writer.read { db in try Row.fetchOne(db, sql: "SELECT body FROM dunning_notice WHERE id = ?", arguments: [notice.id]) }
            #expect((stored?["body"] as String?)?.contains("\"lines\"") == false)
        }
        // Not a notice before the migration, and not one after: its read still refuses.
        #expect(throws: DomainError.self) { try store.dunningNotice("DN:C1:120:D") }
    }

    @Test("a notice written and changed in the store reads back with its lines, and its sync form is the whole notice")
    func storeRoundTrip() throws {
        let store = try TenantStore()
        let notice = Self.notice("DN:C1:30:A", lines: Self.lines(seed: 9, count: 5))
        try store.writer.write { db in try TenantStore.insertNew(DunningNoticeRow(notice), db, insert: DunningNoticeRow.insertCached) }
        #expect(try store.dunningNotice(notice.id) == notice)
        var released = notice
        released.status = .released
        released.lines.removeLast()
        try store.writer.write { db in try TenantStore.save(DunningNoticeRow(released), db) }
        #expect(try store.dunningNotice(notice.id) == released)
        let fields = try store.writer.read { db in try DunningNoticeRow.fetchOne(db, key: notice.id).map { try TenantStore.liveFields($0) } }
        var expected = released.fieldMap
        expected[RecordCoding.deletedField] = .bool(false)
        #expect(fields == expected)
    }
}
