import DunlinWire

/// Decides who a connection's credential belongs to: at HELLO, and again at every call.
///
/// The principal (and with it tenant and role) comes only from here: request bodies never name
/// them. Throw `RPCError(.unauthenticated, ...)` to refuse the credential: the connection is
/// then sent GOAWAY UNAUTHENTICATED and closed.
public protocol Authenticator: Sendable {
    func authenticate(_ hello: Dunlin_V1_Hello) async throws(RPCError) -> Dunlin_V1_Principal

    /// The one per-call check: the principal `authenticate` let in, as it stands now. The
    /// connection calls it before every call that needs a credential (and an open stream calls it
    /// again on each ``credentialChanges()`` event), and the call runs as the principal returned,
    /// so a demotion applies at once. A credential gone bad since HELLO (token revoked or
    /// expired, user deactivated, tenant deleted) throws UNAUTHENTICATED; a suspended tenant
    /// FAILED_PRECONDITION. The default trusts what HELLO gave.
    func recheck(_ principal: Dunlin_V1_Principal) async throws(RPCError) -> Dunlin_V1_Principal

    /// Yields whenever a credential may have gone bad, so long-lived streams re-check theirs
    /// instead of outliving it. The default never yields.
    func credentialChanges() -> AsyncStream<Void>
}

extension Authenticator {
    public func recheck(_ principal: Dunlin_V1_Principal) async throws(RPCError) -> Dunlin_V1_Principal { principal }

    public func credentialChanges() -> AsyncStream<Void> {
        AsyncStream { _ in }
    }
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
}
