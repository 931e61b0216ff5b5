import Foundation
import FunctionRuntime
import HTTPServing
import HostBridge
import Logging
import NIOPosix
import Node
import Prometheus
import ServiceLifecycle

/// The node's HTTP API, on its own listener (loopback unless told otherwise). Every request but
/// `GET /livez` needs `Authorization: Bearer TOKEN` with the node's `token` (`ControlGate`):
///
///     GET    /livez                        "ok": the process answers; reveals nothing, so open
///     GET    /health                       node status, workflows, events/s
///     GET    /metrics                      Prometheus text: start-up histograms, events, errors, queue depths
///     GET    /workflows                    running workflows
///     POST   /workflows[?id=ID]            start a workflow (EDGELESS JSON; code paths relative to the app root)
///     DELETE /workflows/ID                 stop one (stop handlers run, state kept)
///     GET    /workflows/ID/instances       its function instances with start-up latencies
///     GET    /instances                    every instance
///
/// A workflow posted here can only name code the signed table trusts: the API chooses which
/// trusted functions run, never what code they are.
///
/// A ServiceLifecycle `Service`: the node's service group runs it; tests call `start`.
public final class NodeAPI: Service, Sendable {
    /// The node this API reports on and controls.
    public let node: Node
    /// The registry /metrics and /health read; the one the node was created with.
    public let metrics: NodeMetrics
    /// The credential every call but /livez must carry; written to the control file by `run`.
    public let token: ControlToken
    private let server: HTTPServer

    /// The bound port once `listening()` has returned.
    public var port: Int { server.port }
    /// `http://host:port` of the API; the port is only final once `listening()` has returned.
    public var baseURL: String { server.baseURL }

    /// `metrics` must be the registry the node was created with (`NodeMetrics.factory`).
    /// `hostInfo`: the host agent's checked answers for /health and /metrics (none: not shown).
    /// `backend`: where this runtime runs, reported by /health.
    /// `warnings`: what makes this node less safe than the defaults (e.g. an unpinned signer);
    /// /health lists them and reports status "insecure" while there is any.
    /// `token`: the credential callers must present; a new random one unless given.
    /// Nothing listens until the service runs.
    public init(
        node: Node, metrics: NodeMetrics, hostInfo: HostInfoClient? = nil, backend: String? = nil, warnings: [String] = [],
        token: ControlToken = ControlToken(), host: String = "127.0.0.1", port: Int, logger: Logger
    ) {
        let router = Router(node: node, metrics: metrics, hostInfo: hostInfo, backend: backend, warnings: warnings, started: .now)
        let gate = ControlGate(token: token, refused: metrics.unauthorized, logger: logger)
        server = HTTPServer(host: host, port: port, maxBodyBytes: 4 << 20, logger: logger) { request in
            if request.method == "GET", request.path == "/livez" { return .text(200, "ok") }
            if let refusal = gate.refusal(for: request) { return refusal }
            return await router.answer(request)
        }
        self.node = node
        self.metrics = metrics
        self.token = token
    }

    /// Serves until the service group shuts it down.
    public func run() async throws { try await server.run() }

    /// Waits until the API listens (any number of callers); its port. HummingbirdCore logs the
    /// address once, under this API's logger.
    @discardableResult
    public func listening() async throws -> Int { try await server.listening() }

    /// An API serving in a group of its own (tests); `stop` ends it.
    public static func start(
        node: Node, metrics: NodeMetrics, hostInfo: HostInfoClient? = nil, backend: String? = nil, warnings: [String] = [],
        token: ControlToken = ControlToken(), host: String = "127.0.0.1", port: Int, logger: Logger
    ) async throws -> NodeAPI {
        let api = NodeAPI(
            node: node, metrics: metrics, hostInfo: hostInfo, backend: backend, warnings: warnings, token: token,
            host: host, port: port, logger: logger)
        try await api.server.serveAlone()
        return api
    }

    /// Ends an API from `start`.
    public func stop() async { await server.stop() }
}

/// Request dispatch, kept apart from the listener so each answer is a plain function.
struct Router: Sendable {
    let node: Node
    let metrics: NodeMetrics
    let hostInfo: HostInfoClient?
    let backend: String?
    let warnings: [String]
    let started: ContinuousClock.Instant

    func answer(_ request: HTTPRequestInfo) async -> HTTPAnswer {
        let url = URLComponents(string: request.path)
        let parts = (url?.path ?? request.path).split(separator: "/").map(String.init)
        switch (request.method, parts.count, parts.first) {
        case ("GET", 1, "health"):
            let readings = await hostReadings()
            return health(readings)
        case ("GET", 1, "metrics"):
            let readings = await hostReadings()
            return HTTPAnswer(status: 200, headers: ["content-type": "text/plain; version=0.0.4"], body: metrics.exposition(node: node, host: readings))
        case ("GET", 1, "workflows"): return .json(200, node.workflows.map { WorkflowSummary($0, rate: metrics.eventsPerSecond(of: $0)) })
        case ("POST", 1, "workflows"):
            let id = url?.queryItems?.first { $0.name == "id" }?.value
            return await blocking({ start(request.body, id: id) }, unlessStopped: Self.shuttingDown)
        case ("DELETE", 2, "workflows"):
            return await blocking({ stop(parts[1]) }, unlessStopped: Self.shuttingDown)
        case ("GET", 3, "workflows") where parts[2] == "instances":
            guard let workflow = node.workflows.first(where: { $0.id == parts[1] }) else { return .text(404, "no running workflow \(parts[1])") }
            return .json(200, InstanceSummary.list(workflow))
        case ("GET", 1, "instances"): return .json(200, node.workflows.flatMap(InstanceSummary.list))
        case (_, _, "health"), (_, _, "metrics"), (_, _, "workflows"), (_, _, "instances"):
            return .text(405, "\(request.method) \(request.path) is not part of the node API (see GET /health, /metrics, /workflows, /instances)")
        default:
            return .text(404, "\(request.path) is not part of the node API (see GET /health, /metrics, /workflows, /instances)")
        }
    }

    /// The agent's answers, checked; asking may wait up to the client's timeout, so not on
    /// Swift's shared threads.
    private func hostReadings() async -> [(field: HostField, reading: HostReading)]? {
        guard let hostInfo else { return nil }
        return await blocking({ hostInfo.capabilities().readings + hostInfo.health().readings }, unlessStopped: nil)
    }

    private func health(_ readings: [(field: HostField, reading: HostReading)]?) -> HTTPAnswer {
        let workflows = node.workflows
        let failed = workflows.flatMap { workflow in workflow.instances.values.filter { $0.state != .running }.map { "\(workflow.id)/\($0.function)" } }
        return .json(
            200,
            Health(
                status: !warnings.isEmpty ? "insecure" : failed.isEmpty ? "ok" : "degraded",
                warnings: warnings,
                uptimeSeconds: (ContinuousClock.now - started).seconds,
                workflows: workflows.count,
                instances: workflows.reduce(0) { $0 + $1.instances.count },
                failedInstances: failed.sorted(),
                eventsPerSecond: workflows.reduce(0) { $0 + metrics.eventsPerSecond(of: $1) },
                ingressPort: node.ingress.port, backend: backend, host: readings.map(HostReport.init)))
    }

    private func start(_ body: [UInt8], id: String?) -> HTTPAnswer {
        do {
            let workflow = try node.start(Data(body), source: .api("POST /workflows"), codeFolder: "", id: id)
            return .json(201, WorkflowSummary(workflow, rate: 0))
        } catch {
            return ErrorStatus.answer(error)
        }
    }

    private func stop(_ id: String) -> HTTPAnswer {
        do {
            try node.stop(workflow: id)
            return .text(200, "workflow \(id) stopped")
        } catch {
            return ErrorStatus.answer(error)
        }
    }

    private static let shuttingDown = HTTPAnswer.text(503, "the node is shutting down")

    /// Work that blocks (code loading, stop handlers, waiting for the host agent) runs on
    /// NIO's bounded blocking pool (one thread per core), never on Swift's shared threads or
    /// an event loop. The process-wide pool is never shut down, so `runIfActive` only throws
    /// if that changes.
    private func blocking<Value: Sendable>(_ work: @escaping @Sendable () -> Value, unlessStopped fallback: Value) async -> Value {
        (try? await NIOThreadPool.singleton.runIfActive(work)) ?? fallback
    }
}

/// The one mapping from the node's error codes to HTTP statuses; the code itself travels in the
/// `x-secure-executor-error` header, the operator's message in the body.
enum ErrorStatus {
    static let header = "x-secure-executor-error"

    static func status(_ code: NodeError.Code) -> Int {
        switch code {
        case .workflowMalformed, .workflowRefused, .resource, .function: return 400
        case .workflowUnknown: return 404
        }
    }

    static func answer(_ error: NodeError) -> HTTPAnswer {
        var answer = HTTPAnswer.text(status(error.code), error.description)
        answer.headers[header] = error.code.rawValue
        return answer
    }
}

struct Health: Encodable {
    var status: String
    var warnings: [String]
    var uptimeSeconds: Double
    var workflows: Int
    var instances: Int
    var failedInstances: [String]
    var eventsPerSecond: Double
    var ingressPort: Int?
    var backend: String?
    var host: HostReport?

    enum CodingKeys: String, CodingKey {
        case status, warnings, workflows, instances, backend, host
        case uptimeSeconds = "uptime_seconds"
        case failedInstances = "failed_instances"
        case eventsPerSecond = "events_per_second"
        case ingressPort = "ingress_port"
    }
}

/// The host agent's figures: what passed the checks in `values`, and every field that did not
/// (or was not reported) in `unknown` with the reason. Never a made-up zero.
struct HostReport: Encodable {
    var values: [String: HostJSONValue] = [:]
    var unknown: [String: String] = [:]

    init(_ readings: [(field: HostField, reading: HostReading)]) {
        for (field, reading) in readings {
            switch reading {
            case let .number(number): values[field.wireName] = .number(number)
            case let .text(text): values[field.wireName] = .text(text)
            case let .unknown(reason): unknown[field.wireName] = reason.describe(for: field)
            }
        }
    }
}

enum HostJSONValue: Encodable {
    case number(Double)
    case text(String)

    func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case let .number(number): try container.encode(number)
        case let .text(text): try container.encode(text)
        }
    }
}

struct WorkflowSummary: Encodable {
    var id: String
    var source: String
    var functions: [String]
    var resources: [String]
    var delivered: Int
    var undelivered: Int
    var calls: Int
    var eventsPerSecond: Double
    var queueDepths: [String: Int]

    init(_ workflow: Node.RunningWorkflow, rate: Double) {
        id = workflow.id
        source = workflow.source
        functions = workflow.instances.keys.sorted()
        resources = workflow.resourceNames
        let counts = workflow.dataplane.counts
        delivered = counts.delivered
        undelivered = counts.undelivered
        calls = counts.calls
        eventsPerSecond = rate
        queueDepths = workflow.dataplane.queueDepths
    }

    enum CodingKeys: String, CodingKey {
        case id, source, functions, resources, delivered, undelivered, calls
        case eventsPerSecond = "events_per_second"
        case queueDepths = "queue_depths"
    }
}

struct InstanceSummary: Encodable {
    var workflow: String
    var function: String
    var instance: String
    var state: String
    var startup: StartupLatency
    var startupMilliseconds: Double

    static func list(_ workflow: Node.RunningWorkflow) -> [InstanceSummary] {
        workflow.instances.sorted { $0.key < $1.key }.map { name, instance in
            InstanceSummary(
                workflow: workflow.id, function: name, instance: instance.id.description, state: "\(instance.state)",
                startup: instance.startup, startupMilliseconds: Double(instance.startup.totalNanoseconds) / 1e6)
        }
    }

    enum CodingKeys: String, CodingKey {
        case workflow, function, instance, state, startup
        case startupMilliseconds = "startup_ms"
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
