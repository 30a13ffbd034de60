import NIOCore
import SwiftProtobuf

/// The protocol logic of one connection, for either side, as a value: frames and local events
/// in, actions out. It performs no I/O and keeps no clock (times are passed in), so every rule
/// in PROTOCOL.md is tested by driving it directly.
///
/// It owns the handshake, stream ids and their life, flow-control credit in both directions,
/// per-message compression, ping abuse and GOAWAY. The runtime (DunlinServer, DunlinClient)
/// owns sockets, timers and handler tasks.
public struct ConnectionStateMachine: Sendable {
    public enum Role: Sendable, Hashable {
        case server
        case client
    }

    /// Where the connection is in its life.
    public enum Phase: Sendable, Hashable {
        /// Server: waiting for the client's preface.
        case awaitingPreface
        /// Server: preface accepted, waiting for HELLO.
        case awaitingHello(version: UInt16)
        /// Server: HELLO received, its credential is being checked.
        case authenticating(version: UInt16)
        /// Client: preface and HELLO sent, waiting for WELCOME.
        case awaitingWelcome
        /// Handshake complete: calls may flow.
        case active
        /// GOAWAY sent or received, or the connection failed: nothing more is read.
        case closed
    }

    /// What the runtime must do after an inbound item.
    public enum Action: Sendable {
        case none
        /// Server: check this HELLO's credential, then call `authenticated(...)` or `authenticationFailed(...)`.
        case authenticate(Dunlin_V1_Hello)
        /// Client: the handshake is complete.
        case welcomed(Dunlin_V1_Welcome)
        /// Server: start a call. `endStream` means no request message will follow.
        case openCall(streamID: UInt32, open: Dunlin_V1_CallOpen, endStream: Bool)
        /// Server: a call opened after GOAWAY; answer it with this END and do not run it.
        case refuseCall(streamID: UInt32, end: Frame)
        /// One message for a call, already decompressed. Call `consumed(...)` once it has been used.
        case message(streamID: UInt32, message: ByteBuffer, size: Int, endStream: Bool)
        /// Server: the client sends no more messages on this call.
        case halfClosed(streamID: UInt32)
        /// Client: the call is over with this status.
        case ended(streamID: UInt32, status: Dunlin_V1_Status)
        /// Server: the client abandoned this call; stop its handler, send nothing more.
        case cancelled(streamID: UInt32)
        /// Answer a ping with this frame.
        case sendPong(Frame)
        /// A PONG for one of our pings.
        case pongReceived(ByteBuffer)
        /// The stream may send again: credit went from none to some.
        case creditAvailable(streamID: UInt32)
        /// The peer is closing the connection.
        case peerGoingAway(Dunlin_V1_GoAway)
        /// A protocol violation: write `goAway`, then close the connection.
        case fail(ProtocolError, goAway: Frame)
    }

    struct StreamState: Sendable {
        /// The peer will send no more messages (client half-closed, or server ended).
        var peerHalfClosed = false
        /// We will send no more messages.
        var localHalfClosed = false
        /// Bytes we may still send before the peer grants more. May go negative by one message.
        var sendCredit: Int
        /// Bytes the peer may still send before we grant more.
        var receiveCredit: Int
        /// Bytes consumed by the application and not yet returned to the peer with WINDOW.
        var unreturned = 0
    }

    public let role: Role
    /// What we enforce on what we receive.
    public let limits: ConnectionLimits
    /// Whether we compress outbound messages when the peer accepts it.
    public var compressOutbound: Bool
    /// Messages below this size are not worth compressing.
    public var compressionThreshold: Int = MessageCompression.defaultThreshold

    public private(set) var phase: Phase
    public private(set) var negotiatedVersion: UInt16 = 0

    /// What the peer told us about itself.
    public private(set) var peerMaxFrameSize = ConnectionLimits.defaultFrameSize
    public private(set) var peerMaxMessageSize = ConnectionLimits.defaultFrameSize
    public private(set) var peerMaxConcurrentStreams = 128
    public private(set) var peerInitialWindow = ConnectionLimits.defaultWindow
    public private(set) var peerMaxMetadataSize = 8 << 10
    public private(set) var peerAcceptsDeflate = false

    private var streams: [UInt32: StreamState] = [:]
    /// The highest stream id opened on this connection; ids never go back.
    public private(set) var highestStreamID: UInt32 = 0
    /// Server: set once GOAWAY went out; OPENs above it are refused.
    public private(set) var goAwayLastStreamID: UInt32?
    /// Client: set once a GOAWAY came in; no new stream may open.
    public private(set) var peerGoAway: Dunlin_V1_GoAway?

    private var inboundOffset: UInt64 = 0
    private var lastPingReceived: NIODeadline?
    private var pingStrikes = 0

    public init(role: Role, limits: ConnectionLimits = .defaults, compressOutbound: Bool = true) {
        self.role = role
        self.limits = limits
        self.compressOutbound = compressOutbound
        self.phase = role == .server ? .awaitingPreface : .awaitingWelcome
    }

    /// Calls open right now.
    public var openStreamCount: Int { streams.count }
    public var isQuiescent: Bool { streams.isEmpty }
    public func isOpen(_ streamID: UInt32) -> Bool { streams[streamID] != nil }

    // MARK: - Inbound

    /// Processes one decoded item. `now` dates pings for the abuse rule.
    public mutating func received(_ item: InboundItem, now: NIODeadline) -> Action {
        let offset = inboundOffset
        switch item {
        case .preface(let preface):
            inboundOffset += UInt64(Preface.size)
            let action = prefaceReceived(preface, offset: offset)
            if case .fail = action { phase = .closed }
            return action
        case .frame(let frame):
            inboundOffset += UInt64(Frame.headerSize + frame.payload.readableBytes)
            guard phase != .closed else { return .none }
            let action = frameReceived(frame, offset: offset, now: now)
            if case .fail = action { phase = .closed }
            return action
        }
    }

    private mutating func prefaceReceived(_ preface: Preface, offset: UInt64) -> Action {
        guard role == .server, phase == .awaitingPreface else {
            return failure(.badPreface, "unexpected preface", offset: offset)
        }
        guard let version = ProtocolVersion.negotiate(preface) else {
            return failure(
                .unsupportedVersion,
                "client speaks protocol versions \(preface.minVersion)...\(preface.maxVersion); this server speaks \(ProtocolVersion.minimum)...\(ProtocolVersion.maximum)",
                offset: offset + 4
            )
        }
        negotiatedVersion = version
        phase = .awaitingHello(version: version)
        return .none
    }

    private mutating func frameReceived(_ frame: Frame, offset: UInt64, now: NIODeadline) -> Action {
        // Frames only one side may send.
        let peerMaySend =
            switch frame.type.sender {
            case .both: true
            case .client: role == .server
            case .server: role == .client
            }
        if !peerMaySend {
            let sender = role == .server ? "client" : "server"
            return failure(.badFrame, "a \(sender) may not send \(frame.type)", offset: offset + 4, streamID: frame.streamID)
        }

        switch phase {
        case .awaitingPreface:
            return failure(.badPreface, "a frame arrived before the preface", offset: offset)
        case .awaitingHello(let version):
            guard frame.type == .hello else {
                return failure(.handshake, "expected HELLO, got \(frame.type)", offset: offset, streamID: frame.streamID)
            }
            guard let hello: Dunlin_V1_Hello = decode(frame, offset: offset) else {
                return failure(.malformedMessage, "HELLO payload is not a valid Hello message", offset: offset + UInt64(Frame.headerSize))
            }
            if hello.maxFrameSize != 0, hello.maxFrameSize < ConnectionLimits.minimumFrameSize {
                return failure(.handshake, "HELLO max_frame_size \(hello.maxFrameSize) is below the minimum of \(ConnectionLimits.minimumFrameSize)", offset: offset)
            }
            if hello.initialWindow != 0, hello.initialWindow < ConnectionLimits.minimumWindow {
                return failure(.handshake, "HELLO initial_window \(hello.initialWindow) is below the minimum of \(ConnectionLimits.minimumWindow)", offset: offset)
            }
            peerMaxFrameSize = hello.maxFrameSize == 0 ? ConnectionLimits.defaultFrameSize : Int(hello.maxFrameSize)
            peerMaxMessageSize = peerMaxFrameSize
            peerInitialWindow = hello.initialWindow == 0 ? ConnectionLimits.defaultWindow : Int(hello.initialWindow)
            peerAcceptsDeflate = hello.acceptCompression.contains(MessageCompression.deflate)
            phase = .authenticating(version: version)
            return .authenticate(hello)
        case .authenticating:
            return failure(.handshake, "\(frame.type) arrived before WELCOME was sent", offset: offset, streamID: frame.streamID)
        case .awaitingWelcome:
            if frame.type == .goAway {
                return goAwayReceived(frame, offset: offset)
            }
            guard frame.type == .welcome else {
                return failure(.handshake, "expected WELCOME, got \(frame.type)", offset: offset, streamID: frame.streamID)
            }
            guard let welcome: Dunlin_V1_Welcome = decode(frame, offset: offset) else {
                return failure(.malformedMessage, "WELCOME payload is not a valid Welcome message", offset: offset + UInt64(Frame.headerSize))
            }
            guard welcome.version >= ProtocolVersion.minimum, welcome.version <= ProtocolVersion.maximum else {
                return failure(.unsupportedVersion, "server chose protocol version \(welcome.version), which this client does not speak", offset: offset)
            }
            negotiatedVersion = UInt16(welcome.version)
            let peer = welcome.limits
            peerMaxFrameSize = peer.maxFrameSize == 0 ? ConnectionLimits.defaultFrameSize : Int(peer.maxFrameSize)
            peerMaxMessageSize = peer.maxMessageSize == 0 ? peerMaxFrameSize : Int(peer.maxMessageSize)
            peerMaxConcurrentStreams = peer.maxConcurrentStreams == 0 ? 128 : Int(peer.maxConcurrentStreams)
            peerInitialWindow = peer.initialWindow == 0 ? ConnectionLimits.defaultWindow : Int(peer.initialWindow)
            peerMaxMetadataSize = peer.maxMetadataSize == 0 ? 8 << 10 : Int(peer.maxMetadataSize)
            peerAcceptsDeflate = welcome.acceptCompression.contains(MessageCompression.deflate)
            phase = .active
            return .welcomed(welcome)
        case .closed:
            return .none
        case .active:
            break
        }

        switch frame.type {
        case .hello, .welcome:
            return failure(.handshake, "\(frame.type) after the handshake", offset: offset)
        case .open:
            return openReceived(frame, offset: offset)
        case .message:
            return messageReceived(frame, offset: offset)
        case .halfClose:
            switch peerStream(frame, offset: offset) {
            case .failure(let error): return fail(error)
            case .success(nil): return .none
            case .success(.some(var stream)):
                stream.peerHalfClosed = true
                streams[frame.streamID] = stream
                return .halfClosed(streamID: frame.streamID)
            }
        case .end:
            guard let status: Dunlin_V1_Status = decode(frame, offset: offset) else {
                return failure(.malformedMessage, "END payload is not a valid Status message", offset: offset + UInt64(Frame.headerSize), streamID: frame.streamID)
            }
            switch peerStream(frame, offset: offset) {
            case .failure(let error): return fail(error)
            case .success(nil): return .none
            case .success(.some):
                streams[frame.streamID] = nil
                return .ended(streamID: frame.streamID, status: status)
            }
        case .cancel:
            if streams.removeValue(forKey: frame.streamID) != nil {
                return .cancelled(streamID: frame.streamID)
            }
            return frame.streamID > highestStreamID
                ? failure(.streamState, "CANCEL on stream \(frame.streamID), which was never opened", offset: offset + 6, streamID: frame.streamID)
                : .none
        case .ping:
            return pingReceived(frame, offset: offset, now: now)
        case .pong:
            return .pongReceived(frame.payload)
        case .goAway:
            return goAwayReceived(frame, offset: offset)
        case .window:
            return windowReceived(frame, offset: offset)
        }
    }

    private mutating func openReceived(_ frame: Frame, offset: UInt64) -> Action {
        let id = frame.streamID
        guard id > highestStreamID else {
            return failure(
                .streamState, "OPEN on stream \(id), not above the highest stream opened so far (\(highestStreamID))",
                offset: offset + 6, streamID: id
            )
        }
        guard let open: Dunlin_V1_CallOpen = decode(frame, offset: offset) else {
            return failure(.malformedMessage, "OPEN payload is not a valid CallOpen message", offset: offset + UInt64(Frame.headerSize), streamID: id)
        }
        highestStreamID = id
        if let last = goAwayLastStreamID, id > last {
            return .refuseCall(
                streamID: id,
                end: Self.endFrame(streamID: id, status: RPCError.unprocessed("server is shutting down; retry on a new connection").status)
            )
        }
        guard streams.count < limits.maxConcurrentStreams else {
            return failure(
                .tooManyStreams, "OPEN on stream \(id) exceeds the limit of \(limits.maxConcurrentStreams) concurrent calls",
                offset: offset, streamID: id
            )
        }
        streams[id] = StreamState(
            peerHalfClosed: frame.flags.contains(.endStream),
            sendCredit: peerInitialWindow,
            receiveCredit: limits.initialWindow
        )
        return .openCall(streamID: id, open: open, endStream: frame.flags.contains(.endStream))
    }

    private mutating func messageReceived(_ frame: Frame, offset: UInt64) -> Action {
        let id = frame.streamID
        let wireLength = frame.payload.readableBytes
        let compressed = frame.flags.contains(.compressed)
        if compressed, !limits.acceptsCompression {
            return failure(.compression, "compressed MESSAGE, but this side did not accept compression", offset: offset + 5, streamID: id)
        }
        if !compressed, wireLength > limits.maxMessageSize {
            return failure(.messageTooLarge, "MESSAGE of \(wireLength) bytes is over the limit of \(limits.maxMessageSize)", offset: offset, streamID: id)
        }
        var stream: StreamState
        switch peerStream(frame, offset: offset) {
        case .failure(let error): return fail(error)
        case .success(nil): return .none
        case .success(.some(let found)): stream = found
        }
        guard stream.receiveCredit > 0 else {
            return failure(.flowControl, "MESSAGE on stream \(id) sent without flow-control credit", offset: offset, streamID: id)
        }
        var message = frame.payload
        if compressed {
            do throws(ProtocolError) {
                message = try MessageCompression.decompress(
                    frame.payload, maxSize: limits.maxMessageSize,
                    byteOffset: offset + UInt64(Frame.headerSize), streamID: id
                )
            } catch {
                return fail(error)
            }
        }
        let endStream = frame.flags.contains(.endStream)
        if endStream {
            guard role == .server else {
                return failure(.badFrame, "a server MESSAGE may not carry END_STREAM", offset: offset + 5, streamID: id)
            }
            stream.peerHalfClosed = true
        }
        // Credit counts the message's own bytes (after inflating), so the window bounds what the
        // receiver holds, however well the messages compressed.
        let size = message.readableBytes
        stream.receiveCredit -= size
        streams[id] = stream
        return .message(streamID: id, message: message, size: size, endStream: endStream)
    }

    private mutating func windowReceived(_ frame: Frame, offset: UInt64) -> Action {
        let increment = Int(frame.payload.getInteger(at: frame.payload.readerIndex, as: UInt32.self)!)
        guard increment > 0 else {
            // The increment is the field at fault: point at it, the payload (PROTOCOL.md §15.1).
            return failure(.flowControl, "WINDOW increment of 0", offset: offset + 10, streamID: frame.streamID)
        }
        guard var stream = streams[frame.streamID] else {
            return frame.streamID > highestStreamID
                ? failure(.streamState, "WINDOW on stream \(frame.streamID), which was never opened", offset: offset + 6, streamID: frame.streamID)
                : .none
        }
        let before = stream.sendCredit
        stream.sendCredit += increment
        guard stream.sendCredit <= Int(Int32.max) else {
            return failure(.flowControl, "WINDOW pushes the credit of stream \(frame.streamID) past 2^31-1", offset: offset, streamID: frame.streamID)
        }
        streams[frame.streamID] = stream
        return before <= 0 && stream.sendCredit > 0 ? .creditAvailable(streamID: frame.streamID) : .none
    }

    private mutating func pingReceived(_ frame: Frame, offset: UInt64, now: NIODeadline) -> Action {
        if role == .server {
            if let last = lastPingReceived, now - last < TimeAmount(limits.minPingInterval) {
                pingStrikes += 1
                if pingStrikes > limits.maxPingStrikes {
                    return failure(
                        .pingAbuse,
                        "more than \(limits.maxPingStrikes) pings closer together than the minimum interval of \(limits.minPingInterval.milliseconds) ms",
                        offset: offset
                    )
                }
            } else {
                pingStrikes = 0
            }
            lastPingReceived = now
        }
        return .sendPong(Frame(type: .pong, payload: frame.payload))
    }

    private mutating func goAwayReceived(_ frame: Frame, offset: UInt64) -> Action {
        guard let goAway: Dunlin_V1_GoAway = decode(frame, offset: offset) else {
            return failure(.malformedMessage, "GOAWAY payload is not a valid GoAway message", offset: offset + UInt64(Frame.headerSize))
        }
        peerGoAway = goAway
        if goAway.reason != .noError || phase != .active {
            phase = .closed
        }
        return .peerGoingAway(goAway)
    }

    /// The stream a peer frame addresses, under the stream-state rules: a stream never opened is an
    /// error, a stream whose side the peer already closed is an error, and a stream we already
    /// finished yields nil, the frame ignored (it may have crossed our END or CANCEL).
    private func peerStream(_ frame: Frame, offset: UInt64) -> Result<StreamState?, ProtocolError> {
        let id = frame.streamID
        guard let stream = streams[id] else {
            if id > highestStreamID {
                return .failure(ProtocolError(.streamState, "\(frame.type) on stream \(id), which was never opened", byteOffset: offset + 6, streamID: id))
            }
            return .success(nil)
        }
        if stream.peerHalfClosed {
            return .failure(ProtocolError(.streamState, "\(frame.type) on stream \(id) after the peer closed its side", byteOffset: offset, streamID: id))
        }
        return .success(stream)
    }

    private func decode<M: SwiftProtobuf.Message>(_ frame: Frame, offset: UInt64) -> M? {
        try? M(buffer: frame.payload)
    }

    private func failure(_ reason: Dunlin_V1_GoAwayReason, _ message: String, offset: UInt64, streamID: UInt32 = 0) -> Action {
        fail(ProtocolError(reason, message, byteOffset: offset, streamID: streamID))
    }

    /// The action for a protocol error; `received` closes the phase when it returns one.
    private func fail(_ error: ProtocolError) -> Action {
        .fail(error, goAway: Self.goAwayFrame(error.goAway(lastStreamID: highestStreamID)))
    }

    // MARK: - Local events

    /// Client: the preface and HELLO that open the connection.
    public mutating func clientHandshake(hello: Dunlin_V1_Hello) -> ByteBuffer {
        precondition(role == .client)
        var hello = hello
        hello.maxFrameSize = UInt32(clamping: limits.maxFrameSize)
        hello.initialWindow = UInt32(clamping: limits.initialWindow)
        hello.acceptCompression = limits.acceptsCompression ? [MessageCompression.deflate] : []
        var buffer = ByteBuffer()
        Preface.current.write(into: &buffer)
        Self.protobufFrame(.hello, streamID: 0, hello).write(into: &buffer)
        phase = .awaitingWelcome
        return buffer
    }

    /// Server: the credential was accepted; the WELCOME to send. Calls may flow from now on.
    public mutating func authenticated(principal: Dunlin_V1_Principal, serverVersion: String, connectionID: String) -> Frame? {
        guard case .authenticating(let version) = phase else { return nil }
        var welcome = Dunlin_V1_Welcome()
        welcome.version = UInt32(version)
        welcome.serverVersion = serverVersion
        welcome.limits = limits.wire
        welcome.principal = principal
        welcome.acceptCompression = limits.acceptsCompression ? [MessageCompression.deflate] : []
        welcome.connectionID = connectionID
        phase = .active
        return Self.protobufFrame(.welcome, streamID: 0, welcome)
    }

    /// Server: the credential was refused; the GOAWAY to send before closing.
    public mutating func authenticationFailed(_ message: String, reason: Dunlin_V1_GoAwayReason = .unauthenticated) -> Frame {
        phase = .closed
        return Self.goAwayFrame(ProtocolError(reason, message).goAway(lastStreamID: 0))
    }

    /// Client: allocates the next stream id for a new call, or says why none may open.
    public mutating func openStream() throws(RPCError) -> UInt32 {
        precondition(role == .client)
        guard phase == .active, peerGoAway == nil else {
            throw RPCError.unprocessed("connection is closing; retry on a new connection")
        }
        guard streams.count < peerMaxConcurrentStreams else {
            throw RPCError(.resourceExhausted, "the server allows \(peerMaxConcurrentStreams) concurrent calls per connection")
        }
        guard highestStreamID < Frame.maxStreamID else {
            throw RPCError(.unavailable, "stream ids exhausted on this connection; retry on a new connection")
        }
        highestStreamID += 1
        streams[highestStreamID] = StreamState(sendCredit: peerInitialWindow, receiveCredit: limits.initialWindow)
        return highestStreamID
    }

    /// Whether a message may be sent on the stream now (it is open and has credit).
    public func canSend(_ streamID: UInt32) -> Bool {
        guard let stream = streams[streamID] else { return false }
        return stream.sendCredit > 0 && !stream.localHalfClosed
    }

    /// The MESSAGE frame for an outbound message, compressed when worthwhile, with its cost taken
    /// from the stream's credit. Call only when `canSend` is true. Throws when the message is over
    /// what the peer accepts.
    public mutating func messageFrame(_ streamID: UInt32, message: ByteBuffer, endStream: Bool = false) throws(RPCError) -> Frame {
        guard var stream = streams[streamID], !stream.localHalfClosed else {
            throw RPCError(.cancelled, "stream \(streamID) is closed")
        }
        guard message.readableBytes <= peerMaxMessageSize else {
            throw RPCError(.resourceExhausted, "message of \(message.readableBytes) bytes is over the peer's limit of \(peerMaxMessageSize)")
        }
        var payload = message
        var flags: FrameFlags = []
        if compressOutbound, peerAcceptsDeflate, message.readableBytes >= compressionThreshold,
            let compressed = MessageCompression.compress(message)
        {
            payload = compressed
            flags.insert(.compressed)
        }
        guard payload.readableBytes <= peerMaxFrameSize else {
            throw RPCError(.resourceExhausted, "message of \(payload.readableBytes) bytes is over the peer's frame limit of \(peerMaxFrameSize)")
        }
        if endStream {
            precondition(role == .client, "only the client half-closes")
            flags.insert(.endStream)
            stream.localHalfClosed = true
        }
        stream.sendCredit -= message.readableBytes
        streams[streamID] = stream
        return Frame(type: .message, flags: flags, streamID: streamID, payload: payload)
    }

    /// The application has used a received message of `size` bytes (as delivered, after
    /// inflating); returns the WINDOW to send
    /// when enough credit has built up (half the window), so the peer is never starved.
    public mutating func consumed(_ streamID: UInt32, size: Int) -> Frame? {
        guard var stream = streams[streamID], !stream.peerHalfClosed else { return nil }
        stream.unreturned += size
        var frame: Frame?
        if stream.unreturned > 0, stream.unreturned >= limits.initialWindow / 2 || stream.receiveCredit <= 0 {
            let increment = stream.unreturned
            stream.receiveCredit += increment
            stream.unreturned = 0
            var payload = ByteBuffer()
            payload.writeInteger(UInt32(increment))
            frame = Frame(type: .window, streamID: streamID, payload: payload)
        }
        streams[streamID] = stream
        return frame
    }

    /// Client: the HALF_CLOSE frame saying no more messages follow.
    public mutating func halfClose(_ streamID: UInt32) -> Frame? {
        guard var stream = streams[streamID], !stream.localHalfClosed else { return nil }
        stream.localHalfClosed = true
        streams[streamID] = stream
        return Frame(type: .halfClose, streamID: streamID)
    }

    /// Server: the END that finishes a call, or nil when the call is already gone (cancelled).
    public mutating func end(_ streamID: UInt32, status: Dunlin_V1_Status) -> Frame? {
        guard streams.removeValue(forKey: streamID) != nil else { return nil }
        return Self.endFrame(streamID: streamID, status: status)
    }

    /// Client: the CANCEL abandoning a call, or nil when the call is already over.
    public mutating func cancel(_ streamID: UInt32) -> Frame? {
        guard streams.removeValue(forKey: streamID) != nil else { return nil }
        return Frame(type: .cancel, streamID: streamID)
    }

    /// Client: forgets a stream whose END arrived or whose call failed locally.
    public mutating func forget(_ streamID: UInt32) {
        streams[streamID] = nil
    }

    /// Server: the GOAWAY that starts a graceful shutdown. Calls already open finish; later OPENs
    /// are refused with UNAVAILABLE.
    public mutating func beginGracefulShutdown(message: String = "server is shutting down") -> Frame {
        goAwayLastStreamID = highestStreamID
        var goAway = Dunlin_V1_GoAway()
        goAway.lastStreamID = highestStreamID
        goAway.reason = .noError
        goAway.code = StatusCode.unavailable.rawValue
        goAway.message = message
        return Self.goAwayFrame(goAway)
    }

    /// A GOAWAY for a local reason (idle, keepalive, handshake timeout), after which the connection closes.
    public mutating func close(_ reason: Dunlin_V1_GoAwayReason, _ message: String) -> Frame {
        phase = .closed
        return Self.goAwayFrame(ProtocolError(reason, message).goAway(lastStreamID: highestStreamID))
    }

    // MARK: - Frame builders

    public static func protobufFrame(_ type: FrameType, flags: FrameFlags = [], streamID: UInt32, _ message: some SwiftProtobuf.Message) -> Frame {
        // Serializing our own well-formed messages cannot fail.
        Frame(type: type, flags: flags, streamID: streamID, payload: try! message.serializedBuffer())
    }

    public static func endFrame(streamID: UInt32, status: Dunlin_V1_Status) -> Frame {
        protobufFrame(.end, streamID: streamID, status)
    }

    public static func goAwayFrame(_ goAway: Dunlin_V1_GoAway) -> Frame {
        protobufFrame(.goAway, streamID: 0, goAway)
    }
}

extension FrameType {
    /// Which side may send frames of this type.
    public enum Sender: Sendable { case client, server, both }

    public var sender: Sender {
        switch self {
        case .hello, .open, .halfClose, .cancel: .client
        case .welcome, .end: .server
        case .message, .ping, .pong, .goAway, .window: .both
        }
    }
}

extension ConnectionLimits {
    /// Whether this side decodes compressed messages. Always true today; a knob for tests.
    public var acceptsCompression: Bool { true }
}
