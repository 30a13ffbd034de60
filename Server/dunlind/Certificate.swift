import ArgumentParser
import DunlinServer
import DunlinStore
import DunlinTLS
import DunlinWire
import Foundation

/// `dunlind certificate`: shows or replaces the data directory's self-signed TLS certificate.
struct CertificateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "certificate",
        abstract: "Show the data directory's TLS certificate fingerprint, or replace the certificate (rotation).",
        discussion: """
            Without --show, makes a new self-signed certificate and key (a new key, valid 825 days) in \\
            DIR/tls/, replacing the old pair, and prints the new fingerprint. A running server keeps the \\
            old one until it is restarted. Clients that pinned the old fingerprint then refuse the server \\
            (exit 116, reason certificate_changed) until each logs in again with --fingerprint NEW: \\
            hand the new fingerprint to them the way you handed the first. A server given --tls-cert \\
            and --tls-key does not use this pair; rotate those files instead.
            """
    )

    @Option(help: "The data directory made by `dunlind init`.")
    var data: String

    @Option(name: .customLong("tls-name"), help: "Another host name or address clients reach the server by (repeatable).")
    var tlsNames: [String] = []

    @Flag(help: "Print the current certificate's fingerprint, names and validity; change nothing.")
    var show = false

    @Flag(help: "Print JSON instead of text.")
    var json = false

    func run() async throws {
        let files = ServerCertificateFiles(dataDirectory: URL(fileURLWithPath: data))
        if !show {
            guard FileManager.default.fileExists(atPath: URL(fileURLWithPath: data).appendingPathComponent("control.sqlite").path) else {
                throw ValidationError("\(data) is not a data directory made by `dunlind init`")
            }
            try files.createSelfSigned(names: tlsNames)
        }
        guard files.existing != nil else {
            throw ValidationError("\(files.certificateFile.path) does not exist: run `dunlind certificate --data \(data)` to make one")
        }
        let certificate = try ServerCertificateCheck.certificates(inPEMFile: files.certificateFile.path)[0]
        let fingerprint = try certificate.fingerprint
        let stamp = ISO8601DateFormatter()
        if json {
            let object: [String: Any] = [
                "certificate": files.certificateFile.path, "key": files.keyFile.path, "fingerprint": fingerprint.description,
                "names": certificate.servedNames, "not_before": stamp.string(from: certificate.notValidBefore),
                "not_after": stamp.string(from: certificate.notValidAfter),
            ]
            let encoded = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
            print(String(decoding: encoded, as: UTF8.self))
        } else {
            print("""
                \(show ? "" : "New certificate written; restart dunlind serve to use it.\n")\
                certificate  \(files.certificateFile.path)
                fingerprint  \(fingerprint)
                names        \(certificate.servedNames.joined(separator: ", "))
                valid        \(stamp.string(from: certificate.notValidBefore)) to \(stamp.string(from: certificate.notValidAfter))
                """)
        }
    }
}

/// `dunlind client-ca`: mutual TLS for one tenant. Its users must then present a client
/// certificate signed by one of the given CA certificates, checked at HELLO once their token
/// names the tenant (GOAWAY UNAUTHENTICATED, exit 116 in dunlin, otherwise). Written to the
/// control database, read at every HELLO: a running server applies it to the next connection.
struct ClientCACommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "client-ca",
        abstract: "Require a tenant's users to present a client certificate signed by a CA (mutual TLS), or stop requiring it.",
        discussion: """
            Only over TLS: a plain-TCP server asks no client certificates. Users give theirs with \\
            `dunlin login --client-cert PEM --client-key PEM` (kept in the profile) or on each command. \\
            Recorded in the audit trail as tenant.client_ca.
            """
    )

    @Option(help: "The data directory made by `dunlind init`.")
    var data: String

    @Option(help: "The tenant.")
    var tenant: String

    @Option(help: "PEM file of the CA certificate(s) that sign the tenant's client certificates.")
    var caFile: String?

    @Flag(help: "Stop requiring client certificates for the tenant.")
    var clear = false

    func validate() throws {
        if (caFile == nil) == !clear { throw ValidationError("give --ca-file PEM or --clear") }
    }

    func run() async throws {
        let control: ControlStore
        do {
            control = try ControlStore(URL(fileURLWithPath: data))
        } catch let error as ControlError {
            FileHandle.standardError.write(Data("dunlind: \(error.message)\n".utf8))
            throw ExitCode(100 + Int32(StatusCode.failedPrecondition.rawValue))
        }
        var pem: String?
        var detail = "cleared: no client certificate required"
        if let caFile {
            let certificates = try ServerCertificateCheck.certificates(inPEMFile: caFile)
            pem = try certificates.map { try $0.serializeAsPEM().pemString }.joined(separator: "\n")
            detail = "required, signed by " + (try certificates.map { try $0.fingerprint.description }).joined(separator: ", ")
        }
        do {
            try control.setClientCertificateAuthorities(tenantID: tenant, pem: pem, detail: detail, by: .serverProcess)
        } catch let error as ControlError {
            FileHandle.standardError.write(Data("dunlind: \(error.message)\n".utf8))
            throw ExitCode(100 + Int32(RPCError(error).code.rawValue))
        }
        print("tenant \(tenant): client certificate \(detail)")
    }
}
