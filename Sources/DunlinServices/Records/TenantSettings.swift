import DunlinCore
import DunlinStore
import DunlinWire

/// `Records/ListSettings` and `UpdateSettings`: the tenant's collections settings. Any tenant
/// role reads them (a worklist shows the weights it used); writing is the rights table's
/// `tenant_setting` row (managers and above), on the server or a manager's replica, from which
/// sync carries it like any record.
extension RecordsService {
    func registerSettings(in router: inout Router) {
        let tenants = self.tenants

        router.unary(Records.listSettings) { _, context in
            let (tenant, _) = try access(context, tenants, requires: .viewer)
            let settings = try settingsList(tenant.store)
            return .with { $0.settings = settings }
        }

        router.unary(Records.updateSettings) { request, context in
            let (tenant, _) = try access(context, tenants, writing: .change, .tenantSetting)
            var set: [TenantSetting] = [], reset: [String] = []
            for (index, setting) in request.settings.enumerated() {
                do throws(DomainError) {
                    _ = try TenantSetting.defaultValue(of: setting.id)
                } catch {
                    throw RPCError(error, item: index + 1)
                }
                if setting.value.isEmpty { reset.append(setting.id) } else { set.append(TenantSetting(id: setting.id, value: setting.value)) }
            }
            let current = Set(try RPCError.mapping { try tenant.store.settings() }.map(\.id))
            try RPCError.mapping {
                try tenant.store.upsert(set)
                try tenant.store.deleteSettings(reset.filter(current.contains))
            }
            let settings = try settingsList(tenant.store)
            return .with { $0.settings = settings }
        }
    }
}

/// Every setting by name: its value, or its default.
private func settingsList(_ store: TenantStore) throws -> [Dunlin_V1_TenantSettingRecord] {
    let set = Dictionary(try RPCError.mapping { try store.settings() }.map { ($0.id, $0.value) }) { first, _ in first }
    return TenantSetting.names.map { name in
        .with {
            $0.id = name
            $0.value = set[name] ?? (try? TenantSetting.defaultValue(of: name)) ?? ""
            $0.isDefault = set[name] == nil
        }
    }
}
