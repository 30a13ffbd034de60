import DunlinWire
import NIOCore

/// Feeds bytes to a ``FrameDecoder`` the way a channel handler does, in chunks, and checks what
/// every decoder promises whatever the bytes: it consumes whole items only, re-encoding an item
/// gives back exactly the bytes it came from, it never sits on a whole item, and every refusal is a
/// ``ProtocolError`` that points inside the bytes it was given.
struct DecoderDriver {
    enum Outcome: Equatable {
        /// The consumer stopped (the connection failed or closed).
        case stopped
        /// The decoder threw.
        case refused(ProtocolError)
        /// All input consumed; `finish` said this about the leftover bytes.
        case endOfInput(leftover: Int, finish: ProtocolError?)
    }

    struct Plan {
        /// Largest chunk; 0 means the whole input at once.
        var maxChunk: Int
        var random: InputRandom
        /// Whether to discard read bytes after each chunk, moving the buffer's reader index to 0
        /// the way ByteToMessageHandler does.
        var discardReadBytes: Bool

        init(seed: UInt8, discardReadBytes: Bool) {
            let sizes = [0, 1, 2, 3, 7, 10, 64, 4096]
            maxChunk = seed == 0 ? 0 : sizes[Int(seed & 7)]
            if maxChunk == 0, seed != 0 { maxChunk = 1 + Int(seed >> 3) }
            random = InputRandom(seed: seed, salt: 0xC4A1)
            self.discardReadBytes = discardReadBytes
        }

        static let lump = Plan(seed: 0, discardReadBytes: false)
    }

    let wire: ArraySlice<UInt8>
    let limits: FrameDecoder.Limits
    let expectsPreface: Bool

    /// Decodes all of `wire`, calling `consume` with each item and the range of `wire` it came
    /// from; `consume` returns false to stop.
    func run(_ plan: Plan, consume: (InboundItem, Range<Int>) -> Bool) -> Outcome {
        var plan = plan
        var decoder = FrameDecoder(limits: limits, expectsPreface: expectsPreface)
        var buffer = ByteBuffer()
        var fed = wire.startIndex
        while fed < wire.endIndex {
            let size = plan.maxChunk == 0 ? wire.count : 1 + plan.random.below(plan.maxChunk)
            let end = min(wire.endIndex, fed + size)
            buffer.writeBytes(wire[fed..<end])
            fed = end
            while true {
                let start = decoder.offset
                let readerIndex = buffer.readerIndex
                let item: InboundItem?
                do throws(ProtocolError) {
                    item = try decoder.next(from: &buffer)
                } catch {
                    Oracle.require(
                        error.byteOffset < UInt64(fed - wire.startIndex), "error-offset",
                        "decoder error \(error) points at byte \(error.byteOffset), past the \(fed - wire.startIndex) bytes it was given"
                    )
                    Oracle.require(
                        error.byteOffset >= start, "error-offset",
                        "decoder error \(error) points at byte \(error.byteOffset), before the item at \(start) it refused"
                    )
                    return .refused(error)
                }
                guard let item else {
                    Oracle.require(buffer.readerIndex == readerIndex, "short-read-rewinds", "next(from:) returned nil but moved the reader index")
                    Oracle.require(decoder.offset == start, "short-read-rewinds", "next(from:) returned nil but moved its offset")
                    checkNeedsMore(buffer, decoder: decoder, expectsPreface: expectsPreface)
                    break
                }
                let range = Int(start)..<Int(decoder.offset)
                Oracle.require(
                    range.count == buffer.readerIndex - readerIndex, "offset-counts-bytes",
                    "decoder offset advanced by \(range.count) but \(buffer.readerIndex - readerIndex) bytes were read"
                )
                checkReencodes(item, range: range)
                if !consume(item, range) { return .stopped }
            }
            if plan.discardReadBytes { buffer.discardReadBytes() }
        }
        do throws(ProtocolError) {
            try decoder.finish(leftover: buffer)
            Oracle.require(buffer.readableBytes == 0, "finish", "finish accepted \(buffer.readableBytes) leftover bytes")
            return .endOfInput(leftover: 0, finish: nil)
        } catch {
            Oracle.require(buffer.readableBytes > 0, "finish", "finish refused an empty leftover: \(error)")
            Oracle.require(error.reason == .truncated, "finish", "finish refused the leftover as \(error.reason)")
            return .endOfInput(leftover: buffer.readableBytes, finish: error)
        }
    }

    /// A decoded item, encoded again, is exactly the bytes it was decoded from.
    private func checkReencodes(_ item: InboundItem, range: Range<Int>) {
        var encoded = ByteBuffer()
        switch item {
        case .preface(let preface):
            Oracle.require(expectsPreface && range.lowerBound == 0, "preface-once", "a preface at byte \(range.lowerBound)")
            preface.write(into: &encoded)
        case .frame(let frame):
            checkFrame(frame)
            frame.write(into: &encoded)
        }
        let original = wire[(wire.startIndex + range.lowerBound)..<(wire.startIndex + range.upperBound)]
        Oracle.require(
            encoded.readableBytesView.elementsEqual(original), "reencode",
            "item \(item) at \(range) re-encodes as \(hexString(encoded.readableBytesView)), not \(hexString(original))"
        )
    }

    /// What the decoder promises about every frame it yields.
    private func checkFrame(_ frame: Frame) {
        let type = frame.type
        Oracle.require(type.allowedFlags.isSuperset(of: frame.flags), "frame-valid", "\(type) with flags \(frame.flags.rawValue)")
        Oracle.require(type.isConnectionLevel == (frame.streamID == 0), "frame-valid", "\(type) on stream \(frame.streamID)")
        Oracle.require(frame.streamID <= Frame.maxStreamID, "frame-valid", "stream id \(frame.streamID) has the high bit set")
        let size = frame.payload.readableBytes
        switch type {
        case .ping, .pong: Oracle.require(size == 8, "frame-valid", "\(type) of \(size) bytes")
        case .window: Oracle.require(size == 4, "frame-valid", "WINDOW of \(size) bytes")
        case .halfClose, .cancel: Oracle.require(size == 0, "frame-valid", "\(type) of \(size) bytes")
        case .hello, .open, .goAway:
            Oracle.require(size <= limits.maxMetadataSize, "frame-limit", "\(type) of \(size) bytes over the metadata limit \(limits.maxMetadataSize)")
        case .welcome, .message, .end:
            Oracle.require(size <= limits.maxFrameSize, "frame-limit", "\(type) of \(size) bytes over the frame limit \(limits.maxFrameSize)")
        }
    }

    /// When `next` asks for more bytes, there really is no whole item in the buffer.
    private func checkNeedsMore(_ buffer: ByteBuffer, decoder: FrameDecoder, expectsPreface: Bool) {
        let readable = buffer.readableBytes
        if expectsPreface, decoder.offset == 0 {
            Oracle.require(readable < Preface.size, "no-stall", "needs more data with \(readable) preface bytes buffered")
            return
        }
        guard readable >= Frame.headerSize else { return }
        let length = Int(buffer.getInteger(at: buffer.readerIndex, as: UInt32.self)!)
        Oracle.require(
            readable < Frame.headerSize + length, "no-stall",
            "needs more data with a whole \(length)-byte frame (\(readable) bytes) buffered"
        )
    }

    /// The same bytes, in one lump and in the plan's chunks, decode to the same items and the same
    /// error: how the bytes were split must not matter.
    func checkChunkingIndependence(_ plan: Plan) {
        var lumpItems: [InboundItem] = []
        let lump = run(.lump) { item, _ in lumpItems.append(item); return true }
        var chunkItems: [InboundItem] = []
        let chunked = run(plan) { item, _ in chunkItems.append(item); return true }
        Oracle.require(
            lumpItems == chunkItems && lump == chunked, "chunking-independent",
            "one lump: \(lumpItems.count) items then \(lump); chunks of up to \(plan.maxChunk): \(chunkItems.count) items then \(chunked)"
        )
    }
}
