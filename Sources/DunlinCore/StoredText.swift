/// The rule for every text field Dunlin stores (names, numbers, memos, references, notes,
/// activity bodies, contact fields, ids): any Unicode text except NUL and the C0 and C1 control
/// characters (U+0000-U+001F, U+007F, U+0080-U+009F), of which only tab and newline are allowed.
///
/// Why: a NUL truncates text in C APIs and terminals, and control characters in a customer name
/// become escape sequences on an analyst's terminal (OSC 52 writes the clipboard, CSI hides or
/// rewrites text). They are refused where text enters, naming the field, rather than stored and
/// escaped forever after; the CLI still escapes them when printing (defence in depth, and for
/// data written before the rule).
public enum StoredText {
    /// Whether `scalar` may appear in stored text.
    public static func allows(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09, 0x0A: true
        case 0x00...0x1F, 0x7F...0x9F: false
        default: true
        }
    }

    /// Refuses `value` if it holds a character ``allows(_:)`` does not, naming `field`, the
    /// character (as U+XXXX) and its 1-based position.
    public static func check(_ value: String, field: String) throws(DomainError) {
        for (offset, scalar) in value.unicodeScalars.enumerated() where !allows(scalar) {
            throw .invalid(
                field: field,
                "contains the control character \(codePoint(scalar)) at character \(offset + 1); text may not hold control characters other than tab and newline"
            )
        }
    }

    /// "U+001B".
    public static func codePoint(_ scalar: Unicode.Scalar) -> String {
        let hex = String(scalar.value, radix: 16, uppercase: true)
        return "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
    }
}
