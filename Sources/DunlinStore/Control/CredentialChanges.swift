import Synchronization

/// Tells whoever listens, in this process, that a credential may have just gone bad: a token
/// revoked or rotated out, a user changed or deactivated, a tenant suspended or deleted.
///
/// It carries no detail on purpose: a listener (an open Watch stream) re-checks its own principal
/// through the one per-call check, so there is a single definition of "still valid". A listener
/// subscribes before its first check, so a change made between the two is never missed.
public final class CredentialChanges: Sendable {
    private let listeners = Mutex<(next: Int, continuations: [Int: AsyncStream<Void>.Continuation])>((0, [:]))

    public init() {}

    /// A stream that yields once per change after this call (coalesced while nobody reads); it
    /// ends when the subscriber stops iterating it.
    public func subscribe() -> AsyncStream<Void> {
        let (stream, continuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let key = listeners.withLock { state in
            let key = state.next
            state.next += 1
            state.continuations[key] = continuation
            return key
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.listeners.withLock { $0.continuations.removeValue(forKey: key) }
        }
        return stream
    }

    /// Wakes every subscriber. Called after the change has committed.
    func publish() {
        let continuations = listeners.withLock { Array($0.continuations.values) }
        for continuation in continuations { continuation.yield() }
    }

    /// How many streams listen now (for tests).
    public var subscriberCount: Int { listeners.withLock { $0.continuations.count } }
}
