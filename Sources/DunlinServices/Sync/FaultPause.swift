import Foundation
import Synchronization

/// Test-only pauses at the instants a sync can be killed, so the fault tests
/// (Tests/EndToEndTests/SyncFaultTests.swift) can SIGKILL a real `dunlind` or `dunlin` exactly there.
///
/// Each is read once from its environment variable, `MS` (pause every time) or `MS@N` (only the N-th
/// time); unset, as in any real deployment, it costs one branch. When set, each time the process
/// reaches the point it writes `DUNLIN_TEST_PAUSE <name> <n>` (the n-th time) on one stderr line,
/// then sleeps if this is a time to pause:
/// - `DUNLIN_TEST_PAUSE_BEFORE_PUSH_MS`: `dunlind`, a push received, before it is applied.
/// - `DUNLIN_TEST_PAUSE_AFTER_PUSH_COMMIT_MS`: `dunlind`, a push committed, before it is answered.
/// - `DUNLIN_TEST_PAUSE_BETWEEN_BATCHES_MS`: `dunlin`, after each push batch is answered (before the
///   replica records that batch's answers) and after each pulled or bootstrap batch is applied.
package final class FaultPause: Sendable {
    let name: String
    let duration: Duration?
    /// Pause only at this occurrence; nil: at every one.
    let occurrence: Int?
    private let count = Atomic(0)

    init(_ name: String, variable: String) {
        self.name = name
        let setting = ProcessInfo.processInfo.environment[variable]?.split(separator: "@", maxSplits: 1) ?? []
        duration = setting.first.flatMap { Int64($0) }.map { .milliseconds($0) }
        occurrence = setting.count == 2 ? Int(setting[1]) : nil
    }

    package static let beforePush = FaultPause("before-push", variable: "DUNLIN_TEST_PAUSE_BEFORE_PUSH_MS")
    package static let afterPushCommit = FaultPause("after-push-commit", variable: "DUNLIN_TEST_PAUSE_AFTER_PUSH_COMMIT_MS")
    package static let afterPushBatch = FaultPause("after-push-batch", variable: "DUNLIN_TEST_PAUSE_BETWEEN_BATCHES_MS")
    package static let afterPullBatch = FaultPause("after-pull-batch", variable: "DUNLIN_TEST_PAUSE_BETWEEN_BATCHES_MS")

    package func pause() async {
        guard let duration else { return }
        let n = count.add(1, ordering: .relaxed).newValue
        FileHandle.standardError.write(Data("DUNLIN_TEST_PAUSE \(name) \(n)\n".utf8))
        if occurrence == nil || occurrence == n { try? await Task.sleep(for: duration) }
    }
}
