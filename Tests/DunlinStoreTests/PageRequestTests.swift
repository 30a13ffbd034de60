import DunlinCore
import DunlinStore
import Foundation
import Testing

/// The one paging scheme (``PageRequest``, ``Page``) as the stores apply it to every list.
@Suite("Paging in the stores")
struct PageRequestTests {
    @Test("a page size of 0 is the list's standard size; one above its maximum is cut to the maximum")
    func oneClamp() {
        #expect(PageRequest(size: 0).size == 100)
        #expect(PageRequest().size == 100)
        #expect(PageRequest(size: 1).size == 1)
        #expect(PageRequest(size: 1000).size == 1000)
        #expect(PageRequest(size: 1001).size == 1000)
        #expect(PageRequest(size: UInt32.max).size == 1000)
        #expect(PageRequest(size: 0, sizes: .aging).size == 1000)
        #expect(PageRequest(size: 10_001, sizes: .aging).size == 10_000)
        #expect(PageRequest(after: "").cursor == nil)
        #expect(PageRequest(after: "abc").cursor == "abc")
    }

    @Test("a list computed whole is sliced into pages that meet every row once; a cursor of another list is refused naming cursor")
    func slicing() throws {
        let rows = (0..<23).flatMap { customer in ["PHP", "USD"].map { (customer: String(format: "C%02d", customer), currency: $0) } }
        func position(_ row: (customer: String, currency: String)) -> (key: String, id: String) { (row.customer, row.currency) }
        for size: UInt32 in [1, 5, 46, 100] {
            var seen: [String] = []
            var cursor: String?
            repeat {
                let page = try Page(slicing: rows, list: "aging", PageRequest(after: cursor, size: size), position: position)
                #expect(page.items.count <= Int(size))
                seen += page.items.map { "\($0.customer)/\($0.currency)" }
                cursor = page.nextCursor
            } while cursor != nil
            #expect(seen == rows.map { "\($0.customer)/\($0.currency)" })
        }
        let first = try Page(slicing: rows, list: "aging", PageRequest(size: 3), position: position)
        let next = try #require(first.nextCursor)
        let foreign = #expect(throws: DomainError.self) { try Page(slicing: rows, list: "other", PageRequest(after: next), position: position) }
        #expect(foreign?.field == "cursor")
        let garbled = #expect(throws: DomainError.self) { try Page(slicing: rows, list: "aging", PageRequest(after: "C01\u{1F}USD"), position: position) }
        #expect(garbled?.field == "cursor")
    }

    @Test("tenants and tokens page by the one scheme, meeting each once; a forged cursor is refused naming cursor")
    func controlLists() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dunlin-pages-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let (store, _) = try ControlStore.initialize(directory, now: { 1_790_000_000_000 })
        let ids = (0..<9).map { "t-\($0)" }
        for id in ids.reversed() { _ = try store.createTenant(id: id, name: id, baseCurrency: "USD", timeZone: "UTC") }
        let admin = try store.createUser(tenantID: "t-0", name: "Maria", email: "", role: .admin)
        var issued: [String] = []
        for index in 0..<7 { issued.append(try store.issueToken(userID: admin.id, device: "laptop-\(index)", expiresAt: nil).record.id) }

        var tenants: [String] = []
        var cursor: String?
        repeat {
            let page = try store.tenants(page: PageRequest(after: cursor, size: 2))
            tenants += page.items.map(\.id)
            cursor = page.nextCursor
        } while cursor != nil
        #expect(tenants == ids)

        var tokens: [String] = []
        repeat {
            let page = try store.tokens(userID: admin.id, page: PageRequest(after: cursor, size: 3))
            tokens += page.items.map(\.id)
            cursor = page.nextCursor
        } while cursor != nil
        #expect(tokens == issued.sorted())

        // A tenant id was once taken as the cursor itself: now it is no cursor.
        for forged in ["t-3", "1790000000000.x"] {
            #expect(throws: ControlError.self) { try store.tenants(page: PageRequest(after: forged)) }
            do {
                _ = try store.tenants(page: PageRequest(after: forged))
            } catch let error as ControlError {
                #expect(error.field == "cursor")
                #expect(error.kind == .invalid)
            }
        }
        let tokenCursor = try #require(try store.tokens(userID: admin.id, page: PageRequest(size: 1)).nextCursor)
        #expect(throws: ControlError.self) { try store.tenants(page: PageRequest(after: tokenCursor)) }
    }

    @Test("replicas page by id, meeting each once, and one replica is found by id")
    func replicas() throws {
        let store = try TenantStore()
        let ids = (0..<11).map { "r" + String(repeating: String(format: "%x", $0), count: 32) }
        for id in ids.shuffled() { try store.acknowledge(replica: id, userID: "u-1", checkpoint: 0, rejoining: false) }
        var seen: [String] = []
        var cursor: String?
        repeat {
            let (page, horizon) = try store.replicas(page: PageRequest(after: cursor, size: 4))
            #expect(horizon == 0)
            seen += page.items.map(\.id)
            cursor = page.nextCursor
        } while cursor != nil
        #expect(seen == ids)
        #expect(try store.replica(ids[3])?.userID == "u-1")
        #expect(try store.replica(ids[3])?.retired == false)
        #expect(try store.replica("r" + String(repeating: "f", count: 32)) == nil)
        let garbled = #expect(throws: DomainError.self) { try store.replicas(page: PageRequest(after: "nope")) }
        #expect(garbled?.field == "cursor")
    }
}
