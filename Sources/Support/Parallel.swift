import Dispatch

// The one place where work is spread over cores. Unsafe inside (a shared result buffer),
// safe to call: each index writes only its own slot, and the buffer outlives the workers.

public enum Parallel {
    /// `body(0) … body(count - 1)` on all cores; results in index order. Each call writes only
    /// its own slot of the result buffer.
    public static func map<T>(_ count: Int, _ body: (Int) -> T) -> [T] {
        guard count > 1 else { return count == 1 ? [body(0)] : [] }
        let slots = UnsafeMutableBufferPointer<T?>.allocate(capacity: count)
        slots.initialize(repeating: nil)
        defer {
            slots.deinitialize()
            slots.deallocate()
        }
        let shared = SendableSlots(slots)
        withoutActuallyEscaping(body) { body in
            let work = UncheckedSendable(body)
            DispatchQueue.concurrentPerform(iterations: count) { index in shared.slots[index] = work.value(index) }
        }
        return slots.map { $0! }
    }
}

private struct SendableSlots<T>: @unchecked Sendable {
    let slots: UnsafeMutableBufferPointer<T?>
    init(_ slots: UnsafeMutableBufferPointer<T?>) { self.slots = slots }
}

private struct UncheckedSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
