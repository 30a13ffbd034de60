import DunlinCore
import Testing

/// Who may approve what (ApprovalLimits), what a request must say (ApprovalRequest.validate), and
/// the entry an approval writes.
@Suite struct ApprovalRequestTests {
    static let usd = Currency.usd
    static let day = CivilDate("2026-11-30")!

    static func request(_ kind: ApprovalKind, _ minor: Int64?, currency: Currency = usd, by user: String = "u-ana") -> ApprovalRequest {
        ApprovalRequest(
            id: "req_1", kind: kind, customerID: "C1", invoiceID: kind == .writeOff || kind == .adjustment ? "INV-1" : "",
            sourceID: kind == .refund ? "PAY-1" : "", amount: minor.map { Money(minorUnits: $0, currency: currency) },
            termsDays: kind == .terms ? 45 : nil, reason: "customer asked", requestedBy: user, requestedOn: day
        )
    }

    @Test("the role an approval needs, by kind and amount, with the standard limits (500.00 analyst, 10,000.00 manager)", arguments: [
        (ApprovalKind.writeOff, Int64?(500_00), Role.analyst),
        (.writeOff, 500_01, .manager),
        (.writeOff, 10_000_00, .manager),
        (.writeOff, 10_000_01, .admin),
        (.adjustment, -500_00, .analyst),  // an adjustment's size is its absolute value
        (.adjustment, -500_01, .manager),
        (.refund, 1, .analyst),
        (.credit, 20_000_00, .admin),
        (.terms, nil, .manager),
    ])
    func requiredRole(kind: ApprovalKind, minor: Int64?, role: Role) throws {
        let request = Self.request(kind, minor)
        try request.validate()
        #expect(ApprovalLimits.standard.required(for: request, base: Self.usd) == role)
        // Every role at or above it may decide; the one below may not.
        for caller in [Role.analyst, .manager, .admin] {
            let decide = { () throws(AccessDenied) in try ApprovalLimits.standard.authorizeDecision(of: request, by: "u-boss", role: caller, base: Self.usd) }
            if caller.satisfies(role) {
                #expect(throws: Never.self) { try decide() }
            } else {
                #expect(throws: AccessDenied.self) { try decide() }
            }
        }
    }

    @Test("nobody decides their own request, whatever their role; another currency than the base needs an admin")
    func ownAndForeign() throws {
        let own = Self.request(.writeOff, 1)
        do throws(AccessDenied) {
            try ApprovalLimits.standard.authorizeDecision(of: own, by: "u-ana", role: .admin, base: Self.usd)
            Issue.record("approved their own")
        } catch { #expect(error.field == "decided_by" && error.message.contains("own")) }
        var decided = own
        decided.status = .approved
        decided.decidedBy = "u-ana"
        decided.decidedOn = Self.day
        decided.decisionReason = "fine"
        #expect(throws: DomainError.self) { try decided.validate() }

        let peso = Self.request(.writeOff, 1, currency: .php)
        #expect(ApprovalLimits.standard.required(for: peso, base: Self.usd) == .admin)
    }

    @Test("tenant limits from the settings: per kind and role, minor units; a manager's limit below the analyst's counts as the analyst's")
    func limitsFromSettings() throws {
        let limits = try TenantSetting.approvalLimits([
            TenantSetting(id: "approvals.writeoff.analyst", value: "100"), TenantSetting(id: "approvals.refund.manager", value: "0"),
        ])
        #expect(limits.required(for: Self.request(.writeOff, 101), base: Self.usd) == .manager)
        #expect(limits.required(for: Self.request(.adjustment, 101), base: Self.usd) == .analyst)
        #expect(limits.required(for: Self.request(.refund, 500_00), base: Self.usd) == .analyst)
        #expect(limits.required(for: Self.request(.refund, 500_01), base: Self.usd) == .admin)
        for bad in ["-1", "1.5", "", "01", "1000000000000000001"] {
            do throws(DomainError) {
                try TenantSetting(id: "approvals.credit.manager", value: bad).validate()
                Issue.record("accepted \(bad)")
            } catch { #expect(error.field == "approvals.credit.manager") }
        }
        #expect(throws: DomainError.self) { try TenantSetting(id: "approvals.terms.manager", value: "5").validate() }
        #expect(try TenantSetting.defaultValue(of: "approvals.credit.manager") == "1000000")
    }

    @Test("what a request must say", arguments: Array(0..<10))
    func refusals(index: Int) {
        var request = Self.request(.writeOff, 100_00)
        let field: String
        switch index {
        case 0: field = "amount"; request.amount = nil
        case 1: field = "amount"; request.amount = Money(minorUnits: -5, currency: Self.usd)
        case 2: field = "invoice_id"; request.invoiceID = ""
        case 3: field = "reason"; request.reason = ""
        case 4: field = "requested_by"; request.requestedBy = ""
        case 5: field = "terms_days"; request.termsDays = 30
        case 6: field = "source_id"; request.sourceID = "PAY-1"
        case 7: field = "status"; request.decidedBy = "u-boss"
        case 8: field = "decision_reason"; request.status = .rejected; request.decidedBy = "u-boss"; request.decidedOn = Self.day
        default: field = "reason"; request.reason = "line\u{1B}[2J"
        }
        do throws(DomainError) {
            try request.validate()
            Issue.record("accepted case \(index)")
        } catch { #expect(error.field == field, "case \(index): \(error)") }
    }

    @Test("an approval writes the entry of its kind under the request's entry id; terms write none")
    func entries() throws {
        let writeOff = try #require(Self.request(.writeOff, 120_00).entry(on: Self.day))
        #expect(writeOff.kind == .writeOff && writeOff.targetID == "INV-1" && writeOff.id == "req_1:writeoff" && writeOff.amount.minorUnits == 120_00)
        let refund = try #require(Self.request(.refund, 5_00).entry(on: Self.day))
        #expect(refund.kind == .refund && refund.sourceID == "PAY-1" && refund.targetID == nil)
        let credit = try #require(Self.request(.credit, 7_00).entry(on: Self.day))
        #expect(credit.kind == .creditMemo && credit.customerID == "C1" && credit.date == Self.day)
        #expect(Self.request(.adjustment, -3_00).entry(on: Self.day)?.amount.minorUnits == -3_00)
        #expect(Self.request(.terms, nil).entry(on: Self.day) == nil)
    }
}
