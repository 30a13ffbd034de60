import Crypto
import Foundation

/// An API token: the bearer credential a client sends in HELLO.
///
/// Format: `"dnl_" + id + "_" + secret`, all lower-case base32 (`a-z2-7`), 73 characters, one
/// "word" that survives double-click selection and shell quoting:
/// - `id`, 16 characters (80 bits), names the token's row. It is not secret: it appears in token
///   lists, and a client reads it from the token it holds to rotate or revoke it
///   (`Admin.tokenID(of:)` in DunlinWire parses the same format).
/// - `secret`, 52 characters: 260 bits from the system CSPRNG (`SystemRandomNumberGenerator`, which
///   reads the kernel's `getrandom` on Linux).
///
/// The server keeps only SHA-256 of the whole token. Checking a token looks the row up by id and
/// compares the hashes in constant time, so neither an index lookup nor a comparison leaks how much
/// of a guessed secret was right. A token's `description` never contains the secret, so logging
/// one by mistake leaks nothing; only `plaintext` does, and it is handed to the user once.
public struct APIToken: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible {
    public static let prefix = "dnl_"
    public static let idLength = 16
    public static let secretLength = 52
    static let alphabet = Array("abcdefghijklmnopqrstuvwxyz234567".utf8)

    public let id: String
    private let secret: String

    /// A new token with a fresh id and secret.
    public static func generate() -> APIToken {
        APIToken(id: randomBase32(count: idLength), secret: randomBase32(count: secretLength))
    }

    private init(id: String, secret: String) {
        self.id = id
        self.secret = secret
    }

    /// Parses a token a client presented; nil when it is not in the format above.
    public init?(parsing token: String) {
        let parts = token.split(separator: "_", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "dnl", parts[1].utf8.count == Self.idLength, parts[2].utf8.count == Self.secretLength,
              parts[1].utf8.allSatisfy(Self.alphabet.contains), parts[2].utf8.allSatisfy(Self.alphabet.contains)
        else { return nil }
        self.init(id: String(parts[1]), secret: String(parts[2]))
    }

    /// The token as the user must present it. Show it once; never log or store it.
    public var plaintext: String { Self.prefix + id + "_" + secret }

    /// SHA-256 of `plaintext`: all the server keeps.
    public var hash: Data { Data(SHA256.hash(data: Data(plaintext.utf8))) }

    /// Whether `storedHash` is this token's hash, in time independent of where they differ.
    public func matches(storedHash: Data) -> Bool {
        constantTimeEqual(hash, storedHash)
    }

    public var description: String { Self.prefix + id + "_[redacted]" }
    public var debugDescription: String { description }

    /// `count` characters of base32, each from 5 uniformly random bits of the CSPRNG.
    static func randomBase32(count: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count)
        for _ in 0..<count { bytes.append(alphabet[Int(generator.next() & 31)]) }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// Compares two byte strings without stopping at the first difference.
func constantTimeEqual(_ lhs: Data, _ rhs: Data) -> Bool {
    guard lhs.count == rhs.count else { return false }
    var difference: UInt8 = 0
    for (left, right) in zip(lhs, rhs) { difference |= left ^ right }
    return difference == 0
}
