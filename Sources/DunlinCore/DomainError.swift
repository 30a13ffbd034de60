/// Why the domain refused something: which field, and what was wrong with it. The service layer
/// maps each case to one status code (INVALID_ARGUMENT, FAILED_PRECONDITION, NOT_FOUND,
/// ALREADY_EXISTS, OUT_OF_RANGE).
public enum DomainError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A value that can never be right (a negative amount, a due date before the issue date).
    case invalid(field: String, String)
    /// An amount that could not be parsed or combined.
    case money(field: String, MoneyError)
    /// Right in itself, but not against the ledger as it stands (applying more than is unapplied).
    case conflict(field: String, String)
    /// An id that names nothing this tenant has.
    case notFound(field: String, id: String)
    /// A client-chosen id already taken by something with other content: a retry of the same
    /// write is answered as the first was, so this is a different write reusing the id.
    case alreadyExists(field: String, String)
    /// A well-formed value beyond a documented limit (an amount above ``Money/maximumMinorUnits``,
    /// a balance or a report total beyond what the store or the wire carries).
    case outOfRange(field: String, String)

    public var field: String {
        switch self {
        case .invalid(let field, _), .money(let field, _), .conflict(let field, _), .notFound(let field, _),
             .alreadyExists(let field, _), .outOfRange(let field, _): field
        }
    }

    public var description: String {
        switch self {
        case .invalid(let field, let reason): "\(field): \(reason)"
        case .money(let field, let error): "\(field): \(error)"
        case .conflict(let field, let reason): "\(field): \(reason)"
        case .notFound(let field, let id): "\(field): no such record \"\(id)\""
        case .alreadyExists(let field, let reason): "\(field): \(reason)"
        case .outOfRange(let field, let reason): "\(field): \(reason)"
        }
    }
}

extension DomainError {
    /// A refusal about money: a total the wire cannot carry is OUT_OF_RANGE, anything else about
    /// the amount itself INVALID_ARGUMENT.
    public static func refusing(_ error: MoneyError, field: String) -> DomainError {
        if case .totalOutOfRange = error { return .outOfRange(field: field, error.description) }
        return .money(field: field, error)
    }
}
