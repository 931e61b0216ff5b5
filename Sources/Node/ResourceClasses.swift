import Manifest
import Shield
import Support

/// What makes a resource class: its `class_type`, the configuration keys it takes, what the
/// signed `[policy]` must allow before a workflow may use it, and how one starts.
///
/// Adding a class is one file with a `Resource` type conforming to this, and one line in
/// `ResourceClasses.all` (docs/ARCHITECTURE.md, "How to add a resource class").
protocol ResourceClass: Resource {
    /// The workflow JSON's `class_type`, e.g. `file-log`.
    static var classType: String { get }
    static var requiredConfiguration: [String] { get }
    static var optionalConfiguration: [String] { get }
    /// The problems, each naming the workflow key and the manifest key that forbids it; empty
    /// when the signed policy allows this resource as configured.
    static func admit(_ resource: Workflow.Resource, key: String, in context: AdmissionContext) -> [String]
    /// Starts one, once the workflow has been admitted.
    static func make(_ resource: Workflow.Resource, in context: ResourceContext) throws(NodeError) -> Self
}

/// Every resource class this node runs.
enum ResourceClasses {
    static let all: [any ResourceClass.Type] = [
        FileLogResource.self,
        HTTPIngressResource.self,
        HTTPEgressResource.self,
        RedisResource.self,
        HTTPPosterResource.self,
        ServerlessResource.self,
        FilePusherResource.self,
        SQLxResource.self,
    ]

    static func named(_ classType: String) -> (any ResourceClass.Type)? { all.first { $0.classType == classType } }

    static var known: String { all.map { $0.classType }.joined(separator: ", ") }

    /// EDGELESS resource classes this node does not run, with why: each needs a server that is
    /// not part of this node (and not installable on its build machines).
    static let unsupported: [String: String] = [
        "dda": "it needs the DDA sidecar (EDGELESS's data distribution agent), which this node does not run or reach",
        "kafka-egress": "it needs a Kafka broker and client library, which this node does not include",
        "ollama": "it needs an Ollama server, which this node does not run or reach",
    ]

    /// The refusal for a `class_type` this node does not run.
    static func notRun(_ classType: String) -> String {
        if let reason = unsupported[classType] { return "class_type \"\(classType)\" is not supported here: \(reason)" }
        return "unknown class_type \"\(classType)\" (known: \(known))"
    }
}

/// What admission rules read: the signed manifest, and where the workflow came from.
struct AdmissionContext {
    let manifest: Manifest
    let source: WorkflowSource
    /// Ingress routes the signed application reserves against workflows from elsewhere.
    let reserved: [IngressClaim]

    /// `policy.redis.endpoints (app.toml:14)`: the key and where it is set, or that it is not.
    func named(_ key: String, default fallback: String) -> String { manifest.keyWithOrigin(key, default: fallback) }

    /// The problem when `policyKey`'s patterns (nil: the key is absent, so only `[allowed]`
    /// applies) do not cover the file a resource names at `key`.
    func outside(_ patterns: [PathPattern]?, policyKey: String, path: RelativePath, key: String, written: String) -> [String] {
        guard let patterns, !patterns.contains(where: { $0.covers(path) }) else { return [] }
        return ["\(key) \"\(written)\" is not under \(named(policyKey, default: "anything [allowed] allows")): \(patterns.map(\.text).joined(separator: ", "))"]
    }

    func listing(_ rules: [CustomStringConvertible]) -> String {
        rules.isEmpty ? "none" : rules.map(\.description).joined(separator: ", ")
    }
}

/// What a starting resource may use: the node's verified file access, its ingress, the
/// workflow's dataplane and the signed manifest.
struct ResourceContext {
    let workflow: String
    let dataplane: Dataplane
    let shield: Shield
    let ingress: HTTPIngress
    let manifest: Manifest
    /// The functions' payload limit; replies a resource hands them stay under it.
    let maxPayloadBytes: Int
}

extension Manifest {
    /// `policy.redis.endpoints (app.toml:14)`: a key and where it is set, or `fallback` (what
    /// applies when it is not) in its place.
    func keyWithOrigin(_ key: String, default fallback: String) -> String { "\(key) (\(origin(of: key, default: fallback)))" }
}

/// What every resource class reads the same way from its configuration.
enum ResourceConfiguration {
    /// One EDGELESS switch (`async`, `wf_id`, `encode_base64`, `decode_base64`, `encode-base64`):
    /// absent is false; "true" or "false" in any case; anything else refused naming the key.
    static func flag(_ key: String, in configuration: [String: String], name: String) throws(NodeError) -> Bool {
        guard let value = configuration[key] else { return false }
        switch value.lowercased() {
        case "true": return true
        case "false": return false
        default: throw .resource(name, "\(key) \"\(LogText.escaped(value, maxBytes: 64))\" must be true or false")
        }
    }
}
