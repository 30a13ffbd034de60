/// Text for a person's terminal, with every control character made visible: ESC as `\e`, tab,
/// carriage return and newline as `\t`, `\r`, `\n`, any other C0 or C1 control character or DEL
/// as `\xHH`. Stored text is refused if it holds them (``StoredText``), but a name written before
/// that rule, or text from an older server, must still never reach the terminal raw: an OSC 52
/// sequence in a customer name would write the analyst's clipboard, a CSI one hide or rewrite
/// what is shown. Every human-readable line the CLI prints goes through here (``say(_:)``,
/// ``printTable(_:)``, the error line); JSON output is escaped by its encoder instead.
///
/// `newlines`: keep newlines as line breaks (a multi-line message the CLI itself composed).
public func terminalSafe(_ text: String, newlines: Bool = false) -> String {
    guard text.unicodeScalars.contains(where: { !StoredText.allows($0) || $0 == "\t" || ($0 == "\n" && !newlines) }) else {
        return text
    }
    var safe = ""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\n" where newlines: safe.unicodeScalars.append(scalar)
        case "\n": safe += "\\n"
        case "\t": safe += "\\t"
        case "\r": safe += "\\r"
        case "\u{1B}": safe += "\\e"
        case _ where !StoredText.allows(scalar):
            let hex = String(scalar.value, radix: 16)
            safe += "\\x" + (hex.count < 2 ? "0" : "") + hex
        default: safe.unicodeScalars.append(scalar)
        }
    }
    return safe
}
