import ArgumentParser
import DunlinServer
import DunlinTLS
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
