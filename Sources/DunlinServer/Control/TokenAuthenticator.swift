import DunlinServices
import DunlinStore
import DunlinWire

/// Authenticates HELLO's token against the control database, and re-checks it at every call.
///
/// An empty token is anonymous (pre-authentication methods only). Any other token must be a live
/// `dnl_` token of an active user whose tenant (if any) is active; otherwise the connection is
/// refused with GOAWAY UNAUTHENTICATED, whose message says why (unknown, revoked, expired, user
/// deactivated, tenant suspended) but never repeats the token. The principal's tenant and role
/// come from the token's user, and only from there.
public struct TokenAuthenticator: Authenticator {
    public let control: ControlStore

    public init(control: ControlStore) {
        self.control = control
    }

    public func authenticate(_ hello: Dunlin_V1_Hello) async throws(RPCError) -> Dunlin_V1_Principal {
        if hello.token.isEmpty { return .anonymous }
        let result: Result<AuthenticatedUser, AuthenticationRefusal>
        do {
            result = try control.authenticate(token: hello.token)
        } catch {
            throw RPCError(.unauthenticated, "the credential could not be checked (control database: \(error)); try again later")
        }
        switch result {
        case .success(let authenticated):
            var principal = Dunlin_V1_Principal(authenticated.user)
            principal.tokenID = authenticated.tokenID
            principal.device = authenticated.device
            return principal
        case .failure(let refusal):
            throw RPCError(.unauthenticated, refusal.description)
        }
    }

    /// The token, its user and tenant re-read from the control database, by the token id HELLO
    /// put in the principal: the same rules as at HELLO, at every call.
    public func recheck(_ principal: Dunlin_V1_Principal) async throws(RPCError) -> Dunlin_V1_Principal {
        guard !principal.tokenID.isEmpty, !principal.id.isEmpty else {
            throw RPCError(.unauthenticated, "this connection's credential is not an API token")
        }
        let result: Result<AuthenticatedUser, AuthenticationRefusal>
        do {
            result = try control.recheck(tokenID: principal.tokenID, userID: principal.id)
        } catch {
            throw RPCError(.unavailable, "the credential could not be checked (control database: \(error)); try again later")
        }
        switch result {
        case .success(let authenticated):
            guard (authenticated.user.tenantID ?? "") == principal.tenantID else {
                throw RPCError(.unauthenticated, "user \(principal.id) no longer belongs to this connection's tenant; sign in again")
            }
            var current = Dunlin_V1_Principal(authenticated.user)
            current.tokenID = authenticated.tokenID
            current.device = authenticated.device
            return current
        case .failure(.tenantSuspended(let tenantID)):
            throw RPCError(.failedPrecondition, "tenant \(tenantID) is suspended", details: [.with { $0.reason = "tenant_suspended" }])
        case .failure(let refusal):
            throw RPCError(.unauthenticated, "\(refusal.description); sign in again with a live token")
        }
    }

    public func credentialChanges() -> AsyncStream<Void> {
        control.credentialChanges.subscribe()
    }
}

extension Dunlin_V1_Principal {
    /// The principal a user's token stands for.
    public init(_ user: UserRecord) {
        self.init()
        id = user.id
        name = user.name
        tenantID = user.tenantID ?? ""
        role = user.role.rawValue
        timeZone = user.timeZone
    }
}
