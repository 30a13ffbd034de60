/// Why the control store refused a change; nothing was written. The server maps `kind` to one
/// status code each and passes `field` and `reason` on as the call's `ErrorDetail`.
public struct ControlError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        /// A value that can never be right: an unknown currency, a malformed email. INVALID_ARGUMENT.
        case invalid
        /// An id that names nothing (or nothing the caller may see). NOT_FOUND.
        case notFound
        /// A tenant id or email already taken. ALREADY_EXISTS.
        case alreadyExists
        /// Right in itself, but not in the current state: deleting an active tenant, demoting the
        /// last admin, a data directory already initialised. FAILED_PRECONDITION.
        case failedPrecondition
    }

    public var kind: Kind
    /// The request field at fault, in the wire's snake_case (`base_currency`, `user_id`).
    public var field: String
    /// Machine-readable, lower_snake_case: `unknown_currency`, `last_admin`.
    public var reason: String
    /// For people: what was wrong, naming the value.
    public var message: String

    public init(_ kind: Kind, field: String, reason: String, _ message: String) {
        self.kind = kind
        self.field = field
        self.reason = reason
        self.message = message
    }

    public var description: String { "\(field): \(message)" }

    static func invalid(_ field: String, _ reason: String, _ message: String) -> ControlError {
        ControlError(.invalid, field: field, reason: reason, message)
    }

    static func notFound(_ field: String, _ what: String, _ id: String) -> ControlError {
        ControlError(.notFound, field: field, reason: "not_found", "no \(what) \"\(id)\"")
    }
}
