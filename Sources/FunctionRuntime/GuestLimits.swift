import Dispatch
import Logging
import Metrics
import NIOConcurrencyHelpers
import Support

/// Pending `delayed_cast_asm` timers and the bytes they hold (payload and target).
public struct PendingTimers: Sendable, Equatable {
    /// Number of timers not yet fired or cancelled.
    public var timers = 0
    /// Bytes those timers hold.
    public var bytes = 0
    /// Memberwise; zero by default.
    public init(timers: Int = 0, bytes: Int = 0) {
        self.timers = timers
        self.bytes = bytes
    }
}

/// The node's share of pending timers (`[node] timers`, `timer_bytes`): every instance of a
/// runtime draws from it, so many instances cannot together pin what one may not.
final class TimerBudget: Sendable {
    let maxTimers: Int
    let maxBytes: Int
    private let used = NIOLockedValueBox(PendingTimers())

    init(maxTimers: Int, maxBytes: Int) {
        self.maxTimers = maxTimers
        self.maxBytes = maxBytes
    }

    var pending: PendingTimers { used.withLockedValue { $0 } }

    /// Takes room for one timer of `bytes`, or says which node cap it would pass.
    func reserve(_ bytes: Int) -> String? {
        used.withLockedValue { used in
            if used.timers >= maxTimers { return "the node already has \(used.timers) timers pending (node.timers = \(maxTimers))" }
            if used.bytes + bytes > maxBytes {
                return "\(bytes) more bytes would make \(used.bytes + bytes) pending on the node, over node.timer_bytes (\(maxBytes) bytes)"
            }
            used.timers += 1
            used.bytes += bytes
            return nil
        }
    }

    func release(_ bytes: Int) {
        used.withLockedValue {
            $0.timers -= 1
            $0.bytes -= bytes
        }
    }
}

/// One instance's delayed casts, owned by the instance: capped in count and bytes
/// (`[limits] timers`, `timer_bytes`) and cancelled when it stops, fails or restarts, so a
/// stopped workflow leaves nothing pinned. The payload lives here, not in the timer, so a
/// cancelled timer frees it at once.
final class InstanceTimers: @unchecked Sendable {
    // @unchecked: DispatchSourceTimer is not Sendable; every source is created, resumed and
    // cancelled only inside `state`'s lock, and its handler touches only this object.
    private struct Entry {
        var source: any DispatchSourceTimer
        var bytes: Int
        var fire: @Sendable () -> Void
    }
    private struct State {
        var entries: [UInt64: Entry] = [:]
        var next: UInt64 = 0
        var bytes = 0
    }

    // Dispatch only keeps time; what a timer does runs on a guest thread, because a firing
    // cast may wait on a full target (backpressure).
    private static let queue = DispatchQueue(label: "secure-executor.timers")
    private let budget: TimerBudget
    private let maxTimers: Int
    private let maxBytes: Int
    private let state = NIOLockedValueBox(State())

    init(budget: TimerBudget, limits: FunctionLimits) {
        self.budget = budget
        maxTimers = limits.pendingTimers
        maxBytes = limits.pendingTimerBytes
    }

    var pending: PendingTimers {
        state.withLockedValue { PendingTimers(timers: $0.entries.count, bytes: $0.bytes) }
    }

    /// Runs `fire` after the delay unless cancelled first; refuses with the cap it would pass.
    func schedule(afterMilliseconds delay: UInt64, bytes: Int, fire: @escaping @Sendable () -> Void) throws(GuestFault) {
        let refusal: String? = state.withLockedValue { state in
            if state.entries.count >= maxTimers {
                return "\(state.entries.count) timers are already pending for this instance (limits.timers = \(maxTimers))"
            }
            if state.bytes + bytes > maxBytes {
                return "\(bytes) more bytes would make \(state.bytes + bytes) pending for this instance, over limits.timer_bytes (\(maxBytes) bytes)"
            }
            if let node = budget.reserve(bytes) { return node }
            let id = state.next
            state.next += 1
            let source = DispatchSource.makeTimerSource(queue: Self.queue)
            // Dispatch takes milliseconds as Int; a delay past Int32.max ms (24 days) waits that long.
            source.schedule(deadline: .now() + .milliseconds(Int(min(delay, UInt64(Int32.max)))))
            source.setEventHandler { [weak self] in
                if let fire = self?.take(id) { GuestThreads.run(fire) }
            }
            state.entries[id] = Entry(source: source, bytes: bytes, fire: fire)
            state.bytes += bytes
            source.resume()
            return nil
        }
        if let refusal { throw GuestFault(kind: .fault, reason: "delayed_cast_asm refused: \(refusal)") }
    }

    /// Removes a timer that fired and returns what it should do.
    private func take(_ id: UInt64) -> (@Sendable () -> Void)? {
        let entry: Entry? = state.withLockedValue { state in
            guard let entry = state.entries.removeValue(forKey: id) else { return nil }
            state.bytes -= entry.bytes
            entry.source.cancel()
            return entry
        }
        guard let entry else { return nil }
        budget.release(entry.bytes)
        return entry.fire
    }

    /// Cancels every pending timer and frees what it held.
    func cancelAll() {
        let cancelled: [Entry] = state.withLockedValue { state in
            defer { state = State(next: state.next) }
            for entry in state.entries.values { entry.source.cancel() }
            return Array(state.entries.values)
        }
        for entry in cancelled { budget.release(entry.bytes) }
    }

    deinit { cancelAll() }
}

/// `telemetry_log_asm` for one instance: each line escaped onto one line and cut to
/// `maxMessageBytes` (the target to `maxTargetBytes`), at most `linesPerSecond` lines with
/// bursts of `burst`; lines over the rate are dropped, counted in
/// `secure_executor_function_log_dropped_total`, and reported by a line when logging resumes.
final class GuestLog: Sendable {
    static let maxMessageBytes = 4096
    static let maxTargetBytes = 128
    static let linesPerSecond = 100.0
    static let burst = 200.0

    private struct Bucket {
        var tokens = GuestLog.burst
        var refilled = DispatchTime.now().uptimeNanoseconds
        var dropped = 0
    }
    private let bucket = NIOLockedValueBox(Bucket())
    private let droppedCounter: Counter

    init(function: String, metrics: MetricsFactory?) {
        let dimensions = [("function", function)]
        droppedCounter =
            metrics.map { Counter(label: "secure_executor_function_log_dropped_total", dimensions: dimensions, factory: $0) }
            ?? Counter(label: "secure_executor_function_log_dropped_total", dimensions: dimensions)
    }

    var dropped: Int { bucket.withLockedValue { $0.dropped } }

    /// Whether a line may go out now and, if so, how many were dropped since the last one.
    func admit(now: UInt64 = DispatchTime.now().uptimeNanoseconds) -> (admitted: Bool, droppedBefore: Int) {
        let outcome: (Bool, Int) = bucket.withLockedValue { bucket in
            let elapsed = Double(now &- bucket.refilled) / 1e9
            bucket.tokens = min(Self.burst, bucket.tokens + elapsed * Self.linesPerSecond)
            bucket.refilled = now
            guard bucket.tokens >= 1 else {
                bucket.dropped += 1
                return (false, 0)
            }
            bucket.tokens -= 1
            defer { bucket.dropped = 0 }
            return (true, bucket.dropped)
        }
        if !outcome.0 { droppedCounter.increment() }
        return outcome
    }

    static func message(_ text: String) -> String { LogText.escaped(text, maxBytes: maxMessageBytes) }
    static func target(_ text: String) -> String { LogText.escaped(text, maxBytes: maxTargetBytes) }
}
