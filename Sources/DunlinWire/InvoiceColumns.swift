import DunlinCore

/// A statement's open invoices column by column (`StatementRequest.packed`, PROTOCOL.md §16.1):
/// what one `LedgerEntryRecord` per invoice would carry, as one list per field.
extension Dunlin_V1_InvoiceColumns {
    /// The columns of `invoices` (each with its open balance), in their order.
    public init(_ invoices: [(entry: LedgerEntry, open: Money)]) {
        self.init()
        id.reserveCapacity(invoices.count)
        currency.reserveCapacity(invoices.count)
        amount.reserveCapacity(invoices.count)
        balance.reserveCapacity(invoices.count)
        date.reserveCapacity(invoices.count)
        dueDate.reserveCapacity(invoices.count)
        reference.reserveCapacity(invoices.count)
        memo.reserveCapacity(invoices.count)
        for (entry, open) in invoices {
            id.append(entry.id)
            currency.append(entry.amount.currency.code)
            amount.append(entry.amount.minorUnits)
            balance.append(open.minorUnits)
            date.append(entry.date.description)
            dueDate.append(entry.dueDate?.description ?? "")
            reference.append(entry.reference)
            memo.append(entry.memo)
        }
    }

    /// The number of items, once every list is found to hold that many; a list of another length
    /// is a corrupt answer, refused naming it.
    public func count() throws(RPCError) -> Int {
        let lengths = [
            ("currency", currency.count), ("amount", amount.count), ("balance", balance.count), ("date", date.count),
            ("due_date", dueDate.count), ("reference", reference.count), ("memo", memo.count),
        ]
        for (name, length) in lengths where length != id.count {
            throw RPCError(.dataLoss, "open_invoice_columns: \(id.count) ids but \(length) values of \(name)")
        }
        return id.count
    }

    /// The items as the records a statement answers without `packed` (kind invoice, of
    /// `customerID`, each with its balance).
    public func records(customerID: String) throws(RPCError) -> [Dunlin_V1_LedgerEntryRecord] {
        (0..<(try count())).map { index in
            Dunlin_V1_LedgerEntryRecord.with {
                $0.id = id[index]
                $0.kind = LedgerEntryKind.invoice.rawValue
                $0.customerID = customerID
                $0.amount = .with { $0.currency = currency[index]; $0.minor = amount[index] }
                $0.balance = .with { $0.currency = currency[index]; $0.minor = balance[index] }
                $0.date = date[index]
                $0.dueDate = dueDate[index]
                $0.reference = reference[index]
                $0.memo = memo[index]
            }
        }
    }
}

extension Dunlin_V1_StatementResponse {
    /// The open invoices as records, whichever form the answer carries them in.
    public func openInvoiceRecords() throws(RPCError) -> [Dunlin_V1_LedgerEntryRecord] {
        hasOpenInvoiceColumns ? try openInvoiceColumns.records(customerID: customer.id) : openInvoices
    }
}
