import DunlinStore
import DunlinWire

/// Authenticates HELLO's token against the control database.
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
            return principal
        case .failure(let refusal):
            throw RPCError(.unauthenticated, refusal.description)
        }
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
    }
}
