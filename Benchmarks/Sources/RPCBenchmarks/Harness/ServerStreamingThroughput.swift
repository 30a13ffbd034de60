import DunlinWire

/// Server-streaming throughput: `streams` callers, each calling EchoStream for
/// `messagesPerCall` messages of `messageBytes` payload, again and again until the window ends.
/// Throughput counts payload bytes (not framing) of messages that arrive inside the window.
struct ServerStreamingThroughput {
    struct Result: Sendable {
        let bytesPerSecond: Double
        let messagesPerSecond: Double
        let errors: Int
        /// CPU spent inside the measured window.
        let cpu: ProcessCPU.Usage
    }

    let impl: String
    let streams: Int
    let messageBytes: Int
    let messagesPerCall: Int
    let warmup: Duration
    let duration: Duration

    func run(on connections: [any EchoConnection]) async -> Result {
        let request = Dunlin_V1_EchoStreamRequest.with {
            $0.payload = makePayload(bytes: messageBytes)
            $0.count = UInt32(messagesPerCall)
        }
        let window = RunWindow(warmup: warmup, duration: duration)
        let bytes = SharedCounter()
        let messages = SharedCounter()
        let errors = ErrorTally()
        let impl = self.impl

        async let cpu = ProcessCPU.usage(during: window)
        await withTaskGroup(of: Void.self) { group in
            for stream in 0..<streams {
                let connection = connections[stream % connections.count]
                group.addTask {
                    let clock = ContinuousClock()
                    while clock.now < window.end {
                        do {
                            try await connection.echoStream(request) { payloadBytes in
                                if window.contains(clock.now) {
                                    bytes.add(payloadBytes)
                                    messages.add(1)
                                }
                            }
                        } catch {
                            errors.record(error, impl: impl)
                        }
                    }
                }
            }
        }

        let seconds = window.length.secondsValue
        return Result(
            bytesPerSecond: Double(bytes.current) / seconds,
            messagesPerSecond: Double(messages.current) / seconds,
            errors: errors.count,
            cpu: await cpu
        )
    }
}
