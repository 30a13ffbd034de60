import DunlinServer
import DunlinTLS
import Foundation
import Testing

@Suite("dunlind serve: TLS or plain TCP")
struct ServerTransportTests {
    @Test("plain TCP without a certificate only on loopback; elsewhere refused unless --insecure-plaintext")
    func plaintextRule() throws {
        #expect(try ServerTransport.choose(host: "127.0.0.1", certificateFile: nil, keyFile: nil, dataDirectory: nil, insecurePlaintext: false) == nil)
        #expect(try ServerTransport.choose(host: "::1", certificateFile: nil, keyFile: nil, dataDirectory: nil, insecurePlaintext: false) == nil)
        for host in ["0.0.0.0", "::", "192.0.2.10", "ar.example.com"] {
            let error = #expect(throws: TransportConfigurationError.self) {
                try ServerTransport.choose(host: host, certificateFile: nil, keyFile: nil, dataDirectory: nil, insecurePlaintext: false)
            }
            #expect(error?.message.contains("--insecure-plaintext") == true && error?.message.contains("--tls-cert") == true)
            #expect(try ServerTransport.choose(host: host, certificateFile: nil, keyFile: nil, dataDirectory: nil, insecurePlaintext: true) == nil)
        }
    }

    @Test("a given pair wins; one half of it, or with --insecure-plaintext, is refused")
    func givenPair() throws {
        let given = try ServerTransport.choose(host: "0.0.0.0", certificateFile: "c.pem", keyFile: "k.pem", dataDirectory: nil, insecurePlaintext: false)
        #expect(given == ServerTLS(certificateFile: "c.pem", keyFile: "k.pem"))
        #expect(throws: TransportConfigurationError.self) {
            try ServerTransport.choose(host: "127.0.0.1", certificateFile: "c.pem", keyFile: nil, dataDirectory: nil, insecurePlaintext: false)
        }
        #expect(throws: TransportConfigurationError.self) {
            try ServerTransport.choose(host: "127.0.0.1", certificateFile: nil, keyFile: "k.pem", dataDirectory: nil, insecurePlaintext: false)
        }
        #expect(throws: TransportConfigurationError.self) {
            try ServerTransport.choose(host: "127.0.0.1", certificateFile: "c.pem", keyFile: "k.pem", dataDirectory: nil, insecurePlaintext: true)
        }
    }

    @Test("a data directory with its own certificate serves TLS, on loopback too, unless --insecure-plaintext")
    func dataDirectoryCertificate() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dunlin-transport-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        #expect(try ServerTransport.choose(host: "127.0.0.1", certificateFile: nil, keyFile: nil, dataDirectory: directory, insecurePlaintext: false) == nil)
        let files = ServerCertificateFiles(dataDirectory: directory)
        let fingerprint = try files.createSelfSigned(names: ["ar.example.com"])
        let own = try #require(try ServerTransport.choose(host: "127.0.0.1", certificateFile: nil, keyFile: nil, dataDirectory: directory, insecurePlaintext: false))
        let ownFingerprint = try own.fingerprint()
        #expect(own.certificateFile == files.certificateFile.path && ownFingerprint == fingerprint)
        #expect(try FileManager.default.attributesOfItem(atPath: files.keyFile.path)[.posixPermissions] as? Int == 0o600)
        #expect(try ServerTransport.choose(host: "0.0.0.0", certificateFile: nil, keyFile: nil, dataDirectory: directory, insecurePlaintext: true) == nil)
    }
}
