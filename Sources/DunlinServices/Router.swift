import DunlinWire
import Logging
import NIOCore
import SwiftProtobuf

/// What a handler knows about its call.
public struct ServerContext: Sendable {
    /// Who is calling: from the connection's credential, never from the request.
    public var principal: Dunlin_V1_Principal
    public var method: String
    public var metadata: [String: [UInt8]]
    /// When the caller stops waiting, if it said.
    public var deadline: ContinuousClock.Instant?
    public var connectionID: String
    /// The connection's logger (principal and connection id in its metadata). Name the method
    /// and anything call-specific in each log call's own metadata.
    public var logger: Logger
    /// The replica id the connection named at HELLO; empty when it named none (or in-process).
    public var replicaID: String = ""
    /// The IP address of the connection's peer, as the server's socket saw it ("127.0.0.1",
    /// "2001:db8::7"); "local" for a call made in-process. What the audit trail records as "from where".
    public var peerAddress: String = "local"
    /// What re-checks the principal during a long call; nil for in-process calls (the replica),
    /// whose principal is the profile's own.
    package var authenticator: (any CredentialCheck)? = nil
    /// Who counts the work calls do (the server's metrics); nil for in-process calls.
    package var observer: (any WorkObserver)? = nil

    package init(
        principal: Dunlin_V1_Principal, method: String, metadata: [String: [UInt8]], deadline: ContinuousClock.Instant?,
        connectionID: String, logger: Logger, replicaID: String = "", peerAddress: String = "local",
        authenticator: (any CredentialCheck)? = nil, observer: (any WorkObserver)? = nil
    ) {
        self.principal = principal
        self.method = method
        self.metadata = metadata
        self.deadline = deadline
        self.connectionID = connectionID
        self.logger = logger
        self.replicaID = replicaID
        self.peerAddress = peerAddress
        self.authenticator = authenticator
        self.observer = observer
    }

    /// Tells the server's metrics what this call's work came to (nothing in-process).
    public func report(_ work: CallWork) {
        observer?.observe(work, tenant: principal.tenantID)
    }

    /// A context for a call made in-process (a replica answering offline).
    public static func local(principal: Dunlin_V1_Principal, logger: Logger = Logger(label: "dunlin.local")) -> ServerContext {
        ServerContext(principal: principal, method: "", metadata: [:], deadline: nil, connectionID: "local", logger: logger)
    }
}

/// What a call's work came to, as its service tells ``ServerContext/report(_:)``: sizes the
/// server's metrics count, never what was in them.
public enum CallWork: Sendable, Equatable {
    /// A push of this many changes.
    case pushed(records: Int)
    /// A pull or a bootstrap that sent this many records.
    case pulled(records: Int)
    /// An import that wrote this many of `what`.
    case imported(Int, ImportedKind)

    public enum ImportedKind: String, Sendable {
        case entries
        case receipts
    }
}

/// Counts the work calls do (``CallWork``), by tenant.
public protocol WorkObserver: Sendable {
    func observe(_ work: CallWork, tenant: String)
}

extension ServerContext {
    /// The per-call credential check again, mid-call (``CredentialCheck/recheck(_:)``): a
    /// long-lived stream calls it before each message it sends, so an expired token stops there.
    public func recheckCredential() async throws(RPCError) {
        guard let authenticator else { return }
        _ = try await authenticator.recheck(principal)
    }

    /// Runs `body`, a long-lived stream's loop, for as long as the caller's credential stays
    /// valid: when a token is revoked, a user deactivated or a tenant suspended anywhere in this
    /// server, the credential is re-checked at once, and if it no longer holds, `body` is
    /// cancelled and the call ends with the re-check's status (UNAUTHENTICATED, or
    /// FAILED_PRECONDITION for a suspended tenant). Returns when `body` does.
    public func whileCredentialValid(_ body: @escaping @Sendable () async throws -> Void) async throws {
        guard let authenticator else { return try await body() }
        // Subscribe first, then check: a change between the call's own check and here is not missed.
        let changes = authenticator.credentialChanges()
        let principal = self.principal
        _ = try await authenticator.recheck(principal)
        try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                try await body()
                return true
            }
            group.addTask {
                for await _ in changes {
                    _ = try await authenticator.recheck(principal)
                }
                return false
            }
            while let bodyFinished = try await group.next() {
                if bodyFinished {
                    group.cancelAll()
                    return
                }
            }
        }
    }
}

/// Sends a server-streaming call's responses. Each `write` waits for flow-control credit and for
/// the socket to drain, so a client that does not read cannot make the server buffer without bound.
public struct ResponseWriter<Response: SwiftProtobuf.Message>: Sendable {
    let sink: any CallSink

    public func write(_ response: Response) async throws {
        try await sink.send(try response.serializedBuffer())
    }
}

/// A client-streaming call's requests, in order; ends when the client half-closes.
public struct RequestStream<Request: SwiftProtobuf.Message>: AsyncSequence, Sendable {
    public typealias Element = Request
    let messages: InboundMessages

    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: InboundMessages.AsyncIterator

        public mutating func next() async throws -> Request? {
            guard let buffer = try await base.next() else { return nil }
            do {
                return try Request(buffer: buffer)
            } catch {
                throw UndecodableMessage(error)
            }
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: messages.makeAsyncIterator())
    }
}

/// The methods a server answers, by path. Services add themselves with `register(in:)`.
public struct Router: Sendable {
    package struct Route: Sendable {
        package var kind: CallKind
        package var allowsAnonymous: Bool
        package var run: @Sendable (ServerCall) async throws -> Void
        /// Unary methods only: the handler itself, for calls made in-process.
        var local: (@Sendable (any SwiftProtobuf.Message, ServerContext) async throws -> any SwiftProtobuf.Message)?
        /// Non-blocking unary methods only (``Router/unary(_:answeringOnEventLoop:otherwise:)``):
        /// decodes the request, answers it and serializes the response, on the connection's event
        /// loop. Returns nil when this request needs the task path after all (``run``). Throws
        /// what the handler throws, or ``UndecodableMessage`` for a request that is not the
        /// method's message.
        package var answerOnEventLoop: (@Sendable (ByteBuffer, ServerContext) throws -> ByteBuffer?)?
    }

    private(set) var routes: [String: Route] = [:]

    public init() {}

    public var methods: [String] { routes.keys.sorted() }

    package func route(_ path: String) -> Route? { routes[path] }

    public mutating func unary<Request, Response>(
        _ method: MethodDescriptor<Request, Response>,
        _ handler: @escaping @Sendable (Request, ServerContext) async throws -> Response
    ) {
        precondition(method.kind == .unary)
        routes[method.path] = Route(
            kind: .unary, allowsAnonymous: method.allowsAnonymous,
            run: { call in
                let request = try await call.singleRequest(Request.self)
                let response = try await handler(request, call.context)
                try await call.sink.sendLast(try response.serializedBuffer())
            },
            local: { request, context in try await handler(request as! Request, context) }
        )
    }

    /// Registers a unary method that can answer without blocking: `answerNow` runs on the
    /// connection's event loop, right where the request was read, and its response is written from
    /// there, with no hop to the concurrency pool and back. Only for work that is cheap and touches
    /// no store, disk or lock that may be held long (diagnostics such as Ping, Info and Echo):
    /// while it runs, no other call on this connection (or on any connection sharing the loop)
    /// makes progress.
    ///
    /// `answerNow` returns nil for a request it cannot answer at once (an Echo asked to wait, say);
    /// such a request, and every call whose per-call credential check cannot be made without I/O
    /// (``CredentialCheck/recheckWithoutWaiting(_:)`` returns nil), goes to `handler` on a task
    /// like any unary call. In-process calls (``callLocally(_:_:context:)``) run `handler`.
    ///
    /// What holds on either path: the method must exist and the connection be allowed to call it;
    /// the credential is re-checked (unless the method allows anonymous calls) and the handler runs
    /// as the principal the check returns; errors become statuses as on the task path (an
    /// ``RPCError`` keeps its code, anything else is INTERNAL, an undecodable request is a
    /// protocol error); the response is compressed like any other. A call answered on the event
    /// loop ends in the same loop turn as its request arrived, so its deadline timer and a CANCEL
    /// from the client can only meet it before it starts (then it never runs) or after it ended.
    public mutating func unary<Request, Response>(
        _ method: MethodDescriptor<Request, Response>,
        answeringOnEventLoop answerNow: @escaping @Sendable (Request, ServerContext) throws -> Response?,
        otherwise handler: @escaping @Sendable (Request, ServerContext) async throws -> Response
    ) {
        unary(method, handler)
        routes[method.path]?.answerOnEventLoop = { buffer, context in
            let request: Request
            do {
                request = try Request(buffer: buffer)
            } catch {
                throw UndecodableMessage(error)
            }
            return try answerNow(request, context).map { try $0.serializedBuffer() }
        }
    }

    /// Registers a unary method whose handler never blocks: it answers every request on the
    /// connection's event loop (see ``unary(_:answeringOnEventLoop:otherwise:)``, whose task path
    /// runs the same handler when the credential check needs I/O).
    public mutating func nonBlockingUnary<Request, Response>(
        _ method: MethodDescriptor<Request, Response>,
        _ handler: @escaping @Sendable (Request, ServerContext) throws -> Response
    ) {
        unary(method, answeringOnEventLoop: handler, otherwise: { request, context in try handler(request, context) })
    }

    /// Runs a unary method's handler in this process, without a connection: how a replica answers
    /// the receivables and records methods offline with exactly the server's validation and reports.
    public func callLocally<Request, Response>(
        _ method: MethodDescriptor<Request, Response>, _ request: Request, context: ServerContext
    ) async throws -> Response {
        guard let local = routes[method.path]?.local else {
            throw RPCError(.unimplemented, "\(method.path) is not answered offline; it needs the server")
        }
        var context = context
        context.method = method.path
        return try await local(request, context) as! Response
    }

    public mutating func serverStreaming<Request, Response>(
        _ method: MethodDescriptor<Request, Response>,
        _ handler: @escaping @Sendable (Request, ResponseWriter<Response>, ServerContext) async throws -> Void
    ) {
        precondition(method.kind == .serverStreaming)
        routes[method.path] = Route(kind: .serverStreaming, allowsAnonymous: method.allowsAnonymous) { call in
            let request = try await call.singleRequest(Request.self)
            try await handler(request, ResponseWriter(sink: call.sink), call.context)
        }
    }

    public mutating func clientStreaming<Request, Response>(
        _ method: MethodDescriptor<Request, Response>,
        _ handler: @escaping @Sendable (RequestStream<Request>, ServerContext) async throws -> Response
    ) {
        precondition(method.kind == .clientStreaming)
        routes[method.path] = Route(kind: .clientStreaming, allowsAnonymous: method.allowsAnonymous) { call in
            let response = try await handler(RequestStream(messages: call.requests), call.context)
            try await call.sink.sendLast(try response.serializedBuffer())
        }
    }
}

/// A group of methods registered together.
public protocol RPCService: Sendable {
    func register(in router: inout Router)
}

/// One call as its handler task sees it: what a transport hands the router.
package struct ServerCall: Sendable {
    package var context: ServerContext
    package var requests: InboundMessages
    package var sink: any CallSink

    package init(context: ServerContext, requests: InboundMessages, sink: any CallSink) {
        self.context = context
        self.requests = requests
        self.sink = sink
    }

    /// The one request of a unary or server-streaming call.
    package func singleRequest<Request: SwiftProtobuf.Message>(_ type: Request.Type) async throws -> Request {
        var iterator = requests.makeAsyncIterator()
        guard let buffer = try await iterator.next() else {
            throw RPCError(.invalidArgument, "the call ended without a request message")
        }
        let request: Request
        do {
            request = try Request(buffer: buffer)
        } catch {
            throw UndecodableMessage(error)
        }
        guard try await iterator.next() == nil else {
            throw RPCError(.invalidArgument, "\(context.method) takes exactly one request message")
        }
        return request
    }
}

/// A request message that is not valid protobuf: a protocol error, so the connection closes.
/// Text is never repaired: a string field that is not valid UTF-8 fails decoding (SwiftProtobuf
/// checks it) and the error says so, rather than the server storing U+FFFD in its place.
package struct UndecodableMessage: Error {
    /// What was wrong, for the GOAWAY message.
    package var reason: String

    package init(_ error: any Error) {
        reason =
            switch error as? BinaryDecodingError {
            case .invalidUTF8?: "a string field is not valid UTF-8"
            case .truncated?: "the message is truncated"
            case .malformedProtobuf?: "the bytes are not protobuf"
            default: "\(error)"
            }
    }
}

/// Where a call's responses go: the connection's event loop for a network call.
package protocol CallSink: Sendable {
    /// Sends one message, returning once it is written out (or failing if the call ended).
    func send(_ message: ByteBuffer) async throws
    /// Sends the call's only response followed by END OK.
    func sendLast(_ message: ByteBuffer) async throws
}

/// Checks a call's principal again while it runs. The network server's authenticator is one; an
/// in-process call (a replica's) has none: its principal is the profile's own.
public protocol CredentialCheck: Sendable {
    /// The principal HELLO let in, as it stands now. A credential gone bad since HELLO (token
    /// revoked or expired, user deactivated, tenant deleted) throws UNAUTHENTICATED; a suspended
    /// tenant FAILED_PRECONDITION. The default trusts what HELLO gave.
    func recheck(_ principal: Dunlin_V1_Principal) async throws(RPCError) -> Dunlin_V1_Principal

    /// Yields whenever a credential may have gone bad, so long-lived streams re-check theirs
    /// instead of outliving it. The default never yields.
    func credentialChanges() -> AsyncStream<Void>

    /// ``recheck(_:)``'s answer when it can be given at once, without I/O or waiting (it is
    /// called on a connection's event loop, for calls answered there); nil when it cannot, and
    /// the call then takes the task path, which awaits ``recheck(_:)``. It must agree with
    /// ``recheck(_:)``. The default is nil, so an authenticator that re-checks against a store
    /// is never asked to block a loop.
    func recheckWithoutWaiting(_ principal: Dunlin_V1_Principal) -> Result<Dunlin_V1_Principal, RPCError>?
}

extension CredentialCheck {
    public func recheck(_ principal: Dunlin_V1_Principal) async throws(RPCError) -> Dunlin_V1_Principal { principal }

    public func recheckWithoutWaiting(_ principal: Dunlin_V1_Principal) -> Result<Dunlin_V1_Principal, RPCError>? { nil }

    public func credentialChanges() -> AsyncStream<Void> {
        AsyncStream { _ in }
    }
}
