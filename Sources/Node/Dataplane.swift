import Foundation
import FunctionRuntime
import Logging
import Metrics
import NIOConcurrencyHelpers
import SealedState
import Synchronization

/// Routes one workflow's events by its output mappings. Every target has its own serial
/// mailbox on the guest threads (`GuestThreads`) with a bounded number of pending casts: a
/// sender waits (backpressure) while the target is full, and an event that still cannot be
/// delivered is logged with source, target and reason and counted — never dropped silently.
/// Casts from one source to one target arrive in order. Senders inside the workflow run on
/// guest threads, so the wait never holds a shared thread.
public final class Dataplane: FunctionRouter, Sendable {
    enum Endpoint: Sendable {
        case function(FunctionInstance)
        case resource(Resource)
    }

    final class Target: Sendable {
        let name: String
        let endpoint: Endpoint
        let mailbox = SerialMailbox()
        let slots: DispatchSemaphore
        let pending = Atomic<Int>(0)
        let telemetry: EdgelessTelemetry
        init(name: String, endpoint: Endpoint, capacity: Int, telemetry: EdgelessTelemetry) {
            self.name = name
            self.endpoint = endpoint
            self.telemetry = telemetry
            slots = DispatchSemaphore(value: capacity)
        }
    }

    /// EDGELESS's per-component metrics (its `edgeless_telemetry` Prometheus target), so an
    /// EDGELESS dashboard reads this node: `execution_times` (seconds handling one cast or
    /// call, by `invocation_type` Cast or Call) and `transfer_times` (seconds a cast waited
    /// between being sent and being handled), labelled with `node_id`, `function_id` (the
    /// instance's component id) and, for executions, `function_type` (RUST_WASM, or the
    /// resource's class).
    struct EdgelessTelemetry: Sendable {
        let castExecution: Metrics.Timer
        let callExecution: Metrics.Timer
        let transfer: Metrics.Timer

        init(node: UUID, component: UUID, type: String, metrics: MetricsFactory?) {
            let node = node.uuidString.lowercased()
            let function = component.uuidString.lowercased()
            func timer(_ label: String, _ dimensions: [(String, String)]) -> Metrics.Timer {
                metrics.map { Metrics.Timer(label: label, dimensions: dimensions, factory: $0) } ?? Metrics.Timer(label: label, dimensions: dimensions)
            }
            let execution = [("node_id", node), ("function_id", function), ("function_type", type)]
            castExecution = timer("execution_times", execution + [("invocation_type", "Cast")])
            callExecution = timer("execution_times", execution + [("invocation_type", "Call")])
            transfer = timer("transfer_times", [("node_id", node), ("function_id", function)])
        }
    }

    /// Running totals since the dataplane was made; read them with `counts`.
    public struct Statistics: Sendable, Equatable {
        /// Casts a function or resource accepted without an error.
        public var delivered = 0
        /// Events lost (unmapped output, no target, full queue past the timeout, target error); each is logged.
        public var undelivered = 0
        /// Synchronous calls attempted, whether or not they reached a target.
        public var calls = 0
    }

    /// Casts that found no target while the workflow's functions were still starting.
    private struct HeldCast {
        var source: InstanceID
        var destination: Destination
        var payload: [UInt8]
    }

    private struct State {
        var targets: [String: Target] = [:]
        var names: [InstanceID: String] = [:]
        /// Each target's output aliases and the targets they name.
        var mappings: [String: [String: String]] = [:]
        var resourceIDs: [String: InstanceID] = [:]
        /// What each function last synced.
        var states: [String: [UInt8]] = [:]
        var statistics = Statistics()
        /// Non-nil while the workflow starts: a function's init (or a delayed cast it
        /// scheduled) may cast to a function, or to itself, before the node has added it.
        var held: [HeldCast]?
    }

    /// The id of the workflow it routes, used in logs and metric labels.
    public let workflow: String
    /// Pending casts a target may hold before senders wait.
    public let queueCapacity: Int
    /// How long a sender waits for room before the event is counted undelivered.
    public let backpressureTimeout: DispatchTimeInterval
    private let logger: Logger
    private let node: UUID
    private let metrics: MetricsFactory?
    /// Everything that changes, under one lock: a reader never sees a target without its
    /// mapping and identity, or statistics half updated.
    private let state = NIOLockedValueBox(State())
    private let enqueuedTotal = Atomic<Int>(0)
    private let completedTotal = Atomic<Int>(0)
    private let delivered: Counter
    private let undelivered: Counter

    /// An empty dataplane; `Node` adds the workflow's targets. `metrics` nil uses the
    /// process-wide swift-metrics backend for the counters and EDGELESS's timers; `node` is
    /// the `node_id` those timers carry.
    public init(
        workflow: String, queueCapacity: Int = 1024, backpressureTimeout: DispatchTimeInterval = .seconds(5),
        logger: Logger, metrics: MetricsFactory? = nil, node: UUID = UUID(), durableStates: [String: DurableState] = [:]
    ) {
        self.durableStates = durableStates
        self.workflow = workflow
        self.node = node
        self.metrics = metrics
        self.queueCapacity = queueCapacity
        self.backpressureTimeout = backpressureTimeout
        self.logger = logger
        let dimensions = [("workflow", workflow)]
        if let metrics {
            delivered = Counter(label: "secure_executor_events_delivered_total", dimensions: dimensions, factory: metrics)
            undelivered = Counter(label: "secure_executor_events_undelivered_total", dimensions: dimensions, factory: metrics)
        } else {
            delivered = Counter(label: "secure_executor_events_delivered_total", dimensions: dimensions)
            undelivered = Counter(label: "secure_executor_events_undelivered_total", dimensions: dimensions)
        }
    }

    func add(_ name: String, endpoint: Endpoint, outputs: [String: String]) {
        let id: InstanceID
        let type: String
        switch endpoint {
        case let .function(instance): (id, type) = (instance.id, "RUST_WASM")
        case let .resource(resource):
            // Resources get an identity too: a function sees who called it, and a raw-id
            // cast back to the resource resolves.
            id = InstanceID(node: node)
            type = (Swift.type(of: resource) as? any ResourceClass.Type)?.classType ?? "resource"
        }
        let target = Target(
            name: name, endpoint: endpoint, capacity: queueCapacity,
            telemetry: EdgelessTelemetry(node: node, component: id.component, type: type, metrics: metrics))
        state.withLockedValue { state in
            state.targets[name] = target
            state.mappings[name] = outputs
            if case .resource = endpoint { state.resourceIDs[name] = id }
            state.names[id] = name
        }
    }

    /// Names a function and its outputs before it starts, so that the calls its init handler
    /// makes (EDGELESS's sqlx_test INSERTs its row there) reach the resources already added.
    /// Answers the id it is to start with.
    func announce(_ name: String, outputs: [String: String]) -> InstanceID {
        let id = InstanceID(node: node)
        state.withLockedValue { state in
            state.mappings[name] = outputs
            state.names[id] = name
        }
        return id
    }

    /// Casts waiting in each target's queue (the one being handled included).
    public var queueDepths: [String: Int] {
        state.withLockedValue { $0.targets }.mapValues { $0.pending.load(ordering: .relaxed) }
    }

    /// A consistent snapshot of the totals.
    public var counts: Statistics { state.withLockedValue { $0.statistics } }
    /// What `function` last synced (or was restored with); empty if nothing.
    /// Where a NODE_LOCAL function's state is saved.
    public struct DurableState: Sendable {
        let store: SealedStateStore
        let codeHash: [UInt8]
        let stateID: String
    }

    /// By function name: the NODE_LOCAL ones.
    private let durableStates: [String: DurableState]

    public func savedState(of function: String) -> [UInt8] { state.withLockedValue { $0.states[function] ?? [] } }
    /// Sets the saved state of the functions named in `saved` (others keep theirs); `Node`
    /// calls it before the functions start.
    public func restoreStates(_ saved: [String: [UInt8]]) { state.withLockedValue { $0.states.merge(saved) { $1 } } }
    /// Every function's saved state, by function name.
    public var allStates: [String: [UInt8]] { state.withLockedValue { $0.states } }

    /// Waits until no cast is in flight anywhere (delayed casts not counted). A delivery may
    /// enqueue further casts before it counts itself done, so when "done" (read first) equals
    /// "enqueued" (read second), nothing was in flight at the first read.
    public func drain() {
        let all = state.withLockedValue { Array($0.targets.values) }
        while true {
            for target in all { target.mailbox.waitForQueuedJobs() }
            let done = completedTotal.load(ordering: .sequentiallyConsistent)
            if done == enqueuedTotal.load(ordering: .sequentiallyConsistent) { return }
        }
    }

    /// A cast from outside the workflow (a benchmark's or a test's) into `name`; while the
    /// target is full it blocks the caller, so call it from a thread that may block.
    public func inject(into name: String, payload: [UInt8], from source: String = "external") {
        enqueue(from: source, sourceID: nil, to: name, payload: payload)
    }

    func sourceName(_ id: InstanceID) -> String { state.withLockedValue { $0.names[id] } ?? "instance \(id)" }

    private func resolve(_ source: String, _ destination: Destination) -> Result<Target, Undelivered> {
        state.withLockedValue { state in
            let name: String?
            switch destination {
            case let .instance(id): name = state.names[id]
            case let .alias(alias):
                guard let mapped = state.mappings[source]?[alias] else {
                    return .failure(.init(from: source, to: alias, reason: "output \"\(alias)\" is not mapped"))
                }
                name = mapped
            }
            guard let name, let target = state.targets[name] else {
                return .failure(.init(from: source, to: destination.description, reason: "no such function or resource in workflow \(workflow)"))
            }
            return .success(target)
        }
    }

    private func lost(_ problem: Undelivered) {
        state.withLockedValue { $0.statistics.undelivered += 1 }
        undelivered.increment()
        logger.warning(
            "event not delivered", metadata: ["workflow": "\(workflow)", "from": "\(problem.from)", "to": "\(problem.to)", "reason": "\(problem.reason)"])
    }

    private func enqueue(from source: String, sourceID: InstanceID?, to name: String, payload: [UInt8]) {
        guard let target = state.withLockedValue({ $0.targets[name] }) else {
            return lost(.init(from: source, to: name, reason: "no such function or resource in workflow \(workflow)"))
        }
        enqueue(from: source, sourceID: sourceID, to: target, payload: payload)
    }

    /// Queues the cast, waiting up to `backpressureTimeout` for room unless told not to wait;
    /// returns why it was not queued (already counted and logged), or nil.
    @discardableResult
    private func enqueue(from source: String, sourceID: InstanceID?, to target: Target, payload: [UInt8], waiting: Bool = true) -> Undelivered? {
        guard target.slots.wait(timeout: waiting ? .now() + backpressureTimeout : .now()) == .success else {
            let problem = Undelivered(
                from: source, to: target.name,
                reason: waiting ? "queue full (\(queueCapacity) pending) for longer than the backpressure timeout" : "queue full (\(queueCapacity) pending)")
            lost(problem)
            return problem
        }
        enqueuedTotal.add(1, ordering: .sequentiallyConsistent)
        target.pending.add(1, ordering: .relaxed)
        let sent = ContinuousClock.now
        target.mailbox.submit { [self] in
            let handling = ContinuousClock.now
            target.telemetry.transfer.record(handling - sent)
            defer {
                target.telemetry.castExecution.record(ContinuousClock.now - handling)
                target.pending.subtract(1, ordering: .relaxed)
                completedTotal.add(1, ordering: .sequentiallyConsistent)
                target.slots.signal()
            }
            do {
                switch target.endpoint {
                case let .function(instance): try instance.cast(from: sourceID ?? instance.id, payload: payload)
                case let .resource(resource): try resource.cast(payload: payload, from: sourceID)
                }
                state.withLockedValue { $0.statistics.delivered += 1 }
                delivered.increment()
            } catch {
                lost(.init(from: source, to: target.name, reason: "\(error)"))
            }
        }
        return nil
    }

    // MARK: FunctionRouter

    /// Queues an asynchronous event from a function; never throws. An unresolvable one is held
    /// while the workflow starts, else counted undelivered. May block up to `backpressureTimeout`.
    public func cast(from source: InstanceID, to destination: Destination, payload: [UInt8]) {
        let name = sourceName(source)
        switch resolve(name, destination) {
        case let .failure(problem):
            let held = state.withLockedValue { state in
                state.held?.append(HeldCast(source: source, destination: destination, payload: payload))
                return state.held != nil
            }
            if !held { lost(problem) }
        case let .success(target): enqueue(from: name, sourceID: source, to: target, payload: payload)
        }
    }

    /// From now until `started()`, a cast whose target is not added yet waits instead of
    /// counting as undelivered.
    func starts() { state.withLockedValue { $0.held = [] } }

    /// Everything is added: held casts go out in the order they were made.
    func started() {
        let held = state.withLockedValue { state in
            defer { state.held = nil }
            return state.held ?? []
        }
        for event in held { cast(from: event.source, to: event.destination, payload: event.payload) }
    }

    /// A function's synchronous call, run on the caller's thread; a missing target or a failing
    /// callee gives `.error` with the reason (and counts as undelivered).
    public func call(from source: InstanceID, to destination: Destination, payload: [UInt8], context: CallContext) -> CallReply {
        call(from: sourceName(source), id: source, to: destination, payload: payload, context: context)
    }

    /// A cast a resource makes on one of its outputs (the ingress with `async`). It never
    /// waits: a full target refuses it at once, so a server's thread is not held; returns why
    /// it was not queued (counted and logged), or nil.
    public func cast(fromResource name: String, output alias: String, payload: [UInt8]) -> Undelivered? {
        guard let id = state.withLockedValue({ $0.resourceIDs[name] }) else {
            let problem = Undelivered(from: name, to: alias, reason: "no such resource in workflow \(workflow)")
            lost(problem)
            return problem
        }
        switch resolve(name, .alias(alias)) {
        case let .failure(problem):
            lost(problem)
            return problem
        case let .success(target): return enqueue(from: name, sourceID: id, to: target, payload: payload, waiting: false)
        }
    }

    /// A call a resource makes on one of its outputs (the ingress turning a request into a
    /// call). It runs in the target's mailbox, in turn with the casts it receives: a
    /// burst of requests waits there instead of occupying a thread each.
    public func call(fromResource name: String, output alias: String, payload: [UInt8]) async -> CallReply {
        guard let id = state.withLockedValue({ $0.resourceIDs[name] }) else {
            lost(.init(from: name, to: alias, reason: "no such resource in workflow \(workflow)"))
            return .error("no resource \(name) in workflow \(workflow)")
        }
        guard case let .success(target) = resolve(name, .alias(alias)) else {
            return call(from: name, id: id, to: .alias(alias), payload: payload, context: CallContext())
        }
        return await withCheckedContinuation { continuation in
            target.mailbox.submit { [self] in
                continuation.resume(returning: call(from: name, id: id, to: .alias(alias), payload: payload, context: CallContext()))
            }
        }
    }

    private func call(from name: String, id source: InstanceID, to destination: Destination, payload: [UInt8], context: CallContext) -> CallReply {
        state.withLockedValue { $0.statistics.calls += 1 }
        switch resolve(name, destination) {
        case let .failure(problem):
            lost(problem)
            return .error(problem.reason)
        case let .success(target):
            switch target.endpoint {
            case let .resource(resource):
                let handling = ContinuousClock.now
                defer { target.telemetry.callExecution.record(ContinuousClock.now - handling) }
                return resource.call(payload: payload)
            case let .function(instance):
                let handling = ContinuousClock.now
                defer { target.telemetry.callExecution.record(ContinuousClock.now - handling) }
                do {
                    return try instance.call(from: source, payload: payload, context: context)
                } catch {
                    lost(.init(from: name, to: target.name, reason: "\(error)"))
                    return .error("\(error)")
                }
            }
        }
    }

    /// Writes a function's log message to the node's logger at `level`, tagged with workflow,
    /// function and target.
    public func log(from source: InstanceID, function: String, level: LogLevel, target: String, message: String) {
        let metadata: Logger.Metadata = ["workflow": "\(workflow)", "function": "\(function)", "target": "\(target)"]
        switch level {
        case .error: logger.error("\(message)", metadata: metadata)
        case .warn: logger.warning("\(message)", metadata: metadata)
        case .info: logger.info("\(message)", metadata: metadata)
        case .debug: logger.debug("\(message)", metadata: metadata)
        case .trace: logger.trace("\(message)", metadata: metadata)
        }
    }

    /// Replaces `function`'s saved state; `Node` keeps it across a stop and a later start.
    /// A NODE_LOCAL function's is on disk, sealed, before this returns.
    public func sync(from source: InstanceID, function: String, state: [UInt8]) throws {
        if let durable = durableStates[function] {
            try durable.store.save(state, codeHash: durable.codeHash, stateID: durable.stateID)
        }
        self.state.withLockedValue { $0.states[function] = state }
    }
}

extension Metrics.Timer {
    /// Records a clock interval; swift-metrics takes nanoseconds.
    func record(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
