import Foundation
import Synchronization

/// An event that could not be delivered, and why: logged and counted, never dropped silently.
public struct Undelivered: Error, Equatable, Sendable {
    public var from: String
    public var to: String
    public var reason: String
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
    private let recorded = Mutex<[Effect]>([])
    private let selfID = Mutex<InstanceID?>(nil)

    public init() {}

    public var effects: [Effect] { recorded.withLock { $0 } }

    /// Casts and calls to this instance are shown as going to "self".
    public func setSelf(_ id: InstanceID) { selfID.withLock { $0 = id } }

    private func name(_ destination: Destination) -> String {
        if case let .instance(id) = destination, id == selfID.withLock({ $0 }) { return "self" }
        return destination.description
    }

    public func cast(from source: InstanceID, to destination: Destination, payload: [UInt8]) {
        recorded.withLock { $0.append(.cast(to: name(destination), payload: payload)) }
    }

    public func call(from source: InstanceID, to destination: Destination, payload: [UInt8], context: CallContext) -> CallReply {
        recorded.withLock { $0.append(.call(to: name(destination), payload: payload, reply: .noReply)) }
        return .noReply
    }

    public func scheduledDelayedCast(from source: InstanceID, to destination: Destination, payload: [UInt8], delayMilliseconds: UInt64) {
        recorded.withLock { $0.append(.delayedCast(to: name(destination), payload: payload, delayMilliseconds: delayMilliseconds)) }
    }

    public func log(from source: InstanceID, function: String, level: LogLevel, target: String, message: String) {
        recorded.withLock { $0.append(.log(level: level, target: target, message: message)) }
    }

    public func sync(from source: InstanceID, function: String, state: [UInt8]) {
        recorded.withLock { $0.append(.sync(state: state)) }
    }
}

/// Routes between instances in this process by each function's output mapping (alias → name).
/// Casts are queued and delivered in order on one queue; calls run synchronously in the
/// caller's thread; an event that cannot be delivered is kept with its reason, never dropped
/// silently. The node's dataplane replaces this; tests and `invoke` use it.
public final class LocalRouter: FunctionRouter {
    private struct Registration {
        var instance: FunctionInstance
        var outputs: [String: String]
    }

    private let instances = Mutex<[String: Registration]>([:])
    private let byID = Mutex<[InstanceID: String]>([:])
    private let states = Mutex<[String: [UInt8]]>([:])
    private let failures = Mutex<[Undelivered]>([])
    private let logs = Mutex<[(function: String, level: LogLevel, message: String)]>([])
    private let queue = DispatchQueue(label: "secure-executor.local-router")

    public init() {}

    public func register(_ instance: FunctionInstance, name: String, outputs: [String: String]) {
        instances.withLock { $0[name] = Registration(instance: instance, outputs: outputs) }
        byID.withLock { $0[instance.id] = name }
    }

    /// The last state `name` passed to `sync_asm`, for its next start.
    public func savedState(of name: String) -> [UInt8] { states.withLock { $0[name] ?? [] } }
    public var undelivered: [Undelivered] { failures.withLock { $0 } }
    public var logLines: [(function: String, level: LogLevel, message: String)] { logs.withLock { $0 } }

    /// Blocks until every queued cast has been delivered.
    public func waitUntilIdle() { queue.sync {} }

    private func resolve(from source: InstanceID, _ destination: Destination) -> Result<FunctionInstance, Undelivered> {
        let sourceName = byID.withLock { $0[source] } ?? source.description
        switch destination {
        case let .instance(id):
            guard let name = byID.withLock({ $0[id] }), let target = instances.withLock({ $0[name]?.instance }) else {
                return .failure(Undelivered(from: sourceName, to: destination.description, reason: "no such instance"))
            }
            return .success(target)
        case let .alias(alias):
            guard let mapped = instances.withLock({ $0[sourceName]?.outputs[alias] }) else {
                return .failure(Undelivered(from: sourceName, to: alias, reason: "output \"\(alias)\" is not mapped"))
            }
            guard let target = instances.withLock({ $0[mapped]?.instance }) else {
                return .failure(Undelivered(from: sourceName, to: mapped, reason: "mapped function \"\(mapped)\" is not running"))
            }
            return .success(target)
        }
    }

    public func cast(from source: InstanceID, to destination: Destination, payload: [UInt8]) {
        queue.async { [self] in deliver(from: source, to: destination, payload: payload) }
    }

    private func deliver(from source: InstanceID, to destination: Destination, payload: [UInt8]) {
        switch resolve(from: source, destination) {
        case let .failure(problem):
            failures.withLock { $0.append(problem) }
        case let .success(target):
            do {
                try target.cast(from: source, payload: payload)
            } catch {
                failures.withLock { $0.append(Undelivered(from: byID.withLock { $0[source] } ?? "?", to: target.function, reason: error.description)) }
            }
        }
    }

    public func call(from source: InstanceID, to destination: Destination, payload: [UInt8], context: CallContext) -> CallReply {
        switch resolve(from: source, destination) {
        case let .failure(problem):
            failures.withLock { $0.append(problem) }
            return .error(problem.reason)
        case let .success(target):
            do {
                return try target.call(from: source, payload: payload, context: context)
            } catch {
                failures.withLock { $0.append(Undelivered(from: byID.withLock { $0[source] } ?? "?", to: target.function, reason: error.description)) }
                return .error(error.description)
            }
        }
    }

    public func log(from source: InstanceID, function: String, level: LogLevel, target: String, message: String) {
        logs.withLock { $0.append((function, level, message)) }
    }

    public func sync(from source: InstanceID, function: String, state: [UInt8]) {
        states.withLock { $0[function] = state }
    }
}
