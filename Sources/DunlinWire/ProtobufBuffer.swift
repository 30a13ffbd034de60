import NIOCore
import SwiftProtobuf

extension SwiftProtobuf.Message {
    /// Decodes a message from a buffer's readable bytes without copying them.
    public init(buffer: ByteBuffer) throws {
        try self.init(serializedBytes: buffer.readableBytesSpan)
    }

    /// The message's encoding as a buffer.
    public func serializedBuffer() throws -> ByteBuffer {
        let bytes: [UInt8] = try serializedBytes()
        return ByteBuffer(bytes: bytes)
    }
}
