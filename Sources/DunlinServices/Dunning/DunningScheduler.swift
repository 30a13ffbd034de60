import DunlinCore
import DunlinStore
import Foundation
import Logging
import Synchronization

/// The scheduled dunning runs `dunlind serve` makes: each tenant's once a day, when the tenant's
/// clock reaches the run time in its settings (`dunning.run_time`) (``DunningSchedule``). ``tick(_:)`` is the
/// whole decision, made with the injected clock, so tests drive it without waiting; the server
/// calls it every minute.
public final class DunningScheduler: Sendable {
    private let clock: WallClock
    private let logger: Logger
    /// The as-of date of each tenant's last scheduled run in this process.
    private let lastRun = Mutex<[String: CivilDate]>([:])
    /// The tenant day each tenant's follow-ups were last made for in this process.
    private let lastFollowUps = Mutex<[String: CivilDate]>([:])
    /// The tenant day each tenant's escalation rules were last evaluated for in this process.
    private let lastEscalations = Mutex<[String: CivilDate]>([:])

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
                guard let time = try DunningSchedule.time(TenantSetting.value(of: TenantSetting.dunningRunTime, in: tenant.store.settings())),
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
        daily(tenants, last: lastFollowUps, what: "follow-ups") { tenant, today in try tenant.store.makeFollowUps(today: today).count }
    }

    /// Evaluates each tenant's escalation rules
    /// (``DunlinStore/TenantStore/evaluateEscalations(asOf:baseCurrency:at:)``) on the first tick
    /// of each tenant day; returns how many escalations each made. Their ids are fixed, so a
    /// restarted server that evaluates again the same day makes nothing twice.
    @discardableResult
    public func escalations(_ tenants: [TenantHandle]) -> [(tenant: String, made: Int)] {
        daily(tenants, last: lastEscalations, what: "escalations") { tenant, today in
            try tenant.store.evaluateEscalations(asOf: today, baseCurrency: tenant.baseCurrency, at: tenant.now, managerOf: tenant.managerOf).created.count
        }
    }

    /// Makes the portal-upload tasks of new invoices
    /// (``DunlinStore/TenantStore/makePortalTasks(today:)``) for each tenant at every tick, so a
    /// new invoice has its task within a minute; returns how many each made. Their ids are fixed:
    /// making them again makes nothing twice. A tenant whose store fails is logged and tried again.
    @discardableResult
    public func portalTasks(_ tenants: [TenantHandle]) -> [(tenant: String, made: Int)] {
        var made: [(tenant: String, made: Int)] = []
        for tenant in tenants {
            do {
                let count = try tenant.store.makePortalTasks(today: tenant.clock.today(in: tenant.timeZone)).count
                if count > 0 { logger.info("portal upload tasks made", metadata: ["tenant": "\(tenant.id)", "made": "\(count)"]) }
                made.append((tenant.id, count))
            } catch {
                logger.error("portal upload tasks failed", metadata: ["tenant": "\(tenant.id)", "error": "\(error)"])
            }
        }
        return made
    }

    /// Does `work` once per tenant day for each tenant (`last` remembers the day per tenant in
    /// this process); a tenant whose work fails is logged and tried again at the next tick.
    private func daily(
        _ tenants: [TenantHandle], last: borrowing Mutex<[String: CivilDate]>, what: String, _ work: (TenantHandle, CivilDate) throws -> Int
    ) -> [(tenant: String, made: Int)] {
        var made: [(tenant: String, made: Int)] = []
        for tenant in tenants {
            let today = tenant.clock.today(in: tenant.timeZone)
            guard last.withLock({ $0[tenant.id] }) != today else { continue }
            do {
                let count = try work(tenant, today)
                last.withLock { $0[tenant.id] = today }
                if count > 0 { logger.info("\(what) made", metadata: ["tenant": "\(tenant.id)", "made": "\(count)"]) }
                made.append((tenant.id, count))
            } catch {
                logger.error("\(what) failed", metadata: ["tenant": "\(tenant.id)", "error": "\(error)"])
            }
        }
        return made
    }
}
