import DunlinCore
import DunlinSync
import Foundation
import Testing

@Suite struct ChangeVectorTests {
    @Test func comparesEntryByEntry() {
        let a = ChangeVector(["srv": 5, "lap": 2])
        #expect(a.compare(a) == .equal)
        #expect(a.compare(ChangeVector(["srv": 4, "lap": 2])) == .dominates)
        #expect(a.compare(ChangeVector(["srv": 5, "lap": 2, "x": 1])) == .dominated)
        #expect(a.compare(ChangeVector(["srv": 6, "lap": 1])) == .concurrent)
        #expect(ChangeVector(["srv": 0]).compare(ChangeVector()) == .equal)
    }

    @Test func includesAWriteByItsSequenceOrItsDot() {
        let base = ChangeVector(["srv": 10, "lap": 3])
        #expect(base.includes(Stamp(authority: "srv", seq: 10, at: 0)))
        #expect(!base.includes(Stamp(authority: "srv", seq: 11, at: 0)))
        // The replica's own write, absorbed at a sequence number it has not pulled yet: seen.
        #expect(base.includes(Stamp(authority: "srv", seq: 12, dot: Dot(replica: "lap", counter: 3), at: 0)))
        #expect(!base.includes(Stamp(authority: "srv", seq: 12, dot: Dot(replica: "lap", counter: 4), at: 0)))
        #expect(!base.includes(Stamp(authority: "srv", seq: 12, dot: Dot(replica: "other", counter: 1), at: 0)))
    }
}

@Suite struct MergeTests {
    func change(_ replica: String, _ counter: UInt64, base: UInt64, at: Int64, _ fields: FieldMap) -> RecordChange {
        RecordChange(kind: "contact", id: "c1", dot: Dot(replica: replica, counter: counter),
                     base: ChangeVector(["srv": base, replica: counter - 1]), fields: fields, at: at)
    }

    func stamp(_ seq: UInt64, _ change: RecordChange) -> Stamp {
        Stamp(authority: "srv", seq: seq, dot: change.dot, at: change.at)
    }

    @Test func concurrentEditsOfDifferentFieldsBothLand() {
        let create = change("a", 1, base: 0, at: 100, ["name": .string("Ana"), "phone": .string("1"), "_deleted": .bool(false)])
        let created = Merge.apply(create, to: nil, stamp: stamp(1, create)).record
        let fromA = change("a", 2, base: 1, at: 200, ["name": .string("Ana Cruz")])
        let fromB = change("b", 1, base: 1, at: 150, ["phone": .string("2")])
        let afterA = Merge.apply(fromA, to: created, stamp: stamp(2, fromA))
        let afterB = Merge.apply(fromB, to: afterA.record, stamp: stamp(3, fromB))
        #expect(afterB.conflicts.isEmpty)
        #expect(afterB.record.fields["name"] == .string("Ana Cruz"))
        #expect(afterB.record.fields["phone"] == .string("2"))
        #expect(afterB.record.vector == ChangeVector(["srv": 3]))
    }

    @Test func concurrentEditsOfOneFieldKeepTheLoserAsAConflict() {
        let create = change("a", 1, base: 0, at: 100, ["phone": .string("1")])
        let created = Merge.apply(create, to: nil, stamp: stamp(1, create)).record
        let later = change("a", 2, base: 1, at: 300, ["phone": .string("later")])
        let earlier = change("b", 1, base: 1, at: 200, ["phone": .string("earlier")])
        // The later wall clock wins whichever arrives first; the other value is kept.
        for order in [[later, earlier], [earlier, later]] {
            var record = created
            var conflicts: [Conflict] = []
            for (offset, item) in order.enumerated() {
                let outcome = Merge.apply(item, to: record, stamp: stamp(UInt64(2 + offset), item))
                record = outcome.record
                conflicts += outcome.conflicts
            }
            #expect(record.fields["phone"] == .string("later"))
            #expect(conflicts.count == 1)
            #expect(conflicts.first?.kept == .string("later"))
            #expect(conflicts.first?.lost == .string("earlier"))
        }
    }

    @Test func aReplicasOwnEarlierWriteIsNotAConflict() {
        let create = change("a", 1, base: 0, at: 100, ["phone": .string("1")])
        let created = Merge.apply(create, to: nil, stamp: stamp(1, create)).record
        // Two edits made offline on the same base: the second has seen the first (its own dot).
        let first = change("a", 2, base: 1, at: 200, ["phone": .string("2")])
        let second = change("a", 3, base: 1, at: 150, ["phone": .string("3")])
        let one = Merge.apply(first, to: created, stamp: stamp(2, first))
        let two = Merge.apply(second, to: one.record, stamp: stamp(3, second))
        #expect(two.conflicts.isEmpty)
        #expect(two.record.fields["phone"] == .string("3"))
    }

    @Test func equalConcurrentValuesMergeSilently() {
        let create = change("a", 1, base: 0, at: 100, ["phone": .string("1")])
        let created = Merge.apply(create, to: nil, stamp: stamp(1, create)).record
        let x = change("a", 2, base: 1, at: 200, ["phone": .string("9")])
        let y = change("b", 1, base: 1, at: 300, ["phone": .string("9")])
        let outcome = Merge.apply(y, to: Merge.apply(x, to: created, stamp: stamp(2, x)).record, stamp: stamp(3, y))
        #expect(outcome.conflicts.isEmpty)
        #expect(outcome.changed.isEmpty)
    }

    @Test func anEditConcurrentWithADeleteIsAConflictOnTheTombstone() {
        let create = change("a", 1, base: 0, at: 100, ["phone": .string("1"), "_deleted": .bool(false)])
        let created = Merge.apply(create, to: nil, stamp: stamp(1, create)).record
        let delete = change("a", 2, base: 1, at: 200, ["_deleted": .bool(true)])
        let edit = change("b", 1, base: 1, at: 150, ["phone": .string("2"), "_deleted": .bool(false)])
        let outcome = Merge.apply(edit, to: Merge.apply(delete, to: created, stamp: stamp(2, delete)).record, stamp: stamp(3, edit))
        #expect(outcome.record.isDeleted)
        #expect(outcome.record.fields["phone"] == .string("2"))
        #expect(outcome.conflicts.map(\.field) == ["_deleted"])
        #expect(outcome.conflicts.first?.lost == .bool(false))
    }
}

@Suite struct RecordCodingTests {
    @Test func recordsRoundTripThroughFieldMaps() throws {
        let customer = Customer(id: "c1", number: "1001", name: "Acme", creditLimit: Money(minorUnits: 500_000, currency: Currency(code: "PHP")!), riskRating: 4, tags: ["key", "ph"])
        let fields = customer.fieldMap
        #expect(try Customer(fieldMap: fields) == customer)
        var edited = customer
        edited.riskRating = 1
        let diff = RecordCoding.diff(from: fields, to: edited.fieldMap)
        #expect(Array(diff.keys) == ["risk_rating"])
        #expect(diff["risk_rating"] == .integer(1))
        #expect(RecordCoding.canonical(fields) == RecordCoding.canonical(try RecordCoding.decode(RecordCoding.canonical(fields))))
    }
}

@Suite struct LedgerInvariantTests {
    let usd = Currency(code: "USD")!
    func entry(_ id: String, _ kind: LedgerEntryKind, _ minor: Int64, source: String? = nil, target: String? = nil) -> LedgerEntry {
        LedgerEntry(id: id, kind: kind, customerID: "c1", amount: Money(minorUnits: minor, currency: usd),
                    date: CivilDate(year: 2026, month: 11, day: 1)!, dueDate: kind == .invoice ? CivilDate(year: 2026, month: 12, day: 1)! : nil,
                    reference: id, sourceID: source, targetID: target)
    }

    @Test func findsEachBrokenInvariantAndNothingElse() {
        let base = [entry("i1", .invoice, 100_00), entry("i2", .invoice, 50_00), entry("p1", .payment, 80_00), entry("p2", .payment, 100_00)]
        #expect(LedgerInvariants.violations(in: base + [entry("a1", .application, 80_00, source: "p1", target: "i1")]).isEmpty)
        // Two analysts applied p1 offline: 80 + 30 against an 80.00 payment.
        let over = LedgerInvariants.violations(in: base + [
            entry("a1", .application, 50_00, source: "p1", target: "i1"), entry("a2", .application, 60_00, source: "p1", target: "i2"),
        ])
        #expect(over.map(\.kind) == [.invoiceOverPaid, .sourceOverApplied])
        #expect(over.last?.excess == Money(minorUnits: 30_00, currency: usd))
        #expect(over.first?.subjectID == "i2")
        // A reversal resolves it.
        #expect(LedgerInvariants.violations(in: base + [
            entry("a1", .application, 50_00, source: "p1", target: "i1"), entry("a2", .application, 60_00, source: "p1", target: "i2"),
            entry("r1", .reversal, 60_00, target: "a2"),
        ]).isEmpty)
        let voided = LedgerInvariants.violations(in: base + [
            entry("a1", .application, 10_00, source: "p2", target: "i2"), entry("v1", .reversal, 50_00, target: "i2"),
        ])
        #expect(voided.map(\.kind) == [.appliedToVoidedInvoice])
    }

    func payment(_ id: String, day: Int, _ minor: Int64 = 5_000_00, reference: String = "BDO 7781", customer: String = "c1") -> LedgerEntry {
        LedgerEntry(id: id, kind: .payment, customerID: customer, amount: Money(minorUnits: minor, currency: usd),
                    date: CivilDate(year: 2026, month: 11, day: day)!, reference: reference)
    }

    @Test func paymentsWithOneCustomerAmountAndReferenceWithinDaysArePossibleDuplicates() {
        // The same bank line keyed on two laptops, two days apart: one exception, the later payment its subject.
        let twice = LedgerInvariants.violations(in: [payment("p1", day: 2), payment("p2", day: 4)])
        #expect(twice.map(\.kind) == [.possibleDuplicatePayment])
        #expect(twice.first?.subjectID == "p2")
        #expect(twice.first?.entryIDs == ["p1", "p2"])
        #expect(twice.first?.excess == Money(minorUnits: 5_000_00, currency: usd))
        #expect(twice.first?.holds == [])
        // A chain of three, each within the window of the one before: one exception, two payments too many.
        let thrice = LedgerInvariants.violations(in: [payment("p1", day: 2), payment("p2", day: 5), payment("p3", day: 8)])
        #expect(thrice.map(\.entryIDs) == [["p1", "p2", "p3"]])
        #expect(thrice.first?.excess == Money(minorUnits: 10_000_00, currency: usd))
        // Not duplicates: farther apart, another amount, reference or customer, an unidentified
        // payer, or one of the two voided.
        #expect(LedgerInvariants.violations(in: [payment("p1", day: 2), payment("p2", day: 6)]).isEmpty)
        #expect(LedgerInvariants.violations(in: [payment("p1", day: 2), payment("p2", day: 3, 5_000_01)]).isEmpty)
        #expect(LedgerInvariants.violations(in: [payment("p1", day: 2), payment("p2", day: 3, reference: "BDO 7782")]).isEmpty)
        #expect(LedgerInvariants.violations(in: [payment("p1", day: 2), payment("p2", day: 3, customer: "c2")]).isEmpty)
        #expect(LedgerInvariants.violations(in: [payment("p1", day: 2, customer: ""), payment("p2", day: 3, customer: "")]).isEmpty)
        #expect(LedgerInvariants.violations(in: [payment("p1", day: 2), payment("p2", day: 3), entry("v2", .reversal, 5_000_00, target: "p2")]).isEmpty)
    }
}
