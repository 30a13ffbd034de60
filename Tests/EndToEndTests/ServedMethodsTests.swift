import DunlinServer
import DunlinServices
import DunlinStore
import DunlinWire
import Foundation
import Testing

/// What `dunlind --data` serves is what the .proto files declare: a client generated from the
/// service blocks can call every method, and finds none missing. (DunlinWireTests'
/// ProtoServiceTests checks each rpc's types and kind against its MethodDescriptor.)
@Suite("Served methods")
struct ServedMethodsTests {
    @Test("every method a full server serves is an rpc of a service block in Protocol/*.proto, and the other way round")
    func servedMethodsAreDeclared() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dunlin-served-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let (control, _) = try ControlStore.initialize(directory)
        let tenants = try TenantDirectory(control: control)
        let services: [any RPCService] = [
            DiagnosticsService(), AdminService(tenants: tenants), ReceivablesService(tenants: tenants),
            RecordsService(tenants: tenants), DunningService(tenants: tenants, authority: true), CashService(tenants: tenants, authority: true),
            CloseService(tenants: tenants, authority: true), SyncService(tenants: tenants),
        ]
        var router = Router()
        for service in services { service.register(in: &router) }
        let served = Set(router.methods + [Diagnostics.info.path])

        let protocolDirectory = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Protocol")
        var declared: Set<String> = []
        for file in try FileManager.default.contentsOfDirectory(atPath: protocolDirectory.path) where file.hasSuffix(".proto") {
            let text = try String(contentsOf: protocolDirectory.appendingPathComponent(file), encoding: .utf8)
                .split(separator: "\n", omittingEmptySubsequences: false)
                .map { line in line.range(of: "//").map { String(line[..<$0.lowerBound]) } ?? String(line) }
                .joined(separator: "\n")
            for service in text.matches(of: #/service\s+(\w+)\s*\{([^}]*)\}/#) {
                for rpc in service.output.2.matches(of: #/rpc\s+(\w+)\s*\(/#) {
                    declared.insert("/dunlin.v1.\(service.output.1)/\(rpc.output.1)")
                }
            }
        }
        #expect(served.subtracting(declared).sorted() == [], "served but not declared")
        #expect(declared.subtracting(served).sorted() == [], "declared but not served")
    }
}
