import Foundation

/// Where a notice stands. A run creates notices pending; a manager's release sends them on (or
/// drops one whose customer paid or was held since the run).
public enum DunningNoticeStatus: String, Sendable, Hashable, Codable, CaseIterable {
    /// Computed by a run, waiting in the queue for release.
    case pending
    /// Released: its fee and interest are posted, and it is ready to be sent.
    case released
    /// Not sent: the release found nothing left to dun, or a later level superseded it.
    case dropped
}

/// Where a released notice's letter or email stands. Only notices whose level writes to the
/// customer (email, letter) are delivered; the server moves them along:
/// `queued` (released, waiting for the server's delivery) → `sending` (written down before the
/// message is handed to the mail transfer agent) → `sent`. A server stopped between handing a
/// message over and writing down that it did finds the notice `sending` when it starts again: the
/// message may or may not have left, so it is marked `unconfirmed` and never sent again on its own
/// (a manager who checked the mail log sends it again with `dunlin notices resend`). A message the
/// mail transfer agent refused is tried again at the next delivery, and `failed` after
/// ``maximumAttempts`` refusals or when it cannot be written at all (no template, say).
public enum NoticeDeliveryState: String, Sendable, Hashable, Codable, CaseIterable {
    case queued
    case sending
    case sent
    case unconfirmed
    case failed

    /// Refusals by the mail transfer agent before a notice is `failed`.
    public static let maximumAttempts = 5
}

/// One overdue (or, for a reminder, coming due) invoice on a notice, with its open balance.
public struct DunningNoticeLine: Sendable, Hashable, Codable {
    public var invoiceID: String
    /// The invoice number the customer knows it by.
    public var reference: String
    public var dueDate: CivilDate
    /// Negative for an invoice not yet due.
    public var daysPastDue: Int
    public var balance: Money

    public init(invoiceID: String, reference: String, dueDate: CivilDate, daysPastDue: Int, balance: Money) {
        self.invoiceID = invoiceID
        self.reference = reference
        self.dueDate = dueDate
        self.daysPastDue = daysPastDue
        self.balance = balance
    }
}

/// What a notice asks for in one currency: the lines' total, and the level's interest and fee.
public struct DunningCharge: Sendable, Hashable, Codable {
    public var total: Money
    /// Interest on the overdue lines (``DunningInterest``); nil when the level charges none or it
    /// rounds to nothing.
    public var interest: Money?
    public var fee: Money?

    public init(total: Money, interest: Money? = nil, fee: Money? = nil) {
        self.total = total
        self.interest = interest
        self.fee = fee
    }
}

/// A dunning notice: what one customer is told at one level, computed by a run on the server and
/// synced to replicas as a record that only the server writes. Its id is its key, the customer,
/// the level's days and the oldest unpaid item (``DunningNotice/id(customerID:levelDays:anchorInvoiceID:)``),
/// so a run repeated for the same date, or after a crash, finds the notice there and creates
/// nothing twice; a later day at the same level finds it too.
public struct DunningNotice: Sendable, Hashable, Codable, Identifiable {
    public var id: String
    /// The run that created it (``DunningRunID``).
    public var runID: String
    public var customerID: String
    public var policyID: String
    /// 1-based: the first level of the policy is level 1.
    public var level: Int
    public var levelDays: Int
    public var channel: DunningChannel
    public var template: String
    public var asOf: CivilDate
    /// The oldest unpaid item, whose age set the level.
    public var anchorInvoiceID: String
    public var lines: [DunningNoticeLine]
    /// One per currency of the lines, in currency code order.
    public var charges: [DunningCharge]
    public var status: DunningNoticeStatus
    /// Why it was dropped; empty otherwise.
    public var statusReason: String
    public var createdAt: Date
    public var releasedAt: Date?
    /// The user who released or dropped it at release; empty while pending.
    public var releasedBy: String
    /// Where its letter or email stands; nil for a notice not released, or whose channel writes
    /// to no one (call task, escalation, placement).
    public var delivery: NoticeDeliveryState?
    /// What it went out as: `email`, or `letter` (a letter level, or an email level for a customer
    /// with no contact email).
    public var deliveredAs: DunningChannel?
    /// When it was sent (handed to the mail transfer agent, or the letter written).
    public var deliveredAt: Date?
    /// The recipient and message id, the letter's file, or why it failed or is unconfirmed.
    public var deliveryDetail: String
    /// Times the mail transfer agent refused it.
    public var deliveryAttempts: Int

    public init(
        id: String, runID: String, customerID: String, policyID: String, level: Int, levelDays: Int, channel: DunningChannel,
        template: String, asOf: CivilDate, anchorInvoiceID: String, lines: [DunningNoticeLine], charges: [DunningCharge],
        status: DunningNoticeStatus = .pending, statusReason: String = "", createdAt: Date, releasedAt: Date? = nil, releasedBy: String = "",
        delivery: NoticeDeliveryState? = nil, deliveredAs: DunningChannel? = nil, deliveredAt: Date? = nil, deliveryDetail: String = "",
        deliveryAttempts: Int = 0
    ) {
        self.id = id
        self.runID = runID
        self.customerID = customerID
        self.policyID = policyID
        self.level = level
        self.levelDays = levelDays
        self.channel = channel
        self.template = template
        self.asOf = asOf
        self.anchorInvoiceID = anchorInvoiceID
        self.lines = lines
        self.charges = charges
        self.status = status
        self.statusReason = statusReason
        self.createdAt = createdAt
        self.releasedAt = releasedAt
        self.releasedBy = releasedBy
        self.delivery = delivery
        self.deliveredAs = deliveredAs
        self.deliveredAt = deliveredAt
        self.deliveryDetail = deliveryDetail
        self.deliveryAttempts = deliveryAttempts
    }

    /// Whether its channel writes to the customer, so a release queues a letter or an email.
    public var writesToCustomer: Bool { channel == .email || channel == .letter }

    /// "DN:CUS-1001:30:INV-2001": the notice of customer CUS-1001 at the 30-day level for the
    /// episode whose oldest unpaid item is INV-2001.
    public static func id(customerID: String, levelDays: Int, anchorInvoiceID: String) -> String {
        "DN:\(customerID):\(levelDays):\(anchorInvoiceID)"
    }

    /// The ledger entry id of a charge posted at release: "DN:…:fee:USD", "DN:…:interest:USD".
    /// Fixed by the notice, so a release retried after a crash posts nothing twice.
    public func chargeEntryID(_ kind: String, _ currency: Currency) -> String {
        "\(id):\(kind):\(currency.code)"
    }
}

/// A run's id: one per tenant and as-of date ("R-2026-11-30"), so running again for the same date
/// is the same run.
public enum DunningRunID {
    public static func of(_ asOf: CivilDate) -> String { "R-\(asOf)" }
}

/// Interest on overdue balances: simple (never compounded) annual interest at the level's rate,
/// from each item's due date to the as-of date, counted in days over a 365-day year (actual/365
/// fixed, also in a leap year). The items of one currency are summed exactly (in 128 bits, over
/// the common denominator 10,000 × 365) and the sum is rounded once to the currency's minor unit,
/// half to even, as base-currency conversions are. Items not yet past due earn none.
public enum DunningInterest {
    static let denominator: Int128 = 10_000 * 365

    /// The interest on `items` (each a balance in `currency` and its days past due) at
    /// `basisPoints` a year. OUT_OF_RANGE when it is beyond what an amount may be.
    public static func interest(on items: [(balance: Money, daysPastDue: Int)], basisPoints: Int, currency: Currency) throws(DomainError) -> Money {
        var numerator: Int128 = 0
        for item in items where item.daysPastDue > 0 && item.balance.isPositive && item.balance.currency == currency {
            numerator += Int128(item.balance.minorUnits) * Int128(basisPoints) * Int128(item.daysPastDue)
        }
        var quotient = numerator / denominator
        let remainder = numerator % denominator
        if remainder * 2 > denominator || (remainder * 2 == denominator && quotient % 2 == 1) { quotient += 1 }
        guard let minor = Int64(exactly: quotient), minor <= Money.maximumMinorUnits else {
            throw .outOfRange(field: "interest", "interest of \(quotient) minor units of \(currency.code) is above the maximum amount")
        }
        return Money(minorUnits: minor, currency: currency)
    }
}
