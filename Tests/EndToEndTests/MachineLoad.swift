import Testing

/// Keeps the tests that measure real time (handshake, idle and keepalive timeouts, deadlines,
/// reconnect backoff) from running while the tests that load the machine run.
///
/// On a 2-core machine the cooperative thread pool has two threads. A test that imports a hundred
/// thousand entries, SIGKILLs processes in a loop or drives thousands of calls keeps both busy for
/// seconds at a time, and a timing test running beside it then measures the starved pool, not the
/// server. A timing test takes the gate alone (`.timingSensitive`); the loading tests share it
/// (`.loadsTheMachine`) with one another. A waiting timing test goes first: no new loading test
/// starts until it has run. Tests with neither trait are untouched.
///
/// A test's time limit counts its wait here too, so a suite behind the gate has a limit of
/// minutes (ten), not the seconds its own run takes: on a loaded machine the loading tests ahead
/// of it hold the gate for a few minutes.
actor MachineLoad {
    static let gate = MachineLoad()

    private var sharing = 0
    private var alone = false
    private var waitingAlone: [CheckedContinuation<Void, Never>] = []
    private var waitingShared: [CheckedContinuation<Void, Never>] = []

    func acquire(alone wantsAlone: Bool) async {
        if wantsAlone {
            if alone || sharing > 0 {
                await withCheckedContinuation { waitingAlone.append($0) }
            } else {
                alone = true
            }
        } else if alone || !waitingAlone.isEmpty {
            await withCheckedContinuation { waitingShared.append($0) }
        } else {
            sharing += 1
        }
    }

    func release(alone wasAlone: Bool) {
        if wasAlone {
            alone = false
        } else {
            sharing -= 1
        }
        guard !alone, sharing == 0 || waitingAlone.isEmpty else { return }
        if sharing == 0, !waitingAlone.isEmpty {
            alone = true
            waitingAlone.removeFirst().resume()
        } else if waitingAlone.isEmpty {
            sharing += waitingShared.count
            for waiter in waitingShared { waiter.resume() }
            waitingShared.removeAll()
        }
    }

    func run(alone: Bool, _ body: @Sendable () async throws -> Void) async throws {
        await acquire(alone: alone)
        do {
            try await body()
        } catch {
            release(alone: alone)
            throw error
        }
        release(alone: alone)
    }
}

/// The gate around each test case of a suite (see ``MachineLoad``).
struct MachineLoadTrait: SuiteTrait, TestTrait, TestScoping {
    let alone: Bool

    var isRecursive: Bool { true }

    func scopeProvider(for test: Test, testCase: Test.Case?) -> MachineLoadTrait? {
        testCase == nil ? nil : self
    }

    func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        try await MachineLoad.gate.run(alone: alone, function)
    }
}

extension Trait where Self == MachineLoadTrait {
    /// The suite's tests measure real time: each runs with no machine-loading test beside it.
    static var timingSensitive: Self { MachineLoadTrait(alone: true) }

    /// The suite's tests keep the cooperative pool busy: they run beside one another, never beside
    /// a timing-sensitive test.
    static var loadsTheMachine: Self { MachineLoadTrait(alone: false) }
}
