#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The properties the harness checks beyond "returns or throws ProtocolError". Each has a name;
/// a violation traps, so libFuzzer saves the input, unless the name is listed in the
/// comma-separated environment variable `DUNLIN_FUZZ_TOLERATE` (for a bug already reported, so a
/// long run can look past it for new ones).
enum Oracle {
    static let tolerated: Set<Substring> = {
        guard let raw = getenv("DUNLIN_FUZZ_TOLERATE") else { return [] }
        return Set(String(cString: raw).split(separator: ","))
    }()

    /// `DUNLIN_FUZZ_TRACE=1` prints every item and action, for checking what a seed reaches.
    static let tracing = getenv("DUNLIN_FUZZ_TRACE") != nil

    static func trace(_ message: @autoclosure () -> String) {
        if tracing { print(message()) }
    }

    static func require(
        _ condition: @autoclosure () -> Bool, _ name: StaticString, _ message: @autoclosure () -> String,
        file: StaticString = #fileID, line: UInt = #line
    ) {
        guard !condition() else { return }
        if !tolerated.isEmpty, tolerated.contains(Substring("\(name)")) { return }
        fatalError("oracle [\(name)] violated: \(message())", file: file, line: line)
    }

    static func unreachable(_ message: String, file: StaticString = #fileID, line: UInt = #line) -> Never {
        fatalError("harness: \(message)", file: file, line: line)
    }
}

/// xorshift64*: deterministic choices (chunk sizes, clock steps) seeded from input bytes, so an
/// input replays exactly and libFuzzer can mutate the choices by mutating the seed bytes.
struct InputRandom {
    private var state: UInt64

    init(seed: UInt8, salt: UInt64) {
        state = (UInt64(seed) &+ 1) &* 0x9E37_79B9_7F4A_7C15 ^ salt
        if state == 0 { state = 0x2545_F491_4F6C_DD1D }
    }

    mutating func next() -> UInt64 {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        return state &* 0x2545_F491_4F6C_DD1D
    }

    /// A value in 0..<bound (bound > 0).
    mutating func below(_ bound: Int) -> Int {
        Int(next() % UInt64(bound))
    }
}

/// Lower-case hex, for oracle messages.
func hexString(_ bytes: some Sequence<UInt8>, limit: Int = 64) -> String {
    var text = ""
    for (index, byte) in bytes.enumerated() {
        if index == limit { text += "..."; break }
        let digits = String(byte, radix: 16)
        text += digits.count == 1 ? "0" + digits : digits
    }
    return text
}
