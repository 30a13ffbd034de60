import Foundation

/// One figure, printed as one line of JSON on stdout with its keys in the order they were added.
///
/// Non-finite numbers (an empty run's percentiles) are written as `null`, which JSON can carry.
struct JSONLine {
    private var fields: [(key: String, value: String)] = []

    init(bench: String, impl: String) {
        add("bench", bench)
        add("impl", impl)
    }

    mutating func add(_ key: String, _ value: String) {
        fields.append((key, Self.quoted(value)))
    }

    mutating func add(_ key: String, _ value: Int) {
        fields.append((key, String(value)))
    }

    /// Doubles are rounded to `decimals` places so the lines stay readable.
    mutating func add(_ key: String, _ value: Double, decimals: Int = 1) {
        guard value.isFinite else {
            fields.append((key, "null"))
            return
        }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let rounded = (value * scale).rounded() / scale
        let isWhole = rounded == rounded.rounded() && abs(rounded) < 1e15
        fields.append((key, isWhole ? String(Int64(rounded)) : String(rounded)))
    }

    var text: String {
        "{" + fields.map { "\(Self.quoted($0.key)):\($0.value)" }.joined(separator: ",") + "}"
    }

    /// Writes the line to stdout unbuffered, so a reader of a pipe sees each figure as it lands.
    func emit() {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }

    private static func quoted(_ string: String) -> String {
        var out = "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}

/// Progress and diagnostics go to stderr, so stdout carries only JSON lines.
func log(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

enum BenchmarkError: Error, CustomStringConvertible {
    /// A server or client could not be started.
    case setup(String)

    var description: String {
        switch self {
        case .setup(let message): "setup failed: \(message)"
        }
    }
}
