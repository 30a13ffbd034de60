import DunlinCore
import Foundation
import Testing

private let usd = Currency("USD")
private let php = Currency("PHP")
private let jpy = Currency("JPY")
private let kwd = Currency("KWD")
private let opened = CivilDate("2026-10-01")!

/// The field a domain refusal names, or nil when `body` accepts.
private func refusedField(_ body: () throws -> Void) -> String? {
    do {
        try body()
        return nil
    } catch let error as DomainError {
        return error.field
    } catch {
        return "unexpected \(error)"
    }
}

/// A ledger with customer C1's invoices INV-USD (USD 1,000.00), INV-PHP (PHP 50,000.00) and
/// INV-JPY (JPY 120,000), customer C2's INV-C2 (USD 10.00), and a payment PAY-1.
private func ledger() throws -> Ledger {
    var ledger = Ledger()
    func invoice(_ id: String, _ customer: String, _ amount: Money) throws {
        try ledger.post(LedgerEntry(id: id, kind: .invoice, customerID: customer, amount: amount, date: opened, dueDate: opened.adding(days: 30), reference: id))
    }
    try invoice("INV-USD", "C1", Money(minorUnits: 1000_00, currency: usd))
    try invoice("INV-PHP", "C1", Money(minorUnits: 50_000_00, currency: php))
    try invoice("INV-JPY", "C1", Money(minorUnits: 120_000, currency: jpy))
    try invoice("INV-C2", "C2", Money(minorUnits: 10_00, currency: usd))
    try ledger.post(LedgerEntry(id: "PAY-1", kind: .payment, customerID: "C1", amount: Money(minorUnits: 5_00, currency: usd), date: opened))
    return ledger
}

@Suite("Contacts")
struct ContactTests {
    let contact = Contact(id: "K1", customerID: "C1", name: "Maria Santos", role: "AP clerk", email: "maria@jollibee.ph", phone: "+63 2 8634 1111")

    @Test("a complete contact is valid, and so is one known only by name who prefers letters")
    func valid() {
        #expect(refusedField { try contact.validate() } == nil)
        #expect(refusedField { try Contact(id: "K2", customerID: "C1", name: "Owner", preferredChannel: .letter).validate() } == nil)
        var withExtension = contact
        withExtension.phone = "(312) 555-0100 ext 12"
        #expect(refusedField { try withExtension.validate() } == nil)
    }

    @Test("empty required fields are refused by name", arguments: ["id", "customer_id", "name"])
    func requiredFields(_ field: String) {
        var contact = contact
        switch field {
        case "id": contact.id = "  "
        case "customer_id": contact.customerID = ""
        default: contact.name = "\t"
        }
        #expect(refusedField { try contact.validate() } == field)
    }

    @Test("an email without @ is refused", arguments: ["maria.jollibee.ph", "@jollibee.ph", "maria@", "maria @jollibee.ph", "a@b@c"])
    func badEmail(_ email: String) {
        var contact = contact
        contact.email = email
        #expect(refusedField { try contact.validate() } == "email")
    }

    @Test("a phone number must be digits with the usual punctuation", arguments: ["call me", "12-34", "+63 2 8634 1111; DROP"])
    func badPhone(_ phone: String) {
        var contact = contact
        contact.phone = phone
        #expect(refusedField { try contact.validate() } == "phone")
    }

    @Test("the preferred channel must be one the contact can be reached on")
    func channel() {
        #expect(refusedField { try Contact(id: "K", customerID: "C1", name: "N", phone: "5550100", preferredChannel: .email).validate() } == "email")
        #expect(refusedField { try Contact(id: "K", customerID: "C1", name: "N", email: "n@x.com", preferredChannel: .sms).validate() } == "phone")
        #expect(refusedField { try Contact(id: "K", customerID: "C1", name: "N", email: "n@x.com", preferredChannel: .phone).validate() } == "phone")
        #expect(refusedField { try Contact(id: "K", customerID: "C1", name: "N", preferredChannel: .portal).validate() } == nil)
    }
}

@Suite("Disputes")
struct DisputeTests {
    let dispute = Dispute(
        id: "D1", customerID: "C1", invoiceIDs: ["INV-USD"], amount: Money(minorUnits: 250_00, currency: usd),
        reasonCode: "pricing", status: .open, ownerTeam: .sales, openedOn: opened
    )

    @Test("a dispute about the customer's own invoices in their currency is valid")
    func valid() throws {
        let ledger = try ledger()
        #expect(refusedField { try dispute.validate(against: ledger) } == nil)
        var yen = dispute
        yen.invoiceIDs = ["INV-JPY"]
        yen.amount = Money(minorUnits: 3_000, currency: jpy)
        #expect(refusedField { try yen.validate(against: ledger) } == nil)
    }

    @Test("zero and negative amounts are refused", arguments: [0, -1, -250_00] as [Int64])
    func amount(_ minorUnits: Int64) {
        var dispute = dispute
        dispute.amount = Money(minorUnits: minorUnits, currency: usd)
        #expect(refusedField { try dispute.validate() } == "amount")
    }

    @Test("it names at least one invoice, each once, none empty")
    func invoiceIDs() {
        var dispute = dispute
        dispute.invoiceIDs = []
        #expect(refusedField { try dispute.validate() } == "invoice_ids")
        dispute.invoiceIDs = ["INV-USD", ""]
        #expect(refusedField { try dispute.validate() } == "invoice_ids[1]")
        dispute.invoiceIDs = ["INV-USD", "INV-PHP", "INV-USD"]
        #expect(refusedField { try dispute.validate() } == "invoice_ids[2]")
    }

    @Test("empty id, customer and reason code are refused, and a reason code has no spaces")
    func requiredFields() {
        var dispute = dispute
        dispute.id = ""
        #expect(refusedField { try dispute.validate() } == "id")
        dispute = self.dispute
        dispute.customerID = ""
        #expect(refusedField { try dispute.validate() } == "customer_id")
        dispute = self.dispute
        dispute.reasonCode = ""
        #expect(refusedField { try dispute.validate() } == "reason_code")
        dispute.reasonCode = "wrong price"
        #expect(refusedField { try dispute.validate() } == "reason_code")
    }

    @Test("a closed dispute has a resolution date, not before it was opened; an open one has none")
    func dates() {
        var dispute = dispute
        dispute.status = .resolved
        #expect(refusedField { try dispute.validate() } == "resolved_on")
        dispute.resolvedOn = opened.adding(days: -1)
        #expect(refusedField { try dispute.validate() } == "resolved_on")
        dispute.resolvedOn = opened
        #expect(refusedField { try dispute.validate() } == nil)
        dispute.status = .rejected
        #expect(refusedField { try dispute.validate() } == nil)
        dispute.status = .investigating
        #expect(refusedField { try dispute.validate() } == "resolved_on")
    }

    @Test("an invoice in another currency than the amount is refused, naming which")
    func currency() throws {
        let ledger = try ledger()
        var dispute = dispute
        dispute.invoiceIDs = ["INV-USD", "INV-PHP"]
        #expect(refusedField { try dispute.validate(against: ledger) } == "invoice_ids[1]")
        dispute.invoiceIDs = ["INV-PHP"]
        dispute.amount = Money(minorUnits: 1_000, currency: kwd)
        #expect(refusedField { try dispute.validate(against: ledger) } == "invoice_ids[0]")
    }

    @Test("an invoice that does not exist, is not an invoice, or is another customer's is refused")
    func foreignInvoices() throws {
        let ledger = try ledger()
        var dispute = dispute
        dispute.invoiceIDs = ["INV-USD", "NOPE"]
        #expect(throws: DomainError.notFound(field: "invoice_ids[1]", id: "NOPE")) { try dispute.validate(against: ledger) }
        dispute.invoiceIDs = ["PAY-1"]
        #expect(throws: DomainError.notFound(field: "invoice_ids[0]", id: "PAY-1")) { try dispute.validate(against: ledger) }
        dispute.invoiceIDs = ["INV-C2"]
        #expect(refusedField { try dispute.validate(against: ledger) } == "invoice_ids[0]")
    }
}

@Suite("Promises to pay")
struct PromiseTests {
    /// C1 promised on 2026-10-01 to pay USD 1,000.00 on INV-USD by 2026-10-15.
    let promise = PromiseToPay(
        id: "P1", customerID: "C1", invoiceIDs: ["INV-USD"], amount: Money(minorUnits: 1000_00, currency: usd),
        madeOn: opened, promisedDate: CivilDate("2026-10-15")!
    )

    private func applied(_ minorUnits: Int64, _ currency: Currency = Currency("USD"), to invoice: String = "INV-USD", on date: String) -> LedgerEntry {
        LedgerEntry(
            id: "A-\(invoice)-\(date)-\(minorUnits)", kind: .application, customerID: "C1", amount: Money(minorUnits: minorUnits, currency: currency),
            date: CivilDate(date)!, sourceID: "PAY", targetID: invoice
        )
    }

    @Test("a valid promise; one made for a day before it was made is refused")
    func validation() throws {
        let ledger = try ledger()
        #expect(refusedField { try self.promise.validate(against: ledger) } == nil)
        var promise = self.promise
        promise.promisedDate = opened.adding(days: -1)
        #expect(refusedField { try promise.validate() } == "promised_date")
        promise = self.promise
        promise.amount = Money(minorUnits: 0, currency: usd)
        #expect(refusedField { try promise.validate() } == "amount")
        promise = self.promise
        promise.invoiceIDs = []
        #expect(refusedField { try promise.validate() } == "invoice_ids")
        promise = self.promise
        promise.amount = Money(minorUnits: 1000_00, currency: php)
        #expect(refusedField { try promise.validate(against: ledger) } == "invoice_ids[0]")
        promise = self.promise
        promise.customerID = " "
        #expect(refusedField { try promise.validate() } == "customer_id")
    }

    @Test("kept: the full amount arrived by the promised date, even in parts and early")
    func kept() {
        let payments = [applied(400_00, on: "2026-10-02"), applied(600_00, on: "2026-10-15")]
        let evaluation = promise.evaluate(applications: payments, asOf: CivilDate("2026-10-16")!)
        #expect(evaluation == PromiseEvaluation(status: .kept, received: Money(minorUnits: 1000_00, currency: usd), deadline: CivilDate("2026-10-18")!))
        #expect(promise.evaluate(applications: payments, asOf: CivilDate("2026-10-15")!).status == .kept)
    }

    @Test("kept within the grace period; a payment after it does not count")
    func grace() {
        let inGrace = [applied(1000_00, on: "2026-10-18")]
        #expect(promise.evaluate(applications: inGrace, asOf: CivilDate("2026-11-30")!).status == .kept)
        #expect(promise.evaluate(applications: inGrace, asOf: CivilDate("2026-11-30")!, graceDays: 2).status == .broken)
        let late = [applied(1000_00, on: "2026-10-19")]
        #expect(promise.evaluate(applications: late, asOf: CivilDate("2026-11-30")!).status == .broken)
    }

    @Test("partly kept: some of the amount arrived by the deadline")
    func partlyKept() {
        let evaluation = promise.evaluate(applications: [applied(999_99, on: "2026-10-10")], asOf: CivilDate("2026-10-19")!)
        #expect(evaluation.status == .partlyKept)
        #expect(evaluation.received == Money(minorUnits: 999_99, currency: usd))
    }

    @Test("broken: nothing arrived by the deadline; payments before the promise or to other invoices do not count")
    func broken() {
        let unrelated = [
            applied(1000_00, on: "2026-09-30"),
            applied(1000_00, to: "INV-OTHER", on: "2026-10-10"),
            LedgerEntry(id: "W", kind: .writeOff, customerID: "C1", amount: Money(minorUnits: 1000_00, currency: usd), date: CivilDate("2026-10-10")!, targetID: "INV-USD"),
        ]
        let evaluation = promise.evaluate(applications: unrelated, asOf: CivilDate("2026-10-19")!)
        #expect(evaluation.status == .broken)
        #expect(evaluation.received == .zero(usd))
        #expect(promise.evaluate(applications: [], asOf: CivilDate("2027-01-01")!).status == .broken)
    }

    @Test("open: before the deadline, with nothing or only part paid; payments after the as-of date are not yet seen")
    func open() {
        #expect(promise.evaluate(applications: [], asOf: opened).status == .open)
        #expect(promise.evaluate(applications: [applied(500_00, on: "2026-10-05")], asOf: CivilDate("2026-10-15")!).status == .open)
        #expect(promise.evaluate(applications: [], asOf: CivilDate("2026-10-18")!).status == .open)
        #expect(promise.evaluate(applications: [applied(1000_00, on: "2026-10-12")], asOf: CivilDate("2026-10-10")!).status == .open)
    }

    @Test(
        "evaluation works to the minor unit in currencies of 0, 2 and 3 decimals",
        arguments: [(Currency("JPY"), 120_000), (Currency("PHP"), 50_000_00), (Currency("KWD"), 1_234_567)] as [(Currency, Int64)]
    )
    func currencies(_ currency: Currency, _ minorUnits: Int64) {
        let promise = PromiseToPay(
            id: "P", customerID: "C1", invoiceIDs: ["I1", "I2"], amount: Money(minorUnits: minorUnits, currency: currency),
            madeOn: opened, promisedDate: CivilDate("2026-10-15")!
        )
        let after = CivilDate("2026-12-01")!
        let exact = [applied(minorUnits - 1, currency, to: "I1", on: "2026-10-03"), applied(1, currency, to: "I2", on: "2026-10-17")]
        #expect(promise.evaluate(applications: exact, asOf: after) == PromiseEvaluation(status: .kept, received: Money(minorUnits: minorUnits, currency: currency), deadline: CivilDate("2026-10-18")!))
        let short = [applied(minorUnits - 1, currency, to: "I1", on: "2026-10-03")]
        #expect(promise.evaluate(applications: short, asOf: after).status == .partlyKept)
        // The same number of minor units in another currency is not a payment towards it.
        let otherCurrency: Currency = currency == jpy ? usd : jpy
        #expect(promise.evaluate(applications: [applied(minorUnits, otherCurrency, to: "I1", on: "2026-10-03")], asOf: after).status == .broken)
    }

    /// A plan of three: USD 300.00 by 2026-10-15, 300.00 by 2026-11-15, 400.00 by 2026-12-15
    /// (grace 3 days each), made on 2026-10-01.
    var plan: PromiseToPay {
        var plan = promise
        plan.promisedDate = CivilDate("2026-12-15")!
        plan.installments = [
            Installment(dueDate: CivilDate("2026-10-15")!, amount: Money(minorUnits: 300_00, currency: usd)),
            Installment(dueDate: CivilDate("2026-11-15")!, amount: Money(minorUnits: 300_00, currency: usd)),
            Installment(dueDate: CivilDate("2026-12-15")!, amount: Money(minorUnits: 400_00, currency: usd)),
        ]
        return plan
    }

    @Test("a payment plan's installments, each on its own: payments fill them in order", arguments: [
        // (payments as (minor, date), as of, statuses, received per installment)
        ([(300_00, "2026-10-10"), (300_00, "2026-11-10")], "2026-11-20", ["kept", "kept", "open"], [300_00, 300_00, 0]),
        // The second came late: broken (its money, after its deadline, counts for the third).
        ([(300_00, "2026-10-10"), (300_00, "2026-11-19")], "2026-11-20", ["kept", "broken", "open"], [300_00, 0, 0]),
        // Half of the second by its deadline: partly kept.
        ([(300_00, "2026-10-10"), (150_00, "2026-11-18")], "2026-11-19", ["kept", "partly_kept", "open"], [300_00, 150_00, 0]),
        // One early payment of everything keeps all three, even before they are due.
        ([(1000_00, "2026-10-02")], "2026-10-03", ["kept", "kept", "kept"], [300_00, 300_00, 400_00]),
        // Nothing at all, as of the last deadline's next day: all broken.
        ([], "2026-12-19", ["broken", "broken", "broken"], [0, 0, 0]),
        // Too little for the first, then the rest in time for the third.
        ([(100_00, "2026-10-12"), (900_00, "2026-12-01")], "2026-12-19", ["partly_kept", "broken", "kept"], [100_00, 0, 400_00]),
    ] as [([(Int64, String)], String, [String], [Int64])])
    func installments(payments: [(Int64, String)], asOf: String, statuses: [String], received: [Int64]) throws {
        let evaluations = plan.evaluateInstallments(applications: payments.map { applied($0.0, on: $0.1) }, asOf: CivilDate(asOf)!)
        #expect(evaluations.map(\.status.rawValue) == statuses)
        #expect(evaluations.map(\.received.minorUnits) == received)
        #expect(evaluations.map(\.deadline.description) == ["2026-10-18", "2026-11-18", "2026-12-18"])
    }

    @Test("a plan's status: broken when an installment is, partly kept when one is, kept when all are")
    func planStatus() {
        func status(_ payments: [(Int64, String)], _ asOf: String) -> PromiseStatus {
            PromiseToPay.status(of: plan.evaluateInstallments(applications: payments.map { applied($0.0, on: $0.1) }, asOf: CivilDate(asOf)!))
        }
        #expect(status([(300_00, "2026-10-10")], "2026-11-01") == .open)
        #expect(status([(300_00, "2026-10-10")], "2026-11-19") == .broken)
        #expect(status([(300_00, "2026-10-10"), (100_00, "2026-11-10")], "2026-11-19") == .partlyKept)
        #expect(status([(1000_00, "2026-10-10")], "2026-10-11") == .kept)
        // A promise of one payment is one installment: the same answer as evaluate.
        #expect(promise.evaluateInstallments(applications: [applied(999_99, on: "2026-10-10")], asOf: CivilDate("2026-10-19")!).map(\.status) == [.partlyKept])
    }

    @Test("a plan is refused when its installments do not add up, are out of order, in another currency, or end on another day")
    func planValidation() throws {
        #expect(refusedField { try self.plan.validate() } == nil)
        var plan = self.plan
        plan.amount = Money(minorUnits: 999_00, currency: usd)
        #expect(refusedField { try plan.validate() } == "installments")
        plan = self.plan
        plan.installments.swapAt(0, 1)
        #expect(refusedField { try plan.validate() } == "installments[1].due_date")
        plan = self.plan
        plan.installments[2].amount = Money(minorUnits: 400_00, currency: php)
        #expect(refusedField { try plan.validate() } == "installments[2].amount")
        plan = self.plan
        plan.installments[0].amount = Money(minorUnits: 0, currency: usd)
        #expect(refusedField { try plan.validate() } == "installments[0].amount")
        plan = self.plan
        plan.promisedDate = CivilDate("2026-12-20")!
        #expect(refusedField { try plan.validate() } == "promised_date")
        plan = self.plan
        plan.installments[0].dueDate = CivilDate("2026-09-30")!
        #expect(refusedField { try plan.validate() } == "installments[0].due_date")
    }
}

@Suite("Tasks")
struct CollectionTaskTests {
    @Test("a task needs an id, an assignee and a title; the customer is optional")
    func validation() {
        let task = CollectionTask(id: "T1", assigneeID: "U1", customerID: "", title: "Send the 60-day letters", dueDate: opened)
        #expect(refusedField { try task.validate() } == nil)
        var broken = task
        broken.assigneeID = ""
        #expect(refusedField { try broken.validate() } == "assignee_id")
        broken = task
        broken.title = "\n"
        #expect(refusedField { try broken.validate() } == "title")
        broken = task
        broken.id = ""
        #expect(refusedField { try broken.validate() } == "id")
    }
}

@Suite("Activities")
struct ActivityTests {
    let call = Activity(
        id: "A1", customerID: "C1", kind: .call, direction: .outbound, outcome: "promised to pay Friday", authorID: "U1",
        occurredAt: Date(timeIntervalSince1970: 1_790_000_000.123)
    )

    @Test("a call needs a customer, an author and a direction")
    func validation() {
        #expect(refusedField { try call.validate() } == nil)
        var activity = call
        activity.authorID = ""
        #expect(refusedField { try activity.validate() } == "author_id")
        activity = call
        activity.customerID = ""
        #expect(refusedField { try activity.validate() } == "customer_id")
        activity = call
        activity.direction = .undirected
        #expect(refusedField { try activity.validate() } == "direction")
    }

    @Test("a note has no direction; a meeting may have either")
    func directions() {
        var note = call
        note.kind = .note
        #expect(refusedField { try note.validate() } == "direction")
        note.direction = .undirected
        #expect(refusedField { try note.validate() } == nil)
        var meeting = call
        meeting.kind = .meeting
        meeting.direction = .undirected
        #expect(refusedField { try meeting.validate() } == nil)
        meeting.direction = .inbound
        #expect(refusedField { try meeting.validate() } == nil)
    }

    @Test("the instant is kept to the millisecond, and must be a real date")
    func instant() {
        let precise = Activity(id: "A", customerID: "C1", kind: .note, direction: .undirected, authorID: "U1", occurredAt: Date(timeIntervalSince1970: 1_790_000_000.123_456))
        #expect(Activity.milliseconds(of: precise.occurredAt) == 1_790_000_000_123)
        #expect(Activity.instant(milliseconds: Activity.milliseconds(of: precise.occurredAt)) == precise.occurredAt)
        var invalid = precise
        invalid.occurredAt = Date(timeIntervalSince1970: -1)
        #expect(refusedField { try invalid.validate() } == "occurred_at")
        invalid.occurredAt = Date(timeIntervalSince1970: 1e12)
        #expect(refusedField { try invalid.validate() } == "occurred_at")
    }
}
