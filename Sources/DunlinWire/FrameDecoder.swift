import NIOCore

/// What the decoder yields: the client's preface once (server side only), then frames.
public enum InboundItem: Sendable, Hashable {
    case preface(Preface)
    case frame(Frame)
}

/// Turns inbound bytes into a preface and frames, enforcing the receive limits before any body
/// is read.
///
/// A pure value: `next(from:)` consumes whole items only (a short read leaves the buffer's reader
/// index where it was), so it can be fed a byte at a time, in random chunks or in one lump.
/// Every refusal is a ``ProtocolError`` naming the offset of the offending byte.
public struct FrameDecoder: Sendable {
    /// What the decoder checks each header against.
    public struct Limits: Sendable, Hashable {
        public var maxFrameSize: Int
        public var maxMetadataSize: Int

        public init(maxFrameSize: Int = ConnectionLimits.defaultFrameSize, maxMetadataSize: Int = 8 << 10) {
            self.maxFrameSize = maxFrameSize
            self.maxMetadataSize = maxMetadataSize
        }

        public init(_ limits: ConnectionLimits) {
            self.init(maxFrameSize: limits.maxFrameSize, maxMetadataSize: limits.maxMetadataSize)
        }
    }

    private enum State: Sendable {
        case waitingForPreface
        case waitingForHeader
    }

    private var state: State
    public var limits: Limits
    /// Bytes consumed so far: the offset of the next item's first byte.
    public private(set) var offset: UInt64 = 0

    /// - Parameter expectsPreface: true on the server, which reads the client's preface first.
    public init(limits: Limits = Limits(), expectsPreface: Bool) {
        self.limits = limits
        self.state = expectsPreface ? .waitingForPreface : .waitingForHeader
    }

    /// Decodes the next whole item, or returns nil (reader index unchanged) when more bytes are needed.
    public mutating func next(from buffer: inout ByteBuffer) throws(ProtocolError) -> InboundItem? {
        switch state {
        case .waitingForPreface:
            guard let (m0, m1, m2, m3, minVersion, maxVersion) = buffer.getMultipleIntegers(
                at: buffer.readerIndex, endianness: .big, as: (UInt8, UInt8, UInt8, UInt8, UInt16, UInt16).self
            ) else {
                return nil
            }
            guard (m0, m1, m2, m3) == Preface.magic else {
                throw ProtocolError(
                    .badPreface,
                    "expected the preface magic 44 4e 4c 4e (\"DNLN\"), got \(hex([m0, m1, m2, m3]))",
                    byteOffset: offset
                )
            }
            buffer.moveReaderIndex(forwardBy: Preface.size)
            offset += UInt64(Preface.size)
            state = .waitingForHeader
            return .preface(Preface(minVersion: minVersion, maxVersion: maxVersion))

        case .waitingForHeader:
            guard let (length, rawType, rawFlags, streamID) = buffer.getMultipleIntegers(
                at: buffer.readerIndex, endianness: .big, as: (UInt32, UInt8, UInt8, UInt32).self
            ) else {
                return nil
            }
            let type = try Self.validateHeader(
                length: length, rawType: rawType, rawFlags: rawFlags, streamID: streamID,
                limits: limits, offset: offset
            )
            // The length has been checked against the cap, so this cannot trap.
            let bodyLength = Int(length)
            guard buffer.readableBytes >= Frame.headerSize + bodyLength else {
                return nil
            }
            buffer.moveReaderIndex(forwardBy: Frame.headerSize)
            let payload = buffer.readSlice(length: bodyLength)!
            offset += UInt64(Frame.headerSize + bodyLength)
            return .frame(Frame(type: type, flags: FrameFlags(rawValue: rawFlags), streamID: streamID, payload: payload))
        }
    }

    /// Called when the peer closed its side: anything left is a truncated item.
    public func finish(leftover buffer: ByteBuffer) throws(ProtocolError) {
        guard buffer.readableBytes > 0 else { return }
        let what = state == .waitingForPreface ? "preface" : "frame"
        throw ProtocolError(
            .truncated,
            "connection closed \(buffer.readableBytes) byte(s) into a \(what)",
            byteOffset: offset
        )
    }

    /// Checks a header on its own: type known, flags allowed, stream id right for the type, and
    /// length within the cap for the type. Runs before a single body byte is waited for.
    private static func validateHeader(
        length: UInt32, rawType: UInt8, rawFlags: UInt8, streamID: UInt32, limits: Limits, offset: UInt64
    ) throws(ProtocolError) -> FrameType {
        guard let type = FrameType(rawValue: rawType) else {
            throw ProtocolError(
                .unknownFrameType, "unknown frame type 0x\(hex([rawType]))", byteOffset: offset + 4, streamID: streamID
            )
        }
        let flags = FrameFlags(rawValue: rawFlags)
        guard type.allowedFlags.isSuperset(of: flags) else {
            throw ProtocolError(
                .badFrame, "\(type) does not take flags 0x\(hex([rawFlags]))", byteOffset: offset + 5, streamID: streamID
            )
        }
        if type.isConnectionLevel, streamID != 0 {
            throw ProtocolError(.badFrame, "\(type) must be on stream 0, not \(streamID)", byteOffset: offset + 6, streamID: streamID)
        }
        if !type.isConnectionLevel, streamID == 0 {
            throw ProtocolError(.badFrame, "\(type) needs a stream id other than 0", byteOffset: offset + 6)
        }
        if streamID > Frame.maxStreamID {
            throw ProtocolError(.badFrame, "stream id \(streamID) has the reserved high bit set", byteOffset: offset + 6, streamID: streamID)
        }
        let fixed: Int? =
            switch type {
            case .ping, .pong: 8
            case .window: 4
            case .halfClose, .cancel: 0
            default: nil
            }
        if let fixed {
            guard length == fixed else {
                throw ProtocolError(
                    .badFrame, "\(type) payload must be \(fixed) bytes, not \(length)", byteOffset: offset, streamID: streamID
                )
            }
            return type
        }
        let cap =
            switch type {
            case .hello, .open, .goAway: limits.maxMetadataSize
            default: limits.maxFrameSize
            }
        guard let size = Int(exactly: length), size <= cap else {
            throw ProtocolError(
                .frameTooLarge, "\(type) of \(length) bytes is over the limit of \(cap)", byteOffset: offset, streamID: streamID
            )
        }
        return type
    }
}

extension Frame {
    /// Stream ids are 31 bits; the high bit is reserved and must be 0.
    public static let maxStreamID: UInt32 = 0x7FFF_FFFF
}

/// Lower-case hex of bytes, space-separated.
func hex(_ bytes: some Sequence<UInt8>) -> String {
    bytes.map { byte in
        let digits = String(byte, radix: 16)
        return digits.count == 1 ? "0" + digits : digits
    }.joined(separator: " ")
}

/// Adapts ``FrameDecoder`` to NIO's `ByteToMessageHandler`.
public struct FrameByteDecoder: ByteToMessageDecoder, Sendable {
    public typealias InboundOut = InboundItem
    public var decoder: FrameDecoder

    public init(_ decoder: FrameDecoder) {
        self.decoder = decoder
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let item = try decoder.next(from: &buffer) else { return .needMoreData }
        context.fireChannelRead(Self.wrapInboundOut(item))
        return .continue
    }

    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        if seenEOF {
            try decoder.finish(leftover: buffer)
        }
        return .needMoreData
    }
}
