import ArgumentParser
import DunlinClient
import DunlinCore
import DunlinWire
import Foundation

/// `dunlin settings`: the tenant's collections settings (managers change them; everyone reads).
struct SettingsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "settings", abstract: "The tenant's collections settings: list them, or change them (managers).",
        subcommands: [List.self, WorklistWeightsCommand.self, LetterheadCommand.self, CashSettingsCommand.self], defaultSubcommand: List.self
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every setting, with its value or default.")
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            try await connection.withCaller { client in
                let settings = try await client.unary(Records.listSettings, .init(), options: connection.callOptions).settings
                SettingsCommand.show(settings, json: connection.json)
            }
        }
    }

    /// Makes `changes` (none: only reads), then shows the settings whose names start with `prefix`.
    static func change(_ changes: [Dunlin_V1_TenantSettingRecord], showing prefix: String, connection: ConnectionOptions) async throws {
        try await connection.withCaller { client in
            let settings = changes.isEmpty
                ? try await client.unary(Records.listSettings, .init(), options: connection.callOptions).settings
                : try await client.unary(Records.updateSettings, .with { $0.settings = changes }, options: connection.callOptions).settings
            show(settings.filter { $0.id.hasPrefix(prefix) }, json: connection.json)
        }
    }

    static func show(_ settings: [Dunlin_V1_TenantSettingRecord], json: Bool) {
        if json { return printJSON(encoding: settings.map(SettingJSON.init)) }
        printTable([["setting", "value", ""]] + settings.map { [$0.id, $0.value, $0.isDefault ? "(default)" : ""] })
    }
}

/// `dunlin settings worklist [--overdue N ...] [--reset NAME ...]`: the worklist's weights.
struct WorklistWeightsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worklist", abstract: "Show or change the worklist's weights (points per unit of each part; README, \"The worklist\").",
        discussion: "Each weight is a whole number 0 to \(WorklistWeights.maximum). Without options, shows them. Changing them needs the manager role."
    )
    @OptionGroup var connection: ConnectionOptions
    @Option(help: "Points per whole 1,000.00 overdue (base currency).") var overdue: Int?
    @Option(help: "Points per whole 10 days the oldest item is past due.") var daysPastDue: Int?
    @Option(help: "Points per promise broken in the last 90 days.") var brokenPromise: Int?
    @Option(help: "Points per open dispute.") var openDispute: Int?
    @Option(help: "Points per step of risk rating above 1.") var risk: Int?
    @Option(help: "Points when over the credit limit.") var overCreditLimit: Int?
    @Option(help: "Points per whole 7 days without contact.") var noContact: Int?
    @Option(help: "Put a weight back to its default, by name (repeat).") var reset: [String] = []

    func run() async throws {
        let given: [(String, Int?)] = [
            ("overdue", overdue), ("days_past_due", daysPastDue), ("broken_promise", brokenPromise), ("open_dispute", openDispute),
            ("risk", risk), ("over_credit_limit", overCreditLimit), ("no_contact", noContact),
        ]
        var changes: [Dunlin_V1_TenantSettingRecord] = given.compactMap { name, value in
            value.map { value in .with { $0.id = TenantSetting.worklistPrefix + name; $0.value = String(value) } }
        }
        for name in reset {
            guard WorklistWeights.names.contains(name) else {
                throw ValidationError("--reset: \"\(name)\" is not a weight; the weights are \(WorklistWeights.names.joined(separator: ", "))")
            }
            changes.append(.with { $0.id = TenantSetting.worklistPrefix + name; $0.value = "" })
        }
        try await SettingsCommand.change(changes, showing: TenantSetting.worklistPrefix, connection: connection)
    }
}

/// `dunlin settings letterhead [--name N] [--address-line L ...] [--phone P] [--email E]`: what heads
/// letters and signs emails.
struct LetterheadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "letterhead", abstract: "Show or change the letterhead of letters and the sender of emails (managers change it).",
        discussion: "An empty value puts the default back (the tenant's name for --name, nothing for the rest)."
    )
    @OptionGroup var connection: ConnectionOptions
    @Option(help: "The name at the head of letters and in emails' From.") var name: String?
    @Option(help: "A line of the address (repeat for each line, in order; one empty line clears it).") var addressLine: [String] = []
    @Option(help: "The telephone number letters give.") var phone: String?
    @Option(help: "The address emails come from and letters give.") var email: String?

    func run() async throws {
        var changes: [Dunlin_V1_TenantSettingRecord] = []
        func set(_ field: String, _ value: String?) {
            guard let value else { return }
            changes.append(.with { $0.id = TenantSetting.letterheadPrefix + field; $0.value = value })
        }
        set("name", name)
        set("address", addressLine.isEmpty ? nil : addressLine.filter { !$0.isEmpty }.joined(separator: "\n"))
        set("phone", phone)
        set("email", email)
        try await SettingsCommand.change(changes, showing: TenantSetting.letterheadPrefix, connection: connection)
    }
}

/// `dunlin settings cash [--lockbox-layout FILE | --standard-lockbox-layout] [--tolerance-minor-units N]
/// [--tolerance-basis-points N]`: how bank files are read and matched.
struct CashSettingsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cash", abstract: "Show or change how bank files are read and matched (managers change them).",
        discussion: """
            The lockbox layout is a JSON file of LockboxLayout (README, "Cash application from bank files"): the columns \
            of each record type your bank's lockbox files use. The tolerance bounds how far a payment may be short or \
            over and still match an invoice: the smaller of an amount in minor units of the receipt's currency and a \
            share of the invoices in basis points (100 = 1%); 0 for exact amounts only.
            """
    )
    @OptionGroup var connection: ConnectionOptions
    @Option(help: "A JSON file with the lockbox layout of the tenant's bank.") var lockboxLayout: String?
    @Flag(help: "Put the standard 80-column lockbox layout back.") var standardLockboxLayout = false
    @Flag(help: "Print the standard lockbox layout's JSON (a start for your bank's) and change nothing.") var printStandardLockboxLayout = false
    @Option(help: "The tolerance's absolute bound, in minor units of the receipt's currency (2500 is 25.00).") var toleranceMinorUnits: Int64?
    @Option(help: "The tolerance's relative bound, in basis points of the invoices' total (100 is 1%).") var toleranceBasisPoints: Int?

    func validate() throws {
        if lockboxLayout != nil, standardLockboxLayout { throw ValidationError("--lockbox-layout and --standard-lockbox-layout: give one") }
    }

    func run() async throws {
        if printStandardLockboxLayout {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            return print(String(decoding: try encoder.encode(LockboxLayout.standard), as: UTF8.self))
        }
        var changes: [Dunlin_V1_TenantSettingRecord] = []
        if let lockboxLayout {
            let text: String
            do {
                text = try String(contentsOfFile: lockboxLayout, encoding: .utf8)
            } catch {
                throw ValidationError("--lockbox-layout: cannot read \(lockboxLayout): \(error.localizedDescription)")
            }
            changes.append(.with { $0.id = TenantSetting.lockboxLayout; $0.value = text })
        }
        if standardLockboxLayout { changes.append(.with { $0.id = TenantSetting.lockboxLayout; $0.value = "" }) }
        if let toleranceMinorUnits {
            changes.append(.with { $0.id = TenantSetting.toleranceMinorUnits; $0.value = String(toleranceMinorUnits) })
        }
        if let toleranceBasisPoints {
            changes.append(.with { $0.id = TenantSetting.toleranceBasisPoints; $0.value = String(toleranceBasisPoints) })
        }
        try await SettingsCommand.change(changes, showing: "cash.", connection: connection)
    }
}

/// A setting in `--json`.
struct SettingJSON: Encodable {
    var id: String
    var value: String
    var isDefault: Bool

    enum CodingKeys: String, CodingKey {
        case id, value
        case isDefault = "is_default"
    }

    init(_ setting: Dunlin_V1_TenantSettingRecord) {
        id = setting.id
        value = setting.value
        isDefault = setting.isDefault
    }
}
