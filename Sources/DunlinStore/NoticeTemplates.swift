import DunlinCore
import DunlinSync
import Foundation
import GRDB
import Mustache

/// A notice written out from its template: the email's parts, and the HTML a letter's body is.
public struct RenderedNotice: Sendable, Hashable {
    /// One line.
    public var subject: String
    public var recipient: String
    public var text: String
    public var html: String
}

/// The Mustache engine (swift-mustache) behind notice templates: compiling a template when it is
/// saved, refusing one that does not compile, names what a notice does not have
/// (``TemplateFields``) or renders an empty or malformed recipient; and rendering a notice's
/// ``NoticeDocument``. Subject, recipient and text render as plain text; `html` escapes what it
/// inserts (`{{name}}`; `{{{name}}}` does not), so a customer's name cannot become markup.
public enum NoticeRenderer {
    /// Makes a part render as plain text: swift-mustache's pragma, on the part's first line.
    private static let textPragma = "{{% CONTENT_TYPE: TEXT}}"

    /// The template's parts compiled, by field; refuses the first that does not compile, naming
    /// it, the line and the column.
    static func compile(_ template: NoticeTemplate) throws(DomainError) -> [String: MustacheTemplate] {
        var compiled: [String: MustacheTemplate] = [:]
        for part in template.parts {
            let plain = part.field != "html"
            do {
                compiled[part.field] = try MustacheTemplate(string: plain ? textPragma + part.source : part.source)
            } catch let error as MustacheTemplate.ParserError {
                let column = error.context.columnNumber - (plain && error.context.lineNumber == 1 ? textPragma.count : 0)
                throw .invalid(field: part.field, "line \(error.context.lineNumber), column \(max(1, column)): \(describe(error.error))")
            } catch {
                throw .invalid(field: part.field, "does not compile: \(error)")
            }
        }
        return compiled
    }

    /// Renders `template` with `document`. Refuses (naming the field) a subject that renders to
    /// more than one line or to nothing, and a recipient that is not one email address.
    public static func render(_ template: NoticeTemplate, _ document: TemplateValue) throws(DomainError) -> RenderedNotice {
        let rendered = try renderUnchecked(template, document)
        try NoticeTemplate.checkRendered(subject: rendered.subject, recipient: rendered.recipient)
        return rendered
    }

    /// Renders `template` with `document` as it comes out (subject and recipient trimmed), for a
    /// caller that checks the headers itself: a letter needs no recipient.
    public static func renderUnchecked(_ template: NoticeTemplate, _ document: TemplateValue) throws(DomainError) -> RenderedNotice {
        let compiled = try compile(template)
        let context = mustacheValue(document)
        func part(_ field: String) -> String { compiled[field]?.render(context) ?? "" }
        return RenderedNotice(
            subject: part("subject").trimmingCharacters(in: .whitespacesAndNewlines),
            recipient: part("recipient").trimmingCharacters(in: .whitespacesAndNewlines), text: part("text"), html: part("html")
        )
    }

    /// The store's check when a template is saved: its fields (``NoticeTemplate/validate()``),
    /// that every part compiles, and that it renders a sample notice with a subject and a
    /// recipient.
    static func check(_ template: NoticeTemplate) throws(DomainError) {
        try template.validate()
        _ = try render(template, NoticeDocument.sample)
    }

    /// A document as swift-mustache reads values: dictionaries, arrays, strings and booleans (the
    /// reports' pages, ``ReportPage`` in DunlinClient, are rendered from the same documents).
    package static func mustacheValue(_ value: TemplateValue) -> Any {
        switch value {
        case .text(let text): text
        case .flag(let flag): flag
        case .object(let fields): fields.mapValues(mustacheValue)
        case .list(let items): items.map { $0.mapValues(mustacheValue) }
        }
    }

    private static func describe(_ error: any Error) -> String {
        switch error {
        case MustacheTemplate.Error.sectionCloseNameIncorrect: "a section is closed with another section's name"
        case MustacheTemplate.Error.unfinishedName: "a tag is not finished"
        case MustacheTemplate.Error.expectedSectionEnd: "a section is never closed"
        default: "does not compile (\(error))"
        }
    }
}

extension TenantStore {
    // MARK: Notice templates

    /// Creates or replaces notice templates, all or none. Each must pass
    /// ``NoticeRenderer``'s check (fields, compiles, renders a sample with a recipient), and no two
    /// live templates may share a name and language (CONFLICT naming `language`).
    public func upsert(_ templates: [NoticeTemplate]) throws {
        try save(templates, as: NoticeTemplateRow.init, validate: Self.check)
    }

    public func noticeTemplate(_ id: String) throws -> NoticeTemplate? {
        try live(NoticeTemplateRow.self, id)?.record()
    }

    /// Templates by name, then language; `name` keeps those of that name.
    public func noticeTemplates(name: String? = nil, page: PageRequest = .first) throws -> Page<NoticeTemplate> {
        let request = NoticeTemplateRow.live.matching(NoticeTemplateRow.Columns.name, name)
        return try read(request, page, ListOrder(NoticeTemplateRow.self, by: NoticeTemplateRow.Columns.name)) { try NoticeTemplateRow(row: $0).record() }
    }

    public func deleteNoticeTemplates(_ ids: [String]) throws {
        try tombstone(NoticeTemplateRow.self, ids)
    }

    static func check(_ template: NoticeTemplate, _ db: Database) throws {
        try NoticeRenderer.check(template)
        let columns = NoticeTemplateRow.Columns.self
        if let other = try NoticeTemplateRow.live
            .filter(Column("id") != template.id && columns.name == template.name && columns.language == template.language)
            .fetchOne(db) {
            throw DomainError.conflict(field: "language", "template \(other.id) is already \"\(template.name)\" in \(template.language)")
        }
    }
}
