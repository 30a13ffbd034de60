import DunlinCore
import Foundation
import Testing

/// Edits one place of a bank file that reads, and expects its reader to refuse the edited file
/// whole, on the field "file", with a message containing `message` (its line first).
func expectRefusal(
    of file: String, replacing original: String, with replacement: String, message: String,
    read: (String) throws(DomainError) -> [BankReceipt], sourceLocation: SourceLocation = #_sourceLocation
) {
    let text = file.replacingOccurrences(of: original, with: replacement)
    #expect(text != file, "the edit changes the file", sourceLocation: sourceLocation)
    do {
        _ = try read(text)
        Issue.record("accepted", sourceLocation: sourceLocation)
    } catch {
        #expect(error.field == "file", sourceLocation: sourceLocation)
        #expect("\(error)".contains(message), "\(error)", sourceLocation: sourceLocation)
    }
}
