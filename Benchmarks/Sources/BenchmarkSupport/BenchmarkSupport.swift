import Foundation

// What every benchmark executable of this package shares: how a figure is printed (one JSON line
// on stdout, progress on stderr), how time is taken, and how a synchronous `run` (so a binary can
// run under valgrind) drives the async suite.

/// Runs `body` on the concurrency pool and blocks the calling thread until it ends.
public func runBlocking(_ body: @escaping @Sendable () async throws -> Void) throws {
    let done = DispatchSemaphore(value: 0)
    let outcome = Outcome()
    Task {
        do { try await body() } catch { outcome.error = error }
        done.signal()
    }
    done.wait()
    if let error = outcome.error { throw error }
}

private final class Outcome: @unchecked Sendable {
    // Written by the task before it signals, read after the wait.
    var error: (any Error)?
}

public struct BenchError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Seconds `body` took.
public func timed(_ body: () async throws -> Void) async throws -> Double {
    let start = ContinuousClock.now
    try await body()
    return seconds(ContinuousClock.now - start)
}

/// What `body` returned, and the seconds it took.
public func measured<Value>(_ body: () async throws -> Value) async throws -> (Value, Double) {
    let start = ContinuousClock.now
    let value = try await body()
    return (value, seconds(ContinuousClock.now - start))
}

/// CPU seconds, user and system, that every thread of this process (client, server and harness
/// together) has used so far. Divided by the work done, a cost that other processes' load on the
/// machine barely moves, unlike a rate.
public func processCPUSeconds() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) * 1e-9
}

public func timedSync(_ body: () throws -> Void) throws -> Double {
    let start = ContinuousClock.now
    try body()
    return seconds(ContinuousClock.now - start)
}

public func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

public func round(_ value: Double, _ places: Int) -> Double {
    let scale = pow(10, Double(places))
    return (value * scale).rounded() / scale
}

/// The 1, 5 and 15 minute load averages, as /proc/loadavg gives them.
/// This process's peak resident set so far, in MiB (getrusage's ru_maxrss).
public func peakResidentMiB() -> Double {
    var usage = rusage()
    guard getrusage(RUSAGE_SELF.rawValue, &usage) == 0 else { return -1 }
    return (Double(usage.ru_maxrss) / 1024 * 10).rounded() / 10
}

public func loadAverage() -> String {
    (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3).joined(separator: " ") ?? "?"
}

/// One figure: a JSON object with sorted keys, on one line of stdout.
public func emit(_ fields: [String: Any]) {
    guard let data = try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys]) else { return }
    FileHandle.standardOutput.write(data + Data("\n".utf8))
}

/// A progress line on stderr, with the time.
public func progress(_ message: String) {
    FileHandle.standardError.write(Data("[\(Date())] \(message)\n".utf8))
}

/// The `q` quantile (0...1) of `sorted` by nearest rank: the smallest value with at least
/// `q` of the values at or below it.
public func percentile(_ sorted: [Double], _ q: Double) -> Double {
    sorted[min(sorted.count - 1, max(0, Int((q * Double(sorted.count)).rounded(.up)) - 1))]
}

/// A figure of repeated timings in milliseconds: median (the p50), p99, best and worst, the median
/// against a target.
public func figure(_ bench: String, _ times: [Double], target: Double, impl: String = "dunlin", extra: [String: Any]) -> [String: Any] {
    let sorted = times.sorted()
    let median = sorted[sorted.count / 2] * 1_000
    var line: [String: Any] = ["bench": bench, "impl": impl, "runs": times.count, "median_ms": round(median, 2),
                               "p99_ms": round(percentile(sorted, 0.99) * 1_000, 2), "max_ms": round(sorted[sorted.count - 1] * 1_000, 2),
                               "best_ms": round(sorted[0] * 1_000, 2), "target_ms": target, "met": median <= target]
    line.merge(extra) { first, _ in first }
    return line
}

/// `body` once to warm caches and the connection, then `runs` timed runs.
public func repeated(runs: Int, _ body: () async throws -> Void) async throws -> [Double] {
    try await body()
    var times: [Double] = []
    for _ in 0..<runs { times.append(try await timed(body)) }
    return times
}

/// `option` when given, else `$DUNLIN_BENCH_SIZE` read as a `Size` (`full` or `ci`), else `fallback`.
public func benchSize<Size: RawRepresentable>(_ option: Size?, else fallback: Size) throws -> Size where Size.RawValue == String {
    if let option { return option }
    guard let value = ProcessInfo.processInfo.environment["DUNLIN_BENCH_SIZE"] else { return fallback }
    guard let size = Size(rawValue: value) else { throw BenchError("DUNLIN_BENCH_SIZE is full or ci, not \(value)") }
    return size
}
