import DunlinCore
import Foundation
import Testing

/// Released notices through a real mail transfer agent: `dunlind demo` hands its emails to msmtp
/// (Debian's package; `.ci/run` installs it) with `-t -i`, msmtp delivers them over SMTP to a
/// receiver on 127.0.0.1 (aiosmtpd, from PyPI; Support/smtp_receiver.py), and the test reads what
/// arrived. The second case kills dunlind with SIGKILL between the hand-over and its record,
/// restarts it, and checks that the message arrived once.
@Suite("Letters and emails through a real mail transfer agent", .serialized, .loadsTheMachine, .timeLimit(.minutes(10)))
struct MailDeliveryTests {
    /// The SMTP receiver and the folder it keeps messages in.
    final class Receiver {
        let folder: URL
        let child: ChildProcess
        let port: Int

        init() async throws {
            folder = FileManager.default.temporaryDirectory.appendingPathComponent("dunlin-smtp-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Support/smtp_receiver.py")
            child = try ChildProcess(try MailDeliveryTests.onPath("python3"), [script.path, folder.path])
            let line = try await child.waitForLine(containing: "listening", timeout: .seconds(30))
            guard let port = line.split(separator: " ").last.flatMap({ Int($0) }) else { throw RawError("the receiver said \"\(line)\"") }
            self.port = port
        }

        /// Each message received, as text, in no particular order.
        var messages: [String] {
            ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).filter { $0.hasSuffix(".eml") }.compactMap {
                try? String(contentsOf: folder.appendingPathComponent($0), encoding: .utf8)
            }
        }

        /// The msmtp command line that hands a message to this receiver.
        var msmtp: String {
            "\(MailDeliveryTests.msmtpPath) -C /dev/null -t -i --host=127.0.0.1 --port=\(port) --from=ar@demo.example --auth=off --tls=off"
        }

        func stop() {
            child.signal(SIGKILL)
            try? FileManager.default.removeItem(at: folder)
        }
    }

    static var msmtpPath: String { (try? onPath("msmtp").path) ?? "msmtp" }

    static func onPath(_ name: String) throws -> URL {
        for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return URL(fileURLWithPath: candidate) }
        }
        throw RawError("\(name) is not on PATH: .ci/run installs it (apt-get install msmtp; pip install aiosmtpd)")
    }

    /// `dunlin ARGUMENTS --json` as Mia (the manager) on the server.
    static func mia(_ world: FaultWorld, _ arguments: [String]) async throws -> (status: Int32, json: [String: Any]?) {
        let (status, output) = try await runCLI(arguments + ["--json"], environment: world.cliEnvironment([
            "DUNLIN_SERVER": world.address, "DUNLIN_TOKEN": world.managerToken,
        ]))
        let json = try? JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any]
        if json == nil { print("dunlin \(arguments.joined(separator: " ")) exited \(status): \(output)") }
        return (status, json)
    }

    static func notices(_ world: FaultWorld) async throws -> [[String: Any]] {
        try #require(try await mia(world, ["notices", "list", "--all"]).json?["notices"] as? [[String: Any]])
    }

    /// The notices once every released letter and email has left the queue (a release answers at
    /// once and the server delivers after it): waits for that, up to a minute.
    static func delivered(_ world: FaultWorld) async throws -> [[String: Any]] {
        let deadline = ContinuousClock.now + .seconds(60)
        while true {
            let notices = try await notices(world)
            let waiting = notices.filter { ["queued", "sending"].contains($0["delivery"] as? String ?? "") }
            if waiting.isEmpty { return notices }
            try #require(ContinuousClock.now < deadline, "still waiting for delivery: \(waiting.compactMap { $0["id"] as? String })")
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// The decoded base64 parts of a MIME message.
    static func parts(_ message: String) -> [String] {
        message.components(separatedBy: "Content-Transfer-Encoding: base64\r\n\r\n").dropFirst().map { part in
            let encoded = part.components(separatedBy: "\r\n--").first?.replacingOccurrences(of: "\r\n", with: "") ?? ""
            return String(decoding: Data(base64Encoded: encoded) ?? Data(), as: UTF8.self)
        }
    }

    static func header(_ name: String, of message: String) -> String? {
        message.components(separatedBy: "\r\n").first { $0.hasPrefix("\(name): ") }.map { String($0.dropFirst(name.count + 2)) }
    }

    @Test func aReleasedRunsEmailsArriveThroughTheTransferAgentAndItsLettersAreInTheOutbox() async throws {
        let receiver = try await Receiver()
        defer { receiver.stop() }
        let world = try await FaultWorld(serverArguments: ["--sendmail", receiver.msmtp])

        #expect(try await Self.mia(world, ["dunning", "run"]).status == 0)
        let release = try await Self.mia(world, ["dunning", "release"])
        #expect((release.json?["notices"] as? [[String: Any]])?.contains { $0["delivery"] as? String == "queued" } == true, "exit \(release.status)")
        let released = try await Self.delivered(world)
        let emails = released.filter { $0["delivered_as"] as? String == "email" }
        let letters = released.filter { $0["delivered_as"] as? String == "letter" }
        try #require(!emails.isEmpty, "the demo's run has an email to send")
        #expect(!letters.isEmpty, "and letters to write")
        #expect((emails + letters).allSatisfy { $0["delivery"] as? String == "sent" }, "\(released)")

        // What arrived: one message per email notice, to the contact, with the notice's invoices.
        let messages = receiver.messages
        #expect(messages.count == emails.count)
        for notice in emails {
            let id = try #require(notice["id"] as? String)
            let shown = try #require(try await Self.mia(world, ["notices", "show", id]).json)
            let detail = try #require(shown["delivery_detail"] as? String)
            let recipient = try #require(detail.split(separator: " ").dropFirst().first.map { String($0).trimmingCharacters(in: CharacterSet(charactersIn: ",")) })
            let message = try #require(messages.first { $0.contains("X-Envelope-To: \(recipient)\r\n") }, "no message to \(recipient)")
            #expect(Self.header("Subject", of: message)?.hasPrefix("Overdue: ") == true)
            #expect(Self.header("Reply-To", of: message)?.contains("@demo.example>") == true, "the analyst answers")
            #expect(Self.header("From", of: message) == "\"Dunlin Demo Co\" <ar@demo.example>")
            let text = try #require(Self.parts(message).first)
            for line in try #require(shown["lines"] as? [[String: Any]]) {
                #expect(text.contains("Invoice \(try #require(line["reference"] as? String)),"), "\(text)")
            }
        }
        let letterFolder = world.data.appendingPathComponent("outbox/demo/letters")
        #expect(try FileManager.default.contentsOfDirectory(atPath: letterFolder.path).filter { $0.hasSuffix(".html") }.count == letters.count)

        // The table names each customer (the ids stay in --json).
        let (status, table) = try await runCLI(["notices", "list", "--all"], environment: world.cliEnvironment([
            "DUNLIN_SERVER": world.address, "DUNLIN_TOKEN": world.managerToken,
        ]))
        #expect(status == 0)
        #expect(table.contains("Margie's Travel") && table.contains("Cebu Pacific"), "\(table)")

        // Releasing again sends nothing.
        #expect(try await Self.mia(world, ["dunning", "release"]).status == 0)
        #expect(receiver.messages.count == emails.count)
        try await world.stop()
    }

    @Test func aServerKilledBetweenHandingOverAndRecordingSendsTheMessageOnce() async throws {
        let receiver = try await Receiver()
        defer { receiver.stop() }
        // A mail command that hands the message over for real, then SIGKILLs dunlind (its parent)
        // before it can record that it did.
        let scripts = FileManager.default.temporaryDirectory.appendingPathComponent("dunlin-killer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scripts, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scripts) }
        let killer = scripts.appendingPathComponent("sendmail-then-kill.sh")
        try "#!/bin/sh\n\(receiver.msmtp) \"$@\"\nstatus=$?\nkill -KILL $PPID\nexit $status\n".write(to: killer, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: killer.path)
        let world = try await FaultWorld(serverArguments: ["--sendmail", killer.path])

        #expect(try await Self.mia(world, ["dunning", "run"]).status == 0)
        // The release answers; the delivery after it hands the email over and is killed.
        _ = try await Self.mia(world, ["dunning", "release"])
        _ = try await world.server.waitForExit(timeout: .seconds(60))
        #expect(receiver.messages.count == 1, "the message was handed over before the kill")
        let sent = try #require(receiver.messages.first)
        let messageID = try #require(Self.header("Message-ID", of: sent))

        // The server comes back with an honest mail command; its first pass settles the notice.
        try await world.restartServer(arguments: ["--sendmail", receiver.msmtp])
        let deadline = ContinuousClock.now + .seconds(60)
        var unconfirmed: [[String: Any]] = []
        while unconfirmed.isEmpty {
            unconfirmed = try await Self.notices(world).filter { $0["delivery"] as? String == "unconfirmed" }
            guard unconfirmed.isEmpty else { break }
            try #require(ContinuousClock.now < deadline, "no notice became unconfirmed")
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(unconfirmed.count == 1)
        let id = try #require(unconfirmed.first?["id"] as? String)
        #expect(messageID.contains(id.replacingOccurrences(of: ":", with: "_")), "the message is the notice's")
        #expect(receiver.messages.count == 1, "not sent again on its own")

        // A manager who checked the mail log sends it again: now it arrives a second time, on request.
        let resent = try #require(try await Self.mia(world, ["notices", "resend", id]).json?["notices"] as? [[String: Any]])
        #expect(resent.first?["delivery"] as? String == "queued")
        #expect(try await Self.delivered(world).first { $0["id"] as? String == id }?["delivery"] as? String == "sent")
        #expect(receiver.messages.count == 2)
        #expect(receiver.messages.allSatisfy { Self.header("Message-ID", of: $0) == messageID }, "the same Message-ID: a mailbox can tell")
        try await world.stop()
    }
}
