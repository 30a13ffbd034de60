import DunlinServices
import DunlinCore
import DunlinWire
import Foundation

/// Diagnostics: Ping and Info (answered before authentication), and Echo, EchoStream and Sum,
/// one method per call kind, for tests, benchmarks and `dunlin ping` / `dunlin echo`.
///
/// Ping, Info and Echo without a delay are non-blocking: they are answered on the connection's
/// event loop (``Router/nonBlockingUnary(_:_:)``), so they measure the transport, not a thread hop.
/// An Echo asked to wait (`delay_ms`) waits on a task, where deadlines and CANCEL can stop it.
public struct DiagnosticsService: RPCService {
    /// Longest delay or interval a caller may ask Echo and EchoStream for.
    public static let maxDelay: UInt32 = 60_000

    public init() {}

    public func register(in router: inout Router) {
        router.nonBlockingUnary(Diagnostics.ping) { _, _ in
            var response = Dunlin_V1_PingResponse()
            response.serverVersion = DunlinVersion.current
            response.serverTimeMs = UInt64(max(WallClock.system.milliseconds, 0))
            return response
        }
        router.unary(
            Diagnostics.echo,
            answeringOnEventLoop: { request, _ in request.delayMs == 0 ? Self.echo(request.payload) : nil },
            otherwise: { request, _ in
                if request.delayMs > 0 {
                    try await Task.sleep(for: .milliseconds(min(request.delayMs, Self.maxDelay)))
                }
                return Self.echo(request.payload)
            }
        )
        router.serverStreaming(Diagnostics.echoStream) { request, writer, _ in
            let response = Self.echo(request.payload)
            var sent: UInt32 = 0
            while request.count == 0 || sent < request.count {
                try Task.checkCancellation()
                try await writer.write(response)
                sent += 1
                if request.intervalMs > 0 {
                    try await Task.sleep(for: .milliseconds(min(request.intervalMs, Self.maxDelay)))
                }
            }
        }
        router.clientStreaming(Diagnostics.sum) { requests, _ in
            var response = Dunlin_V1_SumResponse()
            for try await request in requests {
                let (total, overflow) = response.total.addingReportingOverflow(request.value)
                guard !overflow else {
                    throw RPCError(.outOfRange, "sum overflows a 64-bit integer after \(response.count) values")
                }
                response.total = total
                response.count += 1
            }
            return response
        }
    }

    private static func echo(_ payload: Data) -> Dunlin_V1_EchoResponse {
        var response = Dunlin_V1_EchoResponse()
        response.payload = payload
        return response
    }

    /// Info describes the server itself, so the server registers it with its own configuration.
    static func registerInfo(in router: inout Router, configuration: RPCServer.Configuration) {
        let methods = router.methods + [Diagnostics.info.path]
        router.nonBlockingUnary(Diagnostics.info) { _, _ in
            var response = Dunlin_V1_InfoResponse()
            response.serverVersion = configuration.serverVersion
            response.minProtocolVersion = UInt32(ProtocolVersion.minimum)
            response.maxProtocolVersion = UInt32(ProtocolVersion.maximum)
            response.limits = configuration.limits.wire
            response.compression = [MessageCompression.deflate]
            response.methods = methods.sorted()
            return response
        }
    }
}
