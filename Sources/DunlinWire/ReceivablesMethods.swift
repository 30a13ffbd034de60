import DunlinCore

/// The Receivables service: one tenant's customers, ledger, cash application and reports. The
/// tenant is the caller's, from the credential; requests never name it.
public enum Receivables {
    public static let upsertCustomers = MethodDescriptor<Dunlin_V1_UpsertCustomersRequest, Dunlin_V1_UpsertCustomersResponse>(
        path: "/dunlin.v1.Receivables/UpsertCustomers", kind: .unary
    )
    public static let getCustomer = MethodDescriptor<Dunlin_V1_GetCustomerRequest, Dunlin_V1_GetCustomerResponse>(
        path: "/dunlin.v1.Receivables/GetCustomer", kind: .unary
    )
    public static let listCustomers = MethodDescriptor<Dunlin_V1_ListCustomersRequest, Dunlin_V1_ListCustomersResponse>(
        path: "/dunlin.v1.Receivables/ListCustomers", kind: .unary
    )
    public static let postEntries = MethodDescriptor<Dunlin_V1_PostEntriesRequest, Dunlin_V1_PostEntriesResponse>(
        path: "/dunlin.v1.Receivables/PostEntries", kind: .unary
    )
    /// Client-streaming: chunks of entries, imported in one transaction (see receivables.proto).
    public static let importEntries = MethodDescriptor<Dunlin_V1_ImportEntriesRequest, Dunlin_V1_ImportEntriesResponse>(
        path: "/dunlin.v1.Receivables/ImportEntries", kind: .clientStreaming
    )
    public static let getEntry = MethodDescriptor<Dunlin_V1_GetEntryRequest, Dunlin_V1_LedgerEntryRecord>(
        path: "/dunlin.v1.Receivables/GetEntry", kind: .unary
    )
    public static let listEntries = MethodDescriptor<Dunlin_V1_ListEntriesRequest, Dunlin_V1_ListEntriesResponse>(
        path: "/dunlin.v1.Receivables/ListEntries", kind: .unary
    )
    public static let applyCash = MethodDescriptor<Dunlin_V1_ApplyCashRequest, Dunlin_V1_ApplyCashResponse>(
        path: "/dunlin.v1.Receivables/ApplyCash", kind: .unary
    )
    public static let unapply = MethodDescriptor<Dunlin_V1_UnapplyRequest, Dunlin_V1_UnapplyResponse>(
        path: "/dunlin.v1.Receivables/Unapply", kind: .unary
    )
    public static let aging = MethodDescriptor<Dunlin_V1_AgingRequest, Dunlin_V1_AgingResponse>(
        path: "/dunlin.v1.Receivables/Aging", kind: .unary
    )
    public static let statement = MethodDescriptor<Dunlin_V1_StatementRequest, Dunlin_V1_StatementResponse>(
        path: "/dunlin.v1.Receivables/Statement", kind: .unary
    )
    public static let unappliedCash = MethodDescriptor<Dunlin_V1_UnappliedCashRequest, Dunlin_V1_UnappliedCashResponse>(
        path: "/dunlin.v1.Receivables/UnappliedCash", kind: .unary
    )
    /// The caller's (or an analyst's) customers in the order to work them, each with why.
    public static let worklist = MethodDescriptor<Dunlin_V1_WorklistRequest, Dunlin_V1_WorklistResponse>(
        path: "/dunlin.v1.Receivables/Worklist", kind: .unary
    )
    public static let metrics = MethodDescriptor<Dunlin_V1_MetricsRequest, Dunlin_V1_MetricsResponse>(
        path: "/dunlin.v1.Receivables/Metrics", kind: .unary
    )
}

// Month-end close (PROTOCOL.md §16.1, "Month-end close").
extension Receivables {
    public static let closeMonth = MethodDescriptor<Dunlin_V1_CloseMonthRequest, Dunlin_V1_PeriodCloseRecord>(
        path: "/dunlin.v1.Receivables/CloseMonth", kind: .unary
    )
    public static let reopenMonth = MethodDescriptor<Dunlin_V1_ReopenMonthRequest, Dunlin_V1_PeriodCloseRecord>(
        path: "/dunlin.v1.Receivables/ReopenMonth", kind: .unary
    )
    public static let getClose = MethodDescriptor<Dunlin_V1_GetCloseRequest, Dunlin_V1_PeriodCloseRecord>(
        path: "/dunlin.v1.Receivables/GetClose", kind: .unary
    )
    public static let listCloses = MethodDescriptor<Dunlin_V1_ListClosesRequest, Dunlin_V1_ListClosesResponse>(
        path: "/dunlin.v1.Receivables/ListCloses", kind: .unary
    )
    public static let closeSnapshot = MethodDescriptor<Dunlin_V1_CloseSnapshotRequest, Dunlin_V1_CloseSnapshotResponse>(
        path: "/dunlin.v1.Receivables/CloseSnapshot", kind: .unary
    )
    public static let postCloseAdjustments = MethodDescriptor<Dunlin_V1_PostCloseAdjustmentsRequest, Dunlin_V1_PostCloseAdjustmentsResponse>(
        path: "/dunlin.v1.Receivables/PostCloseAdjustments", kind: .unary
    )
}

extension Dunlin_V1_PeriodCloseRecord {
    public init(_ close: PeriodClose) {
        self.init()
        id = close.id
        month = close.month
        through = close.through.description
        status = close.status.rawValue
        baseCurrency = close.baseCurrency.code
        buckets = close.buckets.map { bucket in
            .with {
                $0.label = bucket.label
                $0.amount = bucket.amount
                $0.rateBasisPoints = Int32(clamping: bucket.rateBasisPoints)
                $0.allowance = bucket.allowance
            }
        }
        currencies = close.currencies.map { total in
            .with {
                $0.currency = total.currency.code
                $0.total = total.total
                $0.rate = total.rate
                $0.inverse = total.inverse
                $0.rateDate = total.rateDate
            }
        }
        receivables = close.receivables
        allowance = close.allowance
        previousID = close.previousID
        previousAllowance = close.previousAllowance
        allowanceChange = close.allowanceChange
        closedBy = close.closedBy
        closedOn = close.closedOn.description
        closedSeq = close.closedSeq
        reopenedBy = close.reopenedBy
        reopenedOn = close.reopenedOn?.description ?? ""
        reopenReason = close.reopenReason
        postCloseAdjustments = Int32(clamping: close.postCloseAdjustments)
    }
}
