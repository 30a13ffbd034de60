import DunlinServices
import DunlinWire
import Logging
import NIOCore
import NIOSSL

/// Tells a connection to shut down gracefully (sent down the pipeline by ``RPCServer``).
struct GracefulShutdownEvent: Sendable {}

/// One server connection: runs the state machine on the event loop, starts a task per call and
/// writes what the tasks send. All protocol decisions are the state machine's; this class only
/// does I/O, timers and task bookkeeping.
final class ServerConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = InboundItem
    typealias OutboundOut = ByteBuffer

    struct Configuration: Sendable {
        var limits: ConnectionLimits
        var serverVersion: String
        var compressResponses: Bool
        var minimumSchemaVersion: UInt32
        /// What the connection counts (nil: nothing).
        var metrics: ServerMetrics? = nil
        /// Holds each tenant to its limits across connections (nil: no tenant limits).
        var gate: TenantGate? = nil
        /// Mutual TLS per tenant: judged at HELLO, after the token (nil: no client certificates).
        var clientCertificates: (any ClientCertificatePolicy)? = nil
    }

    private struct Call {
        var route: Router.Route
        var context: ServerContext
        var request: ByteBuffer?
        var requests: AsyncThrowingStream<ByteBuffer, any Error>.Continuation?
        var task: Task<Void, Never>?
        var deadlineTimer: Scheduled<Void>?
        /// When the call opened, for its duration in the metrics.
        var opened: NIODeadline
        /// What the tenant gate let through, given back when the call ends.
        var admission: TenantGate.Admission?
        /// Request bytes received so far, for a client-streaming call held to its tenant's import size.
        var receivedBytes: Int64 = 0
    }

    private let router: Router
    private let authenticator: any Authenticator
    private let configuration: Configuration
    private var logger: Logger
    private let connectionID: String

    private var machine: ConnectionStateMachine
    private var context: ChannelHandlerContext?
    private var principal = Dunlin_V1_Principal.anonymous
    /// The replica id the client named at HELLO (empty: none); sync calls must name the same.
    private var helloReplicaID = ""
    /// The peer's IP address, for the audit trail (``ServerContext/peerAddress``); empty when the
    /// socket does not say (never for TCP).
    private var peerAddress = ""
    private var calls: [UInt32: Call] = [:]
    private var pending = PendingSends<CheckedContinuation<Void, any Error>>()
    private var handshakeTimer: Scheduled<Void>?
    private var idleTimer: Scheduled<Void>?
    private var outbox: FrameOutbox?
    private var shuttingDown = false
    /// The tenant whose open replicas this connection counts in (set once authenticated with a
    /// replica id, so the count goes down when it closes).
    private var countedReplicaTenant: String?

    init(router: Router, authenticator: any Authenticator, configuration: Configuration, logger: Logger, connectionID: String) {
        self.router = router
        self.authenticator = authenticator
        self.configuration = configuration
        self.connectionID = connectionID
        self.logger = logger
        self.logger[metadataKey: "connection"] = "\(connectionID)"
        self.machine = ConnectionStateMachine(role: .server, limits: configuration.limits, compressOutbound: configuration.compressResponses)
    }

    private var loopBound: NIOLoopBound<ServerConnectionHandler> {
        NIOLoopBound(self, eventLoop: context!.eventLoop)
    }

    // MARK: Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        self.outbox = FrameOutbox(context: context)
        peerAddress = context.channel.remoteAddress?.ipAddress ?? ""
        if context.channel.isActive { startHandshakeTimer(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        if peerAddress.isEmpty { peerAddress = context.channel.remoteAddress?.ipAddress ?? "" }
        startHandshakeTimer(context)
        context.fireChannelActive()
    }

    private func startHandshakeTimer(_ context: ChannelHandlerContext) {
        guard handshakeTimer == nil else { return }
        let handler = loopBound
        let limit = configuration.limits.handshakeTimeout
        handshakeTimer = context.eventLoop.scheduleTask(in: TimeAmount(limit)) {
            handler.value.closeWith(.handshakeTimeout, "no preface and HELLO within \(limit.milliseconds) ms")
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let tenant = countedReplicaTenant {
            configuration.metrics?.replicaClosed(tenant: tenant)
            countedReplicaTenant = nil
        }
        handshakeTimer?.cancel()
        idleTimer?.cancel()
        for (_, call) in calls { abandon(call) }
        calls = [:]
        pending.removeAll { $0.resume(throwing: RPCError(.unavailable, "connection closed")) }
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

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is GracefulShutdownEvent {
            beginGracefulShutdown()
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let error = error as? ProtocolError {
            protocolError(error)
        } else {
            logger.debug("connection error", metadata: ["error": "\(error)"])
            context.close(promise: nil)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let item = unwrapInboundIn(data)
        switch machine.received(item, now: context.eventLoop.now) {
        case .none, .welcomed, .ended, .pongReceived:
            break
        case .authenticate(let hello):
            authenticate(hello)
        case .openCall(let id, let open, let endStream):
            openCall(id, open, endStream: endStream)
        case .refuseCall(_, let end):
            configuration.metrics?.refused("call_refused")
            outbox?.write(end)
        case .message(let id, let message, let size, let endStream):
            messageReceived(id, message, size: size, endStream: endStream)
        case .halfClosed(let id):
            requestsComplete(id)
        case .cancelled(let id):
            if let call = calls.removeValue(forKey: id) { abandon(call) }
            pending.remove(id) { $0.resume(throwing: RPCError(.cancelled, "the client cancelled the call")) }
            callFinished()
        case .sendPong(let pong):
            outbox?.write(pong)
        case .creditAvailable(let id):
            drainPending(only: id)
        case .peerGoingAway:
            logger.debug("client sent GOAWAY")
            context.close(promise: nil)
        case .fail(let error, let goAway):
            fail(error, goAway: goAway)
        }
    }

    // MARK: Handshake

    private func authenticate(_ hello: Dunlin_V1_Hello) {
        let handler = loopBound
        let authenticator = self.authenticator
        logger[metadataKey: "client"] = "\(hello.clientVersion)"
        helloReplicaID = hello.replicaID
        if !hello.replicaID.isEmpty, !SyncMethods.isValidReplicaID(hello.replicaID) {
            return refuse(RPCError(
                .invalidArgument, "HELLO replica_id \"\(hello.replicaID.prefix(64))\" is not a replica id: \"r\" and 32 lower-case hex digits, or empty for no replica"
            ), reason: .handshake)
        }
        let schema = hello.schemaVersion
        if schema != 0, schema < configuration.minimumSchemaVersion || schema > SyncMethods.schemaVersion {
            let advice = schema < configuration.minimumSchemaVersion
                ? "this server needs replica schema \(configuration.minimumSchemaVersion) or newer: upgrade dunlin (\(hello.clientVersion))"
                : "this server speaks replica schema up to \(SyncMethods.schemaVersion): upgrade dunlind"
            return refuse(RPCError(.failedPrecondition, "client replica schema \(schema): " + advice), reason: .upgradeRequired)
        }
        let clientCertificates = configuration.clientCertificates
        // The certificate the client presented in the TLS handshake, if any (read on the loop).
        let presented = clientCertificates == nil ? nil : (try? context?.pipeline.syncOperations.nioSSL_peerCertificate()?.toDERBytes()) ?? nil
        Task {
            do throws(RPCError) {
                let principal = try await authenticator.authenticate(hello)
                if let clientCertificates, !principal.tenantID.isEmpty,
                   let refusal = await clientCertificates.refusal(tenantID: principal.tenantID, presented: presented) {
                    throw refusal
                }
                handler.eventLoop.execute { handler.value.authenticated(principal) }
            } catch {
                handler.eventLoop.execute { handler.value.refuse(error) }
            }
        }
    }

    private func authenticated(_ principal: Dunlin_V1_Principal) {
        guard let welcome = machine.authenticated(
            principal: principal, serverVersion: configuration.serverVersion, connectionID: connectionID
        ) else { return }
        handshakeTimer?.cancel()
        handshakeTimer = nil
        self.principal = principal
        if let metrics = configuration.metrics, !helloReplicaID.isEmpty {
            metrics.replicaOpened(tenant: principal.tenantID)
            countedReplicaTenant = principal.tenantID
        }
        logger[metadataKey: "principal"] = "\(principal.id.isEmpty ? principal.role : principal.id)"
        logger.debug("handshake complete")
        outbox?.writeNow(welcome)
        if shuttingDown { beginGracefulShutdown() } else { armIdleTimer() }
    }

    private func refuse(_ error: RPCError, reason: Dunlin_V1_GoAwayReason = .unauthenticated) {
        guard context != nil else { return }
        logger.info("credential refused", metadata: ["reason": "\(error.message)"])
        configuration.metrics?.refused("\(reason)")
        let goAway = machine.authenticationFailed(error.message, reason: reason)
        outbox?.goAwayAndClose(goAway)
    }

    // MARK: Calls

    private func openCall(_ id: UInt32, _ open: Dunlin_V1_CallOpen, endStream: Bool) {
        idleTimer?.cancel()
        idleTimer = nil
        guard let route = router.route(open.method) else {
            return refuseOpen(id, method: nil, RPCError(.unimplemented, "no method \(open.method)"))
        }
        if principal.isAnonymous, !route.allowsAnonymous {
            return refuseOpen(id, method: open.method, RPCError(.unauthenticated, "\(open.method) needs a credential; this connection is anonymous"))
        }
        var metadata: [String: [UInt8]] = [:]
        for entry in open.metadata {
            guard Self.isValidMetadataKey(entry.key) else {
                return refuseOpen(id, method: open.method, RPCError(
                    .invalidArgument, "metadata key \"\(entry.key)\" is not lower-case [a-z0-9-_.]",
                    details: [.with { $0.field = "metadata"; $0.reason = "invalid_key" }]
                ))
            }
            metadata[entry.key] = [UInt8](entry.value)
        }
        var admission: TenantGate.Admission?
        if let gate = configuration.gate, !principal.tenantID.isEmpty {
            switch gate.admit(tenant: principal.tenantID, streaming: route.kind != .unary, now: context!.eventLoop.now) {
            case .success(let admitted): admission = admitted
            case .failure(let refusal): return refuseOpen(id, method: open.method, refusal)
            }
        }
        let timeout: Duration? = open.timeoutUs > 0 ? .microseconds(Int64(clamping: open.timeoutUs)) : nil
        // The connection's logger, as is: setting per-call metadata costs on every call (the log
        // handler rebuilds its metadata), logged or not. Log lines name stream and method instead.
        let callLogger = logger
        var call = Call(
            route: route,
            context: ServerContext(
                principal: principal, method: open.method, metadata: metadata,
                deadline: timeout.map { ContinuousClock.now + $0 }, connectionID: connectionID, logger: callLogger,
                replicaID: helloReplicaID, peerAddress: peerAddress, authenticator: authenticator,
                observer: configuration.metrics
            ),
            opened: configuration.metrics == nil ? .uptimeNanoseconds(0) : .now(),
            admission: admission
        )
        if let timeout {
            let handler = loopBound
            call.deadlineTimer = context!.eventLoop.scheduleTask(in: TimeAmount(timeout)) {
                handler.value.deadlineExceeded(id)
            }
        }
        calls[id] = call
        if route.kind == .clientStreaming {
            startStreamingRequests(id)
            if endStream { requestsComplete(id) }
        } else if endStream {
            requestsComplete(id)
        }
    }

    /// Ends a call refused before it was opened (`method`: nil for a path no service answers).
    private func refuseOpen(_ id: UInt32, method: String?, _ error: RPCError) {
        if let metrics = configuration.metrics {
            metrics.refused(error.details.first.map(\.reason).flatMap { $0.isEmpty ? nil : $0 } ?? "call_refused")
            metrics.callEnded(method: method, status: error.code, nanoseconds: 0)
        }
        finish(id, status: error.status)
    }

    static func isValidMetadataKey(_ key: String) -> Bool {
        !key.isEmpty && key.utf8.allSatisfy { byte in
            (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
                || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".")
        }
    }

    private func messageReceived(_ id: UInt32, _ message: ByteBuffer, size: Int, endStream: Bool) {
        guard var call = calls[id] else { return }
        if let requests = call.requests {
            if let admission = call.admission {
                call.receivedBytes += Int64(size)
                calls[id] = call
                if call.receivedBytes > admission.maxImportBytes {
                    call.task?.cancel()
                    return finish(id, status: TenantGate.importTooLarge(admission).status)
                }
            }
            consumedSizes[id, default: []].append(size)
            requests.yield(message)
        } else if call.request == nil {
            call.request = message
            calls[id] = call
        } else {
            return finish(id, status: RPCError(.invalidArgument, "\(call.context.method) takes exactly one request message").status)
        }
        if endStream { requestsComplete(id) }
    }

    /// The client sent its last request: start a unary or server-streaming call, or end a
    /// client-streaming call's request stream.
    private func requestsComplete(_ id: UInt32) {
        guard let call = calls[id] else { return }
        if let requests = call.requests {
            requests.finish()
            return
        }
        guard let request = call.request else {
            return finish(id, status: RPCError(.invalidArgument, "\(call.context.method) needs a request message").status)
        }
        calls[id]!.request = nil
        if let answerNow = call.route.answerOnEventLoop, answerOnEventLoop(id, call, request, answerNow) { return }
        start(id, requests: .single(request))
    }

    /// Answers a non-blocking unary call here, on the event loop, in the turn its request arrived
    /// (see ``Router/unary(_:answeringOnEventLoop:otherwise:)``): the same credential re-check,
    /// error mapping and response path as a task's, without the two hops. Returns false, having
    /// done nothing, when the call needs the task path: its credential cannot be re-checked
    /// without I/O, or the handler declined the request.
    private func answerOnEventLoop(
        _ id: UInt32, _ call: Call, _ request: ByteBuffer,
        _ answerNow: (ByteBuffer, ServerContext) throws -> ByteBuffer?
    ) -> Bool {
        var callContext = call.context
        if !call.route.allowsAnonymous {
            guard let checked = authenticator.recheckWithoutWaiting(callContext.principal) else { return false }
            switch checked {
            case .success(let principal): callContext.principal = principal
            case .failure(let error):
                finish(id, status: error.status)
                return true
            }
        }
        let response: ByteBuffer?
        do {
            response = try answerNow(request, callContext)
        } catch {
            end(id, failedWith: error, context: callContext)
            return true
        }
        guard let response else { return false }
        respond(id, response)
        return true
    }

    /// Ends a call whose handler threw: an ``RPCError`` keeps its status, a cancellation is
    /// CANCELLED, an undecodable request is a protocol error (the connection closes), anything
    /// else is logged and INTERNAL. The one mapping for both the task path and the event loop's.
    private func end(_ id: UInt32, failedWith error: any Error, context callContext: ServerContext) {
        switch error {
        case let error as UndecodableMessage:
            protocolError(ProtocolError(
                .malformedMessage, "request on stream \(id) is not a valid message for \(callContext.method): \(error.reason)", streamID: id
            ))
        case let error as RPCError:
            finish(id, status: error.status)
        case is CancellationError:
            finish(id, status: RPCError(.cancelled, "call cancelled").status)
        default:
            callContext.logger.error(
                "handler failed", metadata: ["error": "\(error)", "stream": "\(id)", "method": "\(callContext.method)"]
            )
            finish(id, status: RPCError(.internal, "the server failed to handle the call").status)
        }
    }

    private func startStreamingRequests(_ id: UInt32) {
        let (stream, continuation) = AsyncThrowingStream<ByteBuffer, any Error>.makeStream()
        calls[id]!.requests = continuation
        let handler = loopBound
        start(id, requests: .stream(stream, onConsumed: {
            // Each consumed message frees its bytes of the client's window.
            handler.eventLoop.execute { handler.value.consumed(id) }
        }))
    }

    private var consumedSizes: [UInt32: [Int]] = [:]

    private func consumed(_ id: UInt32) {
        guard var sizes = consumedSizes[id], !sizes.isEmpty else { return }
        let size = sizes.removeFirst()
        consumedSizes[id] = sizes.isEmpty ? nil : sizes
        if let window = machine.consumed(id, size: size) {
            outbox?.write(window)
        }
    }

    private func start(_ id: UInt32, requests: InboundMessages) {
        guard let call = calls[id] else { return }
        let handler = loopBound
        let serverCall = ServerCall(context: call.context, requests: requests, sink: MessageSink(streamID: id, connection: handler))
        let route = call.route
        let authenticator = self.authenticator
        calls[id]!.task = Task {
            var serverCall = serverCall
            do {
                // The one per-call credential check, for every service: the credential as it
                // stands now (revoked, expired, deactivated or suspended since HELLO is refused),
                // and the call runs as the principal it returns (a demotion holds at once).
                if !route.allowsAnonymous {
                    serverCall.context.principal = try await authenticator.recheck(serverCall.context.principal)
                }
                try await route.run(serverCall)
                handler.eventLoop.execute { handler.value.finish(id, status: Dunlin_V1_Status()) }
            } catch {
                let callContext = serverCall.context
                handler.eventLoop.execute { handler.value.end(id, failedWith: error, context: callContext) }
            }
        }
    }

    /// Writes one streaming response once the stream has credit and the socket can take it.
    func send(_ id: UInt32, _ message: ByteBuffer, continuation: CheckedContinuation<Void, any Error>) {
        guard calls[id] != nil else {
            return continuation.resume(throwing: RPCError(.cancelled, "the call has ended"))
        }
        pending.append(id, .init(message: message, endStream: false, waiter: continuation))
        drainPending(only: id)
    }

    private func drainPending(only: UInt32?) {
        outbox?.drain(&pending, machine: &machine, only: only)
    }

    /// Writes a unary or client-streaming call's response and its END OK.
    func respond(_ id: UInt32, _ message: ByteBuffer) {
        guard calls[id] != nil else { return }
        do {
            outbox?.write(try machine.messageFrame(id, message: message))
            finish(id, status: Dunlin_V1_Status())
        } catch {
            finish(id, status: error.status)
        }
    }

    /// Ends a call with its status (nothing when it already ended) and forgets it.
    func finish(_ id: UInt32, status: Dunlin_V1_Status) {
        guard context != nil else { return }
        if let call = calls.removeValue(forKey: id) {
            call.deadlineTimer?.cancel()
            call.requests?.finish(throwing: RPCError(.cancelled, "the call has ended"))
            if let admission = call.admission { configuration.gate?.release(admission) }
            if let metrics = configuration.metrics {
                let elapsed = NIODeadline.now() - call.opened
                metrics.callEnded(method: call.context.method, status: StatusCode(rawValue: status.code) ?? .unknown, nanoseconds: elapsed.nanoseconds)
            }
        }
        consumedSizes[id] = nil
        pending.remove(id) { $0.resume(throwing: RPCError(.cancelled, "the call has ended")) }
        if let end = machine.end(id, status: status) {
            outbox?.write(end)
        }
        callFinished()
    }

    private func deadlineExceeded(_ id: UInt32) {
        guard let call = calls[id] else { return }
        call.task?.cancel()
        finish(id, status: RPCError(.deadlineExceeded, "deadline exceeded after \(call.context.method) ran out of time").status)
    }

    private func abandon(_ call: Call) {
        if let admission = call.admission { configuration.gate?.release(admission) }
        call.deadlineTimer?.cancel()
        call.task?.cancel()
        call.requests?.finish(throwing: RPCError(.cancelled, "the call was cancelled"))
    }

    private func callFinished() {
        guard calls.isEmpty else { return }
        if shuttingDown {
            context?.flush()
            context?.close(promise: nil)
        } else {
            armIdleTimer()
        }
    }

    // MARK: Connection life

    private func armIdleTimer() {
        guard let context, calls.isEmpty, machine.phase == .active else { return }
        idleTimer?.cancel()
        let handler = loopBound
        let limit = configuration.limits.idleTimeout
        idleTimer = context.eventLoop.scheduleTask(in: TimeAmount(limit)) {
            handler.value.closeWith(.idleTimeout, "no call for \(limit.milliseconds) ms")
        }
    }

    private func beginGracefulShutdown() {
        guard let context else { return }
        shuttingDown = true
        guard machine.phase == .active else {
            // Mid-handshake: finish the handshake first (authenticated() calls back here);
            // before HELLO there is nothing to drain.
            if case .authenticating = machine.phase { return }
            context.close(promise: nil)
            return
        }
        idleTimer?.cancel()
        let goAway = machine.beginGracefulShutdown()
        outbox?.writeNow(goAway)
        if calls.isEmpty { context.close(promise: nil) }
    }

    private func closeWith(_ reason: Dunlin_V1_GoAwayReason, _ message: String) {
        guard let context, context.channel.isActive else { return }
        logger.debug("closing", metadata: ["reason": "\(reason)", "message": "\(message)"])
        if reason != .idleTimeout { configuration.metrics?.refused("\(reason)") }
        let goAway = machine.close(reason, message)
        outbox?.goAwayAndClose(goAway)
    }

    func protocolError(_ error: ProtocolError) {
        fail(error, goAway: ConnectionStateMachine.goAwayFrame(error.goAway(lastStreamID: machine.highestStreamID)))
    }

    private func fail(_ error: ProtocolError, goAway: Frame) {
        guard let context, context.channel.isActive else { return }
        logger.info("protocol error", metadata: ["error": "\(error)"])
        configuration.metrics?.refused("\(error.reason)")
        outbox?.goAwayAndClose(goAway)
    }

}

@available(*, unavailable)
extension ServerConnectionHandler: Sendable {}
