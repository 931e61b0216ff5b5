import Foundation

/// An instance's identity: EDGELESS's (node id, component id), two UUIDs of 16 raw bytes.
public struct InstanceID: Hashable, Sendable, CustomStringConvertible {
    /// The node the instance runs on.
    public let node: UUID
    /// The instance itself; unique per instance.
    public let component: UUID

    /// `component` defaults to a fresh random UUID.
    public init(node: UUID, component: UUID = UUID()) {
        self.node = node
        self.component = component
    }

    init(nodeBytes: [UInt8], componentBytes: [UInt8]) {
        node = UUID(bytes: nodeBytes)
        component = UUID(bytes: componentBytes)
    }

    /// The component UUID in lower case; the node id is left out.
    public var description: String { component.uuidString.lowercased() }

    /// As EDGELESS prints an instance id (its `Display`), e.g. in `file-log`'s `add-source-id`.
    public var edgelessDescription: String {
        "InstanceId(node_id: \(node.uuidString.lowercased()), function_id: \(component.uuidString.lowercased()))"
    }
}

extension UUID {
    init(bytes: [UInt8]) {
        precondition(bytes.count == 16)
        self = UUID(
            uuid: (
                bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
                bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]
            ))
    }

    var bytes: [UInt8] { withUnsafeBytes(of: uuid) { Array($0) } }
}

/// Where a cast or call goes: an output alias of the calling function ("self" is its own
/// instance), or an explicit instance id (the `_raw` imports).
public enum Destination: Hashable, Sendable, CustomStringConvertible {
    case alias(String)
    case instance(InstanceID)

    public var description: String {
        switch self {
        case let .alias(name): return name
        case let .instance(id): return "instance \(id)"
        }
    }
}

/// What `handle_call_asm` (or a call to a resource) answers: 0 no reply, 1 reply, 2 error.
public enum CallReply: Equatable, Sendable {
    case noReply
    case reply([UInt8])
    case error(String)
}

/// `telemetry_log_asm` levels.
public enum LogLevel: Int32, Sendable, CaseIterable, CustomStringConvertible {
    case error = 1
    case warn, info, debug, trace
    /// Lower-case level name, as logs print it.
    public var description: String { ["error", "warn", "info", "debug", "trace"][Int(rawValue) - 1] }
}

/// The call chain a synchronous call runs in: its depth and the instances already waiting on
/// it, so a cycle (A → B → A) is refused instead of deadlocking.
public struct CallContext: Sendable {
    /// Instances waiting on this call, outermost first.
    public var chain: [InstanceID]
    /// Empty chain: an event from outside any call.
    public init(chain: [InstanceID] = []) { self.chain = chain }
    /// Checked against `limits.call_depth`.
    public var depth: Int { chain.count }
}

/// What a function's imports ask of the world. The node routes these between instances and
/// resources; `invoke` records them. Implementations must be thread-safe.
///
/// Delayed casts are the runtime's: the instance owns their timers (capped, cancelled when it
/// stops) and hands each to `cast` when it fires; `scheduledDelayedCast` only tells the router
/// one was scheduled. Log lines arrive escaped, cut and rate-limited.
public protocol FunctionRouter: Sendable {
    func cast(from source: InstanceID, to destination: Destination, payload: [UInt8])
    func call(from source: InstanceID, to destination: Destination, payload: [UInt8], context: CallContext) -> CallReply
    func scheduledDelayedCast(from source: InstanceID, to destination: Destination, payload: [UInt8], delayMilliseconds: UInt64)
    func log(from source: InstanceID, function: String, level: LogLevel, target: String, message: String)
    /// State passed to `sync_asm`, to hand back as `state` at the next start. A throw fails
    /// the instance: state promised durable could not be saved.
    func sync(from source: InstanceID, function: String, state: [UInt8]) throws
}

extension FunctionRouter {
    /// Default: ignore the notice; the runtime still fires the cast through `cast`.
    public func scheduledDelayedCast(from source: InstanceID, to destination: Destination, payload: [UInt8], delayMilliseconds: UInt64) {}
}
