/// Why the domain refused something: which field, and what was wrong with it. The service layer
/// maps each case to one status code (INVALID_ARGUMENT, FAILED_PRECONDITION, NOT_FOUND).
public enum DomainError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A value that can never be right (a negative amount, a due date before the issue date).
    case invalid(field: String, String)
    /// An amount that could not be parsed or combined.
    case money(field: String, MoneyError)
    /// Right in itself, but not against the ledger as it stands (applying more than is unapplied).
    case conflict(field: String, String)
    /// An id that names nothing this tenant has.
    case notFound(field: String, id: String)

    public var field: String {
        switch self {
        case .invalid(let field, _), .money(let field, _), .conflict(let field, _), .notFound(let field, _): field
        }
    }

    public var description: String {
        switch self {
        case .invalid(let field, let reason): "\(field): \(reason)"
        case .money(let field, let error): "\(field): \(error)"
        case .conflict(let field, let reason): "\(field): \(reason)"
        case .notFound(let field, let id): "\(field): no such record \"\(id)\""
        }
    }
}
