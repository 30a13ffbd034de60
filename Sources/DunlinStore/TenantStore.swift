import DunlinCore
import DunlinSync
import Foundation
import GRDB

/// One tenant's receivables, in one SQLite file (WAL): customers, the immutable ledger, and the
/// change log the sync feed reads. A tenant's data never shares a file with another's, so export
/// is a copy of one file and deletion removes it.
///
/// Every write is one transaction that also appends to the change log.
///
/// The database handle is the store's own: callers (the services, the replica, the sync engine)
/// ask the store's methods, they never run SQL, so every query and its columns live here.
public final class TenantStore: Sendable {
    let writer: any DatabaseWriter

    /// Opens (creating if needed, mode 0600) the tenant database at `path`, migrated to the current schema.
    /// WAL with `synchronous = FULL`: a commit is on disk before the call that made it returns, so
    /// what the server acknowledges (an RPC's answer, a push's result) survives a crash or power cut.
    public init(path: String) throws {
        var configuration = Configuration()
        configuration.foreignKeysEnabled = true
        // Another process opening the file (an operator's check, a test reading the server's
        // store) waits its turn for the write lock instead of failing at once with SQLITE_BUSY.
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            // Reads of a large tenant (a statement's thousands of key lookups) come from the
            // mapped file instead of a read() per page. Address space only, shared with the OS cache.
            try db.execute(sql: "PRAGMA mmap_size = \(Self.mmapSize)")
        }
        // Owner-only (0600, and so its -wal and -shm): a tenant's receivables, on the server or a laptop.
        writer = try OwnerOnlyFiles.creating(path) { try DatabasePool(path: path, configuration: configuration) }
        try TenantSchema.migrator.migrate(writer)
        try OwnerOnlyFiles.restrict(database: path)
    }

    /// Opens the tenant database at `path` to read only: no migration and no change to the file,
    /// not even to its journal mode, so a backup's copy keeps the checksum its manifest names.
    /// Beside a serving `dunlind` it reads one snapshot per read. `dunlind check` reads through it.
    public init(readingOnly path: String) throws {
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(10)
        writer = try DatabaseQueue(path: path, configuration: configuration)
    }

    /// An in-memory store, for tests.
    public init() throws {
        writer = try DatabaseQueue()
        try TenantSchema.migrator.migrate(writer)
    }

    // MARK: Writes

    /// Validates and posts ledger entries in one transaction: all of them or none.
    public func post(_ entries: [LedgerEntry]) throws {
        try writer.write { db in
            let ledger = LedgerWriter(db: db)
            for (index, entry) in entries.enumerated() {
                try ledger.post(entry, index: index)
            }
        }
    }

    /// Validates and posts the entries `feed` delivers, chunk by chunk as they arrive, in ONE
    /// write transaction that commits only after the feed finishes: a nightly file of a million
    /// invoices is imported whole or not at all. The first refusal ends the import (the error names
    /// the entry by its 0-based position in the whole feed, as ``StoreError/refused(index:_:)``)
    /// and so does a feed that fails (a cancelled or broken call): either way nothing is written.
    ///
    /// `authorize` runs before each entry's ledger rules, with the ledger as it stands inside the
    /// import (earlier entries of the feed included); what it throws ends the import too.
    ///
    /// The transaction holds the tenant's one writer for the whole import: other writes to this
    /// tenant wait for it (reads do not: WAL). Its page cache is raised to 256 MiB meanwhile
    /// (``importCacheSize``). The entries go in on the bulk path (``BulkDerivation``): the derived
    /// tables follow once per batch of the feed's chunks, not through a trigger per entry.
    /// Returns the number of entries posted.
    public func importEntries(
        from feed: ImportFeed<[LedgerEntry]>,
        authorize: @escaping @Sendable (_ entry: LedgerEntry, _ index: Int, _ ledger: any LedgerState) throws -> Void = { _, _, _ in }
    ) async throws -> Int {
        try await importEntries(from: feed, batch: BulkDerivation.minimumBatch, authorize: authorize)
    }

    /// ``importEntries(from:authorize:)`` deriving the balance tables in batches of at least
    /// `batch` entries (``BulkDerivation``; tests take small ones).
    func importEntries(
        from feed: ImportFeed<[LedgerEntry]>, batch: Int,
        authorize: @escaping @Sendable (_ entry: LedgerEntry, _ index: Int, _ ledger: any LedgerState) throws -> Void = { _, _, _ in }
    ) async throws -> Int {
        defer { feed.close() }
        return try await writer.write { db in
            defer { feed.close() }
            return try Self.withImportCache(db) {
                try BulkDerivation.run(db, batch: batch) { bulk in
                    let ledger = LedgerWriter(db: db, bulk: bulk)
                    var index = 0
                    while let chunk = try feed.next() {
                        for entry in chunk {
                            try authorize(entry, index, ledger.state)
                            try ledger.post(entry, index: index)
                            index += 1
                        }
                        try bulk?.chunkEnded()
                    }
                    return index
                }
            }
        }
    }

    /// Runs an import's `body` with the writer's page cache raised to ``importCacheSize``, then
    /// the cache as it was. A large import touches far more pages than the default cache (2,000
    /// pages) holds; spilling them to the WAL mid-transaction and reading them back dominated
    /// the profile.
    static func withImportCache<T>(_ db: Database, _ body: () throws -> T) throws -> T {
        let cacheSize = try Int.fetchOne(db, sql: "PRAGMA cache_size") ?? -2_000
        try db.execute(sql: "PRAGMA cache_size = \(Self.importCacheSize)")
        defer { try? db.execute(sql: "PRAGMA cache_size = \(cacheSize)") }
        return try body()
    }

    /// How much of the database file each connection maps: 1 GiB.
    static let mmapSize = 1 << 30

    /// The writer's page cache during an import, in SQLite's units (negative: KiB): 256 MiB.
    static let importCacheSize = -262_144

    /// Creates or replaces customers in one transaction, all or none. A batch naming one customer
    /// twice is refused (the later item would silently replace the earlier one).
    public func upsert(_ customers: [Customer]) throws {
        var firstItem: [String: Int] = [:]
        for (index, customer) in customers.enumerated() {
            if let first = firstItem[customer.id] {
                throw StoreError.refused(index: index, .invalid(field: "id", "customer \(customer.id) is also item \(first + 1) of this batch; each customer may appear once"))
            }
            firstItem[customer.id] = index
        }
        try writer.write { db in
            for (index, customer) in customers.enumerated() {
                do throws(DomainError) {
                    try customer.validate()
                } catch {
                    throw StoreError.refused(index: index, error)
                }
                let existing = try CustomerRow.fetchOne(db, key: customer.id)
                do throws(DomainError) {
                    try Self.checkNumber(of: customer, db)
                } catch {
                    throw StoreError.refused(index: index, error)
                }
                try CustomerRow(customer).save(db)
                let seq = try Self.logChange(db, kind: .customer, id: customer.id, op: existing == nil ? "insert" : "update")
                try Self.stampChangedFields(
                    db, kind: .customer, id: customer.id, before: existing?.customer.fieldMap,
                    after: customer.fieldMap, seq: seq
                )
            }
        }
    }

    /// Change-log times: UTC, milliseconds ("2026-11-23T16:20:01.123Z"), so they sort as text.
    /// (ISO8601DateFormatter is thread-safe once configured; it is never changed after this.)
    nonisolated(unsafe) static let changeTimeFormatter: ISO8601DateFormatter = {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter
    }()

    /// Now, as the change log writes it.
    static func changeTime() -> String { changeTimeFormatter.string(from: WallClock.system.now()) }

    /// Appends to the change log and returns the change's sequence number. `dot` is the replica
    /// change it came from, for a pushed change.
    @discardableResult
    static func logChange(_ db: Database, kind: RecordKind, id: String, op: String, dot: Dot? = nil, at: String = changeTime()) throws -> Int64 {
        try db.cachedStatement(sql: "INSERT INTO change_log (record_kind, record_id, op, dot_replica, dot_counter, at) VALUES (?, ?, ?, ?, ?, ?)")
            .execute(arguments: [kind.rawValue, id, op, dot?.replica, dot.map { Int64($0.counter) }, at])
        return db.lastInsertedRowID
    }

    /// A customer number belongs to one customer.
    static func checkNumber(of customer: Customer, _ db: Database) throws(DomainError) {
        let other: String?
        do {
            let columns = CustomerRow.Columns.self
            other = try CustomerRow.select(columns.id, as: String.self)
                .filter(columns.number == customer.number && columns.id != customer.id).fetchOne(db)
        } catch {
            throw .invalid(field: "number", "could not be checked: \(error)")
        }
        if let other { throw .conflict(field: "number", "customer number \(customer.number) is already \(other)") }
    }

    // MARK: Reads

    public func customer(_ id: String) throws -> Customer? {
        try writer.read { db in try CustomerRow.fetchOne(db, key: id)?.customer }
    }

    public func entry(_ id: String) throws -> LedgerEntry? {
        try writer.read { db in try SQLLedgerState.checking(db) { $0.entry(id) } }
    }

    public func openBalance(ofInvoice id: String) throws -> Money? {
        try writer.read { db in try SQLLedgerState.checking(db) { $0.openBalance(ofInvoice: id) } }
    }

    public func unapplied(ofSource id: String) throws -> Money? {
        try writer.read { db in try SQLLedgerState.checking(db) { $0.unapplied(ofSource: id) } }
    }

    /// Whether a reversal targets entry `id` (an unapplied application, a voided invoice).
    public func isReversed(_ id: String) throws -> Bool {
        try writer.read { db in try SQLLedgerState.checking(db) { $0.reversal(of: id) != nil } }
    }

    /// The highest change-log sequence number: where a sync feed reader would start.
    public func lastChangeSequence() throws -> Int64 {
        try writer.read(Self.newestChange)
    }

    /// The highest change-log sequence number, 0 for an empty log.
    static func newestChange(_ db: Database) throws -> Int64 {
        try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(seq), 0) FROM change_log") ?? 0
    }

    /// The newest change-log sequence number: the current one at once, then again each time a
    /// commit moves it (a commit that leaves it where it was yields nothing). It ends, with an
    /// error, only if the database cannot be read; stop iterating (or cancel the task) to stop
    /// watching. What `Sync/Watch` turns into its notices.
    public func changeSequence() -> ChangeSequence {
        ChangeSequence(values: ValueObservation.tracking { db in try TenantStore.newestChange(db) }.removeDuplicates().values(in: writer))
    }
}

/// The newest change-log sequence number as it moves (``TenantStore/changeSequence()``).
public struct ChangeSequence: AsyncSequence, Sendable {
    public typealias Element = Int64

    fileprivate let values: AsyncValueObservation<Int64>

    public struct AsyncIterator: AsyncIteratorProtocol {
        fileprivate var base: AsyncValueObservation<Int64>.AsyncIterator

        public mutating func next() async throws -> Int64? {
            try await base.next()
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: values.makeAsyncIterator())
    }
}

/// Why the store refused a write; nothing was written.
public enum StoreError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Item `index` of the batch (0-based) broke a domain rule.
    case refused(index: Int, DomainError)

    public var description: String {
        switch self {
        case .refused(let index, let error): "item \(index + 1): \(error)"
        }
    }
}

/// Posts entries inside a write transaction: the ledger rules against the database as it stands
/// (earlier entries of the same transaction included), then the row and its change-log line, with
/// prepared statements reused across rows. The triggers of "v3: derived balances" keep the balance
/// tables in step.
struct LedgerWriter {
    let db: Database
    let state: SQLLedgerState
    /// The import's bulk path, when the writer runs on it: the derived tables follow per batch.
    private let bulk: BulkDerivation?
    /// One timestamp for the transaction's change-log lines: they commit together.
    let at = TenantStore.changeTime()

    init(db: Database, bulk: BulkDerivation? = nil) {
        self.db = db
        self.bulk = bulk
        state = SQLLedgerState(db: db, bulk: bulk)
    }

    /// Validates and inserts `entry`, item `index` (0-based) of its batch. An entry whose id is
    /// already written with exactly this content is a retry and changes nothing (entry ids are
    /// the client's idempotency keys, PROTOCOL.md §16.1); the same id with other content is
    /// ALREADY_EXISTS.
    func post(_ entry: LedgerEntry, index: Int) throws {
        try post(entry, index: index, against: state)
    }

    /// ``post(_:index:)`` with the rules asking `rules` instead of the database: a view that
    /// answers as the database would (``CashImportLedger``, which falls back on ``state``).
    /// Returns whether the entry was written (false: a retry of one already there).
    @discardableResult
    func post(_ entry: LedgerEntry, index: Int, against rules: some LedgerState) throws -> Bool {
        guard try check(entry, index: index, against: rules) else { return false }
        try insertRow(entry)
        try TenantStore.logChange(db, kind: .ledgerEntry, id: entry.id, op: "insert", at: at)
        return true
    }

    /// The rules' half of ``post(_:index:against:)``: throws the refusal, or answers whether
    /// `entry` is to be written (false: a retry of one already there, exactly so).
    func check(_ entry: LedgerEntry, index: Int, against rules: some LedgerState) throws -> Bool {
        if rules.contains(entry.id) {
            guard let existing = rules.entry(entry.id), existing == entry else {
                let differing = rules.entry(entry.id).map { TenantStore.differing($0.fieldMap, entry.fieldMap) }
                try state.check()
                throw StoreError.refused(index: index, .alreadyExists(
                    field: "id", "entry \(entry.id) already exists with other content (\(differing ?? "unreadable")); a retry must repeat the first request exactly"
                ))
            }
            return false
        }
        do throws(DomainError) {
            try LedgerRules.validate(entry, against: rules)
        } catch {
            try state.check()
            throw StoreError.refused(index: index, error)
        }
        try state.check()
        return true
    }

    /// The row of an entry the rules accepted, without its change-log line (the caller logs it):
    /// one cached statement, its arguments bound unchecked (eleven, as the statement has).
    func insertRow(_ entry: LedgerEntry) throws {
        let insert = try db.cachedStatement(sql: """
            INSERT INTO ledger_entry (id, kind, customer_id, currency, amount, date, due_date, reference, source_id, target_id, memo)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        insert.setUncheckedArguments([
            entry.id, entry.kind.rawValue, entry.customerID, entry.amount.currency.code, entry.amount.minorUnits,
            entry.date.description, entry.dueDate?.description, entry.reference, entry.sourceID, entry.targetID, entry.memo,
        ])
        try insert.execute()
        bulk?.inserted(entry)
    }
}

/// The ledger rules' view of a tenant database: entries by primary key, balances from the
/// derived balance tables (one row each, see ``DerivedBalances``).
///
/// The rules read through a protocol that cannot throw, so a read that fails (a disk error, a
/// corrupt page) is kept, answered as "absent", and thrown by ``check()`` instead of whatever the
/// rules decided from it: run the rules through ``checking(_:_:)`` (or call `check()` after them),
/// and an I/O error surfaces as itself, never as a refusal or an acceptance.
struct SQLLedgerState: LedgerState {
    let db: Database
    /// On the import's bulk path, balances a pending entry touches are derived before a read.
    private let bulk: BulkDerivation?
    private let failure = ReadFailure()

    /// The first read that failed. One state serves one database access, on one thread.
    private final class ReadFailure: @unchecked Sendable {
        var error: (any Error)?
    }

    init(db: Database, bulk: BulkDerivation? = nil) {
        self.db = db
        self.bulk = bulk
    }

    /// Runs `body` (the ledger rules) over the state of `db`, then throws the first failed read,
    /// if any, in place of `body`'s own answer or error.
    static func checking<T>(_ db: Database, _ body: (SQLLedgerState) throws -> T) throws -> T {
        let state = SQLLedgerState(db: db)
        let result: Result<T, any Error> = Result { try body(state) }
        try state.check()
        return try result.get()
    }

    /// Throws the first read that failed since this state was made.
    func check() throws {
        if let error = failure.error { throw error }
    }

    private func read<T>(_ body: () throws -> T?) -> T? {
        do {
            return try body()
        } catch {
            if failure.error == nil { failure.error = error }
            return nil
        }
    }

    // The rules ask these for every entry posted: cached statements, not requests built per call.
    func entry(_ id: String) -> LedgerEntry? {
        read { try LedgerEntryRow.fetchOne(db.cachedStatement(sql: "SELECT * FROM ledger_entry WHERE id = ?"), arguments: [id])?.entry }
    }

    func contains(_ id: String) -> Bool {
        read { try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM ledger_entry WHERE id = ?"), arguments: [id]) } != nil
    }

    func reversal(of id: String) -> LedgerEntry? {
        read {
            try LedgerEntryRow.fetchOne(
                db.cachedStatement(sql: "SELECT * FROM ledger_entry WHERE target_id = ? AND kind = 'reversal'"), arguments: [id]
            )?.entry
        }
    }

    /// A derived balance row: (currency, gross, reversed), read after `prepare` (the bulk path's
    /// derivation of what is pending on it).
    private func balance(_ sql: String, _ id: String, after prepare: (BulkDerivation) throws -> Void) -> Money? {
        guard let row = read({ () throws -> Row? in
                if let bulk { try prepare(bulk) }
                return try Row.fetchOne(db.cachedStatement(sql: sql), arguments: [id])
            }),
            let currency = Currency(code: row[0])
        else { return nil }
        let reversed = row[2] as String? != nil
        return Money(minorUnits: reversed ? 0 : row[1], currency: currency)
    }

    func openBalance(ofInvoice id: String) -> Money? {
        balance("SELECT currency, gross, reversed_on FROM invoice_balance WHERE invoice_id = ?", id) { try $0.willRead(invoice: id) }
    }

    func unapplied(ofSource id: String) -> Money? {
        balance("SELECT currency, gross, reversed_on FROM source_balance WHERE source_id = ?", id) { try $0.willRead(source: id) }
    }

    func hasCustomer(_ id: String) -> Bool {
        read { try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM customer WHERE id = ?"), arguments: [id]) } != nil
    }

    func hasLiveApplications(_ id: String) -> Bool {
        let sql = """
            SELECT EXISTS (SELECT 1 FROM ledger_entry e WHERE e.kind = 'application' AND (e.source_id = ? OR e.target_id = ?)
              AND NOT EXISTS (SELECT 1 FROM ledger_entry r WHERE r.kind = 'reversal' AND r.target_id = e.id))
            """
        return read { try Bool.fetchOne(db, sql: sql, arguments: [id, id]) } ?? false
    }
}


/// Change-log times read back as milliseconds since 1970: what a replica's outbox stamps each
/// pushed change with (`PushChange.at_ms`).
///
/// The change log writes its times one way (``TenantStore/changeTimeFormatter``: UTC,
/// milliseconds, "2026-11-23T16:20:01.123Z"), so that form is read by a fixed-format parser: a
/// push of 10,000 changes spent about 8% of its CPU time in ISO8601DateFormatter. Any text not
/// exactly in that form, or outside the years and fields the fast path checks (1970 to 9999, a
/// real day of its month, seconds below 60), is read by the formatter, as before, so the answer
/// is the formatter's for every text.
enum ChangeTime {
    /// The time `text` names, in milliseconds since 1970; nil when the formatter cannot read it.
    static func milliseconds(_ text: String) -> Int64? {
        if let fast = fixedFormat(text) { return fast }
        guard let date = TenantStore.changeTimeFormatter.date(from: text) else { return nil }
        return Int64(exactly: (date.timeIntervalSince1970 * 1000).rounded())
    }

    /// The milliseconds of a "YYYY-MM-DDTHH:MM:SS.fffZ" text (24 ASCII bytes) naming a valid UTC
    /// time in 1970-9999; nil for anything else (the caller asks the formatter).
    static func fixedFormat(_ text: String) -> Int64? {
        var text = text
        return text.withUTF8 { bytes -> Int64? in
            guard bytes.count == 24, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"), bytes[10] == UInt8(ascii: "T"),
                  bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":"), bytes[19] == UInt8(ascii: "."),
                  bytes[23] == UInt8(ascii: "Z")
            else { return nil }
            func number(_ from: Int, _ count: Int) -> Int? {
                var value = 0
                for index in from..<(from + count) {
                    let byte = bytes[index]
                    guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
                    value = value * 10 + Int(byte - UInt8(ascii: "0"))
                }
                return value
            }
            // The calendar is CivilDate's (a real day of its month, days since 1970).
            guard let year = number(0, 4), let month = number(5, 2), let day = number(8, 2), let hour = number(11, 2),
                  let minute = number(14, 2), let second = number(17, 2), let millisecond = number(20, 3),
                  year >= 1970, let date = CivilDate(year: year, month: month, day: day),
                  hour < 24, minute < 60, second < 60
            else { return nil }
            // At most 9999-12-31T23:59:59.999Z: 253,402,300,799,999 ms, far inside Int64.
            let seconds = Int64(date.daysSinceEpoch) * 86_400 + Int64(hour * 3600 + minute * 60 + second)
            return seconds * 1000 + Int64(millisecond)
        }
    }
}
