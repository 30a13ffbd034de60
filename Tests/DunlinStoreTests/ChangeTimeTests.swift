import DunlinCore
import Foundation
@testable import DunlinStore
import Testing

/// The outbox reads each change's time with a fixed-format parser (``ChangeTime``); its answer must
/// be ISO8601DateFormatter's (what it replaced) for every text, and it must take the fast path for
/// the change log's own form.
struct ChangeTimeTests {
    /// What the outbox computed before: the formatter's date, in rounded milliseconds.
    private func formatterMilliseconds(_ text: String) -> Int64? {
        TenantStore.changeTimeFormatter.date(from: text).map { Int64(($0.timeIntervalSince1970 * 1000).rounded()) }
    }

    private func text(milliseconds: Int64) -> String {
        TenantStore.changeTimeFormatter.string(from: Date(timeIntervalSince1970: Double(milliseconds) / 1000))
    }

    @Test("the change log's own form: fast, and equal to the formatter's reading")
    func canonicalTexts() throws {
        var random = SeededGenerator(seed: 14)
        // 1970 to 9999, with the edges of every field.
        var samples: [Int64] = [0, 999, 1000, 86_399_999, 86_400_000, 253_402_300_799_999]
        for _ in 0..<20_000 { samples.append(Int64.random(in: 0...253_402_300_799_999, using: &random)) }
        for _ in 0..<5_000 { samples.append(Int64.random(in: 1_700_000_000_000...1_900_000_000_000, using: &random)) }
        for milliseconds in samples {
            // (The text, not these milliseconds, is the input: a Double of 2^47 ms may print a
            // millisecond lower, and both readers must agree on what is printed.)
            let text = text(milliseconds: milliseconds)
            let fast = try #require(ChangeTime.fixedFormat(text), "\(text) should take the fast path")
            #expect(fast == formatterMilliseconds(text), "\(text)")
            #expect(ChangeTime.milliseconds(text) == fast)
        }
    }

    @Test("leap days, month ends and year ends read as the formatter reads them")
    func calendarEdges() throws {
        let valid = [
            "1970-01-01T00:00:00.000Z", "1972-02-29T12:00:00.500Z", "2000-02-29T23:59:59.999Z", "2024-02-29T00:00:00.001Z",
            "2023-12-31T23:59:59.999Z", "2024-01-01T00:00:00.000Z", "2026-04-30T10:20:30.040Z", "2026-11-23T16:20:01.123Z",
            "2100-02-28T23:59:59.999Z", "2100-03-01T00:00:00.000Z", "2400-02-29T06:07:08.009Z", "9999-12-31T23:59:59.999Z",
        ]
        for text in valid {
            let fast = try #require(ChangeTime.fixedFormat(text), "\(text)")
            #expect(fast == formatterMilliseconds(text), "\(text)")
        }
    }

    @Test("any other text goes to the formatter, and the answer is the formatter's")
    func otherTextsFallBack() {
        let others = [
            // Not a day, hour, minute or second (the formatter decides what these are).
            "2023-02-29T00:00:00.000Z", "2100-02-29T00:00:00.000Z", "2026-04-31T00:00:00.000Z", "2026-13-01T00:00:00.000Z",
            "2026-00-10T00:00:00.000Z", "2026-01-00T00:00:00.000Z", "2026-01-01T24:00:00.000Z", "2026-01-01T00:60:00.000Z",
            "2016-12-31T23:59:60.000Z",
            // Before 1970.
            "1969-12-31T23:59:59.999Z", "1600-02-29T00:00:00.000Z",
            // Time zones other than Z, other fractions, none.
            "2026-11-23T16:20:01.123+01:00", "2026-11-23T16:20:01.123-05:30", "2026-11-23T16:20:01.123+00:00",
            "2026-11-23T16:20:01Z", "2026-11-23T16:20:01.1Z", "2026-11-23T16:20:01.123456Z", "2026-11-23T16:20:01.123z",
            // Not a time at all.
            "", "now", "2026-11-23", "2026-11-23 16:20:01.123Z", "2026-11-23T16:20:01.12xZ", "+2026-11-23T16:20:01.123Z",
            "２026-11-23T16:20:01.123Z", "2026-11-23T16:20:01.123Z ",
        ]
        for text in others {
            #expect(ChangeTime.fixedFormat(text) == nil, "\(text) is not the change log's form")
            #expect(ChangeTime.milliseconds(text) == formatterMilliseconds(text), "\(text)")
        }
    }
}
