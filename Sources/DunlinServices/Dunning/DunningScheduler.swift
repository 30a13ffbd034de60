import DunlinCore
import DunlinStore
import Foundation
import Logging
import Synchronization

/// The scheduled dunning runs `dunlind serve` makes: each tenant's once a day, when the tenant's
/// clock reaches the run time in its collections settings (``DunningSchedule``). ``tick(_:)`` is the
/// whole decision, made with the injected clock, so tests drive it without waiting; the server
/// calls it every minute.
public final class DunningScheduler: Sendable {
    private let clock: WallClock
    private let logger: Logger
    /// The as-of date of each tenant's last scheduled run in this process.
    private let lastRun = Mutex<[String: CivilDate]>([:])
    /// The tenant day each tenant's follow-ups were last made for in this process.
    private let lastFollowUps = Mutex<[String: CivilDate]>([:])

    public init(clock: WallClock = .system, logger: Logger = Logger(label: "dunlind.dunning")) {
        self.clock = clock
        self.logger = logger
    }

    /// Runs dunning for each tenant whose run time has come today and that has not run today in
    /// this process; returns what each run did. A tenant whose settings or run fail is logged and
    /// skipped (the next tick tries again); the others still run.
    @discardableResult
    public func tick(_ tenants: [TenantHandle]) -> [(tenant: String, run: DunningRunResult)] {
        var runs: [(tenant: String, run: DunningRunResult)] = []
        let now = clock.now()
        for tenant in tenants {
            do {
                guard let time = try DunningSchedule.time(tenant.store.collectionsSettings().dunningRunTime),
                    let asOf = DunningSchedule.due(runTime: time, now: now, in: tenant.timeZone, lastRun: lastRun.withLock { $0[tenant.id] })
                else { continue }
                let result = try tenant.store.runDunning(asOf: asOf, at: now)
                lastRun.withLock { $0[tenant.id] = asOf }
                logger.info(
                    "scheduled dunning run",
                    metadata: ["tenant": "\(tenant.id)", "run": "\(result.runID)", "created": "\(result.created.count)", "existing": "\(result.existing)"]
                )
                runs.append((tenant.id, result))
            } catch {
                logger.error("scheduled dunning run failed", metadata: ["tenant": "\(tenant.id)", "error": "\(error)"])
            }
        }
        return runs
    }

    /// Makes the follow-up tasks of broken promises and installments
    /// (``DunlinStore/TenantStore/makeFollowUps(today:lookBackDays:)``) for each tenant, on the
    /// first tick of each tenant day; returns how many each made. Making them again makes nothing
    /// twice (their ids are fixed), so a restarted server that runs it again the same day is
    /// harmless. A tenant whose store fails is logged and tried again at the next tick.
    @discardableResult
    public func followUps(_ tenants: [TenantHandle]) -> [(tenant: String, made: Int)] {
        var made: [(tenant: String, made: Int)] = []
        for tenant in tenants {
            let today = tenant.clock.today(in: tenant.timeZone)
            guard lastFollowUps.withLock({ $0[tenant.id] }) != today else { continue }
            do {
                let tasks = try tenant.store.makeFollowUps(today: today)
                lastFollowUps.withLock { $0[tenant.id] = today }
                if !tasks.isEmpty { logger.info("follow-ups made", metadata: ["tenant": "\(tenant.id)", "tasks": "\(tasks.count)"]) }
                made.append((tenant.id, tasks.count))
            } catch {
                logger.error("follow-ups failed", metadata: ["tenant": "\(tenant.id)", "error": "\(error)"])
            }
        }
        return made
    }
}
