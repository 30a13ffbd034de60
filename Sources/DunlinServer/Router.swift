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

    /// A context for a call made in-process (a replica answering offline).
    public static func local(principal: Dunlin_V1_Principal, logger: Logger = Logger(label: "dunlin.local")) -> ServerContext {
        ServerContext(principal: principal, method: "", metadata: [:], deadline: nil, connectionID: "local", logger: logger)
    }
}

/// Sends a server-streaming call's responses. Each `write` waits for flow-control credit and for
/// the socket to drain, so a client that does not read cannot make the server buffer without bound.
public struct ResponseWriter<Response: SwiftProtobuf.Message>: Sendable {
    let sink: MessageSink

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
    struct Route: Sendable {
        var kind: CallKind
        var allowsAnonymous: Bool
        var run: @Sendable (ServerCall) async throws -> Void
        /// Unary methods only: the handler itself, for calls made in-process.
        var local: (@Sendable (any SwiftProtobuf.Message, ServerContext) async throws -> any SwiftProtobuf.Message)?
    }

    private(set) var routes: [String: Route] = [:]

    public init() {}

    public var methods: [String] { routes.keys.sorted() }

    func route(_ path: String) -> Route? { routes[path] }

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

/// One call as its handler task sees it.
struct ServerCall: Sendable {
    var context: ServerContext
    var requests: InboundMessages
    var sink: MessageSink

    /// The one request of a unary or server-streaming call.
    func singleRequest<Request: SwiftProtobuf.Message>(_ type: Request.Type) async throws -> Request {
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
struct UndecodableMessage: Error {
    /// What was wrong, for the GOAWAY message.
    var reason: String

    init(_ error: any Error) {
        reason =
            switch error as? BinaryDecodingError {
            case .invalidUTF8?: "a string field is not valid UTF-8"
            case .truncated?: "the message is truncated"
            case .malformedProtobuf?: "the bytes are not protobuf"
            default: "\(error)"
            }
    }
}
