#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Foundation

/// Pins this process to one CPU: every thread it has now, and (since Linux threads inherit their
/// creator's mask) every thread it starts later. With `--pin-cores` the load generator and the
/// clients run pinned to one core and each server, in its own process, to the other, so the two
/// sides stop competing for a core and a figure measures the RPC layer, not the scheduler.
enum CorePinning {
    static func pinProcess(toCPU cpu: Int) throws {
        #if os(Linux)
        // Glibc declares sched_setaffinity only under _GNU_SOURCE, which Swift's Glibc module is
        // not built with, so it is looked up at run time.
        typealias SetAffinity = @convention(c) (pid_t, Int, UnsafeRawPointer) -> Int32
        guard let symbol = dlsym(dlopen(nil, RTLD_NOW), "sched_setaffinity") else {
            throw BenchmarkError.setup("sched_setaffinity is not available")
        }
        let setAffinity = unsafeBitCast(symbol, to: SetAffinity.self)
        var set = cpu_set_t()
        let bytes = MemoryLayout<cpu_set_t>.size
        guard cpu >= 0, cpu < bytes * 8 else { throw BenchmarkError.setup("CPU \(cpu) is out of range") }
        withUnsafeMutableBytes(of: &set) { $0[cpu / 8] |= UInt8(1 << (cpu % 8)) }
        let threads = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
        let ids = threads.compactMap { pid_t($0) }
        for id in ids.isEmpty ? [0] : ids {
            let status = withUnsafeBytes(of: &set) { mask in
                mask.baseAddress.map { setAffinity(id, bytes, $0) } ?? -1
            }
            guard status == 0 else {
                throw BenchmarkError.setup("sched_setaffinity(\(id), CPU \(cpu)) failed: errno \(errno)")
            }
        }
        #else
        throw BenchmarkError.setup("--pin-cores needs Linux (sched_setaffinity)")
        #endif
    }
}

/// The pinned run's two cores, written `LOAD,SERVER` (`0,1`).
struct CorePair: Sendable, Hashable, ExpressibleByArgument, CustomStringConvertible {
    let load: Int
    let server: Int

    init?(argument: String) {
        let parts = argument.split(separator: ",")
        guard parts.count == 2, let load = Int(parts[0]), let server = Int(parts[1]), load >= 0, server >= 0, load != server
        else { return nil }
        self.load = load
        self.server = server
    }

    var description: String { "\(load),\(server)" }
}
