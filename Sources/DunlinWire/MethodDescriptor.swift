import SwiftProtobuf

/// How many messages each side sends on a call.
public enum CallKind: Sendable, Hashable {
    /// One request, one response.
    case unary
    /// One request, a stream of responses.
    case serverStreaming
    /// A stream of requests, one response.
    case clientStreaming
}

/// A method both sides agree on: its path on the wire, its kind and its message types.
public struct MethodDescriptor<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>: Sendable, Hashable {
    /// "/package.Service/Method", as sent in OPEN.
    public let path: String
    public let kind: CallKind
    /// Whether the method may be called before authentication (an anonymous HELLO).
    public let allowsAnonymous: Bool

    public init(path: String, kind: CallKind, allowsAnonymous: Bool = false) {
        self.path = path
        self.kind = kind
        self.allowsAnonymous = allowsAnonymous
    }
}

/// The Diagnostics service: liveness, server facts, and echo/sum methods that exercise every
/// call kind for tests and benchmarks.
public enum Diagnostics {
    public static let ping = MethodDescriptor<Dunlin_V1_PingRequest, Dunlin_V1_PingResponse>(
        path: "/dunlin.v1.Diagnostics/Ping", kind: .unary, allowsAnonymous: true
    )
    public static let info = MethodDescriptor<Dunlin_V1_InfoRequest, Dunlin_V1_InfoResponse>(
        path: "/dunlin.v1.Diagnostics/Info", kind: .unary, allowsAnonymous: true
    )
    public static let echo = MethodDescriptor<Dunlin_V1_EchoRequest, Dunlin_V1_EchoResponse>(
        path: "/dunlin.v1.Diagnostics/Echo", kind: .unary
    )
    public static let echoStream = MethodDescriptor<Dunlin_V1_EchoStreamRequest, Dunlin_V1_EchoResponse>(
        path: "/dunlin.v1.Diagnostics/EchoStream", kind: .serverStreaming
    )
    public static let sum = MethodDescriptor<Dunlin_V1_SumRequest, Dunlin_V1_SumResponse>(
        path: "/dunlin.v1.Diagnostics/Sum", kind: .clientStreaming
    )
}
