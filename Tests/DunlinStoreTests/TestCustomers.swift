import DunlinCore
import DunlinStore

extension TenantStore {
    /// Creates plain customers with these ids: every entry that names a customer needs one.
    func addCustomers(_ ids: String...) throws {
        try upsert(ids.map { Customer(id: $0, number: "N-\($0)", name: "Customer \($0)") })
    }
}
