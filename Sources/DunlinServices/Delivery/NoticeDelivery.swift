import DunlinCore
import DunlinStore
import Foundation
import Logging

/// Where released notices go out: the mail command, the outbox directory, and the sender when a
/// tenant's letterhead names no email.
public struct DeliveryConfiguration: Sendable {
    public var sendmail: Sendmail
    /// Each tenant's letters and email copies go under `<outbox>/<tenant>/letters` and `/email`.
    public var outbox: URL
    /// The From address of a tenant without `letterhead.email`.
    public var from: String

    public init(sendmail: Sendmail = Sendmail(), outbox: URL, from: String) {
        self.sendmail = sendmail
        self.outbox = outbox
        self.from = from
    }
}

/// Who a user id is (the analyst a notice names as Reply-To) and what a tenant is called (its
/// letterhead's default name): the server's control store answers.
public struct DeliveryDirectory: Sendable {
    public var person: @Sendable (_ tenantID: String, _ userID: String) -> NoticePerson?
    public var tenantName: @Sendable (_ tenantID: String) -> String

    public init(
        person: @escaping @Sendable (_ tenantID: String, _ userID: String) -> NoticePerson?,
        tenantName: @escaping @Sendable (_ tenantID: String) -> String
    ) {
        self.person = person
        self.tenantName = tenantName
    }
}

/// Writes released notices to their customers, on the server alone: an email through the system's
/// mail transfer agent (``Sendmail``) with a copy in the tenant's outbox, or a printable letter in
/// the outbox. Every step is recorded on the notice (``NoticeDeliveryState``), so a notice is sent
/// at most once whatever stops the server:
///
/// 1. `queued` → `sending` is committed before the message is handed over;
/// 2. the transfer agent takes it (exit 0) → the copy is written to the outbox → `sent`.
///
/// A server that stopped between 1 and the end of 2 finds the notice `sending` when it starts
/// (``recover(_:)``, before its first delivery): with the copy in the outbox it had been taken
/// and is recorded `sent`; without, nobody knows whether it left, so it is `unconfirmed` and left
/// for a manager (`dunlin notices resend`), never sent twice on its own. A letter is a file
/// written whole or not at all, so a letter interrupted is simply written again.
public actor NoticeDelivery {
    private let configuration: DeliveryConfiguration
    private let directory: DeliveryDirectory
    private let logger: Logger
    /// Tenants whose interrupted deliveries this process has settled.
    private var recovered: Set<String> = []

    public init(configuration: DeliveryConfiguration, directory: DeliveryDirectory, logger: Logger = Logger(label: "dunlind.delivery")) {
        self.configuration = configuration
        self.directory = directory
        self.logger = logger
    }

    /// Delivers `tenant`'s queued notices, one at a time; returns them as they stand after. The
    /// first call for a tenant settles what an earlier process left `sending`. A notice that
    /// cannot be written is recorded as such; the store failing is logged and left for the next
    /// call.
    @discardableResult
    public func deliver(_ tenant: TenantHandle) async -> [DunningNotice] {
        do {
            try recover(tenant)
            var delivered: [DunningNotice] = []
            for notice in try tenant.store.noticesToDeliver([.queued]) {
                delivered.append(try await deliver(notice, of: tenant))
            }
            return delivered
        } catch {
            logger.error("notice delivery failed", metadata: ["tenant": "\(tenant.id)", "error": "\(error)"])
            return []
        }
    }

    /// Settles, once per process and tenant, notices an earlier process left `sending`.
    func recover(_ tenant: TenantHandle) throws {
        guard !recovered.contains(tenant.id) else { return }
        for notice in try tenant.store.noticesToDeliver([.sending]) {
            let copy = emailCopy(notice, of: tenant)
            let taken = FileManager.default.fileExists(atPath: copy.path)
            let now = tenant.now
            try tenant.store.updateDelivery(notice.id) { notice in
                guard notice.delivery == .sending else { return nil }
                var settled = notice
                if taken {
                    settled.delivery = .sent
                    settled.deliveredAt = now
                    settled.deliveryDetail += "; recorded after a restart (the outbox holds its copy)"
                } else {
                    settled.delivery = .unconfirmed
                    settled.deliveryDetail = "the server stopped while handing it to the mail transfer agent: it may have been sent; "
                        + "check the mail log, then `dunlin notices resend \(notice.id)` to send it again"
                }
                return settled
            }
            logger.warning("interrupted delivery settled", metadata: ["tenant": "\(tenant.id)", "notice": "\(notice.id)", "sent": "\(taken)"])
        }
        recovered.insert(tenant.id)
    }

    private func deliver(_ notice: DunningNotice, of tenant: TenantHandle) async throws -> DunningNotice {
        let written: Written
        do {
            written = try write(notice, of: tenant)
        } catch {
            return try record(notice.id, of: tenant) { $0.delivery = .failed; $0.deliveryDetail = "\(error)" }
        }
        switch written {
        case .letter(let page, let why):
            let file = outboxFile(notice, of: tenant, folder: "letters", extension: "html")
            try Self.writeOwnerOnly(Data(page.utf8), to: file)
            let now = tenant.now
            return try record(notice.id, of: tenant) {
                $0.delivery = .sent
                $0.deliveredAs = .letter
                $0.deliveredAt = now
                $0.deliveryDetail = "letter written to \(file.path)\(why.map { " (\($0))" } ?? "")"
            }
        case .email(let message, let data):
            let to = message.to.email
            let intent = try record(notice.id, of: tenant) {
                $0.delivery = .sending
                $0.deliveredAs = .email
                $0.deliveryDetail = "to \(to), Message-ID <\(message.messageID)>"
            }
            guard intent.delivery == .sending else { return intent }
            switch await configuration.sendmail.send(data) {
            case .accepted:
                try Self.writeOwnerOnly(data, to: emailCopy(notice, of: tenant))
                let now = tenant.now
                return try record(notice.id, of: tenant) {
                    $0.delivery = .sent
                    $0.deliveredAt = now
                }
            case .refused(let why):
                return try record(notice.id, of: tenant) {
                    $0.deliveryAttempts += 1
                    $0.delivery = $0.deliveryAttempts >= NoticeDeliveryState.maximumAttempts ? .failed : .queued
                    $0.deliveryDetail = "to \(to): \(why) (attempt \($0.deliveryAttempts) of \(NoticeDeliveryState.maximumAttempts))"
                }
            case .unknown(let why):
                return try record(notice.id, of: tenant) {
                    $0.delivery = .unconfirmed
                    $0.deliveryDetail = "to \(to): \(why); it may have been sent: check the mail log, then `dunlin notices resend \(notice.id)`"
                }
            }
        }
    }

    /// Changes the notice's delivery as `change` says, as it stands in the store.
    private func record(_ id: String, of tenant: TenantHandle, _ change: @escaping @Sendable (inout DunningNotice) -> Void) throws -> DunningNotice {
        try tenant.store.updateDelivery(id) { notice in
            var changed = notice
            change(&changed)
            return changed
        }
    }

    private enum Written {
        case email(MailMessage, Data)
        /// The page, and why an email level's notice went as a letter.
        case letter(String, String?)
    }

    /// The notice written out from its template: an email when its level is email and the
    /// template renders a recipient; otherwise a letter.
    private func write(_ notice: DunningNotice, of tenant: TenantHandle) throws -> Written {
        let inputs = try tenant.store.deliveryInputs(for: notice)
        guard let customer = inputs.customer else { throw DeliveryProblem("customer \(notice.customerID) no longer exists") }
        let contact = inputs.contact.map { NoticePerson(name: $0.name, email: $0.email) }
        let analyst = customer.analystID.isEmpty ? nil : directory.person(tenant.id, customer.analystID)
        let letterhead = try TenantSetting.letterhead(inputs.settings, tenantName: directory.tenantName(tenant.id))
        guard let template = NoticeTemplate.choose(notice.template, language: customer.language, among: inputs.templates) else {
            throw DeliveryProblem("the tenant has no template named \"\(notice.template)\" (dunlin dunning template add)")
        }
        let document = NoticeDocument.build(notice: notice, customer: customer, contact: contact, analyst: analyst, letterhead: letterhead)
        let rendered = try NoticeRenderer.renderUnchecked(template, document)
        let page = LetterPage.html(rendered, document: document, letterhead: letterhead, language: template.language)
        guard notice.channel == .email else { return .letter(page, nil) }
        if let problem = Self.headerProblem(rendered) {
            guard problem.field == "recipient" else { throw problem }
            return .letter(page, "no email address for the customer's contact: \(problem)")
        }
        let from = MailMessage.Address(name: letterhead.name, email: letterhead.email.isEmpty ? configuration.from : letterhead.email)
        let domain = from.email.split(separator: "@").last.map(String.init) ?? "localhost"
        let message = MailMessage(
            from: from,
            to: MailMessage.Address(name: rendered.recipient == contact?.email ? contact?.name ?? "" : "", email: rendered.recipient),
            replyTo: analyst.flatMap { $0.email.isEmpty ? nil : MailMessage.Address(name: $0.name, email: $0.email) },
            subject: rendered.subject, date: tenant.now, messageID: "dunlin.\(Self.fileName(tenant.id)).\(Self.fileName(notice.id))@\(domain)",
            text: rendered.text, html: LetterPage.emailHTML(rendered, language: template.language)
        )
        do {
            return .email(message, try message.encoded())
        } catch {
            throw DeliveryProblem("the email cannot be written: \(error)")
        }
    }

    /// What is wrong with the rendered subject or recipient, nil when nothing.
    private static func headerProblem(_ rendered: RenderedNotice) -> DomainError? {
        do {
            try NoticeTemplate.checkRendered(subject: rendered.subject, recipient: rendered.recipient)
            return nil
        } catch {
            return error
        }
    }

    private func emailCopy(_ notice: DunningNotice, of tenant: TenantHandle) -> URL {
        outboxFile(notice, of: tenant, folder: "email", extension: "eml")
    }

    private func outboxFile(_ notice: DunningNotice, of tenant: TenantHandle, folder: String, extension: String) -> URL {
        configuration.outbox.appendingPathComponent(Self.fileName(tenant.id)).appendingPathComponent(folder)
            .appendingPathComponent("\(Self.fileName(notice.id)).\(`extension`)")
    }

    /// `id` as a file name: characters other than letters, digits, `.`, `_` and `-` become `_`,
    /// and when any did, 8 hex digits of the id's hash follow, so two ids never share a file.
    static func fileName(_ id: String) -> String {
        let safe = String(id.map { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) ? $0 : "_" })
        guard safe != id || safe.hasPrefix(".") else { return safe }
        let hash = id.utf8.reduce(UInt32(2_166_136_261)) { ($0 ^ UInt32($1)) &* 16_777_619 }
        let hex = String(hash, radix: 16)
        return safe + "-" + String(repeating: "0", count: 8 - hex.count) + hex
    }

    /// Writes `data` whole or not at all, synced to disk before it is renamed into place, readable
    /// by the server's user only (DunlinStore ``OwnerOnlyFiles``), in folders only it can enter.
    static func writeOwnerOnly(_ data: Data, to file: URL) throws {
        let folder = file.deletingLastPathComponent()
        for level in [folder.deletingLastPathComponent().deletingLastPathComponent(), folder.deletingLastPathComponent(), folder] {
            try OwnerOnlyFiles.directory(level)
        }
        try OwnerOnlyFiles.write(data, to: file)
    }
}

/// Why a notice cannot be written out.
struct DeliveryProblem: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// The HTML around a template's body: a whole email document, and a printable letter of one page
/// under the letterhead. Everything inserted here from records is escaped.
enum LetterPage {
    static func emailHTML(_ rendered: RenderedNotice, language: String) -> String {
        """
        <!DOCTYPE html>
        <html lang="\(escape(language))"><head><meta charset="utf-8"><title>\(escape(rendered.subject))</title></head>
        <body>
        \(rendered.html)
        </body></html>
        """
    }

    static func html(_ rendered: RenderedNotice, document: TemplateValue, letterhead: Letterhead, language: String) -> String {
        let fields = document.objectFields
        let customer = fields["customer"]?.objectFields ?? [:]
        let contact = fields["contact"]?.objectFields ?? [:]
        let notice = fields["notice"]?.objectFields ?? [:]
        func text(_ object: [String: TemplateValue], _ name: String) -> String {
            if case .text(let value) = object[name] { return value }
            return ""
        }
        func lines(_ value: String) -> String { value.split(separator: "\n").map { escape(String($0)) }.joined(separator: "<br>") }
        let recipient = [text(contact, "name"), text(customer, "name")].filter { !$0.isEmpty }.map(escape).joined(separator: "<br>")
        let contactLine = [letterhead.phone, letterhead.email].filter { !$0.isEmpty }.map(escape).joined(separator: " · ")
        return """
            <!DOCTYPE html>
            <html lang="\(escape(language))"><head><meta charset="utf-8"><title>\(escape(rendered.subject))</title>
            <style>
            @page { size: A4; margin: 20mm; }
            body { font-family: Georgia, serif; font-size: 11pt; }
            .page { page-break-after: always; break-after: page; }
            .letterhead { border-bottom: 1px solid #444; margin-bottom: 12mm; }
            .recipient { font-style: normal; margin-bottom: 8mm; }
            .date { text-align: right; }
            </style></head>
            <body>
            <div class="page">
            <header class="letterhead"><strong>\(escape(letterhead.name))</strong><br>\(lines(letterhead.address))\(contactLine.isEmpty ? "" : "<br>\(contactLine)")</header>
            <address class="recipient">\(recipient)<br>\(lines(text(customer, "address")))</address>
            <p class="date">\(escape(text(notice, "date")))</p>
            <main>
            \(rendered.html)
            </main>
            </div>
            </body></html>
            """
    }

    static func escape(_ value: String) -> String {
        var escaped = ""
        for character in value {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&#39;"
            default: escaped.append(character)
            }
        }
        return escaped
    }
}

extension TemplateValue {
    /// The fields of an object; empty for anything else.
    var objectFields: [String: TemplateValue] {
        if case .object(let fields) = self { return fields }
        return [:]
    }
}
