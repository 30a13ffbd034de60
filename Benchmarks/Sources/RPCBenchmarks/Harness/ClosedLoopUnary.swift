import Foundation
import DunlinWire

/// Closed loop: `concurrency` callers, each issuing its next Echo as soon as the previous one
/// answers, spread round-robin over the connections. This finds the maximum rate at that
/// concurrency; latency is measured per call from send to answer.
struct ClosedLoopUnary {
    struct Result: Sendable {
        let rps: Double
        let latency: LatencySummary
        let errors: Int
        /// CPU spent inside the measured window.
        let cpu: ProcessCPU.Usage
    }

    let impl: String
    let concurrency: Int
    let payloadBytes: Int
    let warmup: Duration
    let duration: Duration

    func run(on connections: [any EchoConnection]) async -> Result {
        let request = Dunlin_V1_EchoRequest.with { $0.payload = makePayload(bytes: payloadBytes) }
        let window = RunWindow(warmup: warmup, duration: duration)
        let errors = ErrorTally()
        let impl = self.impl
        let expectedPerWorker = 4096

        async let cpu = ProcessCPU.usage(during: window)
        let samples = await withTaskGroup(of: [Int64].self) { group in
            for worker in 0..<concurrency {
                let connection = connections[worker % connections.count]
                group.addTask {
                    var samples: [Int64] = []
                    samples.reserveCapacity(expectedPerWorker)
                    let clock = ContinuousClock()
                    while true {
                        let start = clock.now
                        if start >= window.end { break }
                        do {
                            _ = try await connection.echo(request)
                        } catch {
                            errors.record(error, impl: impl)
                            continue
                        }
                        let finish = clock.now
                        if window.contains(finish) {
                            samples.append((finish - start).nanoseconds)
                        }
                    }
                    return samples
                }
            }
            var all: [Int64] = []
            for await workerSamples in group { all.append(contentsOf: workerSamples) }
            return all
        }

        return Result(
            rps: Double(samples.count) / window.length.secondsValue,
            latency: LatencySummary(nanoseconds: samples),
            errors: errors.count,
            cpu: await cpu
        )
    }
}

/// A deterministic pseudo-random payload of the given size: incompressible, so a stack that
/// deflates messages pays for it as it would with real (already compressed or encrypted) bytes.
func makePayload(bytes: Int) -> Data {
    var state: UInt64 = 0x9E37_79B9_7F4A_7C15  // xorshift64*, fixed seed
    var data = Data(count: bytes)
    data.withUnsafeMutableBytes { raw in
        for index in raw.indices {
            state ^= state >> 12
            state ^= state << 25
            state ^= state >> 27
            raw[index] = UInt8(truncatingIfNeeded: (state &* 0x2545_F491_4F6C_DD1D) >> 56)
        }
    }
    return data
}
