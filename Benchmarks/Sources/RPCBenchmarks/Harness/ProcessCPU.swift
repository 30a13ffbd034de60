import Foundation
import Synchronization

/// CPU time this process (client, server and harness together) spent inside a run's measured
/// window. Divided by the work done, it is a cost per call or per byte that another process's load
/// barely moves, unlike the rates; divided by the window, the number of cores kept busy.
enum ProcessCPU {
    /// Servers running in child processes (`--pin-cores`): their CPU counts as this process's, so
    /// CPU per call stays client + server + harness, as when everything runs in one process.
    static let serverProcesses = Mutex<Set<Int32>>([])

    /// CPU seconds, user and system, over all threads of the process (and its server processes) so far.
    static func seconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
        let own = Double(time.tv_sec) + Double(time.tv_nsec) * 1e-9
        return own + serverProcesses.withLock { $0 }.reduce(0) { $0 + (childSeconds($1) ?? 0) }
    }

    /// User and system CPU seconds of another process, from /proc/PID/stat (fields 14 and 15, in
    /// clock ticks; coarse, 10 ms, which a window of seconds makes small).
    private static func childSeconds(_ pid: Int32) -> Double? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        // After "pid (comm)": field 3 (state) is index 0, so utime (14) is 11 and stime (15) 12.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// CPU spent in a window: by this process, and by the whole machine when the system tells
    /// (Linux's /proc/stat), so a figure taken while something else ran can be recognised.
    struct Usage: Sendable {
        /// CPU seconds of this process.
        let process: Double
        /// CPU seconds of every process on the machine, nil where unknown.
        let machine: Double?

        /// Cores kept busy by other processes during a window of `seconds`, nil where unknown.
        func otherCores(over seconds: Double) -> Double? {
            machine.map { max(0, $0 - process) / seconds }
        }
    }

    /// Waits for the window to open and then to close; returns the CPU spent in between.
    static func usage(during window: RunWindow) async -> Usage {
        let clock = ContinuousClock()
        try? await Task.sleep(until: window.measureStart, tolerance: .zero, clock: clock)
        let (processStart, machineStart) = (seconds(), machineBusySeconds())
        try? await Task.sleep(until: window.end, tolerance: .zero, clock: clock)
        let (processEnd, machineEnd) = (seconds(), machineBusySeconds())
        let machine = machineStart.flatMap { start in machineEnd.map { $0 - start } }
        return Usage(process: processEnd - processStart, machine: machine)
    }

    /// Busy CPU seconds of the whole machine since boot (all but idle and iowait), from the first
    /// line of /proc/stat, counted in USER_HZ (100 per second on Linux).
    private static func machineBusySeconds() -> Double? {
        guard let stat = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
            let line = stat.split(separator: "\n").first, line.hasPrefix("cpu ")
        else { return nil }
        let ticks = line.split(separator: " ").dropFirst().compactMap { Double($0) }
        guard ticks.count >= 5 else { return nil }
        // user nice system idle iowait irq softirq steal ...; guest time is already in user.
        let busy = ticks.prefix(8).enumerated().filter { $0.offset != 3 && $0.offset != 4 }.map(\.element)
        return busy.reduce(0, +) / 100
    }
}
