import DunlinWire
import Foundation
import SwiftProtobuf
import Testing

/// The `service` blocks of `Protocol/*.proto` are what a client in another language generates its
/// stubs from; the Swift `MethodDescriptor`s are what the server and client really use. These
/// tests hold the two to each other, rpc by rpc, so they cannot drift apart.
@Suite("Protocol services")
struct ProtoServiceTests {
    /// One method as either side states it: path, request and response message names, kind.
    struct Method: Hashable, CustomStringConvertible {
        var path: String
        var request: String
        var response: String
        var kind: CallKind

        init(path: String, request: String, response: String, kind: CallKind) {
            self.path = path
            self.request = request
            self.response = response
            self.kind = kind
        }

        init<Request, Response>(_ descriptor: MethodDescriptor<Request, Response>) {
            self.init(
                path: descriptor.path, request: Request.protoMessageName, response: Response.protoMessageName,
                kind: descriptor.kind
            )
        }

        var description: String { "\(path) (\(request)) -> (\(response)) \(kind)" }
    }

    /// Every method DunlinWire declares, service by service.
    static let descriptors: [Method] = [
        Method(Diagnostics.ping), Method(Diagnostics.info), Method(Diagnostics.echo),
        Method(Diagnostics.echoStream), Method(Diagnostics.sum),

        Method(Admin.createTenant), Method(Admin.listTenants), Method(Admin.suspendTenant),
        Method(Admin.resumeTenant), Method(Admin.exportTenant), Method(Admin.deleteTenant),
        Method(Admin.createUser), Method(Admin.listUsers), Method(Admin.listPeople), Method(Admin.updateUser),
        Method(Admin.issueToken), Method(Admin.rotateToken), Method(Admin.revokeToken), Method(Admin.listTokens),
        Method(Admin.listAudit),
        Method(Admin.setTenantLimits),
        Method(Admin.getTenantLimits),

        Method(Receivables.upsertCustomers), Method(Receivables.getCustomer), Method(Receivables.listCustomers),
        Method(Receivables.postEntries), Method(Receivables.importEntries), Method(Receivables.getEntry),
        Method(Receivables.listEntries), Method(Receivables.applyCash), Method(Receivables.unapply),
        Method(Receivables.aging), Method(Receivables.statement), Method(Receivables.unappliedCash), Method(Receivables.worklist), Method(Receivables.metrics),
        Method(Receivables.closeMonth), Method(Receivables.reopenMonth), Method(Receivables.getClose), Method(Receivables.listCloses),
        Method(Receivables.closeSnapshot), Method(Receivables.postCloseAdjustments),

        Method(Records.upsertContacts), Method(Records.getContact), Method(Records.listContacts),
        Method(Records.deleteContacts), Method(Records.upsertDisputes), Method(Records.getDispute),
        Method(Records.listDisputes), Method(Records.deleteDisputes), Method(Records.upsertPromises),
        Method(Records.getPromise), Method(Records.listPromises), Method(Records.deletePromises),
        Method(Records.evaluatePromise), Method(Records.upsertTasks), Method(Records.getTask),
        Method(Records.listTasks), Method(Records.deleteTasks), Method(Records.logActivities),
        Method(Records.listActivities), Method(Records.listExceptions), Method(Records.listConflicts),
        Method(Records.listSettings), Method(Records.updateSettings),
        Method(Records.addApprovalRequest), Method(Records.getApprovalRequest), Method(Records.listApprovalRequests), Method(Records.decideApprovalRequest),
        Method(Records.upsertExchangeRates), Method(Records.getExchangeRate), Method(Records.listExchangeRates), Method(Records.deleteExchangeRates),
        Method(Records.upsertTeamCalendars), Method(Records.getTeamCalendar), Method(Records.listTeamCalendars), Method(Records.deleteTeamCalendars),
        Method(Records.openTicket), Method(Records.getTicket), Method(Records.listTickets), Method(Records.addTicketEvent), Method(Records.linkTicket),

        Method(Dunning.upsertPolicies), Method(Dunning.getPolicy), Method(Dunning.listPolicies), Method(Dunning.deletePolicies),
        Method(Dunning.upsertHolds), Method(Dunning.getHold), Method(Dunning.listHolds), Method(Dunning.deleteHolds),
        Method(Dunning.runDunning), Method(Dunning.getNotice), Method(Dunning.listNotices), Method(Dunning.releaseNotices), Method(Dunning.previewNotices),
        Method(Dunning.upsertEscalationRules), Method(Dunning.getEscalationRule), Method(Dunning.listEscalationRules),
        Method(Dunning.deleteEscalationRules), Method(Dunning.getEscalation), Method(Dunning.listEscalations),
        Method(Dunning.evaluateEscalations), Method(Dunning.recallPlacement),
        Method(Dunning.upsertTemplates), Method(Dunning.getTemplate), Method(Dunning.listTemplates), Method(Dunning.deleteTemplates),
        Method(Dunning.resendNotices),

        Method(Cash.importBankFile), Method(Cash.listBankFiles), Method(Cash.getReceipt), Method(Cash.listReceipts),

        Method(SyncMethods.bootstrap), Method(SyncMethods.pull), Method(SyncMethods.push),
        Method(SyncMethods.watch), Method(SyncMethods.listReplicas), Method(SyncMethods.retireReplica),
    ]

    @Test("every rpc in the .proto service blocks matches its MethodDescriptor: path, types and kind")
    func servicesMatchDescriptors() throws {
        let declared = try Self.protoMethods()
        let byPath = Dictionary(declared.map { ($0.path, $0) }, uniquingKeysWith: { first, _ in first })
        #expect(byPath.count == declared.count, "an rpc is declared twice")
        for method in Self.descriptors {
            #expect(byPath[method.path] == method, "proto declares \(byPath[method.path].map(String.init(describing:)) ?? "nothing"); Swift has \(method)")
        }
        let known = Set(Self.descriptors.map(\.path))
        for method in declared where !known.contains(method.path) {
            Issue.record("the .proto files declare \(method), which DunlinWire has no descriptor for")
        }
        #expect(Set(declared.map { $0.path.split(separator: "/")[0] }) == [
            "dunlin.v1.Diagnostics", "dunlin.v1.Admin", "dunlin.v1.Receivables", "dunlin.v1.Records", "dunlin.v1.Sync", "dunlin.v1.Dunning",
            "dunlin.v1.Cash",
        ])
    }

    @Test("the service parser reads stream markers and qualifies message names")
    func parserReadsStreams() throws {
        let text = """
            package dunlin.v1;
            // service Fake { rpc Nope(A) returns (B); }
            service Demo {
              rpc Up(stream UpRequest) returns (UpResponse);   // client-streaming
              rpc Down(DownRequest)
                  returns (stream DownResponse);
              rpc Plain(dunlin.v1.A) returns (B) {}
            }
            """
        #expect(try Self.parseServices(text) == [
            Method(path: "/dunlin.v1.Demo/Up", request: "dunlin.v1.UpRequest", response: "dunlin.v1.UpResponse", kind: .clientStreaming),
            Method(path: "/dunlin.v1.Demo/Down", request: "dunlin.v1.DownRequest", response: "dunlin.v1.DownResponse", kind: .serverStreaming),
            Method(path: "/dunlin.v1.Demo/Plain", request: "dunlin.v1.A", response: "dunlin.v1.B", kind: .unary),
        ])
    }

    // MARK: Reading the .proto files

    /// `Protocol/`, found from this file's path (the tests read the repository's own copy).
    static let protocolDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Protocol")

    static func protoMethods() throws -> [Method] {
        let files = try FileManager.default.contentsOfDirectory(atPath: protocolDirectory.path)
            .filter { $0.hasSuffix(".proto") }.sorted()
        #expect(!files.isEmpty)
        return try files.flatMap { file in
            try parseServices(String(contentsOf: protocolDirectory.appendingPathComponent(file), encoding: .utf8))
        }
    }

    /// The rpcs of every `service` block in one .proto file. Enough of the grammar for ours:
    /// comments stripped, `rpc Name (stream? Type) returns (stream? Type)` with any whitespace.
    static func parseServices(_ source: String) throws -> [Method] {
        let text = source.split(separator: "\n", omittingEmptySubsequences: false)
            .map { line in line.range(of: "//").map { String(line[..<$0.lowerBound]) } ?? String(line) }
            .joined(separator: "\n")
        let package = try #require(text.firstMatch(of: #/package\s+([\w.]+)\s*;/#)).output.1
        func qualified(_ name: Substring) -> String { name.contains(".") ? String(name) : "\(package).\(name)" }

        var methods: [Method] = []
        for service in text.matches(of: #/service\s+(\w+)\s*\{((?:[^{}]|\{\s*\})*)\}/#) {
            let rpc = #/rpc\s+(\w+)\s*\(\s*(stream\s+)?([\w.]+)\s*\)\s*returns\s*\(\s*(stream\s+)?([\w.]+)\s*\)/#
            for match in service.output.2.matches(of: rpc) {
                let (_, name, clientStream, request, serverStream, response) = match.output
                let kind: CallKind
                switch (clientStream != nil, serverStream != nil) {
                case (false, false): kind = .unary
                case (false, true): kind = .serverStreaming
                case (true, false): kind = .clientStreaming
                case (true, true):
                    Issue.record("\(name): Dunlin has no bidirectional calls")
                    continue
                }
                methods.append(Method(
                    path: "/\(package).\(service.output.1)/\(name)", request: qualified(request),
                    response: qualified(response), kind: kind
                ))
            }
        }
        return methods
    }
}
