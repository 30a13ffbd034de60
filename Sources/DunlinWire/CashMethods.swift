import DunlinCore
import Foundation
import SwiftProtobuf

/// The Cash service: bank files imported, matched and queued. Who may call what is in
/// Protocol/cash.proto.
public enum Cash {
    /// Streams a bank file to the server, which reads, matches and imports it in one transaction:
    /// the server's alone.
    public static let importBankFile = MethodDescriptor<Dunlin_V1_ImportBankFileRequest, Dunlin_V1_ImportBankFileResponse>(
        path: "/dunlin.v1.Cash/ImportBankFile", kind: .clientStreaming
    )
    public static let listBankFiles = MethodDescriptor<Dunlin_V1_ListBankFilesRequest, Dunlin_V1_ListBankFilesResponse>(
        path: "/dunlin.v1.Cash/ListBankFiles", kind: .unary
    )
    public static let getReceipt = MethodDescriptor<Dunlin_V1_GetReceiptRequest, Dunlin_V1_BankReceiptRecord>(
        path: "/dunlin.v1.Cash/GetReceipt", kind: .unary
    )
    public static let listReceipts = MethodDescriptor<Dunlin_V1_ListReceiptsRequest, Dunlin_V1_ListReceiptsResponse>(
        path: "/dunlin.v1.Cash/ListReceipts", kind: .unary
    )
}

extension Dunlin_V1_BankFileRecord {
    public init(_ file: BankFile) {
        self.init()
        id = file.id
        name = file.name
        format = file.format
        bytes = file.bytes
        importedAt = Activity.milliseconds(of: file.importedAt)
        importedBy = file.importedBy
        receipts = Int32(clamping: file.receipts)
        newReceipts = Int32(clamping: file.newReceipts)
        notCredits = Int32(clamping: file.notCredits)
        credits = Int32(clamping: file.credits)
        customerMatches = Int32(clamping: file.customerMatches)
        invoiceMatches = Int32(clamping: file.invoiceMatches)
    }
}

extension Dunlin_V1_BankReceiptRecord {
    /// `unapplied`: what of the receipt is not applied to invoices yet (the ledger's answer).
    public init(_ cash: CashReceipt, unapplied: Money) {
        self.init()
        let bank = cash.receipt
        id = cash.id
        fileID = cash.fileID
        identity = bank.identity
        format = bank.format
        account = bank.account
        amount = Dunlin_V1_Amount(bank.amount)
        direction = bank.direction.rawValue
        bookingDate = bank.bookingDate.description
        valueDate = bank.valueDate?.description ?? ""
        typeCode = bank.typeCode
        bankReference = bank.bankReference
        endToEndID = bank.endToEndID
        payerName = bank.payerName
        payerAccount = bank.payerAccount
        remittance = bank.remittance
        creditorReferences = bank.creditorReferences
        line = Int32(clamping: bank.line)
        outcome = cash.outcome.rawValue
        customerID = cash.customerID
        paymentID = cash.paymentID
        applications = cash.applications.map { application in
            .with {
                $0.invoiceID = application.invoiceID
                $0.amount = Dunlin_V1_Amount(application.amount)
                $0.rule = application.rule
                $0.confidence = Int32(clamping: application.confidence)
            }
        }
        suggestions = cash.suggestions.map { suggestion in
            .with {
                $0.customerID = suggestion.customerID
                $0.invoiceIds = suggestion.invoiceIDs
                $0.rule = suggestion.rule
                $0.confidence = Int32(clamping: suggestion.confidence)
            }
        }
        explanation = cash.explanation
        importedAt = Activity.milliseconds(of: cash.importedAt)
        self.unapplied = Dunlin_V1_Amount(unapplied)
    }
}
