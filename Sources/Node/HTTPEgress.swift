import AsyncHTTPClient
import Foundation
import FunctionRuntime
import Manifest
import NIOCore
import NIOHTTP1

/// `http-egress`: a function calls it with an EDGELESS HTTP request; it performs the request
/// and replies with the EDGELESS HTTP response. Any status is a reply (the function decides
/// what a 404 means); a request it cannot make, a refused destination, a timeout or an
/// oversized response comes back as a call error naming the URL. A cast makes no request,
/// as in EDGELESS, and is counted undelivered with that reason. Destinations: what `[policy.http-egress]` allows, narrowed by the
/// workflow's `allowed-hosts`.
final class HTTPEgressResource: Resource {
    let name: String
    private let timeout: Int64
    private let rules: EgressRules
    private let maxResponseBytes: Int

    /// `policy`: the manifest's `[policy.http-egress]`; `origin`: where it is written, for messages.
    init(name: String, configuration: [String: String], policy: Policy.HTTPEgress, origin: String, maxResponseBytes: Int) throws(NodeError) {
        self.name = name
        self.maxResponseBytes = maxResponseBytes
        switch EgressClient.timeout(configuration) {
        case let .failure(problem): throw .resource(name, problem.description)
        case let .success(milliseconds): timeout = milliseconds
        }
        var narrowed: [NetworkRule]?
        if let listed = configuration["allowed-hosts"] {
            switch EgressRules.parseAllowedHosts(listed) {
            case let .failure(reason): throw .resource(name, reason.description)
            case let .success(parsed): narrowed = parsed
            }
        }
        rules = EgressRules(policy: policy, origin: origin, narrowed: narrowed)
    }

    /// As in EDGELESS, a cast makes no request (its answer would have nowhere to go); unlike
    /// EDGELESS, which drops it silently, it is refused, so the dataplane counts and logs it.
    func cast(payload: [UInt8]) throws {
        throw NodeError.resource(name, "http-egress answers calls only; a cast makes no request (EDGELESS drops it too)")
    }

    func call(payload: [UInt8]) -> CallReply {
        let request: EdgelessHTTPRequest
        switch EdgelessJSON.decode(EdgelessHTTPRequest.self, payload) {
        case let .failure(problem): return .error("http-egress \(name): the call is not an EDGELESS HTTP request: \(problem)")
        case let .success(decoded): request = decoded
        }
        guard let method = EdgelessHTTPRequest.httpMethod(request.method) else {
            return .error("http-egress \(name): method \"\(request.method)\" is not one of Get, Head, Post, Put, Delete, Patch")
        }
        let target: EgressTarget
        switch EgressTarget.parse(protocol: request.protocol, host: request.host, path: request.path) {
        case let .failure(reason): return .error("http-egress \(name): \(reason)")
        case let .success(parsed): target = parsed
        }
        if let refusal = rules.refusal(target) { return .error("http-egress \(name): \(refusal)") }
        switch EgressClient.send(method, to: target, headers: request.headers, body: request.body, timeout: timeout, maxResponseBytes: maxResponseBytes) {
        case let .failure(problem): return .error("http-egress \(name): \(problem)")
        case let .success(response):
            guard let reply = EdgelessJSON.encode(EdgelessHTTPResponse(status: response.status, body: response.body, headers: response.headers)) else {
                return .error("http-egress \(name): could not encode the response of \(target.url) as JSON")
            }
            return .reply(reply)
        }
    }

    func stop() {}
}

/// One HTTP client for every resource that reaches out (`http-egress`, `http-poster`,
/// `serverless`), so the rules for leaving the node are in one place.
enum EgressClient {
    /// Redirects are not followed, so a response cannot lead a request to a host the rules do
    /// not allow. A refused connection fails the request at once, as EDGELESS's client does:
    /// retrying it until the deadline would hold every event behind it for `timeout-ms`.
    private static let client: HTTPClient = {
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow)
        configuration.connectionPool.retryConnectionEstablishment = false
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }()

    /// What went wrong, naming the method and URL.
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// `timeout-ms`, which every resource that reaches out takes: 1 to 600000, default 10000.
    static func timeout(_ configuration: [String: String]) -> Result<Int64, ConfigurationProblem> {
        let text = configuration["timeout-ms"] ?? "10000"
        guard text.count <= 6, let milliseconds = Int64(text), (1...600_000).contains(milliseconds) else {
            return .failure(ConfigurationProblem("timeout-ms \"\(text)\" must be a whole number of milliseconds from 1 to 600000"))
        }
        return .success(milliseconds)
    }

    struct Response {
        var status: Int
        /// Lower-case names; repeated headers joined with ", ".
        var headers: [String: String]
        var body: [UInt8]?
    }

    /// Sends one request to a target the caller has checked against its rules, waiting on the
    /// calling guest thread; the failure names the URL and what went wrong.
    static func send(
        _ method: String, to target: EgressTarget, headers: [String: String] = [:], body: [UInt8]?, timeout milliseconds: Int64, maxResponseBytes: Int
    ) -> Result<Response, Failure> {
        do {
            var outgoing = try HTTPClient.Request(url: target.url, method: HTTPMethod(rawValue: method))
            for (field, value) in headers { outgoing.headers.add(name: field, value: value) }
            if let body { outgoing.body = .bytes(body) }
            let response = try GuestThreads.wait(
                for: client.execute(
                    request: outgoing, delegate: ResponseAccumulator(request: outgoing, maxBodySize: maxResponseBytes),
                    deadline: .now() + .milliseconds(milliseconds)
                ).futureResult)
            var fields: [String: String] = [:]
            for (field, value) in response.headers { fields[field.lowercased()] = fields[field.lowercased()].map { $0 + ", " + value } ?? value }
            return .success(Response(status: Int(response.status.code), headers: fields, body: response.body.map { Array(buffer: $0) }))
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout {
            return .failure(Failure(description: "\(method) \(target.url) timed out after \(milliseconds) ms"))
        } catch is ResponseAccumulator.ResponseTooBigError {
            return .failure(Failure(description: "\(method) \(target.url) answered with more than \(maxResponseBytes) bytes"))
        } catch {
            return .failure(Failure(description: "\(method) \(target.url) failed: \(error)"))
        }
    }
}

/// Where one egress request goes, parsed once from the function's protocol, host and path.
/// The client is handed `url`, rebuilt from the parsed parts, so the host and port checked
/// are the ones it connects to: no userinfo, no percent-encoded or otherwise odd host.
struct EgressTarget: Sendable, Equatable {
    let scheme: String
    /// Lower-case; IPv6 without brackets.
    let host: String
    let port: Int
    let url: String

    static func defaultPort(of scheme: String) -> Int { scheme == "https" ? 443 : 80 }

    /// A whole URL, as `http-poster` and `serverless` are configured: `SCHEME://HOST[:PORT][/PATH]`.
    static func parse(url: String) -> Result<EgressTarget, ConfigurationProblem> {
        guard let separator = url.range(of: "://") else { return .failure(ConfigurationProblem("url \"\(url)\" is not SCHEME://HOST[:PORT][/PATH]")) }
        let rest = url[separator.upperBound...]
        let hostEnd = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
        let path = String(rest[hostEnd...])
        return parse(protocol: String(url[..<separator.lowerBound]), host: String(rest[..<hostEnd]), path: path.hasPrefix("?") ? "/" + path : path)
    }

    static func parse(protocol text: String, host: String, path: String) -> Result<EgressTarget, ConfigurationProblem> {
        let scheme = text.lowercased()
        guard Policy.egressSchemes.contains(scheme) else { return .failure(ConfigurationProblem("protocol \"\(text)\" is not HTTP or HTTPS")) }
        guard path.isEmpty || path.hasPrefix("/") else { return .failure(ConfigurationProblem("path \"\(path)\" must start with /")) }
        let written = "\(scheme)://\(host)\(path)"
        guard let parsed = URLComponents(string: written), let hostText = parsed.percentEncodedHost, !hostText.isEmpty else {
            return .failure(ConfigurationProblem("\(written) is not a URL with a host"))
        }
        guard parsed.user == nil, parsed.password == nil else {
            return .failure(
                ConfigurationProblem(
                    "\(written) is refused: it has userinfo (USER@ before the host), which would send the request to \(hostText), not to the host it seems to name"
                ))
        }
        guard case let .exact(name)? = HostName(hostText) else {
            return .failure(ConfigurationProblem("\(written) is refused: host \"\(hostText)\" is not a plain host name, an IPv4 address or [IPv6]"))
        }
        let port: Int
        switch WrittenPort.check(written) {
        case let .failure(problem): return .failure(problem)
        case let .success(explicit): port = explicit ?? defaultPort(of: scheme)
        }
        let hostPart = name.contains(":") ? "[\(name)]" : name
        let query = parsed.percentEncodedQuery.map { "?" + $0 } ?? ""
        let rebuilt = "\(scheme)://\(hostPart):\(port)\(parsed.percentEncodedPath.isEmpty ? "/" : parsed.percentEncodedPath)\(query)"
        return .success(EgressTarget(scheme: scheme, host: name, port: port, url: rebuilt))
    }
}

/// The destinations one egress resource may reach: the manifest's policy, and if the workflow
/// lists `allowed-hosts`, only what both allow.
struct EgressRules: Sendable {
    let policy: Policy.HTTPEgress
    let origin: String
    let narrowed: [NetworkRule]?

    /// `allowed-hosts`: comma-separated `HOST[:PORTS]` entries, as `[policy.http-egress] hosts` takes them.
    static func parseAllowedHosts(_ text: String) -> Result<[NetworkRule], ConfigurationProblem> {
        var rules: [NetworkRule] = []
        for entry in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !entry.isEmpty {
            guard let rule = NetworkRule(entry) else {
                return .failure(
                    ConfigurationProblem(
                        "allowed-hosts entry \"\(entry)\" is not HOST, HOST:PORT, HOST:LOW-HIGH or HOST:* (HOST: a name, *.SUFFIX, an IPv4 address or [IPv6])"))
            }
            rules.append(rule)
        }
        guard !rules.isEmpty else {
            return .failure(ConfigurationProblem("allowed-hosts \"\(text)\" lists no host; leave it out to allow what the policy allows"))
        }
        return .success(rules)
    }

    func refusal(_ target: EgressTarget) -> String? {
        let address = (target.host.contains(":") ? "[\(target.host)]" : target.host) + ":\(target.port)"
        let defaultPort = EgressTarget.defaultPort(of: target.scheme)
        guard policy.schemes.contains(target.scheme) else {
            return
                "\(target.url) is refused: scheme \(target.scheme) is not in policy.http-egress.schemes (\(origin)): \(policy.schemes.sorted().joined(separator: ", "))"
        }
        guard policy.hosts.contains(where: { $0.allows(host: target.host, port: target.port, defaultPort: defaultPort) }) else {
            let listed = policy.hosts.isEmpty ? "none" : policy.hosts.map(\.text).joined(separator: ", ")
            return "\(target.url) is refused: \(address) is not in policy.http-egress.hosts (\(origin)): \(listed)"
        }
        if let narrowed, !narrowed.contains(where: { $0.allows(host: target.host, port: target.port, defaultPort: defaultPort) }) {
            return "\(target.url) is refused: \(address) is not in allowed-hosts (\(narrowed.map(\.text).joined(separator: ", ")))"
        }
        return nil
    }
}

extension HTTPEgressResource: ResourceClass {
    static let classType = "http-egress"
    static let requiredConfiguration: [String] = []
    static let optionalConfiguration = ["timeout-ms", "allowed-hosts"]

    static func admit(_ resource: Workflow.Resource, key: String, in context: AdmissionContext) -> [String] {
        let policy = context.manifest.policy.httpEgress
        guard !policy.hosts.isEmpty else {
            return [
                "\(key) (http-egress \(resource.name)): \(context.named("policy.http-egress.hosts", default: "none")) allows no destination; "
                    + "list the hosts the app may reach there and re-sign"
            ]
        }
        guard let listed = resource.configurations["allowed-hosts"] else { return [] }
        switch EgressRules.parseAllowedHosts(listed) {
        case let .failure(reason): return ["\(key).configurations.allowed-hosts: \(reason)"]
        case let .success(rules):
            return rules.filter { rule in !policy.hosts.contains { rule.isWithin($0, defaultPorts: [80, 443]) } }.map { rule in
                "\(key).configurations.allowed-hosts \"\(rule)\" widens \(context.named("policy.http-egress.hosts", default: "none")): \(context.listing(policy.hosts)); "
                    + "a workflow may only narrow it"
            }
        }
    }

    static func make(_ resource: Workflow.Resource, in context: ResourceContext) throws(NodeError) -> HTTPEgressResource {
        try HTTPEgressResource(
            name: resource.name, configuration: resource.configurations, policy: context.manifest.policy.httpEgress,
            origin: context.manifest.origin(of: "policy.http-egress", default: "none"), maxResponseBytes: context.maxPayloadBytes)
    }
}
