import GRDB
import Synchronization

/// What one tenant's callers may hold and start at once, across every connection to the server:
/// one tenant's load cannot take what the others need. The server's defaults (`dunlind serve
/// --tenant-*`) hold for every tenant without an override of its own (``TenantLimitOverrides``,
/// set by a server admin with `dunlin admin tenant limits`).
///
/// A call past a limit ends `RESOURCE_EXHAUSTED` with reason `tenant_calls`, `tenant_streams`,
/// `tenant_rate` or `tenant_import_size`, and a retry hint (`retry_after_ms`); the connection stays
/// open. PROTOCOL.md §11 has the table.
public struct TenantLimits: Sendable, Hashable, Codable {
    /// Calls open at once, of every kind.
    public var maxCalls: Int
    /// Of those, streaming calls open at once: bootstraps, pulls, watches, imports and exports.
    public var maxStreams: Int
    /// Calls opened per second, sustained; a burst of two seconds' worth is let through at once.
    public var callsPerSecond: Int
    /// Bytes of requests one client-streaming call (an import) may send, decompressed.
    public var maxImportBytes: Int64

    public init(maxCalls: Int, maxStreams: Int, callsPerSecond: Int, maxImportBytes: Int64) {
        self.maxCalls = maxCalls
        self.maxStreams = maxStreams
        self.callsPerSecond = callsPerSecond
        self.maxImportBytes = maxImportBytes
    }

    /// 1,000 calls, 500 of them streams (a watch per laptop), 2,000 calls a second, and 1 GiB per
    /// import (a million invoices sent as ImportEntries take about 200 MB).
    public static let defaults = TenantLimits(maxCalls: 1_000, maxStreams: 500, callsPerSecond: 2_000, maxImportBytes: 1 << 30)

    /// These limits with `overrides` in place of the ones it sets. Streams not set are at most the
    /// calls (a tenant held to 40 calls holds at most 40 streams, whatever the default).
    public func applying(_ overrides: TenantLimitOverrides?) -> TenantLimits {
        guard let overrides else { return self }
        let calls = overrides.maxCalls ?? maxCalls
        return TenantLimits(
            maxCalls: calls, maxStreams: overrides.maxStreams ?? min(maxStreams, calls),
            callsPerSecond: overrides.callsPerSecond ?? callsPerSecond, maxImportBytes: overrides.maxImportBytes ?? maxImportBytes
        )
    }

    /// Why `name` cannot be `value`, or nil: every limit is positive, and streams are calls too.
    public static func problem(_ limits: TenantLimits) -> (field: String, message: String)? {
        for (field, value) in [
            ("max_calls", Int64(limits.maxCalls)), ("max_streams", Int64(limits.maxStreams)),
            ("calls_per_second", Int64(limits.callsPerSecond)), ("max_import_bytes", limits.maxImportBytes),
        ] where value < 1 {
            return (field, "\(field) must be at least 1; got \(value)")
        }
        if limits.maxStreams > limits.maxCalls {
            return ("max_streams", "max_streams (\(limits.maxStreams)) cannot be over max_calls (\(limits.maxCalls)): a stream is a call")
        }
        return nil
    }
}

/// The limits a server admin set for one tenant; nil fields take the server's defaults.
public struct TenantLimitOverrides: Sendable, Hashable, Codable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "tenant_limits"

    public var tenantID: String
    public var maxCalls: Int?
    public var maxStreams: Int?
    public var callsPerSecond: Int?
    public var maxImportBytes: Int64?
    /// When they were last set (Unix ms, the control store's clock).
    public var updatedAt: Int64

    public init(tenantID: String, maxCalls: Int? = nil, maxStreams: Int? = nil, callsPerSecond: Int? = nil, maxImportBytes: Int64? = nil, updatedAt: Int64 = 0) {
        self.tenantID = tenantID
        self.maxCalls = maxCalls
        self.maxStreams = maxStreams
        self.callsPerSecond = callsPerSecond
        self.maxImportBytes = maxImportBytes
        self.updatedAt = updatedAt
    }

    enum CodingKeys: String, CodingKey {
        case tenantID = "tenant_id"
        case maxCalls = "max_calls"
        case maxStreams = "max_streams"
        case callsPerSecond = "calls_per_second"
        case maxImportBytes = "max_import_bytes"
        case updatedAt = "updated_at"
    }

    /// Sets nothing.
    public var isEmpty: Bool { maxCalls == nil && maxStreams == nil && callsPerSecond == nil && maxImportBytes == nil }

    /// What the audit trail records: each field set, or "the server's defaults".
    var summary: String {
        let set = [
            maxCalls.map { "max_calls=\($0)" }, maxStreams.map { "max_streams=\($0)" },
            callsPerSecond.map { "calls_per_second=\($0)" }, maxImportBytes.map { "max_import_bytes=\($0)" },
        ].compactMap { $0 }
        return set.isEmpty ? "the server's defaults" : set.joined(separator: ", ")
    }
}

/// Every tenant's overrides, read once and kept until one is set: the server asks on every call.
final class TenantLimitCache: Sendable {
    private let loaded = Mutex<[String: TenantLimitOverrides]?>(nil)

    func overrides(_ load: () throws -> [String: TenantLimitOverrides]) throws -> [String: TenantLimitOverrides] {
        try loaded.withLock { loaded in
            if let loaded { return loaded }
            let fresh = try load()
            loaded = fresh
            return fresh
        }
    }

    func invalidate() { loaded.withLock { $0 = nil } }
}
