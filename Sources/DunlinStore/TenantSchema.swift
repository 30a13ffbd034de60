import DunlinCore
import DunlinSync
import Foundation
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
        migrator.registerMigration("v2: contacts, disputes, promises, tasks, activities") { db in
            try db.execute(sql: """
                -- Mutable records. `deleted` is the tombstone: a deleted row stays (its change-log
                -- op is "delete") until the sync horizon lets it be collected. Lists read them in
                -- (sort key, id) order, which the indexes below serve.
                CREATE TABLE contact (
                    id TEXT PRIMARY KEY NOT NULL,
                    customer_id TEXT NOT NULL,
                    name TEXT NOT NULL,
                    role TEXT NOT NULL DEFAULT '',
                    email TEXT NOT NULL DEFAULT '',
                    phone TEXT NOT NULL DEFAULT '',
                    preferred_channel TEXT NOT NULL,
                    deleted INTEGER NOT NULL DEFAULT 0
                );
                CREATE INDEX contact_by_customer ON contact(customer_id, name, id);
                CREATE INDEX contact_by_name ON contact(name, id);

                -- invoice_ids: a JSON array of ledger entry ids. Amounts are minor units.
                CREATE TABLE dispute (
                    id TEXT PRIMARY KEY NOT NULL,
                    customer_id TEXT NOT NULL,
                    invoice_ids TEXT NOT NULL,
                    currency TEXT NOT NULL,
                    amount INTEGER NOT NULL,
                    reason_code TEXT NOT NULL,
                    status TEXT NOT NULL,
                    owner_team TEXT NOT NULL,
                    opened_on TEXT NOT NULL,
                    resolved_on TEXT,
                    note TEXT NOT NULL DEFAULT '',
                    deleted INTEGER NOT NULL DEFAULT 0
                );
                CREATE INDEX dispute_by_customer ON dispute(customer_id, opened_on, id);
                CREATE INDEX dispute_by_opened ON dispute(opened_on, id);

                CREATE TABLE promise_to_pay (
                    id TEXT PRIMARY KEY NOT NULL,
                    customer_id TEXT NOT NULL,
                    invoice_ids TEXT NOT NULL,
                    currency TEXT NOT NULL,
                    amount INTEGER NOT NULL,
                    made_on TEXT NOT NULL,
                    promised_date TEXT NOT NULL,
                    status TEXT NOT NULL,
                    note TEXT NOT NULL DEFAULT '',
                    deleted INTEGER NOT NULL DEFAULT 0
                );
                CREATE INDEX promise_to_pay_by_customer ON promise_to_pay(customer_id, promised_date, id);
                CREATE INDEX promise_to_pay_by_date ON promise_to_pay(promised_date, id);

                CREATE TABLE collection_task (
                    id TEXT PRIMARY KEY NOT NULL,
                    assignee_id TEXT NOT NULL,
                    customer_id TEXT NOT NULL DEFAULT '',
                    title TEXT NOT NULL,
                    due_date TEXT NOT NULL,
                    done INTEGER NOT NULL DEFAULT 0,
                    notes TEXT NOT NULL DEFAULT '',
                    deleted INTEGER NOT NULL DEFAULT 0
                );
                CREATE INDEX collection_task_by_assignee ON collection_task(assignee_id, due_date, id);
                CREATE INDEX collection_task_by_customer ON collection_task(customer_id, due_date, id);
                CREATE INDEX collection_task_by_due ON collection_task(due_date, id);

                -- Append-only, like the ledger. occurred_at: milliseconds since 1970-01-01 UTC.
                CREATE TABLE activity (
                    id TEXT PRIMARY KEY NOT NULL,
                    customer_id TEXT NOT NULL,
                    kind TEXT NOT NULL,
                    direction TEXT NOT NULL,
                    outcome TEXT NOT NULL DEFAULT '',
                    author_id TEXT NOT NULL,
                    occurred_at INTEGER NOT NULL,
                    body TEXT NOT NULL DEFAULT ''
                );
                CREATE INDEX activity_by_customer ON activity(customer_id, occurred_at, id);
                CREATE INDEX activity_by_time ON activity(occurred_at, id);
                CREATE TRIGGER activity_immutable BEFORE UPDATE ON activity
                BEGIN SELECT RAISE(ABORT, 'activities are immutable'); END;
                CREATE TRIGGER activity_undeletable BEFORE DELETE ON activity
                BEGIN SELECT RAISE(ABORT, 'activities are never deleted'); END;

                -- The list orders of the v1 tables.
                CREATE INDEX customer_by_name ON customer(name, id);
                CREATE INDEX ledger_entry_by_date ON ledger_entry(date, id);
                """)
        }
        migrator.registerMigration("v3: derived balances") { db in
            try db.execute(sql: DerivedBalances.schema)
            try db.execute(sql: DerivedBalances.backfill)
        }
        migrator.registerMigration("v4: sync") { db in
            try db.execute(sql: """
                -- Authority side. The last write to each field of a mutable record: the change-log
                -- sequence number that committed it, the replica dot it came from (NULL for a
                -- write made on the server directly) and the writer's clock (ties only).
                CREATE TABLE field_stamp (
                    record_kind TEXT NOT NULL,
                    record_id TEXT NOT NULL,
                    field TEXT NOT NULL,
                    seq INTEGER NOT NULL,
                    dot_replica TEXT,
                    dot_counter INTEGER,
                    at INTEGER NOT NULL,
                    PRIMARY KEY (record_kind, record_id, field)
                ) WITHOUT ROWID;
                -- Every dot a push delivered, with the answer it got: a replayed push gets the same
                -- answer and changes nothing. outcome: 0 accepted, 2 refused.
                CREATE TABLE absorbed_dot (
                    replica TEXT NOT NULL,
                    counter INTEGER NOT NULL,
                    outcome INTEGER NOT NULL,
                    code INTEGER NOT NULL DEFAULT 0,
                    message TEXT NOT NULL DEFAULT '',
                    field TEXT NOT NULL DEFAULT '',
                    conflict_ids TEXT NOT NULL DEFAULT '[]',
                    PRIMARY KEY (replica, counter)
                ) WITHOUT ROWID;
                -- The replicas that sync this tenant and what each has acknowledged (its pull
                -- checkpoint): tombstones are collected only below every live replica's.
                CREATE TABLE replica (
                    id TEXT PRIMARY KEY NOT NULL,
                    user_id TEXT NOT NULL,
                    checkpoint INTEGER NOT NULL DEFAULT 0,
                    last_seen TEXT NOT NULL,
                    retired INTEGER NOT NULL DEFAULT 0
                );
                -- Concurrent writes resolved by the rule; both sides kept. A mutable record itself.
                CREATE TABLE sync_conflict (
                    id TEXT PRIMARY KEY NOT NULL,
                    record_kind TEXT NOT NULL,
                    record_id TEXT NOT NULL,
                    status TEXT NOT NULL,
                    body TEXT NOT NULL,
                    deleted INTEGER NOT NULL DEFAULT 0
                );
                CREATE INDEX sync_conflict_by_status ON sync_conflict(status, id);
                CREATE INDEX change_log_by_record ON change_log(record_kind, record_id, seq);
                -- Key-value settings of the sync: the horizon on the authority; replica id,
                -- checkpoint and pushed-through counter on a replica.
                CREATE TABLE sync_meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL);

                -- Replica side. The server's version of each mutable record as last pulled: the
                -- base that local edits are diffed against and re-applied on top of.
                CREATE TABLE record_base (
                    record_kind TEXT NOT NULL,
                    record_id TEXT NOT NULL,
                    seq INTEGER NOT NULL,
                    fields BLOB NOT NULL,
                    PRIMARY KEY (record_kind, record_id)
                ) WITHOUT ROWID;
                -- Local changes the server refused, with its reason: visible until dismissed.
                CREATE TABLE refused_change (
                    counter INTEGER PRIMARY KEY NOT NULL,
                    record_kind TEXT NOT NULL,
                    record_id TEXT NOT NULL,
                    fields BLOB NOT NULL,
                    code INTEGER NOT NULL,
                    message TEXT NOT NULL,
                    field TEXT NOT NULL,
                    at TEXT NOT NULL
                );
                -- The reconciliation queue: ledger invariants broken after a merge.
                CREATE TABLE sync_exception (
                    id TEXT PRIMARY KEY NOT NULL,
                    body TEXT NOT NULL,
                    status TEXT NOT NULL,
                    detected_at TEXT NOT NULL,
                    resolved_at TEXT
                );
                -- A refused local ledger entry or activity is taken back out of the replica: only
                -- ids listed here may be deleted, and only the replica lists any.
                CREATE TABLE retraction (entry_id TEXT PRIMARY KEY NOT NULL);
                DROP TRIGGER ledger_entry_undeletable;
                CREATE TRIGGER ledger_entry_undeletable BEFORE DELETE ON ledger_entry
                WHEN OLD.id NOT IN (SELECT entry_id FROM retraction)
                BEGIN SELECT RAISE(ABORT, 'ledger entries are never deleted'); END;
                DROP TRIGGER activity_undeletable;
                CREATE TRIGGER activity_undeletable BEFORE DELETE ON activity
                WHEN OLD.id NOT IN (SELECT entry_id FROM retraction)
                BEGIN SELECT RAISE(ABORT, 'activities are never deleted'); END;
                """)
        }
        migrator.registerMigration("v5: customer phone") { db in
            try db.execute(sql: "ALTER TABLE customer ADD COLUMN phone TEXT NOT NULL DEFAULT ''")
        }
        migrator.registerMigration("v6: retraction keeps derived balances") { db in
            try db.execute(sql: DerivedBalances.retraction)
        }
        migrator.registerMigration("v7: exception candidates") { db in
            try db.execute(sql: """
                -- What can break a ledger invariant: a balance below zero, or a voided invoice or
                -- payment. Partial indexes hold only those rows, so checking the invariants costs
                -- what there is to find, not the size of the portfolio.
                CREATE INDEX invoice_balance_below_zero ON invoice_balance(invoice_id) WHERE gross < 0;
                CREATE INDEX invoice_balance_voided ON invoice_balance(invoice_id) WHERE reversed_on IS NOT NULL;
                CREATE INDEX source_balance_below_zero ON source_balance(source_id) WHERE gross < 0;
                CREATE INDEX source_balance_voided ON source_balance(source_id) WHERE reversed_on IS NOT NULL;
                """)
        }
        migrator.registerMigration("v8: tombstone indexes") { db in
            try db.execute(sql: """
                -- Tombstones waiting for the horizon: collection (after every pull) reads only these.
                CREATE INDEX contact_tombstones ON contact(id) WHERE deleted = 1;
                CREATE INDEX dispute_tombstones ON dispute(id) WHERE deleted = 1;
                CREATE INDEX promise_to_pay_tombstones ON promise_to_pay(id) WHERE deleted = 1;
                CREATE INDEX collection_task_tombstones ON collection_task(id) WHERE deleted = 1;
                CREATE INDEX sync_conflict_tombstones ON sync_conflict(id) WHERE deleted = 1;
                """)
        }
        migrator.registerMigration("v9: sync records in the language-neutral form") { db in
            try SyncFormUpgrade.run(db)
        }
        migrator.registerMigration("v10: push progress per batch") { db in
            try db.execute(sql: """
                -- Replica side. Records whose local changes up to `counter` the server has answered
                -- although older changes of other records are still unanswered, so the pushed-through
                -- counter cannot pass them yet: a push cut off after some batches resumes after the
                -- answered ones instead of sending them again. Emptied as the counter moves past.
                CREATE TABLE answered_change (
                    record_kind TEXT NOT NULL,
                    record_id TEXT NOT NULL,
                    counter INTEGER NOT NULL,
                    PRIMARY KEY (record_kind, record_id)
                ) WITHOUT ROWID;
                """)
        }
        migrator.registerMigration("v11: possible duplicate payments") { db in
            try db.execute(sql: """
                -- Payments that may be one payment recorded twice match on these, within days.
                CREATE INDEX ledger_entry_payment_match ON ledger_entry(customer_id, currency, amount, reference, date)
                WHERE kind = 'payment';
                """)
        }
        migrator.registerMigration("v12: replica devices") { db in
            // Authority side: the device each replica runs on, as its user named it, so a conflict
            // names its writers by person and device.
            try db.execute(sql: "ALTER TABLE replica ADD COLUMN device TEXT NOT NULL DEFAULT ''")
        }
        migrator.registerMigration("v13: tenant settings") { db in
            try db.execute(sql: """
                -- A manager's collections settings, one record per setting (TenantSetting); a
                -- setting without a live row has its default. Synced like every mutable kind.
                CREATE TABLE tenant_setting (
                    id TEXT PRIMARY KEY NOT NULL,
                    value TEXT NOT NULL,
                    deleted INTEGER NOT NULL DEFAULT 0
                );
                """)
        }
        migrator.registerMigration("v14: dunning") { db in
            try db.execute(sql: """
                -- Mutable, tombstoned like the records of v2. customer_ids and levels hold the sync
                -- form's JSON (an array of ids; an array of level objects).
                CREATE TABLE dunning_policy (
                    id TEXT PRIMARY KEY NOT NULL,
                    name TEXT NOT NULL,
                    segment TEXT NOT NULL DEFAULT '',
                    customer_ids TEXT NOT NULL DEFAULT '[]',
                    levels TEXT NOT NULL,
                    deleted INTEGER NOT NULL DEFAULT 0
                );
                CREATE INDEX dunning_policy_by_name ON dunning_policy(name, id);
                CREATE INDEX dunning_policy_tombstones ON dunning_policy(id) WHERE deleted = 1;

                CREATE TABLE dunning_hold (
                    id TEXT PRIMARY KEY NOT NULL,
                    customer_id TEXT NOT NULL,
                    reason TEXT NOT NULL,
                    placed_on TEXT NOT NULL,
                    released_on TEXT,
                    release_reason TEXT NOT NULL DEFAULT '',
                    deleted INTEGER NOT NULL DEFAULT 0
                );
                CREATE INDEX dunning_hold_by_customer ON dunning_hold(customer_id, placed_on, id);
                CREATE INDEX dunning_hold_by_placed ON dunning_hold(placed_on, id);
                CREATE INDEX dunning_hold_tombstones ON dunning_hold(id) WHERE deleted = 1;

                -- Written by the server's runs and releases only. body: the whole notice in its
                -- sync form; the columns beside it are what lists filter and sort by. Never
                -- deleted (deleted stays 0: the column keeps the mutable kinds' one shape).
                CREATE TABLE dunning_notice (
                    id TEXT PRIMARY KEY NOT NULL,
                    run_id TEXT NOT NULL,
                    customer_id TEXT NOT NULL,
                    status TEXT NOT NULL,
                    as_of TEXT NOT NULL,
                    body TEXT NOT NULL,
                    deleted INTEGER NOT NULL DEFAULT 0
                );
                CREATE INDEX dunning_notice_by_customer ON dunning_notice(customer_id, as_of, id);
                CREATE INDEX dunning_notice_by_run ON dunning_notice(run_id, as_of, id);
                CREATE INDEX dunning_notice_by_as_of ON dunning_notice(as_of, id);

                -- One row: the tenant's collections settings (a mutable record; never deleted).
                CREATE TABLE collections_settings (
                    id TEXT PRIMARY KEY NOT NULL,
                    dunning_run_time TEXT NOT NULL DEFAULT '',
                    deleted INTEGER NOT NULL DEFAULT 0
                );
                """)
        }
        migrator.registerMigration("v15: payment plans") { db in
            // A promise's installments in their sync form (PromiseToPay.installments); "[]" for a
            // promise of one payment.
            try db.execute(sql: "ALTER TABLE promise_to_pay ADD COLUMN installments TEXT NOT NULL DEFAULT '[]'")
        }
        migrator.registerMigration("v16: one settings mechanism") { db in
            try SettingsMerge.run(db)
        }
        migrator.registerMigration("v17: escalation") { db in
            try db.execute(sql: """
                -- A manager's escalation rules (EscalationRule); mutable, tombstoned.
                CREATE TABLE escalation_rule (
                    id TEXT PRIMARY KEY NOT NULL,
                    name TEXT NOT NULL,
                    body TEXT NOT NULL,
                    deleted INTEGER NOT NULL DEFAULT 0
                );
                CREATE INDEX escalation_rule_by_name ON escalation_rule(name, id);

                -- Escalations and placements, written by the server alone (like dunning_notice).
                -- body: the whole record in its sync form; the columns beside it are what lists
                -- filter and sort by. Never deleted.
                CREATE TABLE escalation (
                    id TEXT PRIMARY KEY NOT NULL,
                    customer_id TEXT NOT NULL,
                    action TEXT NOT NULL,
                    status TEXT NOT NULL,
                    escalated_on TEXT NOT NULL,
                    body TEXT NOT NULL,
                    deleted INTEGER NOT NULL DEFAULT 0
                );
                CREATE INDEX escalation_by_customer ON escalation(customer_id, escalated_on, id);
                CREATE INDEX escalation_by_day ON escalation(escalated_on, id);
                """)
        }
        migrator.registerMigration("v18: notice templates and delivery") { db in
            try db.execute(sql: """
                -- A tenant's Mustache templates for notices (NoticeTemplate): mutable, tombstoned.
                -- One live template per name and language (the store's check).
                CREATE TABLE notice_template (
                    id TEXT PRIMARY KEY NOT NULL,
                    name TEXT NOT NULL,
                    language TEXT NOT NULL,
                    subject TEXT NOT NULL,
                    recipient TEXT NOT NULL,
                    text TEXT NOT NULL,
                    html TEXT NOT NULL,
                    deleted INTEGER NOT NULL DEFAULT 0
                );
                CREATE INDEX notice_template_by_name ON notice_template(name, language, id);
                CREATE INDEX notice_template_tombstones ON notice_template(id) WHERE deleted = 1;

                -- Where a released notice's letter or email stands (DunningNotice.delivery; the
                -- body holds it too): what the server's delivery picks up. '' for none.
                ALTER TABLE dunning_notice ADD COLUMN delivery TEXT NOT NULL DEFAULT '';
                CREATE INDEX dunning_notice_by_delivery ON dunning_notice(delivery, id) WHERE delivery <> '';
                """)
        }
        migrator.registerMigration("v19: possible duplicate payments kept by a trigger") { db in
            try db.execute(sql: PossibleDuplicatePayments.schema)
        }
        migrator.registerMigration("v20: bank files and receipts") { db in
            try db.execute(sql: """
                -- Bank files and the receipts their imports brought (issue 12), written by the
                -- server's import alone and never changed. body: the record in its sync form.
                CREATE TABLE bank_file (
                    id TEXT PRIMARY KEY NOT NULL,
                    imported_at INTEGER NOT NULL,
                    body TEXT NOT NULL,
                    deleted INTEGER NOT NULL DEFAULT 0
                );
                CREATE INDEX bank_file_by_time ON bank_file(imported_at, id);
                CREATE TABLE bank_receipt (
                    id TEXT PRIMARY KEY NOT NULL,
                    file_id TEXT NOT NULL,
                    outcome TEXT NOT NULL,
                    customer_id TEXT NOT NULL,
                    payment_id TEXT NOT NULL,
                    booking_date TEXT NOT NULL,
                    body TEXT NOT NULL,
                    deleted INTEGER NOT NULL DEFAULT 0
                );
                CREATE INDEX bank_receipt_by_file ON bank_receipt(file_id, id);
                CREATE INDEX bank_receipt_by_day ON bank_receipt(booking_date, id);
                CREATE INDEX bank_receipt_by_payment ON bank_receipt(payment_id);
                """)
        }
        migrator.registerMigration("v21: receipts the import tied to no customer") { db in
            // The receipts whose later manual match teaches a payer alias (TenantStore.learnedAliases).
            try db.execute(sql: "CREATE INDEX bank_receipt_unassigned ON bank_receipt(id) WHERE customer_id = '' AND deleted = 0")
        }
        migrator.registerMigration("v22: open balances per customer") { db in
            try db.execute(sql: DerivedBalances.openByCustomer)
        }
        migrator.registerMigration("v23: an analyst's customers from the index alone") { db in
            // The worklist and the escalation rules read "the customers of analyst A" as a list of
            // ids; with the id in the index that is a range scan, not a table read per customer.
            try db.execute(sql: "DROP INDEX customer_analyst; CREATE INDEX customer_analyst ON customer(analyst_id, id)")
        }
        migrator.registerMigration("v24: approval requests") { db in
            // Mutable (decided) but never deleted: deleted stays 0, the mutable kinds' one shape.
            try db.execute(sql: """
                CREATE TABLE approval_request (
                    id TEXT PRIMARY KEY NOT NULL,
                    kind TEXT NOT NULL,
                    customer_id TEXT NOT NULL,
                    invoice_id TEXT NOT NULL DEFAULT '',
                    source_id TEXT NOT NULL DEFAULT '',
                    currency TEXT,
                    amount INTEGER,
                    terms_days INTEGER,
                    reason TEXT NOT NULL,
                    requested_by TEXT NOT NULL,
                    requested_on TEXT NOT NULL,
                    status TEXT NOT NULL,
                    decided_by TEXT NOT NULL DEFAULT '',
                    decided_on TEXT,
                    decision_reason TEXT NOT NULL DEFAULT '',
                    deleted INTEGER NOT NULL DEFAULT 0
                );
                CREATE INDEX approval_request_by_customer ON approval_request(customer_id, requested_on, id);
                CREATE INDEX approval_request_by_day ON approval_request(requested_on, id);
                CREATE INDEX approval_request_tombstones ON approval_request(id) WHERE deleted = 1;
                """)
        }
        migrator.registerMigration("v25: analysts' SQL views") { db in
            try db.execute(sql: AnalystViews.schemaVersion1)
        }
        migrator.registerMigration("v26: exchange rates") { db in
            try db.execute(sql: """
                -- A tenant's rates (DatedRate), one record per pair and day, its id made of both;
                -- synced like every mutable kind. Reports read the latest on or before their day.
                CREATE TABLE exchange_rate (
                    id TEXT PRIMARY KEY NOT NULL,
                    from_currency TEXT NOT NULL,
                    to_currency TEXT NOT NULL,
                    date TEXT NOT NULL,
                    rate TEXT NOT NULL,
                    source TEXT NOT NULL,
                    deleted INTEGER NOT NULL DEFAULT 0
                );
                CREATE INDEX exchange_rate_by_day ON exchange_rate(date, id);
                CREATE INDEX exchange_rate_tombstones ON exchange_rate(id) WHERE deleted = 1;
                """)
        }
        migrator.registerMigration("v27: month-end closes") { db in
            try db.execute(sql: """
                -- A month's close (PeriodClose), its sync form as JSON; made and reopened by the
                -- server alone, synced to every replica.
                CREATE TABLE period_close (
                    id TEXT PRIMARY KEY NOT NULL,
                    month TEXT NOT NULL,
                    status TEXT NOT NULL,
                    body TEXT NOT NULL,
                    deleted INTEGER NOT NULL DEFAULT 0
                );
                CREATE INDEX period_close_by_month ON period_close(month);
                -- The frozen aging of a close, per customer and currency as booked (buckets: a JSON
                -- array of minor units). On the server only: a replica holds the totals.
                CREATE TABLE period_close_row (
                    close_id TEXT NOT NULL,
                    customer_id TEXT NOT NULL,
                    currency TEXT NOT NULL,
                    buckets TEXT NOT NULL,
                    PRIMARY KEY (close_id, customer_id, currency)
                ) WITHOUT ROWID;
                """)
        }
        migrator.registerMigration("v28: portal upload days") { db in
            // A portal-billing customer's days to have an invoice on the portal; NULL: the tenant's setting.
            try db.execute(sql: "ALTER TABLE customer ADD COLUMN portal_upload_days INTEGER")
        }
        migrator.registerMigration("v29: the ticket queue") { db in
            try db.execute(sql: """
                -- When each team works (TeamCalendar): the SLA clock counts in it. The id is the
                -- team's name; days and holidays are JSON arrays of names and dates.
                CREATE TABLE team_calendar (
                    id TEXT PRIMARY KEY NOT NULL,
                    time_zone TEXT NOT NULL,
                    working_days TEXT NOT NULL,
                    opens TEXT NOT NULL,
                    closes TEXT NOT NULL,
                    holidays TEXT NOT NULL,
                    members TEXT NOT NULL DEFAULT '[]',
                    deleted INTEGER NOT NULL DEFAULT 0
                );
                -- AR inquiries (Ticket): the header, merged field by field.
                CREATE TABLE ticket (
                    id TEXT PRIMARY KEY NOT NULL,
                    customer_id TEXT NOT NULL,
                    invoice_ids TEXT NOT NULL,
                    category TEXT NOT NULL,
                    priority TEXT NOT NULL,
                    subject TEXT NOT NULL,
                    status TEXT NOT NULL,
                    team_id TEXT NOT NULL,
                    assignee_id TEXT NOT NULL,
                    opened_at INTEGER NOT NULL,
                    sla_minutes INTEGER NOT NULL,
                    dispute_id TEXT NOT NULL,
                    request_id TEXT NOT NULL,
                    deleted INTEGER NOT NULL DEFAULT 0
                );
                CREATE INDEX ticket_by_opening ON ticket(opened_at, id);
                CREATE INDEX ticket_by_customer ON ticket(customer_id, status);
                CREATE INDEX ticket_tombstones ON ticket(id) WHERE deleted = 1;
                -- What happened to each ticket (TicketEvent), comments included: insert-only,
                -- merged by set union, so nobody's event or comment is lost offline.
                CREATE TABLE ticket_event (
                    id TEXT PRIMARY KEY NOT NULL,
                    ticket_id TEXT NOT NULL,
                    kind TEXT NOT NULL,
                    at INTEGER NOT NULL,
                    author_id TEXT NOT NULL,
                    team_id TEXT NOT NULL,
                    assignee_id TEXT NOT NULL,
                    note TEXT NOT NULL
                );
                CREATE INDEX ticket_event_by_ticket ON ticket_event(ticket_id, at, id);
                """)
        }
        migrator.registerMigration("v30: analysts' SQL views, version 2") { db in
            try db.execute(sql: AnalystViews.schemaVersion2)
        }
        migrator.registerMigration("v31: portfolio totals") { db in
            try db.execute(sql: PortfolioTotals.schema)
        }
        migrator.registerMigration("v32: installment progress") { db in
            try db.execute(sql: InstallmentProgress.schema)
        }
        migrator.registerMigration("v33: analysts' SQL views, version 3") { db in
            try db.execute(sql: AnalystViews.schemaVersion3)
        }
        migrator.registerMigration("v34: open invoices by customer, currency and due date") { db in
            try db.execute(sql: CurrentOpenBalance.schema)
        }
        migrator.registerMigration("v40: statement items") { db in
            try StatementItems.migrate(db)
        }
        migrator.registerMigration("v37: audit outbox") { db in
            try AuditOutbox.migrate(db)
        }
        migrator.registerMigration("v35: notice lines packed") { db in
            try PackedNoticeLines.migrate(db)
        }
        migrator.registerMigration("v41: the ledger by date and kind") { db in
            try db.execute(sql: LedgerByDate.schema)
        }
        migrator.registerMigration("v38: an analyst's customers with what the worklist reads of them") { db in
            // v23's index by analyst and id, covering the columns the worklist reads of each
            // customer (name, risk rating, credit limit): its read of an analyst's customers is
            // one range scan of this index, not a table seek per customer.
            try db.execute(sql: """
                DROP INDEX customer_analyst;
                CREATE INDEX customer_analyst ON customer(analyst_id, id, name, risk_rating, credit_limit, credit_currency);
                """)
        }
        return migrator
    }
}

/// Folds the kind `collections_settings` (one record, id `collections`, holding the dunning run
/// time) into the tenant settings (kind `tenant_setting`, one record per setting): the run time
/// becomes the setting `dunning.run_time`. A run time that was set becomes that setting's record,
/// and everything sync keeps about the old record follows it under its new kind, id and field
/// name (`dunning_run_time` is `value`): its change-log lines (so a replica that has not pulled it
/// yet does, and a replica's unpushed edit is still pushed, as the setting), its field stamps, a
/// replica's base and refused changes, and the conflicts about it. A run time that was never set
/// ("", the default either way) leaves nothing behind. The same on the server and on a replica,
/// so both hold the same record under the same sequence numbers. Then the table goes.
enum SettingsMerge {
    static let oldKind = "collections_settings"
    static let oldID = "collections"
    static let newKind = RecordKind.tenantSetting.rawValue
    static let newID = TenantSetting.dunningRunTime

    static func run(_ db: Database) throws {
        let row = try Row.fetchOne(db, sql: "SELECT dunning_run_time, deleted FROM collections_settings WHERE id = ?", arguments: [oldID])
        let runTime: String = row?["dunning_run_time"] ?? ""
        let taken = try Bool.fetchOne(db, sql: "SELECT 1 FROM tenant_setting WHERE id = ?", arguments: [newID]) ?? false
        let moved = !runTime.isEmpty && !(row?["deleted"] as Bool? ?? false) && !taken
        if moved {
            try db.execute(sql: "INSERT INTO tenant_setting (id, value, deleted) VALUES (?, ?, 0)", arguments: [newID, runTime])
            try db.execute(sql: "UPDATE change_log SET record_kind = ?, record_id = ? WHERE record_kind = ?", arguments: [newKind, newID, oldKind])
            try db.execute(
                sql: """
                    UPDATE field_stamp SET record_kind = ?, record_id = ?,
                        field = CASE field WHEN 'dunning_run_time' THEN 'value' ELSE field END
                    WHERE record_kind = ?
                    """,
                arguments: [newKind, newID, oldKind]
            )
            for table in ["record_base", "answered_change"] {
                try db.execute(sql: "DELETE FROM \(table) WHERE record_kind = ? AND record_id = ?", arguments: [newKind, newID])
                try db.execute(sql: "UPDATE \(table) SET record_kind = ?, record_id = ? WHERE record_kind = ?", arguments: [newKind, newID, oldKind])
            }
            for base in try Row.fetchAll(db, sql: "SELECT fields FROM record_base WHERE record_kind = ? AND record_id = ?", arguments: [newKind, newID]) {
                try db.execute(
                    sql: "UPDATE record_base SET fields = ? WHERE record_kind = ? AND record_id = ?",
                    arguments: [RecordCoding.canonical(try renamed(base["fields"])), newKind, newID]
                )
            }
            for refused in try Row.fetchAll(db, sql: "SELECT counter, fields FROM refused_change WHERE record_kind = ?", arguments: [oldKind]) {
                try db.execute(
                    sql: "UPDATE refused_change SET record_kind = ?, record_id = ?, fields = ? WHERE counter = ?",
                    arguments: [newKind, newID, RecordCoding.canonical(try renamed(refused["fields"])), refused["counter"] as Int64]
                )
            }
            for conflict in try Row.fetchAll(db, sql: "SELECT id, body FROM sync_conflict WHERE record_kind = ?", arguments: [oldKind]) {
                var body = try RecordCoding.decode(Data((conflict["body"] as String).utf8))
                body["record_kind"] = .string(newKind)
                body["record_id"] = .string(newID)
                if body["field"] == .string("dunning_run_time") { body["field"] = .string("value") }
                try db.execute(
                    sql: "UPDATE sync_conflict SET record_kind = ?, record_id = ?, body = ? WHERE id = ?",
                    arguments: [newKind, newID, String(decoding: RecordCoding.canonical(body), as: UTF8.self), conflict["id"] as String]
                )
            }
        } else {
            for table in ["change_log", "field_stamp", "record_base", "answered_change", "refused_change", "sync_conflict"] {
                try db.execute(sql: "DELETE FROM \(table) WHERE record_kind = ?", arguments: [oldKind])
            }
        }
        try db.execute(sql: "DROP TABLE collections_settings")
    }

    /// The old record's fields (all, or a change's few) under the setting's names.
    private static func renamed(_ data: Data) throws -> FieldMap {
        var fields = try RecordCoding.decode(data)
        if fields["id"] != nil { fields["id"] = .string(newID) }
        if let runTime = fields.removeValue(forKey: "dunning_run_time") { fields["value"] = runTime }
        return fields
    }
}

/// Rewrites, in place, every record field map a store written by replica schema 1 keeps in that
/// schema's form (the Swift Codable one) into today's (DunlinSync ``SyncRecordForm``): a replica's
/// record bases (what its outbox is diffed against: upgrading them keeps every unpushed change,
/// with nothing to push first and no re-bootstrap) and refused changes, and on both sides the
/// field names of field stamps and the bodies of sync conflicts. Record tables hold columns, not
/// field maps, and the change log holds no fields, so neither changes. A conflict keeps its id,
/// which names the field as schema 1 did: ids are opaque and other replicas hold it.
enum SyncFormUpgrade {
    static func run(_ db: Database) throws {
        for row in try Row.fetchAll(db, sql: "SELECT record_kind, record_id, fields FROM record_base") {
            let kind: String = row["record_kind"]
            let fields = try upgraded(row["fields"], kind: kind, what: "record_base \(kind)/\(row["record_id"] as String)")
            try db.execute(
                sql: "UPDATE record_base SET fields = ? WHERE record_kind = ? AND record_id = ?",
                arguments: [RecordCoding.canonical(fields), kind, row["record_id"]]
            )
        }
        for row in try Row.fetchAll(db, sql: "SELECT counter, record_kind, record_id, fields FROM refused_change") {
            let kind: String = row["record_kind"], id: String = row["record_id"]
            // A refused change to a conflict carries only what it changed; the conflict says
            // which field its values belong to.
            let conflicted = kind == RecordKind.syncConflict.rawValue ? try legacyConflicted(db, id: id) : nil
            let fields = try upgraded(row["fields"], kind: kind, conflicted: conflicted, what: "refused_change \(row["counter"] as Int64)")
            try db.execute(sql: "UPDATE refused_change SET fields = ? WHERE counter = ?", arguments: [RecordCoding.canonical(fields), row["counter"]])
        }
        for row in try Row.fetchAll(db, sql: "SELECT DISTINCT record_kind, field FROM field_stamp") {
            let kind: String = row["record_kind"], legacy: String = row["field"]
            let name = LegacySyncForm.fieldName(legacy, kind: kind)
            guard name != legacy else { continue }
            try db.execute(sql: "UPDATE field_stamp SET field = ? WHERE record_kind = ? AND field = ?", arguments: [name, kind, legacy])
        }
        let conflictKind = RecordKind.syncConflict.rawValue
        for row in try Row.fetchAll(db, sql: "SELECT id, body FROM sync_conflict") {
            let body: String = row["body"]
            let fields = try upgraded(Data(body.utf8), kind: conflictKind, what: "sync_conflict \(row["id"] as String)")
            try db.execute(
                sql: "UPDATE sync_conflict SET body = ? WHERE id = ?",
                arguments: [String(decoding: RecordCoding.canonical(fields), as: UTF8.self), row["id"]]
            )
        }
    }

    /// The conflicted kind and schema-1 field of conflict `id`, from its body as schema 1 wrote it.
    private static func legacyConflicted(_ db: Database, id: String) throws -> (kind: String, field: String)? {
        guard let body = try String.fetchOne(db, sql: "SELECT body FROM sync_conflict WHERE id = ?", arguments: [id]),
            let fields = try? RecordCoding.decode(Data(body.utf8)), let kind = fields["kind"]?.text, let field = fields["field"]?.text
        else { return nil }
        return (kind, field)
    }

    private static func upgraded(_ data: Data, kind: String, conflicted: (kind: String, field: String)? = nil, what: String) throws -> FieldMap {
        do {
            return LegacySyncForm.upgrade(try RecordCoding.decode(data), kind: kind, conflicted: conflicted)
        } catch {
            throw DatabaseError(resultCode: .SQLITE_MISMATCH, message: "\(what) holds fields that are not a JSON object, so they cannot be upgraded: \(error)")
        }
    }
}
