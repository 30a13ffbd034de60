import NIOCore

extension Frame {
    /// Writes the ten-byte header for a payload of `length` bytes.
    public static func writeHeader(
        type: FrameType, flags: FrameFlags = [], streamID: UInt32, length: Int, into buffer: inout ByteBuffer
    ) {
        buffer.writeMultipleIntegers(UInt32(length), type.rawValue, flags.rawValue, streamID, endianness: .big)
    }

    /// Writes the whole frame, header then payload.
    public func write(into buffer: inout ByteBuffer) {
        Self.writeHeader(type: type, flags: flags, streamID: streamID, length: payload.readableBytes, into: &buffer)
        var payload = payload
        buffer.writeBuffer(&payload)
    }

    /// The frame as one buffer.
    public func encoded(allocator: ByteBufferAllocator = ByteBufferAllocator()) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: Frame.headerSize + payload.readableBytes)
        write(into: &buffer)
        return buffer
    }
}
