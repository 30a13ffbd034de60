import DunlinCore

// The sync form of a month-end close: the fields of Protocol/receivables.proto's
// PeriodCloseRecord, in its field-number order; its buckets and currencies are CloseBucket and
// CloseCurrency objects. Amounts are minor units of the base currency (int64 as decimal text).

extension PeriodClose: SyncRecordForm {
    public static let recordKind = RecordKind.periodClose
    static let bucketForm = [
        SyncField("label", .text),
        SyncField("amount", .int64),
        SyncField("rate_basis_points", .int32),
        SyncField("allowance", .int64),
    ]
    static let currencyForm = [
        SyncField("currency", .text),
        SyncField("total", .int64),
        SyncField("rate", .text),
        SyncField("inverse", .bool),
        SyncField("rate_date", .text),
    ]
    public static let form = [
        SyncField("id", .text),
        SyncField("month", .text),
        SyncField("through", .date),
        SyncField("status", .choice(Status.allCases.map(\.rawValue))),
        SyncField("base_currency", .text),
        SyncField("buckets", .objects(bucketForm)),
        SyncField("currencies", .objects(currencyForm)),
        SyncField("receivables", .int64),
        SyncField("allowance", .int64),
        SyncField("previous_id", .text),
        SyncField("previous_allowance", .int64),
        SyncField("allowance_change", .int64),
        SyncField("closed_by", .text),
        SyncField("closed_on", .date),
        SyncField("closed_seq", .int64),
        SyncField("reopened_by", .text),
        SyncField("reopened_on", .date, optional: true),
        SyncField("reopen_reason", .text),
        SyncField("post_close_adjustments", .int32),
    ]

    public var fieldMap: FieldMap {
        let buckets = buckets.map { bucket -> FieldValue in
            .object([
                "label": .string(bucket.label), "amount": SyncValue.int64(bucket.amount), "rate_basis_points": .integer(Int64(bucket.rateBasisPoints)),
                "allowance": SyncValue.int64(bucket.allowance),
            ])
        }
        let currencies = currencies.map { total -> FieldValue in
            .object([
                "currency": .string(total.currency.code), "total": SyncValue.int64(total.total), "rate": .string(total.rate),
                "inverse": .bool(total.inverse), "rate_date": .string(total.rateDate),
            ])
        }
        return [
            "id": .string(id), "month": .string(month), "through": SyncValue.date(through), "status": .string(status.rawValue),
            "base_currency": .string(baseCurrency.code), "buckets": .array(buckets), "currencies": .array(currencies),
            "receivables": SyncValue.int64(receivables), "allowance": SyncValue.int64(allowance), "previous_id": .string(previousID),
            "previous_allowance": SyncValue.int64(previousAllowance), "allowance_change": SyncValue.int64(allowanceChange),
            "closed_by": .string(closedBy), "closed_on": SyncValue.date(closedOn), "closed_seq": SyncValue.int64(closedSeq),
            "reopened_by": .string(reopenedBy), "reopened_on": reopenedOn.map(SyncValue.date) ?? .null, "reopen_reason": .string(reopenReason),
            "post_close_adjustments": .integer(Int64(postCloseAdjustments)),
        ]
    }

    public init(fieldMap: FieldMap) throws(DomainError) {
        let read = try SyncFieldReader(fieldMap, form: Self.form, kind: Self.recordKind)
        let currency = SyncValue.currency
        self.init(
            month: try read.text("month"), through: try read.date("through"), status: try read.choice("status", Status.self),
            baseCurrency: try currency(try read.text("base_currency"), "base_currency"),
            buckets: try read.objects("buckets", Self.bucketForm) { item throws(DomainError) in
                Bucket(label: try item.text("label"), amount: try item.int64("amount"), rateBasisPoints: try item.int32("rate_basis_points"), allowance: try item.int64("allowance"))
            },
            currencies: try read.objects("currencies", Self.currencyForm) { item throws(DomainError) in
                CurrencyTotal(
                    currency: try currency(try item.text("currency"), "currencies.currency"), total: try item.int64("total"), rate: try item.text("rate"),
                    inverse: try item.bool("inverse"), rateDate: try item.text("rate_date")
                )
            },
            previousID: try read.text("previous_id"), previousAllowance: try read.int64("previous_allowance"), closedBy: try read.text("closed_by"),
            closedOn: try read.date("closed_on"), closedSeq: try read.int64("closed_seq"), reopenedBy: try read.text("reopened_by"),
            reopenedOn: try read.optional("reopened_on", read.date), reopenReason: try read.text("reopen_reason"),
            postCloseAdjustments: try read.int32("post_close_adjustments")
        )
        // Stored as computed when it was made: the totals are read, not recomputed.
        id = try read.text("id")
        receivables = try read.int64("receivables")
        allowance = try read.int64("allowance")
        allowanceChange = try read.int64("allowance_change")
    }
}
