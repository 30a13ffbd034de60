import DunlinCore
import DunlinSync
import GRDB

/// An exchange rate as a row (kind `exchange_rate`, migration v26): mutable, tombstoned; a
/// deleted day's rate is set again as an ordinary edit (its id is the pair and the day).
struct ExchangeRateRow: TombstonedRow {
    static let recordKind = RecordKind.exchangeRate
    static let databaseTableName = "exchange_rate"
    static let revivable = true

    var id: String
    var from_currency: String
    var to_currency: String
    var date: String
    var rate: String
    var source: String
    var deleted: Bool

    init(_ rate: DatedRate) {
        id = rate.id
        from_currency = rate.from.code
        to_currency = rate.to.code
        date = rate.date.description
        self.rate = rate.rate
        source = rate.source
        deleted = false
    }

    func record() throws -> DatedRate {
        let table = Self.databaseTableName
        guard let from = Currency(code: from_currency) else { throw StoredValue.unreadable(table, "from_currency", id: id, from_currency) }
        guard let to = Currency(code: to_currency) else { throw StoredValue.unreadable(table, "to_currency", id: id, to_currency) }
        var record = DatedRate(from: from, to: to, date: try StoredValue.date(date, table, "date", id: id), rate: rate, source: source)
        record.id = id
        return record
    }

    enum Columns {
        static let from = Column(CodingKeys.from_currency)
        static let to = Column(CodingKeys.to_currency)
        static let date = Column(CodingKeys.date)
    }
}

extension TenantStore {
    // MARK: Exchange rates

    /// Sets rates, all or none; each must pass ``DatedRate/validate()``.
    public func upsert(_ rates: [DatedRate]) throws {
        try save(rates, as: ExchangeRateRow.init, validate: Self.check)
    }

    /// The rate, or nil when there is none (or it was deleted).
    public func exchangeRate(_ id: String) throws -> DatedRate? {
        try live(ExchangeRateRow.self, id)?.record()
    }

    /// Rates by day, then id: those converting from or into `currency` when given, dated within
    /// the bounds.
    public func exchangeRates(currency: String? = nil, from: CivilDate? = nil, through: CivilDate? = nil, page: PageRequest = .first) throws -> Page<DatedRate> {
        let columns = ExchangeRateRow.Columns.self
        var request = ExchangeRateRow.live.matching(columns.date, from: from?.description, through: through?.description)
        if let currency { request = request.filter(columns.from == currency || columns.to == currency) }
        return try read(request, page, ListOrder(ExchangeRateRow.self, by: columns.date)) { try ExchangeRateRow(row: $0).record() }
    }

    /// Leaves a tombstone for each rate; an id that names no live rate refuses the batch.
    public func deleteExchangeRates(_ ids: [String]) throws {
        try tombstone(ExchangeRateRow.self, ids)
    }

    /// The rate into `base` in force on `day` for each currency that has one
    /// (``AppliedRate/inForce(_:base:on:)``).
    public func ratesInForce(into base: Currency, on day: CivilDate) throws -> [Currency: AppliedRate] {
        try writer.read { db in try Self.ratesInForce(db, into: base, on: day) }
    }

    /// ``ratesInForce(into:on:)`` in a transaction the caller holds.
    static func ratesInForce(_ db: Database, into base: Currency, on day: CivilDate) throws -> [Currency: AppliedRate] {
        let quotes = try ExchangeRateRow.live
            .filter(ExchangeRateRow.Columns.to == base.code || ExchangeRateRow.Columns.from == base.code)
            .filter(ExchangeRateRow.Columns.date <= day.description)
            .fetchAll(db)
        // A row this version cannot read is passed over, as a malformed rate is.
        return AppliedRate.inForce(quotes.compactMap { try? $0.record() }, base: base, on: day)
    }

    static func check(_ rate: DatedRate, _ db: Database) throws {
        try rate.validate()
    }
}
