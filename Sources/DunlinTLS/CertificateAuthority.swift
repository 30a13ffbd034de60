import Crypto
import Foundation
import SwiftASN1
import X509
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A certificate and its private key, as PEM text: what `dunlind init` writes into the data
/// directory, and what tests make to play an expired, foreign or wrong-host server, or a
/// tenant's client-certificate authority.
public struct CertificateAndKey: Sendable {
    public let certificate: Certificate
    public let privateKey: Certificate.PrivateKey

    public var certificatePEM: String { get throws { try certificate.serializeAsPEM().pemString } }
    public var privateKeyPEM: String { get throws { try privateKey.serializeAsPEM().pemString } }

    public var fingerprint: CertificateFingerprint { get throws { try certificate.fingerprint } }

    /// A new self-signed certificate on a fresh P-256 key.
    ///
    /// - Parameters:
    ///   - commonName: the subject's CN (informational; clients check the SANs).
    ///   - names: the subject alternative names: IP addresses become iPAddress entries, anything
    ///     else a dNSName.
    ///   - notBefore: start of validity (callers pass their ``WallClock``'s now, less a margin).
    ///   - notAfter: end of validity.
    ///   - isAuthority: whether it may sign others (a tenant's client CA in tests); a server
    ///     certificate is not.
    public static func selfSigned(
        commonName: String, names: [String], notBefore: Date, notAfter: Date, isAuthority: Bool = false
    ) throws -> CertificateAndKey {
        let key = Certificate.PrivateKey(P256.Signing.PrivateKey())
        let subject = try DistinguishedName { CommonName(commonName) }
        return try issue(subject: subject, publicKeyOf: key, names: names, notBefore: notBefore, notAfter: notAfter,
                         isAuthority: isAuthority, usage: isAuthority ? [] : [.serverAuth], issuer: subject, issuerKey: key)
    }

    /// A certificate for a new key signed by this one (which must be an authority): a client
    /// certificate when `usage` is `[.clientAuth]`, a server one with `[.serverAuth]`.
    public func issue(
        commonName: String, names: [String] = [], notBefore: Date, notAfter: Date,
        usage: [ExtendedKeyUsage.Usage]
    ) throws -> CertificateAndKey {
        let key = Certificate.PrivateKey(P256.Signing.PrivateKey())
        return try Self.issue(
            subject: try DistinguishedName { CommonName(commonName) }, publicKeyOf: key, names: names,
            notBefore: notBefore, notAfter: notAfter, isAuthority: false, usage: usage,
            issuer: certificate.subject, issuerKey: privateKey
        )
    }

    private static func issue(
        subject: DistinguishedName, publicKeyOf key: Certificate.PrivateKey, names: [String], notBefore: Date, notAfter: Date,
        isAuthority: Bool, usage: [ExtendedKeyUsage.Usage], issuer: DistinguishedName, issuerKey: Certificate.PrivateKey
    ) throws -> CertificateAndKey {
        let alternativeNames = names.map(GeneralName.init(hostOrAddress:))
        let extensions = try Certificate.Extensions {
            Critical(isAuthority ? BasicConstraints.isCertificateAuthority(maxPathLength: 0) : BasicConstraints.notCertificateAuthority)
            Critical(isAuthority ? KeyUsage(digitalSignature: true, keyCertSign: true) : KeyUsage(digitalSignature: true))
            if !usage.isEmpty { try ExtendedKeyUsage(usage) }
            if !alternativeNames.isEmpty { SubjectAlternativeNames(alternativeNames) }
        }
        let certificate = try Certificate(
            version: .v3,
            serialNumber: Certificate.SerialNumber(),
            publicKey: key.publicKey,
            notValidBefore: notBefore,
            notValidAfter: notAfter,
            issuer: issuer,
            subject: subject,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: extensions,
            issuerPrivateKey: issuerKey
        )
        return CertificateAndKey(certificate: certificate, privateKey: key)
    }
}

extension CertificateAndKey {
    /// A server's own certificate chain (leaf first) and private key, read from PEM files and
    /// checked to belong together (the key's public key is the leaf's), for `dunlind init
    /// --tls-cert --tls-key`. Throws ``TLSFileError`` naming the file and what is wrong with it:
    /// unreadable, not PEM, no certificate, no private key, or a key of another certificate.
    public static func read(certificateFile: String, keyFile: String) throws(TLSFileError) -> (chain: [Certificate], keyPEM: String) {
        let chain: [Certificate]
        do {
            chain = try ServerCertificateCheck.certificates(inPEMFile: certificateFile)
        } catch let error as TLSFileError {
            throw error
        } catch {
            throw TLSFileError("\(certificateFile): \(error)")
        }
        let keyPEM: String
        do {
            keyPEM = try String(contentsOfFile: keyFile, encoding: .utf8)
        } catch {
            throw TLSFileError("cannot read \(keyFile): \(error.localizedDescription)")
        }
        let key: Certificate.PrivateKey
        do {
            key = try Certificate.PrivateKey(pemEncoded: keyPEM)
        } catch {
            throw TLSFileError("\(keyFile) is not a PEM private key (PKCS #8, EC or RSA): \(error)")
        }
        guard key.publicKey == chain[0].publicKey else {
            throw TLSFileError("\(keyFile) is not the key of \(certificateFile): its public key is not the certificate's (the first in the file)")
        }
        return (chain, keyPEM)
    }
}

extension Certificate {
    /// What is wrong with this certificate's dates at `now`, for the operator; nil when `now` is
    /// within them. Clients refuse it for the same reason (`certificate_expired`,
    /// `certificate_not_yet_valid`), judged by their own clocks.
    public func datesProblem(at now: Date) -> String? {
        let stamp = ISO8601DateFormatter()
        let valid = "valid \(stamp.string(from: notValidBefore)) to \(stamp.string(from: notValidAfter)); it is now \(stamp.string(from: now))"
        if now > notValidAfter { return "expired at \(stamp.string(from: notValidAfter)) (\(valid)): clients refuse it (certificate_expired)" }
        if now < notValidBefore { return "is not valid before \(stamp.string(from: notValidBefore)) (\(valid)): clients refuse it (certificate_not_yet_valid) until then, unless this machine's clock is behind theirs" }
        return nil
    }

    /// The SHA-256 of this certificate's DER encoding.
    public var fingerprint: CertificateFingerprint {
        get throws {
            var serializer = DER.Serializer()
            try serializer.serialize(self)
            return CertificateFingerprint(der: serializer.serializedBytes)
        }
    }

    /// The DNS names and IP addresses the certificate names (its SANs), as text, for messages.
    public var servedNames: [String] {
        guard let names = try? extensions.subjectAlternativeNames else { return [] }
        return names.compactMap { name in
            switch name {
            case .dnsName(let dns): dns
            case .ipAddress(let octets): GeneralName.addressText(Array(octets.bytes))
            default: nil
            }
        }
    }
}

extension GeneralName {
    /// An iPAddress entry for an IPv4 or IPv6 literal, a dNSName for anything else.
    init(hostOrAddress text: String) {
        if let octets = Self.addressOctets(text) {
            self = .ipAddress(ASN1OctetString(contentBytes: ArraySlice(octets)))
        } else {
            self = .dnsName(text)
        }
    }

    /// The 4 or 16 bytes of an IP literal, or nil for a host name.
    static func addressOctets(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            return withUnsafeBytes(of: &v4) { Array($0) }
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            return withUnsafeBytes(of: &v6) { Array($0) }
        }
        return nil
    }

    static func addressText(_ octets: [UInt8]) -> String? {
        let family = octets.count == 4 ? AF_INET : octets.count == 16 ? AF_INET6 : nil
        guard let family else { return nil }
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let done = octets.withUnsafeBytes { inet_ntop(family, $0.baseAddress, &buffer, socklen_t(buffer.count)) }
        return done == nil ? nil : String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
