import Foundation
import Node

/// bench_soak's accounting, shared by its example check and `secure-executor-bench soak`:
/// every request answered 200 made exactly one cast to `counter`; every 100th event there set
/// a delayed cast. Whatever did not arrive must show up as undelivered, never vanish.
public struct SoakCounts: Sendable, Equatable {
    /// Events `counter` received, delayed casts it set, and those that fired.
    public var events: Int
    /// Delayed casts `counter` set, one per 100 events.
    public var timersSet: Int
    /// Delayed casts that fired; must equal `timersSet`.
    public var timersFired: Int
    /// The dataplane's count of events it could not deliver (a call that trapped is one).
    public var undelivered: Int
    /// Calls the dataplane took: every ingress request that reached `front`.
    public var calls: Int
    /// How often `front` was replaced after it trapped.
    public var frontRestarts: Int

    /// Asks `counter` for its counts (a call: it answers "EVENTS SET FIRED").
    public static func read(_ workflow: Node.RunningWorkflow) throws -> SoakCounts {
        guard let counter = workflow.instances["counter"], let front = workflow.instances["front"],
            case let .reply(bytes) = try counter.call(from: counter.id, payload: [])
        else {
            throw ExampleRunner.Failure("bench_soak: counter did not answer")
        }
        let numbers = String(decoding: bytes, as: UTF8.self).split(separator: " ").compactMap { Int($0) }
        guard numbers.count == 3 else { throw ExampleRunner.Failure("bench_soak: counter answered \"\(String(decoding: bytes, as: UTF8.self))\"") }
        let dataplane = workflow.dataplane.counts
        return SoakCounts(
            events: numbers[0], timersSet: numbers[1], timersFired: numbers[2],
            undelivered: dataplane.undelivered, calls: dataplane.calls, frontRestarts: front.restarts)
    }

    /// Why these counts do not add up; nil if nothing was lost silently. `answered` and
    /// `trapped`: how many requests the client saw answered 200 and 502 (a load generator
    /// stopped mid-run does not count the answers still in flight: give it a range).
    public func problem(answered: ClosedRange<Int>, trapped: ClosedRange<Int>) -> String? {
        if calls != events + undelivered {
            return "the node took \(calls) calls to front, but counter got \(events) events and only \(undelivered) are counted undelivered"
        }
        if undelivered != frontRestarts { return "\(undelivered) events are undelivered but front trapped (and restarted) \(frontRestarts) times" }
        if !answered.contains(events) { return "the client saw \(answered) answers 200, each casting one event, but counter got \(events)" }
        if !trapped.contains(undelivered) { return "the client saw \(trapped) traps (502), but \(undelivered) events are undelivered" }
        if timersSet != events / 100 { return "counter set \(timersSet) delayed casts for \(events) events, expected \(events / 100)" }
        if timersFired != timersSet { return "\(timersSet) delayed casts were set but \(timersFired) fired" }
        return nil
    }
}
