import Foundation
import Logging
import Manifest
import Metrics
import NIOConcurrencyHelpers
@_spi(Fuzzing) import WasmKit

/// Refuses memory growth past limits.memory; the guest sees `memory.grow` return -1, and a
/// trap that follows is reported as the memory limit.
///
/// `@unchecked Sendable`: WasmKit calls `limitMemoryGrowth` on the thread running the guest,
/// and `refused` is read after `invoke` returns, by the same instance's holder of the guest
/// lock (`FunctionInstance`), so writes and reads are ordered by that lock; `limit` is
/// immutable.
final class MemoryLimiter: ResourceLimiter, @unchecked Sendable {
    let limit: Int
    private(set) var refused = false
    init(limit: Int) { self.limit = limit }
    func limitMemoryGrowth(to desired: Int) throws -> Bool {
        if desired > limit { refused = true }
        return desired <= limit
    }
    func limitTableGrowth(to desired: Int) throws -> Bool { desired <= 100_000 }
}

/// A parsed module whose exports and imports fit the ABI, shared by every instance of it.
public final class CompiledFunction: Sendable {
    /// The code's name as given in `FunctionCode`, for messages.
    public let name: String
    /// The code's signed root hash: the module cache's key.
    public let hash: [UInt8]
    let module: Module

    init(name: String, hash: [UInt8], module: Module) {
        self.name = name
        self.hash = hash
        self.module = module
    }

    /// Whether the code can make synchronous calls (imports `call_asm` or `call_raw_asm`).
    public var makesCalls: Bool { module.imports.contains { $0.name == "call_asm" || $0.name == "call_raw_asm" } }
}

/// A store with the module instantiated and the imports bound, not yet initialised: what a
/// start needs, done ahead of demand.
///
/// `@unchecked Sendable`: WasmKit's `Store` and `Function` are not Sendable. A prepared
/// instance is built on one thread, handed over once through the runtime's lock (the
/// ready pool), and from then on used only under the guest lock of the `FunctionInstance`
/// that took it; no two threads ever touch one store.
final class PreparedInstance: @unchecked Sendable {
    struct Exports {
        let allocate, free, clear, initialise, cast, call, stop: Function
    }
    let store: Store
    let host: HostContext
    let exports: Exports
    let limiter: MemoryLimiter
    let instantiateNanoseconds: UInt64

    init(compiled: CompiledFunction, engine: Engine, limits: FunctionLimits) throws(FunctionError) {
        let started = DispatchTime.now().uptimeNanoseconds
        store = Store(engine: engine)
        limiter = MemoryLimiter(limit: limits.memoryBytes)
        store.resourceLimiter = limiter
        host = HostContext()
        host.limits = limits
        store.fuel = Fuel(remaining: limits.fuel)  // a start function is metered too
        let instance: Instance
        do {
            instance = try compiled.module.instantiate(store: store, imports: host.imports(store: store))
        } catch {
            let reason = "\(error)".split(separator: "\n").first.map(String.init) ?? "\(error)"
            if limiter.refused || reason.contains("resource limit") {
                throw .memoryLimit(function: compiled.name, instance: "-", limit: limits.memoryBytes)
            }
            throw .badCode(function: compiled.name, problems: ["cannot instantiate: \(reason)"])
        }
        let typeProblems = FunctionABI.checkExportTypes(instance)
        guard typeProblems.isEmpty else { throw .badCode(function: compiled.name, problems: typeProblems) }
        func export(_ name: String) -> Function { instance.exports[function: name]! }
        exports = Exports(
            allocate: export("edgeless_mem_alloc"), free: export("edgeless_mem_free"), clear: export("edgeless_mem_clear"),
            initialise: export("handle_init_asm"), cast: export("handle_cast_asm"), call: export("handle_call_asm"),
            stop: export("handle_stop_asm"))
        host.memory = instance.exports[memory: FunctionABI.memoryExport]
        host.allocate = exports.allocate
        instantiateNanoseconds = DispatchTime.now().uptimeNanoseconds - started
    }

    /// Gives a prepared instance its identity: which function it serves, and where its
    /// imports send things.
    func bind(id: InstanceID, function: String, router: FunctionRouter, timers: InstanceTimers, log: GuestLog) {
        host.id = id
        host.functionName = function
        host.router = router
        host.timers = timers
        host.log = log
    }
}

/// Starts function instances: parses and checks code once per hash (module cache), keeps
/// instances prepared ahead of demand, and measures and reports every start.
public final class FunctionRuntime: Sendable {
    /// Default limits for every instance; `start` may narrow them per instance.
    public let limits: FunctionLimits
    /// Instances kept prepared per module; 0 turns preparing ahead off.
    public let preparedPerModule: Int
    private let engine: Engine
    private let modules = NIOLockedValueBox<[[UInt8]: CompiledFunction]>([:])
    private let prepared = NIOLockedValueBox<[[UInt8]: [PreparedInstance]]>([:])
    private let logger: Logger
    private let metrics: MetricsFactory?
    private let timers: [String: Metrics.Timer]
    private let timerBudget: TimerBudget
    private let preparing = DispatchQueue(label: "secure-executor.prepare")

    /// `node`: what all instances together may hold (`[node] timers`, `timer_bytes`).
    public init(
        limits: FunctionLimits = FunctionLimits(), node: Manifest.Node = Manifest.Node(), preparedPerModule: Int = 1,
        logger: Logger = Logger(label: "secure-executor.function"), metrics: MetricsFactory? = nil
    ) {
        self.limits = limits
        self.preparedPerModule = preparedPerModule
        self.logger = logger
        self.metrics = metrics
        timerBudget = TimerBudget(maxTimers: node.pendingTimers, maxBytes: node.pendingTimerBytes)
        // Fuel metering is compiled into the code; software bounds checks avoid a 4 GiB
        // address reservation and signal handlers per memory (the interpreter checks anyway).
        engine = Engine(configuration: EngineConfiguration(compilationMode: .eager, memoryBoundsChecking: .software, fuelMetering: true))
        var timers: [String: Metrics.Timer] = [:]
        for phase in ["total", "load_verify", "parse_validate", "instantiate", "init"] {
            let dimensions = [("phase", phase)]
            timers[phase] =
                metrics.map { Metrics.Timer(label: "secure_executor_function_startup", dimensions: dimensions, factory: $0) }
                ?? Metrics.Timer(label: "secure_executor_function_startup", dimensions: dimensions)
        }
        self.timers = timers
    }

    /// Delayed casts pending on every instance of this runtime (the node).
    public var pendingTimers: PendingTimers { timerBudget.pending }

    /// Parses and checks code against the ABI, or returns the module cached for its hash.
    public func compile(_ code: FunctionCode) throws(FunctionError) -> (compiled: CompiledFunction, cached: Bool) {
        if let cached = modules.withLockedValue({ $0[code.hash] }) { return (cached, true) }
        if let problem = ModuleHeader.problem(code.bytes) { throw .badCode(function: code.name, problems: [problem]) }
        let module: Module
        do {
            module = try parseWasm(bytes: code.bytes)
        } catch {
            throw .badCode(function: code.name, problems: [ModuleHeader.reason(error)])
        }
        let problems = FunctionABI.check(module)
        guard problems.isEmpty else { throw .badCode(function: code.name, problems: problems) }
        let compiled = CompiledFunction(name: code.name, hash: code.hash, module: module)
        modules.withLockedValue { $0[code.hash] = compiled }
        return (compiled, false)
    }

    /// Start request → `handle_init_asm` returned. `state` is what the instance last passed
    /// to `sync_asm` (empty: none). `limits`: this instance's own limits (a workflow narrowing
    /// the runtime's, which the node checked against the manifest); nil: the runtime's.
    public func start(
        _ code: FunctionCode, function: String, id: InstanceID = InstanceID(node: UUID()),
        initPayload: [UInt8] = [], state: [UInt8] = [], limits narrowed: FunctionLimits? = nil,
        router: FunctionRouter
    ) throws(FunctionError) -> FunctionInstance {
        let limits = narrowed ?? self.limits
        let parseStart = DispatchTime.now().uptimeNanoseconds
        let (compiled, cached) = try compile(code)
        let instantiateStart = DispatchTime.now().uptimeNanoseconds
        // Prepared instances carry the runtime's limits; other limits need a fresh one.
        let ready = limits == self.limits ? prepared.withLockedValue { $0[code.hash]?.popLast() } : nil
        let instance: PreparedInstance
        if let ready { instance = ready } else { instance = try PreparedInstance(compiled: compiled, engine: engine, limits: limits) }
        let initStart = DispatchTime.now().uptimeNanoseconds
        let timers = InstanceTimers(budget: timerBudget, limits: limits)
        let log = GuestLog(function: function, metrics: metrics)
        instance.bind(id: id, function: function, router: router, timers: timers, log: log)
        let latency = StartupLatency(
            loadVerifyNanoseconds: code.loadNanoseconds, parseValidateNanoseconds: instantiateStart - parseStart,
            instantiateNanoseconds: initStart - instantiateStart, initNanoseconds: 0,
            moduleCached: cached, instancePrepared: ready != nil)
        let replacement: (() throws(FunctionError) -> PreparedInstance)? =
            limits.restartOnFailure
            ? { [engine, limits] () throws(FunctionError) in
                let fresh = try PreparedInstance(compiled: compiled, engine: engine, limits: limits)
                fresh.bind(id: id, function: function, router: router, timers: timers, log: log)
                return fresh
            } : nil
        let running = FunctionInstance(
            prepared: instance, id: id, function: function, startup: latency,
            initPayload: initPayload, timers: timers, replacement: replacement)
        do {
            try running.initialise(payload: initPayload, state: state)
        } catch {
            logger.error("function failed to start", metadata: ["function": "\(function)", "instance": "\(id)", "error": "\(error)"])
            throw error
        }
        running.startup.initNanoseconds = DispatchTime.now().uptimeNanoseconds - initStart
        record(running.startup)
        logger.info("function started", metadata: ["function": "\(function)", "instance": "\(id)", "startup": "\(running.startup.summary)"])
        prepareAhead(compiled)
        return running
    }

    private func record(_ latency: StartupLatency) {
        timers["total"]?.recordNanoseconds(latency.totalNanoseconds)
        timers["load_verify"]?.recordNanoseconds(latency.loadVerifyNanoseconds)
        timers["parse_validate"]?.recordNanoseconds(latency.parseValidateNanoseconds)
        timers["instantiate"]?.recordNanoseconds(latency.instantiateNanoseconds)
        timers["init"]?.recordNanoseconds(latency.initNanoseconds)
    }

    /// Tops the pool of prepared instances for this module back up, off the start path.
    private func prepareAhead(_ compiled: CompiledFunction) {
        guard preparedPerModule > 0 else { return }
        preparing.async { [self] in
            while prepared.withLockedValue({ $0[compiled.hash, default: []].count }) < preparedPerModule {
                guard let instance = try? PreparedInstance(compiled: compiled, engine: engine, limits: limits) else { return }
                prepared.withLockedValue { $0[compiled.hash, default: []].append(instance) }
            }
        }
    }

    /// Waits until background preparation is idle (tests and benchmarks).
    public func waitForPreparedInstances() { preparing.sync {} }
}
