import DunlinStore
import DunlinWire

/// Control-store refusals as statuses, one code per kind, the detail naming field and reason.
/// (Beside the domain mapping in ErrorMapping.swift: the one place store errors become codes.)
extension RPCError {
    public init(_ error: ControlError) {
        let code: StatusCode =
            switch error.kind {
            case .invalid: .invalidArgument
            case .notFound: .notFound
            case .alreadyExists: .alreadyExists
            case .failedPrecondition: .failedPrecondition
            }
        var detail = Dunlin_V1_ErrorDetail()
        detail.field = error.field
        detail.reason = error.reason
        self.init(code, error.description, details: [detail])
    }

    /// Runs a control-store operation, turning its refusals into RPC errors. Other errors (a
    /// failing disk) pass through and end the call INTERNAL, logged.
    static func control<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as ControlError {
            throw RPCError(error)
        }
    }
}
