import DunlinCore
import DunlinTLS
import DunlinWire
import Foundation

/// Mutual TLS per tenant: decides at HELLO, once the token has named the tenant, whether the
/// client certificate the connection presented (or its absence) is acceptable. A TLS server
/// given one asks every client for a certificate and accepts the handshake without one; a
/// tenant without authorities asks nothing more.
public protocol ClientCertificatePolicy: Sendable {
    /// nil to let the connection in; otherwise why not (the connection gets GOAWAY
    /// UNAUTHENTICATED with it).
    func refusal(tenantID: String, presented: [UInt8]?) async -> RPCError?
}

/// The tenants' client certificate authorities, read per HELLO through `authorities` (PEM text,
/// nil for a tenant that asks no client certificate): the control database's
/// `tenant_client_ca` in `dunlind serve`, a fixed table in tests.
public struct TenantClientCertificates: ClientCertificatePolicy {
    let authorities: @Sendable (_ tenantID: String) throws -> String?
    let clock: WallClock

    public init(clock: WallClock = .system, authorities: @escaping @Sendable (_ tenantID: String) throws -> String?) {
        self.authorities = authorities
        self.clock = clock
    }

    public func refusal(tenantID: String, presented: [UInt8]?) async -> RPCError? {
        let pem: String?
        do {
            pem = try authorities(tenantID)
        } catch {
            return RPCError(.unavailable, "cannot read tenant \(tenantID)'s client certificate authorities: \(error)")
        }
        guard let pem else { return nil }
        guard let reason = await ClientCertificateCheck.refusal(
            presented: presented, authorities: pem, tenantID: tenantID, now: clock.now()
        ) else { return nil }
        return RPCError(.unauthenticated, reason, details: [.with { $0.reason = "client_certificate_refused" }])
    }
}
