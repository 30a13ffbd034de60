import DunlinCore
import DunlinServer
import DunlinTLS
import DunlinWire
import Foundation
import Testing

/// TLS through the real executables: `dunlind demo` and `serve` with a certificate, driven by the
/// real `dunlin`, as an operator and an analyst meet it.
@Suite("TLS between real dunlind and dunlin processes", .serialized, .loadsTheMachine, .timeLimit(.minutes(10)))
struct TLSProcessTests {
    static let unauthenticated = 100 + Int32(StatusCode.unauthenticated.rawValue)
    static let failedPrecondition = 100 + Int32(StatusCode.failedPrecondition.rawValue)

    /// `dunlin ARGUMENTS` in the world's laptop environment: status, stdout, stderr.
    func run(_ world: FaultWorld, _ arguments: [String], _ extra: [String: String] = [:]) async throws -> (status: Int32, stdout: String, stderr: String) {
        let child = try ChildProcess(try Executables.url("dunlin"), arguments, environment: world.cliEnvironment(extra))
        let status = try await child.waitForExit(timeout: .seconds(60))
        return (status, child.stdout, child.stderr)
    }

    /// The `error` object of a `--json` failure.
    func error(_ output: String) -> [String: Any] {
        ((try? JSONSerialization.jsonObject(with: Data(output.utf8))) as? [String: Any])?["error"] as? [String: Any] ?? [:]
    }

    @Test("the demo serves TLS; an unpinned login without a terminal is refused showing the fingerprint; a pinned one works; after a rotation sync, and sync --watch, are refused as changed (exit 116, no retry) until the next login")
    func pinnedLoginAndRotation() async throws {
        let world = try await FaultWorld(tls: true)
        defer { try? FileManager.default.removeItem(at: world.directory) }
        let fingerprint = try #require(world.fingerprint)
        #expect(world.server.child.stdout.contains("dunlind TLS certificate \(fingerprint)"), "\(world.server.child.stdout)")

        // A plain client on the TLS port: a clear refusal, not a hang.
        let plain = try await run(world, ["ping", "--server", world.address, "--json"])
        #expect(plain.status == Self.failedPrecondition, "\(plain)")
        #expect((error(plain.stdout)["message"] as? String)?.contains("this port speaks TLS") == true, "\(plain)")
        // demo-tokens.env's DUNLIN_FINGERPRINT pins it for direct commands.
        #expect(try await run(world, ["ping", "--server", world.address], ["DUNLIN_FINGERPRINT": fingerprint]).status == 0)

        // No pin, no terminal: refused, with the fingerprint to check and pin.
        let unpinned = try await run(world, ["login", "--server", world.address, "--token", world.analystToken, "--tls", "--json"])
        #expect(unpinned.status == Self.unauthenticated, "\(unpinned)")
        #expect(error(unpinned.stdout)["reason"] as? String == "certificate_untrusted", "\(unpinned)")
        #expect((error(unpinned.stdout)["message"] as? String)?.contains("--fingerprint \(fingerprint)") == true, "\(unpinned)")

        let login = try await world.cli(["login", "--server", world.address, "--token", world.analystToken, "--fingerprint", fingerprint])
        #expect(login["fingerprint"] as? String == fingerprint)
        let profile = try String(contentsOf: world.directory.appendingPathComponent("xdg-config/dunlin/profiles/default.json"), encoding: .utf8)
        #expect(profile.contains("\"fingerprint\" : \"\(fingerprint)\""), "\(profile)")
        _ = try await world.sync()

        // The operator rotates the certificate and restarts the server.
        let rotated = try ChildProcess(try Executables.url("dunlind"), ["certificate", "--data", world.data.path, "--json"])
        #expect(try await rotated.waitForExit() == 0, "\(rotated.stderr)")
        let newFingerprint = try #require((try JSONSerialization.jsonObject(with: Data(rotated.stdout.utf8)) as? [String: Any])?["fingerprint"] as? String)
        #expect(newFingerprint != fingerprint)
        try await world.restartServer()
        let changed = try await run(world, ["sync", "--json"])
        #expect(changed.status == Self.unauthenticated, "\(changed)")
        #expect(error(changed.stdout)["reason"] as? String == "certificate_changed", "\(changed)")
        let message = error(changed.stdout)["message"] as? String ?? ""
        #expect(message.contains("pinned \(fingerprint)") && message.contains(newFingerprint), "\(message)")
        // A watch ends on it too, with the same exit code, instead of retrying for ever.
        let watch = try await run(world, ["sync", "--watch", "--json"])
        #expect(watch.status == Self.unauthenticated, "\(watch)")
        #expect(error(watch.stdout)["reason"] as? String == "certificate_changed", "\(watch)")
        #expect(!watch.stderr.contains("retrying"), "\(watch)")

        _ = try await world.cli(["login", "--server", world.address, "--token", world.analystToken, "--fingerprint", newFingerprint])
        _ = try await world.sync()
    }

    @Test("dunlind serve warns of its expired certificate naming the dates; dunlin refuses it and one for another host, with the reason (exit 116)")
    func expiredAndWrongHost() async throws {
        let files = try TestCertificates()
        defer { files.remove() }
        let home = files.directory.appendingPathComponent("home").path
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("DUNLIN_") || $0.key == "DUNLIN_CLOCK_OFFSET" }
        environment["XDG_CONFIG_HOME"] = home
        environment["XDG_DATA_HOME"] = home

        let (expired, expiredFingerprint) = try files.server("expired", from: -90 * 86_400, to: -3600)
        let server = try await DunlindProcess(
            arguments: ["--dev-token", "t", "--tls-cert", expired.certificateFile, "--tls-key", expired.keyFile, "--log-level", "warning"], tls: true
        )
        // The operator is told at start, with the dates; it serves (clients judge by their clocks).
        try await server.child.waitForLine(containing: "expired at", onStderr: true)
        #expect(server.child.stderr.contains("\(expired.certificateFile) expired at"), "\(server.child.stderr)")
        let ping = try ChildProcess(
            try Executables.url("dunlin"), ["ping", "--server", "127.0.0.1:\(server.port)", "--fingerprint", expiredFingerprint.description, "--json"],
            environment: environment
        )
        #expect(try await ping.waitForExit() == Self.unauthenticated, "\(ping.stdout)")
        #expect(error(ping.stdout)["reason"] as? String == "certificate_expired", "\(ping.stdout)")
        server.terminate()
        _ = try await server.waitForExit()

        let (elsewhere, _) = try files.server("elsewhere", names: ["collections.example"])
        let other = try await DunlindProcess(arguments: ["--dev-token", "t", "--tls-cert", elsewhere.certificateFile, "--tls-key", elsewhere.keyFile], tls: true)
        let wrong = try ChildProcess(
            try Executables.url("dunlin"), ["ping", "--server", "127.0.0.1:\(other.port)", "--ca-file", elsewhere.certificateFile, "--json"],
            environment: environment
        )
        #expect(try await wrong.waitForExit() == Self.unauthenticated, "\(wrong.stdout)")
        #expect(error(wrong.stdout)["reason"] as? String == "certificate_wrong_host", "\(wrong.stdout)")
        #expect((error(wrong.stdout)["message"] as? String)?.contains("collections.example, not 127.0.0.1") == true, "\(wrong.stdout)")

        // A TLS client on a plain port: a clear refusal too.
        let plainServer = try await DunlindProcess(arguments: ["--dev-token", "t"])
        let tlsOnPlain = try ChildProcess(
            try Executables.url("dunlin"), ["ping", "--server", "127.0.0.1:\(plainServer.port)", "--tls", "--json"], environment: environment
        )
        #expect(try await tlsOnPlain.waitForExit() == Self.failedPrecondition, "\(tlsOnPlain.stdout)")
        #expect(error(tlsOnPlain.stdout)["reason"] as? String == "server_not_tls", "\(tlsOnPlain.stdout)")
        other.terminate()
        plainServer.terminate()
        _ = try await other.waitForExit()
        _ = try await plainServer.waitForExit()
    }

    @Test("dunlind init makes a 0600 key and prints the fingerprint; serve refuses plain TCP off loopback without --insecure-plaintext (exit 64)")
    func initAndPlaintextRule() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dunlin-tls-init-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let initialized = try ChildProcess(try Executables.url("dunlind"), ["init", "--data", directory.path, "--tls-name", "ar.example.com", "--json"])
        #expect(try await initialized.waitForExit() == 0, "\(initialized.stderr)")
        let printed = try #require((try JSONSerialization.jsonObject(with: Data(initialized.stdout.utf8)) as? [String: Any])?["tls_fingerprint"] as? String)
        let files = ServerCertificateFiles(dataDirectory: directory)
        #expect(try FileManager.default.attributesOfItem(atPath: files.keyFile.path)[.posixPermissions] as? Int == 0o600)
        let certificate = try ServerCertificateCheck.certificates(inPEMFile: files.certificateFile.path)[0]
        #expect(try certificate.fingerprint.description == printed)
        #expect(Set(certificate.servedNames).isSuperset(of: ["localhost", "127.0.0.1", "::1", "ar.example.com"]), "\(certificate.servedNames)")

        let refused = try ChildProcess(try Executables.url("dunlind"), ["serve", "--host", "0.0.0.0", "--port", "0", "--dev-token", "t"])
        #expect(try await refused.waitForExit() == 64, "\(refused.stdout) \(refused.stderr)")
        #expect(refused.stderr.contains("--insecure-plaintext"), "\(refused.stderr)")
    }

    @Test("dunlind init --tls-cert --tls-key keeps a given pair after checking it: a key of another certificate, a file that is not PEM, exit 103 naming it with nothing created; one half alone exits 64; kept, serve presents it")
    func initWithGivenCertificate() async throws {
        let files = try TestCertificates()
        defer { files.remove() }
        let (given, givenFingerprint) = try files.server("given")
        let (other, _) = try files.server("other")
        let notPEM = files.directory.appendingPathComponent("not.pem")
        try Data("not a certificate\n".utf8).write(to: notPEM)
        let directory = files.directory.appendingPathComponent("data")
        func initialize(_ arguments: [String]) async throws -> ChildProcess {
            let child = try ChildProcess(try Executables.url("dunlind"), ["init", "--data", directory.path, "--json"] + arguments)
            _ = try await child.waitForExit()
            return child
        }
        let invalid = 100 + Int32(StatusCode.invalidArgument.rawValue)

        let mismatched = try await initialize(["--tls-cert", given.certificateFile, "--tls-key", other.keyFile])
        #expect(try await mismatched.waitForExit() == invalid, "\(mismatched.stderr)")
        #expect(mismatched.stderr.contains("\(other.keyFile) is not the key of \(given.certificateFile)"), "\(mismatched.stderr)")
        for (certificate, key, named) in [(notPEM.path, given.keyFile, notPEM.path), (given.certificateFile, notPEM.path, notPEM.path)] {
            let refused = try await initialize(["--tls-cert", certificate, "--tls-key", key])
            #expect(try await refused.waitForExit() == invalid, "\(refused.stderr)")
            #expect(refused.stderr.contains(named), "\(refused.stderr)")
        }
        let half = try await initialize(["--tls-cert", given.certificateFile])
        #expect(try await half.waitForExit() == 64, "\(half.stderr)")
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("control.sqlite").path), "refused before anything was created")

        let kept = try await initialize(["--tls-cert", given.certificateFile, "--tls-key", given.keyFile])
        #expect(try await kept.waitForExit() == 0, "\(kept.stderr)")
        let printed = (try JSONSerialization.jsonObject(with: Data(kept.stdout.utf8)) as? [String: Any])?["tls_fingerprint"] as? String
        #expect(printed == givenFingerprint.description)
        let own = ServerCertificateFiles(dataDirectory: directory)
        #expect(try FileManager.default.attributesOfItem(atPath: own.keyFile.path)[.posixPermissions] as? Int == 0o600)
        #expect(try Data(contentsOf: own.keyFile) == Data(contentsOf: URL(fileURLWithPath: given.keyFile)))
        let server = try await DunlindProcess(arguments: ["--data", directory.path], tls: true)
        #expect(server.child.stdout.contains("dunlind TLS certificate \(givenFingerprint)"), "\(server.child.stdout)")
        server.terminate()
        _ = try await server.waitForExit()
    }

    @Test("dunlind client-ca makes a tenant require client certificates on a running server: dunlin with one from that CA gets in, without one exit 116")
    func clientCertificateAuthority() async throws {
        let files = try TestCertificates()
        defer { files.remove() }
        let directory = files.directory.appendingPathComponent("data")
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("DUNLIN_") || $0.key == "DUNLIN_CLOCK_OFFSET" }
        environment["XDG_CONFIG_HOME"] = files.directory.appendingPathComponent("config").path
        environment["XDG_DATA_HOME"] = files.directory.appendingPathComponent("share").path
        let initialized = try ChildProcess(try Executables.url("dunlind"), ["init", "--data", directory.path, "--json"])
        #expect(try await initialized.waitForExit() == 0)
        let created = try #require(try JSONSerialization.jsonObject(with: Data(initialized.stdout.utf8)) as? [String: Any])
        let (root, fingerprint) = (try #require(created["token"] as? String), try #require(created["tls_fingerprint"] as? String))
        let server = try await DunlindProcess(arguments: ["--data", directory.path], tls: true)
        defer { server.terminate() }
        func dunlin(_ arguments: [String], token: String, extra: [String] = []) async throws -> (status: Int32, output: String) {
            let child = try ChildProcess(
                try Executables.url("dunlin"),
                arguments + ["--server", "127.0.0.1:\(server.port)", "--token", token, "--fingerprint", fingerprint, "--json"] + extra,
                environment: environment
            )
            return (try await child.waitForExit(timeout: .seconds(60)), child.stdout)
        }
        #expect(try await dunlin(["admin", "tenant", "create", "acme", "--name", "Acme", "--currency", "USD", "--time-zone", "UTC"], token: root).status == 0)
        func object(_ output: String) throws -> [String: Any] {
            try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any])
        }
        let user = try object(try await dunlin(["admin", "user", "create", "--tenant", "acme", "--name", "Ana", "--role", "analyst"], token: root).output)
        let userID = try #require(user["id"] as? String)
        let issued = try object(try await dunlin(["admin", "token", "issue", userID, "--device", "laptop", "--no-expiry"], token: root).output)
        let token = try #require(issued["token"] as? String)
        #expect(try await dunlin(["customers", "list"], token: token).status == 0)

        let now = WallClock.system.now()
        let authority = try CertificateAndKey.selfSigned(
            commonName: "Acme client CA", names: [], notBefore: now.addingTimeInterval(-3600), notAfter: now.addingTimeInterval(86_400), isAuthority: true
        )
        let caFile = files.directory.appendingPathComponent("acme-ca.pem")
        try Data(try authority.certificatePEM.utf8).write(to: caFile)
        let ana = try files.write(try authority.issue(
            commonName: "ana", notBefore: now.addingTimeInterval(-3600), notAfter: now.addingTimeInterval(86_400), usage: [.clientAuth]
        ), as: "ana")
        let set = try ChildProcess(try Executables.url("dunlind"), ["client-ca", "--data", directory.path, "--tenant", "acme", "--ca-file", caFile.path])
        #expect(try await set.waitForExit() == 0, "\(set.stderr)")

        let refused = try await dunlin(["customers", "list"], token: token)
        #expect(refused.status == Self.unauthenticated, "\(refused)")
        #expect(error(refused.output)["message"].map { "\($0)" }?.contains("requires a client certificate") == true, "\(refused)")
        #expect(try await dunlin(["customers", "list"], token: token, extra: ["--client-cert", ana.certificateFile, "--client-key", ana.keyFile]).status == 0)
        // The server admin belongs to no tenant: no certificate asked.
        #expect(try await dunlin(["admin", "tenant", "list"], token: root).status == 0)
    }
}
