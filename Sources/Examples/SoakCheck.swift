import Foundation
import Node

/// bench_soak's accounting, shared by its example check and `secure-executor-bench soak`:
/// every request answered 200 made exactly one cast to `counter`; every 100th event there set
/// a delayed cast. Whatever did not arrive must show up as undelivered, never vanish.
public struct SoakCounts: Sendable, Equatable {
    /// Events `counter` received, delayed casts it set, and those that fired.
    public var events: Int
    public var timersSet: Int
    public var timersFired: Int
    /// The dataplane's count of events it could not deliver (a call that trapped is one).
    public var undelivered: Int
    /// How often `front` was replaced after it trapped.
    public var frontRestarts: Int

    /// Asks `counter` for its counts (a call: it answers "EVENTS SET FIRED").
    public static func read(_ workflow: Node.RunningWorkflow) throws -> SoakCounts {
        guard let counter = workflow.instances["counter"], let front = workflow.instances["front"],
              case let .reply(bytes) = try counter.call(from: counter.id, payload: []) else {
            throw ExampleRunner.Failure("bench_soak: counter did not answer")
        }
        let numbers = String(decoding: bytes, as: UTF8.self).split(separator: " ").compactMap { Int($0) }
        guard numbers.count == 3 else { throw ExampleRunner.Failure("bench_soak: counter answered \"\(String(decoding: bytes, as: UTF8.self))\"") }
        return SoakCounts(events: numbers[0], timersSet: numbers[1], timersFired: numbers[2],
                          undelivered: workflow.dataplane.counts.undelivered, frontRestarts: front.restarts)
    }

    /// Why these counts do not add up for `answered` requests answered 200 and `trapped`
    /// answered 502 (each trapped call is one undelivered event); nil if nothing was lost.
    public func problem(answered: Int, trapped: Int) -> String? {
        if events != answered || undelivered != trapped {
            return "\(answered) requests answered 200 each cast one event and \(trapped) trapped, but counter got \(events) events and \(undelivered) are counted undelivered"
        }
        if timersSet != events / 100 { return "counter set \(timersSet) delayed casts for \(events) events, expected \(events / 100)" }
        if timersFired != timersSet { return "\(timersSet) delayed casts were set but \(timersFired) fired" }
        if frontRestarts != trapped { return "front trapped \(trapped) times but was restarted \(frontRestarts) times" }
        return nil
    }
}
