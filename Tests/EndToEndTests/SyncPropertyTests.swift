import DunlinClient
import DunlinCore
import DunlinServer
import DunlinServices
import DunlinStore
import DunlinSync
import DunlinWire
import Foundation
import Testing

/// Every ledger entry of a store, page by page.
func allEntries(_ store: TenantStore) throws -> [LedgerEntry] {
    var entries: [LedgerEntry] = []
    var cursor: String?
    repeat {
        let page = try store.entries(page: PageRequest(after: cursor, size: 1000))
        entries += page.items
        cursor = page.nextCursor
    } while cursor != nil
    return entries
}

/// The server and three laptops doing random work offline (contacts created, edited and deleted;
/// payments, applications, unapplies; activities), syncing in random orders, with partitions (a
/// laptop that stays offline for a stretch) and duplicated deliveries (a push that arrives twice).
/// After everyone syncs, every replica equals the server, every payment and activity exists once,
/// totals agree to the minor unit, and every edit is in the final state, kept as a conflict, or
/// was overwritten by someone who had seen it.
///
/// Steps per seed: DUNLIN_SYNC_PROPERTY_STEPS (default 150; the long run uses 3000).
@Suite(.serialized, .loadsTheMachine) struct SyncPropertyTests {
    static let steps = Int(ProcessInfo.processInfo.environment["DUNLIN_SYNC_PROPERTY_STEPS"] ?? "") ?? 150

    /// One field value written by a laptop, and who had seen it before writing over it.
    struct Edit {
        var laptop: Int
        var key: String      // "contact/K3.phone"
        var value: FieldValue
        /// The step at which its laptop had last pulled when it wrote this: what it had seen.
        var seen: Int
        var published: Int?  // the step its laptop pushed it
        /// Its laptop put the field back to the server's value before pushing: nothing to push.
        var undone = false
    }

    @Test(arguments: [1, 2, 3] as [UInt64])
    func replicasConvergeWithTheServer(seed number: UInt64) async throws {
        var random = SeededGenerator(seed: number)
        let world = try await SyncWorld.start()
        try await seed(world)
        let laptops = try ["ana", "ben", "cy"].map { try world.laptop($0) }
        for laptop in laptops { try await laptop.sync() }

        var edits: [Edit] = []
        var lastSeen = [Int](repeating: 0, count: laptops.count)   // the step of each laptop's last pull
        var payments: [String: Int64] = [:]
        var bankLines: [String: Set<Int64>] = [:]   // ids keyed in on several laptops: the amounts tried
        var activities: Set<String> = []
        var offline = Set<Int>()
        var counter = 0

        func record(_ laptop: Int, _ kind: String, _ id: String, _ fields: FieldMap) {
            for (field, value) in fields where field != "id" && field != "customer_id" {
                edits.append(Edit(laptop: laptop, key: "\(kind)/\(id).\(field)", value: value, seen: lastSeen[laptop]))
            }
        }

        for step in 1...Self.steps {
            let index = Int.random(in: 0..<laptops.count, using: &random)
            let laptop = laptops[index]
            counter += 1
            switch Int.random(in: 0..<100, using: &random) {
            case 0..<18:  // create or edit a contact
                let id = "K\(Int.random(in: 1...6, using: &random))"
                let existing = try laptop.replica.store.contact(id)
                var contact = existing ?? {
                    var fresh = Contact(id: id, customerID: "C1", name: "Contact \(id)")
                    fresh.email = "\(id.lowercased())@globe.example"
                    return fresh
                }()
                switch Int.random(in: 0..<3, using: &random) {
                case 0: contact.phone = "+1 312 555 \(String(format: "%04d", Int.random(in: 0...9999, using: &random)))"
                case 1: contact.email = "c\(Int.random(in: 0...999, using: &random))@globe.example"
                default: contact.role = ["AP clerk", "Controller", "Treasurer"].randomElement(using: &random)!
                }
                let before = existing?.fieldMap ?? [:]
                do {
                    _ = try await laptop.replica.unary(Records.upsertContacts, .with { $0.contacts = [Dunlin_V1_ContactRecord(contact)] })
                    record(index, "contact", id, RecordCoding.diff(from: before, to: contact.fieldMap))
                } catch let error as RPCError where error.code == .failedPrecondition || error.code == .alreadyExists {
                    // A deleted id is not reused: fine.
                }
            case 18..<24:  // delete a contact (a manager's right: the analysts cannot, so only some land)
                let id = "K\(Int.random(in: 1...6, using: &random))"
                _ = try? await laptop.replica.unary(Records.deleteContacts, .with { $0.ids = [id] })
            case 24..<44:  // a payment; sometimes a bank line another laptop may key in too, differently
                let bank = Int.random(in: 0..<5, using: &random) == 0
                let id = bank ? "BANK-\(Int.random(in: 1...8, using: &random))" : "P\(index)-\(counter)"
                let minor = Int64.random(in: 1...50_000, using: &random)
                do {
                    _ = try await laptop.replica.unary(Receivables.postEntries, .with {
                        $0.entries = [.with { $0.id = id; $0.kind = "payment"; $0.customerID = "C1"; $0.amount = usd(minor); $0.date = "2026-11-21" }]
                    })
                } catch let error as RPCError where bank && error.code == .alreadyExists {
                    continue  // this laptop already has that line, for another amount (the same one is a retry: accepted)
                }
                if bank { bankLines[id, default: []].insert(minor) } else { payments[id] = minor }
            case 44..<62:  // apply some unapplied cash to an open invoice
                let sources = try laptop.replica.store.unappliedSources(customerID: "C1")
                let invoices = try laptop.replica.store.openInvoices(customerID: "C1")
                guard let source = sources.randomElement(using: &random), let invoice = invoices.randomElement(using: &random) else { continue }
                let most = min(source.open.minorUnits, invoice.open.minorUnits)
                guard most > 0 else { continue }
                _ = try await laptop.replica.unary(Receivables.applyCash, .with {
                    $0.sourceID = source.entry.id
                    $0.allocations = [.with { $0.invoiceID = invoice.entry.id; $0.amount = usd(Int64.random(in: 1...most, using: &random)); $0.applicationID = "A\(index)-\(counter)" }]
                })
            case 62..<68:  // unapply
                let applications = try allEntries(laptop.replica.store).filter { $0.kind == .application }
                guard let application = applications.randomElement(using: &random) else { continue }
                _ = try? await laptop.replica.unary(Receivables.unapply, .with { $0.applicationID = application.id; $0.reversalID = "R\(index)-\(counter)" })
            case 68..<78:  // an activity
                let id = "ACT\(index)-\(counter)"
                _ = try await laptop.replica.unary(Records.logActivities, .with {
                    $0.activities = [.with { $0.id = id; $0.customerID = "C1"; $0.kind = "note"; $0.direction = "none"; $0.outcome = "step \(step)" }]
                })
                activities.insert(id)
            case 78..<84:  // a partition: the laptop goes offline, or comes back
                if offline.contains(index) { offline.remove(index) } else { offline.insert(index) }
            case 84..<90:  // a duplicated delivery: the outbox arrives once raw, then again through sync
                guard !offline.contains(index) else { continue }
                let changes = try laptop.replica.store.pendingChanges()
                guard !changes.isEmpty else { continue }
                _ = try await laptop.client.unary(SyncMethods.push, .with {
                    $0.replicaID = laptop.replica.profile.replicaID
                    $0.changes = changes.map { change in
                        .with { $0.kind = change.kind; $0.id = change.id; $0.counter = change.counter; $0.baseSeq = change.baseSeq; $0.fields = RecordCoding.canonical(change.fields); $0.atMs = change.at }
                    }
                })
                fallthrough
            default:  // sync
                guard !offline.contains(index) else { continue }
                try await sync(index, step: step)
            }
        }

        /// Syncs a laptop and notes which of its edits it published (and which it had undone).
        func sync(_ index: Int, step: Int) async throws {
            let store = laptops[index].replica.store
            let pending = try store.pendingChanges()
            let pushed = Set(pending.flatMap { change in change.fields.keys.map { "\(change.kind)/\(change.id).\($0)" } })
            try await laptops[index].sync()
            for position in edits.indices where edits[position].laptop == index && edits[position].published == nil {
                edits[position].published = step
                edits[position].undone = !pushed.contains(edits[position].key)
            }
            lastSeen[index] = step
        }

        // Everyone back online; two rounds so every push is pulled everywhere.
        for round in 1...2 { for index in laptops.indices { try await sync(index, step: Self.steps + round * laptops.count + index) } }

        let server = try world.tenant.store.syncedRecords()
        for laptop in laptops {
            let local = try laptop.replica.store.syncedRecords()
            #expect(Set(local.keys) == Set(server.keys), "replica \(laptop.replica.profile.name) holds other records than the server (seed \(number))")
            for (key, fields) in server where local[key] != fields {
                Issue.record("replica \(laptop.replica.profile.name) differs from the server on \(key) (seed \(number))")
            }
            #expect(try laptop.replica.store.pendingCount() == 0)
            // Refused entries taken back out left the derived balances true.
            #expect(try laptop.replica.store.derivedBalanceMismatches().isEmpty)
            // The same reconciliation queue everywhere: what the server's ledger breaks.
            #expect(try laptop.replica.store.recheckInvariants() == LedgerInvariants.violations(in: try allEntries(world.tenant.store)))
        }
        // Every payment and activity exactly once (ids are keys), with its amount; totals to the minor unit.
        let store = world.tenant.store
        for (id, minor) in payments { #expect(try store.entry(id)?.amount.minorUnits == minor, "payment \(id) (seed \(number))") }
        for id in activities { #expect(try store.activity(id) != nil, "activity \(id) (seed \(number))") }
        let ledger = try allEntries(store)
        // A bank line keyed in on several laptops is there once, as one of them keyed it; the others
        // came back refused and are listed on their laptops.
        var bankTotal: Int64 = 0
        for (id, amounts) in bankLines {
            let amount = try #require(try store.entry(id)?.amount.minorUnits, "bank line \(id) (seed \(number))")
            #expect(amounts.contains(amount))
            bankTotal += amount
        }
        // Refused, and only these: a colliding bank line, or an unapply someone else did first.
        for change in try laptops.flatMap({ try $0.replica.store.refusedChanges() }) {
            #expect(try store.entry(change.id) == nil || bankLines[change.id] != nil, "refused \(change.id) is on the server (seed \(number))")
            guard bankLines[change.id] == nil else { continue }
            let fields = try RecordCoding.decode(change.fields)
            guard case .string(let target)? = fields["target_id"], fields["kind"] == .string("reversal") else {
                Issue.record("refused \(change.id): \(change.refusal.message) (seed \(number))")
                continue
            }
            #expect(ledger.contains { $0.kind == .reversal && $0.targetID == target }, "\(change.id) (seed \(number))")
        }
        let paid = ledger.filter { $0.kind == .payment }.map(\.amount.minorUnits).reduce(0, +)
        #expect(paid == payments.values.reduce(0, +) + bankTotal + 1_200_00)

        // Every edit is in the final state, kept as a conflict, or was overwritten knowingly.
        let conflicts = try store.conflicts(includeSettled: true)
        for (position, edit) in edits.enumerated() {
            let dot = edit.key.split(separator: ".", maxSplits: 1)
            let (recordKey, field) = (String(dot[0]), String(dot[1]))
            if server[recordKey]?[field] == edit.value || edit.undone { continue }
            let recordID = String(recordKey.split(separator: "/")[1])
            if conflicts.contains(where: { $0.recordID == recordID && $0.field == field && ($0.lost == edit.value || $0.kept == edit.value) }) { continue }
            // By its own laptop later, or by a laptop that had pulled it first.
            let overwritten = edits[(position + 1)...].contains { later in
                later.key == edit.key && later.value != edit.value
                    && (later.laptop == edit.laptop || edit.published.map { later.seen >= $0 } ?? false)
            }
            if !overwritten, ProcessInfo.processInfo.environment["DUNLIN_SYNC_DEBUG"] != nil {
                print("DEBUG edits on \(edit.key):", edits.filter { $0.key == edit.key }.map { "\($0.laptop) \($0.value) seen \($0.seen) pub \($0.published ?? -1)" })
                print("DEBUG conflicts:", conflicts.filter { $0.recordID == recordID }.map { "\($0.field) kept \($0.kept) lost \($0.lost)" })
                for laptop in laptops { print("DEBUG refused:", try laptop.replica.store.refusedChanges().filter { $0.id == recordID }.map { "\($0.refusal.message) \(String(decoding: $0.fields, as: UTF8.self))" }) }
                print("DEBUG final:", server[recordKey] ?? [:])
            }
            #expect(overwritten, "\(edit.key) = \(edit.value) from laptop \(edit.laptop) vanished (seed \(number))")
        }
        let refused = try laptops.map { try $0.replica.store.refusedChanges().count }.reduce(0, +)
        print("sync property seed \(number): \(Self.steps) steps, \(edits.count) field edits, \(conflicts.count) conflicts, \(refused) refused, \(LedgerInvariants.violations(in: ledger).count) exceptions, \(payments.count) payments, \(activities.count) activities")
        // The run must have exercised the interesting paths, or it proves little.
        #expect(!edits.isEmpty && !payments.isEmpty && !activities.isEmpty)
        for laptop in laptops { await laptop.close() }
        try await world.stop()
    }
}
