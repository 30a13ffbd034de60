import DunlinClient
import DunlinCore
import DunlinServices
@testable import DunlinStore
import DunlinWire
import Foundation
import Testing

/// A BAI2 statement for Acme's account 123456789 on 2026-11-22: two credits and a debit (totals,
/// counts and all); `first` names the first credit's bank reference, so a second file can repeat
/// or differ from it.
private func bai2(first reference: String = "REF001", amount: Int = 150_000) -> Data {
    let total = amount + 100_000 + 25_000
    return Data("""
        01,BANKID,ACME,261123,0800,1,,,2/
        02,ACME,BANKID,1,261122,2400,USD,2/
        03,123456789,USD,010,0,,/
        16,165,\(amount),0,\(reference),,PAYMENT GLOBE RETAIL INV 1001
        16,195,100000,,REF002,,WIRE ACME CORP
        16,475,25000,,REF003,,CHECK PAID
        49,\(total),5/
        98,\(total),1,7/
        99,\(total),1,9/
        """.utf8)
}

private func importFile(_ client: RPCClient, _ data: Data, name: String = "statement.bai", format: String = "auto", chunk: Int = 64) async throws
    -> Dunlin_V1_ImportBankFileResponse
{
    try await client.clientStreaming(Cash.importBankFile) { writer in
        var offset = 0
        repeat {
            let end = min(offset + chunk, data.count)
            try await writer.write(.with {
                if offset == 0 {
                    $0.name = name
                    $0.format = format
                }
                $0.content = data.subdata(in: offset..<end)
            })
            offset = end
        } while offset < data.count
    }
}

@Suite("Bank files over the protocol", .loadsTheMachine, .timeLimit(.minutes(5)))
struct CashImportTests {
    @Test("a BAI2 file streamed in chunks becomes receipts in one import; the same bytes again, or its receipts in another file, are never imported twice")
    func importsOnce() async throws {
        let world = try await TwoTenants.start()
        let analyst = world.server.client(token: "acme-analyst")
        let first = try await importFile(analyst, bai2())
        #expect(!first.alreadyImported)
        #expect(first.file.receipts == 3 && first.file.newReceipts == 3 && first.file.credits == 2 && first.file.notCredits == 1)
        #expect(first.file.format == "bai2" && first.file.name == "statement.bai" && first.file.importedBy == "u-a")
        #expect(first.receipts.map(\.line) == [4, 5, 6])
        #expect(first.receipts.map(\.outcome) == ["unidentified", "unidentified", "not_credit"])
        #expect(first.receipts[0].remittance == "PAYMENT GLOBE RETAIL INV 1001")
        #expect(first.receipts[0].unapplied == amount(150_000), "a credit not posted is unapplied in full")
        #expect(first.receipts[2].unapplied == amount(0), "a debit is never posted")

        let again = try await importFile(analyst, bai2(), name: "statement-copy.bai")
        #expect(again.alreadyImported && again.receipts.isEmpty && again.file.id == first.file.id && again.file.name == "statement.bai")

        // Another file (other bytes) holding two of the same receipts and one new credit.
        let overlapping = try await importFile(analyst, bai2(first: "REF009", amount: 7_700))
        #expect(!overlapping.alreadyImported)
        #expect(overlapping.duplicates == 2)
        #expect(overlapping.receipts.map(\.bankReference) == ["REF009"])
        let files = try await analyst.unary(Cash.listBankFiles, .init())
        #expect(files.files.count == 2)
        let all = try await analyst.unary(Cash.listReceipts, .init())
        #expect(all.receipts.count == 4)
        try await world.server.stop()
    }

    @Test("a file that does not add up, an unknown format or a viewer's import is refused with what and where, and writes nothing")
    func refusals() async throws {
        let world = try await TwoTenants.start()
        let analyst = world.server.client(token: "acme-analyst")
        var broken = String(decoding: bai2(), as: UTF8.self)
        broken = broken.replacingOccurrences(of: "49,275000,5/", with: "49,275001,5/")
        let sums = await #expect(throws: RPCError.self) { _ = try await importFile(analyst, Data(broken.utf8)) }
        #expect(sums?.code == .invalidArgument)
        #expect(sums?.message.contains("line 7") == true, "\(sums?.message ?? "")")

        let format = await #expect(throws: RPCError.self) { _ = try await importFile(analyst, bai2(), format: "qif") }
        #expect(format?.code == .invalidArgument && format?.details.first?.field == "format")
        let unknown = await #expect(throws: RPCError.self) { _ = try await importFile(analyst, Data("hello,world\n".utf8)) }
        #expect(unknown?.code == .invalidArgument && unknown?.details.first?.field == "format")

        let viewer = world.server.client(token: "acme-viewer")
        let denied = await #expect(throws: RPCError.self) { _ = try await importFile(viewer, bai2()) }
        #expect(denied?.code == .permissionDenied)
        #expect(try await analyst.unary(Cash.listReceipts, .init()).receipts.isEmpty)
        #expect(try await analyst.unary(Cash.listBankFiles, .init()).files.isEmpty)
        try await world.server.stop()
    }

    @Test("the matching applies a credit that names its invoice; the queue is the ledger's answer: a receipt assigned by posting its payment, then applied in full, leaves it; another tenant sees none of it")
    func queueFollowsTheLedger() async throws {
        let world = try await TwoTenants.start()
        try world.acme.store.upsert([Customer(id: "C1", number: "N-C1", name: "Globe Retail")])
        let manager = world.server.client(token: "acme-manager")
        _ = try await manager.unary(Receivables.postEntries, .with {
            $0.entries = [("INV-1001", "1001", Int64(150_000)), ("INV-2002", "2002", Int64(100_000))].map { id, number, minor in
                .with {
                    $0.id = id; $0.kind = "invoice"; $0.customerID = "C1"; $0.reference = number; $0.amount = amount(minor)
                    $0.date = "2026-10-01"; $0.dueDate = "2026-10-31"
                }
            }
        })
        let analyst = world.server.client(token: "acme-analyst")
        let imported = try await importFile(analyst, bai2())
        let (globe, acme) = (imported.receipts[0], imported.receipts[1])
        // "PAYMENT GLOBE RETAIL INV 1001", 1,500.00: posted and applied in the import.
        #expect(globe.outcome == "matched" && globe.customerID == "C1" && globe.paymentID == CashReceipt.paymentID(forReceipt: globe.id))
        #expect(globe.applications.map(\.invoiceID) == ["INV-1001"] && globe.applications.first?.amount == amount(150_000))
        #expect(!globe.explanation.isEmpty && globe.unapplied == amount(0))
        #expect(try world.acme.store.openBalance(ofInvoice: "INV-1001") == Money(minorUnits: 0, currency: .usd))
        #expect(imported.file.customerMatches == 1 && imported.file.invoiceMatches == 1 && imported.file.credits == 2)
        // "WIRE ACME CORP", 1,000.00: no customer is Acme Corp, so never applied on its amount alone.
        #expect(acme.outcome == "unidentified" && acme.customerID.isEmpty && acme.paymentID.isEmpty)
        #expect(try await analyst.unary(Cash.listReceipts, .with { $0.queue = true }).receipts.map(\.id) == [acme.id])

        // Assigned: its payment posted under the receipt's payment id; still unapplied, so it waits.
        let payment = CashReceipt.paymentID(forReceipt: acme.id)
        _ = try await analyst.unary(Receivables.postEntries, .with {
            $0.entries = [.with { $0.id = payment; $0.kind = "payment"; $0.customerID = "C1"; $0.amount = amount(100_000); $0.date = "2026-11-22" }]
        })
        #expect(try await analyst.unary(Cash.getReceipt, .with { $0.id = acme.id }).unapplied == amount(100_000))
        #expect(try await analyst.unary(Cash.listReceipts, .with { $0.queue = true }).receipts.map(\.id) == [acme.id])
        _ = try await analyst.unary(Receivables.applyCash, .with {
            $0.sourceID = payment
            $0.allocations = [.with { $0.invoiceID = "INV-2002"; $0.amount = amount(100_000) }]
        })
        #expect(try await analyst.unary(Cash.getReceipt, .with { $0.id = acme.id }).unapplied == amount(0))
        #expect(try await analyst.unary(Cash.listReceipts, .with { $0.queue = true }).receipts.isEmpty)

        let bayani = world.server.client(token: "bayani-manager")
        #expect(try await bayani.unary(Cash.listReceipts, .init()).receipts.isEmpty)
        let hidden = await #expect(throws: RPCError.self) { _ = try await bayani.unary(Cash.getReceipt, .with { $0.id = acme.id }) }
        #expect(hidden?.code == .notFound)
        try await world.server.stop()
    }
}

extension CashImportTests {
    /// One ACH credit from ZENITH PAYABLES (company id 9876543210) on `day`, with `reference`.
    static func zenith(_ reference: String, day: String, amount: Int = 120_000, name: String = "ZENITH PAYABLES", id: String = "9876543210") -> Data {
        Data("""
            01,BANKID,ACME,\(day),0800,1,,,2/
            02,ACME,BANKID,1,\(day),2400,USD,2/
            03,123456789,USD,/
            16,165,\(amount),0,\(reference),,ORIG CO NAME:\(name) ORIG ID:\(id) ENTRY DESCR:PAYMENT
            49,\(amount),3/
            98,\(amount),1,5/
            99,\(amount),1,7/
            """.utf8)
    }

    @Test("a manual match teaches the payer's name and account: the next receipt from that payer finds its customer, and says so")
    func manualMatchTeachesAlias() async throws {
        let world = try await TwoTenants.start()
        try world.acme.store.upsert([Customer(id: "C1", number: "N-C1", name: "Globe Retail")])
        let analyst = world.server.client(token: "acme-analyst")
        _ = try await analyst.unary(Receivables.postEntries, .with {
            $0.entries = [.with {
                $0.id = "INV-3003"; $0.kind = "invoice"; $0.customerID = "C1"; $0.reference = "3003"; $0.amount = amount(80_000)
                $0.date = "2026-10-01"; $0.dueDate = "2026-10-31"
            }]
        })
        // ZENITH PAYABLES is no customer's name: unidentified, nothing posted.
        let first = try await importFile(analyst, Self.zenith("ACH001", day: "261120")).receipts[0]
        #expect(first.outcome == "unidentified" && first.payerName == "ZENITH PAYABLES" && first.payerAccount == "9876543210")
        // Nothing taught yet: a second credit from the same payer is unidentified too.
        let second = try await importFile(analyst, Self.zenith("ACH002", day: "261121")).receipts[0]
        #expect(second.outcome == "unidentified")

        // The analyst assigns the first to Globe Retail (its payment posted under the receipt's id).
        _ = try await analyst.unary(Receivables.postEntries, .with {
            $0.entries = [.with {
                $0.id = CashReceipt.paymentID(forReceipt: first.id); $0.kind = "payment"; $0.customerID = "C1"
                $0.amount = amount(120_000); $0.date = "2026-11-20"
            }]
        })
        // Taught: by the account, whatever the name; by the name, with another account; the
        // exact amount of Globe's open invoice applies it.
        let byAccount = try await importFile(analyst, Self.zenith("ACH003", day: "261122", name: "ZNTH PAY")).receipts[0]
        #expect(byAccount.outcome == "customer_only" && byAccount.customerID == "C1", "\(byAccount.explanation)")
        #expect(byAccount.explanation.contains("matched to Globe Retail (N-C1) by hand once"), "\(byAccount.explanation)")
        let byName = try await importFile(analyst, Self.zenith("ACH004", day: "261123", amount: 80_000, id: "1111111111")).receipts[0]
        #expect(byName.outcome == "matched" && byName.applications.map(\.invoiceID) == ["INV-3003"], "\(byName.explanation)")
        #expect(byName.applications.first?.rule == "amount_and_payer")
        #expect(byName.explanation.contains("payer name 'ZENITH PAYABLES' was matched to Globe Retail"), "\(byName.explanation)")
        // Another tenant learned nothing from acme's matches.
        let bayani = world.server.client(token: "bayani-manager")
        try world.bayani.store.upsert([Customer(id: "C1", number: "N-C1", name: "Globe Retail")])
        #expect(try await importFile(bayani, Self.zenith("ACH005", day: "261124")).receipts[0].outcome == "unidentified")
        try await world.server.stop()
    }
}

extension CashImportTests {
    @Test("the lockbox layout and the matching's tolerance are tenant settings a manager changes, and the next import uses them")
    func cashSettings() async throws {
        let world = try await TwoTenants.start()
        try world.acme.store.upsert([Customer(id: "C1", number: "N-C1", name: "Globe Retail")])
        let manager = world.server.client(token: "acme-manager")
        let analyst = world.server.client(token: "acme-analyst")
        _ = try await manager.unary(Receivables.postEntries, .with {
            $0.entries = [("INV-1001", Int64(150_000)), ("INV-1002", Int64(250_000))].map { id, minor in
                .with {
                    $0.id = id; $0.kind = "invoice"; $0.customerID = "C1"; $0.reference = id; $0.amount = amount(minor)
                    $0.date = "2026-10-01"; $0.dueDate = "2026-10-31"
                }
            }
        })
        // 5.00 short of INV-1001: within the default tolerance (the smaller of 25.00 and 1%).
        let short = try await importFile(analyst, Self.zenith("ACH010", day: "261120", amount: 149_500, name: "GLOBE RETAIL")).receipts[0]
        #expect(short.outcome == "matched" && short.applications.first?.rule == "amount_within_tolerance", "\(short.explanation)")
        // The short 5.00 is a write-off asked for approval, by the importer: nothing is written off yet.
        let asked = try #require(try world.acme.store.approvalRequest(TenantStore.writeOffRequestID(forReceipt: short.id)))
        #expect(asked.request.kind == .writeOff && asked.request.invoiceID == "INV-1001" && asked.request.amount == Money(minorUnits: 500, currency: .usd))
        #expect(asked.request.requestedBy == "u-a" && asked.request.status == .pending && asked.entryID == nil)
        #expect(short.explanation.contains(asked.request.id), "\(short.explanation)")
        #expect(try world.acme.store.openBalance(ofInvoice: "INV-1001")?.minorUnits == 500)
        // Another approves it: the invoice closes.
        let approved = try await manager.unary(Records.decideApprovalRequest, .with { $0.id = asked.request.id; $0.approve = true; $0.reason = "bank fee" })
        #expect(approved.entryID == asked.request.id + ":writeoff")
        #expect(try world.acme.store.openBalance(ofInvoice: "INV-1001")?.minorUnits == 0)
        // Exact amounts only from now on: 5.00 short of INV-1002 is unapplied cash on Globe.
        let analystRefused = await #expect(throws: RPCError.self) {
            _ = try await analyst.unary(Records.updateSettings, .with { $0.settings = [.with { $0.id = "cash.tolerance_minor_units"; $0.value = "0" }] })
        }
        #expect(analystRefused?.code == .permissionDenied)
        let bad = await #expect(throws: RPCError.self) {
            _ = try await manager.unary(Records.updateSettings, .with { $0.settings = [.with { $0.id = "cash.tolerance_minor_units"; $0.value = "-1" }] })
        }
        #expect(bad?.code == .invalidArgument && bad?.details.first?.field == "cash.tolerance_minor_units", "\(String(describing: bad))")
        _ = try await manager.unary(Records.updateSettings, .with { $0.settings = [.with { $0.id = "cash.tolerance_minor_units"; $0.value = "0" }] })
        let exact = try await importFile(analyst, Self.zenith("ACH011", day: "261121", amount: 249_500, name: "GLOBE RETAIL")).receipts[0]
        #expect(exact.outcome == "customer_only" && exact.applications.isEmpty, "\(exact.explanation)")
        #expect(try world.acme.store.approvalRequests().items.count == 1, "beyond tolerance nothing is asked")

        // The demo lockbox in the standard layout names each check's remitter; a layout without the
        // remitter's columns reads none. A layout that cannot be read with is refused, naming the setting.
        let lockbox = try Data(contentsOf: CashCLITests.demoFiles.appendingPathComponent("demo.lockbox"))
        var layout = LockboxLayout.standard
        layout.check.remitter = nil
        let json = String(decoding: try JSONEncoder().encode(layout), as: UTF8.self)
        var broken = layout
        broken.check.amount = LockboxLayout.Columns(0, 10)
        let refused = await #expect(throws: RPCError.self) {
            _ = try await manager.unary(Records.updateSettings, .with {
                $0.settings = [.with { $0.id = "cash.lockbox_layout"; $0.value = String(decoding: try! JSONEncoder().encode(broken), as: UTF8.self) }]
            })
        }
        #expect(refused?.code == .invalidArgument && refused?.details.first?.field == "cash.lockbox_layout")
        _ = try await manager.unary(Records.updateSettings, .with { $0.settings = [.with { $0.id = "cash.lockbox_layout"; $0.value = json }] })
        let read = try await importFile(analyst, lockbox, name: "demo.lockbox").receipts
        #expect(read.count == 4 && read.allSatisfy(\.payerName.isEmpty))
        // Bayani's imports still read the standard layout.
        let bayani = try await importFile(world.server.client(token: "bayani-manager"), lockbox, name: "demo.lockbox").receipts
        #expect(bayani.count == 4 && bayani.allSatisfy { !$0.payerName.isEmpty })
        try await world.server.stop()
    }
}

extension CashImportTests {
    @Test("a large file's import answers with its first thousand receipts and counts the rest, which ListReceipts pages")
    func largeImportAnswerFits() async throws {
        let world = try await TwoTenants.start()
        let analyst = world.server.client(token: "acme-analyst")
        let count = 1_234
        var lines = ["01,BANKID,ACME,261123,0800,1,,,2/", "02,ACME,BANKID,1,261122,2400,USD,2/", "03,123456789,USD,/"]
        for index in 0..<count { lines.append("16,165,\(1_000 + index),0,LRG\(index),,UNKNOWN PAYER \(index) PAYMENT") }
        let total = (0..<count).reduce(0) { $0 + 1_000 + $1 }
        lines += ["49,\(total),\(count + 2)/", "98,\(total),1,\(count + 4)/", "99,\(total),1,\(count + 6)/"]
        let imported = try await importFile(analyst, Data(lines.joined(separator: "\n").utf8), chunk: 16_384)
        #expect(imported.file.newReceipts == Int32(count))
        #expect(imported.receipts.count == 1_000 && imported.receiptsOmitted == UInt32(count - 1_000))
        #expect(imported.receipts.first?.bankReference == "LRG0" && imported.receipts.last?.bankReference == "LRG999", "the first, in file order")
        var listed = 0
        var cursor = ""
        repeat {
            let page = try await analyst.unary(Cash.listReceipts, .with { $0.fileID = imported.file.id; $0.cursor = cursor; $0.pageSize = 500 })
            listed += page.receipts.count
            cursor = page.nextCursor
        } while !cursor.isEmpty
        #expect(listed == count)
        try await world.server.stop()
    }
}

private func amount(_ minor: Int64, _ currency: String = "USD") -> Dunlin_V1_Amount {
    .with { $0.currency = currency; $0.minor = minor }
}
