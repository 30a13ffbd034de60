import ArgumentParser
import Foundation
import NIOCore
import NIOPosix
import Synchronization

/// Measures Dunlin's RPC layer against grpc-swift-2 in the same run, on loopback, with every server
/// started in this process. Prints one JSON line per figure on stdout; progress goes to stderr.
///
/// The command is synchronous and blocks the main thread while the suite runs on the concurrency
/// pool: an async `main` parks the main thread in `dispatch_main()`, and valgrind 3.19 (used to
/// profile these runs with callgrind) crashes on that once worker threads exist.
@main
struct RPCBenchmarks: ParsableCommand {
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
        /// Dunlin with what `dunlind serve --metrics-port` adds to every call: the Prometheus
        /// metrics and the tenant gate (limits high enough never to refuse). Asked for by name only.
        case dunlinMetered = "dunlin-metered"

        static let compared: [Impl] = [.dunlin, .grpc]
    }

    @Option(help: "Seconds measured per figure, after the warmup (default: $DUNLIN_BENCH_DURATION, else 3).")
    var duration: Double?

    @Option(help: "Seconds of warmup before each measured window (default: $DUNLIN_BENCH_WARMUP, else 1).")
    var warmup: Double?

    @Option(parsing: .upToNextOption, help: "Benchmarks to run: unary, open-loop, streaming.")
    var benches: [Bench] = Bench.allCases

    @Option(parsing: .upToNextOption, help: "Implementations to run: dunlin, grpc (the default), and dunlin-metered.")
    var impls: [Impl] = Impl.compared

    @Option(
        name: .customLong("unary"),
        parsing: .upToNextOption,
        help: "Unary configurations, each CONCURRENCYxCONNECTIONS."
    )
    var unaryConfigurations: [UnaryConfiguration] = UnaryConfiguration.standard

    @Option(help: "Echo payload size in bytes for the unary benchmarks.")
    var payload: Int = 64

    @Option(help: "Callers in the open-loop run's pool (an upper bound on calls in flight).")
    var openLoopWorkers: Int = 64

    @Option(help: "What keeps the open loop's schedule: task-sleep (a pool of workers, each sleeping until its call is due) or event-loop (one event loop's timers start each call as a task).")
    var pacer: OpenLoopUnary.Pacer = .taskSleep

    @Option(help: "Fraction of the concurrency-8 maximum rate at which the open-loop run sends.")
    var openLoopFraction: Double = 0.5

    @Flag(
        inversion: .prefixedNo,
        help: "Also run the open loop against a connection that answers without I/O (the harness's own floor)."
    )
    var harnessFloor: Bool = true

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

    @Flag(
        help: """
            Run Swift Concurrency on NIO's event loops (NIOSingletons' global-executor take-over) \
            instead of its own thread pool, for every stack alike (an experiment: fewer thread hops).
            """
    )
    var nioGlobalExecutor: Bool = false

    @Option(
        help: ArgumentHelp(
            "Also stream with Dunlin's client granting this per-stream window, in bytes (an experiment; the main figures keep the runtime's default).",
            valueName: "bytes"
        )
    )
    var dunlinStreamWindow: Int?

    @Option(
        help: ArgumentHelp(
            """
            Pin the load generator and clients to CPU LOAD and run each server in its own process \
            pinned to CPU SERVER (sched_setaffinity), so the two sides do not share a core.
            """,
            valueName: "LOAD,SERVER"
        )
    )
    var pinCores: CorePair?

    @Option(help: .hidden)
    var serve: String?

    @Option(help: .hidden)
    var serveCPU: Int = 1

    func validate() throws {
        if let duration, duration <= 0 { throw ValidationError("--duration must be positive") }
        if let warmup, warmup < 0 { throw ValidationError("--warmup must not be negative") }
        if !(openLoopFraction > 0) { throw ValidationError("--open-loop-fraction must be positive") }
        if payload < 0 || streamMessageBytes < 0 { throw ValidationError("sizes must not be negative") }
        if let dunlinStreamWindow, dunlinStreamWindow < 1 {
            throw ValidationError("--dunlin-stream-window must be at least 1")
        }
        if openLoopWorkers < 1 || streams < 1 || streamMessagesPerCall < 1 {
            throw ValidationError("--open-loop-workers, --streams and --stream-messages-per-call must be at least 1")
        }
    }

    func run() throws {
        var settings = Settings(
            duration: .seconds(try duration ?? Self.environmentSeconds("DUNLIN_BENCH_DURATION") ?? 3),
            warmup: .seconds(try warmup ?? Self.environmentSeconds("DUNLIN_BENCH_WARMUP") ?? 1),
            benches: Set(benches),
            impls: Set(impls),
            unaryConfigurations: unaryConfigurations,
            payload: payload,
            openLoopWorkers: openLoopWorkers,
            openLoopFraction: openLoopFraction,
            harnessFloor: harnessFloor,
            streamMessageBytes: streamMessageBytes,
            streamMessagesPerCall: streamMessagesPerCall,
            streams: streams,
            grpcTunedStreaming: grpcTunedStreaming,
            dunlinDeflateStreaming: dunlinDeflateStreaming,
            dunlinStreamWindow: dunlinStreamWindow,
            nioGlobalExecutor: nioGlobalExecutor,
            pinCores: pinCores,
            pacer: pacer
        )
        if let serve {
            // A server process of a pinned run: every stack it could be asked for, by name.
            settings.benches = Set(Bench.allCases)
            settings.impls = Set(Impl.allCases)
            guard let stack = Suite.stacks(for: settings).first(where: { $0.name == serve }) else {
                throw ValidationError("no stack named \(serve)")
            }
            return try ServerProcess.serve(stack, cpu: serveCPU)
        }
        if let pinCores { try CorePinning.pinProcess(toCPU: pinCores.load) }
        guard settings.duration > .zero else { throw ValidationError("the duration must be positive") }
        // Must happen on the main thread before any task runs, hence here and not in the suite.
        if nioGlobalExecutor && !NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor() {
            throw ValidationError("NIO could not take over Swift Concurrency's global executor here")
        }
        let suite = Suite(settings: settings)
        try runBlocking { try await suite.run() }
    }

    private static func environmentSeconds(_ name: String) throws -> Double? {
        guard let text = ProcessInfo.processInfo.environment[name], !text.isEmpty else { return nil }
        guard let value = Double(text), value >= 0 else {
            throw ValidationError("\(name) must be a number of seconds, got '\(text)'")
        }
        return value
    }
}

/// Concurrent calls and the connections they are spread over, written `8x1`.
struct UnaryConfiguration: Sendable, Hashable, ExpressibleByArgument, CustomStringConvertible {
    let concurrency: Int
    let connections: Int

    static let standard = [
        UnaryConfiguration(concurrency: 1, connections: 1),
        UnaryConfiguration(concurrency: 8, connections: 1),
        UnaryConfiguration(concurrency: 64, connections: 1),
        UnaryConfiguration(concurrency: 64, connections: 8),
    ]

    init(concurrency: Int, connections: Int) {
        self.concurrency = concurrency
        self.connections = connections
    }

    init?(argument: String) {
        let parts = argument.split(separator: "x")
        guard parts.count == 2, let concurrency = Int(parts[0]), let connections = Int(parts[1]),
            concurrency >= 1, connections >= 1
        else { return nil }
        self.init(concurrency: concurrency, connections: connections)
    }

    var description: String { "\(concurrency)x\(connections)" }
    var defaultValueDescription: String { description }
}

/// What to run and for how long: the command's options, resolved against the environment.
struct Settings: Sendable {
    var duration: Duration
    var warmup: Duration
    var benches: Set<RPCBenchmarks.Bench>
    var impls: Set<RPCBenchmarks.Impl>
    var unaryConfigurations: [UnaryConfiguration]
    var payload: Int
    var openLoopWorkers: Int
    var openLoopFraction: Double
    var harnessFloor: Bool
    var streamMessageBytes: Int
    var streamMessagesPerCall: Int
    var streams: Int
    var grpcTunedStreaming: Bool
    var dunlinDeflateStreaming: Bool
    var dunlinStreamWindow: Int?
    var nioGlobalExecutor: Bool
    /// Where the load and the servers run, when pinned (`--pin-cores`); nil: one process, unpinned.
    var pinCores: CorePair?
    var pacer: OpenLoopUnary.Pacer
}

/// Runs `operation` on the concurrency pool and blocks the calling thread until it finishes.
private func runBlocking(_ operation: @escaping @Sendable () async throws -> Void) throws {
    let outcome = Mutex<Result<Void, any Error>>(.success(()))
    let finished = DispatchSemaphore(value: 0)
    Task {
        do {
            try await operation()
        } catch {
            outcome.withLock { $0 = .failure(error) }
        }
        finished.signal()
    }
    finished.wait()
    try outcome.withLock { $0 }.get()
}

extension OpenLoopUnary.Pacer: ExpressibleByArgument {}
