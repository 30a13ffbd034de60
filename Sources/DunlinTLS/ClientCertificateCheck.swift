import Foundation
import SwiftASN1
@_spi(FixedExpiryValidationTime) import X509

/// The server's verdict on the certificate a client presented, for a tenant that asks for one
/// (mutual TLS): it must chain to one of the tenant's client certificate authorities and be
/// within its dates, at the time given (the server's ``WallClock``). Returns the reason for a
/// refusal, or nil.
public enum ClientCertificateCheck {
    /// `authorities` is PEM text holding the tenant's CA certificates.
    public static func refusal(presented: [UInt8]?, authorities pem: String, tenantID: String, now: Date) async -> String? {
        let authorities = ((try? PEMDocument.parseMultiple(pemString: pem)) ?? []).compactMap { try? Certificate(pemDocument: $0) }
        guard !authorities.isEmpty else {
            return "tenant \(tenantID)'s client certificate authorities hold no readable certificate"
        }
        guard let presented else {
            return "tenant \(tenantID) requires a client certificate (mutual TLS); none was presented: connect with --client-cert and --client-key"
        }
        guard let leaf = try? Certificate(derEncoded: presented) else {
            return "the client certificate presented is not a readable X.509 certificate"
        }
        let fingerprint = CertificateFingerprint(der: presented)
        if leaf.notValidAfter < now || leaf.notValidBefore > now {
            return "the client certificate (\(fingerprint)) is not valid now: valid \(leaf.notValidBefore) to \(leaf.notValidAfter)"
        }
        var verifier = Verifier(rootCertificates: CertificateStore(authorities)) { RFC5280Policy(fixedExpiryValidationTime: now) }
        if case .validCertificate = await verifier.validate(leaf: leaf, intermediates: CertificateStore()) { return nil }
        return "the client certificate (\(fingerprint), \(leaf.subject)) is not signed by a client certificate authority of tenant \(tenantID)"
    }
}
