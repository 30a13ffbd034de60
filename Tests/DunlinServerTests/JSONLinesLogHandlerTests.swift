import DunlinCore
import DunlinServer
import Foundation
import Logging
import Synchronization
import Testing

/// `dunlind serve --log-format json`: each log event one JSON line, its shape stable.
@Suite struct JSONLinesLogHandlerTests {
    /// The lines a handler wrote.
    final class Sink: Sendable {
        private let lines = Mutex<[String]>([])
        func append(_ line: String) { lines.withLock { $0.append(line) } }
        var written: [String] { lines.withLock { $0 } }
    }

    /// A logger whose lines are collected, on a clock fixed at 2026-12-01 09:30:00.125 UTC.
    static func logger(level: Logger.Level = .info) -> (Logger, Sink) {
        let sink = Sink()
        var handler = JSONLinesLogHandler(label: "dunlind.test", clock: .fixed(Date(timeIntervalSince1970: 1_796_117_400.125))) { sink.append($0) }
        handler.logLevel = level
        handler[metadataKey: "tenant"] = "t-acme"
        return (Logger(label: "dunlind.test") { _ in handler }, sink)
    }

    @Test("a line is one JSON object with sorted keys: time from the clock, level, label, message, source and the metadata, nested kept")
    func shape() throws {
        let (logger, sink) = Self.logger()
        logger.info("listening", metadata: ["address": "127.0.0.1:7474", "methods": ["Ping", "Echo"], "limits": ["frame": "16384"]])
        let written = sink.written
        #expect(written.count == 1)
        let line = try #require(written.first)
        #expect(line.hasSuffix("}\n") && line.filter { $0 == "\n" }.count == 1)
        #expect(line == #"{"label":"dunlind.test","level":"info","message":"listening","metadata":{"address":"127.0.0.1:7474","limits":{"frame":"16384"},"methods":["Ping","Echo"],"tenant":"t-acme"},"source":"DunlinServerTests","time":"2026-12-01T09:30:00.125Z"}"# + "\n")
    }

    @Test("a message with a newline, a quote or a control character stays on its one line, escaped")
    func escaping() throws {
        let (logger, sink) = Self.logger()
        logger.warning("refused \"x\"\nsecond line\u{1B}[31m")
        let line = try #require(sink.written.first)
        #expect(line.filter { $0 == "\n" }.count == 1)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["message"] as? String == "refused \"x\"\nsecond line\u{1B}[31m")
        #expect(object["level"] as? String == "warning")
    }

    @Test("events below the handler's level are not written")
    func level() {
        let (logger, sink) = Self.logger(level: .warning)
        logger.info("quiet")
        logger.error("loud")
        #expect(sink.written.count == 1 && sink.written[0].contains(#""message":"loud""#))
    }
}
