import DunlinWire
import NIOCore

/// First on a TLS listener's connections: when the first byte is the preface's "D" rather than a
/// TLS record (a ClientHello starts 0x16), the client speaks plain Dunlin to a TLS port. It is
/// answered, in clear, with GOAWAY FAILED_PRECONDITION saying so, and the connection is closed,
/// instead of the TLS alert it could not read. Otherwise it steps aside for the TLS handler.
final class PlaintextOnTLSPort: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    static let message = "this port speaks TLS (ALPN \"dunlin/1\"): the client sent the preface in clear; connect with TLS (dunlin: --fingerprint, --ca-file or --tls)"

    private var decided = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !decided else { return context.fireChannelRead(data) }
        let bytes = unwrapInboundIn(data)
        guard let first = bytes.getInteger(at: bytes.readerIndex, as: UInt8.self) else { return }
        decided = true
        if first == Preface.magic.0 {
            var goAway = Dunlin_V1_GoAway()
            goAway.reason = .badPreface
            goAway.code = UInt32(StatusCode.failedPrecondition.rawValue)
            goAway.message = Self.message
            var buffer = context.channel.allocator.buffer(capacity: 256)
            ConnectionStateMachine.goAwayFrame(goAway).write(into: &buffer)
            // As FrameOutbox.goAwayAndClose: a small write to a fresh socket goes out at once.
            context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
            context.close(promise: nil)
            return
        }
        context.fireChannelRead(data)
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }
}

@available(*, unavailable)
extension PlaintextOnTLSPort: Sendable {}
