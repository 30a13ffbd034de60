/// The limits one side of a connection enforces on what it receives. Every limit is checked
/// before the bytes it governs are allocated; every violation is a ``ProtocolError``.
public struct ConnectionLimits: Sendable, Hashable {
    /// Largest frame payload accepted, in bytes. Default 4 MiB. A header announcing more is refused
    /// before its body is read.
    public var maxFrameSize: Int
    /// Largest message after decompression, in bytes. Default 4 MiB.
    public var maxMessageSize: Int
    /// Largest HELLO, OPEN or GOAWAY payload (credentials, method, deadline and metadata). Default 8 KiB.
    public var maxMetadataSize: Int
    /// Calls open at once on one connection. Default 128. Opening one more is a protocol error.
    public var maxConcurrentStreams: Int
    /// Bytes of MESSAGE payload the peer may send on a stream before it is granted more.
    /// Default 1 MiB. Bounds what a stream can make the receiver buffer.
    public var initialWindow: Int
    /// A connection with no open call and no frame for this long is closed with GOAWAY. Default 300 s.
    public var idleTimeout: Duration
    /// Preface and HELLO must arrive within this. Default 10 s.
    public var handshakeTimeout: Duration
    /// A PING that arrives sooner than this after the previous one earns a strike. Default 5 s.
    public var minPingInterval: Duration
    /// Strikes tolerated before the connection is closed for ping abuse. Default 2.
    public var maxPingStrikes: Int

    public init(
        maxFrameSize: Int = 4 << 20,
        maxMessageSize: Int = 4 << 20,
        maxMetadataSize: Int = 8 << 10,
        maxConcurrentStreams: Int = 128,
        initialWindow: Int = 1 << 20,
        idleTimeout: Duration = .seconds(300),
        handshakeTimeout: Duration = .seconds(10),
        minPingInterval: Duration = .seconds(5),
        maxPingStrikes: Int = 2
    ) {
        self.maxFrameSize = maxFrameSize
        self.maxMessageSize = maxMessageSize
        self.maxMetadataSize = maxMetadataSize
        self.maxConcurrentStreams = maxConcurrentStreams
        self.initialWindow = initialWindow
        self.idleTimeout = idleTimeout
        self.handshakeTimeout = handshakeTimeout
        self.minPingInterval = minPingInterval
        self.maxPingStrikes = maxPingStrikes
    }

    /// The documented defaults.
    public static var defaults: ConnectionLimits { ConnectionLimits() }

    /// The protocol default for a frame size or window the peer left as 0.
    public static let defaultFrameSize = 4 << 20
    public static let defaultWindow = 1 << 20
    /// The smallest frame size and window a peer may announce: below them nothing useful fits.
    public static let minimumFrameSize = 16 << 10
    public static let minimumWindow = 16 << 10

    /// These limits as announced in WELCOME.
    public var wire: Dunlin_V1_Limits {
        var limits = Dunlin_V1_Limits()
        limits.maxFrameSize = UInt32(clamping: maxFrameSize)
        limits.maxMessageSize = UInt32(clamping: maxMessageSize)
        limits.maxMetadataSize = UInt32(clamping: maxMetadataSize)
        limits.maxConcurrentStreams = UInt32(clamping: maxConcurrentStreams)
        limits.initialWindow = UInt32(clamping: initialWindow)
        limits.idleTimeoutMs = UInt32(clamping: idleTimeout.milliseconds)
        limits.minPingIntervalMs = UInt32(clamping: minPingInterval.milliseconds)
        limits.handshakeTimeoutMs = UInt32(clamping: handshakeTimeout.milliseconds)
        return limits
    }
}

extension Duration {
    /// Whole milliseconds, rounded down.
    public var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }

    /// Whole microseconds, rounded down.
    public var microseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000 + attoseconds / 1_000_000_000_000
    }
}
