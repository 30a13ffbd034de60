import DunlinCore

// The sync forms of the ticket queue: the fields of Protocol/records.proto's TeamCalendarRecord,
// TicketRecord and TicketEventRecord, in their field-number order. Instants are Unix
// milliseconds; a calendar's days and holidays are lists of names and dates.

extension TeamCalendar: SyncRecordForm {
    public static let recordKind = RecordKind.teamCalendar
    public static let form = [
        SyncField("id", .text),
        SyncField("time_zone", .text),
        SyncField("working_days", .textList),
        SyncField("opens", .text),
        SyncField("closes", .text),
        SyncField("holidays", .textList),
        SyncField("members", .textList),
    ]

    public var fieldMap: FieldMap {
        [
            "id": .string(id), "time_zone": .string(timeZone), "working_days": .array(workingDays.map { .string($0.rawValue) }),
            "opens": .string(opens), "closes": .string(closes), "holidays": .array(holidays.map(SyncValue.date)),
            "members": .array(members.map(FieldValue.string)),
        ]
    }

    public init(fieldMap: FieldMap) throws(DomainError) {
        let read = try SyncFieldReader(fieldMap, form: Self.form, kind: Self.recordKind)
        var days: [Weekday] = []
        for (index, name) in try read.textList("working_days").enumerated() {
            guard let day = Weekday(rawValue: name) else {
                throw .invalid(field: "working_days[\(index)]", "\"\(SyncValue.shown(name))\" is not a day (mon, tue, wed, thu, fri, sat, sun)")
            }
            days.append(day)
        }
        var holidays: [CivilDate] = []
        for (index, text) in try read.textList("holidays").enumerated() {
            holidays.append(try SyncValue.date(.string(text), "holidays[\(index)]"))
        }
        self.init(
            id: try read.text("id"), timeZone: try read.text("time_zone"), workingDays: days, opens: try read.text("opens"),
            closes: try read.text("closes"), holidays: holidays, members: try read.textList("members")
        )
    }
}

extension Ticket: SyncRecordForm {
    public static let recordKind = RecordKind.ticket
    public static let form = [
        SyncField("id", .text),
        SyncField("customer_id", .text),
        SyncField("invoice_ids", .textList),
        SyncField("category", .choice(TicketCategory.allCases.map(\.rawValue))),
        SyncField("priority", .choice(TicketPriority.allCases.map(\.rawValue))),
        SyncField("subject", .text),
        SyncField("status", .choice(TicketStatus.allCases.map(\.rawValue))),
        SyncField("team_id", .text),
        SyncField("assignee_id", .text),
        SyncField("opened_at", .instant),
        SyncField("sla_minutes", .int32),
        SyncField("dispute_id", .text),
        SyncField("request_id", .text),
    ]

    public var fieldMap: FieldMap {
        [
            "id": .string(id), "customer_id": .string(customerID), "invoice_ids": .array(invoiceIDs.map(FieldValue.string)),
            "category": .string(category.rawValue), "priority": .string(priority.rawValue), "subject": .string(subject),
            "status": .string(status.rawValue), "team_id": .string(teamID), "assignee_id": .string(assigneeID),
            "opened_at": SyncValue.int64(openedAt), "sla_minutes": .integer(Int64(slaMinutes)), "dispute_id": .string(disputeID),
            "request_id": .string(requestID),
        ]
    }

    public init(fieldMap: FieldMap) throws(DomainError) {
        let read = try SyncFieldReader(fieldMap, form: Self.form, kind: Self.recordKind)
        self.init(
            id: try read.text("id"), customerID: try read.text("customer_id"), invoiceIDs: try read.textList("invoice_ids"),
            category: try read.choice("category", TicketCategory.self), priority: try read.choice("priority", TicketPriority.self),
            subject: try read.text("subject"), status: try read.choice("status", TicketStatus.self), teamID: try read.text("team_id"),
            assigneeID: try read.text("assignee_id"), openedAt: try read.int64("opened_at"), slaMinutes: Int32(clamping: try read.int32("sla_minutes")),
            disputeID: try read.text("dispute_id"), requestID: try read.text("request_id")
        )
    }
}

extension TicketEvent: SyncRecordForm {
    public static let recordKind = RecordKind.ticketEvent
    public static let form = [
        SyncField("id", .text),
        SyncField("ticket_id", .text),
        SyncField("kind", .choice(TicketEventKind.allCases.map(\.rawValue))),
        SyncField("at", .instant),
        SyncField("author_id", .text),
        SyncField("team_id", .text),
        SyncField("assignee_id", .text),
        SyncField("note", .text),
    ]

    public var fieldMap: FieldMap {
        [
            "id": .string(id), "ticket_id": .string(ticketID), "kind": .string(kind.rawValue), "at": SyncValue.int64(at),
            "author_id": .string(authorID), "team_id": .string(teamID), "assignee_id": .string(assigneeID), "note": .string(note),
        ]
    }

    public init(fieldMap: FieldMap) throws(DomainError) {
        let read = try SyncFieldReader(fieldMap, form: Self.form, kind: Self.recordKind)
        self.init(
            id: try read.text("id"), ticketID: try read.text("ticket_id"), kind: try read.choice("kind", TicketEventKind.self),
            at: try read.int64("at"), authorID: try read.text("author_id"), teamID: try read.text("team_id"),
            assigneeID: try read.text("assignee_id"), note: try read.text("note")
        )
    }
}
