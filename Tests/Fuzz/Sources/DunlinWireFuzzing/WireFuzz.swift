import DunlinWire
import NIOCore

/// The fuzz harness over DunlinWire's inbound path. The first input byte picks a mode:
///
/// - `0` server connection: bytes 1-3 are runtime choices (chunking seed, policy flags, count),
///   the rest is what a client sends. They go through a server-side ``FrameDecoder`` in chunks,
///   then into a server ``ConnectionStateMachine``; compressed MESSAGE payloads also go through
///   the decompression check and HELLO/OPEN/GOAWAY/END payloads through the protobuf check.
/// - `1` decompression: byte 1 picks a cap, the rest is a compressed MESSAGE payload.
/// - `2` protobuf: byte 1 picks the message type, the rest is the payload.
/// - `3` client connection: as `0`, with the roles swapped (the rest is what a server sends).
///
/// Modes are taken modulo 4, so every byte value is some mode.
public enum WireFuzz {
    public static func run(_ input: UnsafeRawBufferPointer) {
        let bytes = Array(input.bindMemory(to: UInt8.self))
        guard let mode = bytes.first else { return }
        let rest = bytes[1...]
        switch mode % 4 {
        case 0: connection(rest, role: .server)
        case 1: decompression(rest)
        case 2: protobuf(rest)
        default: connection(rest, role: .client)
        }
    }

    /// Caps for the decompression mode: the edges, small caps, and the default limit.
    static let caps = [0, 1, 2, 15, 16, 64, 255, 256, 1024, 4096, 16 << 10, 65536, 1 << 20, 4 << 20]

    static func decompression(_ bytes: ArraySlice<UInt8>) {
        guard let capByte = bytes.first else { return }
        let payload = ByteBuffer(bytes: bytes.dropFirst())
        let cap = caps[Int(capByte) % caps.count]
        if case .success(let message) = CompressionCheck.check(payload, maxSize: cap) {
            CompressionCheck.roundTrip(message)
        }
    }

    static func protobuf(_ bytes: ArraySlice<UInt8>) {
        guard let typeByte = bytes.first else { return }
        let payload = ByteBuffer(bytes: bytes.dropFirst())
        let types: [FrameType] = [.hello, .open, .goAway, .end, .welcome]
        ProtobufCheck.check(payload, as: types[Int(typeByte) % types.count], render: true)
    }

    static func connection(_ bytes: ArraySlice<UInt8>, role: ConnectionStateMachine.Role) {
        guard bytes.count >= 3 else { return }
        let chunkSeed = bytes[bytes.startIndex]
        let policy = RuntimePolicy(bytes[bytes.startIndex + 1], bytes[bytes.startIndex + 2])
        let wire = bytes.dropFirst(3)
        let limits = policy.limits
        let driver = DecoderDriver(wire: wire, limits: FrameDecoder.Limits(limits), expectsPreface: role == .server)
        let plan = DecoderDriver.Plan(seed: chunkSeed, discardReadBytes: policy.discardReadBytes)

        // The decoder alone: splitting must not change what it yields.
        driver.checkChunkingIndependence(plan)

        // The decoder feeding the state machine, as the runtime wires them.
        var harness = ConnectionHarness(role: role, policy: policy, seed: chunkSeed, messageSource: wire.prefix(64))
        if role == .client {
            var hello = Dunlin_V1_Hello()
            hello.token = "fuzz-token"
            hello.clientVersion = "dunlin-fuzz/0"
            var handshake = harness.machine.clientHandshake(hello: hello)
            checkClientHandshake(&handshake)
        }
        _ = driver.run(plan) { item, range in
            if case .frame(let frame) = item { checkPayload(frame, limits: limits) }
            return harness.received(item, range: range)
        }
        harness.consumePending()
    }

    /// The payload checks that do not depend on the connection's state: every compressed MESSAGE
    /// goes through the decompression check (with a small cap and with the connection's), every
    /// HELLO/WELCOME/OPEN/END/GOAWAY through the protobuf check.
    static func checkPayload(_ frame: Frame, limits: ConnectionLimits) {
        switch frame.type {
        case .message where frame.flags.contains(.compressed):
            CompressionCheck.check(frame.payload, maxSize: 1024)
            CompressionCheck.check(frame.payload, maxSize: limits.maxMessageSize)
        case .hello, .welcome, .open, .end, .goAway:
            ProtobufCheck.check(frame.payload, as: frame.type)
        default:
            break
        }
    }

    /// What a client sends first decodes, on a server, to the current preface and a HELLO.
    static func checkClientHandshake(_ bytes: inout ByteBuffer) {
        var server = FrameDecoder(expectsPreface: true)
        do throws(ProtocolError) {
            let preface = try server.next(from: &bytes)
            let hello = try server.next(from: &bytes)
            Oracle.require(preface == .preface(.current), "outbound", "the client's handshake does not start with the current preface")
            guard case .frame(let frame)? = hello, frame.type == .hello,
                (try? Dunlin_V1_Hello(buffer: frame.payload)) != nil, bytes.readableBytes == 0
            else {
                Oracle.require(false, "outbound", "the client's handshake is not preface + HELLO")
                return
            }
        } catch {
            Oracle.require(false, "outbound", "a server refuses the client's handshake: \(error)")
        }
    }
}
