import DunlinClient
import DunlinCore
import Testing

@Suite("CSV import files")
struct ImportTests {
    @Test("quoted fields, embedded commas, quotes and newlines, CRLF line ends")
    func parsing() throws {
        let table = try CSVTable(parsing: "id,name,note\r\n1,\"Smith, Jones & Co\",\"said \"\"pay Friday\"\"\"\r\n2,Ayala,\"two\nlines\"\r\n")
        #expect(table.header == ["id", "name", "note"])
        #expect(table.rows.count == 2)
        #expect(table.rows[0].fields == ["1", "Smith, Jones & Co", "said \"pay Friday\""])
        #expect(table.rows[1].fields[2] == "two\nlines")
        #expect(table.rows[1].line == 3)
    }

    @Test("a row with the wrong number of fields names its line")
    func wrongFieldCount() {
        let error = #expect(throws: CSVError.self) { try CSVTable(parsing: "a,b,c\n1,2,3\n4,5\n") }
        #expect(error?.line == 3)
    }

    @Test("an unclosed quote is refused")
    func unclosedQuote() {
        #expect(throws: CSVError.self) { try CSVTable(parsing: "a,b\n1,\"open\n") }
    }

    @Test("invoices import with exact amounts in each currency")
    func invoices() throws {
        let table = try CSVTable(parsing: """
            id,customer_id,number,amount,currency,issue_date,due_date
            INV-1,C1,1001,"1,000.50",USD,2026-10-01,2026-10-31
            INV-2,C2,1002,150000,JPY,2026-10-01,2026-11-30
            INV-3,C3,1003,12.125,KWD,2026-10-01,2026-11-30
            """)
        let entries = try ImportFiles.entries(table, kind: .invoices)
        #expect(entries.map(\.entry.amount.minor) == [100_050, 150_000, 12_125])
        #expect(entries.map(\.line) == [2, 3, 4])
    }

    @Test("one bad line refuses the file and names line and column", arguments: [
        ("INV-2,C1,1002,-5.00,USD,2026-10-01,2026-10-31", 4, "amount"),
        ("INV-2,C1,1002,5.005,USD,2026-10-01,2026-10-31", 4, "amount"),
        ("INV-2,C1,1002,5.00,USD,2026-10-01,2026-09-30", 7, "due_date"),
        ("INV-2,C1,1002,5.00,ZZZ,2026-10-01,2026-10-31", 5, "currency"),
        ("INV-2,C1,1002,5.00,USD,2026-13-01,2026-10-31", 6, "issue_date"),
        ("INV-2,,1002,5.00,USD,2026-10-01,2026-10-31", 2, "customer_id"),
        ("INV-2,C1,1002,abc,USD,2026-10-01,2026-10-31", 4, "amount"),
    ])
    func badLine(_ line: String, _ column: Int, _ name: String) throws {
        let table = try CSVTable(parsing: "id,customer_id,number,amount,currency,issue_date,due_date\nINV-1,C1,1001,1.00,USD,2026-10-01,2026-10-31\n\(line)\n")
        let error = #expect(throws: CSVError.self) { try ImportFiles.entries(table, kind: .invoices) }
        #expect(error?.line == 3)
        #expect(error?.column == column)
        #expect(error?.description.contains(name) == true)
    }

    @Test("a file without a required column is refused before any row")
    func missingColumn() throws {
        let table = try CSVTable(parsing: "id,customer_id,amount,currency\nP1,C1,5,USD\n")
        let error = #expect(throws: CSVError.self) { try ImportFiles.entries(table, kind: .payments) }
        #expect(error?.line == 1)
        #expect(error?.description.contains("date") == true)
    }

    @Test("customers import with credit limits, time zones and tags")
    func customers() throws {
        let table = try CSVTable(parsing: """
            id,number,name,credit_limit,credit_currency,time_zone,tags
            C1,1001,Jollibee Foods,"5,000,000.00",PHP,Asia/Manila,retail;vip
            C2,1002,Globe Retail,,,America/Chicago,
            """)
        let customers = try ImportFiles.customers(table)
        #expect(customers[0].customer.creditLimit.minor == 500_000_000)
        #expect(customers[0].customer.tags == ["retail", "vip"])
        #expect(!customers[1].customer.hasCreditLimit)
        let bad = try CSVTable(parsing: "id,number,name,time_zone\nC1,1,X,Mars/Base\n")
        #expect(throws: CSVError.self) { try ImportFiles.customers(bad) }
    }
}

@Suite("Untrusted text and files")
struct UntrustedTextTests {
    @Test("a customers file with one id twice is refused, naming both lines")
    func duplicateCustomerIDs() throws {
        let table = try CSVTable(parsing: "id,number,name\nC1,1001,Acme\nC2,1002,Beta\nC1,1003,Acme again\n")
        let error = #expect(throws: CSVError.self) { try ImportFiles.customers(table) }
        #expect(error?.line == 4)
        #expect(error?.description.contains("also on line 2") == true)
    }

    @Test("bytes that are not UTF-8 are refused with their line, never replaced")
    func invalidUTF8() {
        var bytes = Array("id,number,name\nC1,1001,Acme\nC2,1002,Caf".utf8)
        bytes += [0xE9]  // Latin-1 é
        bytes += Array(",\n".utf8)
        let error = #expect(throws: CSVError.self) { try CSVTable(parsing: bytes) }
        #expect(error?.line == 3)
        #expect(error?.column == 12)
        #expect(error?.description.contains("not UTF-8") == true)
        #expect((try? CSVTable(parsing: Array("id\nCafé\n".utf8)))?.rows.first?.fields == ["Café"])
    }

    @Test("control characters reach a terminal only as visible escapes")
    func terminalEscaping() {
        #expect(terminalSafe("Acme \u{1B}]52;c;cGF5bG9hZA==\u{07}") == "Acme \\e]52;c;cGF5bG9hZA==\\x07")
        #expect(terminalSafe("hidden\u{1B}[8m") == "hidden\\e[8m")
        #expect(terminalSafe("nul\0byte\u{9B}2J\u{7F}") == "nul\\x00byte\\x9b2J\\x7f")
        #expect(terminalSafe("two\nlines\tand tab") == "two\\nlines\\tand tab")
        #expect(terminalSafe("two\nlines", newlines: true) == "two\nlines")
        #expect(terminalSafe("Niño Café 株式会社") == "Niño Café 株式会社")
    }
}
