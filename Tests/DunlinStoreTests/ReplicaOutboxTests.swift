import DunlinCore
import DunlinStore
import DunlinSync
import Foundation
import Testing

/// The replica's outbox: what it sends after a push was accepted but before the next pull.
@Suite struct ReplicaOutboxTests {
    @Test func anEditAfterAnAcceptedPushSendsOnlyWhatChangedSince() throws {
        let replica = try TenantStore()
        try replica.upsert([Customer(id: "C1", number: "1001", name: "Globe")])
        try replica.upsert([Contact(id: "K1", customerID: "C1", name: "Rosa", email: "rosa@globe.example", phone: "+1 312 555 0100")])
        let (first, through) = try replica.pendingChanges(after: 0)
        #expect(first.map(\.kind) == ["customer", "contact"])
        #expect(first[1].fields["phone"] == .string("+1 312 555 0100"))
        try replica.settlePush(first.map { ($0, nil) }, through: through)

        // Before any pull: only the email changes, so only the email is sent, still on base 0.
        var contact = try #require(try replica.contact("K1"))
        contact.email = "rosa.cruz@globe.example"
        try replica.upsert([contact])
        let (second, _) = try replica.pendingChanges(after: through)
        #expect(second.count == 1)
        #expect(second.first?.fields == ["email": .string("rosa.cruz@globe.example")])
        #expect(second.first?.baseSeq == 0)
    }
}
