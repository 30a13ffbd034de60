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
        // zlib's smallest stream: 2-byte header, an empty final block, 4-byte Adler-32.
        guard payload.readableBytes >= 8 else {
            throw ProtocolError(
                .compression, "compressed message of \(payload.readableBytes) bytes is too short to be a zlib stream",
                byteOffset: byteOffset, streamID: streamID
            )
        }
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
        // The inflater stops quietly when input runs out; a complete stream ends with the Adler-32 of
        // what it inflated (zlib has already verified it when the end was reached).
        let trailer = payload.getInteger(at: payload.writerIndex - 4, as: UInt32.self)
        guard input.readableBytes > 0 || trailer == adler32(output) else {
            throw ProtocolError(
                .compression, "compressed message ends before its zlib stream does",
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

/// Adler-32 (RFC 1950) of a buffer's readable bytes.
func adler32(_ buffer: ByteBuffer) -> UInt32 {
    var a: UInt32 = 1
    var b: UInt32 = 0
    buffer.withUnsafeReadableBytes { bytes in
        // 5552 is the most bytes that can be summed before b could overflow 32 bits.
        var index = 0
        while index < bytes.count {
            let end = min(index + 5552, bytes.count)
            while index < end {
                a &+= UInt32(bytes[index])
                b &+= a
                index += 1
            }
            a %= 65521
            b %= 65521
        }
    }
    return (b << 16) | a
}
