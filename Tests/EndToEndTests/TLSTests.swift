import DunlinClient
import DunlinCore
import DunlinServer
import DunlinServices
import DunlinTLS
import DunlinWire
import Foundation
import NIOCore
import Testing
import X509

/// TLS between a real server and the real client on 127.0.0.1 (PROTOCOL.md §2.1): what each way
/// of trusting the server accepts and refuses, with the reason, and the mismatches of plain TCP
/// and TLS, each answered at once instead of a hang or a retry until the client's patience.
@Suite("TLS: the client verifies the server, and mismatches fail fast", .timingSensitive, .timeLimit(.minutes(10)))
struct TLSTests {
    /// The refusal a connection attempt ended with.
    static func refusal(_ client: RPCClient) async -> (error: RPCError?, elapsed: Duration) {
        let start = ContinuousClock.now
        do {
            _ = try await client.connect()
            await client.close()
            return (nil, ContinuousClock.now - start)
        } catch {
            return (error as? RPCError, ContinuousClock.now - start)
        }
    }

    @Test("a client pinning the server's fingerprint connects and calls over TLS; one pinning another is refused: certificate_changed")
    func pinned() async throws {
        let files = try TestCertificates()
        defer { files.remove() }
        let (tls, fingerprint) = try files.server("pinned")
        let server = try await TestServer.start(tls: tls)
        let client = server.client(tls: ClientTLS(trust: .pinned(fingerprint)))
        let reply = try await client.unary(Diagnostics.echo, .with { $0.payload = Data("inside TLS".utf8) })
        #expect(reply.payload == Data("inside TLS".utf8))
        await client.close()

        let (_, other) = try files.server("other")
        let (error, elapsed) = await Self.refusal(server.client(tls: ClientTLS(trust: .pinned(other))))
        #expect(error?.code == .unauthenticated)
        #expect(error?.details.first?.reason == "certificate_changed", "\(String(describing: error))")
        #expect(error?.message.contains("pinned \(other)") == true && error?.message.contains(fingerprint.description) == true, "\(String(describing: error))")
        #expect(elapsed < .seconds(10), "refused only after \(elapsed): it was retried")
        try await server.stop()
    }

    @Test("an expired certificate is refused, pinned or trusted by CA file: certificate_expired")
    func expired() async throws {
        let files = try TestCertificates()
        defer { files.remove() }
        let (tls, fingerprint) = try files.server("expired", from: -60 * 86_400, to: -86_400)
        let server = try await TestServer.start(tls: tls)
        for trust in [ServerTrust.pinned(fingerprint), .authorities(file: tls.certificateFile)] {
            let (error, _) = await Self.refusal(server.client(tls: ClientTLS(trust: trust)))
            #expect(error?.code == .unauthenticated, "\(trust)")
            #expect(error?.details.first?.reason == "certificate_expired", "\(trust): \(String(describing: error))")
            #expect(error?.message.contains("expired at") == true)
        }
        try await server.stop()
    }

    @Test("a certificate for another host is refused even from a trusted CA file: certificate_wrong_host; one for the address is accepted")
    func wrongHost() async throws {
        let files = try TestCertificates()
        defer { files.remove() }
        let (elsewhere, _) = try files.server("elsewhere", names: ["dunlin.example", "10.9.8.7"])
        let server = try await TestServer.start(tls: elsewhere)
        let (error, _) = await Self.refusal(server.client(tls: ClientTLS(trust: .authorities(file: elsewhere.certificateFile))))
        #expect(error?.details.first?.reason == "certificate_wrong_host", "\(String(describing: error))")
        #expect(error?.message.contains("dunlin.example, 10.9.8.7, not 127.0.0.1") == true, "\(String(describing: error))")
        try await server.stop()

        let (here, _) = try files.server("here")
        let good = try await TestServer.start(tls: here)
        let client = good.client(tls: ClientTLS(trust: .authorities(file: here.certificateFile)))
        _ = try await client.connect()
        await client.close()
        try await good.stop()
    }

    @Test("a self-signed certificate neither pinned nor in a trusted CA file is refused: certificate_untrusted, naming its fingerprint")
    func untrusted() async throws {
        let files = try TestCertificates()
        defer { files.remove() }
        let (tls, fingerprint) = try files.server("self-signed")
        let server = try await TestServer.start(tls: tls)
        let (error, elapsed) = await Self.refusal(server.client(tls: ClientTLS(trust: .systemTrustStore)))
        #expect(error?.code == .unauthenticated)
        #expect(error?.details.first?.reason == "certificate_untrusted", "\(String(describing: error))")
        #expect(error?.details.first?.recordID == fingerprint.description)
        #expect(error?.message.contains("--fingerprint \(fingerprint)") == true, "\(String(describing: error))")
        #expect(elapsed < .seconds(10))
        try await server.stop()
    }

    @Test("a certificate signed by a CA in the client's CA file is trusted; the same CA cannot vouch for a client's own pin")
    func signedByAuthority() async throws {
        let files = try TestCertificates()
        defer { files.remove() }
        let now = WallClock.system.now()
        let authority = try CertificateAndKey.selfSigned(
            commonName: "Dunlin test CA", names: [], notBefore: now.addingTimeInterval(-3600), notAfter: now.addingTimeInterval(86_400), isAuthority: true
        )
        let leaf = try authority.issue(
            commonName: "dunlind", names: ["127.0.0.1"], notBefore: now.addingTimeInterval(-3600), notAfter: now.addingTimeInterval(86_400), usage: [.serverAuth]
        )
        let caFile = files.directory.appendingPathComponent("ca.pem")
        try Data(try authority.certificatePEM.utf8).write(to: caFile)
        let server = try await TestServer.start(tls: try files.write(leaf, as: "leaf"))
        let client = server.client(tls: ClientTLS(trust: .authorities(file: caFile.path)))
        _ = try await client.connect()
        await client.close()
        // Pinned to the CA's fingerprint, not the server's: refused.
        let (error, _) = await Self.refusal(server.client(tls: ClientTLS(trust: .pinned(try authority.fingerprint))))
        #expect(error?.details.first?.reason == "certificate_changed")
        try await server.stop()
    }

    @Test("a plain client against a TLS port is told the port speaks TLS (FAILED_PRECONDITION), at once")
    func plainClientOnTLSPort() async throws {
        let files = try TestCertificates()
        defer { files.remove() }
        let server = try await TestServer.start(tls: try files.server("tls-port").tls)
        let (error, elapsed) = await Self.refusal(server.client())
        #expect(error?.code == .failedPrecondition, "\(String(describing: error))")
        #expect(error?.message.contains("this port speaks TLS") == true, "\(String(describing: error))")
        #expect(elapsed < .seconds(10), "refused only after \(elapsed)")
        try await server.stop()
    }

    @Test("a TLS client against a plain port is told there was no TLS handshake (FAILED_PRECONDITION, server_not_tls), at once")
    func tlsClientOnPlainPort() async throws {
        let server = try await TestServer.start()
        let (error, elapsed) = await Self.refusal(server.client(tls: ClientTLS(trust: .systemTrustStore)))
        #expect(error?.code == .failedPrecondition, "\(String(describing: error))")
        #expect(error?.details.first?.reason == "server_not_tls", "\(String(describing: error))")
        #expect(error?.message.contains("plain TCP") == true)
        #expect(elapsed < .seconds(10), "refused only after \(elapsed)")
        try await server.stop()
    }

    @Test("a TLS handshake that never completes is cut at the handshake timeout")
    func stalledHandshake() async throws {
        let files = try TestCertificates()
        defer { files.remove() }
        var limits = ConnectionLimits.defaults
        limits.handshakeTimeout = .milliseconds(500)
        let server = try await TestServer.start(limits: limits, tls: try files.server("stalled").tls)
        // Bare TCP: the header of a TLS handshake record announcing 512 bytes, then nothing.
        let raw = try await RawConnection.connect(port: server.port)
        let start = ContinuousClock.now
        try await raw.send(ByteBuffer(bytes: [0x16, 0x03, 0x01, 0x02, 0x00]))
        try await raw.waitClosed(timeout: .seconds(20))
        let elapsed = ContinuousClock.now - start
        #expect(elapsed >= .milliseconds(400), "closed after \(elapsed), before the timeout")
        await raw.close()
        // Nothing sent at all: cut the same way.
        let silent = try await RawConnection.connect(port: server.port)
        try await silent.waitClosed(timeout: .seconds(20))
        await silent.close()
        try await server.stop()
    }

    @Test("mutual TLS per tenant: a client certificate from the tenant's CA is let in; none, or one from another CA, is refused at HELLO; anonymous calls ask none")
    func mutualTLS() async throws {
        let files = try TestCertificates()
        defer { files.remove() }
        let now = WallClock.system.now()
        func authority(_ name: String) throws -> CertificateAndKey {
            try CertificateAndKey.selfSigned(
                commonName: name, names: [], notBefore: now.addingTimeInterval(-3600), notAfter: now.addingTimeInterval(86_400), isAuthority: true
            )
        }
        let (acmeCA, foreignCA) = (try authority("Acme client CA"), try authority("Someone else's CA"))
        func clientCertificate(_ name: String, from ca: CertificateAndKey) throws -> ServerTLS {
            try files.write(try ca.issue(
                commonName: name, notBefore: now.addingTimeInterval(-3600), notAfter: now.addingTimeInterval(86_400), usage: [.clientAuth]
            ), as: name)
        }
        let ana = try clientCertificate("ana", from: acmeCA)
        let mallory = try clientCertificate("mallory", from: foreignCA)
        let acmePEM = try acmeCA.certificatePEM
        let (tls, fingerprint) = try files.server("mtls")
        let server = try await TestServer.start(
            tls: tls, clientCertificates: TenantClientCertificates { tenant in tenant == "t-acme" ? acmePEM : nil }
        )

        let admitted = server.client(tls: ClientTLS(trust: .pinned(fingerprint), clientCertificateFile: ana.certificateFile, clientKeyFile: ana.keyFile))
        #expect(try await admitted.connect().principal.tenantID == "t-acme")
        await admitted.close()

        let (missing, _) = await Self.refusal(server.client(tls: ClientTLS(trust: .pinned(fingerprint))))
        #expect(missing?.code == .unauthenticated && missing?.message.contains("requires a client certificate") == true, "\(String(describing: missing))")
        let (foreign, _) = await Self.refusal(
            server.client(tls: ClientTLS(trust: .pinned(fingerprint), clientCertificateFile: mallory.certificateFile, clientKeyFile: mallory.keyFile))
        )
        #expect(foreign?.code == .unauthenticated && foreign?.message.contains("not signed by a client certificate authority of tenant t-acme") == true,
                "\(String(describing: foreign))")

        // No token, no tenant: Ping needs no certificate.
        let anonymous = server.client(token: "", tls: ClientTLS(trust: .pinned(fingerprint)))
        _ = try await anonymous.unary(Diagnostics.ping, .init())
        await anonymous.close()
        try await server.stop()
    }
}
