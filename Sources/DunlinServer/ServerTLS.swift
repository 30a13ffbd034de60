import DunlinCore
import DunlinStore
import DunlinTLS
import DunlinWire
import Foundation
import NIOCore

/// The server's TLS identity: a PEM certificate chain (leaf first) and its PEM private key.
/// Read when the server starts, so a bad file stops `dunlind serve` with its name, before it
/// listens.
public struct ServerTLS: Sendable, Hashable {
    public var certificateFile: String
    public var keyFile: String

    public init(certificateFile: String, keyFile: String) {
        self.certificateFile = certificateFile
        self.keyFile = keyFile
    }

    /// What is wrong with the leaf certificate's dates at `now` (expired, not yet valid), as
    /// `dunlind serve` warns at start; nil when they hold. The server serves it anyway: clients
    /// judge the dates by their own clocks, and a server whose clock is wrong must not lock out
    /// the laptops whose clocks are right. PROTOCOL.md §2.1.
    public func datesWarning(at now: Date) throws -> String? {
        try ServerCertificateCheck.certificates(inPEMFile: certificateFile)[0].datesProblem(at: now)
            .map { "the TLS certificate \(certificateFile) \($0). Replace it (`dunlind certificate --data DIR`, or new --tls-cert files) and restart" }
    }

    /// The fingerprint of the leaf certificate, for the log line and for clients to pin.
    public func fingerprint() throws -> CertificateFingerprint {
        try ServerCertificateCheck.certificates(inPEMFile: certificateFile)[0].fingerprint
    }
}

/// Plain TCP or TLS for `dunlind serve`, by the rules of PROTOCOL.md §2.1:
///
/// - a certificate and key given (`--tls-cert`, `--tls-key`) serve TLS with them;
/// - otherwise the data directory's own pair (``ServerCertificateFiles``, made by `dunlind init`)
///   serves TLS;
/// - `--insecure-plaintext` serves plain TCP on any address, certificate or not (behind a
///   TLS-terminating proxy, say); it cannot be combined with `--tls-cert`;
/// - with no certificate at all, plain TCP is served on a loopback address only (127.0.0.0/8,
///   ::1, localhost); any other address is refused, naming the two ways out.
public enum ServerTransport {
    public static func choose(
        host: String, certificateFile: String?, keyFile: String?, dataDirectory: URL?, insecurePlaintext: Bool
    ) throws(TransportConfigurationError) -> ServerTLS? {
        switch (certificateFile, keyFile) {
        case (.some, nil): throw TransportConfigurationError("--tls-cert needs --tls-key")
        case (nil, .some): throw TransportConfigurationError("--tls-key needs --tls-cert")
        case (.some(let certificate), .some(let key)):
            if insecurePlaintext { throw TransportConfigurationError("give --tls-cert and --tls-key, or --insecure-plaintext, not both") }
            return ServerTLS(certificateFile: certificate, keyFile: key)
        case (nil, nil):
            break
        }
        if insecurePlaintext { return nil }
        if let dataDirectory, let own = ServerCertificateFiles(dataDirectory: dataDirectory).existing {
            return own
        }
        if Loopback.contains(host) { return nil }
        throw TransportConfigurationError(
            "\(host) is not a loopback address, and plain TCP would carry tokens and receivables in clear: give --tls-cert and --tls-key "
                + "(or serve a data directory made by `dunlind init`, which holds a self-signed certificate), or ask for --insecure-plaintext"
        )
    }
}

/// The self-signed certificate and key `dunlind init` (and `dunlind demo`, and
/// `dunlind certificate` to rotate) keep in the data directory: `DIR/tls/server-cert.pem`
/// (0644) and `DIR/tls/server-key.pem` (0600), in `DIR/tls/` (0700).
public struct ServerCertificateFiles: Sendable {
    public let directory: URL
    private let dataDirectory: URL

    public init(dataDirectory: URL) {
        self.dataDirectory = dataDirectory
        directory = dataDirectory.appendingPathComponent(Backups.tlsFolder, isDirectory: true)
    }

    // Named once, in ``Backups``, so a backup always carries the pair the server reads.
    public var certificateFile: URL { dataDirectory.appendingPathComponent(Backups.tlsCertificate) }
    public var keyFile: URL { dataDirectory.appendingPathComponent(Backups.tlsKey) }

    /// The pair, when both files are there.
    public var existing: ServerTLS? {
        let manager = FileManager.default
        guard manager.fileExists(atPath: certificateFile.path), manager.fileExists(atPath: keyFile.path) else { return nil }
        return ServerTLS(certificateFile: certificateFile.path, keyFile: keyFile.path)
    }

    /// How long a self-signed certificate is valid: 825 days, the longest public CAs used to
    /// issue; long enough that rotation is a yearly-or-so chore, short enough that a lost key
    /// does not outlive the laptops that pinned it.
    public static let lifetime: TimeInterval = 825 * 86_400

    /// The names every self-signed certificate carries besides the ones given: the loopback
    /// addresses and this machine's host name.
    public static func defaultNames() -> [String] {
        var names = ["localhost", "127.0.0.1", "::1"]
        let hostName = ProcessInfo.processInfo.hostName
        if !hostName.isEmpty, !names.contains(hostName) { names.append(hostName) }
        return names
    }

    /// Puts a given certificate chain (leaf first) and its private key in place of a self-signed
    /// pair (`dunlind init --tls-cert --tls-key`), after ``CertificateAndKey/read(certificateFile:keyFile:)``
    /// has checked them: the files are copied as they are, the key 0600 from its first byte.
    /// Returns the leaf's fingerprint.
    @discardableResult
    public func install(certificateFile: String, keyFile: String) throws -> CertificateFingerprint {
        let (chain, keyPEM) = try CertificateAndKey.read(certificateFile: certificateFile, keyFile: keyFile)
        try OwnerOnlyFiles.directory(directory)
        try OwnerOnlyFiles.write(Data(keyPEM.utf8), to: self.keyFile)
        try Data(contentsOf: URL(fileURLWithPath: certificateFile)).write(to: self.certificateFile, options: .atomic)
        return try chain[0].fingerprint
    }

    /// Makes a new self-signed certificate (valid from an hour before `clock`'s now, for
    /// ``lifetime``) for the default names plus `names`, and writes it, replacing any pair there.
    /// The key is written 0600 from its first byte.
    @discardableResult
    public func createSelfSigned(names: [String] = [], clock: WallClock = .system) throws -> CertificateFingerprint {
        let now = clock.now()
        var all = Self.defaultNames()
        for name in names where !all.contains(name) { all.append(name) }
        let pair = try CertificateAndKey.selfSigned(
            commonName: "dunlind \(ProcessInfo.processInfo.hostName)", names: all,
            notBefore: now.addingTimeInterval(-3600), notAfter: now.addingTimeInterval(Self.lifetime)
        )
        try OwnerOnlyFiles.directory(directory)
        try OwnerOnlyFiles.write(Data(try pair.privateKeyPEM.utf8), to: keyFile)
        try Data(try pair.certificatePEM.utf8).write(to: certificateFile, options: .atomic)
        return try pair.fingerprint
    }
}
