import CompressNIO
import NIOCore

/// Per-message compression: each message is a complete zlib stream (RFC 1950: deflate with an
/// Adler-32 trailer) made with a fresh context, so a message can be decoded on its own.
///
/// Decompression is capped: a message that would inflate past `maxSize` is refused part-way,
/// so a compression bomb costs the receiver no more than the cap.
public enum MessageCompression {
    /// The only algorithm, under its name in HELLO and WELCOME.
    public static let deflate = "deflate"

    /// Messages smaller than this are sent as they are: compressing them costs more than it saves.
    public static let defaultThreshold = 1024

    /// The compressed form of `message`, or nil when compressing does not make it smaller.
    public static func compress(_ message: ByteBuffer) -> ByteBuffer? {
        var input = message
        guard let output = try? input.compress(with: .zlib()) else { return nil }
        return output.readableBytes < message.readableBytes ? output : nil
    }

    /// Inflates one message, refusing corrupt or truncated data and anything over `maxSize` bytes.
    public static func decompress(_ payload: ByteBuffer, maxSize: Int, byteOffset: UInt64 = 0, streamID: UInt32 = 0) throws(ProtocolError) -> ByteBuffer {
        var input = payload
        let output: ByteBuffer
        do {
            output = try input.decompress(with: .zlib(), maxSize: maxSize + 1)
        } catch let error as CompressNIOError where error == .bufferOverflow {
            throw ProtocolError(
                .messageTooLarge, "compressed message inflates past the limit of \(maxSize) bytes",
                byteOffset: byteOffset, streamID: streamID
            )
        } catch {
            throw ProtocolError(
                .compression, "compressed message is not valid zlib data (\(error))",
                byteOffset: byteOffset, streamID: streamID
            )
        }
        guard output.readableBytes <= maxSize else {
            throw ProtocolError(
                .messageTooLarge, "compressed message inflates past the limit of \(maxSize) bytes",
                byteOffset: byteOffset, streamID: streamID
            )
        }
        guard input.readableBytes == 0 else {
            throw ProtocolError(
                .compression, "\(input.readableBytes) byte(s) after the end of the zlib stream",
                byteOffset: byteOffset, streamID: streamID
            )
        }
        return output
    }
}
