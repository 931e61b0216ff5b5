import Foundation
import NIOConcurrencyHelpers
@_spi(Fuzzing) import WasmKit

/// One running instance of a function. The guest runs one event at a time, under `guest`'s
/// lock; each invocation gets a fresh fuel budget and deadline. What the node API reads while
/// a guest may be running (state, restarts) sits behind its own lock, `status`, held only to
/// copy it, so a slow guest never blocks `/health`.
///
/// `@unchecked Sendable`: the replaceable guest is only touched under `guest`'s lock, state
/// and restarts only under `status`'s; `startup` is written by the runtime before the instance
/// is handed to anyone; everything else is immutable.
public final class FunctionInstance: @unchecked Sendable {
    /// Lifecycle as the node API reports it; only `.running` accepts events.
    public enum State: Equatable, Sendable {
        case running
        case stopped
        /// Trapped or hit a limit; takes no more events. The node decides whether to restart.
        case failed(String)
    }

    private struct Status {
        var state: State = .running
        /// How often the instance was replaced after a failure.
        var restarts = 0
    }

    /// The instance's address; kept across restarts.
    public let id: InstanceID
    /// The workflow's name for the function, used in logs and errors.
    public let function: String
    /// What this instance may use: the manifest's `[limits]`, narrowed by its workflow.
    public let limits: FunctionLimits
    /// How long the first start took, by phase; a restart does not change it.
    public internal(set) var startup: StartupLatency
    /// Current state, copied under a short lock; never waits for a running guest.
    public var state: State { status.withLockedValue { $0.state } }
    /// How often the instance was replaced after a failure (limits.on_failure = "restart").
    public var restarts: Int { status.withLockedValue { $0.restarts } }

    private let guest: NIOLockedValueBox<PreparedInstance>
    private let status = NIOLockedValueBox(Status())
    /// Its delayed casts: cancelled when it stops, fails or restarts.
    private let timers: InstanceTimers
    /// Builds a fresh instance of the same module, bound to the same id and router.
    private let replacement: (() throws(FunctionError) -> PreparedInstance)?
    private let initPayload: [UInt8]

    init(
        prepared: PreparedInstance, id: InstanceID, function: String, startup: StartupLatency, initPayload: [UInt8] = [],
        timers: InstanceTimers, replacement: (() throws(FunctionError) -> PreparedInstance)? = nil
    ) {
        guest = NIOLockedValueBox(prepared)
        limits = prepared.host.limits
        self.timers = timers
        self.id = id
        self.function = function
        self.startup = startup
        self.initPayload = initPayload
        self.replacement = replacement
    }

    /// `handle_cast_asm`: an asynchronous event.
    public func cast(from source: InstanceID, payload: [UInt8]) throws(FunctionError) {
        try checkPayload(payload.count, "handle_cast_asm")
        try run("handle_cast_asm", context: CallContext()) { exports, host in
            try exports.clear.invoke()
            let block = try host.copyIntoGuest(source.node.bytes + source.component.bytes + payload, "cast payload")
            try exports.cast.invoke([.i32(block), .i32(block + 16), .i32(block + 32), .i32(UInt32(payload.count))])
            try exports.free.invoke([.i32(block), .i32(UInt32(32 + payload.count))])
        }
    }

    /// `handle_call_asm`: a synchronous request. The reply is copied out at once, since the
    /// guest may reuse that memory.
    public func call(from source: InstanceID, payload: [UInt8], context: CallContext = CallContext()) throws(FunctionError) -> CallReply {
        try checkPayload(payload.count, "handle_call_asm")
        var reply = CallReply.noReply
        try run("handle_call_asm", context: context) { exports, host in
            try exports.clear.invoke()
            let block = try host.copyIntoGuest(source.node.bytes + source.component.bytes + payload + [UInt8](repeating: 0, count: 8), "call payload")
            let slots = block + 32 + UInt32(payload.count)
            let result = try exports.call.invoke([.i32(block), .i32(block + 16), .i32(block + 32), .i32(UInt32(payload.count)), .i32(slots), .i32(slots + 4)])
            switch result.first {
            case .i32(0)?: reply = .noReply
            case .i32(1)?:
                let pointer = try host.readU32(at: slots, "reply pointer slot")
                let length = try host.readU32(at: slots + 4, "reply length slot")
                reply = .reply(try host.read(pointer, length, "call reply"))
            case .i32(2)?: reply = .error("function \(function) answered with an error")
            default: throw GuestFault(kind: .fault, reason: "handle_call_asm returned \(result.first.map { "\($0)" } ?? "nothing"), not 0, 1 or 2")
            }
            try exports.free.invoke([.i32(block), .i32(UInt32(40 + payload.count))])
        }
        return reply
    }

    /// Delayed casts this instance has pending.
    public var pendingTimers: PendingTimers { timers.pending }

    /// `handle_stop_asm`, then no more events; its pending delayed casts are cancelled.
    public func stop() throws(FunctionError) {
        defer {
            status.withLockedValue { if $0.state == .running { $0.state = .stopped } }
            timers.cancelAll()
        }
        try run("handle_stop_asm", context: CallContext()) { exports, _ in
            try exports.clear.invoke()
            try exports.stop.invoke()
        }
    }

    /// The init sequence; called once by the runtime right after the instance is bound.
    func initialise(payload: [UInt8], state saved: [UInt8]) throws(FunctionError) {
        try checkPayload(payload.count + saved.count, "handle_init_asm")
        try run("handle_init_asm", context: CallContext()) { exports, host in
            try FunctionInstance.initSequence(exports, host, payload: payload, state: saved)
        }
    }

    /// One block holding init payload then state; a pointer of 0 means "absent".
    private static func initSequence(_ exports: PreparedInstance.Exports, _ host: HostContext, payload: [UInt8], state: [UInt8]) throws {
        host.lastSyncedState = state
        let block = try host.copyIntoGuest(payload + state, "init payload and state")
        try exports.initialise.invoke([
            .i32(payload.isEmpty ? 0 : block), .i32(UInt32(payload.count)),
            .i32(state.isEmpty ? 0 : block + UInt32(payload.count)), .i32(UInt32(state.count)),
        ])
        try exports.free.invoke([.i32(block), .i32(UInt32(payload.count + state.count))])
    }

    /// Oversized input is the sender's fault: refused before the guest sees it, and the
    /// instance keeps running.
    private func checkPayload(_ size: Int, _ handler: String) throws(FunctionError) {
        let limit = limits.payloadBytes
        guard size <= limit else {
            throw .payloadTooLarge(function: function, instance: id.description, handler: handler, size: size, limit: limit)
        }
    }

    private func run(_ handler: String, context: CallContext, _ body: (PreparedInstance.Exports, HostContext) throws -> Void) throws(FunctionError) {
        if context.depth > limits.callDepth {
            throw .guestFault(
                function: function, instance: id.description, handler: handler,
                reason: "call depth \(context.depth) exceeds limits.call_depth (\(limits.callDepth))")
        }
        // A call that comes back to an instance already waiting in this chain would deadlock.
        if context.chain.contains(id) {
            throw .guestFault(
                function: function, instance: id.description, handler: handler,
                reason: "call cycle: " + (context.chain + [id]).map(\.description).joined(separator: " → "))
        }
        let outcome: Result<Void, FunctionError> = guest.withLockedValue { prepared in
            let state = status.withLockedValue { $0.state }
            guard state == .running else {
                return .failure(.notRunning(function: function, instance: id.description, state: "\(state)"))
            }
            prepared.host.context = context
            do throws(FunctionError) {
                try invoke(handler, on: prepared, body)
                return .success(())
            } catch {
                // A failed instance's timers would fire on its behalf; a replacement starts clean.
                status.withLockedValue { $0.state = .failed(error.description) }
                timers.cancelAll()
                restartAfterFailure(handler: handler, prepared: &prepared)
                return .failure(error)
            }
        }
        try outcome.get()
    }

    /// With the restart policy, a failed instance is replaced by a fresh one of the same code,
    /// started from the last state it synced. The failing event is still reported; later
    /// events go to the replacement. Init of the replacement runs once; if it fails too, the
    /// instance stays failed. The caller holds `guest`'s lock.
    private func restartAfterFailure(handler: String, prepared: inout PreparedInstance) {
        guard let replacement, handler != "handle_init_asm", handler != "handle_stop_asm",
            let fresh = try? replacement()
        else { return }
        let saved = prepared.host.lastSyncedState
        prepared = fresh
        status.withLockedValue {
            $0.state = .running
            $0.restarts += 1
        }
        do {
            try invoke("handle_init_asm", on: fresh) { exports, host in
                try FunctionInstance.initSequence(exports, host, payload: initPayload, state: saved)
            }
        } catch {
            status.withLockedValue { $0.state = .failed(error.description) }
        }
    }

    /// One guest invocation with a fresh fuel budget and deadline; the caller holds `guest`'s lock.
    private func invoke(_ handler: String, on prepared: PreparedInstance, _ body: (PreparedInstance.Exports, HostContext) throws -> Void) throws(FunctionError)
    {
        let host = prepared.host
        prepared.store.fuel = Fuel(remaining: limits.fuel)
        host.deadline = DispatchTime.now().uptimeNanoseconds + UInt64(limits.timeoutMilliseconds) * 1_000_000
        do { try body(prepared.exports, host) } catch { throw describe(error, handler: handler, limiter: prepared.limiter) }
    }

    private func describe(_ error: Error, handler: String, limiter: MemoryLimiter) -> FunctionError {
        let instance = id.description
        if let fault = error as? GuestFault {
            switch fault.kind {
            case .timeout: return .timeout(function: function, instance: instance, handler: handler, milliseconds: limits.timeoutMilliseconds)
            case .memoryLimit: return .memoryLimit(function: function, instance: instance, limit: limits.memoryBytes)
            case .fault: return .guestFault(function: function, instance: instance, handler: handler, reason: fault.reason)
            }
        }
        // WasmKit's messages carry a whole backtrace; the first line is the reason.
        let text = "\(error)".split(separator: "\n").first.map(String.init) ?? "\(error)"
        if text.contains("out of fuel") {
            return .outOfFuel(function: function, instance: instance, handler: handler, fuel: limits.fuel)
        }
        let reason = text.hasPrefix("Trap: ") ? String(text.dropFirst(6)) : text
        if limiter.refused {
            return .memoryLimit(function: function, instance: instance, limit: limits.memoryBytes)
        }
        return .trap(function: function, instance: instance, handler: handler, reason: reason)
    }
}

/// Start-up latency of one instance, from start request to `handle_init_asm` return.
public struct StartupLatency: Sendable, Equatable, Codable {
    /// Reading and verifying the code through the shield.
    public var loadVerifyNanoseconds: UInt64
    /// Parsing and ABI checks; near zero when `moduleCached`.
    public var parseValidateNanoseconds: UInt64
    /// Instantiating the module; near zero when `instancePrepared`.
    public var instantiateNanoseconds: UInt64
    /// Running `handle_init_asm`.
    public var initNanoseconds: UInt64
    /// The module came from the cache (no parsing); the instance was prepared ahead of time.
    public var moduleCached: Bool
    /// An instance from the prepared pool was used.
    public var instancePrepared: Bool

    /// Sum of the four phases, in nanoseconds.
    public var totalNanoseconds: UInt64 { loadVerifyNanoseconds + parseValidateNanoseconds + instantiateNanoseconds + initNanoseconds }

    enum CodingKeys: String, CodingKey {
        case loadVerifyNanoseconds = "load_verify_ns"
        case parseValidateNanoseconds = "parse_validate_ns"
        case instantiateNanoseconds = "instantiate_ns"
        case initNanoseconds = "init_ns"
        case moduleCached = "module_cached"
        case instancePrepared = "instance_prepared"
    }

    /// One log line with every phase in milliseconds, marking cache and pool hits.
    public var summary: String {
        func ms(_ ns: UInt64) -> String { String(format: "%.3f", Double(ns) / 1e6) }
        return
            "start-up \(ms(totalNanoseconds)) ms (load+verify \(ms(loadVerifyNanoseconds)), parse+validate \(ms(parseValidateNanoseconds))\(moduleCached ? " cached" : ""), instantiate \(ms(instantiateNanoseconds))\(instancePrepared ? " prepared" : ""), init \(ms(initNanoseconds)))"
    }
}
