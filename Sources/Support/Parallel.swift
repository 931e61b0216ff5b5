import Dispatch

// The one place where work is spread over cores.

/// Runs independent pieces of work at once on all cores and waits for all of them.
public enum Parallel {
    /// `body(0) … body(count - 1)` on all cores; results in index order. `body` runs on several
    /// threads at once, so it and its results must be Sendable.
    public static func map<T: Sendable>(_ count: Int, _ body: @Sendable (Int) -> T) -> [T] {
        guard count > 1 else { return count == 1 ? [body(0)] : [] }
        let slots = UnsafeMutableBufferPointer<T?>.allocate(capacity: count)
        slots.initialize(repeating: nil)
        defer {
            slots.deinitialize()
            slots.deallocate()
        }
        let shared = ResultSlots(slots)
        DispatchQueue.concurrentPerform(iterations: count) { index in shared.slots[index] = body(index) }
        return slots.map { $0! }
    }
}

/// `@unchecked Sendable`: each worker writes only the slot of its own index, once; the buffer
/// is allocated before and freed after `concurrentPerform`, which returns only when every
/// worker has finished, so no slot is written twice, read early or used after it is freed.
private struct ResultSlots<T>: @unchecked Sendable {
    let slots: UnsafeMutableBufferPointer<T?>
    init(_ slots: UnsafeMutableBufferPointer<T?>) { self.slots = slots }
}
