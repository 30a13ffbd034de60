import DunlinClient
import DunlinServer
import DunlinServices
import DunlinTLS
import DunlinWire
import Foundation
import NIOCore
import Testing

/// One hostile or malformed input, and the GOAWAY reason it must earn.
struct BadInput: Sendable, CustomTestStringConvertible {
    var name: String
    var expected: Dunlin_V1_GoAwayReason?  // nil: the server just closes (the client already went away)
    var authenticate = true
    var send: @Sendable (RawConnection) async throws -> Void

    var testDescription: String { name }

    static let all: [BadInput] = [
        BadInput(name: "wrong magic", expected: .badPreface, authenticate: false) { raw in
            try await raw.send(ByteBuffer(string: "GET / HTTP/1.1\r\nHost: dunlin\r\n\r\n"))
        },
        BadInput(name: "unsupported version range", expected: .unsupportedVersion, authenticate: false) { raw in
            var buffer = ByteBuffer()
            Preface(minVersion: 2, maxVersion: 3).write(into: &buffer)
            try await raw.send(buffer)
        },
        BadInput(name: "a frame other than HELLO after the preface", expected: .handshake, authenticate: false) { raw in
            var buffer = ByteBuffer()
            Preface.current.write(into: &buffer)
            Frame.open(1, Diagnostics.echo.path).write(into: &buffer)
            try await raw.send(buffer)
        },
        BadInput(name: "a length over the limit, refused before the body is sent", expected: .frameTooLarge) { raw in
            var header = ByteBuffer()
            Frame.writeHeader(type: .message, streamID: 1, length: (4 << 20) + 1, into: &header)
            try await raw.send(header)
        },
        BadInput(name: "an unknown frame type", expected: .unknownFrameType) { raw in
            var buffer = ByteBuffer()
            buffer.writeMultipleIntegers(UInt32(0), UInt8(0x7F), UInt8(0), UInt32(1))
            try await raw.send(buffer)
        },
        BadInput(name: "a flag the frame type does not take", expected: .badFrame) { raw in
            var buffer = ByteBuffer()
            buffer.writeMultipleIntegers(UInt32(8), FrameType.ping.rawValue, UInt8(0x80), UInt32(0))
            buffer.writeInteger(UInt64(1))
            try await raw.send(buffer)
        },
        BadInput(name: "a MESSAGE on a stream never opened", expected: .streamState) { raw in
            try await raw.send(.message(5, Dunlin_V1_EchoRequest()))
        },
        BadInput(name: "a MESSAGE after the client half-closed the stream", expected: .streamState) { raw in
            let request = Dunlin_V1_EchoRequest.with { $0.payload = Data("half".utf8) }
            try await raw.send(.open(1, ProbeService.hang.path), .message(1, request, flags: .endStream))
            try await raw.send(.message(1, request))
        },
        BadInput(name: "an OPEN whose id does not increase", expected: .streamState) { raw in
            let request = Dunlin_V1_EchoRequest.with { $0.payload = Data("ids".utf8) }
            try await raw.send(.open(7, ProbeService.hang.path), .message(7, request, flags: .endStream), .open(3, Diagnostics.ping.path))
        },
        BadInput(name: "corrupt deflate data", expected: .compression) { raw in
            try await raw.send(
                .open(1, Diagnostics.sum.path),
                Frame(type: .message, flags: .compressed, streamID: 1, payload: ByteBuffer(bytes: [0x78, 0x9C, 0xDE, 0xAD, 0xBE, 0xEF]))
            )
        },
        BadInput(name: "a message that inflates past the limit", expected: .messageTooLarge) { raw in
            let bomb = MessageCompression.compress(ByteBuffer(repeating: 0, count: 8 << 20))!
            try await raw.send(.open(1, Diagnostics.sum.path), Frame(type: .message, flags: .compressed, streamID: 1, payload: bomb))
        },
        BadInput(name: "undecodable protobuf in OPEN", expected: .malformedMessage) { raw in
            try await raw.send(Frame(type: .open, streamID: 1, payload: ByteBuffer(bytes: [0x0A, 0xFF, 0x01])))
        },
        BadInput(name: "undecodable protobuf in a request", expected: .malformedMessage) { raw in
            try await raw.send(
                .open(1, Diagnostics.echo.path),
                Frame(type: .message, flags: .endStream, streamID: 1, payload: ByteBuffer(bytes: [0x0A, 0x20, 0x01]))
            )
        },
        BadInput(name: "more concurrent streams than allowed", expected: .tooManyStreams) { raw in
            for id in UInt32(1)...5 {
                let request = Dunlin_V1_EchoRequest.with { $0.payload = Data("slot-\(id)".utf8) }
                try await raw.send(.open(id, ProbeService.hang.path), .message(id, request, flags: .endStream))
            }
        },
        BadInput(name: "a truncated frame, then EOF", expected: nil) { raw in
            var buffer = Frame.message(1, Dunlin_V1_EchoRequest.with { $0.payload = Data(repeating: 1, count: 100) }).encoded()
            buffer.moveWriterIndex(to: 40)
            try await raw.send(buffer)
            try await raw.channel.close(mode: .output)
        },
    ]
}

/// Plain TCP, or TLS: every hostile input is tried both ways (issue 15), since inside TLS the
/// frames reach the same decoder by another path.
enum Transport: String, Sendable, CaseIterable, CustomTestStringConvertible {
    case plain, tls

    var testDescription: String { rawValue }

    /// The server's identity for the TLS runs: one self-signed certificate for the process.
    static let identity: ServerTLS = {
        try! TestCertificates().server("bad-input").tls
    }()

    var serverTLS: ServerTLS? { self == .tls ? Self.identity : nil }
}

@Suite("Bad input closes only the offending connection", .timingSensitive, .timeLimit(.minutes(10)))
struct BadInputTests {
    static var limits: ConnectionLimits {
        var limits = ConnectionLimits.defaults
        limits.maxConcurrentStreams = 4
        return limits
    }

    /// Runs one bad input on a fresh connection and checks its GOAWAY and the close.
    static func check(_ input: BadInput, port: Int, transport: Transport = .plain) async throws {
        let raw = try await RawConnection.connect(port: port, tls: transport == .tls)
        if input.authenticate { _ = try await raw.handshake() }
        try await input.send(raw)
        if let expected = input.expected {
            let goAway = try await raw.goAway()
            #expect(goAway.reason == expected, "\(input.name)")
            #expect(!goAway.message.isEmpty, "\(input.name): GOAWAY names what was wrong")
            #expect(goAway.code != StatusCode.ok.rawValue)
        }
        try await raw.waitClosed()
        await raw.close()
    }

    @Test("each bad input gets its GOAWAY reason and a close, in plain TCP and inside TLS", arguments: BadInput.all, Transport.allCases)
    func badInput(_ input: BadInput, transport: Transport) async throws {
        let server = try await TestServer.start(limits: Self.limits, tls: transport.serverTLS)
        try await Self.check(input, port: server.port, transport: transport)
        try await server.stop()
    }

    @Test("a good connection keeps answering while others send every kind of bad input", arguments: Transport.allCases)
    func goodConnectionSurvives(_ transport: Transport) async throws {
        let server = try await TestServer.start(limits: Self.limits, tls: transport.serverTLS)
        let client = server.client(tls: transport == .tls ? ClientTLS(trust: .pinned(try Transport.identity.fingerprint())) : nil)
        let before = try await client.connect()
        var request = Dunlin_V1_EchoRequest()
        request.payload = Data("still here".utf8)
        for input in BadInput.all {
            try await Self.check(input, port: server.port, transport: transport)
            let response = try await client.unary(Diagnostics.echo, request)
            #expect(response.payload == request.payload, "after \(input.name)")
        }
        // The same connection throughout: nothing the others did reached it.
        #expect(try await client.connect().connectionID == before.connectionID)
        await client.close()
        try await server.stop()
    }

    @Test("GOAWAY for a malformed frame names the offset of the offending byte")
    func offsetReported() async throws {
        let server = try await TestServer.start(limits: Self.limits)
        let raw = try await RawConnection.connect(port: server.port)
        _ = try await raw.handshake()
        // Preface (8) + HELLO (10 + its payload) come first; the bad frame follows them.
        var hello = Dunlin_V1_Hello()
        hello.token = "good-token"
        hello.acceptCompression = ["deflate"]
        let helloSize = try hello.serializedBuffer().readableBytes
        var buffer = ByteBuffer()
        buffer.writeMultipleIntegers(UInt32(0), UInt8(0x7F), UInt8(0), UInt32(1))
        try await raw.send(buffer)
        let goAway = try await raw.goAway()
        #expect(goAway.reason == .unknownFrameType)
        #expect(goAway.byteOffset == UInt64(8 + 10 + helloSize + 4))  // the type byte
        await raw.close()
        try await server.stop()
    }
}
