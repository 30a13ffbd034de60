import DunlinWire
import NIOCore
import SwiftProtobuf

/// What the emulated runtime around the state machine does, chosen by the input's header bytes.
struct RuntimePolicy {
    /// Small limits (2 KiB frames, 1 KiB messages, 3 streams, 1.5 KiB windows), so the fuzzer
    /// reaches every limit with short inputs; otherwise the documented defaults.
    var smallLimits: Bool
    /// Hand every delivered message back with `consumed(...)`, returning flow-control credit.
    var consumeMessages: Bool
    /// Consume late: delivered messages queue up and are consumed at points the input chooses,
    /// as a handler that runs behind the network does.
    var deferConsumption: Bool
    /// Server: end a call once the client half-closes. Client: send a message on each stream it opens.
    var answerCalls: Bool
    /// Move the buffer's reader index back to 0 after every chunk.
    var discardReadBytes: Bool
    /// Server: refuse the HELLO's credential.
    var refuseCredential: Bool
    /// How the clock moves between frames (0: 6 s steps, 1: no time passes, 2: random steps, 3: 1 s steps).
    var clock: UInt8
    /// Server: start a graceful shutdown after this many items (0 = never). Client: streams to open.
    var count: Int
    /// Server: check the credential late, after the next item has arrived (the runtime's
    /// authenticator is asynchronous), so frames can arrive while the phase is `authenticating`.
    var authenticateLate: Bool

    init(_ flags: UInt8, _ count: UInt8) {
        smallLimits = flags & 0x01 != 0
        consumeMessages = flags & 0x02 != 0
        deferConsumption = flags & 0x04 != 0
        answerCalls = flags & 0x08 != 0
        discardReadBytes = flags & 0x10 != 0
        refuseCredential = flags & 0x60 == 0x60
        clock = flags >> 6
        self.count = Int(count & 0x7F)
        authenticateLate = count & 0x80 != 0
    }

    /// The small limits are chosen so that every limit is reachable within libFuzzer's -max_len:
    /// messages over the message size fit in a frame, and two frames exhaust a window.
    var limits: ConnectionLimits {
        smallLimits
            ? ConnectionLimits(
                maxFrameSize: 2048, maxMessageSize: 1024, maxMetadataSize: 512, maxConcurrentStreams: 3,
                initialWindow: 1536, minPingInterval: .seconds(5), maxPingStrikes: 2
            )
            : .defaults
    }
}

/// Drives a ``ConnectionStateMachine`` with decoded frames the way DunlinServer or DunlinClient
/// does, performing the local events a runtime performs (answering HELLO, ending calls, returning
/// credit, shutting down), and checks every action and every frame it asks the runtime to send.
struct ConnectionHarness {
    var machine: ConnectionStateMachine
    let policy: RuntimePolicy
    var random: InputRandom
    var now = NIODeadline.uptimeNanoseconds(1_000_000_000_000)
    /// Messages delivered and not yet consumed: (stream, wire size).
    var pending: [(UInt32, Int)] = []
    var itemsSeen = 0
    var finished = false
    /// Bytes for the client's outbound messages.
    let messageSource: ArraySlice<UInt8>

    init(role: ConnectionStateMachine.Role, policy: RuntimePolicy, seed: UInt8, messageSource: ArraySlice<UInt8>) {
        machine = ConnectionStateMachine(role: role, limits: policy.limits)
        self.policy = policy
        random = InputRandom(seed: seed, salt: 0x7157)
        self.messageSource = messageSource
    }

    var limits: ConnectionLimits { machine.limits }

    /// The peer's receive limits as far as we know them: what its decoder enforces on our frames.
    var peerDecoderLimits: FrameDecoder.Limits {
        FrameDecoder.Limits(maxFrameSize: machine.peerMaxFrameSize, maxMetadataSize: ConnectionLimits.defaults.maxMetadataSize)
    }

    // MARK: - Inbound

    /// One decoded item; returns false once the connection is closed.
    /// A HELLO whose credential is still being checked (late authentication).
    var pendingHello: Dunlin_V1_Hello?

    mutating func received(_ item: InboundItem, range: Range<Int>) -> Bool {
        itemsSeen += 1
        now = now + clockStep()
        let action = machine.received(item, now: now)
        if let hello = pendingHello, machine.phase != .closed {
            pendingHello = nil
            finishAuthentication(hello)
        }
        Oracle.trace("\(machine.role) \(range): \(summary(item)) -> \(summary(action)); phase \(machine.phase), \(machine.openStreamCount) open")
        handle(action, item: item, range: range)
        Oracle.require(
            machine.openStreamCount <= limits.maxConcurrentStreams || machine.role == .client, "stream-limit",
            "\(machine.openStreamCount) streams open, limit \(limits.maxConcurrentStreams)"
        )
        if machine.role == .server, policy.count > 0, itemsSeen == policy.count, machine.goAwayLastStreamID == nil {
            let goAway = machine.beginGracefulShutdown()
            verifyOutbound(goAway, .goAway)
        }
        if policy.deferConsumption, random.below(4) == 0 { consumePending() }
        if machine.phase == .closed { finished = true }
        return !finished
    }

    private mutating func clockStep() -> TimeAmount {
        switch policy.clock {
        case 0: .seconds(6)
        case 1: .zero
        case 3: .seconds(1)
        default: [.zero, .milliseconds(1), .seconds(1), .milliseconds(4999), .seconds(5), .seconds(60)][random.below(6)]
        }
    }

    private mutating func handle(_ action: ConnectionStateMachine.Action, item: InboundItem, range: Range<Int>) {
        let role = machine.role
        switch action {
        case .none:
            break

        case .authenticate(let hello):
            guard role == .server else { Oracle.unreachable("a client was asked to authenticate") }
            guard case .frame(let frame) = item, frame.type == .hello else { Oracle.unreachable("authenticate without a HELLO") }
            Oracle.require(
                (try? Dunlin_V1_Hello(buffer: frame.payload)) == hello, "action-matches-frame",
                "authenticate carries a Hello that is not the HELLO payload"
            )
            if policy.authenticateLate {
                pendingHello = hello
            } else {
                finishAuthentication(hello)
            }

        case .welcomed:
            guard role == .client else { Oracle.unreachable("a server was welcomed") }
            Oracle.require(machine.phase == .active, "phase", "welcomed but the phase is \(machine.phase)")
            openClientStreams()

        case .openCall(let streamID, let open, let endStream):
            guard role == .server else { Oracle.unreachable("a client was asked to open a call") }
            Oracle.require(machine.isOpen(streamID), "stream-state", "openCall for stream \(streamID), which is not open")
            Oracle.require(streamID == machine.highestStreamID, "stream-state", "openCall for stream \(streamID) below the highest \(machine.highestStreamID)")
            if case .frame(let frame) = item {
                Oracle.require(frame.streamID == streamID && (try? Dunlin_V1_CallOpen(buffer: frame.payload)) == open, "action-matches-frame", "openCall does not match its OPEN")
            }
            if policy.answerCalls, endStream { endCall(streamID) }

        case .refuseCall(let streamID, let end):
            guard role == .server else { Oracle.unreachable("a client was asked to refuse a call") }
            Oracle.require(end.streamID == streamID, "outbound", "refuseCall END on stream \(end.streamID), not \(streamID)")
            Oracle.require(machine.goAwayLastStreamID.map { streamID > $0 } ?? false, "stream-state", "refused stream \(streamID) is not above the GOAWAY's last stream")
            verifyOutbound(end, .end)

        case .message(let streamID, let message, let size, let endStream):
            guard case .frame(let frame) = item, frame.type == .message else { Oracle.unreachable("a message action without a MESSAGE") }
            // Flow-control credit counts the message's own (inflated) bytes.
            Oracle.require(frame.streamID == streamID && message.readableBytes == size, "action-matches-frame", "message action does not match its frame")
            Oracle.require(endStream == frame.flags.contains(.endStream), "action-matches-frame", "endStream does not match the frame's flag")
            Oracle.require(
                message.readableBytes <= limits.maxMessageSize, "message-limit",
                "a \(message.readableBytes)-byte message delivered over the limit of \(limits.maxMessageSize)"
            )
            if !frame.flags.contains(.compressed) {
                Oracle.require(message == frame.payload, "action-matches-frame", "an uncompressed message that is not the frame payload")
            }
            if policy.consumeMessages { pending.append((streamID, size)) }
            if !policy.deferConsumption { consumePending() }
            if role == .server, policy.answerCalls, endStream { endCall(streamID) }

        case .halfClosed(let streamID):
            guard role == .server else { Oracle.unreachable("a client saw a half-close") }
            if policy.answerCalls { endCall(streamID) }

        case .ended(let streamID, _):
            guard role == .client else { Oracle.unreachable("a server saw an END") }
            Oracle.require(!machine.isOpen(streamID), "stream-state", "stream \(streamID) still open after its END")

        case .cancelled(let streamID):
            guard role == .server else { Oracle.unreachable("a client saw a CANCEL") }
            Oracle.require(!machine.isOpen(streamID), "stream-state", "stream \(streamID) still open after CANCEL")
            Oracle.require(machine.end(streamID, status: Dunlin_V1_Status()) == nil, "stream-state", "END produced for cancelled stream \(streamID)")

        case .sendPong(let pong):
            guard case .frame(let ping) = item, ping.type == .ping else { Oracle.unreachable("sendPong without a PING") }
            Oracle.require(pong.payload == ping.payload, "outbound", "PONG does not echo the PING's bytes")
            verifyOutbound(pong, .pong)

        case .pongReceived, .creditAvailable:
            break

        case .peerGoingAway(let goAway):
            if machine.role == .client, machine.phase != .closed {
                do throws(RPCError) {
                    _ = try machine.openStream()
                    Oracle.require(false, "goaway", "the client opened a stream after a GOAWAY (\(goAway))")
                } catch {}
            }

        case .fail(let error, let goAway):
            Oracle.require(machine.phase == .closed, "phase", "failed with \(error) but the phase is \(machine.phase)")
            // PROTOCOL.md §13 puts a payload error at the payload's first byte: for an empty
            // payload that is the byte after the frame.
            var emptyPayload: Bool { if case .frame(let frame) = item { frame.payload.readableBytes == 0 } else { false } }
            Oracle.require(
                error.byteOffset < UInt64(range.upperBound) || (error.byteOffset == UInt64(range.upperBound) && emptyPayload), "error-offset",
                "\(error) points at byte \(error.byteOffset), past the end (\(range.upperBound)) of the item it refused"
            )
            Oracle.require(
                error.byteOffset >= UInt64(range.lowerBound) || error.reason == .unsupportedVersion, "error-offset",
                "\(error) points at byte \(error.byteOffset), before the item at \(range.lowerBound) it refused"
            )
            verifyOutbound(goAway, .goAway)
            if let sent = try? Dunlin_V1_GoAway(buffer: goAway.payload) {
                Oracle.require(sent.reason == error.reason, "outbound", "GOAWAY reason \(sent.reason) for \(error)")
            }
        }
    }

    private func summary(_ item: InboundItem) -> String {
        switch item {
        case .preface(let preface): "preface \(preface.minVersion)...\(preface.maxVersion)"
        case .frame(let frame): "\(frame.type) flags \(frame.flags.rawValue) stream \(frame.streamID), \(frame.payload.readableBytes) bytes"
        }
    }

    private func summary(_ action: ConnectionStateMachine.Action) -> String {
        switch action {
        case .fail(let error, _): "fail(\(error))"
        case .message(let id, let message, let size, let endStream): "message(stream \(id), \(message.readableBytes) bytes, credit \(size), endStream \(endStream))"
        default: String("\(action)".prefix(120))
        }
    }

    // MARK: - Local events

    /// Server: the credential check is done; accept or refuse it as the policy says.
    private mutating func finishAuthentication(_ hello: Dunlin_V1_Hello) {
        if policy.refuseCredential {
            verifyOutbound(machine.authenticationFailed("bad token"), .goAway)
            Oracle.require(machine.phase == .closed, "phase", "authenticationFailed left the phase \(machine.phase)")
        } else {
            var principal = Dunlin_V1_Principal()
            principal.id = "u1"
            principal.tenantID = "t1"
            principal.role = "analyst"
            guard let welcome = machine.authenticated(principal: principal, serverVersion: "fuzz", connectionID: "c1") else {
                Oracle.unreachable("authenticated() refused in the phase \(machine.phase)")
            }
            verifyOutbound(welcome, .welcome)
            Oracle.require(machine.phase == .active, "phase", "authenticated() left the phase \(machine.phase)")
        }
    }

    private mutating func endCall(_ streamID: UInt32) {
        var status = Dunlin_V1_Status()
        status.code = StatusCode.ok.rawValue
        if let end = machine.end(streamID, status: status) {
            verifyOutbound(end, .end)
            Oracle.require(!machine.isOpen(streamID), "stream-state", "stream \(streamID) open after its END")
        }
    }

    mutating func consumePending() {
        let queue = pending
        pending = []
        for (streamID, size) in queue {
            guard let window = machine.consumed(streamID, size: size) else { continue }
            verifyOutbound(window, .window)
            let increment = window.payload.getInteger(at: window.payload.readerIndex, as: UInt32.self) ?? 0
            Oracle.require(
                increment > 0, "window-increment",
                "consumed(\(streamID), size: \(size)) produced a WINDOW of 0, which the peer refuses as a flow-control error"
            )
        }
    }

    /// Client: open the streams the policy asks for, and send a message on each.
    private mutating func openClientStreams() {
        for index in 0..<(policy.count & 7) {
            let streamID: UInt32
            do throws(RPCError) {
                streamID = try machine.openStream()
            } catch {
                return
            }
            var open = Dunlin_V1_CallOpen()
            open.method = "/dunlin.v1.Diagnostics/Echo"
            verifyOutbound(ConnectionStateMachine.protobufFrame(.open, streamID: streamID, open), .open)
            guard policy.answerCalls, machine.canSend(streamID) else { continue }
            let sizes = [0, 10, 1500, 5000]
            let size = sizes[(index + Int(policy.count >> 3)) % sizes.count]
            var message = ByteBuffer()
            while message.readableBytes < size {
                if messageSource.isEmpty { message.writeRepeatingByte(0x61, count: size) } else { message.writeBytes(messageSource.prefix(size - message.readableBytes)) }
            }
            do throws(RPCError) {
                let frame = try machine.messageFrame(streamID, message: message, endStream: index & 1 == 0)
                verifyOutbound(frame, .message)
                if frame.flags.contains(.compressed) {
                    let back = CompressionCheck.check(frame.payload, maxSize: message.readableBytes)
                    Oracle.require((try? back.get()) == message, "compress-roundtrip", "an outbound compressed message does not inflate back")
                }
            } catch {
                continue
            }
        }
    }

    /// A frame the state machine asks us to send must be one the peer's decoder accepts, unchanged.
    private func verifyOutbound(_ frame: Frame, _ type: FrameType) {
        Oracle.require(frame.type == type, "outbound", "asked to send \(frame.type), expected \(type)")
        var bytes = frame.encoded()
        // MESSAGE frames must fit the frame size the peer announced; control frames are checked
        // against the default limits (the peer announces no metadata limit).
        let peerLimits = type == .message ? peerDecoderLimits : FrameDecoder.Limits()
        var peer = FrameDecoder(limits: peerLimits, expectsPreface: false)
        do throws(ProtocolError) {
            let item = try peer.next(from: &bytes)
            Oracle.require(item == .frame(frame) && bytes.readableBytes == 0, "outbound", "outbound \(type) does not decode back to itself")
        } catch {
            Oracle.require(false, "outbound", "the peer's decoder refuses our outbound \(type): \(error)")
        }
        switch type {
        case .goAway:
            Oracle.require((try? Dunlin_V1_GoAway(buffer: frame.payload)) != nil, "outbound", "outbound GOAWAY payload is not a GoAway")
        case .end:
            Oracle.require((try? Dunlin_V1_Status(buffer: frame.payload)) != nil, "outbound", "outbound END payload is not a Status")
        case .welcome:
            Oracle.require((try? Dunlin_V1_Welcome(buffer: frame.payload)) != nil, "outbound", "outbound WELCOME payload is not a Welcome")
        default:
            break
        }
    }
}
