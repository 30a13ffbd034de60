import NIOCore
import NIOSSL

/// Where TLS sits in the protocol (PROTOCOL.md §2.1): directly on TCP, with the preface and every
/// frame after it inside; ALPN names the protocol.
public enum DunlinTLS {
    /// The ALPN protocol id both sides offer: the wire protocol's major version.
    public static let applicationProtocol = "dunlin/1"

    /// The server's context: its certificate chain and key, TLS 1.2 or later, ALPN "dunlin/1".
    /// With `requestClientCertificates`, it asks every client for a certificate and accepts a
    /// connection without one; the server's custom verification callback takes what is presented
    /// and the tenant's rules decide at HELLO (mutual TLS per tenant).
    public static func serverContext(certificateFile: String, keyFile: String, requestClientCertificates: Bool = false) throws -> NIOSSLContext {
        let chain: [NIOSSLCertificate]
        let key: NIOSSLPrivateKey
        do {
            chain = try NIOSSLCertificate.fromPEMFile(certificateFile)
        } catch {
            throw TLSFileError("--tls-cert \(certificateFile): not a readable PEM certificate (\(error))")
        }
        guard !chain.isEmpty else { throw TLSFileError("--tls-cert \(certificateFile) holds no PEM certificate") }
        do {
            key = try NIOSSLPrivateKey(file: keyFile, format: .pem)
        } catch {
            throw TLSFileError("--tls-key \(keyFile): not a readable PEM private key (\(error))")
        }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key)
        )
        configuration.minimumTLSVersion = .tlsv12
        configuration.applicationProtocols = [applicationProtocol]
        if requestClientCertificates {
            configuration.certificateVerification = .optionalVerification
            configuration.trustRoots = .certificates([])
        }
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw TLSFileError("--tls-cert \(certificateFile) and --tls-key \(keyFile) do not make a TLS identity: \(error)")
        }
    }

    /// The client's context: TLS 1.2 or later, ALPN "dunlin/1", and optionally a client
    /// certificate for servers whose tenant asks for one. Verification of the server is left to
    /// ``ServerCertificateCheck`` through NIOSSL's custom verification callback (so BoringSSL's own
    /// chain and host name checks, which read the real clock, are not used).
    public static func clientContext(certificateFile: String? = nil, keyFile: String? = nil) throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        configuration.applicationProtocols = [applicationProtocol]
        configuration.certificateVerification = .noHostnameVerification
        configuration.trustRoots = .certificates([])
        if let certificateFile, let keyFile {
            do {
                configuration.certificateChain = try NIOSSLCertificate.fromPEMFile(certificateFile).map { .certificate($0) }
                configuration.privateKey = .privateKey(try NIOSSLPrivateKey(file: keyFile, format: .pem))
            } catch {
                throw TLSFileError("--client-cert \(certificateFile) / --client-key \(keyFile): not a readable PEM certificate and key (\(error))")
            }
        }
        return try NIOSSLContext(configuration: configuration)
    }
}
