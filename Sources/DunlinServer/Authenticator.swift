import DunlinServices
import DunlinWire

/// Decides who a connection's credential belongs to: at HELLO, and again at every call (the
/// connection calls ``CredentialCheck/recheck(_:)`` before every call that needs a credential,
/// and the call runs as the principal it returns, so a demotion applies at once).
///
/// The principal (and with it tenant and role) comes only from here: request bodies never name
/// them. Throw `RPCError(.unauthenticated, ...)` to refuse the credential: the connection is
/// then sent GOAWAY UNAUTHENTICATED and closed.
public protocol Authenticator: CredentialCheck {
    func authenticate(_ hello: Dunlin_V1_Hello) async throws(RPCError) -> Dunlin_V1_Principal
}

extension Dunlin_V1_Principal {
    /// The principal of a HELLO with no token: it may call only pre-authentication methods.
    public static var anonymous: Dunlin_V1_Principal {
        var principal = Dunlin_V1_Principal()
        principal.role = "anonymous"
        return principal
    }

    public var isAnonymous: Bool { role == "anonymous" }
}

/// Accepts a fixed set of tokens; an empty token is anonymous. The seam the tenant store's
/// authenticator replaces; used by tests and by `dunlind serve` until tenants exist.
public struct StaticTokenAuthenticator: Authenticator {
    public var principals: [String: Dunlin_V1_Principal]

    public init(_ principals: [String: Dunlin_V1_Principal] = [:]) {
        self.principals = principals
    }

    public func authenticate(_ hello: Dunlin_V1_Hello) async throws(RPCError) -> Dunlin_V1_Principal {
        if hello.token.isEmpty { return .anonymous }
        guard let principal = principals[hello.token] else {
            throw RPCError(.unauthenticated, "the token is not valid")
        }
        return principal
    }

    /// The principals are fixed, so the per-call re-check (which trusts what HELLO gave) is
    /// answered at once: calls to non-blocking methods stay on the event loop.
    public func recheckWithoutWaiting(_ principal: Dunlin_V1_Principal) -> Result<Dunlin_V1_Principal, RPCError>? {
        .success(principal)
    }
}
