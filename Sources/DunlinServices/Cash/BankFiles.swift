import DunlinCore
import DunlinStore
import Foundation

extension BankFileReader {
    /// ``receipts(_:format:lockboxLayout:)`` with the format as a request names it: empty or
    /// `auto`, or one of the formats; anything else is refused naming `format`.
    static func receipts(_ data: Data, formatNamed name: String) throws(DomainError) -> (format: BankFileFormat, receipts: [BankReceipt]) {
        guard let format = name.isEmpty ? .auto : BankFileFormat(rawValue: name) else {
            let known = BankFileFormat.allCases.map(\.rawValue).joined(separator: ", ")
            throw .invalid(field: "format", "\(String(reflecting: String(name.prefix(32)))) is not a format Dunlin reads: \(known)")
        }
        return try receipts(data, format: format)
    }
}

/// The matching step of an import, until the matcher: every debit and other line is listed, not
/// posted; every credit waits in the queue as unidentified.
enum CashMatchingStep {
    @Sendable static func decide(_ receipts: [BankReceipt], _ ledger: CashLedger) throws -> [CashDecision] {
        receipts.map { receipt in
            receipt.direction == .credit
                ? CashDecision(outcome: .unidentified, explanation: "not matched: no rule has run")
                : CashDecision(outcome: .notCredit, explanation: "a \(receipt.direction.rawValue): listed, never posted as a payment")
        }
    }
}
