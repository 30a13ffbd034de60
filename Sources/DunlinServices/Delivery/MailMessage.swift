import Foundation

/// An email as RFC 5322 and MIME (RFC 2045-2047) write it: headers in ASCII (a non-ASCII subject
/// or display name as a UTF-8 encoded word), and a multipart/alternative body with a text/plain
/// and a text/html part, each UTF-8 in base64 lines of 76 characters. Lines end CRLF. What the
/// templates rendered never reaches a header unchecked: a header value holding CR or LF is
/// refused (``MailMessage/Problem``), so a customer's name cannot add a header.
public struct MailMessage: Sendable, Hashable {
    public struct Address: Sendable, Hashable {
        public var name: String
        public var email: String

        public init(name: String = "", email: String) {
            self.name = name
            self.email = email
        }
    }

    /// Why a message cannot be written.
    public struct Problem: Error, Sendable, Hashable, CustomStringConvertible {
        public var description: String
    }

    public var from: Address
    public var to: Address
    public var replyTo: Address?
    public var subject: String
    public var date: Date
    /// Without the angle brackets: "dunlin.acme.DN_CUS-1_30_INV-2@example.com".
    public var messageID: String
    public var text: String
    public var html: String

    public init(from: Address, to: Address, replyTo: Address?, subject: String, date: Date, messageID: String, text: String, html: String) {
        self.from = from
        self.to = to
        self.replyTo = replyTo
        self.subject = subject
        self.date = date
        self.messageID = messageID
        self.text = text
        self.html = html
    }

    /// The message's bytes: the same message is always the same bytes.
    public func encoded() throws(Problem) -> Data {
        var headers: [(String, String)] = [
            ("From", try Self.header(from)),
            ("To", try Self.header(to)),
        ]
        if let replyTo { headers.append(("Reply-To", try Self.header(replyTo))) }
        try Self.requireOneLine(messageID, "Message-ID")
        headers += [
            ("Subject", try Self.encodedWord(subject, "Subject")),
            ("Date", Self.rfc5322Date(date)),
            ("Message-ID", "<\(messageID)>"),
            ("MIME-Version", "1.0"),
        ]
        // "_" is not in the base64 alphabet, so no part's line can be this boundary.
        let boundary = Self.boundary
        headers.append(("Content-Type", "multipart/alternative; boundary=\"\(boundary)\""))
        var lines = headers.map { "\($0.0): \($0.1)" }
        lines.append("")
        lines.append("This is a message in MIME format: a plain text and an HTML version.")
        for (type, body) in [("text/plain", text), ("text/html", html)] {
            lines += [
                "--\(boundary)", "Content-Type: \(type); charset=utf-8", "Content-Transfer-Encoding: base64", "",
            ]
            lines += Self.base64Lines(Data(body.utf8))
        }
        lines.append("--\(boundary)--")
        return Data((lines.joined(separator: "\r\n") + "\r\n").utf8)
    }

    /// The MIME boundary between the parts.
    static let boundary = "=_dunlin_alternative"

    /// `"Name" <email>` (the name an encoded word when it is not plain ASCII), or the bare address.
    static func header(_ address: Address) throws(Problem) -> String {
        try requireOneLine(address.email, "address")
        guard !address.email.contains(where: { $0 == "<" || $0 == ">" || $0 == "," || $0.isWhitespace }), address.email.contains("@") else {
            throw Problem(description: "\"\(address.email.prefix(80))\" is not one email address")
        }
        guard !address.name.isEmpty else { return address.email }
        return "\(try encodedWord(address.name, "name", quoted: true)) <\(address.email)>"
    }

    /// Plain printable ASCII as it is (quoted for a display name), anything else as RFC 2047
    /// UTF-8 base64 encoded words of at most 75 characters each.
    static func encodedWord(_ value: String, _ what: String, quoted: Bool = false) throws(Problem) -> String {
        try requireOneLine(value, what)
        if value.allSatisfy({ $0.isASCII && !$0.isNewline && ($0 == " " || $0.isPunctuation || $0.isSymbol || $0.isLetter || $0.isNumber) }) {
            guard quoted else { return value }
            return "\"" + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
        }
        // Split on characters so no UTF-8 sequence straddles two words; 45 bytes make 60 base64.
        var words: [String] = []
        var chunk = Data()
        for character in value {
            let bytes = Data(String(character).utf8)
            if chunk.count + bytes.count > 45 {
                words.append("=?UTF-8?B?\(chunk.base64EncodedString())?=")
                chunk = Data()
            }
            chunk.append(bytes)
        }
        if !chunk.isEmpty { words.append("=?UTF-8?B?\(chunk.base64EncodedString())?=") }
        return words.joined(separator: "\r\n ")
    }

    static func requireOneLine(_ value: String, _ what: String) throws(Problem) {
        guard !value.unicodeScalars.contains(where: { $0 == "\r" || $0 == "\n" || $0.value == 0 }) else {
            throw Problem(description: "the \(what) holds a line break")
        }
    }

    static func base64Lines(_ data: Data) -> [String] {
        let encoded = data.base64EncodedString()
        var lines: [String] = []
        var index = encoded.startIndex
        while index < encoded.endIndex {
            let end = encoded.index(index, offsetBy: 76, limitedBy: encoded.endIndex) ?? encoded.endIndex
            lines.append(String(encoded[index..<end]))
            index = end
        }
        return lines
    }

    /// "Mon, 30 Nov 2026 09:15:00 +0000".
    static func rfc5322Date(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss Z"
        return formatter.string(from: date)
    }
}
