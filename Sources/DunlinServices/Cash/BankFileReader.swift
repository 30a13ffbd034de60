import DunlinCore
import Foundation

/// The one place a bank file's format meets its reader: BAI2, MT940 and lockbox files are read
/// in DunlinCore, camt.053 and camt.054 here (their XML library stays out of the core).
public enum BankFileReader {
    /// The file's receipts and the format it was read as. `auto` detects the format from the
    /// first bytes (``BankFileFormat/detect(_:)``); a named format is read as that format, and a
    /// camt document of the other kind is refused. A file over
    /// ``BankFileFormat/maximumFileBytes`` is refused OUT_OF_RANGE before any reading.
    public static func receipts(
        _ data: Data, format: BankFileFormat = .auto, lockboxLayout: LockboxLayout = .standard
    ) throws(DomainError) -> (format: BankFileFormat, receipts: [BankReceipt]) {
        try BankFileFormat.checkSize(data.count)
        var chosen = format
        if chosen == .auto {
            guard let detected = BankFileFormat.detect(data) else {
                // The fix is to name the format, so the refusal names it.
                throw .invalid(field: "format", "the file is not BAI2, camt.053, camt.054, MT940 or a lockbox file by its first bytes; name its --format")
            }
            chosen = detected
        }
        switch chosen {
        case .bai2: return (chosen, try BAI2.receipts(data))
        case .mt940: return (chosen, try MT940.receipts(data))
        case .lockbox: return (chosen, try Lockbox.receipts(data, layout: lockboxLayout))
        case .camt053, .camt054, .auto: return (chosen, try Camt.receipts(data, as: chosen))
        }
    }
}
