import DunlinCore
import DunlinServices
import DunlinStore
import DunlinWire
import Foundation
import Testing

// The Records service called in process on the two in-memory tenants (InProcessTenants):
// contacts, disputes, promises to pay, tasks and the activity log; rights per role, refusals
// naming field and item, paging and tenant isolation. The end-to-end suite keeps one case over a
// real connection (RecordsTests).

/// Acme's ledger, posted by its manager: customer C1 with INV-1 (1,000.00 USD), INV-2 (500.00
/// USD) and INV-P (20,000.00 PHP), issued 2025-03-01, and payment PAY-1 (1,200.00 USD).
private func seedLedger(_ manager: InProcessCaller) async throws {
    _ = try await manager.unary(Receivables.upsertCustomers, .with {
        $0.customers = [.with { $0.id = "C1"; $0.number = "1001"; $0.name = "Globe Retail"; $0.timeZone = "America/Chicago" }]
    })
    func invoice(_ id: String, _ value: Dunlin_V1_Amount) -> Dunlin_V1_LedgerEntryRecord {
        .with { $0.id = id; $0.kind = "invoice"; $0.customerID = "C1"; $0.amount = value; $0.date = "2025-03-01"; $0.dueDate = "2025-03-31"; $0.reference = id }
    }
    _ = try await manager.unary(Receivables.postEntries, .with {
        $0.entries = [
            invoice("INV-1", amount(1_000_00)), invoice("INV-2", amount(500_00)), invoice("INV-P", amount(20_000_00, "PHP")),
            .with { $0.id = "PAY-1"; $0.kind = "payment"; $0.customerID = "C1"; $0.amount = amount(1_200_00); $0.date = "2025-04-10" },
        ]
    })
}

private let contact1 = Dunlin_V1_ContactRecord.with {
    $0.id = "CT-1"; $0.customerID = "C1"; $0.name = "Ana Reyes"; $0.role = "AP clerk"
    $0.email = "ana@globe.example"; $0.phone = "+1 312 555 0100"; $0.preferredChannel = "phone"
}
private let dispute1 = Dunlin_V1_DisputeRecord.with {
    $0.id = "DSP-1"; $0.customerID = "C1"; $0.invoiceIds = ["INV-1", "INV-2"]; $0.amount = amount(250_00); $0.reasonCode = "pricing"
    $0.status = "investigating"; $0.ownerTeam = "sales"; $0.openedOn = "2025-04-02"; $0.note = "list price vs contract"
}
private let promise1 = Dunlin_V1_PromiseRecord.with {
    $0.id = "PTP-1"; $0.customerID = "C1"; $0.invoiceIds = ["INV-1"]; $0.amount = amount(1_000_00)
    $0.madeOn = "2025-04-01"; $0.promisedDate = "2025-04-08"; $0.status = "open"; $0.note = "by wire"
}
private let task1 = Dunlin_V1_TaskRecord.with {
    $0.id = "TSK-1"; $0.assigneeID = "u-a"; $0.customerID = "C1"; $0.title = "Call Ana about INV-1"; $0.dueDate = "2025-04-09"; $0.notes = "after 9am CT"
}
private let activity1 = Dunlin_V1_ActivityRecord.with {
    $0.id = "ACT-1"; $0.customerID = "C1"; $0.kind = "call"; $0.direction = "outbound"; $0.outcome = "promised 1,000 by Apr 8"
    $0.authorID = "u-a"; $0.occurredAt = 1_743_500_000_123; $0.body = "spoke with Ana"
}

/// Acme's ledger plus one of each record: CT-1, DSP-1, PTP-1, TSK-1 (the analyst's) written by
/// the analyst, ACT-1 logged by the analyst, and TSK-M assigned to the manager.
private func seedRecords(analyst: InProcessCaller, manager: InProcessCaller) async throws {
    try await seedLedger(manager)
    _ = try await analyst.unary(Records.upsertContacts, .with { $0.contacts = [contact1] })
    _ = try await analyst.unary(Records.upsertDisputes, .with { $0.disputes = [dispute1] })
    _ = try await analyst.unary(Records.upsertPromises, .with { $0.promises = [promise1] })
    _ = try await analyst.unary(Records.upsertTasks, .with { $0.tasks = [task1] })
    _ = try await analyst.unary(Records.logActivities, .with { $0.activities = [activity1] })
    _ = try await manager.unary(Records.upsertTasks, .with {
        $0.tasks = [.with { $0.id = "TSK-M"; $0.assigneeID = "u-m"; $0.title = "Review broken promises"; $0.dueDate = "2025-04-30" }]
    })
}

@Suite("Records in process: rights, refusals, paging and tenant isolation")
struct RecordsServiceTests {
    @Test("each record comes back as written, with the documented defaults filled in")
    func roundTrip() async throws {
        let world = try InProcessTenants.make()
        let analyst = world.acme(.analyst)
        let manager = world.acme(.manager)
        try await seedRecords(analyst: analyst, manager: manager)
        let today = world.acme.today.description

        #expect(try await analyst.unary(Records.getContact, .with { $0.id = "CT-1" }) == contact1)
        #expect(try await analyst.unary(Records.getDispute, .with { $0.id = "DSP-1" }) == dispute1)
        #expect(try await analyst.unary(Records.getPromise, .with { $0.id = "PTP-1" }) == promise1)
        #expect(try await analyst.unary(Records.getTask, .with { $0.id = "TSK-1" }) == task1)
        #expect(try await analyst.unary(Records.listActivities, .with { $0.customerID = "C1" }).activities == [activity1])

        // The same records with only what is required: ids are generated and defaults filled.
        let contact = try await analyst.unary(Records.upsertContacts, .with {
            $0.contacts = [.with { $0.customerID = "C1"; $0.name = "Ben Cruz"; $0.email = "ben@globe.example" }]
        }).contacts[0]
        #expect(contact.id.hasPrefix("con_") && contact.preferredChannel == "email")
        #expect(try await analyst.unary(Records.getContact, .with { $0.id = contact.id }) == contact)

        let dispute = try await analyst.unary(Records.upsertDisputes, .with {
            $0.disputes = [.with { $0.customerID = "C1"; $0.invoiceIds = ["INV-2"]; $0.amount = amount(50_00); $0.reasonCode = "damaged_goods" }]
        }).disputes[0]
        #expect(dispute.id.hasPrefix("dsp_") && dispute.status == "open" && dispute.ownerTeam == "billing" && dispute.openedOn == today)
        #expect(dispute.resolvedOn.isEmpty)
        #expect(try await analyst.unary(Records.getDispute, .with { $0.id = dispute.id }) == dispute)

        let promise = try await analyst.unary(Records.upsertPromises, .with {
            $0.promises = [.with { $0.customerID = "C1"; $0.invoiceIds = ["INV-P"]; $0.amount = amount(5_000_00, "PHP"); $0.promisedDate = "2999-01-01" }]
        }).promises[0]
        #expect(promise.id.hasPrefix("ptp_") && promise.status == "open" && promise.madeOn == today)
        #expect(try await analyst.unary(Records.getPromise, .with { $0.id = promise.id }) == promise)

        let task = try await analyst.unary(Records.upsertTasks, .with { $0.tasks = [.with { $0.title = "Send the 60-day letter" }] }).tasks[0]
        #expect(task.id.hasPrefix("tsk_") && task.assigneeID == "u-a" && task.dueDate == today && !task.done && task.customerID.isEmpty)
        #expect(try await analyst.unary(Records.getTask, .with { $0.id = task.id }) == task)

        let note = try await analyst.unary(Records.logActivities, .with {
            $0.activities = [.with { $0.customerID = "C1"; $0.kind = "note"; $0.body = "AP moves to a portal in May" }]
        }).activities[0]
        #expect(note.id.hasPrefix("act_") && note.direction == "none" && note.authorID == "u-a")
        let email = try await analyst.unary(Records.logActivities, .with {
            $0.activities = [.with { $0.customerID = "C1"; $0.kind = "email"; $0.occurredAt = 1_743_600_000_000 }]
        }).activities[0]
        #expect(email.direction == "outbound")
        #expect(try await analyst.unary(Records.listActivities, .with { $0.customerID = "C1" }).activities.map(\.id) == ["ACT-1", email.id, note.id])

        // An update replaces the record; a delete leaves a tombstone: gone from reads, id not reused.
        var updated = contact1
        updated.email = "ana.reyes@globe.example"
        updated.preferredChannel = "email"
        _ = try await analyst.unary(Records.upsertContacts, .with { $0.contacts = [updated] })
        #expect(try await analyst.unary(Records.getContact, .with { $0.id = "CT-1" }) == updated)
        let deleted = try await manager.unary(Records.deleteContacts, .with { $0.ids = ["CT-1"] })
        #expect(deleted.count == 1)
        #expect(await refusal { _ = try await analyst.unary(Records.getContact, .with { $0.id = "CT-1" }) }?.code == .notFound)
        #expect(try await analyst.unary(Records.listContacts, .init()).contacts.map(\.id) == [contact.id])
        let reused = await refusal { _ = try await analyst.unary(Records.upsertContacts, .with { $0.contacts = [contact1] }) }
        #expect(reused?.code == .failedPrecondition)
        #expect(reused?.details.first?.field == "id")
    }

    @Test("lists page through every row once, in order, and filter")
    func paging() async throws {
        let world = try InProcessTenants.make()
        let manager = world.acme(.manager)
        let viewer = world.acme(.viewer)
        try await seedLedger(manager)

        let tasks: [Dunlin_V1_TaskRecord] = (1...23).map { number in
            .with {
                $0.id = String(format: "T-%02d", number); $0.title = "task \(number)"; $0.assigneeID = number.isMultiple(of: 2) ? "u-a" : "u-m"
                $0.dueDate = String(format: "2025-05-%02d", 28 - number % 5); $0.done = number.isMultiple(of: 3)
            }
        }
        _ = try await manager.unary(Records.upsertTasks, .with { $0.tasks = tasks })
        var seen: [Dunlin_V1_TaskRecord] = []
        var cursor = ""
        var pages = 0
        repeat {
            let page = try await viewer.unary(Records.listTasks, .with { $0.pageSize = 5; $0.cursor = cursor })
            #expect(page.tasks.count <= 5)
            seen += page.tasks
            cursor = page.nextCursor
            pages += 1
        } while !cursor.isEmpty
        #expect(pages == 5)
        #expect(seen.map(\.id) == tasks.sorted { ($0.dueDate, $0.id) < ($1.dueDate, $1.id) }.map(\.id))
        #expect(Set(seen) == Set(tasks))

        let mine = try await viewer.unary(Records.listTasks, .with { $0.assigneeID = "u-a"; $0.done = false })
        #expect(mine.tasks.map(\.id).sorted() == tasks.filter { $0.assigneeID == "u-a" && !$0.done }.map(\.id).sorted())
        let due = try await viewer.unary(Records.listTasks, .with { $0.dueFrom = "2025-05-27"; $0.dueThrough = "2025-05-28" })
        #expect(Set(due.tasks.map(\.dueDate)) == ["2025-05-27", "2025-05-28"])

        let activities: [Dunlin_V1_ActivityRecord] = (1...12).map { number in
            .with {
                $0.id = String(format: "A-%02d", number); $0.customerID = "C1"; $0.kind = number.isMultiple(of: 4) ? "note" : "call"
                $0.direction = number.isMultiple(of: 4) ? "none" : "inbound"; $0.occurredAt = 1_743_500_000_000 + Int64(number % 6) * 60_000
            }
        }
        _ = try await manager.unary(Records.logActivities, .with { $0.activities = activities })
        func all(newestFirst: Bool) async throws -> [String] {
            var ids: [String] = []
            var cursor = ""
            repeat {
                let page = try await viewer.unary(Records.listActivities, .with {
                    $0.customerID = "C1"; $0.newestFirst = newestFirst; $0.pageSize = 5; $0.cursor = cursor
                })
                ids += page.activities.map(\.id)
                cursor = page.nextCursor
            } while !cursor.isEmpty
            return ids
        }
        let oldestFirst = try await all(newestFirst: false)
        #expect(oldestFirst == activities.sorted { ($0.occurredAt, $0.id) < ($1.occurredAt, $1.id) }.map(\.id))
        #expect(try await all(newestFirst: true) == oldestFirst.reversed())
        let notes = try await viewer.unary(Records.listActivities, .with { $0.kinds = ["note"] })
        #expect(notes.activities.map(\.id) == ["A-12", "A-08", "A-04"])
        let window = try await viewer.unary(Records.listActivities, .with { $0.occurredFrom = 1_743_500_060_000; $0.occurredBefore = 1_743_500_120_000 })
        #expect(window.activities.map(\.id) == ["A-01", "A-07"])

        _ = try await manager.unary(Records.upsertDisputes, .with {
            $0.disputes = [
                .with { $0.id = "D-1"; $0.customerID = "C1"; $0.invoiceIds = ["INV-1"]; $0.amount = amount(1_00); $0.reasonCode = "pricing"; $0.openedOn = "2025-04-01" },
                .with {
                    $0.id = "D-2"; $0.customerID = "C1"; $0.invoiceIds = ["INV-2"]; $0.amount = amount(2_00); $0.reasonCode = "pricing"
                    $0.openedOn = "2025-04-02"; $0.status = "resolved"; $0.resolvedOn = "2025-04-20"; $0.ownerTeam = "legal"
                },
            ]
        })
        #expect(try await viewer.unary(Records.listDisputes, .with { $0.statuses = ["resolved", "rejected"] }).disputes.map(\.id) == ["D-2"])
        #expect(try await viewer.unary(Records.listDisputes, .with { $0.invoiceID = "INV-1" }).disputes.map(\.id) == ["D-1"])
        #expect(try await viewer.unary(Records.listDisputes, .with { $0.ownerTeams = ["billing"]; $0.openedThrough = "2025-04-01" }).disputes.map(\.id) == ["D-1"])
        _ = try await manager.unary(Records.upsertPromises, .with {
            $0.promises = [.with { $0.id = "P-1"; $0.customerID = "C1"; $0.invoiceIds = ["INV-2"]; $0.amount = amount(1_00); $0.madeOn = "2025-04-01"; $0.promisedDate = "2025-04-05" }]
        })
        #expect(try await viewer.unary(Records.listPromises, .with { $0.invoiceID = "INV-2"; $0.promisedFrom = "2025-04-05" }).promises.map(\.id) == ["P-1"])
        #expect(try await viewer.unary(Records.listPromises, .with { $0.statuses = ["kept"] }).promises.isEmpty)
        #expect(try await viewer.unary(Records.listContacts, .with { $0.customerID = "C404" }).contacts.isEmpty)

        // A cursor that is not one, or is another list's, is refused and named.
        let garbage = await refusal { _ = try await viewer.unary(Records.listTasks, .with { $0.cursor = "not-a-cursor" }) }
        #expect(garbage?.code == .invalidArgument && garbage?.details.first?.field == "cursor")
        let taskCursor = try await viewer.unary(Records.listTasks, .with { $0.pageSize = 1 }).nextCursor
        let foreign = await refusal { _ = try await viewer.unary(Records.listContacts, .with { $0.cursor = taskCursor }) }
        #expect(foreign?.code == .invalidArgument && foreign?.details.first?.field == "cursor")
        let status = await refusal { _ = try await viewer.unary(Records.listDisputes, .with { $0.statuses = ["open", "lost"] }) }
        #expect(status?.code == .invalidArgument && status?.details.first?.field == "statuses[1]")
        let date = await refusal { _ = try await viewer.unary(Records.listPromises, .with { $0.promisedThrough = "2025-13-01" }) }
        #expect(date?.code == .invalidArgument && date?.details.first?.field == "promised_through")
    }

    @Test("tenant B's token gets NOT_FOUND for tenant A's ids, sees none of A's rows, and changes nothing of A")
    func tenantIsolation() async throws {
        let world = try InProcessTenants.make()
        let analyst = world.acme(.analyst)
        let acme = world.acme(.manager)
        let bayani = world.bayaniManager
        try await seedRecords(analyst: analyst, manager: acme)
        let acmeBefore = try world.acme.store.lastChangeSequence()

        let attempts: [(String, () async throws -> Void)] = [
            ("GetContact", { _ = try await bayani.unary(Records.getContact, .with { $0.id = "CT-1" }) }),
            ("GetDispute", { _ = try await bayani.unary(Records.getDispute, .with { $0.id = "DSP-1" }) }),
            ("GetPromise", { _ = try await bayani.unary(Records.getPromise, .with { $0.id = "PTP-1" }) }),
            ("GetTask", { _ = try await bayani.unary(Records.getTask, .with { $0.id = "TSK-1" }) }),
            ("EvaluatePromise", { _ = try await bayani.unary(Records.evaluatePromise, .with { $0.id = "PTP-1" }) }),
            ("EvaluatePromise recording", { _ = try await bayani.unary(Records.evaluatePromise, .with { $0.id = "PTP-1"; $0.record = true }) }),
            ("DeleteContacts", { _ = try await bayani.unary(Records.deleteContacts, .with { $0.ids = ["CT-1"] }) }),
            ("DeleteDisputes", { _ = try await bayani.unary(Records.deleteDisputes, .with { $0.ids = ["DSP-1"] }) }),
            ("DeletePromises", { _ = try await bayani.unary(Records.deletePromises, .with { $0.ids = ["PTP-1"] }) }),
            ("DeleteTasks", { _ = try await bayani.unary(Records.deleteTasks, .with { $0.ids = ["TSK-1"] }) }),
            ("UpsertContacts", { _ = try await bayani.unary(Records.upsertContacts, .with { $0.contacts = [contact1] }) }),
            ("UpsertDisputes", { _ = try await bayani.unary(Records.upsertDisputes, .with { $0.disputes = [dispute1] }) }),
            ("UpsertPromises", { _ = try await bayani.unary(Records.upsertPromises, .with { $0.promises = [promise1] }) }),
            ("UpsertTasks", {
                var task = task1
                task.assigneeID = "u-b"
                _ = try await bayani.unary(Records.upsertTasks, .with { $0.tasks = [task] })
            }),
            ("LogActivities", { _ = try await bayani.unary(Records.logActivities, .with { $0.activities = [activity1] }) }),
        ]
        for (method, attempt) in attempts {
            let error = await refusal(attempt)
            #expect(error?.code == .notFound, "\(method): \(String(describing: error))")
        }
        // Acme's own missing ids read the same.
        #expect(await refusal { _ = try await acme.unary(Records.getTask, .with { $0.id = "TSK-404" }) }?.code == .notFound)

        #expect(try await bayani.unary(Records.listContacts, .init()).contacts.isEmpty)
        #expect(try await bayani.unary(Records.listContacts, .with { $0.customerID = "C1" }).contacts.isEmpty)
        #expect(try await bayani.unary(Records.listDisputes, .init()).disputes.isEmpty)
        #expect(try await bayani.unary(Records.listDisputes, .with { $0.invoiceID = "INV-1" }).disputes.isEmpty)
        #expect(try await bayani.unary(Records.listPromises, .init()).promises.isEmpty)
        #expect(try await bayani.unary(Records.listTasks, .init()).tasks.isEmpty)
        #expect(try await bayani.unary(Records.listTasks, .with { $0.assigneeID = "u-a" }).tasks.isEmpty)
        #expect(try await bayani.unary(Records.listActivities, .init()).activities.isEmpty)
        #expect(try await bayani.unary(Records.listActivities, .with { $0.customerID = "C1" }).activities.isEmpty)

        // Nothing of Acme changed, and Bayani wrote nothing either.
        #expect(try world.acme.store.lastChangeSequence() == acmeBefore)
        #expect(try world.bayani.store.lastChangeSequence() == 0)
        #expect(try await acme.unary(Records.getContact, .with { $0.id = "CT-1" }) == contact1)
        #expect(try await acme.unary(Records.getDispute, .with { $0.id = "DSP-1" }) == dispute1)
        #expect(try await acme.unary(Records.getPromise, .with { $0.id = "PTP-1" }) == promise1)
        #expect(try await acme.unary(Records.getTask, .with { $0.id = "TSK-1" }) == task1)
        #expect(try await acme.unary(Records.listActivities, .init()).activities == [activity1])

        // The same id in Bayani is Bayani's own record; Acme's stays as it was.
        _ = try await bayani.unary(Records.upsertTasks, .with { $0.tasks = [.with { $0.id = "TSK-1"; $0.title = "Bayani's task" }] })
        #expect(try await bayani.unary(Records.getTask, .with { $0.id = "TSK-1" }).assigneeID == "u-b")
        #expect(try await acme.unary(Records.getTask, .with { $0.id = "TSK-1" }) == task1)
    }

    @Test("each role is held to its rights on every write")
    func roles() async throws {
        let world = try InProcessTenants.make()
        let viewer = world.acme(.viewer)
        let analyst = world.acme(.analyst)
        let manager = world.acme(.manager)
        let admin = world.serverAdmin
        try await seedRecords(analyst: analyst, manager: manager)

        func writes(_ client: InProcessCaller, task: Dunlin_V1_TaskRecord) -> [(String, () async throws -> Void)] {
            [
                ("UpsertContacts", { _ = try await client.unary(Records.upsertContacts, .with { $0.contacts = [contact1] }) }),
                ("UpsertDisputes", { _ = try await client.unary(Records.upsertDisputes, .with { $0.disputes = [dispute1] }) }),
                ("UpsertPromises", { _ = try await client.unary(Records.upsertPromises, .with { $0.promises = [promise1] }) }),
                ("UpsertTasks", { _ = try await client.unary(Records.upsertTasks, .with { $0.tasks = [task] }) }),
                ("LogActivities", {
                    _ = try await client.unary(Records.logActivities, .with { $0.activities = [.with { $0.customerID = "C1"; $0.kind = "note" }] })
                }),
                ("EvaluatePromise recording", {
                    _ = try await client.unary(Records.evaluatePromise, .with { $0.id = "PTP-1"; $0.asOf = "2025-04-30"; $0.record = true })
                }),
            ]
        }
        func deletes(_ client: InProcessCaller) -> [(String, () async throws -> Void)] {
            [
                ("DeleteContacts", { _ = try await client.unary(Records.deleteContacts, .with { $0.ids = ["CT-1"] }) }),
                ("DeleteDisputes", { _ = try await client.unary(Records.deleteDisputes, .with { $0.ids = ["DSP-1"] }) }),
                ("DeletePromises", { _ = try await client.unary(Records.deletePromises, .with { $0.ids = ["PTP-1"] }) }),
                ("DeleteTasks", { _ = try await client.unary(Records.deleteTasks, .with { $0.ids = ["TSK-1"] }) }),
            ]
        }
        let seeded = try world.acme.store.lastChangeSequence()

        // Viewers read and evaluate, and write nothing.
        _ = try await viewer.unary(Records.getContact, .with { $0.id = "CT-1" })
        _ = try await viewer.unary(Records.listActivities, .init())
        _ = try await viewer.unary(Records.evaluatePromise, .with { $0.id = "PTP-1"; $0.asOf = "2025-04-30" })
        var ownTask = task1
        ownTask.assigneeID = "u-v"
        ownTask.id = "TSK-V"
        for (method, attempt) in writes(viewer, task: ownTask) + deletes(viewer) {
            let error = await refusal(attempt)
            #expect(error?.code == .permissionDenied, "viewer \(method): \(String(describing: error))")
        }
        #expect(try world.acme.store.lastChangeSequence() == seeded)

        // Analysts write and log, their own tasks only, and delete nothing.
        for (method, attempt) in writes(analyst, task: task1) {
            #expect(await refusal(attempt) == nil, "analyst \(method)")
        }
        for (method, attempt) in deletes(analyst) {
            let error = await refusal(attempt)
            #expect(error?.code == .permissionDenied, "analyst \(method): \(String(describing: error))")
        }
        let afterAnalyst = try world.acme.store.lastChangeSequence()
        var others = task1
        others.assigneeID = "u-m"
        let assign = await refusal { _ = try await analyst.unary(Records.upsertTasks, .with { $0.tasks = [others] }) }
        #expect(assign?.code == .permissionDenied)
        #expect(assign?.details.first?.field == "assignee_id")
        var takeOver = Dunlin_V1_TaskRecord.with { $0.id = "TSK-M"; $0.assigneeID = "u-a"; $0.title = "Review broken promises"; $0.dueDate = "2025-04-30" }
        let taken = await refusal { _ = try await analyst.unary(Records.upsertTasks, .with { $0.tasks = [takeOver] }) }
        #expect(taken?.code == .permissionDenied, "an analyst may not take over a manager's task")
        takeOver.assigneeID = ""
        #expect(await refusal { _ = try await analyst.unary(Records.upsertTasks, .with { $0.tasks = [takeOver] }) }?.code == .permissionDenied)
        let batch = await refusal {
            _ = try await analyst.unary(Records.upsertTasks, .with { $0.tasks = [.with { $0.id = "TSK-2"; $0.title = "mine" }, others] })
        }
        #expect(batch?.code == .permissionDenied && batch?.details.first?.line == 2)
        #expect(try world.acme.store.lastChangeSequence() == afterAnalyst, "refused task writes wrote nothing")
        #expect(try world.acme.store.task("TSK-2") == nil)

        // Managers reassign and delete.
        _ = try await manager.unary(Records.upsertTasks, .with { $0.tasks = [others] })
        #expect(try await viewer.unary(Records.getTask, .with { $0.id = "TSK-1" }).assigneeID == "u-m")
        for (method, attempt) in writes(manager, task: others) + deletes(manager) {
            #expect(await refusal(attempt) == nil, "manager \(method)")
        }

        // Server admins hold no tenant role.
        for (method, attempt) in writes(admin, task: task1) + deletes(admin) {
            let error = await refusal(attempt)
            #expect(error?.code == .permissionDenied, "server admin \(method): \(String(describing: error))")
        }
        #expect(await refusal { _ = try await admin.unary(Records.listTasks, .init()) }?.code == .permissionDenied)
    }

    @Test("refusals name the field and the item, and write nothing")
    func validation() async throws {
        let world = try InProcessTenants.make()
        let analyst = world.acme(.analyst)
        let manager = world.acme(.manager)
        try await seedRecords(analyst: analyst, manager: manager)

        let good = Dunlin_V1_ContactRecord.with { $0.id = "CT-2"; $0.customerID = "C1"; $0.name = "Carla"; $0.email = "carla@globe.example" }
        func contacts(_ change: (inout Dunlin_V1_ContactRecord) -> Void) -> () async throws -> Void {
            var bad = good
            bad.id = "CT-3"
            change(&bad)
            return { [bad] in _ = try await analyst.unary(Records.upsertContacts, .with { $0.contacts = [good, bad] }) }
        }
        func disputes(_ change: (inout Dunlin_V1_DisputeRecord) -> Void) -> () async throws -> Void {
            var bad = dispute1
            bad.id = "DSP-2"
            change(&bad)
            return { [bad] in _ = try await analyst.unary(Records.upsertDisputes, .with { $0.disputes = [dispute1, bad] }) }
        }
        func promises(_ change: (inout Dunlin_V1_PromiseRecord) -> Void) -> () async throws -> Void {
            var bad = promise1
            bad.id = "PTP-2"
            change(&bad)
            return { [bad] in _ = try await analyst.unary(Records.upsertPromises, .with { $0.promises = [promise1, bad] }) }
        }
        func tasks(_ change: (inout Dunlin_V1_TaskRecord) -> Void) -> () async throws -> Void {
            var bad = task1
            bad.id = "TSK-2"
            change(&bad)
            return { [bad] in _ = try await analyst.unary(Records.upsertTasks, .with { $0.tasks = [task1, bad] }) }
        }
        func activities(_ change: (inout Dunlin_V1_ActivityRecord) -> Void) -> () async throws -> Void {
            var first = activity1
            first.id = "ACT-2"
            var bad = activity1
            bad.id = "ACT-3"
            change(&bad)
            return { [bad] in _ = try await analyst.unary(Records.logActivities, .with { $0.activities = [first, bad] }) }
        }

        let cases: [(String, () async throws -> Void, StatusCode, String)] = [
            ("a contact without a name", contacts { $0.name = " " }, .invalidArgument, "name"),
            ("a contact of an unknown customer", contacts { $0.customerID = "C404" }, .notFound, "customer_id"),
            ("an unknown channel", contacts { $0.preferredChannel = "fax" }, .invalidArgument, "preferred_channel"),
            ("a phone preference without a number", contacts { $0.preferredChannel = "sms" }, .invalidArgument, "phone"),
            ("an email address without a domain", contacts { $0.email = "carla@" }, .invalidArgument, "email"),
            ("a dispute without an amount", disputes { $0.clearAmount() }, .invalidArgument, "amount"),
            ("a zero dispute", disputes { $0.amount = amount(0) }, .invalidArgument, "amount"),
            ("an unknown currency", disputes { $0.amount = amount(5, "XYZ") }, .invalidArgument, "amount.currency"),
            ("an unknown dispute status", disputes { $0.status = "lost" }, .invalidArgument, "status"),
            ("an unknown owner team", disputes { $0.ownerTeam = "finance" }, .invalidArgument, "owner_team"),
            ("an open dispute with a resolution date", disputes { $0.status = "open"; $0.resolvedOn = "2025-04-20" }, .invalidArgument, "resolved_on"),
            ("a resolution before the opening", disputes { $0.status = "rejected"; $0.resolvedOn = "2025-04-01" }, .invalidArgument, "resolved_on"),
            ("a reason code with spaces", disputes { $0.reasonCode = "too expensive" }, .invalidArgument, "reason_code"),
            ("no invoices", disputes { $0.invoiceIds = [] }, .invalidArgument, "invoice_ids"),
            ("an invoice twice", disputes { $0.invoiceIds = ["INV-1", "INV-1"] }, .invalidArgument, "invoice_ids[1]"),
            ("an invoice in another currency", disputes { $0.invoiceIds = ["INV-2", "INV-P"] }, .invalidArgument, "invoice_ids[1]"),
            ("an invoice that does not exist", disputes { $0.invoiceIds = ["INV-404"] }, .notFound, "invoice_ids[0]"),
            ("a payment instead of an invoice", promises { $0.invoiceIds = ["PAY-1"] }, .notFound, "invoice_ids[0]"),
            ("a promise dated before it was made", promises { $0.promisedDate = "2025-03-31" }, .invalidArgument, "promised_date"),
            ("a promise without a date", promises { $0.promisedDate = "" }, .invalidArgument, "promised_date"),
            ("a date that does not exist", promises { $0.madeOn = "2025-02-29" }, .invalidArgument, "made_on"),
            ("an unknown promise status", promises { $0.status = "maybe" }, .invalidArgument, "status"),
            ("a negative promise", promises { $0.amount = amount(-1) }, .invalidArgument, "amount"),
            ("a task without a title", tasks { $0.title = "" }, .invalidArgument, "title"),
            ("a task due on no date", tasks { $0.dueDate = "tomorrow" }, .invalidArgument, "due_date"),
            ("a task about an unknown customer", tasks { $0.customerID = "C404" }, .notFound, "customer_id"),
            ("an unknown activity kind", activities { $0.kind = "fax" }, .invalidArgument, "kind"),
            ("a note with a direction", activities { $0.kind = "note"; $0.direction = "inbound" }, .invalidArgument, "direction"),
            ("a call with none", activities { $0.direction = "none" }, .invalidArgument, "direction"),
            ("an instant before 1970", activities { $0.occurredAt = -5 }, .invalidArgument, "occurred_at"),
            ("an activity of an unknown customer", activities { $0.customerID = "C404" }, .notFound, "customer_id"),
            ("an activity id reused for another activity", activities { $0.id = "ACT-1"; $0.outcome = "another call" }, .alreadyExists, "id"),
            ("a deleted id", { _ = try await manager.unary(Records.deleteTasks, .with { $0.ids = ["TSK-M", "TSK-404"] }) }, .notFound, "id"),
        ]
        for (name, attempt, code, field) in cases {
            let before = try world.acme.store.lastChangeSequence()
            let error = await refusal(attempt)
            #expect(error?.code == code, "\(name): \(String(describing: error))")
            #expect(error?.details.first?.field == field, "\(name): \(String(describing: error))")
            #expect(error?.details.first?.line == 2, "\(name): names the second item")
            #expect(error?.message.hasPrefix("item 2: ") == true, "\(name): \(String(describing: error))")
            #expect(try world.acme.store.lastChangeSequence() == before, "\(name): nothing written")
        }
        #expect(try world.acme.store.contact("CT-2") == nil)
        #expect(try world.acme.store.task("TSK-M") != nil)

        let grace = await refusal { _ = try await analyst.unary(Records.evaluatePromise, .with { $0.id = "PTP-1"; $0.graceDays = 400 }) }
        #expect(grace?.code == .invalidArgument && grace?.details.first?.field == "grace_days")
        let asOf = await refusal { _ = try await analyst.unary(Records.evaluatePromise, .with { $0.id = "PTP-1"; $0.asOf = "2025-4-30" }) }
        #expect(asOf?.code == .invalidArgument && asOf?.details.first?.field == "as_of")
    }

    @Test("a promise is measured against the payments applied to its invoices, and its status recorded only when asked")
    func promiseEvaluation() async throws {
        let world = try InProcessTenants.make()
        let analyst = world.acme(.analyst)
        let viewer = world.acme(.viewer)
        let manager = world.acme(.manager)
        try await seedRecords(analyst: analyst, manager: manager)
        _ = try await analyst.unary(Records.upsertPromises, .with {
            $0.promises = [.with { $0.id = "PTP-2"; $0.customerID = "C1"; $0.invoiceIds = ["INV-2"]; $0.amount = amount(500_00); $0.madeOn = "2025-04-01"; $0.promisedDate = "2025-04-05" }]
        })
        // PAY-1 arrives on 2025-04-10: 600.00 to INV-1 on the 10th (within PTP-1's grace), 300.00 to INV-2 (after PTP-2's).
        _ = try await analyst.unary(Receivables.applyCash, .with {
            $0.sourceID = "PAY-1"; $0.date = "2025-04-10"
            $0.allocations = [.with { $0.invoiceID = "INV-1"; $0.amount = amount(600_00) }, .with { $0.invoiceID = "INV-2"; $0.amount = amount(300_00) }]
        })

        let early = try await viewer.unary(Records.evaluatePromise, .with { $0.id = "PTP-1"; $0.asOf = "2025-04-09" })
        #expect(early.status == "open" && early.received == amount(0) && early.deadline == "2025-04-11" && early.asOf == "2025-04-09")
        let late = try await viewer.unary(Records.evaluatePromise, .with { $0.id = "PTP-1"; $0.asOf = "2025-04-30" })
        #expect(late.status == "partly_kept" && late.received == amount(600_00) && !late.recorded)
        #expect(late.promise == promise1, "evaluating alone changes nothing")
        let strict = try await viewer.unary(Records.evaluatePromise, .with { $0.id = "PTP-1"; $0.asOf = "2025-04-30"; $0.graceDays = 0 })
        #expect(strict.status == "broken" && strict.deadline == "2025-04-08")
        #expect(try await viewer.unary(Records.evaluatePromise, .with { $0.id = "PTP-2"; $0.asOf = "2025-04-30" }).status == "broken")

        let seq = try world.acme.store.lastChangeSequence()
        let recorded = try await analyst.unary(Records.evaluatePromise, .with { $0.id = "PTP-1"; $0.asOf = "2025-04-30"; $0.record = true })
        #expect(recorded.recorded && recorded.promise.status == "partly_kept")
        #expect(try await viewer.unary(Records.getPromise, .with { $0.id = "PTP-1" }).status == "partly_kept")
        #expect(try world.acme.store.lastChangeSequence() == seq + 1)
        let again = try await analyst.unary(Records.evaluatePromise, .with { $0.id = "PTP-1"; $0.asOf = "2025-04-30"; $0.record = true })
        #expect(!again.recorded, "an unchanged status writes nothing")
        #expect(try world.acme.store.lastChangeSequence() == seq + 1)

        let future = await refusal { _ = try await analyst.unary(Records.evaluatePromise, .with { $0.id = "PTP-2"; $0.asOf = "2999-01-01"; $0.record = true }) }
        #expect(future?.code == .invalidArgument && future?.details.first?.field == "as_of")
        let denied = await refusal { _ = try await viewer.unary(Records.evaluatePromise, .with { $0.id = "PTP-2"; $0.record = true }) }
        #expect(denied?.code == .permissionDenied)
        #expect(try await viewer.unary(Records.getPromise, .with { $0.id = "PTP-2" }).status == "open")
    }
}
