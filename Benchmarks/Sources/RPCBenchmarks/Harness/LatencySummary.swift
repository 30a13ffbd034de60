/// Exact percentiles of a set of latency samples, by the nearest-rank method on the sorted samples
/// (no histogram bucketing: a run of a few seconds holds at most a few million samples).
struct LatencySummary: Sendable {
    let count: Int
    let p50Micros: Double
    let p90Micros: Double
    let p99Micros: Double
    let p999Micros: Double
    let maxMicros: Double
    let meanMicros: Double

    /// - Parameter nanoseconds: one sample per call, in nanoseconds, in any order.
    init(nanoseconds samples: [Int64]) {
        let sorted = samples.sorted()
        count = sorted.count
        func percentile(_ p: Double) -> Double {
            guard !sorted.isEmpty else { return .nan }
            // Nearest rank: the smallest sample with at least p of the samples at or below it.
            let rank = Int((p * Double(sorted.count)).rounded(.up))
            return Double(sorted[min(max(rank, 1), sorted.count) - 1]) / 1000
        }
        p50Micros = percentile(0.50)
        p90Micros = percentile(0.90)
        p99Micros = percentile(0.99)
        p999Micros = percentile(0.999)
        maxMicros = sorted.last.map { Double($0) / 1000 } ?? .nan
        meanMicros = sorted.isEmpty ? .nan : Double(sorted.reduce(0, +)) / Double(sorted.count) / 1000
    }
}

extension Duration {
    /// The duration in whole nanoseconds (truncated).
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }

    /// The duration in seconds, as a floating-point number.
    var secondsValue: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) * 1e-18
    }
}
