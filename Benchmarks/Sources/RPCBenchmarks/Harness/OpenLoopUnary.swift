import DunlinWire

/// Open loop: calls are scheduled at a fixed rate (call i is due at start + i / rate), whatever
/// the server's answers do, and a pool of `workers` callers sends each call when it is due.
///
/// Latency is measured from the call's *scheduled* time, so a stall that delays later sends is
/// charged to those calls (no coordinated omission); the latency from the actual send is reported
/// beside it. The pool bounds the calls in flight: if the stack falls behind, calls wait for a
/// free worker and that wait shows in the scheduled latency.
struct OpenLoopUnary {
    struct Result: Sendable {
        /// Latency from each call's scheduled send time to its answer.
        let scheduled: LatencySummary
        /// Latency from the actual send to the answer.
        let service: LatencySummary
        /// Answers per second inside the measured window.
        let achievedRPS: Double
        let errors: Int
        /// CPU spent inside the measured window.
        let cpu: ProcessCPU.Usage
    }

    let impl: String
    let targetRPS: Double
    let workers: Int
    let payloadBytes: Int
    let warmup: Duration
    let duration: Duration

    func run(on connections: [any EchoConnection]) async -> Result {
        precondition(targetRPS > 0, "open-loop rate must be positive")
        let request = Dunlin_V1_EchoRequest.with { $0.payload = makePayload(bytes: payloadBytes) }
        let window = RunWindow(warmup: warmup, duration: duration)
        let first = ContinuousClock.now
        let interval = Duration.nanoseconds(Int64((1e9 / targetRPS).rounded()))
        let nextCall = SharedCounter()
        let errors = ErrorTally()
        let impl = self.impl

        async let cpu = ProcessCPU.usage(during: window)
        let perWorker = await withTaskGroup(of: (scheduled: [Int64], service: [Int64]).self) { group in
            for worker in 0..<workers {
                let connection = connections[worker % connections.count]
                group.addTask {
                    var scheduled: [Int64] = []
                    var service: [Int64] = []
                    let clock = ContinuousClock()
                    while true {
                        let index = nextCall.add(1)
                        let due = first + interval * index
                        if due >= window.end { break }
                        if clock.now < due {
                            try? await Task.sleep(until: due, tolerance: .zero, clock: clock)
                        }
                        let sent = clock.now
                        do {
                            _ = try await connection.echo(request)
                        } catch {
                            errors.record(error, impl: impl)
                            continue
                        }
                        let answered = clock.now
                        if window.contains(answered) && due >= window.measureStart {
                            scheduled.append((answered - due).nanoseconds)
                            service.append((answered - sent).nanoseconds)
                        }
                    }
                    return (scheduled, service)
                }
            }
            var all: [(scheduled: [Int64], service: [Int64])] = []
            for await samples in group { all.append(samples) }
            return all
        }

        let scheduled = perWorker.flatMap(\.scheduled)
        return Result(
            scheduled: LatencySummary(nanoseconds: scheduled),
            service: LatencySummary(nanoseconds: perWorker.flatMap(\.service)),
            achievedRPS: Double(scheduled.count) / window.length.secondsValue,
            errors: errors.count,
            cpu: await cpu
        )
    }
}
