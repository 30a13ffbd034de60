import DunlinCore
import DunlinSync
import Foundation
import Testing

/// The store's fast reader of canonical JSON (``CanonicalJSON/decode(_:)``) against
/// `JSONDecoder`: the same value for everything it reads, nil (so the caller decodes as before)
/// for what it leaves to the decoder.
@Suite("Canonical JSON, read back")
struct CanonicalJSONReadTests {
    static func decoded(_ text: String) -> FieldValue? { try? JSONDecoder().decode(FieldValue.self, from: Data(text.utf8)) }

    /// Values of every kind but fractions, nested, with strings that need every escape.
    static func random(_ generator: inout SeededGenerator, depth: Int = 0) -> FieldValue {
        let strings = ["", "INV-1", "a\"b", "back\\slash", "tab\tnew\nline", "\u{1}\u{1F}", "ünï 日本 🐦", "/path/", "\r\u{8}\u{C}"]
        switch Int.random(in: 0..<(depth < 3 ? 7 : 5), using: &generator) {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &generator))
        case 2: return .integer([Int64.min, Int64.max, 0, -1, Int64.random(in: -1_000_000...1_000_000, using: &generator)].randomElement(using: &generator)!)
        case 3, 4: return .string(strings.randomElement(using: &generator)!)
        case 5: return .array((0..<Int.random(in: 0...4, using: &generator)).map { _ in random(&generator, depth: depth + 1) })
        default:
            var members: [String: FieldValue] = [:]
            for index in 0..<Int.random(in: 0...4, using: &generator) { members["k\(index)\(strings[index])"] = random(&generator, depth: depth + 1) }
            return .object(members)
        }
    }

    @Test("what the encoder writes reads back as the value, as the decoder reads it")
    func roundTrips() {
        var generator = SeededGenerator(seed: 2026)
        for _ in 0..<2_000 {
            let value = Self.random(&generator)
            let text = String(decoding: CanonicalJSON.encode(value), as: UTF8.self)
            #expect(CanonicalJSON.decode(text) == value, "\(text)")
            #expect(CanonicalJSON.decode(text) == Self.decoded(text), "\(text)")
        }
    }

    @Test("JSON written by other hands: the decoder's value, or nil where the decoder decides")
    func otherHands() {
        for text in [#" { "a" : [ 1 , true , null ] , "b" : "\u00e9\ud83d\udc26\/" } "#, "[]", "{}", "-0", "\"\\u0000\""] {
            #expect(CanonicalJSON.decode(text) != nil && CanonicalJSON.decode(text) == Self.decoded(text), "\(text)")
        }
        for text in ["1.5", "1e3", "99999999999999999999", #"{"a":1,"a":2}"#, "[1,]", "{\"a\"}", "tru", "\"\u{1}\"", "01", "[1] x", "\"\\ud83d\"", ""] {
            #expect(CanonicalJSON.decode(text) == nil, "\(text)")
        }
    }
}
