import DunlinCore
import DunlinStore
import Foundation

/// Reads a bank file of any format Dunlin takes into receipts: the format named, or (`auto` or
/// empty) found from the file's first bytes.
enum BankFiles {
    enum Format: String, CaseIterable {
        case bai2, mt940

        /// From the first bytes: a BAI2 file opens with its "01," file header, an MT940 with a
        /// SWIFT block ("{1:") or its first tag (":20:").
        static func detect(_ data: Data) -> Format? {
            var head = String(decoding: data.prefix(64), as: UTF8.self)
            if head.hasPrefix("\u{FEFF}") { head.removeFirst() }
            head = head.trimmingCharacters(in: .whitespacesAndNewlines)
            if head.hasPrefix("01,") { return .bai2 }
            if head.hasPrefix("{1:") || head.hasPrefix(":20:") { return .mt940 }
            return nil
        }
    }

    static func read(_ data: Data, format name: String) throws(DomainError) -> (format: Format, receipts: [BankReceipt]) {
        let format: Format
        if name.isEmpty || name == "auto" {
            guard let found = Format.detect(data) else {
                throw .invalid(field: "format", "the file is not one Dunlin reads (BAI2, MT940); name its format with --format")
            }
            format = found
        } else {
            guard let named = Format(rawValue: name) else {
                throw .invalid(field: "format", "\(String(reflecting: String(name.prefix(32)))) is not a format Dunlin reads: auto, \(Format.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            format = named
        }
        let receipts: [BankReceipt] =
            switch format {
            case .bai2: try BAI2.receipts(data)
            case .mt940: try MT940.receipts(data)
            }
        return (format, receipts)
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
