import DunlinWire
import Logging
import NIOConcurrencyHelpers
import NIOCore

/// One client connection: runs the state machine on the event loop, routes inbound frames to
/// calls, and writes what calls send. Protocol decisions are the state machine's.
final class ClientConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = InboundItem
    typealias OutboundOut = ByteBuffer

    /// Where a call's responses go.
    enum Responses {
        /// Unary and client-streaming: one response, then END.
        case single(CheckedContinuation<ByteBuffer, any Error>, received: ByteBuffer?)
        /// Server-streaming: every response, then END.
        case stream(AsyncThrowingStream<Inbound, any Error>.Continuation)
    }

    /// A received message and its size on the wire (for flow-control credit).
    struct Inbound: Sendable {
        var message: ByteBuffer
        var size: Int
    }

    private struct Call {
        var responses: Responses
        var deadlineTimer: Scheduled<Void>?
        /// The caller's token, when the call forgets it as it ends (a unary call, whose caller
        /// does not come back to release it); nil when the caller releases it.
        var forgetsToken: ObjectIdentifier?
    }

    private let hello: Dunlin_V1_Hello
    private let keepalive: RPCClient.Keepalive
    private var logger: Logger
    private var machine: ConnectionStateMachine
    private var context: ChannelHandlerContext?
    private var welcomePromise: EventLoopPromise<Dunlin_V1_Welcome>?
    private var calls: [UInt32: Call] = [:]
    private var streamForToken: [ObjectIdentifier: UInt32] = [:]
    /// Tokens cancelled before their call started (or after it ended), held so that no later
    /// token can be allocated at the same address and be taken for one of them.
    private var cancelledTokens: [ObjectIdentifier: CallToken] = [:]
    private var pending = PendingSends<CheckedContinuation<Void, any Error>>()
    private var keepaliveTimer: RepeatedTask?
    private var pongTimer: Scheduled<Void>?
    /// When the server last sent anything, on the event loop's clock (its scheduler drives every
    /// timer here, so tests move time by advancing the loop).
    private var lastRead = NIODeadline.uptimeNanoseconds(0)
    private var outbox: FrameOutbox?
    /// Set when the connection can take no new call (GOAWAY or failure); shared with the client
    /// so it opens a new connection instead.
    private let drainingFlag: NIOLockedValueBox<Bool>
    private var draining: Bool {
        get { drainingFlag.withLockedValue { $0 } }
        set { drainingFlag.withLockedValue { $0 = newValue } }
    }

    init(hello: Dunlin_V1_Hello, limits: ConnectionLimits, compressRequests: Bool, keepalive: RPCClient.Keepalive,
         logger: Logger, welcomePromise: EventLoopPromise<Dunlin_V1_Welcome>, draining: NIOLockedValueBox<Bool>) {
        self.drainingFlag = draining
        self.hello = hello
        self.keepalive = keepalive
        self.logger = logger
        self.machine = ConnectionStateMachine(role: .client, limits: limits, compressOutbound: compressRequests)
        self.welcomePromise = welcomePromise
    }

    private var loopBound: NIOLoopBound<ClientConnectionHandler> {
        NIOLoopBound(self, eventLoop: context!.eventLoop)
    }

    var isUsable: Bool { !draining && machine.phase == .active && context?.channel.isActive == true }

    // MARK: Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        self.outbox = FrameOutbox(context: context)
        lastRead = context.eventLoop.now
        if context.channel.isActive { sendHandshake(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        sendHandshake(context)
        context.fireChannelActive()
    }

    private func sendHandshake(_ context: ChannelHandlerContext) {
        guard machine.phase == .awaitingWelcome, welcomePromise != nil, !handshakeSent else { return }
        handshakeSent = true
        outbox?.writeNow(machine.clientHandshake(hello: hello))
    }

    private var handshakeSent = false

    func channelInactive(context: ChannelHandlerContext) {
        draining = true
        keepaliveTimer?.cancel()
        pongTimer?.cancel()
        welcomePromise?.fail(RPCError(.unavailable, "connection closed during the handshake"))
        welcomePromise = nil
        failAll(RPCError(.unavailable, "connection to the server was lost"))
        context.fireChannelInactive()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { drainPending(only: nil) }
        context.fireChannelWritabilityChanged()
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
        context.fireChannelReadComplete()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let error = error as? ProtocolError {
            fail(error, goAway: ConnectionStateMachine.goAwayFrame(error.goAway(lastStreamID: machine.highestStreamID)))
        } else {
            logger.debug("connection error", metadata: ["error": "\(error)"])
            failAll(RPCError(.unavailable, "connection error: \(error)"))
            context.close(promise: nil)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        lastRead = context.eventLoop.now
        switch machine.received(unwrapInboundIn(data), now: lastRead) {
        case .none, .authenticate, .openCall, .refuseCall, .halfClosed, .cancelled:
            break
        case .welcomed(let welcome):
            startKeepalive(serverMinimum: .milliseconds(Int64(welcome.limits.minPingIntervalMs)))
            welcomePromise?.succeed(welcome)
            welcomePromise = nil
        case .message(let id, let message, let size, _):
            deliver(id, Inbound(message: message, size: size))
        case .ended(let id, let status):
            complete(id, status: status)
        case .sendPong(let pong):
            outbox?.write(pong)
        case .pongReceived:
            pongTimer?.cancel()
            pongTimer = nil
        case .creditAvailable(let id):
            drainPending(only: id)
        case .peerGoingAway(let goAway):
            peerGoingAway(goAway)
        case .fail(let error, let goAway):
            fail(error, goAway: goAway)
        }
    }

    // MARK: Calls (called on the event loop)

    /// A call waiting for one of the server's concurrent-stream slots.
    ///
    /// A client-streaming call's writer may already be writing: its requests and its half-close
    /// wait here and go out, in order, once the call opens. A writer awaits each request, so a
    /// waiting call holds at most one, and a half-close only after every request it wrote.
    struct WaitingCall {
        var token: ObjectIdentifier
        var path: String
        var deadline: NIODeadline?
        var metadata: [String: [UInt8]]
        var request: ByteBuffer?
        var responses: Responses
        var forgetsToken = false
        var requests: [(message: ByteBuffer, written: CheckedContinuation<Void, any Error>)] = []
        var halfClosed = false

        /// The call will never open: its caller and any request writer get `error`.
        func fail(_ error: any Error) {
            ClientConnectionHandler.fail(responses, error)
            for request in requests { request.written.resume(throwing: error) }
        }
    }

    private var waiting: [WaitingCall] = []

    /// How many calls wait for a free stream slot.
    var waitingCount: Int { waiting.count }

    /// Opens a call: OPEN, then the request (if given) with END_STREAM, in one flush. When the
    /// server's limit on concurrent calls is reached, the call waits (within its deadline) for a
    /// slot instead of failing.
    ///
    /// With `forgetsToken`, the call forgets `token` when it ends, so its caller need not come
    /// back to the event loop to ``release(token:)`` it (unless it cancelled the call).
    func startCall(
        token: ObjectIdentifier, path: String, timeout: Duration?, metadata: [String: [UInt8]],
        request: ByteBuffer?, responses: Responses, forgetsToken: Bool = false
    ) {
        guard let context else { return Self.fail(responses, RPCError(.unavailable, "connection is not open")) }
        if cancelledTokens.removeValue(forKey: token) != nil {
            return Self.fail(responses, RPCError(.cancelled, "call cancelled"))
        }
        let call = WaitingCall(
            token: token, path: path, deadline: timeout.map { context.eventLoop.now + TimeAmount($0) }, metadata: metadata,
            request: request, responses: responses, forgetsToken: forgetsToken
        )
        if waiting.isEmpty, machine.openStreamCount < machine.peerMaxConcurrentStreams {
            open(call)
        } else {
            waiting.append(call)
        }
    }

    /// Starts waiting calls while slots are free; fails those whose deadline passed while waiting.
    private func startWaiting() {
        while !waiting.isEmpty, machine.openStreamCount < machine.peerMaxConcurrentStreams, isUsable {
            let call = waiting.removeFirst()
            if let deadline = call.deadline, let context, deadline <= context.eventLoop.now {
                call.fail(RPCError.deadlineExceededUnsent("deadline exceeded while waiting for a free stream"))
                continue
            }
            open(call)
        }
    }

    private func open(_ waitingCall: WaitingCall) {
        guard let context else { return waitingCall.fail(RPCError(.unavailable, "connection is not open")) }
        let (token, path, metadata, request, responses) = (
            waitingCall.token, waitingCall.path, waitingCall.metadata, waitingCall.request, waitingCall.responses
        )
        let timeout: Duration? = waitingCall.deadline.map { deadline in
            .nanoseconds(max(1_000, (deadline - context.eventLoop.now).nanoseconds))
        }
        let id: UInt32
        do {
            id = try machine.openStream()
        } catch {
            return waitingCall.fail(error)
        }
        var open = Dunlin_V1_CallOpen()
        open.method = path
        if let timeout { open.timeoutUs = UInt64(max(1, timeout.microseconds)) }
        open.metadata = metadata.map { key, value in
            var entry = Dunlin_V1_MetadataEntry()
            entry.key = key
            entry.value = .init(value)
            return entry
        }
        var call = Call(responses: responses, forgetsToken: waitingCall.forgetsToken ? token : nil)
        if let timeout {
            let handler = loopBound
            call.deadlineTimer = context.eventLoop.scheduleTask(in: TimeAmount(timeout)) {
                handler.value.cancel(id, RPCError(.deadlineExceeded, "deadline of \(timeout.milliseconds) ms exceeded"))
            }
        }
        let openFrame = ConnectionStateMachine.protobufFrame(.open, streamID: id, open)
        guard openFrame.payload.readableBytes <= machine.peerMaxMetadataSize else {
            machine.forget(id)
            call.deadlineTimer?.cancel()
            return waitingCall.fail(RPCError(
                .invalidArgument,
                "method, deadline and metadata take \(openFrame.payload.readableBytes) bytes, over the server's limit of \(machine.peerMaxMetadataSize)"
            ))
        }
        calls[id] = call
        streamForToken[token] = id
        outbox?.write(openFrame)
        if let request {
            do {
                outbox?.write(try machine.messageFrame(id, message: request, endStream: true))
            } catch {
                // The OPEN is out: CANCEL it so the server frees the stream.
                cancel(id, error)
            }
        }
        for queued in waitingCall.requests {
            pending.append(id, .init(message: queued.message, endStream: false, waiter: queued.written))
        }
        if !waitingCall.requests.isEmpty { drainPending(only: id) }
        if waitingCall.halfClosed { halfClose(token: token) }
    }

    /// Sends one request of a client-streaming call, once the stream has credit.
    func send(token: ObjectIdentifier, _ message: ByteBuffer, continuation: CheckedContinuation<Void, any Error>) {
        if let index = waiting.firstIndex(where: { $0.token == token }) {
            return waiting[index].requests.append((message, continuation))
        }
        guard let id = streamForToken[token], calls[id] != nil else {
            return continuation.resume(throwing: CallEnded())
        }
        pending.append(id, .init(message: message, endStream: false, waiter: continuation))
        drainPending(only: id)
    }

    /// The client sends no more requests on the call.
    func halfClose(token: ObjectIdentifier) {
        if let index = waiting.firstIndex(where: { $0.token == token }) {
            return waiting[index].halfClosed = true
        }
        guard let id = streamForToken[token], let frame = machine.halfClose(id) else { return }
        outbox?.write(frame)
    }

    /// Abandons the call the caller holds `token` for (task cancelled, stream dropped).
    func cancel(token callToken: CallToken) {
        let token = callToken.id
        if let index = waiting.firstIndex(where: { $0.token == token }) {
            waiting.remove(at: index).fail(RPCError(.cancelled, "call cancelled"))
            return
        }
        guard let id = streamForToken[token] else {
            cancelledTokens[token] = callToken
            return
        }
        cancel(id, RPCError(.cancelled, "call cancelled"))
    }

    /// Gives a server-streaming call's consumed bytes back to the server as credit.
    func consumed(token: ObjectIdentifier, size: Int) {
        guard let id = streamForToken[token], let window = machine.consumed(id, size: size) else { return }
        outbox?.write(window)
    }

    /// The caller is done with the call (its result was delivered): forget its token.
    func release(token: ObjectIdentifier) {
        streamForToken[token] = nil
        cancelledTokens[token] = nil
    }

    private func cancel(_ id: UInt32, _ error: RPCError) {
        guard let call = calls.removeValue(forKey: id) else { return }
        forgetToken(of: call)
        call.deadlineTimer?.cancel()
        if let frame = machine.cancel(id) {
            outbox?.write(frame)
        }
        pending.remove(id) { $0.resume(throwing: error) }
        Self.fail(call.responses, error)
        startWaiting()
    }

    private func deliver(_ id: UInt32, _ inbound: Inbound) {
        guard var call = calls[id] else { return }
        switch call.responses {
        case .single(let continuation, let received):
            guard received == nil else {
                return cancel(id, RPCError(.internal, "the server sent more than one response on a single-response call"))
            }
            call.responses = .single(continuation, received: inbound.message)
            calls[id] = call
        case .stream(let continuation):
            continuation.yield(inbound)
        }
    }

    private func complete(_ id: UInt32, status: Dunlin_V1_Status) {
        guard let call = calls.removeValue(forKey: id) else { return }
        forgetToken(of: call)
        call.deadlineTimer?.cancel()
        pending.remove(id) { $0.resume(throwing: RPCError(status: status)) }
        let failed = status.code != StatusCode.ok.rawValue
        switch call.responses {
        case .single(let continuation, let received):
            if failed {
                continuation.resume(throwing: RPCError(status: status))
            } else if let received {
                continuation.resume(returning: received)
            } else {
                continuation.resume(throwing: RPCError(.internal, "the server ended the call without a response"))
            }
        case .stream(let continuation):
            if failed { continuation.finish(throwing: RPCError(status: status)) } else { continuation.finish() }
        }
        startWaiting()
        closeIfDrained()
    }

    private func forgetToken(of call: Call) {
        if let token = call.forgetsToken { streamForToken[token] = nil }
    }

    fileprivate static func fail(_ responses: Responses, _ error: any Error) {
        switch responses {
        case .single(let continuation, _): continuation.resume(throwing: error)
        case .stream(let continuation): continuation.finish(throwing: error)
        }
    }

    private func failAll(_ error: RPCError) {
        let queued = waiting
        waiting = []
        for call in queued { call.fail(error) }
        let all = calls
        calls = [:]
        for (id, call) in all {
            forgetToken(of: call)
            call.deadlineTimer?.cancel()
            machine.forget(id)
            Self.fail(call.responses, error)
        }
        pending.removeAll { $0.resume(throwing: error) }
    }

    private func drainPending(only: UInt32?) {
        outbox?.drain(&pending, machine: &machine, only: only)
    }

    // MARK: Connection life

    private func peerGoingAway(_ goAway: Dunlin_V1_GoAway) {
        draining = true
        let error = RPCError(StatusCode(rawValue: goAway.code) ?? .unavailable, goAway.message)
        if let promise = welcomePromise {
            welcomePromise = nil
            promise.fail(error)
        }
        // Calls above the server's last stream were never processed, whatever the reason: safe to
        // send again on a new connection.
        let unprocessed = RPCError.unprocessed("the server closed the connection (\(goAway.message)) before it saw the call")
        let queued = waiting
        waiting = []
        for call in queued { call.fail(unprocessed) }
        for id in calls.keys where id > goAway.lastStreamID {
            cancel(id, unprocessed)
        }
        if goAway.reason == .noError {
            // The calls it accepted finish normally.
            closeIfDrained()
        } else {
            logger.info("server closed the connection", metadata: ["reason": "\(goAway.reason)", "message": "\(goAway.message)"])
            failAll(error)
            context?.close(promise: nil)
        }
    }

    private func closeIfDrained() {
        if draining, calls.isEmpty, waiting.isEmpty { context?.close(promise: nil) }
    }

    private func fail(_ error: ProtocolError, goAway: Frame) {
        guard let context else { return }
        logger.info("protocol error from server", metadata: ["error": "\(error)"])
        draining = true
        outbox?.writeNow(goAway)
        failAll(RPCError(error.code, "protocol error: \(error)"))
        context.close(promise: nil)
    }

    /// Starts pinging a quiet connection; a ping without its pong in time closes the connection,
    /// failing its calls with UNAVAILABLE so the caller can retry on a new one.
    private func startKeepalive(serverMinimum: Duration) {
        guard let context, let interval = keepalive.interval else { return }
        let every = max(interval, serverMinimum)
        let handler = loopBound
        keepaliveTimer = context.eventLoop.scheduleRepeatedTask(initialDelay: TimeAmount(every), delay: TimeAmount(every)) { _ in
            handler.value.keepaliveTick(quietFor: TimeAmount(every))
        }
    }

    private func keepaliveTick(quietFor: TimeAmount) {
        guard let context, pongTimer == nil, context.eventLoop.now - lastRead >= quietFor else { return }
        var payload = context.channel.allocator.buffer(capacity: 8)
        payload.writeInteger(UInt64(context.eventLoop.now.uptimeNanoseconds))
        outbox?.writeNow(Frame(type: .ping, payload: payload))
        let handler = loopBound
        let timeout = keepalive.timeout
        pongTimer = context.eventLoop.scheduleTask(in: TimeAmount(timeout)) {
            handler.value.keepaliveExpired(timeout)
        }
    }

    private func keepaliveExpired(_ timeout: Duration) {
        guard let context else { return }
        logger.info("server did not answer a ping; closing the connection")
        draining = true
        let goAway = machine.close(.keepaliveTimeout, "no PONG within \(timeout.milliseconds) ms")
        outbox?.writeNow(goAway)
        failAll(RPCError(.unavailable, "the server stopped answering (keepalive timeout)"))
        context.close(promise: nil)
    }

    /// Client: politely leaves (GOAWAY NO_ERROR) and closes.
    func leave() {
        guard let context, context.channel.isActive else { return }
        draining = true
        if machine.phase == .active {
            let goAway = machine.close(.noError, "client closing")
            outbox?.writeNow(goAway)
        }
        failAll(RPCError(.cancelled, "the client closed the connection"))
        context.close(promise: nil)
    }

}

@available(*, unavailable)
extension ClientConnectionHandler: Sendable {}
