import DunlinCore
import DunlinStore
import DunlinSync
import DunlinWire
import Foundation
import SwiftProtobuf
import Testing

/// The packed forms written by hand (DunlinSync ``PackedLedgerEntry``, ``PackedActivity``; the
/// store does not link SwiftProtobuf) against the messages protoc generates from sync.proto: the
/// same bytes both ways, so a client in any language reads them with its own protobuf library.
@Suite struct PackedFormTests {
    static let php = Currency(code: "PHP")!
    static let day = CivilDate(year: 2026, month: 11, day: 1)!

    static let entries: [LedgerEntry] = [
        LedgerEntry(id: "I1", kind: .invoice, customerID: "C1", amount: Money(minorUnits: 1_250_050, currency: php), date: day,
                    dueDate: CivilDate(year: 2026, month: 12, day: 1)!, reference: "INV-1", memo: "Kasunduan № 7 — ₱"),
        LedgerEntry(id: "ADJ", kind: .adjustment, customerID: "C1", amount: Money(minorUnits: -50_000, currency: php), date: day, targetID: "I1"),
        LedgerEntry(id: "U1", kind: .payment, amount: Money(minorUnits: Money.maximumMinorUnits, currency: php), date: day, sourceID: "", memo: ""),
    ]

    static let activities: [Activity] = [
        Activity(id: "A1", customerID: "C1", kind: .call, direction: .outbound, outcome: "left voicemail", authorID: "u-ana",
                 occurredAt: Activity.instant(milliseconds: 1_795_000_000_123), body: "said \"Friday\"\t/ maybe"),
        Activity(id: "A2", customerID: "C1", kind: .note, direction: .undirected, authorID: "u-ana", occurredAt: Activity.instant(milliseconds: 0)),
    ]

    @Test("a packed ledger entry is the bytes SwiftProtobuf writes for the same LedgerEntryForm, and each reads the other's")
    func ledgerEntriesMatchTheGeneratedMessage() throws {
        for entry in Self.entries {
            let packed = PackedLedgerEntry(entry)
            let generated = Dunlin_V1_LedgerEntryForm.with {
                $0.kind = entry.kind.rawValue
                $0.customerID = entry.customerID
                $0.currency = entry.amount.currency.code
                $0.amount = entry.amount.minorUnits
                $0.date = entry.date.description
                if let due = entry.dueDate { $0.dueDate = due.description }
                $0.reference = entry.reference
                if let source = entry.sourceID { $0.sourceID = source }
                if let target = entry.targetID { $0.targetID = target }
                $0.memo = entry.memo
            }
            let bytes: Data = try generated.serializedBytes()
            #expect(packed.packed == bytes, "\(entry.id)")
            let read = try Dunlin_V1_LedgerEntryForm(serializedBytes: packed.packed)
            #expect(read == generated, "\(entry.id)")
            #expect(read.hasSourceID == (entry.sourceID != nil) && read.hasTargetID == (entry.targetID != nil) && read.hasDueDate == (entry.dueDate != nil))
            #expect(try PackedLedgerEntry(packed: bytes) == packed, "\(entry.id)")
            #expect(packed.entry(id: entry.id) == entry)
        }
    }

    @Test("a packed activity is the bytes SwiftProtobuf writes for the same ActivityForm, and each reads the other's")
    func activitiesMatchTheGeneratedMessage() throws {
        for activity in Self.activities {
            let packed = PackedActivity(activity)
            let generated = Dunlin_V1_ActivityForm.with {
                $0.customerID = activity.customerID
                $0.kind = activity.kind.rawValue
                $0.direction = activity.direction.rawValue
                $0.outcome = activity.outcome
                $0.authorID = activity.authorID
                $0.occurredAt = Activity.milliseconds(of: activity.occurredAt)
                $0.body = activity.body
            }
            let bytes: Data = try generated.serializedBytes()
            #expect(packed.packed == bytes, "\(activity.id)")
            #expect(try Dunlin_V1_ActivityForm(serializedBytes: packed.packed) == generated)
            #expect(try PackedActivity(packed: bytes) == packed)
            #expect(packed.activity(id: activity.id) == activity)
        }
    }

    @Test("a reader skips fields it does not know, as protobuf readers do")
    func unknownFieldsAreSkipped() throws {
        let packed = PackedLedgerEntry(Self.entries[0])
        var extended = packed.packed
        // field 15, varint 7; field 16, 3 bytes; field 17, fixed64; field 18, fixed32.
        extended.append(contentsOf: [0x78, 0x07, 0x82, 0x01, 0x03, 0x61, 0x62, 0x63, 0x89, 0x01, 1, 2, 3, 4, 5, 6, 7, 8, 0x95, 0x01, 1, 2, 3, 4])
        #expect(try PackedLedgerEntry(packed: extended) == packed)
    }

    @Test("every cut and every one-byte change of packed bytes reads or fails with a decoding error, never traps")
    func malformedBytesNeverTrap() {
        var generator = SystemRandomNumberGenerator()
        for form in [PackedLedgerEntry(Self.entries[0]).packed, PackedActivity(Self.activities[0]).packed] {
            for cut in 0..<form.count {
                _ = try? PackedLedgerEntry(packed: form.prefix(cut))
                _ = try? PackedActivity(packed: form.prefix(cut))
            }
            for _ in 0..<2000 {
                var changed = form
                changed[Int.random(in: 0..<changed.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
                _ = try? PackedLedgerEntry(packed: changed)
                _ = try? PackedActivity(packed: changed)
            }
        }
        let cases: [(Data, String)] = [
            (Data([0x0A, 0x05, 0x61]), "a length beyond"),
            (Data([0x20] + [UInt8](repeating: 0xFF, count: 11)), "longer than ten bytes"),
            (Data([0x20, 0x80]), "past the end"),
            (Data([0x0A, 0x02, 0xC3, 0x28]), "not UTF-8"),
            (Data([0x00, 0x01]), "field number 0"),
            (Data([0x0B]), "wire type 3"),
            (Data([0x08, 0x01]), "kind is not a string"),
        ]
        for (bytes, reason) in cases {
            #expect(throws: PackedForm.DecodingError.self) { try PackedLedgerEntry(packed: bytes) }
            do {
                _ = try PackedLedgerEntry(packed: bytes)
            } catch {
                #expect(error.description.contains(reason), "\(error)")
            }
        }
    }
}
