import DunlinCore

// The sync form of an exchange rate: the fields of Protocol/records.proto's ExchangeRateRecord,
// in its field-number order. Currencies are their ISO 4217 codes; an unknown code is refused,
// naming the field.

extension DatedRate: SyncRecordForm {
    public static let recordKind = RecordKind.exchangeRate
    public static let form = [
        SyncField("id", .text),
        SyncField("from_currency", .text),
        SyncField("to_currency", .text),
        SyncField("date", .date),
        SyncField("rate", .text),
        SyncField("source", .text),
    ]

    public var fieldMap: FieldMap {
        [
            "id": .string(id), "from_currency": .string(from.code), "to_currency": .string(to.code), "date": SyncValue.date(date),
            "rate": .string(rate), "source": .string(source),
        ]
    }

    public init(fieldMap: FieldMap) throws(DomainError) {
        let read = try SyncFieldReader(fieldMap, form: Self.form, kind: Self.recordKind)
        func currency(_ field: String) throws(DomainError) -> Currency { try SyncValue.currency(try read.text(field), field) }
        self.init(from: try currency("from_currency"), to: try currency("to_currency"), date: try read.date("date"), rate: try read.text("rate"), source: try read.text("source"))
        id = try read.text("id")
    }
}

extension SyncValue {
    /// An ISO 4217 code a form holds as text; an unknown one is refused, naming `field`.
    public static func currency(_ code: String, _ field: String) throws(DomainError) -> Currency {
        guard let currency = Currency(code: code) else { throw .money(field: field, .unknownCurrency(code)) }
        return currency
    }
}
