import Crypto
import Foundation

/// The SHA-256 of a certificate's DER encoding: what `dunlind init` prints, what `dunlin login`
/// shows and pins, and what `openssl x509 -noout -fingerprint -sha256` prints for the same file.
///
/// Written `sha256:` and 64 lower-case hex digits. Read leniently: the prefix is optional, and
/// colons, spaces and upper case (openssl's `AB:CD:...`) are accepted, so an operator can paste
/// whichever form they have.
public struct CertificateFingerprint: Sendable, Hashable, CustomStringConvertible, Codable {
    /// The 32 bytes of the digest.
    public let bytes: [UInt8]

    /// The fingerprint of a certificate given as DER bytes.
    public init(der: some Sequence<UInt8>) {
        bytes = Array(SHA256.hash(data: Array(der)))
    }

    /// Parses a fingerprint as written by people and tools; nil when it is not 32 bytes of hex.
    public init?(_ text: String) {
        var hex = text.trimmingCharacters(in: .whitespaces).lowercased()
        for prefix in ["sha256:", "sha256=", "sha256 fingerprint="] where hex.hasPrefix(prefix) {
            hex.removeFirst(prefix.count)
        }
        hex.removeAll { $0 == ":" || $0 == " " }
        guard hex.count == 64, hex.allSatisfy(\.isHexDigit) else { return nil }
        var bytes: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            bytes.append(UInt8(hex[index..<next], radix: 16)!)
            index = next
        }
        self.bytes = bytes
    }

    public var description: String {
        "sha256:" + bytes.map { String(format: "%02x", $0) }.joined()
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let parsed = CertificateFingerprint(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a SHA-256 fingerprint: \(text)"))
        }
        self = parsed
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
