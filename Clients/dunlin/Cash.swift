import ArgumentParser
import DunlinClient
import DunlinCore
import DunlinServices
import DunlinWire
import Foundation

// Bank files over the Cash service (Protocol/cash.proto): `dunlin cash import` (the server's
// alone), `dunlin cash queue|files|show` (answered from the replica offline), and `dunlin cash
// assign|apply`, which post the receipt's payment and its applications through Receivables like
// any other cash work, offline too.

/// `dunlin cash`.
struct CashCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cash", abstract: "Bank files: import them, see what matched and why, and settle the rest.",
        subcommands: [Import.self, Queue.self, Files.self, Show.self, Assign.self, ApplyReceipt.self]
    )

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import a bank file (BAI2, camt.053, camt.054, MT940, BAI lockbox) on the server: read whole, refused whole when its totals do not add up, each new credit matched.",
            discussion: """
                The same file imported twice, or a receipt another file already brought, is never imported twice. \
                Debits and returned items are listed, not posted as payments. Files up to 256 MiB.
                """
        )
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The bank file.") var file: String
        @Option(help: "auto, bai2, camt053, camt054, mt940 or lockbox (default: found from the file's first bytes).") var format = "auto"

        func run() async throws {
            let url = URL(fileURLWithPath: file)
            let size = (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? NSNumber)?.int64Value
            guard let size else { throw connection.report(importFailure(file, "cannot read it")) }
            guard size <= Int64(CashService.maximumFileBytes) else {
                throw connection.report(RPCError(
                    .resourceExhausted, "\(file): \(size) bytes is more than an import takes (\(CashService.maximumFileBytes >> 20) MiB); nothing was imported"
                ))
            }
            let handle: FileHandle
            do {
                handle = try FileHandle(forReadingFrom: url)
            } catch {
                throw connection.report(importFailure(file, "cannot read: \(error.localizedDescription)"))
            }
            defer { try? handle.close() }
            try await connection.withClient { client in
                let name = url.lastPathComponent
                let response = try await client.clientStreaming(Cash.importBankFile, options: connection.callOptions) { writer in
                    var first = true
                    repeat {
                        let chunk = try handle.read(upToCount: 1 << 20) ?? Data()
                        if chunk.isEmpty, !first { break }
                        try await writer.write(.with {
                            if first {
                                $0.name = name
                                $0.format = format
                            }
                            $0.content = chunk
                        })
                        first = false
                    } while true
                }
                if connection.json { return printJSON(encoding: ImportJSON(response)) }
                let file = response.file
                if response.alreadyImported {
                    say("\(name): already imported on \(localTime(milliseconds: file.importedAt)) as \(file.name); nothing imported again")
                    return
                }
                say("\(name): \(file.format), \(file.receipts) receipts: \(file.newReceipts) new, \(response.duplicates) already imported, \(file.notCredits) debits or returns listed")
                say("matched: \(file.customerMatches) of \(file.credits) credits to a customer (\(rate(file.customerMatches, file.credits))), \(file.invoiceMatches) in full to invoices (\(rate(file.invoiceMatches, file.credits)))")
                let names = await CustomerNames.lookUp(response.receipts.map(\.customerID).filter { !$0.isEmpty }, client: client, connection: connection)
                printReceipts(response.receipts, names: names)
                if response.receiptsOmitted > 0 {
                    say("… and \(response.receiptsOmitted) more receipts: dunlin cash queue --file \(file.id) lists those waiting")
                }
            }
        }
    }

    struct Queue: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Receipts waiting for an analyst: credits not yet applied in full, with the matching's suggestions (offline from the replica)."
        )
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var paging: PageOptions
        @Option(help: "Only this bank file's (its id, from dunlin cash files).") var file = ""

        func run() async throws {
            try await connection.withCaller { client in
                let (receipts, next) = try await paging.read { size, cursor in
                    let page = try await client.unary(Cash.listReceipts, .with {
                        $0.fileID = file
                        $0.queue = true
                        $0.pageSize = size
                        $0.cursor = cursor
                    }, options: connection.callOptions)
                    return (page.receipts, page.nextCursor)
                }
                if connection.json { return printJSON(encoding: ListJSON(key: "receipts", items: receipts.map(ReceiptJSON.init), nextCursor: next)) }
                guard !receipts.isEmpty else { return say("nothing waits: every credit is applied") }
                let ids = receipts.flatMap { [$0.customerID] + $0.suggestions.map(\.customerID) }.filter { !$0.isEmpty }
                printReceipts(receipts, names: await CustomerNames.lookUp(ids, client: client, connection: connection))
                if !next.isEmpty { say("more: --cursor \(next)") }
            }
        }
    }

    struct Files: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Imported bank files with their hit rates (offline from the replica).")
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var paging: PageOptions

        func run() async throws {
            try await connection.withCaller { client in
                let (files, next) = try await paging.read { size, cursor in
                    let page = try await client.unary(Cash.listBankFiles, .with { $0.pageSize = size; $0.cursor = cursor }, options: connection.callOptions)
                    return (page.files, page.nextCursor)
                }
                if connection.json { return printJSON(encoding: ListJSON(key: "files", items: files.map(FileJSON.init), nextCursor: next)) }
                guard !files.isEmpty else { return say("no bank files imported") }
                printTable([["file", "format", "imported", "receipts", "new", "customer hits", "invoice hits", "id"]] + files.map { file in
                    [
                        file.name, file.format, localTime(milliseconds: file.importedAt), "\(file.receipts)", "\(file.newReceipts)",
                        rate(file.customerMatches, file.credits), rate(file.invoiceMatches, file.credits), file.id,
                    ]
                })
                if !next.isEmpty { say("more: --cursor \(next)") }
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a receipt: the bank line, what matched and why, the suggestions.")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Receipt id.") var id: String

        func run() async throws {
            try await connection.withCaller { client in
                let receipt = try await client.unary(Cash.getReceipt, .with { $0.id = id }, options: connection.callOptions)
                if connection.json { return printJSON(encoding: ReceiptJSON(receipt)) }
                let ids = [receipt.customerID] + receipt.suggestions.map(\.customerID)
                let names = await CustomerNames.lookUp(ids.filter { !$0.isEmpty }, client: client, connection: connection)
                func name(_ id: String) -> String { id.isEmpty ? "" : names[id] ?? id }
                var lines = [
                    "receipt \(receipt.id)", "\(receipt.direction) \(receipt.amount.currency) \(text(receipt.amount)) booked \(receipt.bookingDate) on account \(receipt.account)",
                    "payer: \(receipt.payerName) \(receipt.payerAccount)", "remittance: \(receipt.remittance)",
                    "bank reference: \(receipt.bankReference)", "from \(receipt.format) line \(receipt.line) of file \(receipt.fileID)",
                    "outcome: \(receipt.outcome.replacingOccurrences(of: "_", with: " "))" + (receipt.customerID.isEmpty ? "" : ", customer \(name(receipt.customerID))"),
                    "why: \(receipt.explanation)", "unapplied: \(receipt.unapplied.currency) \(text(receipt.unapplied))",
                ]
                lines += receipt.applications.map { "applied \(text($0.amount)) to \($0.invoiceID) (\($0.rule), \($0.confidence)%)" }
                lines += receipt.suggestions.map { "suggested: \(name($0.customerID)) \($0.invoiceIds.joined(separator: ", ")) (\($0.rule), \($0.confidence)%)" }
                for line in lines { say(line) }
            }
        }
    }

    struct Assign: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Assign a receipt to a customer: its payment is posted as unapplied cash on that customer (offline too)."
        )
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Receipt id.") var id: String
        @Option(help: "The customer who paid.") var customer: String

        func run() async throws {
            try await connection.withCaller { client in
                let receipt = try await client.unary(Cash.getReceipt, .with { $0.id = id }, options: connection.callOptions)
                let payment = try await postPayment(of: receipt, customer: customer, client: client, connection: connection)
                if connection.json { return printJSON(encoding: ReceiptJSON(try await client.unary(Cash.getReceipt, .with { $0.id = id }, options: connection.callOptions))) }
                say("\(payment): \(receipt.amount.currency) \(text(receipt.amount)) from receipt \(id) is unapplied cash on \(customer)")
            }
        }
    }

    struct ApplyReceipt: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "apply",
            abstract: "Apply a receipt to invoices: posts its payment (to the invoices' customer) if not yet posted, then applies it (offline too).",
            discussion: "Pair each --invoice with an --amount; with one --invoice and no --amount, applies the smaller of what is unapplied and the invoice's balance."
        )
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Receipt id.") var id: String
        @Option(help: "Invoice id (repeat for several).") var invoice: [String]
        @Option(help: "Amount for the matching --invoice, in the receipt's currency.") var amount: [String] = []

        func validate() throws {
            guard !invoice.isEmpty, invoice.count == amount.count || (invoice.count == 1 && amount.isEmpty) else {
                throw ValidationError("give one --amount for each --invoice (or one --invoice and no --amount to apply all that can be)")
            }
        }

        func run() async throws {
            try await connection.withCaller { client in
                let receipt = try await client.unary(Cash.getReceipt, .with { $0.id = id }, options: connection.callOptions)
                let first = try await client.unary(Receivables.getEntry, .with { $0.id = invoice[0] }, options: connection.callOptions)
                let payment = try await postPayment(of: receipt, customer: first.customerID, client: client, connection: connection)
                try await applyCash(from: payment, to: invoice, amounts: amount, date: receipt.bookingDate, client: client, connection: connection)
            }
        }
    }
}

/// Posts a receipt's payment for `customer` unless it is posted already (then it must be that
/// customer's), and returns its id. The id is the receipt's (CashReceipt.paymentID), so two
/// analysts settling one receipt post one payment, and a second customer for it is refused.
private func postPayment(
    of receipt: Dunlin_V1_BankReceiptRecord, customer: String, client: any UnaryCaller, connection: ConnectionOptions
) async throws -> String {
    guard receipt.direction == "credit" else {
        throw RPCError(.failedPrecondition, "receipt \(receipt.id) is a \(receipt.direction): it is listed, never posted as a payment")
    }
    let payment = CashReceipt.paymentID(forReceipt: receipt.id)
    if let posted = try? await client.unary(Receivables.getEntry, .with { $0.id = payment }, options: connection.callOptions) {
        guard posted.customerID == customer else {
            throw RPCError(.failedPrecondition, "receipt \(receipt.id) is posted to customer \(posted.customerID) already, not \(customer)")
        }
        return payment
    }
    _ = try await client.unary(Receivables.postEntries, .with {
        $0.entries = [.with {
            $0.id = payment
            $0.kind = "payment"
            $0.customerID = customer
            $0.amount = receipt.amount
            $0.date = receipt.bookingDate
            $0.reference = receipt.bankReference.isEmpty ? receipt.endToEndID : receipt.bankReference
            $0.memo = "bank receipt \(receipt.id), settled by hand"
        }]
    }, options: connection.callOptions)
    return payment
}

/// "87.5%", or "-" with no credits.
private func rate(_ part: Int32, _ whole: Int32) -> String {
    guard whole > 0 else { return "-" }
    let tenths = Int(part) * 1000 / Int(whole)
    return "\(tenths / 10).\(tenths % 10)%"
}

private func printReceipts(_ receipts: [Dunlin_V1_BankReceiptRecord], names: [String: String]) {
    func name(_ id: String) -> String { id.isEmpty ? "" : names[id] ?? id }
    printTable([["booked", "payer", "amount", "unapplied", "outcome", "customer", "suggestion", "receipt"]] + receipts.map { receipt in
        let suggestion = receipt.suggestions.first.map { "\(name($0.customerID)) \($0.invoiceIds.joined(separator: " ")) (\($0.confidence)%)" } ?? ""
        return [
            receipt.bookingDate, receipt.payerName, "\(receipt.amount.currency) \(text(receipt.amount))", text(receipt.unapplied),
            receipt.outcome.replacingOccurrences(of: "_", with: " "), name(receipt.customerID), suggestion, receipt.id,
        ]
    })
}

/// `--json` of a receipt: the message's fields, snake_case, amounts as AmountJSON.
struct ReceiptJSON: Encodable {
    struct Application: Encodable {
        var invoiceID: String
        var amount: AmountJSON
        var rule: String
        var confidence: Int32
        enum CodingKeys: String, CodingKey { case invoiceID = "invoice_id", amount, rule, confidence }
    }

    struct Suggestion: Encodable {
        var customerID: String
        var invoiceIDs: [String]
        var rule: String
        var confidence: Int32
        enum CodingKeys: String, CodingKey { case customerID = "customer_id", invoiceIDs = "invoice_ids", rule, confidence }
    }

    var id, fileID, identity, format, account: String
    var amount: AmountJSON
    var direction, bookingDate, valueDate, typeCode, bankReference, endToEndID, payerName, payerAccount, remittance: String
    var creditorReferences: [String]
    var line: Int32
    var outcome, customerID, paymentID: String
    var applications: [Application]
    var suggestions: [Suggestion]
    var explanation: String
    var importedAt: Int64
    var unapplied: AmountJSON

    enum CodingKeys: String, CodingKey {
        case id, fileID = "file_id", identity, format, account, amount, direction, bookingDate = "booking_date", valueDate = "value_date"
        case typeCode = "type_code", bankReference = "bank_reference", endToEndID = "end_to_end_id", payerName = "payer_name"
        case payerAccount = "payer_account", remittance, creditorReferences = "creditor_references", line, outcome, customerID = "customer_id"
        case paymentID = "payment_id", applications, suggestions, explanation, importedAt = "imported_at", unapplied
    }

    init(_ receipt: Dunlin_V1_BankReceiptRecord) {
        id = receipt.id
        fileID = receipt.fileID
        identity = receipt.identity
        format = receipt.format
        account = receipt.account
        amount = AmountJSON(receipt.amount)
        direction = receipt.direction
        bookingDate = receipt.bookingDate
        valueDate = receipt.valueDate
        typeCode = receipt.typeCode
        bankReference = receipt.bankReference
        endToEndID = receipt.endToEndID
        payerName = receipt.payerName
        payerAccount = receipt.payerAccount
        remittance = receipt.remittance
        creditorReferences = receipt.creditorReferences
        line = receipt.line
        outcome = receipt.outcome
        customerID = receipt.customerID
        paymentID = receipt.paymentID
        applications = receipt.applications.map {
            Application(invoiceID: $0.invoiceID, amount: AmountJSON($0.amount), rule: $0.rule, confidence: $0.confidence)
        }
        suggestions = receipt.suggestions.map {
            Suggestion(customerID: $0.customerID, invoiceIDs: $0.invoiceIds, rule: $0.rule, confidence: $0.confidence)
        }
        explanation = receipt.explanation
        importedAt = receipt.importedAt
        unapplied = AmountJSON(receipt.unapplied)
    }
}

/// `--json` of a bank file.
struct FileJSON: Encodable {
    var id, name, format: String
    var bytes, importedAt: Int64
    var importedBy: String
    var receipts, newReceipts, notCredits, credits, customerMatches, invoiceMatches: Int32

    enum CodingKeys: String, CodingKey {
        case id, name, format, bytes, importedAt = "imported_at", importedBy = "imported_by", receipts, newReceipts = "new_receipts"
        case notCredits = "not_credits", credits, customerMatches = "customer_matches", invoiceMatches = "invoice_matches"
    }

    init(_ file: Dunlin_V1_BankFileRecord) {
        id = file.id
        name = file.name
        format = file.format
        bytes = file.bytes
        importedAt = file.importedAt
        importedBy = file.importedBy
        receipts = file.receipts
        newReceipts = file.newReceipts
        notCredits = file.notCredits
        credits = file.credits
        customerMatches = file.customerMatches
        invoiceMatches = file.invoiceMatches
    }
}

/// `--json` of an import.
struct ImportJSON: Encodable {
    var file: FileJSON
    var alreadyImported: Bool
    var duplicates: UInt32
    var receipts: [ReceiptJSON]
    var receiptsOmitted: UInt32

    enum CodingKeys: String, CodingKey { case file, alreadyImported = "already_imported", duplicates, receipts, receiptsOmitted = "receipts_omitted" }

    init(_ response: Dunlin_V1_ImportBankFileResponse) {
        file = FileJSON(response.file)
        alreadyImported = response.alreadyImported
        duplicates = response.duplicates
        receipts = response.receipts.map(ReceiptJSON.init)
        receiptsOmitted = response.receiptsOmitted
    }
}
