import Dispatch
import NIOConcurrencyHelpers
import Testing

@testable import FunctionRuntime

@Suite struct GuestThreadsTests {
    @Test func aMailboxRunsItsJobsOneAtATimeInOrder() {
        let mailbox = SerialMailbox()
        let seen = NIOLockedValueBox<(order: [Int], running: Int, overlapped: Bool)>(([], 0, false))
        for index in 0..<500 {
            mailbox.submit {
                seen.withLockedValue { seen in
                    seen.running += 1
                    seen.overlapped = seen.overlapped || seen.running > 1
                }
                seen.withLockedValue { seen in
                    seen.order.append(index)
                    seen.running -= 1
                }
            }
        }
        mailbox.waitForQueuedJobs()
        let result = seen.withLockedValue { $0 }
        #expect(result.order == Array(0..<500))
        #expect(!result.overlapped)
    }

    /// A guest blocked waiting for another target (backpressure, a call) holds its guest
    /// thread; the target it waits for must still get one.
    @Test func mailboxesThatWaitOnEachOtherDoNotStarve() {
        let count = GuestThreads.count / 2
        let released = (0..<count).map { _ in DispatchSemaphore(value: 0) }
        let waiters = (0..<count).map { _ in SerialMailbox() }
        let releasers = (0..<count).map { _ in SerialMailbox() }
        let finished = NIOLockedValueBox(0)
        for index in 0..<count {
            waiters[index].submit {
                if released[index].wait(timeout: .now() + 10) == .success { finished.withLockedValue { $0 += 1 } }
            }
        }
        for index in 0..<count { releasers[index].submit { released[index].signal() } }
        for waiter in waiters { waiter.waitForQueuedJobs() }
        #expect(finished.withLockedValue { $0 } == count)
    }
}
