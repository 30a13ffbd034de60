import Synchronization

/// The timeline of one run: a warmup, excluded from every figure, then the measured window.
///
/// A call or message counts when it completes inside `[measureStart, end]`; work still in flight
/// at `end` finishes but is not counted, so throughput is completions per second of window.
struct RunWindow: Sendable {
    let measureStart: ContinuousClock.Instant
    let end: ContinuousClock.Instant

    init(warmup: Duration, duration: Duration) {
        let now = ContinuousClock.now
        measureStart = now + warmup
        end = measureStart + duration
    }

    var length: Duration { end - measureStart }

    func contains(_ instant: ContinuousClock.Instant) -> Bool {
        instant >= measureStart && instant <= end
    }
}

/// Counts failed calls across workers and logs the first one (a benchmark whose calls fail is
/// not measuring the RPC layer, so the count is part of every figure).
final class ErrorTally: Sendable {
    private let state = Mutex<(count: Int, first: String?)>((0, nil))

    func record(_ error: any Error, impl: String) {
        let isFirst = state.withLock { state in
            state.count += 1
            if state.first == nil {
                state.first = String(describing: error)
                return true
            }
            return false
        }
        if isFirst { log("[\(impl)] call failed: \(error)") }
    }

    var count: Int { state.withLock { $0.count } }
}

/// A counter shared by the callers of one run.
final class SharedCounter: Sendable {
    private let value = Atomic<Int>(0)

    /// Adds `amount` and returns the value before the addition.
    @discardableResult
    func add(_ amount: Int) -> Int {
        value.wrappingAdd(amount, ordering: .relaxed).oldValue
    }

    var current: Int { value.load(ordering: .relaxed) }
}
