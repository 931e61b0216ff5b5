import Dispatch
import Foundation
import FunctionRuntime
import HTTPServing
import Logging
import Manifest
import Metrics
import NIOConcurrencyHelpers

/// The node's HTTP ingress, as in EDGELESS: one listener for the whole node; each
/// `http-ingress` resource claims requests by host (the `Host` header without port), methods,
/// an optional path prefix and, with `wf_id`, the workflow id in the query (`?wf_id=ID`), and
/// turns each into a `call` on its `new_request` output, whose reply (an EDGELESS HTTP
/// response) becomes the HTTP response — or, with `async`, into a cast of the body, answered
/// 200 at once.
public final class HTTPIngress: Sendable {
    struct Route: Sendable {
        var workflow: String
        var resource: String
        /// Lower-case host name, or "*" for any.
        var host: String
        /// Upper-case HTTP methods.
        var methods: Set<String>
        var pathPrefix: String
        /// With `wf_id`: the workflow id a request's `wf_id` query parameter must carry.
        var workflowQuery: String?
        var delivery: Delivery
        var dataplane: Dataplane

        /// How a request reaches the function.
        enum Delivery: Sendable, Equatable {
            /// A call with the EDGELESS HTTP request; the reply is the response.
            case call
            /// `async`: a cast of the body (base64-encoded with `encode_base64`); answered 200 "OK".
            case cast(base64: Bool)
        }

        func matches(_ request: HTTPRequestInfo) -> Bool {
            (host == "*" || host == request.hostName) && methods.contains(request.method) && request.path.hasPrefix(pathPrefix)
                && (workflowQuery == nil || Self.queryValue("wf_id", in: request.path) == workflowQuery)
        }

        func overlaps(_ other: Route) -> Bool {
            host == other.host && !methods.isDisjoint(with: other.methods) && pathPrefix == other.pathPrefix && workflowQuery == other.workflowQuery
        }

        var summary: String {
            "host \(host), methods \(methods.sorted().joined(separator: ",")), path \(pathPrefix.isEmpty ? "any" : pathPrefix + "*")"
                + (workflowQuery.map { ", wf_id=\($0)" } ?? "")
        }

        /// The first `name=value` of the query, as sent (EDGELESS compares it undecoded).
        static func queryValue(_ name: String, in path: String) -> String? {
            guard let query = path.split(separator: "?", maxSplits: 1).dropFirst().first else { return nil }
            for parameter in query.split(separator: "&") {
                let parts = parameter.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                if parts.count == 2, parts[0] == name { return String(parts[1]) }
            }
            return nil
        }
    }

    private let routes = NIOLockedValueBox<[Route]>([])
    private let listener = NIOLockedValueBox<HTTPServer?>(nil)
    private let counters = NIOLockedValueBox<[String: Counter]>([:])
    private let logger: Logger
    private let metrics: MetricsFactory?
    /// The functions' payload limit: a request whose EDGELESS JSON would exceed it gets 413.
    private let maxPayloadBytes: Int

    init(maxPayloadBytes: Int, logger: Logger, metrics: MetricsFactory?) {
        self.maxPayloadBytes = maxPayloadBytes
        self.logger = logger
        self.metrics = metrics
    }

    /// The port requests arrive on, once `listen` has run.
    public var port: Int? { listener.withLockedValue { $0?.port } }

    /// Starts a listener of its own (tests, the example runner) and returns its port.
    func listen(host: String, port: Int) async throws -> Int {
        let server = try await HTTPServer.start(host: host, port: port, maxBodyBytes: maxPayloadBytes, logger: logger) { [self] request in
            await handle(request)
        }
        listener.withLockedValue { $0 = server }
        logger.info("HTTP ingress listening", metadata: ["address": "\(server.baseURL)"])
        return server.port
    }

    /// The listener as a service for the process's service group, which starts and stops it.
    func service(host: String, port: Int) -> HTTPServer {
        let server = HTTPServer(host: host, port: port, maxBodyBytes: maxPayloadBytes, logger: logger) { [self] request in
            await handle(request)
        }
        listener.withLockedValue { $0 = server }
        return server
    }

    func close() async {
        await listener.withLockedValue { server in
            defer { server = nil }
            return server
        }?.stop()
    }

    func add(_ route: Route) throws(NodeError) {
        let conflict: Route? = routes.withLockedValue { routes in
            if let taken = routes.first(where: { $0.overlaps(route) }) { return taken }
            routes.append(route)
            // Most specific first: a longer path prefix, then a named host before "*", then
            // one bound to a workflow id before one that is not.
            func rank(_ route: Route) -> (Int, Int, Int) { (route.pathPrefix.count, route.host == "*" ? 0 : 1, route.workflowQuery == nil ? 0 : 1) }
            routes.sort { rank($0) > rank($1) }
            return nil
        }
        if let conflict {
            throw .resource(route.resource, "\(route.summary) is already served by resource \(conflict.resource) of workflow \(conflict.workflow)")
        }
    }

    func remove(workflow: String, resource: String) {
        routes.withLockedValue { $0.removeAll { $0.workflow == workflow && $0.resource == resource } }
    }

    /// Answers one request: 404 when no resource claims it, 502 when the function errs or
    /// replies with something that is not an EDGELESS HTTP response, 204 when it does not reply.
    /// The ingress owns the framing: a reply's hop-by-hop and length headers are dropped.
    func handle(_ request: HTTPRequestInfo) async -> HTTPAnswer {
        guard let route = routes.withLockedValue({ $0.first { $0.matches(request) } }) else {
            return count(.text(404, "no workflow on this node serves \(request.method) \(request.hostName)\(request.path)"), route: nil)
        }
        guard let method = EdgelessHTTPRequest.edgelessMethod(request.method) else {
            return count(
                .text(405, "method \(request.method) cannot be passed to a function (EDGELESS knows GET, HEAD, POST, PUT, DELETE, PATCH)"), route: route)
        }
        if case let .cast(base64) = route.delivery {
            let payload = base64 ? Array(Data(request.body).base64EncodedString().utf8) : request.body
            guard payload.count <= maxPayloadBytes else {
                return count(.text(413, "request too large: \(payload.count) bytes to cast, the functions' payload limit is \(maxPayloadBytes)"), route: route)
            }
            if let problem = route.dataplane.cast(fromResource: route.resource, output: "new_request", payload: payload) {
                return count(.text(503, "the cast from \(route.resource) was not taken: \(problem.reason)"), route: route)
            }
            // EDGELESS's exact answer: "OK", no newline.
            return count(HTTPAnswer(status: 200, headers: ["content-type": "text/plain; charset=utf-8"], body: Array("OK".utf8)), route: route)
        }
        let payload = EdgelessHTTPRequest(
            method: method, host: request.host, path: request.path,
            body: request.body.isEmpty ? nil : request.body, headers: request.headers
        ).json
        guard payload.count <= maxPayloadBytes else {
            return count(
                .text(413, "request too large: \(payload.count) bytes as EDGELESS JSON, the functions' payload limit is \(maxPayloadBytes)"), route: route)
        }
        // The call blocks a thread until the function returns (bounded by its time limit); the
        // dataplane runs it on the function's own queue, never on the server's threads.
        let reply = await route.dataplane.call(fromResource: route.resource, output: "new_request", payload: payload)
        switch reply {
        case .noReply:
            return count(HTTPAnswer(status: 204), route: route)
        case let .error(reason):
            logger.warning("ingress call failed", metadata: ["workflow": "\(route.workflow)", "resource": "\(route.resource)", "reason": "\(reason)"])
            return count(.text(502, "the function behind \(route.resource) failed: \(reason)"), route: route)
        case let .reply(bytes):
            switch EdgelessResponseReader.read(bytes) {
            case let .failure(problem):
                logger.warning(
                    "ingress reply is not an EDGELESS HTTP response",
                    metadata: ["workflow": "\(route.workflow)", "resource": "\(route.resource)", "problem": "\(problem)"])
                return count(.text(502, "the function behind \(route.resource) replied with something that is not an HTTP response: \(problem)"), route: route)
            case let .success(response):
                guard (100...599).contains(response.status) else {
                    return count(.text(502, "the function behind \(route.resource) replied with HTTP status \(response.status)"), route: route)
                }
                switch response.clientHeaders() {
                case let .failure(problem):
                    logger.warning(
                        "ingress reply has a forbidden header",
                        metadata: ["workflow": "\(route.workflow)", "resource": "\(route.resource)", "problem": "\(problem)"])
                    return count(.text(502, "the function behind \(route.resource) replied with a forbidden header: \(problem)"), route: route)
                case let .success(headers):
                    return count(HTTPAnswer(status: response.status, headers: headers, body: response.body ?? []), route: route)
                }
            }
        }
    }

    /// One counter per workflow, resource and status, made on first use: creating a counter
    /// asks the metrics backend to look it up, which is not for every request.
    private func count(_ answer: HTTPAnswer, route: Route?) -> HTTPAnswer {
        let dimensions = [("workflow", route?.workflow ?? "none"), ("resource", route?.resource ?? "none"), ("status", "\(answer.status)")]
        let key = dimensions.map(\.1).joined(separator: "\u{0}")
        let counter = counters.withLockedValue { counters in
            if let made = counters[key] { return made }
            let made =
                metrics.map { Counter(label: "secure_executor_ingress_requests_total", dimensions: dimensions, factory: $0) }
                ?? Counter(label: "secure_executor_ingress_requests_total", dimensions: dimensions)
            counters[key] = made
            return made
        }
        counter.increment()
        return answer
    }
}

/// `http-ingress`: holds its route while its workflow runs. It takes no casts itself.
final class HTTPIngressResource: Resource {
    let name: String
    private let workflow: String
    private let ingress: HTTPIngress

    init(name: String, workflow: String, configuration: [String: String], ingress: HTTPIngress, dataplane: Dataplane) throws(NodeError) {
        guard ingress.port != nil else {
            throw .resource(name, "this node has no HTTP ingress listener; start it with --ingress-port")
        }
        self.name = name
        self.workflow = workflow
        self.ingress = ingress
        var methods = Set(EdgelessHTTPRequest.methods.map(\.http))
        // EDGELESS's code reads "method", its examples write "methods": either is taken.
        if configuration["method"] != nil, configuration["methods"] != nil, configuration["method"] != configuration["methods"] {
            throw .resource(name, "method and methods are two spellings of one key and disagree here; keep one")
        }
        if let listed = configuration["method"] ?? configuration["methods"], !listed.isEmpty {
            methods = Set(listed.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).uppercased() }.filter { !$0.isEmpty })
            let unknown = methods.subtracting(EdgelessHTTPRequest.methods.map(\.http))
            guard unknown.isEmpty, !methods.isEmpty else {
                throw .resource(name, "methods \"\(listed)\" must list some of GET, HEAD, POST, PUT, DELETE, PATCH")
            }
        }
        let path = configuration["path"] ?? ""
        guard path.isEmpty || path.hasPrefix("/") else { throw .resource(name, "path \"\(path)\" must start with /") }
        // Without a host EDGELESS serves any host; so does this node, if the policy allows "*".
        let host = (configuration["host"] ?? "*").lowercased()
        guard !host.isEmpty, !host.contains(":"), !host.contains("/") else {
            throw .resource(name, "host \"\(host)\" must be a host name without port or path, or * for any")
        }
        let switches = try Self.switches(configuration, name: name)
        let delivery: HTTPIngress.Route.Delivery = switches.async ? .cast(base64: switches.base64) : .call
        try ingress.add(
            .init(
                workflow: workflow, resource: name, host: host, methods: methods, pathPrefix: path,
                workflowQuery: switches.workflowID ? workflow : nil, delivery: delivery, dataplane: dataplane))
    }

    /// `wf_id`, `async` and `encode_base64`: "true" or "false" in any case, as EDGELESS reads
    /// them; anything else is refused here (EDGELESS would take it as false, hiding a typo).
    /// `encode_base64` without `async` does nothing, as in EDGELESS.
    static func switches(_ configuration: [String: String], name: String) throws(NodeError) -> (workflowID: Bool, async: Bool, base64: Bool) {
        (
            try ResourceConfiguration.flag("wf_id", in: configuration, name: name), try ResourceConfiguration.flag("async", in: configuration, name: name),
            try ResourceConfiguration.flag("encode_base64", in: configuration, name: name)
        )
    }

    func cast(payload: [UInt8]) throws {
        throw NodeError.resource(name, "http-ingress takes no casts: it turns HTTP requests into calls on its new_request output")
    }

    func stop() { ingress.remove(workflow: workflow, resource: name) }
}

extension HTTPIngressResource: ResourceClass {
    static let classType = "http-ingress"
    static let requiredConfiguration: [String] = []
    static let optionalConfiguration = ["host", "method", "methods", "path", "wf_id", "async", "encode_base64"]

    static func admit(_ resource: Workflow.Resource, key: String, in context: AdmissionContext) -> [String] {
        let policy = context.manifest.policy.httpIngress
        var problems: [String] = []
        let written = resource.configurations["host"]
        let host = (written ?? "*").lowercased()
        let path = resource.configurations["path"] ?? ""
        if !host.isEmpty && !policy.allows(host: host) {
            let shown = written == nil ? "(none given: any host, as in EDGELESS)" : "\"\(host)\""
            problems.append(
                "\(key).configurations.host \(shown) is not among \(context.named("policy.http-ingress.hosts", default: "none")): "
                    + "\(context.listing(policy.hosts))\(host == "*" ? " (claiming any host needs \"*\" there)" : "")")
        }
        if !policy.allows(pathPrefix: path) {
            problems.append(
                "\(key).configurations.path \"\(path.isEmpty ? "(every path)" : path)\" is not under \(context.named("policy.http-ingress.paths", default: "/")): "
                    + "\(policy.paths.joined(separator: ", "))")
        }
        if !context.source.isSigned {
            let claim = IngressClaim(host: host, pathPrefix: path, owner: resource.name)
            // One reason is enough: the manifest's [workflow] may be running and reserve it twice.
            if let held = context.reserved.first(where: { $0.collides(with: claim) }) {
                problems.append(
                    "\(key) (http-ingress \(resource.name)): \(claim.summary) overlaps \(held.summary), reserved by \(held.owner) "
                        + "of the signed application; a workflow from \(context.source) may not claim, overlap or nest inside it")
            }
        }
        return problems
    }

    static func make(_ resource: Workflow.Resource, in context: ResourceContext) throws(NodeError) -> HTTPIngressResource {
        try HTTPIngressResource(
            name: resource.name, workflow: context.workflow, configuration: resource.configurations, ingress: context.ingress,
            dataplane: context.dataplane)
    }
}
