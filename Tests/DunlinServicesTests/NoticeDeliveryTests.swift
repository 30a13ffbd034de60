import DunlinCore
import DunlinServices
import DunlinStore
import DunlinWire
import Foundation
import Testing

/// Templates saved through the Dunning service and notices delivered by ``NoticeDelivery`` with a
/// stand-in mail command (a shell script that keeps each message it reads, or refuses): what is
/// refused when saved, an email and a letter written, a refusal tried again, and a hand-over
/// interrupted by a stop settled as unconfirmed and never sent twice. The real transfer agent is
/// the end-to-end suite's (MailDeliveryTests).
@Suite("Services in process: notice templates and delivery")
struct NoticeDeliveryTests {
    typealias World = RightsTableTests.World

    static let text = """
        Dear {{contact.name}},
        {{#lines}}
        Invoice {{reference}} due {{due_date}}: {{balance}}
        {{/lines}}
        Amount due: {{amount_due}}
        """
    static let html = "<p>Dear {{contact.name}} of {{customer.name}}</p>{{#lines}}<p>{{reference}}: {{balance}}</p>{{/lines}}"

    static func template(name: String = "email_30", language: String = "en", recipient: String = "", html: String = html) -> Dunlin_V1_NoticeTemplateRecord {
        .with {
            $0.name = name
            $0.language = language
            $0.subject = "Overdue: {{amount_due}} for {{customer.name}}"
            $0.recipient = recipient
            $0.text = text
            $0.html = html
        }
    }

    /// A folder with a mail command that keeps each message in `mail/` and exits `status`.
    struct MailFolder {
        let root: URL
        var mail: URL { root.appendingPathComponent("mail") }
        var outbox: URL { root.appendingPathComponent("outbox") }

        init() throws {
            root = FileManager.default.temporaryDirectory.appendingPathComponent("dunlin-delivery-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: root.appendingPathComponent("mail"), withIntermediateDirectories: true)
        }

        func command(exit status: Int32) throws -> Sendmail {
            let script = root.appendingPathComponent("sendmail-\(status).sh")
            let body = status == 0
                ? "#!/bin/sh\ncat > \"\(mail.path)/$(date +%s%N)-$$.eml\"\n"
                : "#!/bin/sh\ncat > /dev/null\necho 'recipient refused by the test' >&2\nexit \(status)\n"
            try body.write(to: script, atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: script.path)
            return Sendmail(command: [script.path])
        }

        func delivery(exit status: Int32 = 0) throws -> NoticeDelivery {
            NoticeDelivery(
                configuration: DeliveryConfiguration(sendmail: try command(exit: status), outbox: outbox, from: "dunlin@acme.example"),
                directory: DeliveryDirectory(
                    person: { tenant, user in tenant == "t-acme" && user == "u-a" ? NoticePerson(name: "Ana Reyes", email: "ana@acme.example") : nil },
                    tenantName: { _ in "Acme Receivables" }
                )
            )
        }

        var messages: [String] {
            ((try? FileManager.default.contentsOfDirectory(atPath: mail.path)) ?? []).sorted().compactMap {
                try? String(contentsOfFile: mail.appendingPathComponent($0).path, encoding: .utf8)
            }
        }
    }

    /// Acme with a 30-day email level for C1 (analyst u-a, contact Rosa with an email) and C2
    /// (contact with no email), its templates, a run and a release: two notices queued.
    static func released(_ world: World) async throws -> [Dunlin_V1_DunningNoticeRecord] {
        try world.acme.store.upsert([
            Customer(id: "C1", number: "1001", name: "Globe <Retail>", analystID: "u-a"),
            Customer(id: "C2", number: "1002", name: "Bayani Hardware"),
        ])
        try world.acme.store.upsert([Contact(id: "K2", customerID: "C2", name: "Jun", preferredChannel: .letter)])
        let day = CivilDate("2026-08-01")!
        try world.acme.store.post([
            LedgerEntry(id: "INV-2", kind: .invoice, customerID: "C2", amount: Money(minorUnits: 500_00, currency: .usd), date: day, dueDate: day, reference: "INV-2"),
        ])
        _ = try await world.call(Dunning.upsertPolicies, .with {
            $0.policies = [.with {
                $0.id = "POL-1"
                $0.name = "Standard"
                $0.customerIds = ["C1", "C2"]
                $0.levels = [.with { $0.days = 30; $0.channel = "email"; $0.template = "email_30" }]
            }]
        }, as: .manager)
        _ = try await world.call(Dunning.upsertTemplates, .with { $0.templates = [template()] }, as: .manager)
        _ = try await world.call(Dunning.runDunning, .init(), as: .manager)
        let notices = try await world.call(Dunning.releaseNotices, .init(), as: .manager).notices
        #expect(notices.map(\.delivery) == ["queued", "queued"], "a release without a delivery leaves them queued")
        return notices
    }

    // MARK: Templates

    @Test("templates: managers write them, every role reads them, another tenant sees none", arguments: RightsTableTests.tenantRoles)
    func templateRights(role: Role) async throws {
        let world = try World.make()
        let code = await RightsTableTests.status {
            _ = try await world.call(Dunning.upsertTemplates, .with { $0.templates = [Self.template()] }, as: role)
        }
        #expect(code == (role.satisfies(.manager) ? nil : .permissionDenied))
        let saved = try await world.call(Dunning.upsertTemplates, .with { $0.templates = [Self.template(name: "other")] }, as: .manager).templates[0]
        #expect(saved.id.hasPrefix("tpl_"))
        #expect(saved.recipient == "{{contact.email}}", "the contact's email unless it says otherwise")
        #expect(try await world.call(Dunning.getTemplate, .with { $0.id = saved.id }, as: role).name == "other")
        #expect(await RightsTableTests.status { _ = try await world.call(Dunning.getTemplate, .with { $0.id = saved.id }, as: .manager, tenant: "t-bayani") } == .notFound)
    }

    @Test("a template that does not compile, names a missing field or renders no recipient is refused with the part and line", arguments: [
        (template(html: "<p>\n{{#lines}}\n{{reference}}\n{{/totals}}"), "html", "line 4: {{/totals}} closes {{#lines}} of line 2"),
        (template(html: "<p>{{customer.nmae}}</p>"), "html", "line 1: {{customer.nmae}} names no field"),
        (template(recipient: "{{^contact}}nobody{{/contact}}"), "recipient", "renders an empty recipient"),
        (template(recipient: "{{contact.name}}"), "recipient", "is not an email address"),
        (template(language: "english!"), "language", "is not a language tag"),
    ] as [(Dunlin_V1_NoticeTemplateRecord, String, String)])
    func refusedTemplates(template: Dunlin_V1_NoticeTemplateRecord, field: String, message: String) async throws {
        let world = try World.make()
        do {
            _ = try await world.call(Dunning.upsertTemplates, .with { $0.templates = [template] }, as: .manager)
            Issue.record("saved")
        } catch let error as RPCError {
            #expect(error.code == .invalidArgument)
            #expect(error.details.first?.field == field)
            #expect(error.message.contains(message), "\(error.message)")
        }
        #expect(try world.acme.store.noticeTemplates().items.isEmpty, "nothing written")
    }

    @Test func aSecondTemplateOfOneNameAndLanguageIsRefused() async throws {
        let world = try World.make()
        _ = try await world.call(Dunning.upsertTemplates, .with { $0.templates = [Self.template()] }, as: .manager)
        let code = await RightsTableTests.status {
            _ = try await world.call(Dunning.upsertTemplates, .with { $0.templates = [Self.template()] }, as: .manager)
        }
        #expect(code == .failedPrecondition)
        _ = try await world.call(Dunning.upsertTemplates, .with { $0.templates = [Self.template(language: "fil")] }, as: .manager)
        #expect(try world.acme.store.noticeTemplates(name: "email_30").items.map(\.language).sorted() == ["en", "fil"])
    }

    // MARK: Delivery

    @Test func anEmailGoesToTheContactAndALetterToTheCustomerWithoutAnEmailEachOnce() async throws {
        let world = try World.make()
        let folder = try MailFolder()
        defer { try? FileManager.default.removeItem(at: folder.root) }
        _ = try await Self.released(world)
        try world.acme.store.upsert([Contact(id: "K1", customerID: "C1", name: "Rosa Cruz", email: "rosa@globe.example")])
        let delivery = try folder.delivery()
        let delivered = await delivery.deliver(world.acme)
        #expect(delivered.map(\.delivery) == [.sent, .sent])

        let email = try #require(delivered.first { $0.customerID == "C1" })
        #expect(email.deliveredAs == .email)
        #expect(email.deliveredAt != nil)
        let messages = folder.messages
        #expect(messages.count == 1)
        let message = try #require(messages.first)
        #expect(message.contains("To: \"Rosa Cruz\" <rosa@globe.example>\r\n"))
        #expect(message.contains("Reply-To: \"Ana Reyes\" <ana@acme.example>\r\n"))
        #expect(message.contains("From: \"Acme Receivables\" <dunlin@acme.example>\r\n"))
        #expect(message.contains("Subject: Overdue: $1,000.00 for Globe <Retail>\r\n"))
        #expect(message.contains("Content-Type: multipart/alternative;"))
        let bodies = Self.base64Parts(message)
        #expect(bodies.count == 2)
        #expect(bodies.first?.contains("Invoice INV-1 due August 1, 2026: $1,000.00") == true, "\(bodies.first ?? "")")
        #expect(bodies.last?.contains("of Globe &lt;Retail&gt;") == true, "the HTML part escapes the customer's name")
        let copy = folder.outbox.appendingPathComponent("t-acme/email")
        #expect(try FileManager.default.contentsOfDirectory(atPath: copy.path).count == 1, "a copy of the email in the outbox")

        let letter = try #require(delivered.first { $0.customerID == "C2" })
        #expect(letter.deliveredAs == .letter)
        #expect(letter.deliveryDetail.contains("no email address for the customer's contact"))
        let page = try String(contentsOf: folder.outbox.appendingPathComponent("t-acme/letters").appendingPathComponent(
            try #require(FileManager.default.contentsOfDirectory(atPath: folder.outbox.appendingPathComponent("t-acme/letters").path).first)
        ), encoding: .utf8)
        #expect(page.contains("<strong>Acme Receivables</strong>"))
        #expect(page.contains("Dear Jun of Bayani Hardware"))
        #expect(page.contains("INV-2: $500.00"))

        // Again: nothing is queued, nothing goes twice.
        #expect(await delivery.deliver(world.acme).isEmpty)
        #expect(folder.messages.count == 1)
    }

    @Test func aRefusedMessageIsTriedAgainAndFailsAfterTheLastAttempt() async throws {
        let world = try World.make()
        let folder = try MailFolder()
        defer { try? FileManager.default.removeItem(at: folder.root) }
        _ = try await Self.released(world)
        try world.acme.store.upsert([Contact(id: "K1", customerID: "C1", name: "Rosa Cruz", email: "rosa@globe.example")])
        let refusing = try folder.delivery(exit: 75)
        var notice = try #require(await refusing.deliver(world.acme).first { $0.customerID == "C1" })
        #expect(notice.delivery == .queued)
        #expect(notice.deliveryAttempts == 1)
        #expect(notice.deliveryDetail.contains("exited 75: recipient refused by the test"), "\(notice.deliveryDetail)")
        for _ in 2...NoticeDeliveryState.maximumAttempts {
            notice = try #require(await refusing.deliver(world.acme).first { $0.customerID == "C1" })
        }
        #expect(notice.delivery == .failed)
        #expect(folder.messages.isEmpty)

        // A manager sends it again once the address is fixed; it goes.
        _ = try await world.call(Dunning.resendNotices, .with { $0.noticeIds = [notice.id] }, as: .manager)
        #expect(try await folder.delivery().deliver(world.acme).map(\.delivery) == [.sent])
        #expect(folder.messages.count == 1)
    }

    @Test func aHandOverCutShortByAStopIsUnconfirmedNeverSentTwiceAndResentOnRequest() async throws {
        let world = try World.make()
        let folder = try MailFolder()
        defer { try? FileManager.default.removeItem(at: folder.root) }
        let notices = try await Self.released(world)
        try world.acme.store.upsert([Contact(id: "K1", customerID: "C1", name: "Rosa Cruz", email: "rosa@globe.example")])
        let id = try #require(notices.first { $0.customerID == "C1" }?.id)
        // What a server killed after `sending` was committed leaves behind.
        try world.acme.store.updateDelivery(id) { notice in
            var sending = notice
            sending.delivery = .sending
            sending.deliveredAs = .email
            return sending
        }
        // The next server process: the first delivery settles it, and does not send it.
        let delivered = await (try folder.delivery()).deliver(world.acme)
        #expect(delivered.map(\.customerID) == ["C2"], "only the letter still queued goes")
        let settled = try #require(try world.acme.store.dunningNotice(id))
        #expect(settled.delivery == .unconfirmed)
        #expect(settled.deliveryDetail.contains("dunlin notices resend \(id)"))
        #expect(folder.messages.isEmpty)

        // Only a manager sends it again, and only an unconfirmed or failed one.
        #expect(await RightsTableTests.status { _ = try await world.call(Dunning.resendNotices, .with { $0.noticeIds = [id] }, as: .analyst) } == .permissionDenied)
        let letter = try #require(notices.first { $0.customerID == "C2" }?.id)
        #expect(await RightsTableTests.status { _ = try await world.call(Dunning.resendNotices, .with { $0.noticeIds = [letter] }, as: .manager) } == .failedPrecondition)
        #expect(await RightsTableTests.status { _ = try await world.call(Dunning.resendNotices, .with { $0.noticeIds = [id] }, as: .manager, tenant: "t-bayani") } == .notFound)
        _ = try await world.call(Dunning.resendNotices, .with { $0.noticeIds = [id] }, as: .manager)
        #expect(try await folder.delivery().deliver(world.acme).map(\.delivery) == [.sent])
        #expect(folder.messages.count == 1)
    }

    @Test func aHandOverThatLeftItsCopyIsRecordedSentAfterARestart() async throws {
        let world = try World.make()
        let folder = try MailFolder()
        defer { try? FileManager.default.removeItem(at: folder.root) }
        _ = try await Self.released(world)
        try world.acme.store.upsert([Contact(id: "K1", customerID: "C1", name: "Rosa Cruz", email: "rosa@globe.example")])
        // Delivered once; then put back to `sending`, as if the process stopped after the copy.
        let sent = try #require(await (try folder.delivery()).deliver(world.acme).first { $0.customerID == "C1" })
        try world.acme.store.updateDelivery(sent.id) { notice in
            var sending = notice
            sending.delivery = .sending
            return sending
        }
        _ = await (try folder.delivery()).deliver(world.acme)
        #expect(try world.acme.store.dunningNotice(sent.id)?.delivery == .sent)
        #expect(folder.messages.count == 1)
    }

    @Test("header values cannot carry a line break", arguments: ["Overdue\r\nBcc: all@example.com", "Over\ndue"])
    func headerInjection(subject: String) {
        let message = MailMessage(
            from: .init(email: "a@example.com"), to: .init(name: "Rosa", email: "rosa@example.com"), replyTo: nil, subject: subject,
            date: Date(timeIntervalSince1970: 0), messageID: "m@example.com", text: "t", html: "h"
        )
        #expect(throws: MailMessage.Problem.self) { try message.encoded() }
    }

    @Test func aSubjectOutsideASCIIIsAnEncodedWord() throws {
        let message = MailMessage(
            from: .init(name: "Dunlin Demo Co", email: "a@example.com"), to: .init(name: "José Rizal", email: "jose@example.com"), replyTo: nil,
            subject: "Lampas na: ₱12,000.00", date: Date(timeIntervalSince1970: 0), messageID: "m@example.com", text: "ñ", html: "<p>ñ</p>"
        )
        let text = String(decoding: try message.encoded(), as: UTF8.self)
        #expect(text.contains("Subject: =?UTF-8?B?\(Data("Lampas na: ₱12,000.00".utf8).base64EncodedString())?=\r\n"))
        #expect(text.contains("To: =?UTF-8?B?\(Data("José Rizal".utf8).base64EncodedString())?= <jose@example.com>\r\n"))
        #expect(text.contains("Date: Thu, 01 Jan 1970 00:00:00 +0000\r\n"))
        #expect(text.utf8.allSatisfy { $0 < 128 }, "the message itself is ASCII")
    }

    /// The decoded base64 parts of a MIME message, in order.
    static func base64Parts(_ message: String) -> [String] {
        message.components(separatedBy: "Content-Transfer-Encoding: base64\r\n\r\n").dropFirst().map { part in
            let encoded = part.components(separatedBy: "\r\n--").first?.replacingOccurrences(of: "\r\n", with: "") ?? ""
            return String(decoding: Data(base64Encoded: encoded) ?? Data(), as: UTF8.self)
        }
    }
}
