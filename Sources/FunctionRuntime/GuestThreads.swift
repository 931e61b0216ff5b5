import Dispatch
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// Where guests run. An EDGELESS guest's host calls are synchronous (`call_asm` waits for its
/// reply, a cast to a full target waits for room), so the thread running a guest must be
/// allowed to block. These threads are ours and bounded: guests never block Swift's
/// cooperative pool, Dispatch's shared threads or an event loop.
///
/// The pool has more threads than cores on purpose: a guest blocked on backpressure or on a
/// slow peer holds its thread, and the target it waits for needs another one to make room.
public enum GuestThreads {
    /// Enough for 64 targets to wait on each other at once (each wait ends at its timeout).
    public static let count = 64

    static let pool: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: count)
        pool.start()
        return pool
    }()

    /// Runs `work` on a guest thread.
    public static func run(_ work: @escaping @Sendable () -> Void) {
        pool.submit { state in
            // The pool lives as long as the process, so every item is active.
            if case .active = state { work() }
        }
    }
}

/// A serial queue on the guest threads: jobs run one at a time, in the order submitted, on
/// whichever guest thread is free. An idle mailbox holds no thread.
public final class SerialMailbox: Sendable {
    private struct State {
        var jobs = CircularBuffer<@Sendable () -> Void>()
        var running = false
    }

    /// Jobs one turn may run before the mailbox yields its thread to the others.
    private static let turn = 64
    private let state = NIOLockedValueBox(State())

    public init() {}

    /// Queues `job`; it runs after every job submitted before it.
    public func submit(_ job: @escaping @Sendable () -> Void) {
        let start = state.withLockedValue { state in
            state.jobs.append(job)
            defer { state.running = true }
            return !state.running
        }
        if start { GuestThreads.run { self.runTurn() } }
    }

    private func runTurn() {
        for _ in 0..<Self.turn {
            let next: (@Sendable () -> Void)? = state.withLockedValue { state in
                guard let job = state.jobs.popFirst() else {
                    state.running = false
                    return nil
                }
                return job
            }
            guard let next else { return }
            next()
        }
        GuestThreads.run { self.runTurn() }
    }
}

extension SerialMailbox {
    /// Blocks the caller until every job submitted before this call has run. For a thread that
    /// may block (the node's pool, a test), never a job of this mailbox.
    public func waitForQueuedJobs() {
        let done = DispatchSemaphore(value: 0)
        submit { done.signal() }
        done.wait()
    }
}

extension GuestThreads {
    /// Waits for `future` on the calling guest thread. A guest's host call is synchronous by
    /// the EDGELESS ABI, so the one place where a resource talking to the network over SwiftNIO
    /// meets a guest waiting for its answer is here: on a guest thread, never an event loop.
    public static func wait<Value: Sendable>(for future: EventLoopFuture<Value>) throws -> Value { try future.wait() }
}
