import GRDB

/// The control database's schema: tenants, users, token hashes and the audit trail. Named migrations, applied in
/// order, never edited once shipped; a change is a new migration appended at the end.
///
/// Times are Unix milliseconds (UTC) in INTEGER columns. Rows are never deleted: a deleted tenant
/// keeps its row (status `deleted`) so its id is never reused and its users can never come back
/// attached to someone else's data; users are deactivated, tokens revoked.
enum ControlSchema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: tenants, users, tokens") { db in
            try db.execute(sql: """
                CREATE TABLE tenant (
                    id TEXT PRIMARY KEY NOT NULL,
                    name TEXT NOT NULL,
                    base_currency TEXT NOT NULL,
                    time_zone TEXT NOT NULL,
                    status TEXT NOT NULL CHECK (status IN ('active', 'suspended', 'deleted')),
                    created_at INTEGER NOT NULL,
                    status_changed_at INTEGER NOT NULL
                );

                -- tenant_id is NULL for server admins, and only for them.
                CREATE TABLE user (
                    id TEXT PRIMARY KEY NOT NULL,
                    tenant_id TEXT REFERENCES tenant(id),
                    name TEXT NOT NULL,
                    email TEXT NOT NULL DEFAULT '',
                    role TEXT NOT NULL,
                    active INTEGER NOT NULL DEFAULT 1,
                    created_at INTEGER NOT NULL,
                    CHECK ((tenant_id IS NULL) = (role = 'server-admin'))
                );
                CREATE INDEX user_tenant ON user(tenant_id, created_at, id);
                CREATE UNIQUE INDEX user_email ON user(ifnull(tenant_id, ''), lower(email)) WHERE email <> '';

                -- Only the SHA-256 of a token is kept; the token itself is shown once, at issue.
                CREATE TABLE token (
                    id TEXT PRIMARY KEY NOT NULL,
                    user_id TEXT NOT NULL REFERENCES user(id),
                    device TEXT NOT NULL,
                    hash BLOB NOT NULL,
                    created_at INTEGER NOT NULL,
                    expires_at INTEGER,
                    revoked_at INTEGER,
                    last_used_at INTEGER,
                    replaced_by TEXT
                );
                CREATE INDEX token_user ON token(user_id, created_at, id);
                """)
        }
        migrator.registerMigration("v2: user time zones") { db in
            // A user's own time zone (IANA), for "today" in their worklist; '' is the tenant's.
            try db.execute(sql: "ALTER TABLE user ADD COLUMN time_zone TEXT NOT NULL DEFAULT ''")
        }
        migrator.registerMigration("v3: managers") { db in
            // The user's manager: an active user of the same tenant with the manager role or
            // above, who receives the escalations of the customers this user works; '' none.
            try db.execute(sql: "ALTER TABLE user ADD COLUMN manager_id TEXT NOT NULL DEFAULT ''")
        }
        migrator.registerMigration("v4: audit trail") { db in
            // Every admin action and every approval decided on the server (AuditEvent): who
            // (actor_id, actor_role: '' for dunlind itself), when (at, Unix ms from the store's
            // clock), from where (address: the peer's IP, 'local' for dunlind itself), on which
            // tenant ('' for server-wide), what (action, target_id, detail). Never a token or
            // its hash: a token is named by its id. Append-only: the triggers refuse any change.
            try db.execute(sql: """
                CREATE TABLE audit_event (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    at INTEGER NOT NULL,
                    actor_id TEXT NOT NULL,
                    actor_role TEXT NOT NULL,
                    tenant_id TEXT NOT NULL,
                    address TEXT NOT NULL,
                    action TEXT NOT NULL,
                    target_id TEXT NOT NULL,
                    detail TEXT NOT NULL
                );
                CREATE INDEX audit_event_tenant ON audit_event(tenant_id, seq);
                CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event
                    BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
                CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event
                    BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
                """)
        }
        migrator.registerMigration("v5: tenant client certificate authorities") { db in
            // Mutual TLS per tenant: the PEM certificates (one or more CAs) a tenant's users
            // must present a client certificate signed by, checked at HELLO once the token names
            // the tenant. No row: the tenant asks for no client certificate.
            try db.execute(sql: """
                CREATE TABLE tenant_client_ca (
                    tenant_id TEXT PRIMARY KEY NOT NULL REFERENCES tenant(id),
                    certificates TEXT NOT NULL,
                    set_at INTEGER NOT NULL
                );
                """)
        }
        migrator.registerMigration("v6: tenant limits") { db in
            // A server admin's limits for one tenant (TenantLimitOverrides); a NULL column, or no
            // row, takes the server's default (dunlind serve --tenant-*).
            try db.execute(sql: """
                CREATE TABLE tenant_limits (
                    tenant_id TEXT PRIMARY KEY NOT NULL REFERENCES tenant(id),
                    max_calls INTEGER CHECK (max_calls >= 1),
                    max_streams INTEGER CHECK (max_streams >= 1),
                    calls_per_second INTEGER CHECK (calls_per_second >= 1),
                    max_import_bytes INTEGER CHECK (max_import_bytes >= 1),
                    updated_at INTEGER NOT NULL
                )
                """)
        }
        migrator.registerMigration("v7: audit events from tenant outboxes") { db in
            // An event recorded from a tenant's audit outbox (AuditNote) keeps the outbox id it
            // had there: one event per (tenant, outbox id), so recording a note again after a
            // crash between the control write and the outbox's removal adds nothing. NULL for
            // every other event.
            try db.execute(sql: """
                ALTER TABLE audit_event ADD COLUMN outbox_id INTEGER;
                CREATE UNIQUE INDEX audit_event_outbox ON audit_event(tenant_id, outbox_id) WHERE outbox_id IS NOT NULL;
                """)
        }
        return migrator
    }
}
