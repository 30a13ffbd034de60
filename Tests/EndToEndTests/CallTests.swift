import DunlinClient
import DunlinServer
import DunlinServices
import DunlinWire
import Foundation
import NIOCore
import Testing

@Suite("Calls over a real connection", .timingSensitive, .timeLimit(.minutes(10)))
struct CallTests {
    @Test("a unary Echo returns the payload it was sent")
    func unaryEcho() async throws {
        let server = try await TestServer.start()
        let client = server.client()
        var request = Dunlin_V1_EchoRequest()
        request.payload = Data("receivable".utf8)
        let response = try await client.unary(Diagnostics.echo, request)
        #expect(response.payload == request.payload)
        await client.close()
        try await server.stop()
    }

    @Test("two hundred calls in flight on one connection each get their own answer")
    func manyConcurrentCalls() async throws {
        let server = try await TestServer.start()
        let client = server.client()
        let welcome = try await client.connect()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<200 {
                group.addTask {
                    var request = Dunlin_V1_EchoRequest()
                    request.payload = Data("call-\(index)".utf8)
                    request.delayMs = UInt32(index % 7)
                    let response = try await client.unary(Diagnostics.echo, request)
                    #expect(String(decoding: response.payload, as: UTF8.self) == "call-\(index)")
                }
            }
            try await group.waitForAll()
        }
        // Still the same connection: the calls were multiplexed, not spread over reconnects.
        #expect(try await client.connect().connectionID == welcome.connectionID)
        await client.close()
        try await server.stop()
    }

    @Test("a large message is compressed on the wire and arrives intact")
    func largeCompressibleMessage() async throws {
        let server = try await TestServer.start()
        let client = server.client()
        var request = Dunlin_V1_EchoRequest()
        request.payload = Data(String(repeating: "INV-2026-000123 overdue 1,000.00 USD; ", count: 50_000).utf8)
        let response = try await client.unary(Diagnostics.echo, request)
        #expect(response.payload == request.payload)
        await client.close()
        try await server.stop()
    }

    @Test("server-streaming delivers every message in order, beyond the flow-control window")
    func serverStreaming() async throws {
        let server = try await TestServer.start()
        let client = server.client()
        var request = Dunlin_V1_EchoStreamRequest()
        request.payload = Data((0..<(256 * 1024)).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        request.count = 24  // 6 MiB: six times the default 1 MiB window
        var received = 0
        for try await response in client.serverStreaming(Diagnostics.echoStream, request) {
            #expect(response.payload == request.payload)
            received += 1
        }
        #expect(received == 24)
        await client.close()
        try await server.stop()
    }

    @Test("client-streaming sums every value the client sends")
    func clientStreaming() async throws {
        let server = try await TestServer.start()
        let client = server.client()
        let values = (1...5_000).map { Int64($0) }
        let response = try await client.clientStreaming(
            Diagnostics.sum, requests: values.map { value in Dunlin_V1_SumRequest.with { $0.value = value } }
        )
        #expect(response.count == 5_000)
        #expect(response.total == 12_502_500)
        await client.close()
        try await server.stop()
    }

    @Test("a client-streaming call with no messages still gets its answer")
    func clientStreamingEmpty() async throws {
        let server = try await TestServer.start()
        let client = server.client()
        let response = try await client.clientStreaming(Diagnostics.sum, requests: [Dunlin_V1_SumRequest]())
        #expect(response.count == 0)
        await client.close()
        try await server.stop()
    }

    @Test("a client-streaming call queued for a free stream writes its requests once a slot opens")
    func clientStreamingWaitsForSlot() async throws {
        var limits = ConnectionLimits.defaults
        limits.maxConcurrentStreams = 1
        let server = try await TestServer.start(limits: limits)
        let client = server.client()
        for values in [[Int64](1...300), []] {
            // The one slot is taken by a call that hangs until cancelled.
            let key = "slot-\(values.count)-\(UUID().uuidString.prefix(8))"
            let holder = Task { try await client.unary(ProbeService.hang, .with { $0.payload = Data(key.utf8) }) }
            await ProbeService.shared.started(key)
            // This call waits for the slot; its writer starts writing (or half-closes) while it waits.
            let sum = Task {
                try await client.clientStreaming(
                    Diagnostics.sum, requests: values.map { value in Dunlin_V1_SumRequest.with { $0.value = value } }
                )
            }
            // Only once the call is queued does the slot free up.
            while await client.callsWaitingForStream() == 0 { await Task.yield() }
            holder.cancel()
            await ProbeService.shared.cancelled(key)
            let response = try await sum.value
            #expect(response.count == Int64(values.count))
            #expect(response.total == values.reduce(0, +))
        }
        await client.close()
        try await server.stop()
    }

    @Test("a handler's error reaches the caller with its code, message and details")
    func handlerError() async throws {
        let server = try await TestServer.start()
        let client = server.client()
        let error = await #expect(throws: RPCError.self) {
            _ = try await client.unary(ProbeService.fail, .with { $0.payload = Data("x".utf8) })
        }
        #expect(error?.code == .failedPrecondition)
        #expect(error?.message == "refused: x")
        #expect(error?.details.first?.field == "payload")
        await client.close()
        try await server.stop()
    }

    @Test("an unknown method ends with UNIMPLEMENTED and the connection keeps serving")
    func unknownMethod() async throws {
        let server = try await TestServer.start()
        let client = server.client()
        let missing = MethodDescriptor<Dunlin_V1_EchoRequest, Dunlin_V1_EchoResponse>(path: "/dunlin.v1.Nope/Nothing", kind: .unary)
        let error = await #expect(throws: RPCError.self) { _ = try await client.unary(missing, .init()) }
        #expect(error?.code == .unimplemented)
        _ = try await client.unary(Diagnostics.echo, .init())
        await client.close()
        try await server.stop()
    }

    @Test("the client's deadline ends a slow call with DEADLINE_EXCEEDED, and the server stops the handler")
    func clientDeadline() async throws {
        let server = try await TestServer.start()
        let client = server.client()
        _ = try await client.connect()
        // On a loaded machine the 300 ms can pass before the OPEN goes out: the call then fails
        // locally, marked as never sent, and no handler exists to stop. Such an attempt proves
        // nothing about the server, so the test makes another (each with its whole deadline)
        // until one reaches it; then it waits for the handler's cancellation, an event, not a clock.
        var key = ""
        var error: RPCError?
        for attempt in 1...20 {
            key = "deadline-\(attempt)-\(UUID().uuidString.prefix(8))"
            error = await #expect(throws: RPCError.self) {
                _ = try await client.unary(ProbeService.hang, .with { $0.payload = Data(key.utf8) }, options: .init(timeout: .milliseconds(300)))
            }
            if error?.neverReachedServer != true { break }
        }
        #expect(error?.code == .deadlineExceeded)
        #expect(error?.neverReachedServer == false, "no attempt of twenty reached the server")
        await ProbeService.shared.cancelled(key)
        await client.close()
        try await server.stop()
    }

    @Test("cancelling the calling task cancels the call on the server")
    func clientCancellation() async throws {
        let server = try await TestServer.start()
        let client = server.client()
        let key = "cancel-\(UUID().uuidString.prefix(8))"
        let call = Task {
            try await client.unary(ProbeService.hang, .with { $0.payload = Data(key.utf8) })
        }
        await ProbeService.shared.started(key)
        call.cancel()
        let result = await call.result
        #expect(throws: RPCError.self) { try result.get() }
        await ProbeService.shared.cancelled(key)
        // The connection is still good.
        _ = try await client.unary(Diagnostics.echo, .init())
        await client.close()
        try await server.stop()
    }

    @Test("leaving a server stream early cancels the handler on the server")
    func streamCancellation() async throws {
        let server = try await TestServer.start()
        let client = server.client()
        let key = "stream-\(UUID().uuidString.prefix(6))"
        var request = Dunlin_V1_EchoStreamRequest()
        request.payload = Data(key.utf8)
        var seen = 0
        for try await _ in client.serverStreaming(ProbeService.flood, request) {
            seen += 1
            if seen == 3 { break }
        }
        #expect(seen == 3)
        await ProbeService.shared.cancelled(key)
        await client.close()
        try await server.stop()
    }

    @Test("a client that never reads cannot make the server buffer without bound")
    func backpressure() async throws {
        let server = try await TestServer.start()
        let raw = try await RawConnection.connect(port: server.port, receiveBuffer: 64 * 1024)
        _ = try await raw.handshake()
        try await raw.stopReading()
        let key = "flood-\(UUID().uuidString.prefix(10))"  // exactly the 16 bytes Flood keys on
        var request = Dunlin_V1_EchoStreamRequest()
        // Random bytes: compression cannot shrink them, so each message costs its full size in credit.
        request.payload = Data(key.utf8) + Data((0..<(64 * 1024)).map { _ in UInt8.random(in: 0...255) })
        try await raw.send(.open(1, ProbeService.flood.path), .message(1, request, flags: .endStream))
        // Let the handler run as far as it can: until its count has not moved for a second.
        var plateau = -1
        var stableSince = ContinuousClock.now
        let giveUp = ContinuousClock.now + .seconds(15)
        while ContinuousClock.now < giveUp {
            let count = ProbeService.shared.written(key)
            if count != plateau {
                plateau = count
                stableSince = ContinuousClock.now
            } else if ContinuousClock.now - stableSince > .seconds(1) {
                break
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        // It stopped: the stream's 1 MiB window (16 messages of 64 KiB, plus the one that
        // overdraws it) bounds what the server produced, whatever the socket buffers hold, and
        // however long the client goes on not reading.
        #expect(plateau > 0)
        #expect(plateau <= 17)
        try await Task.sleep(for: .seconds(1))
        #expect(ProbeService.shared.written(key) <= 17)
        await raw.close()
        try await server.stop()
    }

    @Test("anonymous connections may Ping and Info, and nothing else")
    func anonymousAccess() async throws {
        let server = try await TestServer.start()
        let client = server.client(token: "")
        let welcome = try await client.connect()
        #expect(welcome.principal.role == "anonymous")
        _ = try await client.unary(Diagnostics.ping, .init())
        let info = try await client.unary(Diagnostics.info, .init())
        #expect(info.methods.contains(Diagnostics.echo.path))
        #expect(info.limits.maxFrameSize == 4 << 20)
        let error = await #expect(throws: RPCError.self) { _ = try await client.unary(Diagnostics.echo, .init()) }
        #expect(error?.code == .unauthenticated)
        await client.close()
        try await server.stop()
    }

    @Test("the principal comes from the token")
    func principalFromToken() async throws {
        let server = try await TestServer.start()
        let client = server.client()
        let welcome = try await client.connect()
        #expect(welcome.principal.tenantID == "t-acme")
        #expect(welcome.principal.role == "analyst")
        await client.close()
        try await server.stop()
    }

    @Test("a refused token fails the connection with UNAUTHENTICATED, without retrying")
    func refusedToken() async throws {
        let server = try await TestServer.start()
        // A minute of patience: retrying with backoff would use all of it; one refusal takes far less.
        let client = server.client(token: "stolen-token", patience: .seconds(60))
        let start = ContinuousClock.now
        let error = await #expect(throws: RPCError.self) { _ = try await client.unary(Diagnostics.ping, .init()) }
        #expect(error?.code == .unauthenticated)
        #expect(ContinuousClock.now - start < .seconds(30))
        try await server.stop()
    }
}
