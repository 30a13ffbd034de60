import Foundation

/// ISO 11649 structured creditor references: "RF", two check digits, then 1 to 21 letters and
/// digits (printed in groups of four; spaces are ignored). The check digits make the reference
/// self-validating: moving "RFkk" to the end, reading letters as numbers (A = 10 … Z = 35) and
/// taking the whole number mod 97 gives 1. A reference that fails this is not structured; the
/// matcher reads it as remittance text instead.
public enum CreditorReference {
    /// The reference's body (what follows "RFkk") when `text` is a valid ISO 11649 reference.
    public static func body(of text: String) -> String? {
        let compact = text.uppercased().filter { $0 != " " }
        guard compact.count >= 5, compact.count <= 25, compact.hasPrefix("RF"),
            compact.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }),
            compact.dropFirst(2).prefix(2).allSatisfy(\.isASCIIDigit)
        else { return nil }
        let rearranged = compact.dropFirst(4) + compact.prefix(4)
        guard remainder97(of: rearranged) == 1 else { return nil }
        return String(compact.dropFirst(4))
    }

    /// The valid ISO 11649 references written as words of free text ("RF18 INV000124" is two words
    /// and not read; "RF18INV000124" is): banks with no field for them carry them in the text.
    public static func references(inText text: String) -> [String] {
        guard text.utf8.count >= 5, mayHoldRF(text) else { return [] }
        return text.uppercased().split(whereSeparator: { !($0.isASCII && ($0.isLetter || $0.isNumber)) })
            .filter { $0.hasPrefix("RF") && (5...25).contains($0.count) }
            .map(String.init).filter { body(of: $0) != nil }
    }

    /// The bodies of the words of free text shaped as RF references ("RF", two digits, letters and
    /// digits) whose check digits fail ("RF74INV696323" when the reference for INV696323 is RF73…):
    /// a mistyped reference still carries the invoice number, which the matcher reads as remittance
    /// text, never as structured.
    public static func malformedBodies(inText text: String) -> [String] {
        guard text.utf8.count >= 5, mayHoldRF(text) else { return [] }
        return text.uppercased().split(whereSeparator: { !($0.isASCII && ($0.isLetter || $0.isNumber)) })
            .filter { $0.hasPrefix("RF") && (5...25).contains($0.count) && $0.dropFirst(2).prefix(2).allSatisfy(\.isASCIIDigit) }
            .map(String.init).filter { body(of: $0) == nil }.map { String($0.dropFirst(4)) }
    }

    /// Whether `text` upper-cased holds "RF": for ASCII text (nearly every receipt's), "R" or "r"
    /// then "F" or "f", byte by byte; otherwise upper-cased first (a ligature such as "ﬀ"
    /// upper-cases to "FF").
    private static func mayHoldRF(_ text: String) -> Bool {
        var previousIsR = false
        for byte in text.utf8 {
            guard byte < 0x80 else { return text.uppercased().contains("RF") }
            let upper = byte & 0xDF
            if previousIsR, upper == UInt8(ascii: "F") { return true }
            previousIsR = upper == UInt8(ascii: "R")
        }
        return false
    }

    /// Whether `text` looks like an RF reference at all (so a bad one can be named as such).
    public static func looksStructured(_ text: String) -> Bool {
        let compact = text.uppercased().filter { $0 != " " }
        return compact.hasPrefix("RF") && compact.count >= 5 && compact.dropFirst(2).prefix(2).allSatisfy(\.isASCIIDigit)
    }

    /// The RF reference for `body` (1 to 21 ASCII letters and digits), or nil for another body.
    public static func make(body: String) -> String? {
        let upper = body.uppercased()
        guard (1...21).contains(upper.count), upper.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) else { return nil }
        let check = 98 - remainder97(of: upper + "RF00")
        return "RF" + (check < 10 ? "0" : "") + String(check) + upper
    }

    /// The number the characters spell (digits as themselves, A = 10 … Z = 35) mod 97, a digit at a time.
    private static func remainder97<S: StringProtocol>(of text: S) -> Int {
        var remainder = 0
        for character in text {
            guard let value = character.isASCIIDigit ? character.wholeNumberValue : letterValue(character) else { return -1 }
            remainder = value >= 10 ? (remainder * 100 + value) % 97 : (remainder * 10 + value) % 97
        }
        return remainder
    }

    private static func letterValue(_ character: Character) -> Int? {
        guard let ascii = character.asciiValue, ascii >= 65, ascii <= 90 else { return nil }
        return Int(ascii) - 55
    }
}

/// How invoice numbers are compared, in the index and in what customers write.
///
/// An invoice number's *key* drops everything a payer gets wrong without meaning to:
/// - case, spaces, dashes, slashes and dots ("inv-000 123" and "INV000123" are alike);
/// - the leading run of letters, the series prefix, which payers leave out ("123" cites INV-000123);
/// - leading zeros of the rest ("INV-000123" and "INV 123" are alike);
/// - the confusions O for 0 and I or L for 1 in the rest ("1O23" is 1023; "INVO0123" is INV-00123,
///   because letters O, I and L after a known prefix are read as digits).
///
/// So the key of "INV-000123" is "123". The prefix still counts when several invoices share a key:
/// the one whose prefix the citation spelled wins.
public enum InvoiceNumberKey {
    /// The key of an invoice number as the ERP wrote it, and its series prefix; nil when the
    /// number has no digit after its prefix (it can then be cited only exactly).
    public static func split(_ number: String) -> (prefix: String, key: String)? {
        // Byte by byte, into the strings' own storage (no array between): the index splits a
        // million numbers. The prefix is the leading letters, the key what follows.
        var keyStart = 0
        var hasDigit = false
        let prefix = String(unsafeUninitializedCapacity: number.utf8.count, initializingUTF8With: { buffer in
            var count = 0
            for byte in number.utf8 {
                keyStart += 1
                guard let upper = upperAlphanumeric(byte) else { continue }
                guard upper >= UInt8(ascii: "A") else {
                    keyStart -= 1
                    break
                }
                buffer[count] = upper
                count += 1
            }
            return count
        })
        let key = String(unsafeUninitializedCapacity: number.utf8.count, initializingUTF8With: { buffer in
            var count = 0
            for byte in number.utf8.dropFirst(keyStart) {
                guard let upper = upperAlphanumeric(byte) else { continue }
                let digit =
                    switch upper {
                    case UInt8(ascii: "O"): UInt8(ascii: "0")
                    case UInt8(ascii: "I"), UInt8(ascii: "L"): UInt8(ascii: "1")
                    default: upper
                    }
                if count == 0, digit == UInt8(ascii: "0") { continue }
                if digit <= UInt8(ascii: "9") { hasDigit = true }
                buffer[count] = digit
                count += 1
            }
            return count
        })
        guard hasDigit else { return nil }
        return (prefix, key)
    }

    /// Upper-cased ASCII letters and digits only: the form exact comparison uses.
    public static func alphanumerics(_ text: String) -> String {
        String(decoding: text.utf8.compactMap(upperAlphanumeric), as: UTF8.self)
    }

    /// The byte upper-cased when it is an ASCII letter or digit; nil for anything else.
    private static func upperAlphanumeric(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "A")...UInt8(ascii: "Z"): byte
        case UInt8(ascii: "a")...UInt8(ascii: "z"): byte - 32
        default: nil
        }
    }

    /// The rest of a number after its prefix: O read as 0, I and L as 1, leading zeros dropped.
    static func key<S: StringProtocol>(ofRest rest: S) -> String {
        var key = ""
        for character in rest {
            let digit: Character =
                switch character {
                case "O": "0"
                case "I", "L": "1"
                default: character
                }
            if key.isEmpty, digit == "0" { continue }
            key.append(digit)
        }
        return key
    }
}

/// One reading of an invoice number in remittance text.
struct InvoiceCitation: Hashable, Sendable {
    /// The invoice-number key it reads as (see ``InvoiceNumberKey``).
    var key: String
    /// The series prefix the text spelled before the number, if any ("INV").
    var prefix: String
    /// The text as the payer wrote it, for the explanation ("inv 123").
    var written: String
    /// Introduced by an invoice word or a known series prefix ("INV", "INVOICE", "RECHNUNG"),
    /// rather than a bare number.
    var prefixed: Bool
    /// Made by joining digit groups split by one space or dash ("INV 000 123", a wrapped "1 23").
    var joined: Bool
}

/// Finds the invoice numbers a payer may have cited in free text.
///
/// The text is cut into words of letters and digits. A word that is an invoice word or a series
/// prefix the tenant uses ("INV", "INVOICE", "INVOICES", "BILL", "FACTURE", "RECHNUNG"…) marks the
/// numbers after it as prefixed, through "NO", "NR", "#" and lists joined by commas or "AND", until
/// another word. A word of a prefix glued to digits ("INV000123", or "PAYMENTINV2001" where a
/// 65-column wrap joined two words) counts the same; letters O, I and L between the prefix and the
/// digits are digits ("INVO0123").
///
/// Digit groups separated by exactly one space or dash form a run ("000 123", or "1 23" where a
/// BAI2 continuation record joined a wrapped number with a space). Every reading of up to three
/// consecutive groups of a run is produced ("1", "23" and "123"), and the matcher keeps the reading
/// the payer and amount agree with, so "123 124" still cites two invoices when both are the payer's.
///
/// A bare number (no invoice word or prefix) is read only when it has at least four characters
/// ("000123" yes, "123" no): short bare numbers are quantities, days and amounts far more often than
/// invoices. Words whose letters are neither a prefix nor confusable digits ("PO4500123") are not
/// invoice numbers.
struct RemittanceCitations {
    /// Words that introduce invoice numbers in any tenant, besides the tenant's own series prefixes.
    static let invoiceWords: Set<String> = [
        "INV", "INVS", "INVOICE", "INVOICES", "INVNO", "INVNR", "BILL", "BILLS", "FACTURE", "FACTURES", "FACTURA", "FACTURAS", "RECHNUNG",
        "RECHNUNGEN", "FATTURA", "FACT",
    ]
    /// Words that may stand between an invoice word and its number, or between listed numbers.
    static let connectingWords: Set<String> = ["NO", "NOS", "NR", "NUM", "NUMBER", "NUMBERS", "AND", "UND", "ET", "Y", "E", "REF"]
    /// The most characters a reading may have: longer digit strings are account numbers.
    static let longestReading = 20
    /// A bare number must have at least this many characters to be read.
    static let shortestBareReading = 4

    let prefixes: Set<String>

    private struct Word {
        var text: String
        var range: Range<String.Index>
        /// Whether the gap before this word is one space, one dash, or nothing.
        var joinsPrevious: Bool
    }

    /// Every reading of every invoice number in `text`, in order, without repeats.
    func citations(in text: String) -> [InvoiceCitation] {
        let words = Self.words(of: text)
        var readings: [InvoiceCitation] = []
        var seen: Set<InvoiceCitation> = []
        var marker: (prefix: String, start: String.Index, word: Int)? = nil
        var index = 0
        while index < words.count {
            let word = words[index]
            if !word.text.contains(where: \.isASCIIDigit) {
                if let prefix = markerEnding(word.text) {
                    marker = (prefix, word.range.lowerBound, index)
                } else if !Self.connectingWords.contains(word.text) {
                    marker = nil
                }
                index += 1
                continue
            }
            // A word with digits: its letters before the first digit decide what it is.
            let letters = word.text.prefix { !$0.isASCIIDigit }
            var prefix = marker?.prefix ?? ""
            var prefixed = marker != nil
            var first = String(word.text.dropFirst(letters.count))
            if !letters.isEmpty {
                guard let split = splitPrefix(letters) else {
                    marker = nil
                    index += 1
                    continue
                }
                if !split.prefix.isEmpty {
                    prefix = split.prefix
                    prefixed = true
                }
                first = split.confused + first
            }
            guard first.allSatisfy({ $0.isASCIIDigit || "OIL".contains($0) }) else {
                index += 1
                continue
            }
            var groups: [(text: String, end: String.Index)] = [(first, word.range.upperBound)]
            let start = letters.isEmpty && marker?.word == index - 1 ? marker!.start : word.range.lowerBound
            var next = index + 1
            while next < words.count, words[next].joinsPrevious, groups.count < 4, words[next].text.first?.isASCIIDigit == true,
                words[next].text.allSatisfy({ $0.isASCIIDigit || "OIL".contains($0) })
            {
                groups.append((words[next].text, words[next].range.upperBound))
                next += 1
            }
            for from in groups.indices {
                for to in from..<min(from + 3, groups.count) {
                    let digits = groups[from...to].map(\.text).joined()
                    let isPrefixed = prefixed && from == 0
                    guard digits.count <= Self.longestReading, isPrefixed || digits.count >= Self.shortestBareReading else { continue }
                    let key = InvoiceNumberKey.key(ofRest: digits)
                    guard !key.isEmpty else { continue }
                    let begin = from == 0 ? start : words[index + from].range.lowerBound
                    let citation = InvoiceCitation(
                        key: key, prefix: isPrefixed ? prefix : "", written: String(text[begin..<groups[to].end]), prefixed: isPrefixed,
                        joined: to > from
                    )
                    if seen.insert(citation).inserted { readings.append(citation) }
                }
            }
            index = next
        }
        return readings
    }

    /// An invoice word or a tenant series prefix.
    private func isMarker(_ word: String) -> Bool { Self.invoiceWords.contains(word) || prefixes.contains(word) }

    /// The marker a word of letters is or ends with: "INVOICE", or "FORINV" where a wrap glued
    /// "FOR" to "INV" (three letters at least, so a two-letter prefix does not end every word).
    private func markerEnding(_ word: String) -> String? {
        if isMarker(word) { return word }
        for length in stride(from: min(word.count - 1, 10), through: 3, by: -1) where isMarker(String(word.suffix(length))) {
            return String(word.suffix(length))
        }
        return nil
    }

    /// The letters before a number: empty or ending in a marker (a glued "PAYMENTINV"), then letters
    /// O, I and L that are really digits. Nil when the letters are something else ("PO").
    private func splitPrefix(_ letters: Substring) -> (prefix: String, confused: String)? {
        var confusedCount = 0
        for character in letters.reversed() {
            guard "OIL".contains(character) else { break }
            confusedCount += 1
        }
        // Try the longest run of confusable letters first: "INVO" is "INV" and a zero.
        for count in stride(from: confusedCount, through: 0, by: -1) {
            let head = letters.dropLast(count)
            let confused = String(letters.suffix(count))
            if head.isEmpty { return ("", confused) }
            for length in stride(from: min(head.count, 10), through: 2, by: -1) where isMarker(String(head.suffix(length))) {
                return (String(head.suffix(length)), confused)
            }
        }
        return nil
    }

    /// Upper-cased words of ASCII letters and digits, each knowing whether exactly one space or one
    /// dash separates it from the word before.
    private static func words(of text: String) -> [Word] {
        text.utf8.allSatisfy({ $0 < 0x80 }) ? asciiWords(of: text) : unicodeWords(of: text)
    }

    /// ``words(of:)`` for ASCII text, byte by byte (every Character of it is one byte, but for
    /// "\r\n", which is no letter or digit either way).
    private static func asciiWords(of text: String) -> [Word] {
        var words: [Word] = []
        let bytes = text.utf8
        var current: [UInt8] = []
        var start = bytes.startIndex
        var gap: [UInt8] = []
        func finish(at end: String.Index) {
            guard !current.isEmpty else { return }
            let joins = !words.isEmpty && gap.count == 1 && (gap[0] == UInt8(ascii: " ") || gap[0] == UInt8(ascii: "-"))
            words.append(Word(text: String(decoding: current, as: UTF8.self), range: start..<end, joinsPrevious: joins))
            current.removeAll(keepingCapacity: true)
            gap.removeAll(keepingCapacity: true)
        }
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "z"):
                if current.isEmpty { start = index }
                current.append(byte >= UInt8(ascii: "a") ? byte - 32 : byte)
            default:
                finish(at: index)
                gap.append(byte)
            }
            index = bytes.index(after: index)
        }
        finish(at: bytes.endIndex)
        return words
    }

    /// ``words(of:)`` character by character, for text beyond ASCII.
    private static func unicodeWords(of text: String) -> [Word] {
        var words: [Word] = []
        var current = ""
        var start = text.startIndex
        var gap = ""
        var index = text.startIndex
        func finish(at end: String.Index) {
            guard !current.isEmpty else { return }
            words.append(Word(text: current, range: start..<end, joinsPrevious: !words.isEmpty && (gap == " " || gap == "-")))
            current = ""
            gap = ""
        }
        while index < text.endIndex {
            let character = text[index]
            if character.isASCII, character.isLetter || character.isNumber {
                if current.isEmpty { start = index }
                current.append(Character(character.uppercased()))
            } else {
                finish(at: index)
                gap.append(character)
            }
            index = text.index(after: index)
        }
        finish(at: text.endIndex)
        return words
    }
}

/// How payer names and accounts are compared.
///
/// A name is folded (accents, case), "&" and "+" (SWIFT's character set turns "&" into "+") read as
/// "AND", apostrophes dropped ("Margie's" is "MARGIES"), other punctuation read as spaces, runs of
/// single letters joined ("L.L.C." is "LLC"), a leading "THE" dropped, and legal forms dropped from
/// the end, repeatedly ("Acme Corp., Inc." is "ACME"): Inc, Incorporated, Corp, Corporation, Co,
/// Company, Ltd, Limited, LLC, LLP, LP, PLC, GmbH, AG, KG, SA, SAS, SARL, SRL, SpA, BV, NV, Oy, AB,
/// AS, ASA, Pte, Pty, KK, Cie, SE. A name that is nothing but a legal form keeps it.
public enum PayerName {
    static let legalForms: Set<String> = [
        "INC", "INCORPORATED", "CORP", "CORPORATION", "CO", "COMPANY", "LTD", "LIMITED", "LLC", "LLP", "LP", "PLC", "GMBH", "AG", "KG",
        "SA", "SAS", "SARL", "SRL", "SPA", "BV", "NV", "OY", "AB", "AS", "ASA", "PTE", "PTY", "KK", "CIE", "SE",
    ]

    /// The comparable form of a payer's or customer's name; empty when it has no letters or digits.
    public static func normalized(_ name: String) -> String {
        var words = words(name)
        if words.count > 1, words.first == "THE" { words.removeFirst() }
        while words.count > 1, let last = words.last, legalForms.contains(last) || last == "AND" { words.removeLast() }
        return words.joined(separator: " ")
    }

    /// The words of `text` as ``normalized(_:)`` compares them: upper-cased letters and digits,
    /// single letters in a row run together ("A B C" is "ABC"); nothing dropped.
    static func words(_ text: String) -> [String] {
        let spaced = text.utf8.allSatisfy({ $0 < 0x80 }) ? spacedASCII(text) : spacedUnicode(text)
        var words: [String] = []
        var singles = ""
        for word in spaced.split(separator: " ") {
            if word.count == 1 {
                singles += word
                continue
            }
            if !singles.isEmpty { words.append(singles) }
            singles = ""
            words.append(String(word))
        }
        if !singles.isEmpty { words.append(singles) }
        return words
    }

    /// Upper-cased letters and digits, "AND" for "&" and "+", apostrophes dropped, the rest spaces;
    /// byte by byte, as most payer names are ASCII and every receipt's name is normalized.
    private static func spacedASCII(_ name: String) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(name.utf8.count + 8)
        for byte in name.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"): bytes.append(byte - 32)
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): bytes.append(byte)
            case UInt8(ascii: "&"), UInt8(ascii: "+"): bytes += Array(" AND ".utf8)
            case UInt8(ascii: "'"), UInt8(ascii: "`"): continue
            default: bytes.append(UInt8(ascii: " "))
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The same for names beyond ASCII: accents and width folded first.
    private static func spacedUnicode(_ name: String) -> String {
        let folded = name.folding(options: [.diacriticInsensitive, .caseInsensitive, .widthInsensitive], locale: nil).uppercased()
        var spaced = ""
        for character in folded {
            switch character {
            case "&", "+": spaced += " AND "
            case "'", "’", "`": continue
            default: spaced.append(character.isLetter || character.isNumber ? character : " ")
            }
        }
        return spaced
    }

    /// The name with a trailing partial legal form dropped: bank fields cut names short
    /// ("ACME CORPORATI" reads as "ACME"). Nil when the last word is no such fragment.
    static func withoutTruncatedLegalForm(_ name: String) -> String? {
        guard let space = name.lastIndex(of: " ") else { return nil }
        let last = name[name.index(after: space)...]
        guard last.count >= 2, legalForms.contains(where: { $0.count > last.count && $0.hasPrefix(last) }) else { return nil }
        return normalized(String(name[..<space]))
    }

    /// Whether `text` starts with the customer name `name` as a bank field writes one (see
    /// ``spells(_:_:)``): the check the matcher makes of a name with an invoice of exactly the amount.
    public static func startsWithName(_ text: String, _ name: String) -> Bool { spells(words(text), normalized(name)) }

    /// Whether `words` start with the words of `name` (normalized, two or more words) as a bank
    /// field writes a name: word for word, one word of at least 4 letters misspelled by one edit,
    /// and either the whole name, or cut short after at least two words (inside a word, or where
    /// the text ends), or ended at a word boundary after at least three, other text following.
    static func spells(_ words: [String], _ name: String) -> Bool {
        let nameWords = name.split(separator: " ")
        guard nameWords.count >= 2 else { return false }
        var matched = 0
        var misspelled = false
        for (position, nameWord) in nameWords.enumerated() {
            guard position < words.count else { return matched >= 2 }
            let word = words[position]
            if word == nameWord {
                matched += 1
                continue
            }
            if !misspelled, nameWord.count >= 4,
                MatchIndex.editDistance(Array(word.unicodeScalars), Array(nameWord.unicodeScalars), atMost: 1) == 1
            {
                misspelled = true
                matched += 1
                continue
            }
            if word.count < nameWord.count, nameWord.hasPrefix(word) { return matched >= 2 }
            return matched >= 3
        }
        return true
    }

    /// A payer account (IBAN, account number) compared without spaces, dashes or case.
    public static func normalizedAccount(_ account: String) -> String { InvoiceNumberKey.alphanumerics(account) }
}
