import DunlinCore
import Foundation

// The sync forms of the cash kinds (PROTOCOL.md §16.2 "Record forms"): bank_file and
// bank_receipt, both written by the server's import alone and never changed, so they only ever
// travel server -> replica. A receipt's bank line, applications and suggestions are objects.

extension CashReceipt: SyncRecordForm {
    public static let recordKind = RecordKind.bankReceipt
    static let applicationForm = [
        SyncField("invoice_id", .text),
        SyncField("amount", .amount),
        SyncField("rule", .text),
        SyncField("confidence", .int32),
    ]
    static let suggestionForm = [
        SyncField("customer_id", .text),
        SyncField("invoice_ids", .textList),
        SyncField("rule", .text),
        SyncField("confidence", .int32),
    ]
    public static let form = [
        SyncField("id", .text),
        SyncField("file_id", .text),
        SyncField("identity", .text),
        SyncField("format", .text),
        SyncField("account", .text),
        SyncField("amount", .amount),
        SyncField("direction", .choice(ReceiptDirection.allCases.map(\.rawValue))),
        SyncField("booking_date", .date),
        SyncField("value_date", .date, optional: true),
        SyncField("type_code", .text),
        SyncField("bank_reference", .text),
        SyncField("end_to_end_id", .text),
        SyncField("payer_name", .text),
        SyncField("payer_account", .text),
        SyncField("remittance", .text),
        SyncField("creditor_references", .textList),
        SyncField("line", .int32),
        SyncField("outcome", .choice(ReceiptOutcome.allCases.map(\.rawValue))),
        SyncField("customer_id", .text),
        SyncField("payment_id", .text),
        SyncField("applications", .objects(applicationForm)),
        SyncField("suggestions", .objects(suggestionForm)),
        SyncField("explanation", .text),
        SyncField("imported_at", .instant),
    ]

    public var fieldMap: FieldMap {
        let applications = applications.map { application -> FieldValue in
            .object([
                "invoice_id": .string(application.invoiceID), "amount": SyncValue.amount(application.amount), "rule": .string(application.rule),
                "confidence": .integer(Int64(application.confidence)),
            ])
        }
        let suggestions = suggestions.map { suggestion -> FieldValue in
            .object([
                "customer_id": .string(suggestion.customerID), "invoice_ids": .array(suggestion.invoiceIDs.map(FieldValue.string)),
                "rule": .string(suggestion.rule), "confidence": .integer(Int64(suggestion.confidence)),
            ])
        }
        return [
            "id": .string(id), "file_id": .string(fileID), "identity": .string(receipt.identity), "format": .string(receipt.format),
            "account": .string(receipt.account), "amount": SyncValue.amount(receipt.amount), "direction": .string(receipt.direction.rawValue),
            "booking_date": SyncValue.date(receipt.bookingDate), "value_date": receipt.valueDate.map(SyncValue.date) ?? .null,
            "type_code": .string(receipt.typeCode), "bank_reference": .string(receipt.bankReference), "end_to_end_id": .string(receipt.endToEndID),
            "payer_name": .string(receipt.payerName), "payer_account": .string(receipt.payerAccount), "remittance": .string(receipt.remittance),
            "creditor_references": .array(receipt.creditorReferences.map(FieldValue.string)), "line": .integer(Int64(receipt.line)),
            "outcome": .string(outcome.rawValue), "customer_id": .string(customerID), "payment_id": .string(paymentID),
            "applications": .array(applications), "suggestions": .array(suggestions), "explanation": .string(explanation),
            "imported_at": SyncValue.instant(importedAt),
        ]
    }

    public init(fieldMap: FieldMap) throws(DomainError) {
        let read = try SyncFieldReader(fieldMap, form: Self.form, kind: Self.recordKind)
        let receipt = BankReceipt(
            identity: try read.text("identity"), format: try read.text("format"), account: try read.text("account"),
            amount: try read.amount("amount"), direction: try read.choice("direction", ReceiptDirection.self),
            bookingDate: try read.date("booking_date"), valueDate: try read.optional("value_date", read.date),
            typeCode: try read.text("type_code"), bankReference: try read.text("bank_reference"), endToEndID: try read.text("end_to_end_id"),
            payerName: try read.text("payer_name"), payerAccount: try read.text("payer_account"), remittance: try read.text("remittance"),
            creditorReferences: try read.textList("creditor_references"), line: try read.int32("line")
        )
        self.init(
            id: try read.text("id"), fileID: try read.text("file_id"), receipt: receipt, outcome: try read.choice("outcome", ReceiptOutcome.self),
            customerID: try read.text("customer_id"), paymentID: try read.text("payment_id"),
            applications: try read.objects("applications", Self.applicationForm) { item throws(DomainError) in
                ReceiptApplication(
                    invoiceID: try item.text("invoice_id"), amount: try item.amount("amount"), rule: try item.text("rule"),
                    confidence: try item.int32("confidence")
                )
            },
            suggestions: try read.objects("suggestions", Self.suggestionForm) { item throws(DomainError) in
                ReceiptSuggestion(
                    customerID: try item.text("customer_id"), invoiceIDs: try item.textList("invoice_ids"), rule: try item.text("rule"),
                    confidence: try item.int32("confidence")
                )
            },
            explanation: try read.text("explanation"), importedAt: try read.instant("imported_at")
        )
    }
}

extension BankFile: SyncRecordForm {
    public static let recordKind = RecordKind.bankFile
    public static let form = [
        SyncField("id", .text),
        SyncField("name", .text),
        SyncField("format", .text),
        SyncField("bytes", .int64),
        SyncField("imported_at", .instant),
        SyncField("imported_by", .text),
        SyncField("receipts", .int32),
        SyncField("new_receipts", .int32),
        SyncField("not_credits", .int32),
        SyncField("credits", .int32),
        SyncField("customer_matches", .int32),
        SyncField("invoice_matches", .int32),
    ]

    public var fieldMap: FieldMap {
        [
            "id": .string(id), "name": .string(name), "format": .string(format), "bytes": SyncValue.int64(bytes),
            "imported_at": SyncValue.instant(importedAt), "imported_by": .string(importedBy), "receipts": .integer(Int64(receipts)),
            "new_receipts": .integer(Int64(newReceipts)), "not_credits": .integer(Int64(notCredits)), "credits": .integer(Int64(credits)),
            "customer_matches": .integer(Int64(customerMatches)), "invoice_matches": .integer(Int64(invoiceMatches)),
        ]
    }

    public init(fieldMap: FieldMap) throws(DomainError) {
        let read = try SyncFieldReader(fieldMap, form: Self.form, kind: Self.recordKind)
        self.init(
            id: try read.text("id"), name: try read.text("name"), format: try read.text("format"), bytes: try read.int64("bytes"),
            importedAt: try read.instant("imported_at"), importedBy: try read.text("imported_by"), receipts: try read.int32("receipts"),
            newReceipts: try read.int32("new_receipts"), notCredits: try read.int32("not_credits"), credits: try read.int32("credits"),
            customerMatches: try read.int32("customer_matches"), invoiceMatches: try read.int32("invoice_matches")
        )
    }
}
