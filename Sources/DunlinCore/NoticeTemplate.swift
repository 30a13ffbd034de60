import Foundation

/// A tenant's Mustache template for a dunning level's notices, in one language (kind
/// "notice_template"). A level names a template (``DunningLevel/template``); the notice to a
/// customer takes the template of that name in the customer's language
/// (``choose(_:language:among:)``).
///
/// One template serves both channels: an email is `subject`, `text` and `html` (plain text and
/// HTML alternatives) sent to `recipient`; a letter is `html` on a printable page under the
/// tenant's letterhead. So a customer whose contact has no email, dunned at an email level, gets
/// the same words as a letter.
///
/// What the templates may name is ``NoticeDocument``'s fields; a template that names anything else,
/// does not compile, or renders an empty or malformed recipient is refused when saved, naming the
/// part and the line (the store checks: it holds the Mustache engine).
/// Mutable (field by field in sync); managers write; deleted only as a tombstone.
public struct NoticeTemplate: Sendable, Hashable, Codable, Identifiable {
    /// The most characters one part may hold.
    public static let maximumLength = 100_000
    /// Where an email goes unless the template says otherwise: the customer's contact.
    public static let defaultRecipient = "{{contact.email}}"

    public var id: String
    /// What a level's `template` names: letters, digits, _ - .
    public var name: String
    /// BCP 47 language tag ("en", "fil", "es-US").
    public var language: String
    /// The email's subject, one line once rendered.
    public var subject: String
    /// The email's recipient address once rendered.
    public var recipient: String
    /// The plain-text body of an email.
    public var text: String
    /// The HTML body of an email, and the body of a letter.
    public var html: String

    public init(
        id: String, name: String, language: String = "en", subject: String, recipient: String = Self.defaultRecipient, text: String,
        html: String
    ) {
        self.id = id
        self.name = name
        self.language = language
        self.subject = subject
        self.recipient = recipient
        self.text = text
        self.html = html
    }

    /// The parts a template has, by the field names a refusal uses.
    public var parts: [(field: String, source: String)] {
        [("subject", subject), ("recipient", recipient), ("text", text), ("html", html)]
    }

    /// Checks the fields on their own: an id, a name that is a code, a language tag, every part
    /// present and within ``maximumLength``, and every name a part uses a field of
    /// ``NoticeDocument`` (``TemplateFields/check(_:field:)``). Whether it compiles and what it
    /// renders is the store's check.
    public func validate() throws(DomainError) {
        try Require.text(["id": id, "name": name, "language": language])
        for part in parts { try StoredText.check(part.source, field: part.field) }
        try Require.present(id, "id")
        try Require.code(name, "name")
        guard Self.isLanguageTag(language) else {
            throw .invalid(field: "language", "\"\(language.prefix(40))\" is not a language tag (\"en\", \"fil\", \"es-US\")")
        }
        for part in parts {
            try Require.present(part.source, part.field)
            guard part.source.count <= Self.maximumLength else {
                throw .invalid(field: part.field, "at most \(Self.maximumLength) characters, not \(part.source.count)")
            }
            try TemplateFields.check(part.source, field: part.field)
        }
    }

    /// Refuses what a template rendered for an email's headers: a subject that is empty or more
    /// than one line, a recipient that is empty or not one email address.
    public static func checkRendered(subject: String, recipient: String) throws(DomainError) {
        guard !subject.isEmpty else { throw .invalid(field: "subject", "renders empty") }
        guard !subject.contains(where: \.isNewline) else { throw .invalid(field: "subject", "renders more than one line") }
        guard !recipient.isEmpty else { throw .invalid(field: "recipient", "renders an empty recipient") }
        try Require.emailAddress(recipient, "recipient")
        guard !recipient.contains(where: { $0 == "<" || $0 == ">" || $0 == "," || $0 == ";" || $0 == "\"" }) else {
            throw .invalid(field: "recipient", "\"\(recipient.prefix(80))\" is not one plain email address")
        }
    }

    /// "en", "fil", "es-US", "zh-Hant-TW": letter groups of 1 to 8 joined by "-".
    static func isLanguageTag(_ tag: String) -> Bool {
        let groups = tag.split(separator: "-", omittingEmptySubsequences: false)
        return !groups.isEmpty && groups.allSatisfy { group in
            (1...8).contains(group.count) && group.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) }
        } && groups[0].allSatisfy(\.isLetter)
    }

    /// The template named `name` for a customer writing `language`: the one in that language;
    /// else in its primary language ("es" for "es-US"); else in English; else the first by id.
    /// Nil when the tenant has no template of that name.
    public static func choose(_ name: String, language: String, among templates: [NoticeTemplate]) -> NoticeTemplate? {
        let named = templates.filter { $0.name == name }.sorted { $0.id < $1.id }
        let wanted = language.lowercased()
        let primary = wanted.split(separator: "-").first.map(String.init) ?? wanted
        return named.first { $0.language.lowercased() == wanted }
            ?? named.first { $0.language.lowercased() == primary }
            ?? named.first { $0.language.lowercased() == "en" }
            ?? named.first
    }
}

/// A value a template sees: text, a flag (sections show or hide on it), an object of fields, or a
/// list of objects (a section repeats over it).
public indirect enum TemplateValue: Sendable, Hashable {
    case text(String)
    case flag(Bool)
    case object([String: TemplateValue])
    case list([[String: TemplateValue]])

    /// The fields of an object, or of the first item of a list (the shape of every item).
    var fields: [String: TemplateValue]? {
        switch self {
        case .object(let fields): fields
        case .list(let items): items.first
        case .text, .flag: nil
        }
    }
}

/// Checks the names a Mustache template uses against the fields a notice's template sees
/// (``NoticeDocument/sample``), without the engine: tags are `{{name}}`, `{{{name}}}`, `{{&name}}`,
/// sections `{{#name}}…{{/name}}` and `{{^name}}…{{/name}}`, and comments `{{! … }}`. A name is
/// looked up as Mustache does: in the innermost section's item, then outwards; a dotted name
/// ("customer.name") from its first part. Partials, delimiter changes, inheritance, pragmas and
/// transforms are refused: notice templates stand alone.
public enum TemplateFields {
    /// Refuses the first name `source` uses that is no field, or a tag this check does not allow,
    /// naming `field` and the line.
    public static func check(_ source: String, field: String) throws(DomainError) {
        let root = NoticeDocument.sample.fields
        var sections: [(name: String, fields: [String: TemplateValue]?, line: Int)] = []
        var rest = Substring(source)
        var line = 1
        while let open = rest.range(of: "{{") {
            line += rest[..<open.lowerBound].count { $0 == "\n" }
            let triple = rest[open.upperBound...].hasPrefix("{")
            let closing = triple ? "}}}" : "}}"
            let bodyStart = triple ? rest.index(after: open.upperBound) : open.upperBound
            guard let close = rest[bodyStart...].range(of: closing) else {
                throw .invalid(field: field, "line \(line): a tag opened with \"{{\" is never closed")
            }
            let tag = rest[bodyStart..<close.lowerBound]
            let tagLines = tag.count { $0 == "\n" }
            rest = rest[close.upperBound...]
            var name = tag.trimmingCharacters(in: .whitespaces)
            let sigil = triple ? "{" : name.first.map(String.init) ?? ""
            if !triple, let first = name.first, "#^/!&>=$<%".contains(first) {
                name = String(name.dropFirst()).trimmingCharacters(in: .whitespaces)
            }
            defer { line += tagLines }
            switch sigil {
            case "!":
                continue
            case ">", "=", "$", "<", "%":
                throw .invalid(field: field, "line \(line): {{\(sigil)…}} is not allowed in a notice template (no partials, delimiter changes, inheritance or pragmas)")
            default:
                break
            }
            guard !name.isEmpty else { throw .invalid(field: field, "line \(line): an empty tag {{\(tag)}}") }
            guard name == "." || name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "_.".contains($0)) }) else {
                throw .invalid(field: field, "line \(line): {{\(tag.trimmingCharacters(in: .whitespaces))}} is not a field name (letters, digits, _ and . only)")
            }
            if sigil == "/" {
                guard let open = sections.popLast() else {
                    throw .invalid(field: field, "line \(line): {{/\(name)}} closes no section")
                }
                guard open.name == name else {
                    throw .invalid(field: field, "line \(line): {{/\(name)}} closes {{#\(open.name)}} of line \(open.line)")
                }
                continue
            }
            let value = try resolve(name, sections.reversed().compactMap(\.fields) + [root].compactMap { $0 }, field: field, line: line)
            if sigil == "#" || sigil == "^" {
                sections.append((name, sigil == "#" ? value?.fields : nil, line))
            }
        }
        if let open = sections.last {
            throw .invalid(field: field, "line \(open.line): {{#\(open.name)}} is never closed")
        }
    }

    /// The value `name` names from the innermost context out; nil for ".", the current item.
    private static func resolve(_ name: String, _ contexts: [[String: TemplateValue]], field: String, line: Int) throws(DomainError) -> TemplateValue? {
        guard name != "." else { return nil }
        let parts = name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard !parts.contains(where: \.isEmpty) else { throw .invalid(field: field, "line \(line): {{\(name)}} is not a field name") }
        guard var value = contexts.lazy.compactMap({ $0[parts[0]] }).first else {
            throw .invalid(field: field, "line \(line): {{\(name)}} names no field; the fields are \(NoticeDocument.fieldNames.joined(separator: ", "))")
        }
        for (index, part) in parts.enumerated().dropFirst() {
            guard let next = value.fields?[part] else {
                let parent = parts[..<index].joined(separator: ".")
                let known = (value.fields?.keys.sorted() ?? []).map { "\(parent).\($0)" }
                throw .invalid(field: field, "line \(line): {{\(name)}} names no field; \(parent) has \(known.isEmpty ? "no fields" : known.joined(separator: ", "))")
            }
            value = next
        }
        return value
    }
}
