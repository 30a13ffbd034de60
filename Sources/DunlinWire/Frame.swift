import NIOCore

/// The kind of a frame: the byte after the length in every frame header.
///
/// Values are fixed forever; a new kind gets a new value and a new protocol version.
public enum FrameType: UInt8, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// Client -> server, stream 0: credentials and client capabilities (`Hello`).
    case hello = 0x01
    /// Server -> client, stream 0: the negotiated version, limits and principal (`Welcome`).
    case welcome = 0x02
    /// Client -> server, new stream: method, deadline and metadata (`CallOpen`).
    case open = 0x03
    /// Either direction, open stream: one protobuf message, possibly compressed.
    case message = 0x04
    /// Client -> server, open stream: the client sends no more messages on this stream.
    case halfClose = 0x05
    /// Server -> client, open stream: the call's final status (`Status`); the stream is closed.
    case end = 0x06
    /// Client -> server, open stream: the client abandons the call; the server stops it.
    case cancel = 0x07
    /// Either direction, stream 0: eight opaque bytes the peer echoes in a PONG.
    case ping = 0x08
    /// Either direction, stream 0: the eight bytes of the PING it answers.
    case pong = 0x09
    /// Either direction, stream 0: the sender is closing the connection (`GoAway`).
    case goAway = 0x0A
    /// Either direction, open stream: a big-endian u32 of receive credit, in bytes.
    case window = 0x0B

    public var description: String {
        switch self {
        case .hello: "HELLO"
        case .welcome: "WELCOME"
        case .open: "OPEN"
        case .message: "MESSAGE"
        case .halfClose: "HALF_CLOSE"
        case .end: "END"
        case .cancel: "CANCEL"
        case .ping: "PING"
        case .pong: "PONG"
        case .goAway: "GOAWAY"
        case .window: "WINDOW"
        }
    }

    /// Whether frames of this type travel on stream 0 (the connection) rather than on a call's stream.
    public var isConnectionLevel: Bool {
        switch self {
        case .hello, .welcome, .ping, .pong, .goAway: true
        case .open, .message, .halfClose, .end, .cancel, .window: false
        }
    }

    /// The flag bits a frame of this type may carry; any other bit set is a protocol error.
    public var allowedFlags: FrameFlags {
        switch self {
        case .message: [.endStream, .compressed]
        case .open: [.endStream]
        default: []
        }
    }
}

/// The flags byte of a frame header.
public struct FrameFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// On OPEN or MESSAGE from the client: this is the last thing the client sends on the stream
    /// (a HALF_CLOSE folded into the frame). On MESSAGE from the server: not used.
    public static let endStream = FrameFlags(rawValue: 0x01)
    /// On MESSAGE: the payload is a zlib (RFC 1950) stream of the message.
    public static let compressed = FrameFlags(rawValue: 0x02)
}

/// A decoded frame: a header and a payload that is exactly `length` bytes.
public struct Frame: Sendable, Hashable {
    /// Bytes in a frame header: u32 length, u8 type, u8 flags, u32 stream id.
    public static let headerSize = 10

    public var type: FrameType
    public var flags: FrameFlags
    public var streamID: UInt32
    public var payload: ByteBuffer

    public init(type: FrameType, flags: FrameFlags = [], streamID: UInt32 = 0, payload: ByteBuffer = ByteBuffer()) {
        self.type = type
        self.flags = flags
        self.streamID = streamID
        self.payload = payload
    }
}

/// The eight bytes a client sends before its first frame: "DNLN", then the lowest and highest
/// protocol versions it speaks, each a big-endian u16.
public struct Preface: Sendable, Hashable {
    public static let magic: (UInt8, UInt8, UInt8, UInt8) = (0x44, 0x4E, 0x4C, 0x4E)  // "DNLN"
    public static let size = 8

    public var minVersion: UInt16
    public var maxVersion: UInt16

    public init(minVersion: UInt16, maxVersion: UInt16) {
        self.minVersion = minVersion
        self.maxVersion = maxVersion
    }

    /// The range this build speaks.
    public static let current = Preface(minVersion: ProtocolVersion.minimum, maxVersion: ProtocolVersion.maximum)

    public func write(into buffer: inout ByteBuffer) {
        buffer.writeMultipleIntegers(
            Self.magic.0, Self.magic.1, Self.magic.2, Self.magic.3, minVersion, maxVersion,
            endianness: .big
        )
    }
}

/// Protocol versions this build speaks.
public enum ProtocolVersion {
    public static let minimum: UInt16 = 1
    public static let maximum: UInt16 = 1

    /// The highest version both ranges contain, or nil when they do not overlap.
    public static func negotiate(_ preface: Preface) -> UInt16? {
        let high = min(maximum, preface.maxVersion)
        let low = max(minimum, preface.minVersion)
        return high >= low ? high : nil
    }
}
