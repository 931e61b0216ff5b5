import Foundation
import FunctionRuntime
import Manifest
import Support

/// Where a workflow comes from. Only a signed one (a trusted file of the bundle, such as the
/// manifest's `[workflow]`) holds ingress routes that workflows from elsewhere may not touch.
public enum WorkflowSource: Sendable, Equatable, CustomStringConvertible {
    /// A trusted file, by its path relative to the root.
    case signed(path: String)
    /// Anything else (the node API, an orchestrator), described for messages.
    case api(String)

    var isSigned: Bool { if case .signed = self { return true } else { return false } }

    /// The path, or the API's description, as used in messages.
    public var description: String {
        switch self {
        case let .signed(path): return path
        case let .api(what): return what
        }
    }
}

/// A route an `http-ingress` resource claims: a host (`*`: any) and a path prefix (empty: all).
struct IngressClaim: Sendable, Equatable {
    var host: String
    var pathPrefix: String
    /// Which workflow and resource wrote it, for messages.
    var owner: String

    /// Whether a request could match both: the hosts meet and one prefix contains the other.
    /// Methods are ignored on purpose: a reserved route is reserved for every method.
    func collides(with other: IngressClaim) -> Bool {
        (host == other.host || host == "*" || other.host == "*")
            && (pathPrefix.hasPrefix(other.pathPrefix) || other.pathPrefix.hasPrefix(pathPrefix))
    }

    var summary: String { "host \(host), path \(pathPrefix.isEmpty ? "any" : pathPrefix + "*")" }

    /// The claims of a workflow's `http-ingress` resources, as they are configured.
    static func claims(of workflow: Workflow, named name: String) -> [IngressClaim] {
        workflow.resources.compactMap { resource in
            guard resource.classType == HTTPIngressResource.classType else { return nil }
            return IngressClaim(
                host: (resource.configurations["host"] ?? "*").lowercased(), pathPrefix: resource.configurations["path"] ?? "",
                owner: "resource \(resource.name) of \(name)")
        }
    }
}

/// Why a value a workflow wrote is refused; the sentence names the value and the rule.
struct ConfigurationProblem: Error, Equatable, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// The port of a hostile URL as it is written. URLComponents reads a port too large for an
/// Int as no port at all, so `redis://host:99999999999999999999/` would silently mean the
/// default port; the URL parsers check this text too.
enum WrittenPort {
    /// The digits after the host's colon; nil when no port is written.
    static func of(_ url: String) -> Substring? {
        guard let start = url.range(of: "://")?.upperBound else { return nil }
        let authority = url[start...].prefix { !"/?#".contains($0) }
        var hostAndPort = authority.lastIndex(of: "@").map { authority[authority.index(after: $0)...] } ?? authority
        if hostAndPort.hasPrefix("["), let close = hostAndPort.firstIndex(of: "]") { hostAndPort = hostAndPort[hostAndPort.index(after: close)...] }
        guard let colon = hostAndPort.lastIndex(of: ":") else { return nil }
        return hostAndPort[hostAndPort.index(after: colon)...]
    }

    /// The written port if it is a number from 1 to 65535, else why not; nil when none is written.
    static func check(_ url: String) -> Result<Int?, ConfigurationProblem> {
        guard let text = of(url) else { return .success(nil) }
        guard text.count <= 5, text.allSatisfy({ $0.isASCII && $0.isNumber }), let port = Int(text), (1...65535).contains(port) else {
            return .failure(ConfigurationProblem("url \"\(url)\": port \"\(text.prefix(24))\" is not a number from 1 to 65535"))
        }
        return .success(port)
    }
}

/// Every reason a workflow is refused at admission, each naming the workflow key and the
/// manifest key that forbids it.
struct AdmissionRefusal: Error, Equatable {
    let problems: [String]
}

/// The one admission check every workflow passes before anything of it starts, whatever its
/// source: the signed `[policy]` bounds what it may reach and claim, `[limits]` what it may
/// ask for. Each problem names the workflow key and the manifest key (with its line) that
/// forbids it; a workflow with any problem is refused whole.
struct Admission {
    let manifest: Manifest

    /// What passed: each function's own limits (the manifest's, narrowed by its annotations).
    struct Admitted {
        var limits: [String: FunctionLimits] = [:]
    }

    func check(_ workflow: Workflow, source: WorkflowSource, reserved: [IngressClaim]) -> Result<Admitted, AdmissionRefusal> {
        var problems: [String] = []
        var admitted = Admitted()
        problems += Self.placement(workflow.annotations, key: "annotations")
        for (index, function) in workflow.functions.enumerated() {
            switch limits(for: function, key: "functions[\(index)].annotations") {
            case let .success(limits): admitted.limits[function.name] = limits
            case let .failure(refused): problems += refused.problems
            }
            problems += Self.placement(function.annotations, key: "functions[\(index)].annotations")
            problems += statePolicy(of: function, key: "functions[\(index)].annotations.state_policy")
        }
        let context = AdmissionContext(manifest: manifest, source: source, reserved: reserved)
        for (index, resource) in workflow.resources.enumerated() {
            // An unknown class admits nothing here; the structure check names it.
            problems += ResourceClasses.named(resource.classType)?.admit(resource, key: "resources[\(index)]", in: context) ?? []
        }
        return problems.isEmpty ? .success(admitted) : .failure(AdmissionRefusal(problems: problems))
    }

    /// EDGELESS's placement annotations, as its orchestrator reads them (`tee`/`tpm`
    /// "required" in any case; lists split at commas), where one node can answer them: no
    /// backend of this node is a hardware TEE and none offers a TPM, and `resource_match_all`
    /// names resource classes this node must run. `max_instances`, `node_id_match_any` and
    /// `label_match_all` choose among a domain's nodes; docs/NODE.md says how they read here.
    static func placement(_ annotations: [String: String], key: String) -> [String] {
        var problems: [String] = []
        if annotations["tee"]?.lowercased() == "required" {
            problems.append(
                "\(key).tee is \"required\", and this node runs no hardware TEE (its backends are a sandbox and a plain process; "
                    + "EDGELESS would not place it here either)")
        }
        if annotations["tpm"]?.lowercased() == "required" {
            problems.append("\(key).tpm is \"required\", and this node offers no TPM")
        }
        if let listed = annotations["resource_match_all"] {
            let missing = listed.split(separator: ",").map(String.init).filter { ResourceClasses.named($0) == nil }
            if !missing.isEmpty {
                problems.append(
                    "\(key).resource_match_all asks for \(missing.joined(separator: ", ")), which this node does not run (it runs \(ResourceClasses.known))")
            }
        }
        return problems
    }

    /// NODE_LOCAL needs the manifest's state folder; GLOBAL has no provider anywhere.
    private func statePolicy(of function: Workflow.Function, key: String) -> [String] {
        switch function.statePolicy {
        case nil:
            let written = LogText.escaped(function.annotations["state_policy"] ?? "", maxBytes: 64)
            return ["\(key) \"\(written)\" is not TRANSIENT, NODE_LOCAL or GLOBAL"]
        case .global?:
            return ["\(key) is GLOBAL, and no node offers global state (EDGELESS has no provider for it either); use NODE_LOCAL or TRANSIENT"]
        case .nodeLocal? where manifest.node.stateDirectory == nil:
            return ["\(key) is NODE_LOCAL, and the signed manifest names no [node] state_directory to keep it in"]
        case .nodeLocal?, .transient?: return []
        }
    }

    /// A function's own limits: `[limits]`, lowered by the annotations named like its keys.
    private func limits(for function: Workflow.Function, key: String) -> Result<FunctionLimits, AdmissionRefusal> {
        var limits = FunctionLimits(manifest.limits)
        var problems: [String] = []
        let ceiling = manifest.limits
        func ask(_ name: String, ceiling: Int, minimum: Int = 1, size: Bool = false, apply: (Int) -> Void) {
            guard let text = function.annotations[name] else { return }
            let value = size ? ByteSize.parse(text) : Int(text.trimmingCharacters(in: .whitespaces))
            guard let value, value >= minimum else {
                problems.append("\(key).\(name) \"\(text)\" must be \(size ? "a size such as 65536 or \"16 MiB\"" : "a whole number") of at least \(minimum)")
                return
            }
            guard value <= ceiling else {
                problems.append(
                    "\(key).\(name) = \(value) is above \(manifest.keyWithOrigin("limits.\(name)", default: "\(ceiling)")), which is \(ceiling); "
                        + "a workflow may only lower it")
                return
            }
            apply(value)
        }
        ask("fuel", ceiling: ceiling.fuel) { limits.fuel = UInt64($0) }
        ask("memory", ceiling: ceiling.memoryBytes, minimum: 64 << 10, size: true) { limits.memoryBytes = $0 }
        ask("timeout_ms", ceiling: ceiling.timeoutMilliseconds) { limits.timeoutMilliseconds = $0 }
        ask("payload", ceiling: ceiling.payloadBytes, size: true) { limits.payloadBytes = $0 }
        ask("call_depth", ceiling: ceiling.callDepth) { limits.callDepth = $0 }
        ask("timers", ceiling: ceiling.pendingTimers, minimum: 0) { limits.pendingTimers = $0 }
        ask("timer_bytes", ceiling: ceiling.pendingTimerBytes, minimum: 0, size: true) { limits.pendingTimerBytes = $0 }
        return problems.isEmpty ? .success(limits) : .failure(AdmissionRefusal(problems: problems))
    }
}
