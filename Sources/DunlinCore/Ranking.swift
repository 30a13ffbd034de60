/// Picking the first few of many in an order, without sorting the rest.
public enum Ranking {
    /// The first `count` elements of `elements` in the order `precedes` (a strict weak order),
    /// sorted: `elements.sorted(by: precedes).prefix(count)` whenever `precedes` orders every
    /// pair of distinct elements (a total order, as ties broken by an id are). A bounded heap of
    /// the `count` best seen so far, its worst at the root: O(n log count) comparisons, not
    /// O(n log n), and `count` elements held, not n.
    public static func first<Element>(_ count: Int, of elements: [Element], by precedes: (Element, Element) -> Bool) -> [Element] {
        let count = min(max(count, 0), elements.count)
        guard count > 0 else { return [] }
        guard count < elements.count else { return elements.sorted(by: precedes) }
        // A max-heap by `precedes`: the root is the worst of those kept.
        var heap: [Element] = []
        heap.reserveCapacity(count)
        func siftDown(_ start: Int) {
            var parent = start
            while true {
                let left = 2 * parent + 1
                guard left < heap.count else { return }
                var worst = left
                if left + 1 < heap.count, precedes(heap[left], heap[left + 1]) { worst = left + 1 }
                guard precedes(heap[parent], heap[worst]) else { return }
                heap.swapAt(parent, worst)
                parent = worst
            }
        }
        for element in elements {
            if heap.count < count {
                heap.append(element)
                var child = heap.count - 1
                while child > 0 {
                    let parent = (child - 1) / 2
                    guard precedes(heap[parent], heap[child]) else { break }
                    heap.swapAt(parent, child)
                    child = parent
                }
            } else if precedes(element, heap[0]) {
                heap[0] = element
                siftDown(0)
            }
        }
        return heap.sorted(by: precedes)
    }
}
