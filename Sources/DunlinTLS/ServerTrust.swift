import DunlinCore
import Foundation
import SwiftASN1
@_spi(FixedExpiryValidationTime) import X509

/// How a client decides that the server it reached is the one it meant (PROTOCOL.md §2.1).
public enum ServerTrust: Sendable, Hashable {
    /// The certificate chains to a root of the system's trust store and names the host dialled.
    /// On Linux that is the bundle swift-certificates reads, `/etc/ssl/certs/ca-certificates.crt`
    /// (Debian, Ubuntu; `ca-certificates` package) or `/etc/pki/tls/certs/ca-bundle.crt` (Fedora).
    case systemTrustStore
    /// The certificate chains to one of the certificates in this PEM file (an organisation's CA,
    /// or the server's own self-signed certificate) and names the host dialled.
    case authorities(file: String)
    /// The certificate is exactly this one: a fingerprint pinned at `dunlin login`. The host name
    /// is not checked (the pin is the identity, as an SSH host key is); its validity dates are.
    case pinned(CertificateFingerprint)
}

/// Why a client refused a server's certificate: what a person reads, and a reason a script
/// branches on (`--json` prints it as `reason`; the status is UNAUTHENTICATED, exit 116).
public struct CertificateRefusal: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Reason: String, Sendable, Hashable {
        /// The certificate's notAfter is in the past (by the ``WallClock``).
        case expired = "certificate_expired"
        /// The certificate's notBefore is in the future.
        case notYetValid = "certificate_not_yet_valid"
        /// A pinned fingerprint, and the server presented another certificate.
        case changed = "certificate_changed"
        /// No chain to a trusted root: self-signed and not pinned, or signed by a CA not trusted.
        case untrusted = "certificate_untrusted"
        /// Trusted, but it names neither the host name nor the address dialled.
        case wrongHost = "certificate_wrong_host"
        /// The server presented no certificate, or bytes that are not one.
        case unreadable = "certificate_unreadable"
    }

    public var reason: Reason
    public var message: String
    /// The fingerprint of what the server presented, so it can be shown and pinned.
    public var presented: CertificateFingerprint?

    public var description: String { message }
}

/// Checks the certificate chain a server presents against a ``ServerTrust``, at the time of a
/// ``WallClock`` (so `DUNLIN_CLOCK_OFFSET` moves certificate validity like everything else). It
/// replaces BoringSSL's own verification (NIOSSL's custom verification callback), so every
/// refusal has one of the reasons above.
public struct ServerCertificateCheck: Sendable {
    public let trust: ServerTrust
    /// The host the client dialled: a name, or an IPv4/IPv6 literal.
    public let host: String
    public let clock: WallClock
    private let roots: CertificateStore
    /// The CA file's certificates by fingerprint: one listed there is trusted as itself (the
    /// server's own self-signed certificate handed out as a CA file), with no chain to build.
    private let listed: Set<CertificateFingerprint>

    /// Reads the CA file now, so a missing or unreadable one is reported before any connection.
    public init(trust: ServerTrust, host: String, clock: WallClock = .system) throws {
        self.trust = trust
        self.host = host
        self.clock = clock
        switch trust {
        case .systemTrustStore:
            roots = CertificateStore.systemTrustRoots
            listed = []
        case .authorities(let file):
            let certificates = try Self.certificates(inPEMFile: file)
            roots = CertificateStore(certificates)
            listed = Set(certificates.compactMap { try? $0.fingerprint })
        case .pinned:
            roots = CertificateStore()
            listed = []
        }
    }

    /// Every certificate in a PEM file; throws naming the file when there is none.
    public static func certificates(inPEMFile path: String) throws -> [Certificate] {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw TLSFileError("cannot read \(path): \(error.localizedDescription)")
        }
        let certificates: [Certificate]
        do {
            certificates = try PEMDocument.parseMultiple(pemString: text)
                .filter { $0.discriminator == "CERTIFICATE" }
                .map { try Certificate(pemDocument: $0) }
        } catch {
            throw TLSFileError("\(path) is not a PEM certificate file: \(error)")
        }
        guard !certificates.isEmpty else { throw TLSFileError("\(path) holds no PEM certificate") }
        return certificates
    }

    /// nil when the chain (leaf first, as presented) is acceptable; otherwise why not.
    public func refusal(presented chain: [[UInt8]]) async -> CertificateRefusal? {
        guard let leafDER = chain.first, let leaf = try? Certificate(derEncoded: leafDER) else {
            return CertificateRefusal(reason: .unreadable, message: "the server at \(host) presented no readable certificate")
        }
        let presented = CertificateFingerprint(der: leafDER)
        let names = leaf.servedNames
        let described = "\(presented)\(names.isEmpty ? "" : ", for \(names.joined(separator: ", "))")"
        if case .pinned(let pinned) = trust, pinned != presented {
            return CertificateRefusal(
                reason: .changed,
                message: """
                    the server's certificate has changed: pinned \(pinned), presented \(described). \
                    If its operator replaced it, confirm the new fingerprint with them and log in again with \
                    --fingerprint \(presented); otherwise someone may be intercepting the connection
                    """,
                presented: presented
            )
        }
        let now = clock.now()
        if leaf.notValidAfter < now {
            return CertificateRefusal(
                reason: .expired,
                message: "the server's certificate (\(described)) expired at \(Self.stamp(leaf.notValidAfter)); it is now \(Self.stamp(now))",
                presented: presented
            )
        }
        if leaf.notValidBefore > now {
            return CertificateRefusal(
                reason: .notYetValid,
                message: "the server's certificate (\(described)) is valid only from \(Self.stamp(leaf.notValidBefore)); it is now \(Self.stamp(now))",
                presented: presented
            )
        }
        if case .pinned = trust { return nil }

        if !listed.contains(presented), await !chainsToRoot(leaf, intermediates: chain.dropFirst(), at: now) {
            let source = switch trust {
            case .authorities(let file): "a CA in \(file)"
            default: "a CA of the system's trust store"
            }
            return CertificateRefusal(
                reason: .untrusted,
                message: """
                    the server's certificate (\(described)) is not signed by \(source). If it is the server's \
                    self-signed certificate, confirm this fingerprint with its operator (`dunlind init` printed it) \
                    and pin it: --fingerprint \(presented)
                    """,
                presented: presented
            )
        }
        guard leaf.names(host) else {
            return CertificateRefusal(
                reason: .wrongHost,
                message: "the server's certificate is for \(names.isEmpty ? "no host name" : names.joined(separator: ", ")), not \(host) (\(presented))",
                presented: presented
            )
        }
        return nil
    }

    /// Whether a chain from `leaf` through the presented intermediates reaches a trusted root,
    /// under RFC 5280's rules (signatures, CA flags, key usage, name constraints, dates at `now`).
    private func chainsToRoot(_ leaf: Certificate, intermediates: ArraySlice<[UInt8]>, at now: Date) async -> Bool {
        let store = CertificateStore(intermediates.compactMap { try? Certificate(derEncoded: $0) })
        var verifier = Verifier(rootCertificates: roots) { RFC5280Policy(fixedExpiryValidationTime: now) }
        if case .validCertificate = await verifier.validate(leaf: leaf, intermediates: store) { return true }
        return false
    }

    private static func stamp(_ date: Date) -> String {
        ISO8601DateFormatter().string(from: date)
    }
}

extension Certificate {
    /// Whether the subject alternative names name `host`: an address literal by an iPAddress
    /// entry with the same bytes; a host name by a dNSName, case-insensitively, where `*.` may
    /// stand for one whole left-most label (RFC 6125). The subject's CN is not read.
    public func names(_ host: String) -> Bool {
        guard let names = try? extensions.subjectAlternativeNames else { return false }
        if let octets = GeneralName.addressOctets(host) {
            return names.contains { if case .ipAddress(let entry) = $0 { Array(entry.bytes) == octets } else { false } }
        }
        let wanted = host.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "."))
        return names.contains { name in
            guard case .dnsName(let entry) = name else { return false }
            let pattern = entry.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "."))
            if pattern == wanted { return true }
            guard pattern.hasPrefix("*."), let dot = wanted.firstIndex(of: ".") else { return false }
            return wanted[dot...] == pattern.dropFirst() && dot > wanted.startIndex
        }
    }
}

/// A TLS certificate, key or CA file that cannot be used, named in the message.
public struct TLSFileError: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
