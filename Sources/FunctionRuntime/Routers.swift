import Foundation
import NIOConcurrencyHelpers

/// An event that could not be delivered, and why: logged and counted, never dropped silently.
public struct Undelivered: Error, Equatable, Sendable {
    /// The sending function's registered name (or instance id if it has none).
    public var from: String
    /// The destination as resolved so far: alias, mapped function or instance.
    public var to: String
    /// Why it failed: not mapped, not running, or the target's error.
    public var reason: String
    /// Memberwise.
    public init(from: String, to: String, reason: String) {
        self.from = from
        self.to = to
        self.reason = reason
    }
}

/// One thing a function did through its imports, in order.
public enum Effect: Equatable, Sendable {
    case log(level: LogLevel, target: String, message: String)
    case cast(to: String, payload: [UInt8])
    case call(to: String, payload: [UInt8], reply: CallReply)
    case delayedCast(to: String, payload: [UInt8], delayMilliseconds: UInt64)
    case sync(state: [UInt8])
}

/// Records every effect and delivers nothing: how `invoke` shows a developer what a function
/// does without a node. Calls out of the function are answered "no reply".
public final class RecordingRouter: FunctionRouter {
    private let recorded = NIOLockedValueBox<[Effect]>([])
    private let selfID = NIOLockedValueBox<InstanceID?>(nil)

    /// Starts with no effects and no "self" instance.
    public init() {}

    /// A copy of every effect so far, in the order they happened.
    public var effects: [Effect] { recorded.withLockedValue { $0 } }

    /// Casts and calls to this instance are shown as going to "self".
    public func setSelf(_ id: InstanceID) { selfID.withLockedValue { $0 = id } }

    private func name(_ destination: Destination) -> String {
        if case let .instance(id) = destination, id == selfID.withLockedValue({ $0 }) { return "self" }
        return destination.description
    }

    public func cast(from source: InstanceID, to destination: Destination, payload: [UInt8]) {
        recorded.withLockedValue { $0.append(.cast(to: name(destination), payload: payload)) }
    }

    public func call(from source: InstanceID, to destination: Destination, payload: [UInt8], context: CallContext) -> CallReply {
        recorded.withLockedValue { $0.append(.call(to: name(destination), payload: payload, reply: .noReply)) }
        return .noReply
    }

    public func scheduledDelayedCast(from source: InstanceID, to destination: Destination, payload: [UInt8], delayMilliseconds: UInt64) {
        recorded.withLockedValue { $0.append(.delayedCast(to: name(destination), payload: payload, delayMilliseconds: delayMilliseconds)) }
    }

    public func log(from source: InstanceID, function: String, level: LogLevel, target: String, message: String) {
        recorded.withLockedValue { $0.append(.log(level: level, target: target, message: message)) }
    }

    public func sync(from source: InstanceID, function: String, state: [UInt8]) throws {
        recorded.withLockedValue { $0.append(.sync(state: state)) }
    }
}

/// Routes between instances in this process by each function's output mapping (alias → name).
/// Casts are queued and delivered in order in one mailbox on the guest threads; calls run
/// synchronously in the caller's thread; an event that cannot be delivered is kept with its
/// reason, never dropped silently. The node's dataplane replaces this; tests and `invoke` use it.
public final class LocalRouter: FunctionRouter {
    private struct Registration {
        var instance: FunctionInstance
        var outputs: [String: String]
    }

    private struct State {
        var instances: [String: Registration] = [:]
        var names: [InstanceID: String] = [:]
        var states: [String: [UInt8]] = [:]
        var failures: [Undelivered] = []
        var logs: [(function: String, level: LogLevel, message: String)] = []
    }

    private let state = NIOLockedValueBox(State())
    private let mailbox = SerialMailbox()

    public init() {}

    /// Makes `instance` reachable as `name`; `outputs` maps its aliases to other registered
    /// names. Registering a name again replaces the earlier instance.
    public func register(_ instance: FunctionInstance, name: String, outputs: [String: String]) {
        state.withLockedValue { state in
            state.instances[name] = Registration(instance: instance, outputs: outputs)
            state.names[instance.id] = name
        }
    }

    /// The last state `name` passed to `sync_asm`, for its next start.
    public func savedState(of name: String) -> [UInt8] { state.withLockedValue { $0.states[name] ?? [] } }
    /// Every event that could not be delivered so far, oldest first.
    public var undelivered: [Undelivered] { state.withLockedValue { $0.failures } }
    /// Guest log lines received so far, oldest first (the target is not kept).
    public var logLines: [(function: String, level: LogLevel, message: String)] { state.withLockedValue { $0.logs } }

    /// Blocks until every queued cast has been delivered.
    public func waitUntilIdle() { mailbox.waitForQueuedJobs() }

    private func resolve(from source: InstanceID, _ destination: Destination) -> Result<FunctionInstance, Undelivered> {
        state.withLockedValue { state in
            let sourceName = state.names[source] ?? source.description
            switch destination {
            case let .instance(id):
                guard let name = state.names[id], let target = state.instances[name]?.instance else {
                    return .failure(Undelivered(from: sourceName, to: destination.description, reason: "no such instance"))
                }
                return .success(target)
            case let .alias(alias):
                guard let mapped = state.instances[sourceName]?.outputs[alias] else {
                    return .failure(Undelivered(from: sourceName, to: alias, reason: "output \"\(alias)\" is not mapped"))
                }
                guard let target = state.instances[mapped]?.instance else {
                    return .failure(Undelivered(from: sourceName, to: mapped, reason: "mapped function \"\(mapped)\" is not running"))
                }
                return .success(target)
            }
        }
    }

    private func failed(from source: InstanceID, to target: FunctionInstance, _ error: FunctionError) {
        state.withLockedValue { state in
            state.failures.append(Undelivered(from: state.names[source] ?? "?", to: target.function, reason: error.description))
        }
    }

    public func cast(from source: InstanceID, to destination: Destination, payload: [UInt8]) {
        mailbox.submit { [self] in deliver(from: source, to: destination, payload: payload) }
    }

    private func deliver(from source: InstanceID, to destination: Destination, payload: [UInt8]) {
        switch resolve(from: source, destination) {
        case let .failure(problem):
            state.withLockedValue { $0.failures.append(problem) }
        case let .success(target):
            do {
                try target.cast(from: source, payload: payload)
            } catch {
                failed(from: source, to: target, error)
            }
        }
    }

    public func call(from source: InstanceID, to destination: Destination, payload: [UInt8], context: CallContext) -> CallReply {
        switch resolve(from: source, destination) {
        case let .failure(problem):
            state.withLockedValue { $0.failures.append(problem) }
            return .error(problem.reason)
        case let .success(target):
            do {
                return try target.call(from: source, payload: payload, context: context)
            } catch {
                failed(from: source, to: target, error)
                return .error(error.description)
            }
        }
    }

    public func log(from source: InstanceID, function: String, level: LogLevel, target: String, message: String) {
        state.withLockedValue { $0.logs.append((function, level, message)) }
    }

    public func sync(from source: InstanceID, function: String, state saved: [UInt8]) throws {
        state.withLockedValue { $0.states[function] = saved }
    }
}
