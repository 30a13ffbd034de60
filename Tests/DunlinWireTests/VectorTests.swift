import DunlinWire
import Foundation
import NIOCore
import NIOTestUtils
import SwiftProtobuf
import Testing

/// Runs the golden vectors of `Protocol/vectors/vectors.json` through Dunlin's decoder, state
/// machine and encoder. The vectors come from an independent Python implementation
/// (`Protocol/vectors/generate.py`), so a test here that passes means Dunlin and that
/// implementation agree on the bytes of PROTOCOL.md, and a client in another language can be
/// checked against the same file.
@Suite("Golden wire vectors")
struct VectorTests {
    @Test("the vectors load, and valid ones cover every frame type on both sides")
    func coverage() throws {
        let vectors = try GoldenVector.all()
        let valid = vectors.filter { $0.frames != nil }
        #expect(valid.count + vectors.filter { $0.error != nil }.count == vectors.count)
        let types = Set(valid.flatMap { $0.frames ?? [] }.compactMap(\.typeCode))
        for type in FrameType.allCases {
            #expect(types.contains(type.rawValue), "no valid vector carries a \(type) frame")
        }
        #expect(Set(vectors.map(\.side)) == [.server, .client])
    }

    @Test("a valid vector decodes to exactly the preface and frames it lists", arguments: try GoldenVector.valid())
    func decodesToItsFrames(_ vector: GoldenVector) throws {
        let expected = try #require(vector.frames)
        var decoder = FrameDecoder(limits: FrameDecoder.Limits(.defaults), expectsPreface: vector.side == .server)
        var buffer = ByteBuffer(bytes: try vector.bytes())
        var items: [InboundItem] = []
        while let item = try decoder.next(from: &buffer) {
            items.append(item)
        }
        try decoder.finish(leftover: buffer)
        #expect(buffer.readableBytes == 0)
        try #require(items.count == expected.count, "decoded \(items.count) items, the vector lists \(expected.count)")

        for (item, want) in zip(items, expected) {
            switch item {
            case .preface(let preface):
                #expect(want.kind == "preface")
                #expect(preface.minVersion == want.min)
                #expect(preface.maxVersion == want.max)
            case .frame(let frame):
                #expect(want.kind == "frame")
                #expect(frame.type.rawValue == want.typeCode)
                #expect(frame.type.description == want.type)
                #expect(frame.flags.rawValue == want.flags)
                #expect(frame.flags.contains(.endStream) == want.flagNames?.contains("END_STREAM"))
                #expect(frame.flags.contains(.compressed) == want.flagNames?.contains("COMPRESSED"))
                #expect(frame.streamID == want.stream)
                #expect(Array(frame.payload.readableBytesView) == (try want.payload()))
                if let increment = want.increment {
                    #expect(frame.payload.getInteger(at: frame.payload.readerIndex, as: UInt32.self) == increment)
                }
            }
        }
    }

    @Test(
        "a valid vector's protobuf payloads decode to the fields it lists and re-serialise to the same bytes",
        arguments: try GoldenVector.valid()
    )
    func payloadsMatchTheirFields(_ vector: GoldenVector) throws {
        for item in vector.frames ?? [] {
            guard let typeName = item.messageType, let fields = item.message else { continue }
            let type = try #require(ProtobufTypes.named(typeName), "no Swift type for \(typeName)")
            var message = try item.payload()
            if let decompressedHex = item.decompressedHex {
                #expect(item.flags.map { FrameFlags(rawValue: $0).contains(.compressed) } == true)
                let inflated = try MessageCompression.decompress(
                    ByteBuffer(bytes: message), maxSize: ConnectionLimits.defaults.maxMessageSize
                )
                message = Array(inflated.readableBytesView)
                #expect(message == (try [UInt8](hex: decompressedHex)))
            }
            try ProtobufTypes.expect(type, bytes: message, toMatch: try fields.jsonString())
        }
    }

    @Test("encoding a valid vector's listed items reproduces its bytes exactly", arguments: try GoldenVector.valid())
    func encodesToItsBytes(_ vector: GoldenVector) throws {
        var encoded = ByteBuffer()
        for item in try #require(vector.frames) {
            if item.kind == "preface" {
                let low = try #require(item.min)
                let high = try #require(item.max)
                Preface(minVersion: low, maxVersion: high).write(into: &encoded)
            } else {
                let code = try #require(item.typeCode)
                let type = try #require(FrameType(rawValue: code))
                let flags = try #require(item.flags)
                let stream = try #require(item.stream)
                let frame = Frame(
                    type: type, flags: FrameFlags(rawValue: flags), streamID: stream,
                    payload: ByteBuffer(bytes: try item.payload())
                )
                frame.write(into: &encoded)
            }
        }
        #expect(Array(encoded.readableBytesView) == (try vector.bytes()))
    }

    @Test(
        "a valid vector passes the connection state machine with no protocol error and delivers each message",
        arguments: try GoldenVector.valid()
    )
    func passesTheStateMachine(_ vector: GoldenVector) throws {
        var connection = VectorConnection(vector)
        let error = try connection.run(try vector.bytes())
        #expect(error == nil)

        let delivered = connection.actions.compactMap { action -> [UInt8]? in
            guard case .message(_, let message, _, _) = action else { return nil }
            return Array(message.readableBytesView)
        }
        let sent = try (vector.frames ?? []).filter { $0.typeCode == FrameType.message.rawValue }.map { item in
            try item.decompressedHex.map { try [UInt8](hex: $0) } ?? item.payload()
        }
        #expect(delivered == sent)
    }

    @Test(
        "the NIO frame decoder yields a valid vector's frames byte by byte, in chunks and in one lump",
        arguments: try GoldenVector.valid()
    )
    func decodesInAnyChunking(_ vector: GoldenVector) throws {
        // The verifier feeds every pair several times over one decoder, so the preface, which comes
        // once per connection, stays out: each frame is a pair of its own.
        var buffer = ByteBuffer(bytes: try vector.bytes())
        var prefaceDecoder = FrameDecoder(expectsPreface: vector.side == .server)
        if vector.side == .server {
            _ = try prefaceDecoder.next(from: &buffer)
        }
        var pairs: [(ByteBuffer, [InboundItem])] = []
        var frameDecoder = FrameDecoder(expectsPreface: false)
        while true {
            var frameBytes = buffer
            guard let item = try frameDecoder.next(from: &buffer) else { break }
            frameBytes.moveWriterIndex(to: buffer.readerIndex)
            pairs.append((frameBytes, [item]))
        }
        #expect(buffer.readableBytes == 0)
        try ByteToMessageDecoderVerifier.verifyDecoder(inputOutputPairs: pairs) {
            FrameByteDecoder(FrameDecoder(expectsPreface: false))
        }
    }

    @Test(
        "an invalid vector is refused with the reason, byte offset and stream it names",
        arguments: try GoldenVector.invalid()
    )
    func isRefused(_ vector: GoldenVector) throws {
        let check = {
            let expected = try #require(vector.error)
            var connection = VectorConnection(vector)
            let error = try #require(try connection.run(try vector.bytes()), "the input was accepted")
            #expect(error.reason == (try expected.goAwayReason()), "\(error)")
            #expect(error.byteOffset == expected.byteOffset, "\(error)")
            #expect(error.streamID == expected.stream, "\(error)")
        }
        if let issue = KnownIssues.byVector[vector.name] {
            withKnownIssue(Comment(rawValue: issue)) { try check() }
        } else {
            try check()
        }
    }
}

/// Vectors on which Sources/DunlinWire disagrees with PROTOCOL.md today, each with the bug. A
/// fixed bug makes its `withKnownIssue` fail, so the entry must then be removed.
enum KnownIssues {
    static let byVector: [String: String] = [:
    ]
}

// MARK: - The vector file

/// One vector of `vectors.json`; `generate.py`'s docstring describes every field.
struct GoldenVector: Decodable, Sendable, CustomTestStringConvertible {
    enum Side: String, Decodable, Sendable {
        case server
        case client
    }

    /// One decoded item: a preface or a frame.
    struct Item: Decodable, Sendable {
        var kind: String
        var min: UInt16?
        var max: UInt16?
        var type: String?
        var typeCode: UInt8?
        var flags: UInt8?
        var flagNames: [String]?
        var stream: UInt32?
        var payloadHex: String?
        var messageType: String?
        var message: JSONValue?
        var decompressedHex: String?
        var increment: UInt32?

        enum CodingKeys: String, CodingKey {
            case kind, min, max, type, flags, stream, message, increment
            case typeCode = "type_code"
            case flagNames = "flag_names"
            case payloadHex = "payload_hex"
            case messageType = "message_type"
            case decompressedHex = "decompressed_hex"
        }

        func payload() throws -> [UInt8] {
            try [UInt8](hex: payloadHex ?? "")
        }
    }

    /// The protocol error a receiver must raise.
    struct ExpectedError: Decodable, Sendable {
        var reason: String
        var byteOffset: UInt64
        var stream: UInt32

        enum CodingKeys: String, CodingKey {
            case reason, stream
            case byteOffset = "byte_offset"
        }

        /// The reason, looked up by its protobuf name, so a misspelt name fails rather than matching nothing.
        func goAwayReason() throws -> Dunlin_V1_GoAwayReason {
            try Dunlin_V1_GoAway(jsonString: #"{"reason": "\#(reason)"}"#).reason
        }
    }

    var name: String
    var description: String
    var side: Side
    var hex: String
    var clientStreams: [UInt32]?
    var frames: [Item]?
    var error: ExpectedError?

    enum CodingKeys: String, CodingKey {
        case name, description, side, hex, frames, error
        case clientStreams = "client_streams"
    }

    var testDescription: String { name }

    func bytes() throws -> [UInt8] {
        try [UInt8](hex: hex)
    }

    /// `Protocol/vectors/vectors.json`, found from this file's own path: the tests read the
    /// committed file itself, not a copy.
    static let fileURL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // DunlinWireTests
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()  // the package
        .appendingPathComponent("Protocol/vectors/vectors.json")

    static func all() throws -> [GoldenVector] {
        struct File: Decodable {
            var vectors: [GoldenVector]
        }
        return try JSONDecoder().decode(File.self, from: Data(contentsOf: fileURL)).vectors
    }

    static func valid() throws -> [GoldenVector] {
        try all().filter { $0.frames != nil }
    }

    static func invalid() throws -> [GoldenVector] {
        try all().filter { $0.error != nil }
    }
}

/// A JSON value kept as it is, so a vector's protobuf fields can be handed to SwiftProtobuf's
/// JSON decoder.
indirect enum JSONValue: Codable, Sendable {
    case null
    case integer(Int64)
    case number(Double)
    case bool(Bool)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: any Swift.Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Int64.self) {
            self = .integer(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    func encode(to encoder: any Swift.Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .integer(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .bool(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    func jsonString() throws -> String {
        String(decoding: try JSONEncoder().encode(self), as: UTF8.self)
    }
}

extension [UInt8] {
    /// Bytes from lower- or upper-case hex digits, two per byte.
    init(hex: String) throws {
        let digits = Array(hex.utf8)
        guard digits.count.isMultiple(of: 2) else { throw HexError(text: hex) }
        self = try stride(from: 0, to: digits.count, by: 2).map { index in
            guard let high = hexValue(digits[index]), let low = hexValue(digits[index + 1]) else {
                throw HexError(text: hex)
            }
            return high << 4 | low
        }
    }
}

private func hexValue(_ digit: UInt8) -> UInt8? {
    switch digit {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
    default: nil
    }
}

struct HexError: Error, CustomStringConvertible {
    var text: String
    var description: String { "not an even number of hex digits: \(text.prefix(40))" }
}

// MARK: - Protobuf payloads

/// The Swift type of each `dunlin.v1` message, by its protobuf name.
enum ProtobufTypes {
    static func named(_ name: String) -> (any SwiftProtobuf.Message.Type)? {
        let types: [any SwiftProtobuf.Message.Type] = [
            Dunlin_V1_Hello.self, Dunlin_V1_Limits.self, Dunlin_V1_Principal.self, Dunlin_V1_Welcome.self,
            Dunlin_V1_MetadataEntry.self, Dunlin_V1_CallOpen.self, Dunlin_V1_ErrorDetail.self,
            Dunlin_V1_Status.self, Dunlin_V1_GoAway.self, Dunlin_V1_PingRequest.self,
            Dunlin_V1_PingResponse.self, Dunlin_V1_InfoRequest.self, Dunlin_V1_InfoResponse.self,
            Dunlin_V1_EchoRequest.self, Dunlin_V1_EchoResponse.self, Dunlin_V1_EchoStreamRequest.self,
            Dunlin_V1_SumRequest.self, Dunlin_V1_SumResponse.self,
        ]
        return types.first { $0.protoMessageName == name }
    }

    /// Checks that `bytes` decode as `M` to the message `json` describes, and that Swift's
    /// encoding of it is byte for byte the one the vector carries.
    static func expect<M: SwiftProtobuf.Message>(
        _ type: M.Type, bytes: [UInt8], toMatch json: String, sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let decoded = try M(serializedBytes: bytes)
        let expected = try M(jsonString: json)
        #expect(
            decoded.isEqualTo(message: expected),
            "decoded \(decoded.textFormatString()), the vector lists \(expected.textFormatString())",
            sourceLocation: sourceLocation
        )
        let reencoded: [UInt8] = try decoded.serializedBytes()
        #expect(reencoded == bytes, sourceLocation: sourceLocation)
    }
}

// MARK: - Driving a connection

/// One side of a connection reading a vector: the frame decoder, then the connection state
/// machine, with the runtime's part played as the vectors assume it (the server accepts the
/// credential in HELLO; the client sent its preface and HELLO first, and opens `client_streams`
/// once WELCOME is in).
struct VectorConnection {
    var decoder: FrameDecoder
    var machine: ConnectionStateMachine
    let clientStreams: [UInt32]
    private(set) var actions: [ConnectionStateMachine.Action] = []

    init(_ vector: GoldenVector) {
        let limits = ConnectionLimits.defaults
        decoder = FrameDecoder(limits: FrameDecoder.Limits(limits), expectsPreface: vector.side == .server)
        machine = ConnectionStateMachine(role: vector.side == .server ? .server : .client, limits: limits)
        clientStreams = vector.clientStreams ?? []
        if vector.side == .client {
            var hello = Dunlin_V1_Hello()
            hello.token = "dk_live_7Hq2xV9c"
            _ = machine.clientHandshake(hello: hello)
        }
    }

    /// Reads `bytes`, then the peer's close; returns the first protocol error, or nil when the
    /// bytes were accepted whole.
    mutating func run(_ bytes: [UInt8]) throws -> ProtocolError? {
        var buffer = ByteBuffer(bytes: bytes)
        // Frames arrive ten seconds apart: no ping counts as abuse.
        var now = NIODeadline.uptimeNanoseconds(1_000_000_000_000)
        while true {
            let item: InboundItem
            do throws(ProtocolError) {
                guard let next = try decoder.next(from: &buffer) else { break }
                item = next
            } catch {
                return error
            }
            now = now + .seconds(10)
            let action = machine.received(item, now: now)
            actions.append(action)
            switch action {
            case .fail(let error, _):
                return error
            case .authenticate:
                var principal = Dunlin_V1_Principal()
                principal.id = "u-17"
                principal.role = "analyst"
                let welcome = machine.authenticated(principal: principal, serverVersion: "0.1.0", connectionID: "c1")
                #expect(welcome != nil)
            case .welcomed:
                for id in clientStreams {
                    #expect(try machine.openStream() == id)
                }
            default:
                break
            }
        }
        do throws(ProtocolError) {
            try decoder.finish(leftover: buffer)
        } catch {
            return error
        }
        return nil
    }
}
