import Foundation

/// The system's mail transfer agent through the sendmail interface: the command (by default
/// `/usr/sbin/sendmail -t -i`) reads one message on its standard input, takes the recipients from
/// its headers (`-t`), and exits 0 once it has taken the message on. Dunlin never speaks SMTP
/// itself. The command is words separated by spaces, run without a shell; a first word without
/// a slash is looked up on PATH.
public struct Sendmail: Sendable {
    public static let standard = ["/usr/sbin/sendmail", "-t", "-i"]

    /// What the command did with a message.
    public enum Outcome: Sendable, Hashable {
        /// Exit status 0: the transfer agent took the message.
        case accepted
        /// It exited otherwise, or could not be started: the message did not leave.
        case refused(String)
        /// It ran past the time limit and was killed: whether the message left is unknown.
        case unknown(String)
    }

    public var command: [String]
    /// The longest a hand-over may take before the command is killed.
    public var timeLimit: Duration

    public init(command: [String] = Self.standard, timeLimit: Duration = .seconds(60)) {
        self.command = command
        self.timeLimit = timeLimit
    }

    /// `"msmtp -t -i --host=127.0.0.1"` as words; nil when it holds none.
    public init?(commandLine: String, timeLimit: Duration = .seconds(60)) {
        let words = commandLine.split(whereSeparator: \.isWhitespace).map(String.init)
        guard !words.isEmpty else { return nil }
        self.init(command: words, timeLimit: timeLimit)
    }

    /// Whether the command's program is there to run.
    public var isInstalled: Bool { Self.executable(command[0]) != nil }

    /// Hands `message` to the command and waits for it to exit.
    public func send(_ message: Data) async -> Outcome {
        guard let executable = Self.executable(command[0]) else {
            return .refused("the mail command \"\(command[0])\" is not an executable file (on PATH)")
        }
        let process = Process()
        process.executableURL = executable
        process.arguments = Array(command.dropFirst())
        let input = Pipe()
        let errors = FileManager.default.temporaryDirectory.appendingPathComponent("dunlind-sendmail-\(UUID().uuidString)")
        guard FileManager.default.createFile(atPath: errors.path, contents: nil), let errorHandle = try? FileHandle(forWritingTo: errors) else {
            return .refused("cannot make a file for the mail command's errors in \(FileManager.default.temporaryDirectory.path)")
        }
        defer {
            try? errorHandle.close()
            try? FileManager.default.removeItem(at: errors)
        }
        process.standardInput = input
        process.standardOutput = FileHandle.nullDevice
        process.standardError = errorHandle
        let exited = AsyncStream<Int32>.makeStream(of: Int32.self, bufferingPolicy: .bufferingNewest(1))
        process.terminationHandler = { process in
            exited.continuation.yield(process.terminationStatus)
            exited.continuation.finish()
        }
        do {
            try process.run()
        } catch {
            return .refused("the mail command did not start: \(error)")
        }
        // The pipe's buffer may be smaller than the message: write while the command reads.
        let writer = Task.detached {
            try? input.fileHandleForWriting.write(contentsOf: message)
            try? input.fileHandleForWriting.close()
        }
        let limit = timeLimit
        let status: Int32? = await withTaskGroup(of: Int32?.self) { group in
            group.addTask { await exited.stream.first { _ in true } }
            group.addTask {
                try? await Task.sleep(for: limit)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
        await writer.value
        guard let status else {
            process.terminate()
            return .unknown("the mail command ran past \(limit) and was stopped")
        }
        guard status == 0 else {
            let said = (try? String(contentsOf: errors, encoding: .utf8)) ?? ""
            let firstLines = said.split(whereSeparator: \.isNewline).prefix(3).joined(separator: "; ")
            return .refused("the mail command exited \(status)\(firstLines.isEmpty ? "" : ": \(firstLines)")")
        }
        return .accepted
    }

    static func executable(_ name: String) -> URL? {
        let manager = FileManager.default
        if name.contains("/") { return manager.isExecutableFile(atPath: name) ? URL(fileURLWithPath: name) : nil }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/\(name)"
            if manager.isExecutableFile(atPath: candidate) { return URL(fileURLWithPath: candidate) }
        }
        return nil
    }
}
