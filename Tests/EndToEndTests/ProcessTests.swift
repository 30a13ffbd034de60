import DunlinClient
import DunlinWire
import Foundation
import Testing

/// The built `dunlind` and `dunlin` executables, found beside the test bundle (`scripts/test`
/// builds them before running the tests).
enum Executables {
    static let directory: URL? = {
        var candidates = [URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()]
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        candidates.append(root.appendingPathComponent(".build/debug"))
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.appendingPathComponent("dunlind").path) }
    }()

    static func url(_ name: String) throws -> URL {
        guard let directory else {
            throw RawError("\(name) is not built beside the tests; run scripts/test (swift build --build-tests first)")
        }
        return directory.appendingPathComponent(name)
    }
}

/// A real `dunlind serve` process on a free port.
final class DunlindProcess: @unchecked Sendable {
    let process = Process()
    let port: Int

    init(arguments: [String] = []) async throws {
        process.executableURL = try Executables.url("dunlind")
        process.arguments = ["serve", "--port", "0", "--log-level", "error"] + arguments
        let stdout = Pipe()
        process.standardOutput = stdout
        process.standardError = FileHandle.nullDevice
        try process.run()
        // The first stdout line says where it listens.
        var line = Data()
        let handle = stdout.fileHandleForReading
        let deadline = ContinuousClock.now + .seconds(20)
        while !line.contains(UInt8(ascii: "\n")), ContinuousClock.now < deadline {
            let chunk = handle.availableData
            if chunk.isEmpty { break }
            line.append(chunk)
        }
        let text = String(decoding: line, as: UTF8.self)
        guard let portText = text.split(separator: ":").last?.trimmingCharacters(in: .whitespacesAndNewlines), let port = Int(portText) else {
            process.terminate()
            throw RawError("dunlind did not say where it listens: \"\(text)\"")
        }
        self.port = port
    }

    func terminate() { process.terminate() }  // SIGTERM

    func waitForExit(timeout: Duration = .seconds(20)) async throws -> Int32 {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            guard ContinuousClock.now < deadline else {
                kill(process.processIdentifier, SIGKILL)
                throw RawError("dunlind did not exit within \(timeout)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        return process.terminationStatus
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}

/// Runs the `dunlin` CLI and returns its exit status and stdout.
func runCLI(_ arguments: [String]) async throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = try Executables.url("dunlin")
    process.arguments = arguments
    let stdout = Pipe()
    process.standardOutput = stdout
    process.standardError = FileHandle.nullDevice
    try process.run()
    let data = stdout.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

@Suite("The real executables", .timeLimit(.minutes(2)))
struct ProcessTests {
    @Test("dunlin ping, info and echo talk to a real dunlind; failures exit 100 + the status code")
    func cli() async throws {
        let server = try await DunlindProcess(arguments: ["--dev-token", "demo-token"])
        let address = "127.0.0.1:\(server.port)"

        let ping = try await runCLI(["ping", "--server", address, "--json"])
        #expect(ping.status == 0)
        let pingJSON = try JSONSerialization.jsonObject(with: Data(ping.output.utf8)) as? [String: Any]
        #expect(pingJSON?["server_version"] as? String == "0.1.0")

        let info = try await runCLI(["info", "--server", address])
        #expect(info.status == 0)
        #expect(info.output.contains("/dunlin.v1.Diagnostics/Echo"))

        let echo = try await runCLI(["echo", "--server", address, "--token", "demo-token", "promise to pay"])
        #expect(echo.status == 0)
        #expect(echo.output == "promise to pay\n")

        let streamed = try await runCLI(["echo", "--server", address, "--token", "demo-token", "--count", "3", "x"])
        #expect(streamed.output == "x\nx\nx\n")

        let anonymous = try await runCLI(["echo", "--server", address, "hi"])
        #expect(anonymous.status == 100 + Int32(StatusCode.unauthenticated.rawValue))

        let wrongToken = try await runCLI(["echo", "--server", address, "--token", "nope", "--json", "hi"])
        #expect(wrongToken.status == 100 + Int32(StatusCode.unauthenticated.rawValue))
        #expect(wrongToken.output.contains("UNAUTHENTICATED"))

        server.terminate()
        #expect(try await server.waitForExit() == 0)

        let unreachable = try await runCLI(["ping", "--server", address, "--timeout", "0.3"])
        #expect(unreachable.status == 100 + Int32(StatusCode.unavailable.rawValue))
    }

    @Test("SIGTERM lets a call in flight finish, then dunlind exits 0")
    func sigterm() async throws {
        let server = try await DunlindProcess(arguments: ["--dev-token", "t"])
        let client = RPCClient(configuration: .init(port: server.port, token: "t"))
        var request = Dunlin_V1_EchoStreamRequest()
        request.payload = Data("collected".utf8)
        request.count = 4
        request.intervalMs = 200
        var received = 0
        // The first message proves the call is running on the server; SIGTERM then arrives
        // mid-call, and the rest of the stream must still come, ending OK.
        for try await response in client.serverStreaming(Diagnostics.echoStream, request) {
            #expect(response.payload == request.payload)
            received += 1
            if received == 1 { server.terminate() }
        }
        #expect(received == 4)
        #expect(try await server.waitForExit() == 0)
        await client.close()
    }
}
