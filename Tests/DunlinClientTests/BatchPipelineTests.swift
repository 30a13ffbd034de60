@testable import DunlinClient
import NIOConcurrencyHelpers
import Testing

/// The replica's side of a pull or bootstrap stream: the next batch is received and checked while
/// the one before is applied, batches are applied in order, and no more than one waits.
@Suite("A sync stream is applied one batch behind its receipt", .timeLimit(.minutes(1)))
struct BatchPipelineTests {
    /// What happened, in order: "prepared n", "handling n", "handled n".
    final class Log: Sendable {
        private let events = NIOLockedValueBox<[String]>([])
        func add(_ event: String) { events.withLockedValue { $0.append(event) } }
        var all: [String] { events.withLockedValue { $0 } }
    }

    /// A one-shot signal an async test can wait for and another task can give.
    final class Signal: Sendable {
        private let state = NIOLockedValueBox<(given: Bool, waiter: CheckedContinuation<Void, Never>?)>((false, nil))

        func give() {
            let waiter = state.withLockedValue { state -> CheckedContinuation<Void, Never>? in
                state.given = true
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume()
        }

        func wait() async {
            await withCheckedContinuation { continuation in
                let given = state.withLockedValue { state -> Bool in
                    if !state.given { state.waiter = continuation }
                    return state.given
                }
                if given { continuation.resume() }
            }
        }
    }

    @Test("batch 2 is received and checked while batch 1 is applied (without the overlap this test never ends)")
    func theNextBatchIsPreparedWhileOneIsHandled() async throws {
        let log = Log()
        let secondPrepared = Signal()
        var batches = [1, 2, 3].async.makeAsyncIterator()
        let handled = try await BatchPipeline.run(
            &batches, into: [Int](), waiting: { _ in },
            prepare: { n in
                log.add("prepared \(n)")
                if n == 2 { secondPrepared.give() }
                return n
            },
            handle: { state, n in
                log.add("handling \(n)")
                // Applying batch 1 finishes only once batch 2 has been received and checked.
                if n == 1 { await secondPrepared.wait() }
                state.append(n)
                log.add("handled \(n)")
            }
        )
        #expect(handled == [1, 2, 3])
        let events = log.all
        #expect(events.firstIndex(of: "prepared 2")! < events.firstIndex(of: "handled 1")!)
        // One at a time, in order: batch 3 is not prepared before batch 1 is handled (one batch waits).
        #expect(events.firstIndex(of: "prepared 3")! > events.firstIndex(of: "handled 1")!)
        #expect(events.filter { $0.hasPrefix("handled") } == ["handled 1", "handled 2", "handled 3"])
    }

    @Test("a batch that fails its check stops the stream after the batch before it is applied, and nothing after it is")
    func aBadBatchStopsTheStreamOnceTheOneBeforeIsApplied() async throws {
        struct BadChecksum: Error {}
        let log = Log()
        let secondArrived = Signal()
        var batches = [1, 2, 3].async.makeAsyncIterator()
        await #expect(throws: BadChecksum.self) {
            _ = try await BatchPipeline.run(
                &batches, into: 0, waiting: { _ in },
                prepare: { n in
                    if n == 2 {
                        secondArrived.give()
                        throw BadChecksum()
                    }
                    return n
                },
                handle: { state, n in
                    // Still applying batch 1 when batch 2 fails its check.
                    await secondArrived.wait()
                    state += n
                    log.add("handled \(n)")
                }
            )
        }
        // The throw waits for batch 1's transaction: nothing is left applying behind the caller's back.
        #expect(log.all == ["handled 1"])
    }
}

private extension Array where Element: Sendable {
    /// The elements as an async sequence.
    var async: AsyncStream<Element> {
        AsyncStream { continuation in
            for element in self { continuation.yield(element) }
            continuation.finish()
        }
    }
}
