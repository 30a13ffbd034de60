import DunlinCore
import DunlinTLS
import Foundation
import SwiftASN1
import Testing
import X509

/// The client's verdict on a server's certificate, with certificates made here and a fixed clock:
/// no sockets, no real time.
@Suite("A server's certificate: accepted or refused with its reason")
struct ServerCertificateCheckTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)
    static let clock = WallClock.fixed(now)

    static func server(names: [String] = ["127.0.0.1", "::1", "localhost"], from: TimeInterval = -3600, to: TimeInterval = 86_400) throws -> CertificateAndKey {
        try CertificateAndKey.selfSigned(commonName: "dunlind", names: names, notBefore: now.addingTimeInterval(from), notAfter: now.addingTimeInterval(to))
    }

    static func der(_ pair: CertificateAndKey) throws -> [UInt8] {
        var serializer = DER.Serializer()
        try serializer.serialize(pair.certificate)
        return serializer.serializedBytes
    }

    /// A CA file holding `certificates`.
    static func caFile(_ certificates: CertificateAndKey...) throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("dunlin-ca-\(UUID().uuidString).pem")
        try Data(try certificates.map { try $0.certificatePEM }.joined(separator: "\n").utf8).write(to: url)
        return url.path
    }

    func refusal(_ trust: ServerTrust, host: String = "127.0.0.1", _ chain: CertificateAndKey...) async throws -> CertificateRefusal? {
        let check = try ServerCertificateCheck(trust: trust, host: host, clock: Self.clock)
        return await check.refusal(presented: try chain.map(Self.der))
    }

    @Test("a fingerprint reads as dunlin and openssl write it, and nothing else")
    func fingerprintForms() throws {
        let pair = try Self.server()
        let fingerprint = try pair.fingerprint
        let hex = fingerprint.description.dropFirst("sha256:".count)
        #expect(fingerprint.description.count == 7 + 64)
        #expect(CertificateFingerprint(fingerprint.description) == fingerprint)
        let openssl = "sha256 Fingerprint=" + stride(from: 0, to: 64, by: 2).map { i in
            hex[hex.index(hex.startIndex, offsetBy: i)..<hex.index(hex.startIndex, offsetBy: i + 2)].uppercased()
        }.joined(separator: ":")
        #expect(CertificateFingerprint(openssl) == fingerprint)
        #expect(CertificateFingerprint(String(hex)) == fingerprint)
        #expect(CertificateFingerprint("sha256:abc") == nil)
        #expect(CertificateFingerprint(String(repeating: "g", count: 64)) == nil)
    }

    @Test("pinned: the same certificate passes whatever the host; another is refused as changed, naming both")
    func pinned() async throws {
        let pair = try Self.server(names: ["elsewhere.example"])
        #expect(try await refusal(.pinned(try pair.fingerprint), pair) == nil)
        let other = try Self.server()
        let changed = try #require(try await refusal(.pinned(try other.fingerprint), pair))
        #expect(changed.reason == .changed)
        let (otherPrint, pairPrint) = (try other.fingerprint, try pair.fingerprint)
        #expect(changed.message.contains("pinned \(otherPrint)") && changed.message.contains(pairPrint.description))
        #expect(changed.presented == pairPrint)
    }

    @Test("validity is read on the injected clock: expired and not yet valid are refused, pinned or not")
    func validity() async throws {
        let expired = try Self.server(from: -30 * 86_400, to: -1)
        let future = try Self.server(from: 60, to: 86_400)
        for trust in [ServerTrust.pinned(try expired.fingerprint), .authorities(file: try Self.caFile(expired))] {
            #expect(try await refusal(trust, expired)?.reason == .expired)
        }
        #expect(try await refusal(.pinned(try future.fingerprint), future)?.reason == .notYetValid)
        // The same certificate a day earlier, on that day's clock, passes.
        let earlier = try ServerCertificateCheck(trust: .pinned(try expired.fingerprint), host: "127.0.0.1", clock: .fixed(Self.now.addingTimeInterval(-86_400)))
        #expect(await earlier.refusal(presented: [try Self.der(expired)]) == nil)
    }

    @Test("the operator's warning names the dates: expired, not yet valid, or none within them")
    func datesProblem() throws {
        let pair = try Self.server(from: 86_400, to: 2 * 86_400)
        let early = try #require(pair.certificate.datesProblem(at: Self.now))
        #expect(early.contains("is not valid before 2027-01-16T08:00:00Z") && early.contains("certificate_not_yet_valid"), "\(early)")
        #expect(pair.certificate.datesProblem(at: Self.now.addingTimeInterval(1.5 * 86_400)) == nil)
        let late = try #require(pair.certificate.datesProblem(at: Self.now.addingTimeInterval(3 * 86_400)))
        #expect(late.contains("expired at 2027-01-17T08:00:00Z") && late.contains("certificate_expired"), "\(late)")
    }

    @Test("a given pair is read only when the key is the certificate's; another key or a file that is not PEM is named")
    func givenPair() throws {
        let (pair, other) = (try Self.server(), try Self.server())
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dunlin-pair-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        func write(_ text: String, _ name: String) throws -> String {
            let url = directory.appendingPathComponent(name)
            try Data(text.utf8).write(to: url)
            return url.path
        }
        let (certificate, key, otherKey) = (try write(try pair.certificatePEM, "cert.pem"), try write(try pair.privateKeyPEM, "key.pem"), try write(try other.privateKeyPEM, "other.pem"))
        let read = try CertificateAndKey.read(certificateFile: certificate, keyFile: key)
        #expect(try read.chain.map { try $0.fingerprint } == [try pair.fingerprint])
        let mismatch = #expect(throws: TLSFileError.self) { try CertificateAndKey.read(certificateFile: certificate, keyFile: otherKey) }
        #expect(mismatch?.message.contains("\(otherKey) is not the key of \(certificate)") == true)
        let garbage = try write("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "garbage.pem")
        let notKey = #expect(throws: TLSFileError.self) { try CertificateAndKey.read(certificateFile: certificate, keyFile: garbage) }
        #expect(notKey?.message.contains("\(garbage) is not a PEM private key") == true)
        #expect(throws: TLSFileError.self) { try CertificateAndKey.read(certificateFile: key, keyFile: key) }
    }

    @Test("by CA file: a certificate in it or signed by it passes for a name it carries; another host is refused as wrong host")
    func authorities() async throws {
        let pair = try Self.server(names: ["127.0.0.1", "ar.example.com"])
        let file = try Self.caFile(pair)
        #expect(try await refusal(.authorities(file: file), pair) == nil)
        #expect(try await refusal(.authorities(file: file), host: "ar.example.com", pair) == nil)
        let wrong = try #require(try await refusal(.authorities(file: file), host: "::1", pair))
        #expect(wrong.reason == .wrongHost)
        #expect(wrong.message.contains("127.0.0.1, ar.example.com, not ::1"), "\(wrong.message)")

        let authority = try CertificateAndKey.selfSigned(
            commonName: "CA", names: [], notBefore: Self.now.addingTimeInterval(-3600), notAfter: Self.now.addingTimeInterval(86_400), isAuthority: true
        )
        let leaf = try authority.issue(
            commonName: "dunlind", names: ["localhost"], notBefore: Self.now.addingTimeInterval(-60), notAfter: Self.now.addingTimeInterval(3600), usage: [.serverAuth]
        )
        #expect(try await refusal(.authorities(file: try Self.caFile(authority)), host: "localhost", leaf) == nil)
        // Another CA's file: untrusted.
        let untrusted = try #require(try await refusal(.authorities(file: file), host: "localhost", leaf))
        #expect(untrusted.reason == .untrusted)
        #expect(untrusted.message.contains("--fingerprint \(try leaf.fingerprint)"))
    }

    @Test("no chain, or no certificate at all, is refused with its reason; a missing CA file is named before any connection")
    func nothingUsable() async throws {
        let check = try ServerCertificateCheck(trust: .pinned(try Self.server().fingerprint), host: "127.0.0.1", clock: Self.clock)
        #expect(await check.refusal(presented: [])?.reason == .unreadable)
        #expect(await check.refusal(presented: [[0x30, 0x03, 0x02, 0x01, 0x00]])?.reason == .unreadable)
        #expect(throws: TLSFileError.self) { try ServerCertificateCheck(trust: .authorities(file: "/nonexistent/ca.pem"), host: "h") }
    }

    @Test("loopback is 127.0.0.0/8, ::1 and localhost, and nothing else")
    func loopback() {
        for host in ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost"] { #expect(Loopback.contains(host), "\(host)") }
        for host in ["0.0.0.0", "10.0.0.1", "::", "128.0.0.1", "localhost.example.com", "127.0.0.256", "1127.0.0.1"] {
            #expect(!Loopback.contains(host), "\(host)")
        }
    }
}

@Suite("The names a certificate is for")
struct CertificateNameTests {
    @Test("a wildcard stands for exactly one left-most label; names compare without case; addresses by their bytes")
    func names() throws {
        let now = Date(timeIntervalSince1970: 1_790_000_000)  // any instant: only the names are checked
        let pair = try CertificateAndKey.selfSigned(
            commonName: "x", names: ["*.Example.com", "ar.collections.test", "192.0.2.7", "2001:db8::1"],
            notBefore: now, notAfter: now.addingTimeInterval(60)
        )
        let certificate = pair.certificate
        for host in ["ar.example.com", "AR.EXAMPLE.COM", "ar.collections.test", "192.0.2.7", "2001:db8:0::1"] {
            #expect(certificate.names(host), "\(host)")
        }
        for host in ["example.com", "a.b.example.com", "collections.test", "192.0.2.8", "2001:db8::2", "ar.example.com.evil"] {
            #expect(!certificate.names(host), "\(host)")
        }
    }
}
