/// gRPC's seventeen status codes, with the same numbers and meanings.
///
/// A script branches on these: the CLI maps each to a documented exit code.
public enum StatusCode: UInt32, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// Not an error.
    case ok = 0
    /// The operation was cancelled, typically by the caller.
    case cancelled = 1
    /// An error with no better code.
    case unknown = 2
    /// The request is invalid whatever the state of the system (a malformed field).
    case invalidArgument = 3
    /// The deadline passed before the operation completed.
    case deadlineExceeded = 4
    /// The entity does not exist, or belongs to another tenant.
    case notFound = 5
    /// The entity to create already exists.
    case alreadyExists = 6
    /// The caller is authenticated but lacks the right.
    case permissionDenied = 7
    /// A resource (streams, quota, message size) is exhausted.
    case resourceExhausted = 8
    /// The system is not in the state the operation needs.
    case failedPrecondition = 9
    /// The operation was aborted, typically by a concurrency conflict.
    case aborted = 10
    /// A value is outside its valid range.
    case outOfRange = 11
    /// The method is not implemented or not supported.
    case unimplemented = 12
    /// An invariant the server expected is broken.
    case `internal` = 13
    /// The service is unavailable for now; retrying may succeed.
    case unavailable = 14
    /// Unrecoverable data loss or corruption.
    case dataLoss = 15
    /// The request has no valid credentials.
    case unauthenticated = 16

    public var description: String {
        switch self {
        case .ok: "OK"
        case .cancelled: "CANCELLED"
        case .unknown: "UNKNOWN"
        case .invalidArgument: "INVALID_ARGUMENT"
        case .deadlineExceeded: "DEADLINE_EXCEEDED"
        case .notFound: "NOT_FOUND"
        case .alreadyExists: "ALREADY_EXISTS"
        case .permissionDenied: "PERMISSION_DENIED"
        case .resourceExhausted: "RESOURCE_EXHAUSTED"
        case .failedPrecondition: "FAILED_PRECONDITION"
        case .aborted: "ABORTED"
        case .outOfRange: "OUT_OF_RANGE"
        case .unimplemented: "UNIMPLEMENTED"
        case .internal: "INTERNAL"
        case .unavailable: "UNAVAILABLE"
        case .dataLoss: "DATA_LOSS"
        case .unauthenticated: "UNAUTHENTICATED"
        }
    }
}

/// The one error type calls fail with, on both sides of the wire: a status code, a message for
/// people, and details saying what was wrong and where.
public struct RPCError: Error, Sendable, Hashable, CustomStringConvertible {
    public var code: StatusCode
    public var message: String
    public var details: [Dunlin_V1_ErrorDetail]

    public init(_ code: StatusCode, _ message: String, details: [Dunlin_V1_ErrorDetail] = []) {
        self.code = code
        self.message = message
        self.details = details
    }

    public init(status: Dunlin_V1_Status) {
        self.code = StatusCode(rawValue: status.code) ?? .unknown
        self.message = status.message
        self.details = status.details
    }

    public var status: Dunlin_V1_Status {
        var status = Dunlin_V1_Status()
        status.code = code.rawValue
        status.message = message
        status.details = details
        return status
    }

    public var description: String { "\(code): \(message)" }

    /// The detail reason marking a call the server never saw (refused by GOAWAY before it was
    /// processed): sending it again cannot apply it twice.
    public static let unprocessedReason = "unprocessed"

    /// UNAVAILABLE for a call the server never processed.
    public static func unprocessed(_ message: String) -> RPCError {
        var detail = Dunlin_V1_ErrorDetail()
        detail.reason = unprocessedReason
        return RPCError(.unavailable, message, details: [detail])
    }

    /// Whether the server certainly never processed the call, so it is safe to retry.
    public var isUnprocessed: Bool {
        code == .unavailable && neverReachedServer
    }

    /// DEADLINE_EXCEEDED for a call whose deadline passed before it was sent: marked like an
    /// unprocessed call, since the server never saw it, but not retried (its caller stopped waiting).
    public static func deadlineExceededUnsent(_ message: String) -> RPCError {
        var detail = Dunlin_V1_ErrorDetail()
        detail.reason = unprocessedReason
        return RPCError(.deadlineExceeded, message, details: [detail])
    }

    /// Whether the call never reached the server, whatever the code: refused unprocessed after a
    /// GOAWAY, or failed by its deadline before it was sent.
    public var neverReachedServer: Bool {
        details.contains { $0.reason == Self.unprocessedReason }
    }
}
