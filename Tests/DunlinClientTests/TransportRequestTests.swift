import DunlinClient
import DunlinTLS
import Testing

@Suite("dunlin: TLS or plain TCP, and how the server is trusted")
struct TransportRequestTests {
    static let pin = CertificateFingerprint("sha256:" + String(repeating: "ab", count: 32))!

    @Test("nothing asked: plain TCP to loopback, TLS by the system's trust store elsewhere")
    func byHost() throws {
        #expect(try TransportRequest().resolve(host: "127.0.0.1") == nil)
        #expect(try TransportRequest().resolve(host: "localhost") == nil)
        #expect(try TransportRequest().resolve(host: "ar.example.com") == ClientTLS(trust: .systemTrustStore))
        #expect(try TransportRequest().resolve(host: "192.0.2.1") == ClientTLS(trust: .systemTrustStore))
    }

    @Test("a pin, a CA file or --tls mean TLS even to loopback; --insecure-plaintext means plain TCP anywhere")
    func asked() throws {
        #expect(try TransportRequest(fingerprint: Self.pin).resolve(host: "127.0.0.1") == ClientTLS(trust: .pinned(Self.pin)))
        #expect(try TransportRequest(caFile: "ca.pem").resolve(host: "::1") == ClientTLS(trust: .authorities(file: "ca.pem")))
        #expect(try TransportRequest(tls: true).resolve(host: "127.0.0.1") == ClientTLS(trust: .systemTrustStore))
        #expect(try TransportRequest(insecurePlaintext: true).resolve(host: "ar.example.com") == nil)
    }

    @Test("contradictions are refused: a pin with a CA file, plain TCP with any TLS option, half a client certificate")
    func contradictions() {
        for request in [
            TransportRequest(fingerprint: Self.pin, caFile: "ca.pem"),
            TransportRequest(fingerprint: Self.pin, insecurePlaintext: true),
            TransportRequest(tls: true, insecurePlaintext: true),
            TransportRequest(clientCertificateFile: "c.pem"),
        ] {
            #expect(throws: TransportConfigurationError.self, "\(request)") { try request.resolve(host: "127.0.0.1") }
        }
    }
}
