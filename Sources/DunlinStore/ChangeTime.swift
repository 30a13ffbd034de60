import Foundation

/// Change-log times read back as milliseconds since 1970: what a replica's outbox stamps each
/// pushed change with (`PushChange.at_ms`).
///
/// The change log writes its times one way (``TenantStore/changeTimeFormatter``: UTC,
/// milliseconds, "2026-11-23T16:20:01.123Z"), so that form is read by a fixed-format parser: a
/// push of 10,000 changes spent about 8% of its CPU time in ISO8601DateFormatter. Any text not
/// exactly in that form, or outside the years and fields the fast path checks (1970 to 9999, a
/// real day of its month, seconds below 60), is read by the formatter, as before, so the answer
/// is the formatter's for every text.
enum ChangeTime {
    /// The time `text` names, in milliseconds since 1970; nil when the formatter cannot read it.
    static func milliseconds(_ text: String) -> Int64? {
        if let fast = fixedFormat(text) { return fast }
        guard let date = TenantStore.changeTimeFormatter.date(from: text) else { return nil }
        return Int64(exactly: (date.timeIntervalSince1970 * 1000).rounded())
    }

    /// The milliseconds of a "YYYY-MM-DDTHH:MM:SS.fffZ" text (24 ASCII bytes) naming a valid UTC
    /// time in 1970-9999; nil for anything else (the caller asks the formatter).
    static func fixedFormat(_ text: String) -> Int64? {
        var text = text
        return text.withUTF8 { bytes -> Int64? in
            guard bytes.count == 24, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"), bytes[10] == UInt8(ascii: "T"),
                  bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":"), bytes[19] == UInt8(ascii: "."),
                  bytes[23] == UInt8(ascii: "Z")
            else { return nil }
            func number(_ from: Int, _ count: Int) -> Int? {
                var value = 0
                for index in from..<(from + count) {
                    let byte = bytes[index]
                    guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
                    value = value * 10 + Int(byte - UInt8(ascii: "0"))
                }
                return value
            }
            guard let year = number(0, 4), let month = number(5, 2), let day = number(8, 2), let hour = number(11, 2),
                  let minute = number(14, 2), let second = number(17, 2), let millisecond = number(20, 3),
                  (1970...9999).contains(year), (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year),
                  hour < 24, minute < 60, second < 60
            else { return nil }
            // At most 9999-12-31T23:59:59.999Z: 253,402,300,799,999 ms, far inside Int64.
            let seconds = Int64(daysSince1970(year: year, month: month, day: day)) * 86_400 + Int64(hour * 3600 + minute * 60 + second)
            return seconds * 1000 + Int64(millisecond)
        }
    }

    static func isLeap(_ year: Int) -> Bool { year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days from 1970-01-01 to a proleptic Gregorian date (year 1970 or later).
    static func daysSince1970(year: Int, month: Int, day: Int) -> Int {
        // Years counted from March, so a leap day ends its year (H. Hinnant's days_from_civil).
        let y = month <= 2 ? year - 1 : year
        let era = y / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}
