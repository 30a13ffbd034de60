import DunlinCore

extension Records {
    public static let upsertExchangeRates = MethodDescriptor<Dunlin_V1_UpsertExchangeRatesRequest, Dunlin_V1_UpsertExchangeRatesResponse>(
        path: "/dunlin.v1.Records/UpsertExchangeRates", kind: .unary
    )
    public static let getExchangeRate = MethodDescriptor<Dunlin_V1_GetExchangeRateRequest, Dunlin_V1_ExchangeRateRecord>(
        path: "/dunlin.v1.Records/GetExchangeRate", kind: .unary
    )
    public static let listExchangeRates = MethodDescriptor<Dunlin_V1_ListExchangeRatesRequest, Dunlin_V1_ListExchangeRatesResponse>(
        path: "/dunlin.v1.Records/ListExchangeRates", kind: .unary
    )
    public static let deleteExchangeRates = MethodDescriptor<Dunlin_V1_DeleteExchangeRatesRequest, Dunlin_V1_DeleteResponse>(
        path: "/dunlin.v1.Records/DeleteExchangeRates", kind: .unary
    )
}

extension Dunlin_V1_GetExchangeRateRequest: RecordIDRequest {}
extension Dunlin_V1_DeleteExchangeRatesRequest: RecordIDsRequest {}
extension Dunlin_V1_ListExchangeRatesRequest: PagedRequest {}
extension Dunlin_V1_ListExchangeRatesResponse: PagedResponse {}

extension Dunlin_V1_ExchangeRateRecord: MutableRecordMessage {
    public static var kind: RecordKind { .exchangeRate }
    public static var upsert: MethodDescriptor<Dunlin_V1_UpsertExchangeRatesRequest, Dunlin_V1_UpsertExchangeRatesResponse> { Records.upsertExchangeRates }
    public static var get: MethodDescriptor<Dunlin_V1_GetExchangeRateRequest, Self> { Records.getExchangeRate }
    public static var list: MethodDescriptor<Dunlin_V1_ListExchangeRatesRequest, Dunlin_V1_ListExchangeRatesResponse> { Records.listExchangeRates }
    public static var delete: MethodDescriptor<Dunlin_V1_DeleteExchangeRatesRequest, Dunlin_V1_DeleteResponse> { Records.deleteExchangeRates }
    public static var batch: WritableKeyPath<Dunlin_V1_UpsertExchangeRatesRequest, [Self]> { \.rates }
    public static var saved: WritableKeyPath<Dunlin_V1_UpsertExchangeRatesResponse, [Self]> { \.rates }
    public static var listed: WritableKeyPath<Dunlin_V1_ListExchangeRatesResponse, [Self]> { \.rates }

    public init(_ rate: DatedRate) {
        self.init()
        id = rate.id
        fromCurrency = rate.from.code
        toCurrency = rate.to.code
        date = rate.date.description
        self.rate = rate.rate
        source = rate.source
    }

    /// The rate; the day defaults to `today` (the tenant's), the id to the pair's and the day's.
    public func record(today: CivilDate, caller: String) throws(DomainError) -> DatedRate {
        var record = DatedRate(
            from: try WireField.currency(fromCurrency, field: "from_currency"), to: try WireField.currency(toCurrency, field: "to_currency"),
            date: try WireField.date(date, field: "date", default: today), rate: rate, source: source
        )
        if !id.isEmpty { record.id = id }
        return record
    }
}

extension Dunlin_V1_AppliedRate {
    /// How `applied` converts `currency` into `base`.
    public init(_ applied: AppliedRate) {
        self.init()
        currency = applied.rate.from.code
        baseCurrency = applied.rate.to.code
        rate = applied.rate.quoted
        inverse = applied.rate.inverted
        if let quote = applied.quote {
            date = quote.date.description
            source = quote.source
        } else {
            given = true
        }
    }
}

extension WireField {
    /// An ISO 4217 currency, required.
    public static func currency(_ code: String, field: String) throws(DomainError) -> Currency {
        guard !code.isEmpty else { throw .invalid(field: field, "is required (an ISO 4217 code such as USD)") }
        guard let currency = Currency(code: code) else { throw .money(field: field, .unknownCurrency(code)) }
        return currency
    }
}
