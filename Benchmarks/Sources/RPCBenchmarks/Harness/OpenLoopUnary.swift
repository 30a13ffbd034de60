import DunlinWire
import Synchronization

/// Open loop: calls are scheduled at a fixed rate (call i is due at start + i / rate), whatever
/// the server's answers do, and a pool of `workers` callers sends each call when it is due.
///
/// Latency is measured from the call's *scheduled* time, so a stall that delays later sends is
/// charged to those calls (no coordinated omission); the latency from the actual send is reported
/// beside it. The pool bounds the calls in flight: if the stack falls behind, calls wait for a
/// free worker and that wait shows in the scheduled latency.
struct OpenLoopUnary {
    /// What keeps the schedule.
    enum Pacer: String, Sendable, CaseIterable {
        /// `workers` callers, each sleeping (`Task.sleep`) until its next call is due.
        case taskSleep = "task-sleep"
        /// One event loop's timers start each call as a task when due (``EventLoopPacer``).
        case eventLoop = "event-loop"
    }

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
    var pacer: Pacer = .taskSleep

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
        /// One call due at `due`: its latencies from the schedule and from the send, when it
        /// answers inside the measured window.
        @Sendable func call(_ connection: any EchoConnection, due: ContinuousClock.Instant) async -> Sample? {
            let clock = ContinuousClock()
            let sent = clock.now
            do {
                _ = try await connection.echo(request)
            } catch {
                errors.record(error, impl: impl)
                return nil
            }
            let answered = clock.now
            guard window.contains(answered) && due >= window.measureStart else { return nil }
            return Sample(scheduled: (answered - due).nanoseconds, service: (answered - sent).nanoseconds)
        }

        let samples: [Sample]
        switch pacer {
        case .eventLoop:
            let recorded = Mutex<[Sample]>([])
            let calls = SharedCounter()
            await EventLoopPacer(first: first, interval: interval, window: window).run { due in
                let connection = connections[calls.add(1) % connections.count]
                if let sample = await call(connection, due: due) { recorded.withLock { $0.append(sample) } }
            }
            samples = recorded.withLock { $0 }
        case .taskSleep:
            samples = await withTaskGroup(of: [Sample].self) { group in
                for worker in 0..<workers {
                    let connection = connections[worker % connections.count]
                    group.addTask {
                        var samples: [Sample] = []
                        let clock = ContinuousClock()
                        while true {
                            let due = first + interval * nextCall.add(1)
                            if due >= window.end { break }
                            if clock.now < due {
                                try? await Task.sleep(until: due, tolerance: .zero, clock: clock)
                            }
                            if let sample = await call(connection, due: due) { samples.append(sample) }
                        }
                        return samples
                    }
                }
                var all: [Sample] = []
                for await workerSamples in group { all.append(contentsOf: workerSamples) }
                return all
            }
        }

        return Result(
            scheduled: LatencySummary(nanoseconds: samples.map(\.scheduled)),
            service: LatencySummary(nanoseconds: samples.map(\.service)),
            achievedRPS: Double(samples.count) / window.length.secondsValue,
            errors: errors.count,
            cpu: await cpu
        )
    }

    /// One measured call: nanoseconds from its scheduled time and from its actual send to its answer.
    struct Sample: Sendable {
        var scheduled: Int64
        var service: Int64
    }
}
