import DunlinWire
import NIOCore
import SwiftProtobuf

/// Decodes a frame payload as the message its frame type carries, the way the state machine does
/// (`Message(buffer:)`, which reads the buffer's bytes through a Span), and checks it against the
/// plain array decoder and a serialize-then-decode round trip.
enum ProtobufCheck {
    /// The message a payload of this frame type carries, if any.
    static func check(_ payload: ByteBuffer, as type: FrameType, render: Bool = false) {
        switch type {
        case .hello: check(payload, Dunlin_V1_Hello.self, render: render)
        case .welcome: check(payload, Dunlin_V1_Welcome.self, render: render)
        case .open: check(payload, Dunlin_V1_CallOpen.self, render: render)
        case .end: check(payload, Dunlin_V1_Status.self, render: render)
        case .goAway: check(payload, Dunlin_V1_GoAway.self, render: render)
        case .message, .halfClose, .cancel, .ping, .pong, .window: break
        }
    }

    @discardableResult
    static func check<M: SwiftProtobuf.Message>(_ payload: ByteBuffer, _: M.Type, render: Bool) -> M? {
        let viaBuffer = try? M(buffer: payload)
        let viaArray = try? M(serializedBytes: Array(payload.readableBytesView))
        Oracle.require(
            viaBuffer?.isEqualTo(message: viaArray ?? M()) ?? (viaArray == nil), "protobuf-span-vs-array",
            "\(M.protoMessageName): decoding through the buffer's Span and through an array disagree on \(hexString(payload.readableBytesView))"
        )
        guard let message = viaBuffer else { return nil }
        let bytes: [UInt8]
        do {
            bytes = try message.serializedBytes()
        } catch {
            Oracle.require(false, "protobuf-roundtrip", "\(M.protoMessageName): a decoded message does not serialize: \(error)")
            return message
        }
        let again = try? M(serializedBytes: bytes)
        Oracle.require(
            again?.isEqualTo(message: message) ?? false, "protobuf-roundtrip",
            "\(M.protoMessageName): decode(serialize(m)) != m for \(hexString(payload.readableBytesView))"
        )
        if render {
            // What a log line or an error message would print.
            _ = message.textFormatString()
            _ = "\(message)"
        }
        return message
    }
}
