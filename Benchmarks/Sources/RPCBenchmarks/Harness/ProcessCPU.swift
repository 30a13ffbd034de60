#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// CPU time this process (client, server and harness together) spent inside a run's measured
/// window. Divided by the work done, it is a cost per call or per byte that another process's load
/// barely moves, unlike the rates; divided by the window, the number of cores kept busy.
enum ProcessCPU {
    /// CPU seconds, user and system, over all threads of the process so far.
    static func seconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) * 1e-9
    }

    /// Waits for the window to open and then to close; returns the CPU seconds spent in between.
    static func seconds(during window: RunWindow) async -> Double {
        let clock = ContinuousClock()
        try? await Task.sleep(until: window.measureStart, tolerance: .zero, clock: clock)
        let start = seconds()
        try? await Task.sleep(until: window.end, tolerance: .zero, clock: clock)
        return seconds() - start
    }
}
