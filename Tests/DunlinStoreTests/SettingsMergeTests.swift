import DunlinCore
@testable import DunlinStore
import DunlinSync
import Foundation
import GRDB
import Testing

/// The "v16: one settings mechanism" migration: a store written with the old `collections_settings`
/// kind opens with its run time as the tenant setting `dunning.run_time`, and everything sync kept
/// about the old record (change log, field stamps, a replica's base) follows it.
@Suite struct SettingsMergeTests {
    /// A store file migrated up to v15 (the last schema with `collections_settings`), with `setUp` run on it.
    static func oldStore(_ setUp: (Database) throws -> Void) throws -> String {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("dunlin-settings-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let path = folder.appendingPathComponent("tenant.sqlite").path
        let queue = try DatabaseQueue(path: path)
        try TenantSchema.migrator.migrate(queue, upTo: "v15: payment plans")
        try queue.write(setUp)
        return path
    }

    @Test("a run time that was set becomes the setting dunning.run_time, with its change log, stamps and base, and the old table goes")
    func runTimeMoves() throws {
        let path = try Self.oldStore { db in
            try db.execute(sql: "INSERT INTO collections_settings (id, dunning_run_time, deleted) VALUES ('collections', '06:30', 0)")
            try db.execute(sql: "INSERT INTO change_log (record_kind, record_id, op, at) VALUES ('collections_settings', 'collections', 'insert', '2026-11-30T06:00:00Z')")
            try db.execute(sql: """
                INSERT INTO field_stamp (record_kind, record_id, field, seq, at) VALUES
                ('collections_settings', 'collections', 'dunning_run_time', 1, 0), ('collections_settings', 'collections', 'id', 1, 0)
                """)
            try db.execute(
                sql: "INSERT INTO record_base (record_kind, record_id, seq, fields) VALUES ('collections_settings', 'collections', 1, ?)",
                arguments: [Data(#"{"_deleted":false,"dunning_run_time":"06:30","id":"collections"}"#.utf8)]
            )
        }
        let store = try TenantStore(path: path)
        #expect(try store.settings() == [TenantSetting(id: TenantSetting.dunningRunTime, value: "06:30")])
        try store.writer.read { db in
            #expect(try db.tableExists("collections_settings") == false)
            #expect(try String.fetchAll(db, sql: "SELECT record_kind || '/' || record_id FROM change_log") == ["tenant_setting/dunning.run_time"])
            #expect(try String.fetchAll(db, sql: "SELECT field FROM field_stamp WHERE record_kind = 'tenant_setting' ORDER BY field") == ["id", "value"])
            let base = try #require(try Data.fetchOne(db, sql: "SELECT fields FROM record_base WHERE record_kind = 'tenant_setting'"))
            #expect(try RecordCoding.decode(base) == ["_deleted": .bool(false), "id": .string("dunning.run_time"), "value": .string("06:30")])
        }
        let (records, _, _) = try store.changes(after: 0, limit: 10)
        #expect(records.map(\.kind) == ["tenant_setting"])
        #expect(try TenantSetting(fieldMap: try #require(records.first).fieldMap()).value == "06:30")
    }

    @Test("a run time never set leaves nothing behind: no setting, no change-log line of the old kind")
    func emptyRunTimeLeavesNothing() throws {
        let path = try Self.oldStore { db in
            try db.execute(sql: "INSERT INTO collections_settings (id, dunning_run_time, deleted) VALUES ('collections', '', 0)")
            try db.execute(sql: "INSERT INTO change_log (record_kind, record_id, op, at) VALUES ('collections_settings', 'collections', 'insert', '2026-11-30T06:00:00Z')")
        }
        let store = try TenantStore(path: path)
        #expect(try store.settings().isEmpty)
        #expect(try store.writer.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM change_log") } == 0)
    }
}
