import CZlibReference
import DunlinWire
import NIOCore

/// Differential check of `MessageCompression.decompress` against zlib's own one-shot inflate:
/// both must accept the same payloads with the same bytes, and refuse the rest for the same reason.
enum CompressionCheck {
    enum Reference: Equatable {
        case ok([UInt8])
        case tooLarge
        case corrupt
        case truncated([UInt8])  // with what zlib inflated before the input ran out
        case trailing
        case needDictionary
        case `internal`
    }

    /// The reference's output space, allocated once: a fresh multi-megabyte allocation per run
    /// costs AddressSanitizer a shadow-memory write each time. libFuzzer runs inputs on one thread.
    nonisolated(unsafe) private static var scratch = UnsafeMutablePointer<UInt8>.allocate(capacity: 1)
    nonisolated(unsafe) private static var scratchCapacity = 1

    static func reference(_ payload: ByteBuffer, maxSize: Int) -> Reference {
        if scratchCapacity < maxSize + 1 {
            scratch.deallocate()
            scratch = UnsafeMutablePointer<UInt8>.allocate(capacity: maxSize + 1)
            scratchCapacity = maxSize + 1
        }
        let output = scratch
        var produced = 0
        let outcome = payload.withUnsafeReadableBytes { input in
            dunlin_reference_inflate(
                input.bindMemory(to: UInt8.self).baseAddress, input.count, output, maxSize, &produced
            )
        }
        let bytes = { Array(UnsafeBufferPointer(start: output, count: produced)) }
        switch outcome {
        case Int32(DUNLIN_REF_OK.rawValue): return .ok(bytes())
        case Int32(DUNLIN_REF_TOO_LARGE.rawValue): return .tooLarge
        case Int32(DUNLIN_REF_CORRUPT.rawValue): return .corrupt
        case Int32(DUNLIN_REF_TRUNCATED.rawValue): return .truncated(bytes())
        case Int32(DUNLIN_REF_TRAILING.rawValue): return .trailing
        case Int32(DUNLIN_REF_NEED_DICT.rawValue): return .needDictionary
        default: return .internal
        }
    }

    /// Runs both inflaters on `payload` with the cap `maxSize`; returns Dunlin's result.
    @discardableResult
    static func check(_ payload: ByteBuffer, maxSize: Int) -> Result<ByteBuffer, ProtocolError> {
        let dunlin: Result<ByteBuffer, ProtocolError>
        do throws(ProtocolError) {
            dunlin = .success(try MessageCompression.decompress(payload, maxSize: maxSize))
        } catch {
            dunlin = .failure(error)
        }
        let expected = reference(payload, maxSize: maxSize)
        var input: String { hexString(payload.readableBytesView) }

        switch (expected, dunlin) {
        case (.ok(let bytes), .success(let output)):
            Oracle.require(
                Array(output.readableBytesView) == bytes, "decompress-output",
                "decompress(\(input), maxSize: \(maxSize)) gave \(output.readableBytes) bytes that differ from zlib's \(bytes.count)"
            )
        case (.ok(let bytes), .failure(let error)):
            Oracle.require(
                false, "decompress-refuses-valid",
                "decompress(\(input), maxSize: \(maxSize)) refused a complete zlib stream of \(bytes.count) bytes: \(error)"
            )
        case (.tooLarge, .success(let output)):
            Oracle.require(
                false, "decompress-cap",
                "decompress(\(input), maxSize: \(maxSize)) returned \(output.readableBytes) bytes of a stream that inflates past the cap"
            )
        case (.tooLarge, .failure(let error)):
            // compress-nio inflates into ByteBuffers whose capacity NIO rounds up to a power of two,
            // so it may read on past the cap (up to about twice it) and meet corrupt data there
            // first: a stream that is both over the cap and corrupt may be refused as either.
            Oracle.require(
                error.reason == .messageTooLarge || error.reason == .compression, "decompress-reason",
                "decompress(\(input), maxSize: \(maxSize)): over the cap, but refused as \(error.reason)"
            )
        case (.truncated(let partial), .success(let output)):
            Oracle.require(
                false, "decompress-truncated",
                "decompress(\(input), maxSize: \(maxSize)) accepted a truncated zlib stream (no end-of-stream block or Adler-32 trailer) and returned \(output.readableBytes) byte(s) (zlib had inflated \(partial.count) before the input ran out)"
            )
        case (.corrupt, .success), (.trailing, .success), (.needDictionary, .success), (.internal, .success):
            Oracle.require(
                false, "decompress-accepts-invalid",
                "decompress(\(input), maxSize: \(maxSize)) accepted what zlib calls \(expected)"
            )
        case (_, .failure(let error)):
            Oracle.require(
                error.reason == .compression, "decompress-reason",
                "decompress(\(input), maxSize: \(maxSize)): zlib says \(expected), refused as \(error)"
            )
        }
        if case .success(let output) = dunlin {
            Oracle.require(
                output.readableBytes <= maxSize, "decompress-cap",
                "decompress returned \(output.readableBytes) bytes over the cap of \(maxSize)"
            )
        }
        return dunlin
    }

    /// compress, then decompress, gives the message back.
    static func roundTrip(_ message: ByteBuffer) {
        guard let compressed = MessageCompression.compress(message) else { return }
        Oracle.require(
            compressed.readableBytes < message.readableBytes, "compress-smaller",
            "compress returned \(compressed.readableBytes) bytes for a \(message.readableBytes)-byte message"
        )
        do throws(ProtocolError) {
            let back = try MessageCompression.decompress(compressed, maxSize: message.readableBytes)
            Oracle.require(back == message, "compress-roundtrip", "decompress(compress(m)) != m for \(message.readableBytes) bytes")
        } catch {
            Oracle.require(false, "compress-roundtrip", "decompress(compress(m)) threw \(error)")
        }
    }
}
