/// One page of a list, and where the next one starts.
///
/// Lists are read in a stable order, (sort key, id), and a cursor is the last row's position in
/// it, so paging never skips or repeats a row, whatever is written between two pages: a row
/// written behind the cursor is simply not on a later page, one written ahead of it is.
public struct Page<Item: Sendable>: Sendable {
    public var items: [Item]
    /// Pass it back as `after:` for the next page; nil when this page is the last.
    public var nextCursor: String?

    public init(items: [Item], nextCursor: String?) {
        self.items = items
        self.nextCursor = nextCursor
    }
}

extension Page: Equatable where Item: Equatable {}
extension Page: Hashable where Item: Hashable {}
