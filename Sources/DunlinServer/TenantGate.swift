import DunlinStore
import DunlinWire
import NIOConcurrencyHelpers
import NIOCore

/// Holds every tenant to its ``TenantLimits`` across all of the server's connections: the calls it
/// has open, the streams among them, and the rate it opens them at (a token bucket refilled at
/// `callsPerSecond`, holding two seconds' worth). A call past a limit is refused before it runs,
/// with `RESOURCE_EXHAUSTED`, the limit's reason and a retry hint; nothing of another tenant's is
/// touched, so one tenant's load never queues another's calls.
///
/// Server admins (no tenant) are not limited here: they hold the connection limits only.
/// Time is the event loop's monotonic clock (`NIODeadline`), never the day.
public final class TenantGate: Sendable {
    /// A tenant's limits as they stand (the server's defaults with the tenant's overrides).
    private let limits: @Sendable (String) -> TenantLimits
    private let tenants = NIOLockedValueBox([String: Usage]())

    /// What one tenant holds now.
    private struct Usage {
        var calls = 0
        var streams = 0
        /// Calls that may open now without waiting, in billionths of a call (integers, so the
        /// retry hint is exact); refilled with time at `callsPerSecond`, at most 2 s' worth.
        var credit: Int64
        var refilled: NIODeadline
    }

    /// A call the gate let through: give it back with ``release(_:)`` when the call ends.
    struct Admission: Sendable {
        let tenant: String
        let streaming: Bool
        /// What this call's requests may add up to, for a client-streaming call.
        let maxImportBytes: Int64
    }

    public init(limits: @escaping @Sendable (String) -> TenantLimits) {
        self.limits = limits
    }

    /// The server's defaults with each tenant's overrides from the control database.
    public convenience init(defaults: TenantLimits, control: ControlStore) {
        self.init { tenant in defaults.applying(try? control.tenantLimits(tenant)) }
    }

    /// Lets a call of `tenant` open at `now`, or says why not.
    func admit(tenant: String, streaming: Bool, now: NIODeadline) -> Result<Admission, RPCError> {
        let limits = self.limits(tenant)
        // At most Int32.max a second (the control store's bound), so 2 s' worth of billionths fits.
        let rate = Int64(min(max(1, limits.callsPerSecond), Int(Int32.max)))
        let call = Self.billion
        let capacity = 2 * Self.billion * rate
        return tenants.withLockedValue { tenants in
            var usage = tenants[tenant] ?? Usage(credit: capacity, refilled: now)
            // A refill past 2 s fills the bucket: clamped first, so the product cannot overflow.
            let elapsed = min(max(0, (now - usage.refilled).nanoseconds), 2 * Self.billion)
            usage.credit = min(capacity, usage.credit + elapsed * rate)
            usage.refilled = now
            defer { tenants[tenant] = usage }
            if usage.calls >= limits.maxCalls {
                return .failure(Self.refusal(
                    "tenant_calls", "tenant \(tenant) has \(usage.calls) calls open, its limit; try again when one ends", retryAfterMs: 100
                ))
            }
            if streaming, usage.streams >= limits.maxStreams {
                return .failure(Self.refusal(
                    "tenant_streams", "tenant \(tenant) has \(usage.streams) streams open (syncs, watches, imports), its limit; try again when one ends",
                    retryAfterMs: 1_000
                ))
            }
            guard usage.credit >= call else {
                // The nanoseconds until one call's credit is back, in whole milliseconds, rounded up.
                let waitNanoseconds = (call - usage.credit + rate - 1) / rate
                return .failure(Self.refusal(
                    "tenant_rate", "tenant \(tenant) is opening calls faster than its limit of \(limits.callsPerSecond) a second",
                    retryAfterMs: UInt64((waitNanoseconds + 999_999) / 1_000_000)
                ))
            }
            usage.credit -= call
            usage.calls += 1
            if streaming { usage.streams += 1 }
            return .success(Admission(tenant: tenant, streaming: streaming, maxImportBytes: limits.maxImportBytes))
        }
    }

    private static let billion: Int64 = 1_000_000_000

    /// A call the gate admitted has ended.
    func release(_ admission: Admission) {
        tenants.withLockedValue { tenants in
            guard var usage = tenants[admission.tenant] else { return }
            usage.calls = max(0, usage.calls - 1)
            if admission.streaming { usage.streams = max(0, usage.streams - 1) }
            tenants[admission.tenant] = usage
        }
    }

    /// What `tenant` holds now: its open calls and streams (for tests and diagnostics).
    func usage(_ tenant: String) -> (calls: Int, streams: Int) {
        tenants.withLockedValue { ($0[tenant]?.calls ?? 0, $0[tenant]?.streams ?? 0) }
    }

    static func refusal(_ reason: String, _ message: String, retryAfterMs: UInt64) -> RPCError {
        RPCError(.resourceExhausted, message + " (retry after \(retryAfterMs) ms)", details: [.with {
            $0.reason = reason
            $0.retryAfterMs = retryAfterMs
        }])
    }

    /// An import that sent more than its tenant's `maxImportBytes`.
    static func importTooLarge(_ admission: Admission) -> RPCError {
        RPCError(
            .resourceExhausted,
            "this import is over tenant \(admission.tenant)'s limit of \(admission.maxImportBytes) bytes a call: send it in parts",
            details: [.with { $0.reason = "tenant_import_size" }]
        )
    }
}
