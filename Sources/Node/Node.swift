import Foundation
import FunctionRuntime
import HTTPServing
import Logging
import Manifest
import Metrics
import NIOConcurrencyHelpers
import SealedState
import Shield
import Support
import TrustedFiles

/// Runs workflows of one signed application: function code only through the verifying
/// reader, resources only on allowed files and loopback addresses, events by the dataplane.
public final class Node: Sendable {
    /// A started workflow, as `start` returns it and `workflows` lists it.
    public struct RunningWorkflow: Sendable {
        /// The id given to `start`, else a lower-case UUID; unique among running workflows.
        public let id: String
        /// Signed file or API: decides whether its ingress routes are reserved.
        public let origin: WorkflowSource
        /// Routes its events; read it for queue depths, counts and synced state.
        public let dataplane: Dataplane
        /// Its function instances, by function name.
        public let instances: [String: FunctionInstance]
        let resources: [String: Resource]
        /// Each function's code hash: its saved state is kept under it.
        let codeHashes: [String: [UInt8]]
        let ingressClaims: [IngressClaim]

        /// Names of its resources, sorted.
        public var resourceNames: [String] { resources.keys.sorted() }
        /// Where it came from, for messages and the API.
        public var source: String { origin.description }
    }

    /// The bundle's verifying reader; all function code and workflow files come through it.
    public let shield: Shield
    /// Compiles and runs the function instances, under the manifest's `[limits]`.
    public let runtime: FunctionRuntime
    /// Absolute path of the application root (`Manifest.root`); trusted paths are relative to it.
    public let root: String
    /// The node's EDGELESS node id, the `node_id` its telemetry carries: random for each
    /// process, until a domain configuration names it.
    public let id = UUID()
    /// EDGELESS's `function_count`: function instances running on this node.
    private let functionCount: Meter
    /// Requests for `http-ingress` resources arrive here once `listenForIngress` has run.
    public let ingress: HTTPIngress
    private let logger: Logger
    private let metrics: MetricsFactory?
    private let maxPayloadBytes: Int
    private let running = NIOLockedValueBox<[String: RunningWorkflow]>([:])
    /// State each function last synced, by its code's signed hash and its name, kept across a
    /// workflow's stop and start. Not by workflow id: a caller chooses that, and another
    /// workflow started under the same id must not inherit what this code synced.
    private let savedStates = NIOLockedValueBox<[StateKey: [UInt8]]>([:])
    private let admission: Admission
    /// NODE_LOCAL state, when the manifest names a `[node] state_directory` and the backend
    /// handed in a sealing key; else why NODE_LOCAL functions cannot start.
    private let stateStore: Result<SealedStateStore, NodeError>?
    private let startWithoutUnreadableState: Bool
    /// Routes of the manifest's `[workflow]`, reserved from the start, before it runs.
    private let manifestClaims: [IngressClaim]

    private struct StateKey: Hashable {
        var codeHash: [UInt8]
        var function: String
    }

    /// `metrics`: where counters and start-up timers go (the node API's Prometheus registry);
    /// nil uses the process-wide swift-metrics backend. `sealingKey`: the backend's key for
    /// NODE_LOCAL state (`secure-executor run` hands it in); without it such functions do not start.
    public init(
        bundle: SignedBundle, logger: Logger = Logger(label: "secure-executor.node"), metrics: MetricsFactory? = nil, sealingKey: SealingKey? = nil
    ) throws(NodeError) {
        do { shield = try Shield(bundle: bundle) } catch { throw .resourceFailed("shield", .init(error)) }
        let limits = FunctionLimits(bundle.manifest.limits)
        runtime = FunctionRuntime(limits: limits, node: bundle.manifest.node, logger: logger, metrics: metrics)
        root = bundle.manifest.root
        ingress = HTTPIngress(maxPayloadBytes: limits.payloadBytes, logger: logger, metrics: metrics)
        maxPayloadBytes = limits.payloadBytes
        self.logger = logger
        self.metrics = metrics
        admission = Admission(manifest: bundle.manifest)
        let dimensions = [("node_id", id.uuidString.lowercased()), ("function_type", "RUST_WASM")]
        functionCount =
            metrics.map { Meter(label: "function_count", dimensions: dimensions, factory: $0) } ?? Meter(label: "function_count", dimensions: dimensions)
        manifestClaims = Node.claims(ofWorkflowAt: bundle.manifest.workflow, shield: shield)
        startWithoutUnreadableState = bundle.manifest.node.startWithoutUnreadableState
        let shield = shield
        stateStore = bundle.manifest.node.stateDirectory.map { folder in
            Node.openStateStore(folder, root: bundle.manifest.root, shield: shield, key: sealingKey, signer: bundle.signer.raw)
        }
    }

    private static func openStateStore(_ folder: RelativePath, root: String, shield: Shield, key: SealingKey?, signer: [UInt8]) -> Result<
        SealedStateStore, NodeError
    > {
        guard let key else {
            return .failure(
                .resource("state_directory", "no sealing key was handed in (secure-executor run gives the backend's), so NODE_LOCAL state cannot be opened"))
        }
        // Made if missing; opened through the Shield, so it must be under [allowed] and no symlink.
        mkdir(root + "/" + folder.string, 0o700)
        do {
            let directory = try shield.openAllowed(folder.string, flags: O_RDONLY | O_DIRECTORY)
            return .success(try SealedStateStore(directory: directory, path: folder.string, key: key, signer: signer))
        } catch {
            return .failure(.resourceFailed("state_directory \(folder.string)", .init(error)))
        }
    }

    /// The sealed states of a workflow's NODE_LOCAL functions, loaded for their start, and
    /// where each saves. A refused state refuses the start, unless the manifest says
    /// `unreadable_state = "start-empty"`.
    private func durableStates(of workflow: Workflow, codeHashes: [String: [UInt8]]) throws(NodeError) -> (
        loaded: [String: [UInt8]], targets: [String: Dataplane.DurableState]
    ) {
        var loaded: [String: [UInt8]] = [:]
        var targets: [String: Dataplane.DurableState] = [:]
        for function in workflow.functions where function.statePolicy == .nodeLocal {
            guard let stateStore, let codeHash = codeHashes[function.name] else { continue }
            let store: SealedStateStore
            switch stateStore {
            case let .success(open): store = open
            case let .failure(reason): throw .functionFailed(function.name, .init(reason))
            }
            do {
                loaded[function.name] = try store.load(codeHash: codeHash, stateID: function.name) ?? []
            } catch {
                guard startWithoutUnreadableState else { throw .functionFailed(function.name, .init(error)) }
                logger.warning("state refused; starting without it", metadata: ["function": "\(function.name)", "error": "\(error)"])
                loaded[function.name] = []
            }
            targets[function.name] = Dataplane.DurableState(store: store, codeHash: codeHash, stateID: function.name)
        }
        return (loaded, targets)
    }

    /// The ingress routes the manifest's `[workflow]` names. One that cannot be read claims
    /// nothing here; starting it then fails with the reason.
    private static func claims(ofWorkflowAt path: RelativePath?, shield: Shield) -> [IngressClaim] {
        guard let path, let bytes = try? shield.openTrusted(path.string).readAll(),
            let workflow = try? Workflow.parse(Data(bytes), source: path.string)
        else { return [] }
        return IngressClaim.claims(of: workflow, named: "workflow \(path.string)")
    }

    /// Opens the node's HTTP ingress listener (`port` 0: any free port) and returns its port.
    public func listenForIngress(host: String = "127.0.0.1", port: Int) async throws -> Int {
        try await ingress.listen(host: host, port: port)
    }

    /// The ingress listener as a service, for a service group to run beside the node: listed
    /// before the node's own service, it stops after the workflows have.
    public func ingressService(host: String = "127.0.0.1", port: Int) -> HTTPServer {
        ingress.service(host: host, port: port)
    }

    /// Stops every workflow (stop handlers, state, flushes), then closes the ingress listener.
    public func shutdown() async {
        stopAll()
        await ingress.close()
    }

    /// The running workflows, sorted by id; a snapshot.
    public var workflows: [RunningWorkflow] { running.withLockedValue { Array($0.values) }.sorted { $0.id < $1.id } }

    /// Validates and starts a workflow read (through the verifying reader) from `path`, a
    /// trusted file, so a signed one. Code paths in it are relative to its folder.
    public func start(workflowAt path: String, id: String? = nil) throws(NodeError) -> RunningWorkflow {
        let bytes: [UInt8]
        do { bytes = try shield.openTrusted(path).readAll() } catch { throw .workflow(.malformed(path, error.description)) }
        let folder = PathText.folder(of: path)
        return try start(Data(bytes), source: .signed(path: path), codeFolder: folder, id: id)
    }

    /// Every workflow, whatever its source, starts here and passes the admission check against
    /// the manifest's `[policy]` and `[limits]` before anything of it starts.
    public func start(_ json: Data, source origin: WorkflowSource, codeFolder: String, id: String? = nil) throws(NodeError) -> RunningWorkflow {
        let source = origin.description
        var workflow: Workflow
        do { workflow = try Workflow.parse(json, source: source) } catch { throw .workflow(error) }
        workflow.resources = workflow.resources.map(ServerlessResource.provided(by: admission.manifest.node.serverlessProviders))
        let workflowID = id ?? UUID().uuidString.lowercased()
        if running.withLockedValue({ $0[workflowID] != nil }) { throw .workflow(.invalid(source, ["a workflow with id \(workflowID) is already running"])) }

        // Load and check all code first, so nothing starts unless everything can.
        var codes: [String: FunctionCode] = [:]
        var callers: Set<String> = []
        var problems = WorkflowCheck.structure(workflow)
        for function in workflow.functions {
            guard let written = function.classSpecification.code else {
                problems.append(
                    "function \(function.name): class_specification has no code path; this node runs only signed files, named by code"
                        + (function.classSpecification.binary != nil ? " (a binary alone is not one)" : ""))
                continue
            }
            do {
                let path = try RelativePath(written, relativeTo: codeFolder, origin: "function \(function.name) code")
                let code = try FunctionCode.load(trusted: path.string, from: shield)
                if let binary = function.classSpecification.binary, binary != code.bytes {
                    let sent = binary.withUnsafeBytes(FileHashing.sha256).map { String(format: "%02x", $0) }.joined()
                    problems.append(
                        "function \(function.name): class_specification.binary (\(binary.count) bytes, SHA-256 \(sent.prefix(16))…) is not the signed "
                            + "\(path.string) (\(code.bytes.count) bytes); drop binary or rebuild the workflow from the signed code")
                    continue
                }
                codes[function.name] = code
                if try runtime.compile(code).compiled.makesCalls { callers.insert(function.name) }
            } catch let error as PathError {
                problems.append(error.description)
            } catch {
                problems.append("function \(function.name): \(error)")
            }
        }
        problems += WorkflowCheck.callCycles(workflow) { callers.contains($0) }
        var functionLimits: [String: FunctionLimits] = [:]
        switch admission.check(workflow, source: origin, reserved: reservedClaims) {
        case let .success(admitted): functionLimits = admitted.limits
        case let .failure(refused): problems += refused.problems
        }
        guard problems.isEmpty else { throw .workflow(.invalid(source, problems)) }

        let codeHashes = codes.mapValues(\.hash)
        let durable = try durableStates(of: workflow, codeHashes: codeHashes)
        let dataplane = Dataplane(workflow: workflowID, logger: logger, metrics: metrics, node: self.id, durableStates: durable.targets)
        dataplane.restoreStates(
            savedStates.withLockedValue { saved in
                codeHashes.reduce(into: [:]) { states, entry in states[entry.key] = saved[StateKey(codeHash: entry.value, function: entry.key)] }
            }.merging(durable.loaded) { $1 })
        dataplane.starts()
        var resources: [String: Resource] = [:]
        var instances: [String: FunctionInstance] = [:]
        func rollBack() {
            for instance in instances.values { try? instance.stop() }
            for resource in resources.values { resource.stop() }
        }
        for resource in workflow.resources {
            do {
                let started = try makeResource(resource, workflow: workflowID, dataplane: dataplane)
                resources[resource.name] = started
                dataplane.add(resource.name, endpoint: .resource(started), outputs: resource.outputMapping)
            } catch {
                rollBack()
                throw error
            }
        }
        for function in workflow.functions {
            do {
                let instance = try runtime.start(
                    codes[function.name]!, function: function.name, id: dataplane.announce(function.name, outputs: function.outputMapping),
                    initPayload: Array(function.initPayload.utf8),
                    state: dataplane.savedState(of: function.name), limits: functionLimits[function.name],
                    router: dataplane)
                instances[function.name] = instance
                dataplane.add(function.name, endpoint: .function(instance), outputs: function.outputMapping)
            } catch {
                rollBack()
                throw .functionFailed(function.name, .init(error))
            }
        }
        dataplane.started()
        let started = RunningWorkflow(
            id: workflowID, origin: origin, dataplane: dataplane, instances: instances, resources: resources,
            codeHashes: codeHashes, ingressClaims: IngressClaim.claims(of: workflow, named: "workflow \(workflowID)"))
        running.withLockedValue { $0[workflowID] = started }
        functionCount.increment(by: Double(instances.count))
        logger.info(
            "workflow started",
            metadata: [
                "workflow": "\(workflowID)", "source": "\(source)",
                "functions": "\(instances.count)", "resources": "\(resources.count)",
            ])
        return started
    }

    /// Runs stop handlers, keeps synced state for a later start, flushes resources.
    public func stop(workflow id: String) throws(NodeError) {
        guard let workflow = running.withLockedValue({ $0.removeValue(forKey: id) }) else { throw .unknownWorkflow(id) }
        workflow.dataplane.drain()
        for (name, instance) in workflow.instances.sorted(by: { $0.key < $1.key }) {
            do { try instance.stop() } catch {
                logger.warning("stop handler failed", metadata: ["workflow": "\(id)", "function": "\(name)", "error": "\(error)"])
            }
        }
        workflow.dataplane.drain()
        for resource in workflow.resources.values { resource.stop() }
        functionCount.decrement(by: Double(workflow.instances.count))
        let states = workflow.dataplane.allStates
        savedStates.withLockedValue { saved in
            for (function, hash) in workflow.codeHashes { saved[StateKey(codeHash: hash, function: function)] = states[function] }
        }
        logger.info("workflow stopped", metadata: ["workflow": "\(id)"])
    }

    /// `stop(workflow:)` for each running workflow; its errors are ignored.
    public func stopAll() {
        for workflow in workflows { try? stop(workflow: workflow.id) }
    }

    /// Routes workflows from outside the bundle may not touch: the manifest's `[workflow]`
    /// and every running signed workflow's.
    private var reservedClaims: [IngressClaim] {
        manifestClaims + running.withLockedValue { $0.values.filter(\.origin.isSigned).flatMap(\.ingressClaims) }
    }

    private func makeResource(_ resource: Workflow.Resource, workflow: String, dataplane: Dataplane) throws(NodeError) -> Resource {
        guard let kind = ResourceClasses.named(resource.classType) else { throw .resource(resource.name, "unknown class_type \(resource.classType)") }
        let context = ResourceContext(
            workflow: workflow, dataplane: dataplane, shield: shield, ingress: ingress, manifest: admission.manifest, maxPayloadBytes: maxPayloadBytes)
        return try kind.make(resource, in: context)
    }
}

/// Checks a workflow before anything starts. Each problem names the function or resource.
enum WorkflowCheck {
    static func structure(_ workflow: Workflow) -> [String] {
        var problems: [String] = []
        var seen: Set<String> = []
        let names = workflow.functions.map(\.name) + workflow.resources.map(\.name)
        for name in names {
            if name.isEmpty { problems.append("a function or resource has an empty name") }
            if !seen.insert(name).inserted { problems.append("name \"\(name)\" is used twice") }
        }
        if workflow.functions.isEmpty && workflow.resources.isEmpty { problems.append("the workflow has no functions and no resources") }
        for function in workflow.functions {
            let spec = function.classSpecification
            if spec.functionType != "RUST_WASM" {
                problems.append("function \(function.name): function_type \"\(spec.functionType)\" is not supported (this node runs RUST_WASM)")
            }
            // class_specification.outputs is informational in EDGELESS (its own examples map
            // outputs they do not list), so an undeclared alias is accepted, as there.
            for (alias, target) in function.outputMapping.sorted(by: { $0.key < $1.key }) {
                if !names.contains(target) {
                    problems.append(
                        "function \(function.name): output \"\(alias)\" is mapped to \"\(target)\", which is not a function or resource of this workflow")
                }
            }
        }
        for resource in workflow.resources {
            guard let kind = ResourceClasses.named(resource.classType) else {
                problems.append("resource \(resource.name): \(ResourceClasses.notRun(resource.classType))")
                continue
            }
            for key in kind.requiredConfiguration where resource.configurations[key] == nil {
                problems.append("resource \(resource.name): configuration \"\(key)\" is required for \(kind.classType)")
            }
            for key in resource.configurations.keys.sorted() where !(kind.requiredConfiguration + kind.optionalConfiguration).contains(key) {
                problems.append(
                    "resource \(resource.name): unknown configuration \"\(key)\" for \(kind.classType) (known: \((kind.requiredConfiguration + kind.optionalConfiguration).joined(separator: ", ")))"
                )
            }
            for (alias, target) in resource.outputMapping.sorted(by: { $0.key < $1.key }) where !names.contains(target) {
                problems.append(
                    "resource \(resource.name): output \"\(alias)\" is mapped to \"\(target)\", which is not a function or resource of this workflow")
            }
        }
        return problems
    }

    /// A ring of functions that all make synchronous calls along their mappings can call
    /// around forever (each waits on the next): refused.
    static func callCycles(_ workflow: Workflow, makesCalls: (String) -> Bool) -> [String] {
        let callers = Set(workflow.functions.map(\.name).filter(makesCalls))
        var edges: [String: [String]] = [:]
        for function in workflow.functions where callers.contains(function.name) {
            edges[function.name] = function.outputMapping.values.filter { callers.contains($0) }.sorted()
        }
        var problems: [String] = []
        var done: Set<String> = []
        func visit(_ name: String, _ path: [String]) {
            if let start = path.firstIndex(of: name) {
                let ring = path[start...] + [name]
                let key = Set(ring)
                if !done.contains(key.sorted().joined(separator: ",")) {
                    done.insert(key.sorted().joined(separator: ","))
                    problems.append(
                        "call cycle \(ring.joined(separator: " → ")): every function in it makes synchronous calls to the next, which cannot terminate")
                }
                return
            }
            for next in edges[name] ?? [] { visit(next, path + [name]) }
        }
        for name in edges.keys.sorted() { visit(name, []) }
        return problems
    }
}
