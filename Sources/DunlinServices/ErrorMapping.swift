import DunlinCore
import DunlinStore
import DunlinWire

/// The one place domain and store refusals become status codes:
/// a value that can never be right is INVALID_ARGUMENT, a rule against the ledger as it stands is
/// FAILED_PRECONDITION, an id the tenant does not have is NOT_FOUND (the same whether it exists in
/// another tenant or nowhere), a client id reused for different content is ALREADY_EXISTS, a value beyond a documented limit (an amount above the maximum, a
/// report total the wire's int64 cannot carry) is OUT_OF_RANGE. The detail names the field and, for batches, the 1-based item.
extension RPCError {
    public init(_ error: DomainError, item: Int? = nil) {
        let code: StatusCode =
            switch error {
            case .invalid, .money: .invalidArgument
            case .conflict: .failedPrecondition
            case .notFound: .notFound
            case .alreadyExists: .alreadyExists
            case .outOfRange: .outOfRange
            }
        var detail = Dunlin_V1_ErrorDetail()
        detail.field = error.field
        detail.reason = "\(code)".lowercased()
        if let item { detail.line = UInt64(item) }
        let prefix = item.map { "item \($0): " } ?? ""
        self.init(code, prefix + error.description, details: [detail])
    }

    /// A write the rights table refuses: PERMISSION_DENIED naming the field and, for batches, the item.
    public init(_ error: AccessDenied, item: Int? = nil) {
        var detail = Dunlin_V1_ErrorDetail()
        detail.field = error.field
        detail.reason = "permission_denied"
        if let item { detail.line = UInt64(item) }
        let prefix = item.map { "item \($0): " } ?? ""
        self.init(.permissionDenied, prefix + error.message, details: [detail])
    }

    public init(_ error: StoreError) {
        switch error {
        case .refused(let index, let domain): self.init(domain, item: index + 1)
        }
    }

    /// Runs `body`, turning domain and store refusals into RPC errors.
    public static func mapping<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch {
            throw mapped(error)
        }
    }

    /// Runs async `body`, turning domain and store refusals into RPC errors.
    public static func mapping<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch {
            throw mapped(error)
        }
    }

    private static func mapped(_ error: any Error) -> any Error {
        switch error {
        case let error as DomainError: RPCError(error)
        case let error as StoreError: RPCError(error)
        case let error as AccessDenied: RPCError(error)
        default: error
        }
    }
}

/// Control-store refusals as statuses, one code per kind, the detail naming field and reason.
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
