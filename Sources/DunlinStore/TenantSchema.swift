import GRDB

/// The tenant database's schema: named migrations, applied in order, never edited once shipped.
/// A new table or column is a new migration appended at the end.
enum TenantSchema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: customers, ledger, change log") { db in
            try db.execute(sql: """
                CREATE TABLE customer (
                    id TEXT PRIMARY KEY NOT NULL,
                    number TEXT NOT NULL UNIQUE,
                    name TEXT NOT NULL,
                    billing_address TEXT NOT NULL DEFAULT '',
                    payment_terms_days INTEGER NOT NULL,
                    credit_limit INTEGER,
                    credit_currency TEXT,
                    risk_rating INTEGER NOT NULL,
                    analyst_id TEXT NOT NULL DEFAULT '',
                    time_zone TEXT NOT NULL,
                    language TEXT NOT NULL,
                    portal_billing TEXT NOT NULL DEFAULT '',
                    tags TEXT NOT NULL DEFAULT '[]'
                );
                CREATE INDEX customer_analyst ON customer(analyst_id);

                -- Immutable: rows are inserted, never updated or deleted. Amounts are minor units.
                CREATE TABLE ledger_entry (
                    id TEXT PRIMARY KEY NOT NULL,
                    kind TEXT NOT NULL,
                    customer_id TEXT NOT NULL DEFAULT '',
                    currency TEXT NOT NULL,
                    amount INTEGER NOT NULL,
                    date TEXT NOT NULL,
                    due_date TEXT,
                    reference TEXT NOT NULL DEFAULT '',
                    source_id TEXT,
                    target_id TEXT,
                    memo TEXT NOT NULL DEFAULT ''
                );
                CREATE INDEX ledger_entry_target ON ledger_entry(target_id);
                CREATE INDEX ledger_entry_source ON ledger_entry(source_id);
                CREATE INDEX ledger_entry_customer ON ledger_entry(customer_id, kind);
                CREATE TRIGGER ledger_entry_immutable BEFORE UPDATE ON ledger_entry
                BEGIN SELECT RAISE(ABORT, 'ledger entries are immutable'); END;
                CREATE TRIGGER ledger_entry_undeletable BEFORE DELETE ON ledger_entry
                BEGIN SELECT RAISE(ABORT, 'ledger entries are never deleted'); END;

                -- What changed, in order: the sync feed reads it. dot_* are filled by replicas' pushes.
                CREATE TABLE change_log (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    record_kind TEXT NOT NULL,
                    record_id TEXT NOT NULL,
                    op TEXT NOT NULL,
                    dot_replica TEXT,
                    dot_counter INTEGER,
                    at TEXT NOT NULL
                );
                """)
        }
        return migrator
    }
}
