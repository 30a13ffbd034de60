import DunlinTLS
import DunlinWire
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOSSL
import NIOTLS

/// TLS for a client: how the server is verified, and optionally the client's own certificate
/// for a tenant that asks for one (mutual TLS).
public struct ClientTLS: Sendable, Hashable {
    public var trust: ServerTrust
    /// A PEM client certificate and its key, presented when the server asks.
    public var clientCertificateFile: String?
    public var clientKeyFile: String?

    public init(trust: ServerTrust, clientCertificateFile: String? = nil, clientKeyFile: String? = nil) {
        self.trust = trust
        self.clientCertificateFile = clientCertificateFile
        self.clientKeyFile = clientKeyFile
    }
}

/// What a user asked for about the transport (flags, environment, or a profile), before the host
/// is known; ``resolve(host:)`` applies the rules of PROTOCOL.md §2.1:
///
/// - `--fingerprint` pins; `--ca-file` trusts a CA file; `--tls` (or a client certificate) alone
///   trusts the system's store; any of them means TLS, even to a loopback address;
/// - `--insecure-plaintext` means plain TCP to any host, and cannot be combined with those;
/// - none of them: plain TCP to a loopback address (127.0.0.0/8, ::1, localhost), TLS verified
///   by the system's trust store to any other.
///
/// A profile stores it (its `transport` key) as `dunlin login` settled it: the pinned fingerprint
/// once one is confirmed.
public struct TransportRequest: Sendable, Hashable, Codable {
    public var fingerprint: CertificateFingerprint?
    public var caFile: String?
    public var tls: Bool?
    public var insecurePlaintext: Bool?
    public var clientCertificateFile: String?
    public var clientKeyFile: String?

    public init(
        fingerprint: CertificateFingerprint? = nil, caFile: String? = nil, tls: Bool? = nil, insecurePlaintext: Bool? = nil,
        clientCertificateFile: String? = nil, clientKeyFile: String? = nil
    ) {
        self.fingerprint = fingerprint
        self.caFile = caFile
        self.tls = tls
        self.insecurePlaintext = insecurePlaintext
        self.clientCertificateFile = clientCertificateFile
        self.clientKeyFile = clientKeyFile
    }

    /// Nothing asked: the host decides.
    public var isEmpty: Bool { self == TransportRequest() }

    /// TLS settings for `host`, or nil for plain TCP.
    public func resolve(host: String) throws(TransportConfigurationError) -> ClientTLS? {
        if fingerprint != nil, caFile != nil {
            throw TransportConfigurationError("give --fingerprint or --ca-file, not both")
        }
        if (clientCertificateFile == nil) != (clientKeyFile == nil) {
            throw TransportConfigurationError("--client-cert and --client-key go together")
        }
        let asksTLS = fingerprint != nil || caFile != nil || tls == true || clientCertificateFile != nil
        if insecurePlaintext == true {
            if asksTLS { throw TransportConfigurationError("--insecure-plaintext cannot be combined with --fingerprint, --ca-file, --tls or a client certificate") }
            return nil
        }
        if !asksTLS, Loopback.contains(host) { return nil }
        let trust: ServerTrust = if let fingerprint { .pinned(fingerprint) } else if let caFile { .authorities(file: caFile) } else { .systemTrustStore }
        return ClientTLS(trust: trust, clientCertificateFile: clientCertificateFile, clientKeyFile: clientKeyFile)
    }
}

/// The TLS half of a connection attempt: the context and the check, made once per client.
struct ClientTLSSetup: Sendable {
    let context: NIOSSLContext
    let check: ServerCertificateCheck

    init(_ tls: ClientTLS, host: String) throws {
        context = try DunlinTLS.clientContext(certificateFile: tls.clientCertificateFile, keyFile: tls.clientKeyFile)
        check = try ServerCertificateCheck(trust: tls.trust, host: host)
    }

    /// The handlers that go first on a new channel, and what they will have seen.
    func handlers(host: String, outcome: TLSOutcome) throws -> [any ChannelHandler] {
        let check = self.check
        // SNI carries host names only, never an address literal.
        let isAddress = (try? SocketAddress(ipAddress: host, port: 0)) != nil
        let tlsHandler = try NIOSSLClientHandler(context: context, serverHostname: isAddress ? nil : host) { certificates, promise in
            let chain = certificates.compactMap { try? $0.toDERBytes() }
            promise.completeWithTask {
                if let refusal = await check.refusal(presented: chain) {
                    outcome.refused(refusal)
                    return .failed
                }
                return .certificateVerified
            }
        }
        return [tlsHandler, TLSHandshakeWatch(outcome: outcome)]
    }
}

/// What one connection's TLS handshake came to, read when the connection attempt fails, so
/// the caller gets the reason instead of "connection closed".
final class TLSOutcome: Sendable {
    private let state = NIOLockedValueBox<(refusal: CertificateRefusal?, completed: Bool, failure: String?)>((nil, false, nil))

    func refused(_ refusal: CertificateRefusal) { state.withLockedValue { $0.refusal = refusal } }
    func completed() { state.withLockedValue { $0.completed = true } }
    func failed(_ error: any Error) { state.withLockedValue { if $0.failure == nil { $0.failure = "\(error)" } } }

    /// The error to report for a connection that failed with `error`.
    func explain(_ error: any Error, address: String) -> any Error {
        let (refusal, completed, failure) = state.withLockedValue { $0 }
        if let refusal {
            // The detail's record id is the presented certificate's fingerprint, so `dunlin login`
            // can show it and offer to pin it.
            return RPCError(.unauthenticated, "refused the server at \(address): \(refusal.message)", details: [.with {
                $0.reason = refusal.reason.rawValue
                $0.recordID = refusal.presented?.description ?? ""
            }])
        }
        if !completed, let failure {
            return RPCError(
                .failedPrecondition,
                "no TLS handshake with \(address) (\(failure)): the server may serve plain TCP on this port; "
                    + "then connect without TLS (the default for a loopback address; --insecure-plaintext elsewhere)",
                details: [.with { $0.reason = "server_not_tls" }]
            )
        }
        return error
    }
}

/// Sits after the TLS handler: notes when the handshake completes, and the TLS error that ends
/// one that does not.
private final class TLSHandshakeWatch: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    let outcome: TLSOutcome

    init(outcome: TLSOutcome) { self.outcome = outcome }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .handshakeCompleted = event as? TLSUserEvent { outcome.completed() }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if error is NIOSSLError || error is BoringSSLError { outcome.failed(error) }
        context.fireErrorCaught(error)
    }
}

@available(*, unavailable)
extension TLSHandshakeWatch: Sendable {}
