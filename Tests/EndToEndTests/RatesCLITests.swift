import DunlinClient
import DunlinCore
import DunlinWire
import Foundation
import Testing

/// Exchange rates through the real CLI against `dunlind demo` (base USD; customers in PHP, USD
/// and EUR): Mia (manager) imports them on her laptop and syncs; Ana's replica converts the aging
/// offline with them and says which it used; a bad file and an analyst set nothing.
@Suite("Exchange rates through the CLI", .serialized, .loadsTheMachine, .timeLimit(.minutes(10)))
struct RatesCLITests {
    func run(_ world: FaultWorld, _ profile: String, _ arguments: [String], json: Bool = true) async throws -> (status: Int32, json: Any?, text: String) {
        let (status, output) = try await runCLI(arguments + ["--profile", profile] + (json ? ["--json"] : []), environment: world.cliEnvironment())
        return (status, try? JSONSerialization.jsonObject(with: Data(output.utf8)), output)
    }

    static func baseTotal(_ aging: Any?) -> Int64? {
        (((aging as? [String: Any])?["base_total"] as? [String: Any])?["total"] as? NSNumber)?.int64Value
    }

    @Test func ratesImportedOnALaptopConvertTheAgingEverywhere() async throws {
        let world = try await FaultWorld()
        defer { try? FileManager.default.removeItem(at: world.directory) }
        #expect(try await run(world, "ana", ["login", "--server", world.address, "--token", world.analystToken]).status == 0)
        #expect(try await run(world, "mia", ["login", "--server", world.address, "--token", world.managerToken]).status == 0)

        // Before any rate: per currency only, and the table says how to get a converted total.
        let none = try await run(world, "ana", ["aging"], json: false)
        #expect(none.status == 0 && none.text.contains("no converted total") && none.text.contains("dunlin rates set"), "\(none.text)")

        // A bad line refuses the file, naming the line and the column; nothing is set.
        let bad = world.directory.appendingPathComponent("bad-rates.csv")
        try "from_currency,to_currency,date,rate,source\nPHP,USD,2020-01-01,0.0172,BSP\nEUR,USD,2020-01-01,-1.08,ECB\n".write(to: bad, atomically: true, encoding: .utf8)
        let refused = try await run(world, "mia", ["rates", "import", bad.path])
        #expect(refused.status == 103 && refused.text.contains("line 3") && refused.text.contains("rate"), "\(refused.text)")
        #expect((try await run(world, "mia", ["rates", "list"]).json as? [Any])?.isEmpty == true)

        // Mia imports on her laptop and syncs; the later PHP rate is the one in force.
        let good = world.directory.appendingPathComponent("rates.csv")
        try """
            from_currency,to_currency,date,rate,source
            PHP,USD,2020-01-01,0.0172,BSP
            EUR,USD,2020-01-01,1.08,ECB
            PHP,USD,2020-06-01,0.018,BSP
            USD,JPY,2020-01-01,150,

            """.write(to: good, atomically: true, encoding: .utf8)
        let imported = try #require(try await run(world, "mia", ["rates", "import", good.path]).json as? [String: Any])
        #expect((imported["imported"] as? NSNumber)?.intValue == 4)
        #expect(try await run(world, "mia", ["sync"]).status == 0)

        // An analyst may not set one, offline or at the server.
        #expect(try await run(world, "ana", ["rates", "set", "JPY", "USD", "0.0066"]).status == 107)
        let atServer = ["--server", world.address, "--token", world.analystToken]
        #expect(try await run(world, "ana", ["rates", "set", "JPY", "USD", "0.0066"] + atServer).status == 107)

        // Ana syncs and goes offline: her aging converts with the stored rates and names them.
        #expect(try await run(world, "ana", ["sync"]).status == 0)
        let serverAging = try await run(world, "mia", ["aging", "--server", world.address, "--token", world.managerToken]).json
        world.server.terminate()
        let aging = try #require(try await run(world, "ana", ["aging"]).json as? [String: Any])
        let total = try #require(Self.baseTotal(aging), "\(aging)")
        #expect(total == Self.baseTotal(serverAging))
        let rates = try #require(aging["rates"] as? [[String: Any]])
        #expect(rates.map { "\($0["currency"]!) \($0["rate"]!) \($0["date"]!)" } == ["EUR 1.08 2020-01-01", "JPY 150 2020-01-01", "PHP 0.018 2020-06-01"], "\(rates)")
        #expect(rates.map { $0["inverse"] as? Bool } == [false, true, false], "JPY's rate is quoted 1 USD = 150 JPY")
        #expect(rates.allSatisfy { $0["given"] as? Bool == false })
        // The same rates given on the command line give the same total, marked as given.
        let given = try #require(try await run(world, "ana", ["aging", "--rate", "PHP=0.018", "--rate", "EUR=1.08", "--rate", "JPY=0.006666666667"]).json as? [String: Any])
        // (JPY's given as a decimal is not exactly 1/150: only PHP and EUR are compared.)
        let givenTotal = try #require(Self.baseTotal(given))
        #expect(abs(givenTotal - total) <= 6, "\(givenTotal) against \(total)")
        #expect((given["rates"] as? [[String: Any]])?.allSatisfy { $0["given"] as? Bool == true } == true)
        let table = try await run(world, "ana", ["aging"], json: false)
        #expect(table.text.contains("TOTAL (converted)") && table.text.contains("1 PHP = 0.018 USD (from 2020-06-01, BSP)"), "\(table.text)")
        let listed = try #require(try await run(world, "ana", ["rates", "list", "--currency", "PHP"]).json as? [[String: Any]])
        #expect(listed.map { $0["id"] as? String } == ["fx_PHP_USD_2020-01-01", "fx_PHP_USD_2020-06-01"])
        let metrics = try #require(try await run(world, "ana", ["metrics"]).json as? [String: Any])
        #expect((metrics["excluded_currencies"] as? [String])?.isEmpty == true, "\(metrics)")
    }
}
