import Foundation
import Synchronization

/// A stack whose server runs in a child process of this benchmark (`RPCBenchmarks --serve NAME`),
/// pinned to its own core, while the clients and the load generator stay in this process on
/// another: `--pin-cores`. The clients are the base stack's own.
struct ChildProcessServerStack: EchoStack {
    let base: any EchoStack
    let serverCPU: Int
    /// The options the child needs to build the same stack (`--payload` and the like do not
    /// matter to a server; the stack's name picks it).
    let childArguments: [String]

    var name: String { base.name }
    var compression: String { base.compression }

    func withServer<Result: Sendable>(
        _ body: (_ port: Int) async throws -> Result
    ) async throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        process.arguments = ["--serve", base.name, "--serve-cpu", "\(serverCPU)"] + childArguments
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        let pid = process.processIdentifier
        defer {
            // Closing its standard input tells the child to shut its server down and exit.
            try? input.fileHandleForWriting.close()
            process.waitUntilExit()
            _ = ProcessCPU.serverProcesses.withLock { $0.remove(pid) }
        }
        guard let port = Self.readPort(output.fileHandleForReading) else {
            process.terminate()
            throw BenchmarkError.setup("the \(base.name) server process did not report its port")
        }
        ProcessCPU.serverProcesses.withLock { _ = $0.insert(pid) }
        return try await body(port)
    }

    func withConnections<Result: Sendable>(
        port: Int,
        count: Int,
        _ body: ([any EchoConnection]) async throws -> Result
    ) async throws -> Result {
        try await base.withConnections(port: port, count: count, body)
    }

    /// The child's first line, "port N".
    private static func readPort(_ handle: FileHandle) -> Int? {
        var line = Data()
        while true {
            guard let byte = try? handle.read(upToCount: 1), let first = byte.first else { return nil }
            if first == UInt8(ascii: "\n") { break }
            line.append(first)
        }
        let text = String(decoding: line, as: UTF8.self)
        guard text.hasPrefix("port ") else { return nil }
        return Int(text.dropFirst(5))
    }
}

/// The child's side (`--serve NAME`): pins itself, starts the stack's server, prints "port N" on
/// standard output, and serves until its standard input closes. The main thread waits on standard
/// input, so no thread of the concurrency pool is held (grpc-swift-2 runs its handlers there).
enum ServerProcess {
    static func serve(_ stack: any EchoStack, cpu: Int) throws {
        try CorePinning.pinProcess(toCPU: cpu)
        let (stop, stopper) = AsyncStream<Void>.makeStream()
        let finished = DispatchSemaphore(value: 0)
        let failure = Mutex<(any Error)?>(nil)
        Task {
            do {
                try await stack.withServer { port in
                    FileHandle.standardOutput.write(Data("port \(port)\n".utf8))
                    for await _ in stop {}
                }
            } catch {
                failure.withLock { $0 = error }
                FileHandle.standardOutput.write(Data("failed \(error)\n".utf8))
            }
            finished.signal()
        }
        while (try? FileHandle.standardInput.read(upToCount: 4096))?.isEmpty == false {}
        stopper.finish()
        finished.wait()
        if let error = failure.withLock({ $0 }) { throw error }
    }
}
