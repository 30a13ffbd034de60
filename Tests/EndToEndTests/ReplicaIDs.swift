import Foundation

/// A valid replica id (PROTOCOL.md §16.2: `r` and 32 lower-case hex digits) that still reads as
/// whose it is in a test: the name's bytes in hex, padded with zeros ("ana" is
/// `r616e6100000000000000000000000000`). Names are at most 16 bytes.
func testReplica(_ name: String) -> String {
    precondition(name.utf8.count <= 16, "a test replica name is at most 16 bytes")
    let hex = name.utf8.map { String(format: "%02x", $0) }.joined()
    return "r" + hex + String(repeating: "0", count: 32 - hex.count)
}
