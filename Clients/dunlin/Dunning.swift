import ArgumentParser
import DunlinClient
import DunlinCore
import DunlinWire
import Foundation

// Dunning over the Dunning service (Protocol/dunning.proto): `dunlin dunning policy|hold
// list|get|add|update|delete` (the record family of RecordCommands.swift), `dunlin dunning run`
// and `release` (the server's alone: they go to the profile's server even with a replica),
// `dunlin dunning preview` and `dunlin notices list|show` (answered from the replica offline),
// and `dunlin customers hold|release`.

typealias PolicyCommand = RecordFamily<Dunlin_V1_DunningPolicyRecord>
typealias HoldCommand = RecordFamily<Dunlin_V1_DunningHoldRecord>
typealias TemplateCommand = RecordFamily<Dunlin_V1_NoticeTemplateRecord>

extension DunningChannel: ExpressibleByArgument {}
extension DunningNoticeStatus: ExpressibleByArgument {}

/// `dunlin dunning`.
struct DunningCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dunning", abstract: "Dunning policies, holds, runs and the notice queue.",
        subcommands: [PolicyCommand.self, HoldCommand.self, TemplateCommand.self, Run.self, Preview.self, Release.self, Schedule.self]
    )

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Compute and queue the notices due (managers; on the server). Running again for a date creates nothing twice."
        )
        @OptionGroup var connection: ConnectionOptions
        @Option(help: "The date to dun as of (default: the tenant's today).") var asOf: String?

        func validate() throws {
            if let asOf, CivilDate(asOf) == nil { throw ValidationError("--as-of must be a date YYYY-MM-DD, not \"\(asOf)\"") }
        }

        func run() async throws {
            try await connection.withClient { client in
                let result = try await client.unary(Dunning.runDunning, .with { $0.asOf = asOf ?? "" }, options: connection.callOptions)
                if connection.json {
                    printJSON(encoding: RunJSON(result))
                } else {
                    say("run \(result.runID) as of \(result.asOf): \(result.created.count) new notices, \(result.existing) queued before, "
                        + "\(result.superseded) superseded; held: \(result.heldCustomers) customers, \(result.heldItems) items")
                    if !result.created.isEmpty {
                        printNotices(result.created, names: await CustomerNames.lookUp(result.created.map(\.customerID), client: client, connection: connection))
                    }
                }
            }
        }
    }

    struct Preview: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show the notices waiting for release, with their lines (read-only; offline from the replica).",
            discussion: "Each notice is checked again against the holds as they stand here now (a dispute opened on this laptop, synced or not): held lines and customers are marked, and the release will leave them off."
        )
        @OptionGroup var connection: ConnectionOptions
        @Option(help: "Only this run's notices (R-YYYY-MM-DD).") var run = ""
        @Option(help: "Only this customer's notices.") var customer = ""

        func run() async throws {
            try await connection.withCaller { client in
                var previews: [Dunlin_V1_NoticePreview] = []
                var request = Dunlin_V1_PreviewNoticesRequest.with { $0.runID = run; $0.customerID = customer; $0.pageSize = 1000 }
                repeat {
                    let page = try await client.unary(Dunning.previewNotices, request, options: connection.callOptions)
                    previews += page.previews
                    request.cursor = page.nextCursor
                } while !request.cursor.isEmpty
                if connection.json {
                    printJSON(encoding: ListJSON(key: "notices", items: previews.map(PreviewJSON.init), nextCursor: ""))
                } else if previews.isEmpty {
                    say("no notices waiting for release")
                } else {
                    for preview in previews { printNoticeDetail(preview.notice, now: preview) }
                }
            }
        }
    }

    struct Release: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Release queued notices (managers; on the server): each is checked again and dropped if its customer paid or was held since the run.",
            discussion: "dunlin dunning release --run R-2026-11-30   |   dunlin dunning release DN:CUS-1001:30:INV-2001"
        )
        @OptionGroup var connection: ConnectionOptions
        @Option(help: "Every pending notice of this run.") var run = ""
        @Argument(help: "Notice ids (default: every pending notice, or the run's).") var notices: [String] = []

        func validate() throws {
            if !run.isEmpty, !notices.isEmpty { throw ValidationError("give --run or notice ids, not both") }
        }

        func run() async throws {
            try await connection.withClient { client in
                let response = try await client.unary(Dunning.releaseNotices, .with {
                    $0.runID = run
                    $0.noticeIds = notices
                }, options: connection.callOptions)
                if connection.json {
                    printJSON(encoding: ListJSON(key: "notices", items: response.notices.map(NoticeJSON.init), nextCursor: ""))
                } else {
                    let released = response.notices.filter { $0.status == DunningNoticeStatus.released.rawValue }.count
                    say("released \(released) of \(response.notices.count) notices")
                    for notice in response.notices where notice.status == DunningNoticeStatus.dropped.rawValue {
                        say("dropped \(notice.id): \(notice.statusReason)")
                    }
                    for notice in response.notices where !notice.delivery.isEmpty {
                        say("\(notice.id): \(deliveryText(notice))")
                    }
                }
            }
        }
    }
}

extension DunningCommand {
    struct Schedule: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show or set the daily scheduled run (managers set it): dunlind serve runs dunning when the tenant's clock reads it.",
            discussion: "The run time is the tenant setting dunning.run_time (dunlin settings lists it); this command writes it."
        )
        @OptionGroup var connection: ConnectionOptions
        @Option(help: "Run daily at this time of the tenant's day, HH:MM (24-hour).") var at: String?
        @Flag(help: "No scheduled run.") var off = false

        func validate() throws {
            if at != nil, off { throw ValidationError("give --at or --off, not both") }
            if let at, (try? DunningSchedule.time(at)) == nil { throw ValidationError("--at must be a time of day HH:MM (00:00 to 23:59), not \"\(at)\"") }
        }

        func run() async throws {
            try await connection.withCaller { client in
                let name = TenantSetting.dunningRunTime
                let settings = at != nil || off
                    ? try await client.unary(Records.updateSettings, .with {
                        $0.settings = [.with { $0.id = name; $0.value = at ?? "" }]
                    }, options: connection.callOptions).settings
                    : try await client.unary(Records.listSettings, .init(), options: connection.callOptions).settings
                let runTime = settings.first { $0.id == name }?.value ?? ""
                if connection.json {
                    printJSON([name: runTime])
                } else {
                    say(runTime.isEmpty ? "no scheduled dunning run" : "dunning runs daily at \(runTime), the tenant's time")
                }
            }
        }
    }
}

/// `dunlin notices list|show`.
struct NoticesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "notices", abstract: "Dunning notices: queued, released and dropped, and their letters and emails.",
        subcommands: [List.self, Show.self, Resend.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List notices by as-of date (--all for every page).")
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var paging: PageOptions
        @Option(help: "Only this customer's notices.") var customer = ""
        @Option(help: "Only this run's notices.") var run = ""
        @Option(help: "Only notices with this status (repeatable).") var status: [DunningNoticeStatus] = []

        func run() async throws {
            try await connection.withCaller { client in
                let (notices, next) = try await paging.read { size, cursor in
                    let page = try await client.unary(Dunning.listNotices, .with {
                        $0.customerID = customer
                        $0.runID = run
                        $0.statuses = status.map(\.rawValue)
                        $0.pageSize = size
                        $0.cursor = cursor
                    }, options: connection.callOptions)
                    return (page.notices, page.nextCursor)
                }
                if connection.json {
                    printJSON(encoding: ListJSON(key: "notices", items: notices.map(NoticeJSON.init), nextCursor: next))
                } else {
                    printNotices(notices, names: await CustomerNames.lookUp(notices.map(\.customerID), client: client, connection: connection))
                    if !next.isEmpty { say("more: --cursor \(next)") }
                }
            }
        }
    }

    struct Resend: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send again notices whose delivery is unconfirmed or failed (managers; on the server), once you checked the mail log."
        )
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Notice ids.") var ids: [String]

        func validate() throws {
            if ids.isEmpty { throw ValidationError("name the notices to send again") }
        }

        func run() async throws {
            try await connection.withClient { client in
                let response = try await client.unary(Dunning.resendNotices, .with { $0.noticeIds = ids }, options: connection.callOptions)
                if connection.json {
                    printJSON(encoding: ListJSON(key: "notices", items: response.notices.map(NoticeJSON.init), nextCursor: ""))
                } else {
                    for notice in response.notices { say("\(notice.id): \(deliveryText(notice))") }
                }
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a notice with its lines and charges.")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Notice id.") var id: String

        func run() async throws {
            try await connection.withCaller { client in
                let notice = try await client.unary(Dunning.getNotice, .with { $0.id = id }, options: connection.callOptions)
                if connection.json { printJSON(encoding: NoticeJSON(notice)) } else { printNoticeDetail(notice) }
            }
        }
    }
}

private func charges(_ notice: Dunlin_V1_DunningNoticeRecord) -> String {
    notice.charges.map { charge in
        var owed = "\(charge.total.currency) \(text(charge.total))"
        if charge.hasInterest { owed += " + interest \(text(charge.interest))" }
        if charge.hasFee { owed += " + fee \(text(charge.fee))" }
        return owed
    }.joined(separator: "; ")
}

/// The notices as a table, each customer by name (`names`, else its id).
private func printNotices(_ notices: [Dunlin_V1_DunningNoticeRecord], names: [String: String]) {
    printTable([["id", "customer", "level", "days", "channel", "as of", "items", "owed", "status", "sent"]] + notices.map { notice in
        [
            notice.id, names[notice.customerID] ?? notice.customerID, String(notice.level), String(notice.levelDays), notice.channel, notice.asOf, String(notice.lines.count),
            charges(notice), notice.status, notice.delivery.isEmpty ? "" : "\(notice.delivery)\(notice.deliveredAs.isEmpty ? "" : " (\(notice.deliveredAs))")",
        ]
    })
}

/// "sent as email on 2026-11-30 09:15 UTC: to ap@globe.example, Message-ID <…>".
private func deliveryText(_ notice: Dunlin_V1_DunningNoticeRecord) -> String {
    var said = notice.delivery
    if !notice.deliveredAs.isEmpty { said += " as \(notice.deliveredAs)" }
    if notice.deliveredAt > 0 {
        let instant = Date(timeIntervalSince1970: Double(notice.deliveredAt) / 1000)
        said += " at \(instant.formatted(.iso8601))"
    }
    if !notice.deliveryDetail.isEmpty { said += ": \(notice.deliveryDetail)" }
    return said
}

/// A notice with its lines; with `now` (a preview), what holds it now: the customer, or each held line.
private func printNoticeDetail(_ notice: Dunlin_V1_DunningNoticeRecord, now: Dunlin_V1_NoticePreview? = nil) {
    say("notice \(notice.id): customer \(notice.customerID), level \(notice.level) (\(notice.levelDays) days) of policy \(notice.policyID), "
        + "\(notice.channel) from template \(notice.template), as of \(notice.asOf), \(notice.status)"
        + (notice.statusReason.isEmpty ? "" : ": \(notice.statusReason)"))
    if let now, !now.customerHeld.isEmpty { say("HELD NOW: \(now.customerHeld); the release will drop this notice") }
    let held = Dictionary((now?.heldLines ?? []).map { ($0.invoiceID, $0.reason) }) { first, _ in first }
    printTable([["invoice", "number", "due", "days", "cur", "balance"] + (now == nil ? [] : ["now"])] + notice.lines.map { line in
        [line.invoiceID, line.reference, line.dueDate, String(line.daysPastDue), line.balance.currency, text(line.balance)]
            + (now == nil ? [] : [held[line.invoiceID].map { "held: \($0)" } ?? ""])
    })
    say("owed: \(charges(notice))" + (held.isEmpty ? "" : " (as queued; held lines will be left off at release)"))
    if !notice.delivery.isEmpty { say("delivery: \(deliveryText(notice))") }
}

/// A preview in `--json`: the notice as queued, and what holds it now.
struct PreviewJSON: Encodable {
    struct Held: Encodable {
        var invoice_id, reason: String
    }

    var notice: NoticeJSON
    var customer_held: String
    var held_lines: [Held]

    init(_ preview: Dunlin_V1_NoticePreview) {
        notice = NoticeJSON(preview.notice)
        customer_held = preview.customerHeld
        held_lines = preview.heldLines.map { Held(invoice_id: $0.invoiceID, reason: $0.reason) }
    }
}

// MARK: JSON

struct NoticeJSON: Encodable {
    struct Line: Encodable {
        var invoice_id, reference, due_date: String
        var days_past_due: Int32
        var balance: AmountJSON
    }

    struct Charge: Encodable {
        var total: AmountJSON
        var interest, fee: AmountJSON?
    }

    var id, run_id, customer_id, policy_id, channel, template, as_of, anchor_invoice_id, status, status_reason, released_by: String
    var level: Int32
    var level_days: Int32
    var lines: [Line]
    var charges: [Charge]
    var created_at, released_at: Int64
    /// Its letter or email: empty strings and 0 for none.
    var delivery, delivered_as, delivery_detail: String
    var delivered_at: Int64
    var delivery_attempts: Int32

    init(_ notice: Dunlin_V1_DunningNoticeRecord) {
        id = notice.id
        run_id = notice.runID
        customer_id = notice.customerID
        policy_id = notice.policyID
        channel = notice.channel
        template = notice.template
        as_of = notice.asOf
        anchor_invoice_id = notice.anchorInvoiceID
        status = notice.status
        status_reason = notice.statusReason
        released_by = notice.releasedBy
        level = notice.level
        level_days = notice.levelDays
        lines = notice.lines.map {
            Line(invoice_id: $0.invoiceID, reference: $0.reference, due_date: $0.dueDate, days_past_due: $0.daysPastDue, balance: AmountJSON($0.balance))
        }
        charges = notice.charges.map {
            Charge(total: AmountJSON($0.total), interest: $0.hasInterest ? AmountJSON($0.interest) : nil, fee: $0.hasFee ? AmountJSON($0.fee) : nil)
        }
        created_at = notice.createdAt
        released_at = notice.releasedAt
        delivery = notice.delivery
        delivered_as = notice.deliveredAs
        delivery_detail = notice.deliveryDetail
        delivered_at = notice.deliveredAt
        delivery_attempts = notice.deliveryAttempts
    }
}

struct RunJSON: Encodable {
    var run_id, as_of: String
    var created: [NoticeJSON]
    var existing, superseded, held_customers, held_items: UInt32

    init(_ result: Dunlin_V1_RunDunningResponse) {
        run_id = result.runID
        as_of = result.asOf
        created = result.created.map(NoticeJSON.init)
        existing = result.existing
        superseded = result.superseded
        held_customers = result.heldCustomers
        held_items = result.heldItems
    }
}

// MARK: Policies

extension Dunlin_V1_DunningPolicyRecord: RecordCommandKind {
    static var help: RecordHelp {
        RecordHelp(
            noun: "policy", command: "policy", pluralNoun: "policies",
            family: "Dunning policies: levels by days past due, each with a channel, a template and optional charges.",
            list: "List policies by name.", add: "Add a policy (managers).",
            addDiscussion: """
                dunlin dunning policy add --name Standard --segment smb --level -5:email:friendly_reminder \\
                  --level 15:email:first_notice --level "30:letter:second_notice:fee=USD 25.00:interest=18" --level 60:escalate:manager_review
                A level is DAYS:CHANNEL:TEMPLATE, optionally :fee=CUR AMOUNT and :interest=PERCENT (simple, a year).
                """,
            updateDiscussion: "--level replaces every level; --add-customer and --remove-customer change the explicit customers."
        )
    }

    static var header: [String] { ["id", "name", "segment", "customers", "levels"] }
    func row(_ people: People) -> [String] {
        [id, name, segment, customerIds.joined(separator: " "), levels.map { "\($0.days)d \($0.channel)" }.joined(separator: ", ")]
    }

    struct JSON: Encodable {
        struct Level: Encodable {
            var days: Int32
            var channel, template: String
            var fee: AmountJSON?
            var interest_basis_points: Int32
        }

        var id, name, segment: String
        var customer_ids: [String]
        var levels: [Level]
    }

    var json: JSON {
        JSON(id: id, name: name, segment: segment, customer_ids: customerIds, levels: levels.map {
            JSON.Level(days: $0.days, channel: $0.channel, template: $0.template, fee: $0.hasFee ? AmountJSON($0.fee) : nil, interest_basis_points: $0.interestBasisPoints)
        })
    }

    var remark: String? {
        "levels:\n" + levels.enumerated().map { index, level in
            var line = "  \(index + 1). \(level.days) days: \(level.channel), template \(level.template)"
            if level.hasFee { line += ", fee \(level.fee.currency) \(text(level.fee))" }
            if level.interestBasisPoints > 0 { line += ", interest \(DunningLevelText.percent(level.interestBasisPoints))% a year" }
            return line
        }.joined(separator: "\n")
    }

    struct Filters: RecordFilters {
        @Option(help: "Only policies naming this customer explicitly.") var customer = ""
        func apply(to request: inout Dunlin_V1_ListPoliciesRequest) { request.customerID = customer }
    }

    struct NewRecord: PlainNewRecordOptions {
        typealias Record = Dunlin_V1_DunningPolicyRecord
        @Option(help: "Policy name.") var name: String
        @Option(help: "Customers with this tag take the policy.") var segment = ""
        @Option(help: "A customer that takes the policy whatever its tags (repeatable).") var customer: [String] = []
        @Option(help: "A level, DAYS:CHANNEL:TEMPLATE[:fee=CUR AMOUNT][:interest=PERCENT] (repeatable, in order).") var level: [String] = []

        func record() throws -> Dunlin_V1_DunningPolicyRecord {
            try .with {
                $0.name = name
                $0.segment = segment
                $0.customerIds = customer
                $0.levels = try level.enumerated().map { try DunningLevelText.parse($1, option: "--level \($0 + 1)") }
            }
        }
    }

    struct Changes: RecordChanges {
        @Option(help: "Policy name.") var name: String?
        @Option(help: "Customers with this tag take the policy (\"\" for none).") var segment: String?
        @Option(help: "Add an explicit customer (repeatable).") var addCustomer: [String] = []
        @Option(help: "Remove an explicit customer (repeatable).") var removeCustomer: [String] = []
        @Option(help: "Replace the levels: DAYS:CHANNEL:TEMPLATE[:fee=CUR AMOUNT][:interest=PERCENT] (repeatable, in order).") var level: [String] = []

        func apply(to policy: inout Dunlin_V1_DunningPolicyRecord) throws {
            if let name { policy.name = name }
            if let segment { policy.segment = segment }
            policy.customerIds = policy.customerIds.filter { !removeCustomer.contains($0) } + addCustomer.filter { !policy.customerIds.contains($0) }
            if !level.isEmpty { policy.levels = try level.enumerated().map { try DunningLevelText.parse($1, option: "--level \($0 + 1)") } }
        }
    }
}

/// A level as the CLI writes it: "30:letter:second_notice:fee=USD 25.00:interest=18.5".
enum DunningLevelText {
    static func parse(_ text: String, option: String) throws -> Dunlin_V1_DunningLevel {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard parts.count >= 3, let days = Int32(parts[0]) else {
            throw ValidationError("\(option): \"\(text)\" is not DAYS:CHANNEL:TEMPLATE[:fee=CUR AMOUNT][:interest=PERCENT]")
        }
        guard let channel = DunningChannel(rawValue: parts[1]) else {
            throw ValidationError("\(option): channel \"\(parts[1])\" is not one of \(DunningChannel.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        var level = Dunlin_V1_DunningLevel()
        level.days = days
        level.channel = channel.rawValue
        level.template = parts[2]
        for extra in parts.dropFirst(3) {
            if extra.hasPrefix("fee=") {
                let words = extra.dropFirst(4).split(separator: " ")
                guard words.count == 2, let currency = Currency(code: String(words[0])),
                    let fee = try? Money(parsing: String(words[1]), currency: currency)
                else { throw ValidationError("\(option): \"\(extra)\" is not fee=CUR AMOUNT (fee=USD 25.00)") }
                level.fee = Dunlin_V1_Amount(fee)
            } else if extra.hasPrefix("interest=") {
                guard let points = basisPoints(String(extra.dropFirst(9))) else {
                    throw ValidationError("\(option): \"\(extra)\" is not interest=PERCENT with at most two decimals (interest=18.5)")
                }
                level.interestBasisPoints = points
            } else {
                throw ValidationError("\(option): \"\(extra)\" is neither fee=CUR AMOUNT nor interest=PERCENT")
            }
        }
        return level
    }

    /// "18.5" percent as 1850 basis points; nil for anything but digits with at most two decimals.
    static func basisPoints(_ percent: String) -> Int32? {
        let parts = percent.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), !parts[0].isEmpty, parts[0].allSatisfy({ "0123456789".contains($0) }),
            parts.count == 1 || (1...2).contains(parts[1].count) && parts[1].allSatisfy({ "0123456789".contains($0) }),
            let whole = Int32(parts[0]), whole <= 1000
        else { return nil }
        let fraction = parts.count == 2 ? Int32(parts[1].padding(toLength: 2, withPad: "0", startingAt: 0)) ?? 0 : 0
        return whole * 100 + fraction
    }

    /// 1850 basis points as "18.5".
    static func percent(_ points: Int32) -> String {
        let fraction = points % 100
        guard fraction > 0 else { return String(points / 100) }
        let digits = fraction % 10 == 0 ? String(fraction / 10) : String(format: "%02d", fraction)
        return "\(points / 100).\(digits)"
    }
}

// MARK: Holds

extension Dunlin_V1_DunningHoldRecord: RecordCommandKind {
    static var help: RecordHelp {
        RecordHelp(
            noun: "hold", command: "hold", family: "Manual holds: dunning leaves a customer alone while one is in place.",
            list: "List holds by the date they were placed.", add: "Place a hold (or: dunlin customers hold ID --reason R).",
            updateDiscussion: "Release with --release-reason (released today unless --released-on says otherwise)."
        )
    }

    static var header: [String] { ["id", "customer", "reason", "placed", "released", "release reason"] }
    func row(_ people: People) -> [String] { [id, customerID, reason, placedOn, releasedOn, releaseReason] }

    struct JSON: Encodable {
        var id, customer_id, reason, placed_on, release_reason: String
        var released_on: String?
    }

    var json: JSON {
        JSON(id: id, customer_id: customerID, reason: reason, placed_on: placedOn, release_reason: releaseReason, released_on: releasedOn.isEmpty ? nil : releasedOn)
    }

    struct Filters: RecordFilters {
        @Option(help: "Only this customer's holds.") var customer = ""
        @Flag(help: "Only holds still in place.") var active = false
        func apply(to request: inout Dunlin_V1_ListHoldsRequest) {
            request.customerID = customer
            if active { request.active = true }
        }
    }

    struct NewRecord: PlainNewRecordOptions {
        typealias Record = Dunlin_V1_DunningHoldRecord
        @Option(help: "Customer id.") var customer: String
        @Option(help: "Why dunning must wait.") var reason: String
        @Option(help: "Placed on (default: today).") var placedOn = ""

        func record() -> Dunlin_V1_DunningHoldRecord {
            .with {
                $0.customerID = customer
                $0.reason = reason
                $0.placedOn = placedOn
            }
        }
    }

    struct Changes: RecordChanges {
        @Option(help: "Why dunning must wait.") var reason: String?
        @Option(help: "Release the hold, saying why.") var releaseReason: String?
        @Option(help: "Released on (default with --release-reason: today).") var releasedOn: String?

        func apply(to hold: inout Dunlin_V1_DunningHoldRecord) {
            if let reason { hold.reason = reason }
            if let releaseReason { hold.releaseReason = releaseReason }
            if let releasedOn { hold.releasedOn = releasedOn }
        }
    }
}

/// `dunlin customers hold ID --reason R`: places a manual hold.
struct HoldCustomer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "hold", abstract: "Hold dunning off a customer until released.")
    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "Customer id.") var id: String
    @Option(help: "Why dunning must wait.") var reason: String

    func run() async throws {
        try await connection.withCaller { client in
            let response = try await client.unary(Dunning.upsertHolds, .with {
                $0.holds = [.with { $0.customerID = id; $0.reason = reason }]
            }, options: connection.callOptions)
            guard let hold = response.holds.first else { return }
            if connection.json { printJSON(encoding: hold.json) } else { say("hold \(hold.id) placed on \(hold.customerID) on \(hold.placedOn)") }
        }
    }
}

/// `dunlin customers release ID --reason R`: releases every hold in place on the customer.
struct ReleaseCustomer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "release", abstract: "Release a customer's holds, saying why.")
    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "Customer id.") var id: String
    @Option(help: "Why dunning may go on.") var reason: String

    func run() async throws {
        try await connection.withCaller { client in
            let active = try await client.unary(Dunning.listHolds, .with { $0.customerID = id; $0.active = true; $0.pageSize = 1000 }, options: connection.callOptions)
            guard !active.holds.isEmpty else {
                throw RPCError(.failedPrecondition, "customer \(id) has no hold in place", details: [.with { $0.field = "customer_id"; $0.reason = "no_hold" }])
            }
            let response = try await client.unary(Dunning.upsertHolds, .with {
                $0.holds = active.holds.map { hold in
                    var released = hold
                    released.releaseReason = reason
                    return released
                }
            }, options: connection.callOptions)
            if connection.json {
                printJSON(encoding: ListJSON(key: "holds", items: response.holds.map(\.json), nextCursor: ""))
            } else {
                for hold in response.holds { say("hold \(hold.id) on \(hold.customerID) released on \(hold.releasedOn)") }
            }
        }
    }
}

// MARK: Templates

extension Dunlin_V1_NoticeTemplateRecord: RecordCommandKind {
    static var help: RecordHelp {
        RecordHelp(
            noun: "template", command: "template",
            family: "Notice templates (Mustache): a level's template in each language, for its emails and letters.",
            list: "List templates by name.", add: "Add a template (managers); refused with the part and line if it does not compile or names a field a notice lacks.",
            addDiscussion: """
                dunlin dunning template add --name first_notice --language en --subject "Overdue: {{amount_due}}" \\
                  --text-file first_notice.txt --html-file first_notice.html
                The fields a template may name are in README, "Letters and emails".
                """,
            updateDiscussion: "Each option replaces that part; the whole template is checked again."
        )
    }

    static var header: [String] { ["id", "name", "language", "subject", "recipient"] }
    func row(_ people: People) -> [String] { [id, name, language, subject, recipient] }

    struct JSON: Encodable {
        var id, name, language, subject, recipient, text, html: String
    }

    var json: JSON { JSON(id: id, name: name, language: language, subject: subject, recipient: recipient, text: text, html: html) }

    var remark: String? { "text:\n\(text)\nhtml:\n\(html)" }

    struct Filters: RecordFilters {
        @Option(help: "Only templates of this name.") var name = ""
        func apply(to request: inout Dunlin_V1_ListTemplatesRequest) { request.name = name }
    }

    struct NewRecord: PlainNewRecordOptions {
        typealias Record = Dunlin_V1_NoticeTemplateRecord
        @Option(help: "The name levels use: letters, digits, _ - .") var name: String
        @Option(help: "BCP 47 language tag.") var language = "en"
        @Option(help: "The email's subject (Mustache).") var subject: String
        @Option(help: "The email's recipient (Mustache; default {{contact.email}}).") var recipient = ""
        @Option(help: "A file holding the plain-text body (Mustache).") var textFile: String
        @Option(help: "A file holding the HTML body of emails and letters (Mustache).") var htmlFile: String

        func record() throws -> Dunlin_V1_NoticeTemplateRecord {
            let text = try TemplateFile.read(textFile, option: "--text-file")
            let html = try TemplateFile.read(htmlFile, option: "--html-file")
            return .with {
                $0.name = name
                $0.language = language
                $0.subject = subject
                $0.recipient = recipient
                $0.text = text
                $0.html = html
            }
        }
    }

    struct Changes: RecordChanges {
        @Option(help: "The email's subject (Mustache).") var subject: String?
        @Option(help: "The email's recipient (Mustache).") var recipient: String?
        @Option(help: "A file holding the plain-text body.") var textFile: String?
        @Option(help: "A file holding the HTML body.") var htmlFile: String?

        func apply(to template: inout Dunlin_V1_NoticeTemplateRecord) throws {
            if let subject { template.subject = subject }
            if let recipient { template.recipient = recipient }
            if let textFile { template.text = try TemplateFile.read(textFile, option: "--text-file") }
            if let htmlFile { template.html = try TemplateFile.read(htmlFile, option: "--html-file") }
        }
    }
}

/// A template part read from a file: UTF-8, at most ``NoticeTemplate/maximumLength`` characters.
enum TemplateFile {
    static func read(_ path: String, option: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("\(option): cannot read \(path)") }
        guard let text = String(data: data, encoding: .utf8) else { throw ValidationError("\(option): \(path) is not UTF-8 text") }
        guard text.count <= NoticeTemplate.maximumLength else {
            throw ValidationError("\(option): \(path) holds \(text.count) characters; a template part holds at most \(NoticeTemplate.maximumLength)")
        }
        return text
    }
}
