import DunlinCore
import Foundation
import Logging
import Synchronization

/// `dunlind serve --log-format json`: one JSON object per line, for journald, Loki or any log
/// shipper that reads JSON lines.
///
/// ```
/// {"label":"dunlind","level":"info","message":"listening","metadata":{"address":"127.0.0.1:7474"},"source":"DunlinServer","time":"2026-12-01T09:30:00.123Z"}
/// ```
///
/// Keys are sorted, so a line's shape is stable; `metadata` is left out when there is none;
/// nested metadata keeps its shape (arrays and objects); every string is JSON-escaped, so a
/// message with a newline or a control character stays on its line. `time` is the injected
/// clock's (``WallClock``), in UTC with milliseconds.
public struct JSONLinesLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?

    private let label: String
    private let clock: WallClock
    private let write: @Sendable (String) -> Void

    /// A handler writing each line, newline included, through `write`.
    public init(label: String, clock: WallClock = .system, write: @escaping @Sendable (String) -> Void) {
        self.label = label
        self.clock = clock
        self.write = write
    }

    /// A handler writing to standard error, a whole line at a time.
    public static func standardError(label: String, clock: WallClock = .system) -> JSONLinesLogHandler {
        JSONLinesLogHandler(label: label, clock: clock) { line in
            StandardError.lock.withLock { _ in FileHandle.standardError.write(Data(line.utf8)) }
        }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let given = event.metadata { merged.merge(given) { _, new in new } }
        let line = Line(
            time: Self.timestamp(clock.now()), level: event.level.rawValue, label: label, message: event.message.description,
            source: event.source, metadata: merged.isEmpty ? nil : merged.mapValues(Value.init)
        )
        guard let data = try? Self.encoder.encode(line) else { return }
        write(String(decoding: data, as: UTF8.self) + "\n")
    }

    /// `2026-12-01T09:30:00.123Z`.
    static func timestamp(_ instant: Date) -> String {
        instant.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: TimeZone(identifier: "UTC")!))
    }

    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    private struct Line: Encodable {
        var time: String
        var level: String
        var label: String
        var message: String
        var source: String
        var metadata: [String: Value]?
    }

    /// A metadata value as JSON: a string, an array or an object.
    private enum Value: Encodable {
        case string(String)
        case array([Value])
        case object([String: Value])

        init(_ value: Logger.Metadata.Value) {
            switch value {
            case .string(let text): self = .string(text)
            case .stringConvertible(let convertible): self = .string(convertible.description)
            case .array(let items): self = .array(items.map(Value.init))
            case .dictionary(let entries): self = .object(entries.mapValues(Value.init))
            }
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case .string(let text): try container.encode(text)
            case .array(let items): try container.encode(items)
            case .object(let entries): try container.encode(entries)
            }
        }
    }
}

/// Serializes whole-line writes to standard error, so two threads' lines never interleave.
private enum StandardError {
    static let lock = Mutex(())
}
