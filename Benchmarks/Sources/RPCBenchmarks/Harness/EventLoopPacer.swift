import DunlinWire
import NIOCore
import NIOPosix
import Synchronization

/// The open loop's schedule kept by an event loop's timers instead of a `Task.sleep` per call
/// (`--pacer event-loop`): one NIO thread wakes at each due time (or finds several calls due at
/// once) and starts each call as a task, the same for every stack. A `Task.sleep` costs a
/// Dispatch timer and a thread wake-up per call, about a core at 17,500 calls/s on this VM; an
/// event loop's timer is an entry in its own heap and the timeout of the `epoll_wait` it makes
/// anyway. Calls in flight are not bounded by a pool of workers here: each call is its own task.
struct EventLoopPacer: Sendable {
    let first: ContinuousClock.Instant
    let interval: Duration
    let window: RunWindow

    /// Starts `call(due)` for every due time before the window's end, then waits for all of them.
    func run(_ call: @escaping @Sendable (_ due: ContinuousClock.Instant) async -> Void) async {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        let outstanding = Outstanding()
        await withCheckedContinuation { (finished: CheckedContinuation<Void, Never>) in
            outstanding.onFinished(finished)
            let schedule = Schedule(first: first, interval: interval, end: window.end, loop: loop)
            loop.execute { schedule.fire(outstanding: outstanding, call: call) }
        }
        try? await group.shutdownGracefully()
    }

    /// The next call's index, owned by the pacing loop.
    private final class Schedule: @unchecked Sendable {
        // Read and written only on `loop`.
        private var next = 0
        private let first: ContinuousClock.Instant
        private let interval: Duration
        private let end: ContinuousClock.Instant
        private let loop: any EventLoop
        /// `first` on the loop's clock.
        private let nioFirst: NIODeadline

        init(first: ContinuousClock.Instant, interval: Duration, end: ContinuousClock.Instant, loop: any EventLoop) {
            self.first = first
            self.interval = interval
            self.end = end
            self.loop = loop
            nioFirst = .now() + TimeAmount.nanoseconds((first - ContinuousClock.now).nanoseconds)
        }

        func fire(outstanding: Outstanding, call: @escaping @Sendable (ContinuousClock.Instant) async -> Void) {
            let now = ContinuousClock.now
            while true {
                let due = first + interval * next
                if due >= end {
                    outstanding.pacingDone()
                    return
                }
                if due > now {
                    let at = nioFirst + TimeAmount.nanoseconds((interval * next).nanoseconds)
                    loop.scheduleTask(deadline: at) { self.fire(outstanding: outstanding, call: call) }
                    return
                }
                next += 1
                outstanding.started()
                Task {
                    await call(due)
                    outstanding.ended()
                }
            }
        }
    }

    /// Calls still running, and who waits for the last one once pacing is over.
    private final class Outstanding: Sendable {
        private let state = Mutex<(running: Int, pacing: Bool, waiter: CheckedContinuation<Void, Never>?)>((0, true, nil))

        func onFinished(_ waiter: CheckedContinuation<Void, Never>) { state.withLock { $0.waiter = waiter } }
        func started() { state.withLock { $0.running += 1 } }
        func ended() { resumeIfDone { $0.running -= 1 } }
        func pacingDone() { resumeIfDone { $0.pacing = false } }

        private func resumeIfDone(_ change: (inout (running: Int, pacing: Bool, waiter: CheckedContinuation<Void, Never>?)) -> Void) {
            let waiter: CheckedContinuation<Void, Never>? = state.withLock { state in
                change(&state)
                guard state.running == 0, !state.pacing else { return nil }
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume()
        }
    }
}
