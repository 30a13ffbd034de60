import DunlinWire
import NIOCore
import Testing

/// A server-side state machine past its handshake, and helpers to feed it frames.
private struct ServerUnderTest {
    var machine: ConnectionStateMachine
    var now = NIODeadline.uptimeNanoseconds(1_000_000_000)

    init(limits: ConnectionLimits = .defaults) {
        machine = ConnectionStateMachine(role: .server, limits: limits)
        _ = machine.received(.preface(.current), now: now)
        var hello = Dunlin_V1_Hello()
        hello.token = "t"
        hello.acceptCompression = ["deflate"]
        hello.initialWindow = 16384
        guard case .authenticate = machine.received(.frame(ConnectionStateMachine.protobufFrame(.hello, streamID: 0, hello)), now: now) else {
            fatalError("HELLO did not ask for authentication")
        }
        _ = machine.authenticated(principal: .init(), serverVersion: "test", connectionID: "c1")
    }

    mutating func receive(_ frame: Frame) -> ConnectionStateMachine.Action {
        machine.received(.frame(frame), now: now)
    }

    mutating func open(_ id: UInt32, endStream: Bool = false) -> ConnectionStateMachine.Action {
        var open = Dunlin_V1_CallOpen()
        open.method = "/dunlin.v1.Diagnostics/Echo"
        return receive(ConnectionStateMachine.protobufFrame(.open, flags: endStream ? .endStream : [], streamID: id, open))
    }

    mutating func message(_ id: UInt32, _ bytes: Int, flags: FrameFlags = []) -> ConnectionStateMachine.Action {
        receive(Frame(type: .message, flags: flags, streamID: id, payload: ByteBuffer(repeating: 7, count: bytes)))
    }
}

private func failureReason(_ action: ConnectionStateMachine.Action) -> Dunlin_V1_GoAwayReason? {
    if case .fail(let error, let goAway) = action {
        #expect(goAway.type == .goAway)
        return error.reason
    }
    return nil
}

@Suite("Connection state machine")
struct StateMachineTests {
    @Test("the server negotiates the highest common version and refuses a range it does not speak")
    func versionNegotiation() {
        var machine = ConnectionStateMachine(role: .server)
        _ = machine.received(.preface(Preface(minVersion: 1, maxVersion: 9)), now: .now())
        #expect(machine.phase == .awaitingHello(version: 1))

        var old = ConnectionStateMachine(role: .server)
        let action = old.received(.preface(Preface(minVersion: 2, maxVersion: 3)), now: .now())
        #expect(failureReason(action) == .unsupportedVersion)
        #expect(old.phase == .closed)
    }

    @Test("any frame but HELLO after the preface is a handshake error")
    func frameBeforeHello() {
        var machine = ConnectionStateMachine(role: .server)
        _ = machine.received(.preface(.current), now: .now())
        var open = Dunlin_V1_CallOpen()
        open.method = "/x/y"
        let action = machine.received(.frame(ConnectionStateMachine.protobufFrame(.open, streamID: 1, open)), now: .now())
        #expect(failureReason(action) == .handshake)
    }

    @Test("a frame only a server sends is refused from a client")
    func wrongDirection() {
        var server = ServerUnderTest()
        let action = server.receive(ConnectionStateMachine.endFrame(streamID: 1, status: .init()))
        #expect(failureReason(action) == .badFrame)
    }

    @Test("stream ids must increase")
    func streamIDsIncrease() {
        var server = ServerUnderTest()
        guard case .openCall(5, _, false) = server.open(5) else { Issue.record("OPEN 5 not accepted"); return }
        #expect(failureReason(server.open(3)) == .streamState)
    }

    @Test("a MESSAGE on a stream never opened closes the connection")
    func messageOnUnopenedStream() {
        var server = ServerUnderTest()
        #expect(failureReason(server.message(9, 10)) == .streamState)
    }

    @Test("a MESSAGE after the client half-closed the stream closes the connection")
    func messageAfterHalfClose() {
        var server = ServerUnderTest()
        _ = server.open(1)
        guard case .message(1, _, 10, true) = server.message(1, 10, flags: .endStream) else {
            Issue.record("last message not delivered"); return
        }
        #expect(failureReason(server.message(1, 10)) == .streamState)
    }

    @Test("a frame on a stream the server already ended is ignored: it may have crossed the END")
    func frameAfterServerEnd() {
        var server = ServerUnderTest()
        _ = server.open(1)
        #expect(server.machine.end(1, status: .init()) != nil)
        guard case .none = server.message(1, 10) else { Issue.record("frame after END not ignored"); return }
        #expect(server.machine.phase == .active)
    }

    @Test("opening more streams than allowed closes the connection")
    func tooManyStreams() {
        var limits = ConnectionLimits.defaults
        limits.maxConcurrentStreams = 2
        var server = ServerUnderTest(limits: limits)
        _ = server.open(1)
        _ = server.open(2)
        #expect(failureReason(server.open(3)) == .tooManyStreams)
    }

    @Test("a finished stream frees its slot")
    func slotFreed() {
        var limits = ConnectionLimits.defaults
        limits.maxConcurrentStreams = 1
        var server = ServerUnderTest(limits: limits)
        _ = server.open(1)
        _ = server.machine.end(1, status: .init())
        guard case .openCall(2, _, _) = server.open(2) else { Issue.record("slot not freed"); return }
    }

    @Test("the client may not send past the window the server granted")
    func inboundFlowControl() {
        var limits = ConnectionLimits.defaults
        limits.initialWindow = 100
        var server = ServerUnderTest(limits: limits)
        _ = server.open(1)
        guard case .message = server.message(1, 60) else { Issue.record("within window refused"); return }
        // Credit is 40: one more message may overdraw it...
        guard case .message = server.message(1, 60) else { Issue.record("overdraw by one message refused"); return }
        // ...but not another.
        #expect(failureReason(server.message(1, 1)) == .flowControl)
    }

    @Test("consuming half the window returns credit with WINDOW")
    func windowReturned() {
        var limits = ConnectionLimits.defaults
        limits.initialWindow = 100
        var server = ServerUnderTest(limits: limits)
        _ = server.open(1)
        _ = server.message(1, 30)
        #expect(server.machine.consumed(1, size: 30) == nil)
        _ = server.message(1, 30)
        let window = server.machine.consumed(1, size: 30)
        #expect(window?.type == .window)
        #expect(window?.payload.getInteger(at: 0, as: UInt32.self) == 60)
        // The credit is back: the client may send again.
        guard case .message = server.message(1, 90) else { Issue.record("credit not restored"); return }
    }

    @Test("the server stops sending when the client's window is used, and resumes on WINDOW")
    func outboundFlowControl() throws {
        var server = ServerUnderTest()  // the client granted 16384 bytes
        _ = server.open(1, endStream: true)
        #expect(server.machine.canSend(1))
        _ = try server.machine.messageFrame(1, message: ByteBuffer(bytes: (0..<16384).map { _ in UInt8.random(in: 0...255) }))
        #expect(!server.machine.canSend(1))
        var increment = ByteBuffer()
        increment.writeInteger(UInt32(500))
        guard case .creditAvailable(1) = server.receive(Frame(type: .window, streamID: 1, payload: increment)) else {
            Issue.record("WINDOW did not make credit available"); return
        }
        #expect(server.machine.canSend(1))
    }

    @Test("a WINDOW of zero, or one that overflows the credit, closes the connection")
    func badWindow() {
        var server = ServerUnderTest()
        _ = server.open(1)
        var zero = ByteBuffer()
        zero.writeInteger(UInt32(0))
        #expect(failureReason(server.receive(Frame(type: .window, streamID: 1, payload: zero))) == .flowControl)

        var other = ServerUnderTest()
        _ = other.open(1)
        var huge = ByteBuffer()
        huge.writeInteger(UInt32.max)
        #expect(failureReason(other.receive(Frame(type: .window, streamID: 1, payload: huge))) == .flowControl)
    }

    @Test("large compressible messages are deflated and small ones are not")
    func compressionChoice() throws {
        var server = ServerUnderTest()
        _ = server.open(1, endStream: true)
        _ = server.open(3, endStream: true)
        let small = try server.machine.messageFrame(1, message: ByteBuffer(string: "tiny"))
        #expect(!small.flags.contains(.compressed))
        let text = String(repeating: "overdue invoice ", count: 200)
        let large = try server.machine.messageFrame(3, message: ByteBuffer(string: text))
        #expect(large.flags.contains(.compressed))
        #expect(large.payload.readableBytes < text.utf8.count / 10)
    }

    @Test("a compressed message is inflated for the handler; corrupt or oversized ones close the connection")
    func inboundCompression() throws {
        var limits = ConnectionLimits.defaults
        limits.maxMessageSize = 10_000
        var server = ServerUnderTest(limits: limits)
        _ = server.open(1)
        let text = String(repeating: "a", count: 5_000)
        let compressed = try #require(MessageCompression.compress(ByteBuffer(string: text)))
        guard case .message(1, let message, _, _) = server.receive(Frame(type: .message, flags: .compressed, streamID: 1, payload: compressed)) else {
            Issue.record("compressed message not delivered"); return
        }
        #expect(message == ByteBuffer(string: text))

        let bomb = try #require(MessageCompression.compress(ByteBuffer(repeating: 0, count: 100_000)))
        #expect(failureReason(server.receive(Frame(type: .message, flags: .compressed, streamID: 1, payload: bomb))) == .messageTooLarge)

        var other = ServerUnderTest()
        _ = other.open(1)
        #expect(failureReason(other.receive(Frame(type: .message, flags: .compressed, streamID: 1, payload: ByteBuffer(bytes: [0x78, 0x9C, 0xFF, 0xFF, 0x00])))) == .compression)
    }

    @Test("pings closer together than the minimum interval earn strikes; too many close the connection")
    func pingAbuse() {
        var limits = ConnectionLimits.defaults
        limits.minPingInterval = .seconds(1)
        limits.maxPingStrikes = 2
        var server = ServerUnderTest(limits: limits)
        let ping = Frame(type: .ping, payload: ByteBuffer(repeating: 1, count: 8))
        guard case .sendPong(let pong) = server.receive(ping) else { Issue.record("no PONG"); return }
        #expect(pong.payload == ping.payload)
        server.now = server.now + .milliseconds(10)
        _ = server.receive(ping)  // strike 1
        server.now = server.now + .milliseconds(10)
        _ = server.receive(ping)  // strike 2
        server.now = server.now + .milliseconds(10)
        #expect(failureReason(server.receive(ping)) == .pingAbuse)
    }

    @Test("well-spaced pings never earn strikes")
    func pingsWellSpaced() {
        var limits = ConnectionLimits.defaults
        limits.minPingInterval = .seconds(1)
        var server = ServerUnderTest(limits: limits)
        for _ in 0..<10 {
            server.now = server.now + .seconds(2)
            guard case .sendPong = server.receive(Frame(type: .ping, payload: ByteBuffer(repeating: 1, count: 8))) else {
                Issue.record("ping refused"); return
            }
        }
    }

    @Test("after a graceful GOAWAY, streams already open finish and later OPENs are refused with UNAVAILABLE")
    func gracefulShutdown() throws {
        var server = ServerUnderTest()
        _ = server.open(1, endStream: true)
        let goAway = server.machine.beginGracefulShutdown()
        let payload = try Dunlin_V1_GoAway(buffer: goAway.payload)
        #expect(payload.lastStreamID == 1)
        #expect(payload.reason == .noError)
        guard case .refuseCall(3, let end) = server.open(3) else { Issue.record("late OPEN not refused"); return }
        #expect(try Dunlin_V1_Status(buffer: end.payload).code == StatusCode.unavailable.rawValue)
        #expect(server.machine.end(1, status: .init()) != nil)
    }

    @Test("the client completes the handshake on WELCOME and learns the server's limits")
    func clientHandshake() throws {
        var client = ConnectionStateMachine(role: .client)
        var bytes = client.clientHandshake(hello: .init())
        var decoder = FrameDecoder(expectsPreface: true)
        guard case .preface(let preface) = try decoder.next(from: &bytes) else { Issue.record("no preface"); return }
        #expect(preface == .current)
        guard case .frame(let hello) = try decoder.next(from: &bytes) else { Issue.record("no HELLO"); return }
        #expect(hello.type == .hello)

        var welcome = Dunlin_V1_Welcome()
        welcome.version = 1
        var limits = ConnectionLimits.defaults
        limits.maxConcurrentStreams = 3
        welcome.limits = limits.wire
        guard case .welcomed = client.received(.frame(ConnectionStateMachine.protobufFrame(.welcome, streamID: 0, welcome)), now: .now()) else {
            Issue.record("WELCOME not accepted"); return
        }
        #expect(client.peerMaxConcurrentStreams == 3)
        #expect(try client.openStream() == 1)
        #expect(try client.openStream() == 2)
        #expect(try client.openStream() == 3)
        #expect(throws: RPCError.self) { try client.openStream() }
    }

    @Test("a client refuses a server-sent END_STREAM flag and frames on streams it never opened")
    func clientStreamRules() throws {
        var client = ConnectionStateMachine(role: .client)
        _ = client.clientHandshake(hello: .init())
        var welcome = Dunlin_V1_Welcome()
        welcome.version = 1
        _ = client.received(.frame(ConnectionStateMachine.protobufFrame(.welcome, streamID: 0, welcome)), now: .now())
        #expect(failureReason(client.received(.frame(Frame(type: .message, streamID: 7, payload: ByteBuffer())), now: .now())) == .streamState)
    }

    @Test("an empty message consumed at zero credit returns no WINDOW of 0 (fuzzer regression)")
    func noZeroWindow() {
        var limits = ConnectionLimits.defaults
        limits.initialWindow = 100
        var server = ServerUnderTest(limits: limits)
        _ = server.open(1)
        _ = server.message(1, 50)
        _ = server.message(1, 50)
        _ = server.message(1, 0)
        let first = server.machine.consumed(1, size: 50)
        let second = server.machine.consumed(1, size: 50)
        #expect(first?.payload.getInteger(at: 0, as: UInt32.self) == 50)
        #expect(second?.payload.getInteger(at: 0, as: UInt32.self) == 50)
        #expect(server.machine.consumed(1, size: 0) == nil)
    }
}

extension StateMachineTests {
    @Test("credit counts a message's own bytes, so a well-compressed stream cannot make the receiver hold more than its window")
    func creditCountsInflatedBytes() throws {
        var limits = ConnectionLimits.defaults
        limits.initialWindow = 64 << 10
        var server = ServerUnderTest(limits: limits)
        _ = server.open(1)
        let message = ByteBuffer(repeating: 0x41, count: 60 << 10)
        let compressed = try #require(MessageCompression.compress(message))
        #expect(compressed.readableBytes < 1 << 10)
        guard case .message(1, _, let size, _) = server.receive(Frame(type: .message, flags: .compressed, streamID: 1, payload: compressed)) else {
            Issue.record("first message refused"); return
        }
        #expect(size == 60 << 10)
        // 4 KiB of credit left: one more message may overdraw it, then the client must wait.
        _ = server.receive(Frame(type: .message, flags: .compressed, streamID: 1, payload: compressed))
        #expect(failureReason(server.receive(Frame(type: .message, flags: .compressed, streamID: 1, payload: compressed))) == .flowControl)

        // And the sender side charges what it sends before compressing (the client granted 16 KiB).
        var sender = ServerUnderTest()
        _ = sender.open(1, endStream: true)
        let frame = try sender.machine.messageFrame(1, message: ByteBuffer(repeating: 0, count: 16 << 10))
        #expect(frame.flags.contains(.compressed))
        #expect(!sender.machine.canSend(1))
    }

    @Test("a HELLO announcing a frame size or window too small to use is refused")
    func helloMinimums() {
        for (frame, window) in [(UInt32(1), UInt32(0)), (0, 1), (16383, 0)] {
            var machine = ConnectionStateMachine(role: .server)
            _ = machine.received(.preface(.current), now: .now())
            var hello = Dunlin_V1_Hello()
            hello.maxFrameSize = frame
            hello.initialWindow = window
            let action = machine.received(.frame(ConnectionStateMachine.protobufFrame(.hello, streamID: 0, hello)), now: .now())
            #expect(failureReason(action) == .handshake, "max_frame_size \(frame), initial_window \(window)")
        }
    }
}

@Suite("Per-message compression")
struct CompressionTests {
    @Test("a message round-trips through deflate")
    func roundTrip() throws {
        let text = ByteBuffer(string: String(repeating: "promise to pay 1,000.00 by Friday. ", count: 100))
        let compressed = try #require(MessageCompression.compress(text))
        #expect(try MessageCompression.decompress(compressed, maxSize: 1 << 20) == text)
    }

    @Test("messages are deflated at zlib's fastest level, which the stream's header records")
    func fastestLevel() throws {
        let compressed = try #require(MessageCompression.compress(ByteBuffer(string: String(repeating: "INV-0001234 2026-12-01 ", count: 200))))
        let header = try #require(compressed.getBytes(at: compressed.readerIndex, length: 2))
        // RFC 1950: CMF 0x78 (deflate, 32 KiB window); FLG's top two bits, FLEVEL, are 0 for
        // the fastest algorithm (level 1) and 2 for the default (level 6, FLG 0x9C).
        #expect(header == [0x78, 0x01])
    }

    @Test("a stream cut short is refused, even when its last four bytes pass for an Adler-32 (fuzzer regression)")
    func truncatedStoredBlock() throws {
        // 78 01 | stored block, not final, LEN 12 | 12 bytes | 3 bytes of the next block's header,
        // chosen to equal adler32 of the 12 bytes.
        let payload = ByteBuffer(bytes: hexBytes("7801000c00f3ff9260686f3bd3f0669072fd86284c06b3"))
        #expect(throws: ProtocolError.self) { try MessageCompression.decompress(payload, maxSize: 1 << 20) }
    }

    @Test("empty, truncated, corrupt and trailing-garbage payloads are refused")
    func malformed() throws {
        let good = try #require(MessageCompression.compress(ByteBuffer(string: String(repeating: "x", count: 2000))))
        var truncated = good
        truncated.moveWriterIndex(to: good.writerIndex - 1)
        var trailing = good
        trailing.writeInteger(UInt8(0))
        var corrupt = good
        corrupt.setInteger(UInt8(0xFF), at: good.readerIndex + 5)
        for payload in [ByteBuffer(), truncated, trailing, corrupt] {
            let error = #expect(throws: ProtocolError.self) { try MessageCompression.decompress(payload, maxSize: 1 << 20) }
            #expect(error?.reason == .compression)
        }
    }

    @Test("a bomb is refused once it inflates past the cap")
    func bomb() throws {
        let bomb = try #require(MessageCompression.compress(ByteBuffer(repeating: 0, count: 8 << 20)))
        // Over 200 to 1 at the fastest level, the level every side sends at.
        #expect(bomb.readableBytes < 40 << 10)
        let error = #expect(throws: ProtocolError.self) { try MessageCompression.decompress(bomb, maxSize: 4 << 20) }
        #expect(error?.reason == .messageTooLarge)
        // Exactly at the cap is fine; one byte over is not.
        let atCap = try #require(MessageCompression.compress(ByteBuffer(repeating: 7, count: 100_000)))
        #expect(try MessageCompression.decompress(atCap, maxSize: 100_000).readableBytes == 100_000)
        #expect(throws: ProtocolError.self) { try MessageCompression.decompress(atCap, maxSize: 99_999) }
    }
}

private func hexBytes(_ text: String) -> [UInt8] {
    var bytes: [UInt8] = []
    var index = text.startIndex
    while index < text.endIndex {
        let next = text.index(index, offsetBy: 2)
        bytes.append(UInt8(text[index..<next], radix: 16)!)
        index = next
    }
    return bytes
}
