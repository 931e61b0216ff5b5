import Foundation
import FunctionRuntime
import Manifest

/// What `http-poster` and `serverless` share: one configured URL, checked against the signed
/// `[policy.http-egress]` at admission and again at start, and a POST of each cast payload to
/// it through `EgressClient`.
struct PostTarget: Sendable {
    let target: EgressTarget
    let timeout: Int64

    static let timeoutKey = "timeout-ms"

    /// The URL under `key` and the timeout, or why they are refused (bad URL, a destination
    /// the policy does not allow, a bad timeout).
    static func parse(_ configuration: [String: String], key: String, policy: Policy.HTTPEgress, origin: String) -> Result<PostTarget, ConfigurationProblem> {
        let url = configuration[key] ?? ""
        let target: EgressTarget
        switch EgressTarget.parse(url: url) {
        case let .failure(problem): return .failure(ConfigurationProblem("\(key): \(problem)"))
        case let .success(parsed): target = parsed
        }
        if let refusal = EgressRules(policy: policy, origin: origin, narrowed: nil).refusal(target) {
            return .failure(ConfigurationProblem("\(key): \(refusal); add the host there and re-sign to allow it"))
        }
        return EgressClient.timeout(configuration).map { PostTarget(target: target, timeout: $0) }
    }

    func post(_ body: [UInt8], maxResponseBytes: Int) -> Result<EgressClient.Response, EgressClient.Failure> {
        EgressClient.send(
            "POST", to: target, headers: ["content-type": "application/octet-stream"], body: body, timeout: timeout, maxResponseBytes: maxResponseBytes)
    }
}

/// `http-poster`, as EDGELESS's: POSTs each cast payload to `url` (base64-decoded first with
/// `decode_base64` = "true") and drops the answer. Unlike EDGELESS, which only logs a failure,
/// a refused URL, an unreachable server or a status outside 2xx makes the cast count
/// undelivered with that reason. `url` must be allowed by `[policy.http-egress]`.
final class HTTPPosterResource: Resource {
    let name: String
    private let destination: PostTarget
    private let decodeBase64: Bool

    init(name: String, configuration: [String: String], policy: Policy.HTTPEgress, origin: String) throws(NodeError) {
        self.name = name
        switch PostTarget.parse(configuration, key: "url", policy: policy, origin: origin) {
        case let .failure(problem): throw .resource(name, problem.description)
        case let .success(parsed): destination = parsed
        }
        decodeBase64 = try ResourceConfiguration.flag("decode_base64", in: configuration, name: name)
    }

    func cast(payload: [UInt8]) throws {
        var body = payload
        if decodeBase64 {
            guard let decoded = Data(base64Encoded: Data(payload)) else {
                throw NodeError.resource(name, "decode_base64 is on and the cast (\(payload.count) bytes) is not base64")
            }
            body = Array(decoded)
        }
        switch destination.post(body, maxResponseBytes: 64 << 10) {
        case let .failure(problem): throw NodeError.resource(name, problem.description)
        case let .success(response) where !(200...299).contains(response.status):
            throw NodeError.resource(name, "POST \(destination.target.url) answered \(response.status)")
        case .success: return
        }
    }

    func stop() {}
}

/// `serverless`, an OpenFaaS-style function behind an HTTP gateway: each cast payload is
/// POSTed to `function_url`; a 200 answer's body is cast on the `out` output, anything else
/// (another status, no answer, a refused URL) a line saying what happened on `err`. EDGELESS
/// takes `function_url` from the node's configuration; a node started alone takes it here,
/// and it must be allowed by `[policy.http-egress]`.
final class ServerlessResource: Resource {
    let name: String
    private let destination: PostTarget
    private let dataplane: Dataplane
    private let maxPayloadBytes: Int

    init(name: String, configuration: [String: String], policy: Policy.HTTPEgress, origin: String, dataplane: Dataplane, maxPayloadBytes: Int) throws(NodeError)
    {
        self.name = name
        switch PostTarget.parse(configuration, key: "function_url", policy: policy, origin: origin) {
        case let .failure(problem): throw .resource(name, problem.description)
        case let .success(parsed): destination = parsed
        }
        self.dataplane = dataplane
        self.maxPayloadBytes = maxPayloadBytes
    }

    func cast(payload: [UInt8]) throws {
        let output: String
        let result: [UInt8]
        switch destination.post(payload, maxResponseBytes: maxPayloadBytes) {
        case let .success(response) where response.status == 200:
            (output, result) = ("out", response.body ?? [])
        case let .success(response):
            (output, result) = ("err", Array("POST \(destination.target.url) answered \(response.status)".utf8))
        case let .failure(problem):
            (output, result) = ("err", Array(problem.description.utf8))
        }
        if let problem = dataplane.cast(fromResource: name, output: output, payload: result) {
            throw NodeError.resource(name, "its \(output) could not be delivered: \(problem.reason)")
        }
    }

    func stop() {}
}

extension HTTPPosterResource: ResourceClass {
    static let classType = "http-poster"
    static let requiredConfiguration = ["url"]
    static let optionalConfiguration = ["decode_base64", PostTarget.timeoutKey]

    static func admit(_ resource: Workflow.Resource, key: String, in context: AdmissionContext) -> [String] {
        PostTarget.admit(resource, urlKey: "url", key: key, in: context)
    }

    static func make(_ resource: Workflow.Resource, in context: ResourceContext) throws(NodeError) -> HTTPPosterResource {
        try HTTPPosterResource(
            name: resource.name, configuration: resource.configurations, policy: context.manifest.policy.httpEgress,
            origin: context.manifest.origin(of: "policy.http-egress", default: "none"))
    }
}

extension ServerlessResource {
    /// A resource of a class the manifest's `[node.serverless]` provides becomes a `serverless`
    /// one posting to the provider's URL, as EDGELESS's serverless providers are classes of
    /// their own (its serverless example's `double`). The workflow cannot choose the URL.
    static func provided(by providers: [String: String]) -> (Workflow.Resource) -> Workflow.Resource {
        { resource in
            guard ResourceClasses.named(resource.classType) == nil, let url = providers[resource.classType] else { return resource }
            var served = resource
            served.classType = classType
            served.configurations["function_url"] = url
            return served
        }
    }
}

extension ServerlessResource: ResourceClass {
    static let classType = "serverless"
    static let requiredConfiguration = ["function_url"]
    static let optionalConfiguration = [PostTarget.timeoutKey]

    static func admit(_ resource: Workflow.Resource, key: String, in context: AdmissionContext) -> [String] {
        PostTarget.admit(resource, urlKey: "function_url", key: key, in: context)
    }

    static func make(_ resource: Workflow.Resource, in context: ResourceContext) throws(NodeError) -> ServerlessResource {
        try ServerlessResource(
            name: resource.name, configuration: resource.configurations, policy: context.manifest.policy.httpEgress,
            origin: context.manifest.origin(of: "policy.http-egress", default: "none"), dataplane: context.dataplane,
            maxPayloadBytes: context.maxPayloadBytes)
    }
}

extension PostTarget {
    /// Admission for a resource that posts to one URL: the problem names the workflow key.
    static func admit(_ resource: Workflow.Resource, urlKey: String, key: String, in context: AdmissionContext) -> [String] {
        guard resource.configurations[urlKey] != nil else { return [] }  // the structure check names a missing key
        let policy = context.manifest.policy.httpEgress
        switch parse(resource.configurations, key: urlKey, policy: policy, origin: context.manifest.origin(of: "policy.http-egress", default: "none")) {
        case let .failure(problem): return ["\(key).configurations.\(problem)"]
        case .success: return []
        }
    }
}
