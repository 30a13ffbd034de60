import Crypto
import DunlinCore
import DunlinStore
import DunlinWire
import Foundation

/// Bank files imported, matched and queued (Protocol/cash.proto, PROTOCOL.md §16.5).
///
/// The import is the server's (`authority: true`): it reads the whole file, refuses it whole when
/// its totals or balances do not add up, matches each new credit and writes the file, its
/// receipts, their payments and applications in one transaction. A replica registers the reads
/// alone, so the queue answers offline from its copy and an import asked of it is UNIMPLEMENTED.
public struct CashService: RPCService {
    let tenants: any TenantProvider
    let authority: Bool

    /// The largest bank file an import takes (``BankFileFormat/maximumFileBytes``, 256 MiB). The
    /// stream is counted as it arrives and refused (RESOURCE_EXHAUSTED) once past it, before the
    /// rest is read; a larger statement is split by the bank by day or account.
    public static let maximumFileBytes = BankFileFormat.maximumFileBytes

    public init(tenants: any TenantProvider, authority: Bool) {
        self.tenants = tenants
        self.authority = authority
    }

    public func register(in router: inout Router) {
        let tenants = self.tenants

        router.unary(Cash.listBankFiles) { request, context in
            let (tenant, _) = try access(context, tenants, requires: .viewer)
            let page = try RPCError.mapping { try tenant.store.bankFiles(page: PageRequest(after: request.cursor, size: request.pageSize)) }
            return .with {
                $0.files = page.items.map(Dunlin_V1_BankFileRecord.init)
                $0.nextCursor = page.nextCursor ?? ""
            }
        }

        router.unary(Cash.getReceipt) { request, context in
            let (tenant, _) = try access(context, tenants, requires: .viewer)
            let receipt = try found(try RPCError.mapping { try tenant.store.cashReceipt(request.id) }, request.id)
            return try RPCError.mapping { try Self.records([receipt], in: tenant.store)[0] }
        }

        router.unary(Cash.listReceipts) { request, context in
            let (tenant, _) = try access(context, tenants, requires: .viewer)
            let page = try RPCError.mapping {
                try tenant.store.cashReceipts(
                    fileID: nonEmpty(request.fileID), waiting: request.queue, page: PageRequest(after: request.cursor, size: request.pageSize)
                )
            }
            let receipts = try RPCError.mapping { try Self.records(page.items, in: tenant.store) }
            return .with {
                $0.receipts = receipts
                $0.nextCursor = page.nextCursor ?? ""
            }
        }

        if authority {
            router.clientStreaming(Cash.importBankFile) { requests, context in
                let (tenant, _) = try access(context, tenants, requires: .analyst)
                var name = "", format = "", content = Data(), first = true
                for try await request in requests {
                    if first {
                        name = request.name
                        format = request.format
                        first = false
                    }
                    guard content.count + request.content.count <= Self.maximumFileBytes else {
                        throw RPCError(
                            .resourceExhausted, "the file is larger than an import takes (\(Self.maximumFileBytes >> 20) MiB); ask the bank for it by day or by account",
                            details: [.with { $0.field = "content" }]
                        )
                    }
                    content.append(request.content)
                }
                // The tenant's lockbox layout and tolerance (settings `cash.*`).
                let settings = try RPCError.mapping { try tenant.store.settings() }
                let (layout, matching) = try RPCError.mapping {
                    (try TenantSetting.lockboxLayout(settings), try TenantSetting.cashMatching(settings))
                }
                let read = try RPCError.mapping { try BankFileReader.receipts(content, formatNamed: format, lockboxLayout: layout) }
                let summary = try RPCError.mapping {
                    try tenant.store.importBankFile(
                        name: name, format: read.format.rawValue, digest: SHA256.hash(data: content), bytes: Int64(content.count),
                        receipts: read.receipts, by: context.principal.id, at: tenant.now,
                        decide: { receipts, ledger in try CashMatchingStep.decide(receipts, ledger, settings: matching) }
                    )
                }
                context.report(.imported(summary.receipts.count, .receipts))
                context.logger.info(
                    "bank file imported",
                    metadata: [
                        "file": "\(summary.file.id)", "format": "\(summary.file.format)", "new": "\(summary.receipts.count)",
                        "duplicates": "\(summary.duplicates)", "again": "\(summary.alreadyImported)",
                    ]
                )
                // Only the receipts that can answer are read and encoded (a large file's are
                // counted), the rest listed by ListReceipts.
                let receipts = try RPCError.mapping { try Self.records(Array(summary.receipts.prefix(Self.answeredReceipts.count)), in: tenant.store) }
                let answered = Self.answerable(receipts)
                return .with {
                    $0.file = Dunlin_V1_BankFileRecord(summary.file)
                    $0.alreadyImported = summary.alreadyImported
                    $0.duplicates = UInt32(clamping: summary.duplicates)
                    $0.receipts = answered
                    $0.receiptsOmitted = UInt32(clamping: summary.receipts.count - answered.count)
                }
            }
        }
    }

    /// At most this many receipts, and this many bytes of them, answer an import; the rest are
    /// counted (`receipts_omitted`) and listed by ListReceipts: a file of 100,000 lines wrote
    /// 40 MB of receipts, ten times what a message may carry, and its caller never saw the
    /// summary of an import that had committed.
    static let answeredReceipts = (count: 1_000, bytes: 2 << 20)

    /// The first receipts of `receipts` within ``answeredReceipts``.
    static func answerable(_ receipts: [Dunlin_V1_BankReceiptRecord]) -> [Dunlin_V1_BankReceiptRecord] {
        var bytes = 0
        var count = 0
        for receipt in receipts.prefix(answeredReceipts.count) {
            bytes += (try? receipt.serializedBytes() as [UInt8])?.count ?? answeredReceipts.bytes
            guard bytes <= answeredReceipts.bytes else { break }
            count += 1
        }
        return Array(receipts.prefix(count))
    }

    /// The receipts' messages, each with what of it is not applied yet (one read of the ledger).
    static func records(_ receipts: [CashReceipt], in store: TenantStore) throws -> [Dunlin_V1_BankReceiptRecord] {
        zip(receipts, try store.unapplied(of: receipts)).map { Dunlin_V1_BankReceiptRecord($0, unapplied: $1) }
    }
}
