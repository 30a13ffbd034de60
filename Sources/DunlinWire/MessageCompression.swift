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

    /// zlib's fastest level (1). A large answer (a 10,000-item statement, a snapshot batch) is
    /// compressed on the path of the call it answers, where level 6, zlib's default, took about
    /// three times as long for some 20% fewer bytes; the receiver inflates any level alike.
    static let level = ZlibConfiguration(compressionLevel: .fastestCompression)

    /// The compressed form of `message`, or nil when compressing does not make it smaller.
    public static func compress(_ message: ByteBuffer) -> ByteBuffer? {
        var input = message
        guard let output = try? input.compress(with: .zlib(configuration: level)) else { return nil }
        return output.readableBytes < message.readableBytes ? output : nil
    }

    /// Inflates one message, refusing corrupt or truncated data and anything over `maxSize` bytes.
    ///
    /// The stream must end exactly at the end of the payload: zlib must report its end (after
    /// checking the Adler-32 trailer itself), with no byte left over.
    public static func decompress(_ payload: ByteBuffer, maxSize: Int, byteOffset: UInt64 = 0, streamID: UInt32 = 0) throws(ProtocolError) -> ByteBuffer {
        func refuse(_ reason: Dunlin_V1_GoAwayReason, _ message: String) -> ProtocolError {
            ProtocolError(reason, message, byteOffset: byteOffset, streamID: streamID)
        }
        let tooLarge = refuse(.messageTooLarge, "compressed message inflates past the limit of \(maxSize) bytes")
        let truncated = refuse(.compression, "compressed message ends before its zlib stream does")
        guard payload.readableBytes > 0 else { throw truncated }

        var input = payload
        var output = ByteBuffer()
        // Inflate through a fixed window, so a bomb is stopped within one window of the cap.
        var window = ByteBuffer()
        window.reserveCapacity(min(64 << 10, maxSize + 1))
        do {
            let inflater = try ZlibDecompressor(algorithm: .zlib)
            func step(_ source: inout ByteBuffer) throws -> Bool {
                window.clear()
                var full = false
                do {
                    try inflater.inflate(from: &source, to: &window)
                } catch let error as CompressNIOError where error == .bufferOverflow {
                    full = true
                }
                guard output.readableBytes + window.readableBytes <= maxSize else { throw tooLarge }
                output.writeBuffer(&window)
                return full
            }
            // Inflate until zlib stops without asking for more room: at the end of the stream,
            // or with all input used up mid-stream.
            while try step(&input) {}
            guard input.readableBytes == 0 else {
                throw refuse(.compression, "\(input.readableBytes) byte(s) after the end of the zlib stream")
            }
            // All input is used. Ask zlib for more with none to give: past the end of the stream it
            // reports the end again; mid-stream it reports that it needs input (truncated).
            var nothing = payload
            nothing.moveReaderIndex(to: payload.writerIndex)
            while try step(&nothing) {}
        } catch let error as ProtocolError {
            throw error
        } catch let error as CompressNIOError where error == .inputBufferOverflow {
            throw truncated
        } catch {
            throw refuse(.compression, "compressed message is not valid zlib data (\(error))")
        }
        return output
    }
}
