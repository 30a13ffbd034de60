import Foundation

/// A stack whose server is listening, and the port it listens on.
struct RunningServer: Sendable {
    let stack: any EchoStack
    let port: Int
}

/// Runs the selected benchmarks over the selected stacks, interleaving the stacks configuration by
/// configuration so slow drift of the machine (heat, a neighbour) affects both alike.
struct Suite: Sendable {
    let settings: Settings

    /// The configuration whose maximum rate sets the open-loop rate.
    static let openLoopBasis = UnaryConfiguration(concurrency: 8, connections: 1)

    static let dunlinName = "dunlin"
    static let grpcName = "grpc-swift-2"
    static let grpcTunedName = "grpc-swift-2-tuned"
    static let dunlinDeflateName = "dunlin-deflate"
    static let dunlinMeteredName = "dunlin-metered"

    static func dunlinWindowName(_ window: Int) -> String { "dunlin-window-\(window)" }

    /// Variants that only take part in the streaming benchmark.
    private var streamingOnly: Set<String> {
        var names: Set<String> = [Self.grpcTunedName, Self.dunlinDeflateName]
        if let window = settings.dunlinStreamWindow { names.insert(Self.dunlinWindowName(window)) }
        return names
    }

    /// Every stack the settings ask for, each built the same way in a `--serve` child process.
    static func stacks(for settings: Settings) -> [any EchoStack] {
        let streaming = settings.benches.contains(.streaming)
        var stacks: [any EchoStack] = []
        if settings.impls.contains(.dunlin) {
            stacks.append(DunlinEchoStack(name: Self.dunlinName, deflate: false))
            if streaming && settings.dunlinDeflateStreaming {
                stacks.append(DunlinEchoStack(name: Self.dunlinDeflateName, deflate: true))
            }
            if streaming, let window = settings.dunlinStreamWindow {
                stacks.append(
                    DunlinEchoStack(name: Self.dunlinWindowName(window), deflate: false, clientWindow: window)
                )
            }
        }
        if settings.impls.contains(.dunlinMetered) {
            stacks.append(DunlinEchoStack(name: Self.dunlinMeteredName, deflate: false, metered: true))
        }
        if settings.impls.contains(.grpc) {
            stacks.append(GRPCEchoStack(name: Self.grpcName))
            if streaming && settings.grpcTunedStreaming {
                stacks.append(
                    GRPCEchoStack(
                        name: Self.grpcTunedName,
                        tuning: .init(maxFrameSize: 1 << 20, targetWindowSize: 16 << 20)
                    )
                )
            }
        }
        return stacks
    }

    func run() async throws {
        var stacks = Self.stacks(for: settings)
        if let cores = settings.pinCores {
            let window = settings.dunlinStreamWindow.map { ["--dunlin-stream-window", "\($0)"] } ?? []
            stacks = stacks.map { ChildProcessServerStack(base: $0, serverCPU: cores.server, childArguments: window) }
            log("RPCBenchmarks: load generator and clients on CPU \(cores.load), each server in its own process on CPU \(cores.server)")
        }

        log(
            "RPCBenchmarks: \(ProcessInfo.processInfo.activeProcessorCount) cores, "
                + "duration \(settings.duration), warmup \(settings.warmup), "
                + "stacks \(stacks.map(\.name).joined(separator: ", "))"
        )

        try await withServers(stacks[...], started: []) { servers in
            let rpcStacks = servers.filter { !streamingOnly.contains($0.stack.name) }
            var basis: [String: Double] = [:]
            if settings.benches.contains(.unary) {
                basis = try await runUnary(on: rpcStacks)
            }
            if settings.benches.contains(.openLoop) {
                try await runOpenLoop(on: rpcStacks, basis: basis)
            }
            if settings.benches.contains(.streaming) {
                try await runStreaming(on: servers)
            }
        }
    }

    /// Starts each stack's server in turn, runs `body` with all of them listening, then stops them.
    private func withServers(
        _ remaining: ArraySlice<any EchoStack>,
        started: [RunningServer],
        _ body: ([RunningServer]) async throws -> Void
    ) async throws {
        guard let stack = remaining.first else { return try await body(started) }
        try await stack.withServer { port in
            log("[\(stack.name)] server listening on 127.0.0.1:\(port)")
            try await withServers(
                remaining.dropFirst(),
                started: started + [RunningServer(stack: stack, port: port)],
                body
            )
        }
    }

    // MARK: - Unary, closed loop

    /// Returns each stack's rate at the open-loop basis configuration.
    private func runUnary(on servers: [RunningServer]) async throws -> [String: Double] {
        var basis: [String: Double] = [:]
        for configuration in settings.unaryConfigurations {
            var rps: [String: Double] = [:]
            for server in servers {
                let result = try await closedLoop(server, configuration)
                rps[server.stack.name] = result.rps
                if configuration == Self.openLoopBasis { basis[server.stack.name] = result.rps }

                var line = figure("unary", impl: server.stack.name)
                line.add("concurrency", configuration.concurrency)
                line.add("connections", configuration.connections)
                line.add("payload", settings.payload)
                line.add("rps", result.rps)
                line.add("p50_us", result.latency.p50Micros)
                line.add("p90_us", result.latency.p90Micros)
                line.add("p99_us", result.latency.p99Micros)
                line.add("p999_us", result.latency.p999Micros)
                line.add("max_us", result.latency.maxMicros)
                line.add("calls", result.latency.count)
                line.add("cpu_us_per_call", result.cpu.process * 1e6 / Double(result.latency.count))
                addCores(result.cpu, to: &line)
                line.add("errors", result.errors)
                line.add("seconds", settings.duration.secondsValue, decimals: 3)
                line.emit()
            }
            if let dunlin = rps[Self.dunlinName], let grpc = rps[Self.grpcName] {
                var line = figure("unary_rps_ratio", impl: "\(Self.dunlinName)/\(Self.grpcName)")
                line.add("concurrency", configuration.concurrency)
                line.add("connections", configuration.connections)
                line.add("payload", settings.payload)
                line.add("ratio", dunlin / grpc, decimals: 3)
                line.emit()
            }
        }
        return basis
    }

    private func closedLoop(
        _ server: RunningServer, _ configuration: UnaryConfiguration
    ) async throws -> ClosedLoopUnary.Result {
        let (concurrency, connections) = (configuration.concurrency, configuration.connections)
        log("[\(server.stack.name)] unary: \(concurrency) concurrent calls on \(connections) connection(s)")
        let run = ClosedLoopUnary(
            impl: server.stack.name,
            concurrency: concurrency,
            payloadBytes: settings.payload,
            warmup: settings.warmup,
            duration: settings.duration
        )
        return try await server.stack.withConnections(port: server.port, count: connections) { clients in
            await run.run(on: clients)
        }
    }

    // MARK: - Unary, open loop

    private func runOpenLoop(on servers: [RunningServer], basis: [String: Double]) async throws {
        var highestTarget = 0.0
        for server in servers {
            let maxRPS: Double
            if let measured = basis[server.stack.name] {
                maxRPS = measured
            } else {
                maxRPS = try await closedLoop(server, Self.openLoopBasis).rps
            }
            let target = maxRPS * settings.openLoopFraction
            guard target > 0 else {
                log("[\(server.stack.name)] open loop skipped: no calls succeeded in the closed-loop run")
                continue
            }
            highestTarget = max(highestTarget, target)
            log("[\(server.stack.name)] open loop: \(Int(target)) calls/s (\(settings.openLoopFraction) x \(Int(maxRPS)))")
            let result = try await server.stack.withConnections(
                port: server.port, count: Self.openLoopBasis.connections
            ) { clients in
                await openLoop(targetRPS: target, impl: server.stack.name).run(on: clients)
            }
            emitOpenLoop(result, impl: server.stack.name, maxRPS: maxRPS, target: target)
        }

        if settings.harnessFloor && highestTarget > 0 {
            // The same schedule against a connection that answers at once: what the pacing, the
            // timers and the task hops cost by themselves, at the highest rate any stack ran.
            log("[harness-floor] open loop: \(Int(highestTarget)) calls/s against a connection without I/O")
            let result = await openLoop(targetRPS: highestTarget, impl: "harness-floor")
                .run(on: [ImmediateEchoConnection()])
            emitOpenLoop(result, impl: "harness-floor", maxRPS: .nan, target: highestTarget)
        }
    }

    private func openLoop(targetRPS: Double, impl: String) -> OpenLoopUnary {
        OpenLoopUnary(
            impl: impl,
            targetRPS: targetRPS,
            workers: settings.openLoopWorkers,
            payloadBytes: settings.payload,
            warmup: settings.warmup,
            duration: settings.duration,
            pacer: settings.pacer
        )
    }

    private func emitOpenLoop(_ result: OpenLoopUnary.Result, impl: String, maxRPS: Double, target: Double) {
        var line = figure("unary_open_loop", impl: impl)
        line.add("connections", Self.openLoopBasis.connections)
        line.add("payload", settings.payload)
        line.add("max_rps_c8", maxRPS)
        line.add("fraction", settings.openLoopFraction, decimals: 3)
        line.add("target_rps", target)
        line.add("achieved_rps", result.achievedRPS)
        line.add("p50_us", result.scheduled.p50Micros)
        line.add("p90_us", result.scheduled.p90Micros)
        line.add("p99_us", result.scheduled.p99Micros)
        line.add("p999_us", result.scheduled.p999Micros)
        line.add("max_us", result.scheduled.maxMicros)
        line.add("p50_service_us", result.service.p50Micros)
        line.add("p99_service_us", result.service.p99Micros)
        line.add("pacer", settings.pacer.rawValue)
        if settings.pacer == .taskSleep { line.add("workers", settings.openLoopWorkers) }
        line.add("calls", result.scheduled.count)
        line.add("cpu_us_per_call", result.cpu.process * 1e6 / Double(result.scheduled.count))
        addCores(result.cpu, to: &line)
        line.add("errors", result.errors)
        line.add("seconds", settings.duration.secondsValue, decimals: 3)
        line.emit()
    }

    /// A new figure; it says so when Swift Concurrency runs on NIO's event loops instead of its own
    /// pool, since that changes every stack's thread hops.
    private func figure(_ bench: String, impl: String) -> JSONLine {
        var line = JSONLine(bench: bench, impl: impl)
        if settings.nioGlobalExecutor { line.add("executor", "nio-event-loops") }
        if let cores = settings.pinCores { line.add("pinned_load_server_cpus", cores.description) }
        return line
    }

    /// Cores this process kept busy in the window, and cores other processes took meanwhile: a
    /// figure taken with `other_cores` well above 0 shared the machine and is less trustworthy.
    private func addCores(_ cpu: ProcessCPU.Usage, to line: inout JSONLine) {
        let seconds = settings.duration.secondsValue
        line.add("cpu_cores", cpu.process / seconds, decimals: 2)
        if let other = cpu.otherCores(over: seconds) { line.add("other_cores", other, decimals: 2) }
    }

    // MARK: - Server streaming

    private func runStreaming(on servers: [RunningServer]) async throws {
        var throughput: [String: Double] = [:]
        for server in servers {
            log(
                "[\(server.stack.name)] server streaming: \(settings.streams) stream(s) of "
                    + "\(settings.streamMessagesPerCall) x \(settings.streamMessageBytes) bytes per call"
            )
            let run = ServerStreamingThroughput(
                impl: server.stack.name,
                streams: settings.streams,
                messageBytes: settings.streamMessageBytes,
                messagesPerCall: settings.streamMessagesPerCall,
                warmup: settings.warmup,
                duration: settings.duration
            )
            let result = try await server.stack.withConnections(port: server.port, count: 1) { clients in
                await run.run(on: clients)
            }
            throughput[server.stack.name] = result.bytesPerSecond

            var line = figure("server_streaming", impl: server.stack.name)
            line.add("streams", settings.streams)
            line.add("connections", 1)
            line.add("message_bytes", settings.streamMessageBytes)
            line.add("messages_per_call", settings.streamMessagesPerCall)
            line.add("compression", server.stack.compression)
            line.add("bytes_per_s", result.bytesPerSecond, decimals: 0)
            line.add("gb_per_s", result.bytesPerSecond / 1e9, decimals: 3)
            line.add("messages_per_s", result.messagesPerSecond)
            let bytes = result.bytesPerSecond * settings.duration.secondsValue
            line.add("cpu_ms_per_mib", result.cpu.process * 1e3 / (bytes / 1_048_576), decimals: 3)
            addCores(result.cpu, to: &line)
            line.add("errors", result.errors)
            line.add("seconds", settings.duration.secondsValue, decimals: 3)
            line.emit()
        }
        if let dunlin = throughput[Self.dunlinName] {
            for peer in [Self.grpcName, Self.grpcTunedName] {
                guard let grpc = throughput[peer] else { continue }
                var line = figure("server_streaming_ratio", impl: "\(Self.dunlinName)/\(peer)")
                line.add("streams", settings.streams)
                line.add("message_bytes", settings.streamMessageBytes)
                line.add("ratio", dunlin / grpc, decimals: 3)
                line.emit()
            }
        }
    }
}
