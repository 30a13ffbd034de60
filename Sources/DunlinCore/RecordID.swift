/// Ids the services give records created without one: a prefix naming the kind ("inv_", "con_")
/// and 128 random bits in hex. Clients may choose their own ids (an ERP's invoice number); these
/// only fill the gap, and are the same on the server and on a replica.
public enum RecordID {
    /// A new random id with `prefix`: "inv_" + 32 hex digits.
    public static func new(_ prefix: String) -> String {
        var generator = SystemRandomNumberGenerator()
        return prefix + (0..<2).map { _ in hex(generator.next() as UInt64) }.joined()
    }

    /// A new id for an entry of `kind`.
    public static func new(for kind: LedgerEntryKind) -> String { new(prefix(for: kind)) }

    /// A new id for a record of `kind`.
    public static func new(for kind: RecordKind) -> String { new(prefix(for: kind)) }

    public static func prefix(for kind: LedgerEntryKind) -> String {
        switch kind {
        case .invoice: "inv_"
        case .creditMemo: "crm_"
        case .payment: "pay_"
        case .application: "app_"
        case .adjustment: "adj_"
        case .writeOff: "wo_"
        case .refund: "ref_"
        case .reversal: "rev_"
        }
    }

    public static func prefix(for kind: RecordKind) -> String {
        switch kind {
        case .customer: "cus_"
        case .ledgerEntry: "ent_"
        case .activity: "act_"
        case .contact: "con_"
        case .dispute: "dsp_"
        case .promiseToPay: "ptp_"
        case .collectionTask: "tsk_"
        case .syncConflict: "cfl_"
        case .dunningPolicy: "dpol_"
        case .dunningHold: "hold_"
        case .dunningNotice: "dn_"
        case .tenantSetting: "tset_"
        case .noticeTemplate: "tpl_"
        case .escalationRule: "erule_"
        case .escalation: "esc_"
        case .bankFile: "bfile_"
        case .bankReceipt: "rcpt_"
        case .approvalRequest: "req_"
        case .exchangeRate: "fx_"
        case .periodClose: "close_"
        case .teamCalendar: "team_"
        case .ticket: "tkt_"
        case .ticketEvent: "tev_"
        }
    }

    private static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
