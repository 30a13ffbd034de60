/// A connection-level protocol violation: the connection that produced it is sent a GOAWAY
/// carrying this reason and closed. Other connections are untouched.
public struct ProtocolError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Why the connection is being closed (sent as `GoAway.reason`).
    public var reason: Dunlin_V1_GoAwayReason
    /// What was wrong, for people: names the frame, field or limit.
    public var message: String
    /// Offset of the offending byte in the inbound byte stream (preface included), when known.
    public var byteOffset: UInt64
    /// The stream the error concerns; 0 for the connection itself.
    public var streamID: UInt32

    public init(_ reason: Dunlin_V1_GoAwayReason, _ message: String, byteOffset: UInt64 = 0, streamID: UInt32 = 0) {
        self.reason = reason
        self.message = message
        self.byteOffset = byteOffset
        self.streamID = streamID
    }

    /// The status code a script sees for this reason.
    public var code: StatusCode {
        switch reason {
        case .noError: .unavailable
        case .unauthenticated: .unauthenticated
        case .frameTooLarge, .messageTooLarge, .tooManyStreams, .pingAbuse, .flowControl: .resourceExhausted
        case .handshakeTimeout, .idleTimeout, .keepaliveTimeout: .unavailable
        case .unsupportedVersion, .upgradeRequired: .failedPrecondition
        case .internal: .internal
        default: .invalidArgument
        }
    }

    /// The GOAWAY payload announcing this error.
    public func goAway(lastStreamID: UInt32) -> Dunlin_V1_GoAway {
        var goAway = Dunlin_V1_GoAway()
        goAway.lastStreamID = lastStreamID
        goAway.reason = reason
        goAway.code = code.rawValue
        goAway.message = message
        goAway.byteOffset = byteOffset
        goAway.streamID = streamID
        return goAway
    }

    public var description: String {
        var text = "\(reason): \(message)"
        if byteOffset > 0 { text += " (at byte \(byteOffset))" }
        if streamID > 0 { text += " (stream \(streamID))" }
        return text
    }
}
