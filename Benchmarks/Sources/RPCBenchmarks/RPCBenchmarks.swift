import ArgumentParser
import Foundation

/// Measures Dunlin's RPC layer against grpc-swift-2 in the same run, on loopback, with every server
/// started in this process. Prints one JSON line per figure on stdout; progress goes to stderr.
@main
struct RPCBenchmarks: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "RPCBenchmarks",
        abstract: "Dunlin vs grpc-swift-2: unary Echo, open-loop latency, server-streaming throughput.",
        discussion: """
            Environment: DUNLIN_BENCH_DURATION and DUNLIN_BENCH_WARMUP (seconds) set the defaults \
            of --duration and --warmup, so CI or a long soak can lengthen every run at once.
            """
    )

    enum Bench: String, CaseIterable, ExpressibleByArgument {
        case unary
        case openLoop = "open-loop"
        case streaming
    }

    enum Impl: String, CaseIterable, ExpressibleByArgument {
        case dunlin
        case grpc
    }

    @Option(help: "Seconds measured per figure, after the warmup (default: $DUNLIN_BENCH_DURATION, else 3).")
    var duration: Double?

    @Option(help: "Seconds of warmup before each measured window (default: $DUNLIN_BENCH_WARMUP, else 1).")
    var warmup: Double?

    @Option(parsing: .upToNextOption, help: "Benchmarks to run: unary, open-loop, streaming.")
    var benches: [Bench] = Bench.allCases

    @Option(parsing: .upToNextOption, help: "Implementations to run: dunlin, grpc.")
    var impls: [Impl] = Impl.allCases

    @Option(help: "Echo payload size in bytes for the unary benchmarks.")
    var payload: Int = 64

    @Option(help: "Callers in the open-loop run's pool (an upper bound on calls in flight).")
    var openLoopWorkers: Int = 64

    @Option(help: "Fraction of the concurrency-8 maximum rate at which the open-loop run sends.")
    var openLoopFraction: Double = 0.5

    @Option(help: "Payload bytes of each streamed message.")
    var streamMessageBytes: Int = 1 << 20

    @Option(help: "Messages per EchoStream call.")
    var streamMessagesPerCall: Int = 64

    @Option(help: "Concurrent EchoStream calls (on one connection).")
    var streams: Int = 1

    @Flag(
        inversion: .prefixedNo,
        help: "Also stream with grpc-swift-2 tuned for large messages (1 MiB HTTP/2 frames, 16 MiB windows)."
    )
    var grpcTunedStreaming: Bool = true

    @Flag(
        inversion: .prefixedNo,
        help: "Also stream with Dunlin's default deflate compression on (its main figures have it off)."
    )
    var dunlinDeflateStreaming: Bool = true

    func validate() throws {
        if let duration, duration <= 0 { throw ValidationError("--duration must be positive") }
        if let warmup, warmup < 0 { throw ValidationError("--warmup must not be negative") }
        if !(openLoopFraction > 0) { throw ValidationError("--open-loop-fraction must be positive") }
        if payload < 0 || streamMessageBytes < 0 { throw ValidationError("sizes must not be negative") }
        if openLoopWorkers < 1 || streams < 1 || streamMessagesPerCall < 1 {
            throw ValidationError("--open-loop-workers, --streams and --stream-messages-per-call must be at least 1")
        }
    }

    func run() async throws {
        let settings = try Settings(
            duration: duration ?? Self.environmentSeconds("DUNLIN_BENCH_DURATION") ?? 3,
            warmup: warmup ?? Self.environmentSeconds("DUNLIN_BENCH_WARMUP") ?? 1
        )
        let suite = Suite(command: self, settings: settings)
        try await suite.run()
    }

    private static func environmentSeconds(_ name: String) throws -> Double? {
        guard let text = ProcessInfo.processInfo.environment[name], !text.isEmpty else { return nil }
        guard let value = Double(text), value >= 0 else {
            throw ValidationError("\(name) must be a number of seconds, got '\(text)'")
        }
        return value
    }
}

/// Run lengths shared by every figure.
struct Settings: Sendable {
    let duration: Duration
    let warmup: Duration

    init(duration: Double, warmup: Double) throws {
        guard duration > 0 else { throw ValidationError("duration must be positive") }
        self.duration = .nanoseconds(Int64(duration * 1e9))
        self.warmup = .nanoseconds(Int64(warmup * 1e9))
    }
}
