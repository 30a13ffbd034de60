import DunlinClient
import DunlinCore
import Foundation

/// Prints a line for a person (never for a machine: JSON and CSV output print as they are).
func say(_ line: String) {
    print(terminalSafe(line, newlines: true))
}

/// An instant for people: in the reader's time zone (this machine's, `TZ`), to the minute, with
/// its offset ("2026-11-23 09:05 +08:00"). JSON keeps instants in UTC.
func localTime(milliseconds: Int64) -> String {
    localTime(Date(timeIntervalSince1970: Double(milliseconds) / 1000))
}

/// ISO 8601 text (what a store keeps for "last sync", "last seen", "detected at") for people; the
/// text as it is when it is not an instant.
func localTime(iso text: String) -> String {
    parseISOInstant(text).map(localTime) ?? text
}

/// ISO 8601 text with an offset, with or without fractional seconds; nil for anything else.
func parseISOInstant(_ text: String) -> Date? {
    let iso = ISO8601DateFormatter()
    for options: ISO8601DateFormatter.Options in [[.withInternetDateTime, .withFractionalSeconds], [.withInternetDateTime]] {
        iso.formatOptions = options
        if let date = iso.date(from: text) { return date }
    }
    return nil
}

func localTime(_ date: Date) -> String {
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "en_US_POSIX")
    formatter.timeZone = .current
    formatter.dateFormat = "yyyy-MM-dd HH:mm xxx"
    return formatter.string(from: date)
}

/// Who wrote a value sync kept or set aside, for people: this laptop, the person and the device
/// their token was issued for ("Maria Santos on maria-laptop"), the server (a write made there
/// directly), or, for a conflict recorded before servers kept devices, another laptop by its
/// replica id's first digits.
func writer(_ origin: String, user: String, device: String, ownReplica: String?, people: People) -> String {
    if origin == ownReplica { return "you, on this laptop" }
    if origin == "server" { return "the server" }
    guard !user.isEmpty else { return "another laptop (\(origin.prefix(9)))" }
    return device.isEmpty ? people.name(user) : "\(people.name(user)) on \(device)"
}
