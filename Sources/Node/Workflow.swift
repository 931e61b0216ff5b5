import Foundation

/// An EDGELESS workflow as JSON: functions and resources wired by output mappings.
public struct Workflow: Codable, Sendable, Equatable {
    /// A function's `class_specification`: which code it runs and the outputs it may cast to.
    public struct ClassSpecification: Codable, Sendable, Equatable {
        /// The class id, as written; the node does not check it.
        public var id: String
        /// `function_type`; this node accepts only "RUST_WASM" and refuses the workflow otherwise.
        public var functionType: String
        /// The class version, as written; the node does not check it.
        public var version: String
        /// Module path, relative to the workflow file: the signed file the function runs.
        /// EDGELESS makes it optional; this node refuses a function without it.
        public var code: String?
        /// The module's bytes, as EDGELESS's CLI inlines them (a JSON array of numbers). Taken
        /// only when they are byte for byte the signed file `code` names.
        public var binary: [UInt8]?
        /// Output aliases the code may use; `output_mapping` may map only these (and "self").
        public var outputs: [String]

        enum CodingKeys: String, CodingKey {
            case id, version, code, binary, outputs
            case functionType = "function_type"
        }
    }

    /// One function of the workflow.
    public struct Function: Codable, Sendable, Equatable {
        /// Unique among the workflow's functions and resources; must not be empty.
        public var name: String
        /// `class_specification`: the code and its declared outputs.
        public var classSpecification: ClassSpecification
        /// `output_mapping`: output alias to the name of a function or resource in this workflow.
        public var outputMapping: [String: String]
        /// Free-form annotations; empty when absent. `init-payload` is the one the node reads.
        public var annotations: [String: String]

        enum CodingKeys: String, CodingKey {
            case name, annotations
            case classSpecification = "class_specification"
            case outputMapping = "output_mapping"
        }

        /// Decodes EDGELESS JSON; `output_mapping` and `annotations` may be absent (empty).
        public init(from decoder: Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            name = try container.decode(String.self, forKey: .name)
            classSpecification = try container.decode(ClassSpecification.self, forKey: .classSpecification)
            outputMapping = try container.decodeIfPresent([String: String].self, forKey: .outputMapping) ?? [:]
            annotations = try container.decodeIfPresent([String: String].self, forKey: .annotations) ?? [:]
        }

        /// The `init-payload` annotation, handed to `handle_init_asm`.
        public var initPayload: String { annotations["init-payload"] ?? "" }

        /// The `state_policy` annotation (EDGELESS's `StateSpecification.policy`, which its
        /// controller means to read from annotations): nil when it names none of them.
        public var statePolicy: StatePolicy? {
            guard let written = annotations["state_policy"] else { return .transient }
            return StatePolicy(rawValue: written.uppercased().replacingOccurrences(of: "NODELOCAL", with: "NODE_LOCAL"))
        }
    }

    /// One resource of the workflow (file log, Redis, HTTP ingress or egress).
    public struct Resource: Codable, Sendable, Equatable {
        /// Unique among the workflow's functions and resources; must not be empty.
        public var name: String
        /// `class_type`; an unknown one refuses the workflow.
        public var classType: String
        /// `output_mapping`: output alias to the name of a function or resource in this workflow.
        public var outputMapping: [String: String]
        /// Settings for the class; required keys must be present and unknown keys are refused.
        public var configurations: [String: String]

        enum CodingKeys: String, CodingKey {
            case name, configurations
            case classType = "class_type"
            case outputMapping = "output_mapping"
        }

        /// Decodes EDGELESS JSON; `output_mapping` and `configurations` may be absent (empty).
        public init(from decoder: Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            name = try container.decode(String.self, forKey: .name)
            classType = try container.decode(String.self, forKey: .classType)
            outputMapping = try container.decodeIfPresent([String: String].self, forKey: .outputMapping) ?? [:]
            configurations = try container.decodeIfPresent([String: String].self, forKey: .configurations) ?? [:]
        }
    }

    /// Empty when absent; a workflow needs at least one function or resource.
    public var functions: [Function]
    /// Empty when absent.
    public var resources: [Resource]
    /// Workflow-level annotations, as written; empty when absent.
    public var annotations: [String: String]

    enum CodingKeys: String, CodingKey { case functions, resources, annotations }

    /// Decodes the JSON; prefer `parse`, whose errors name the field.
    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        functions = try container.decodeIfPresent([Function].self, forKey: .functions) ?? []
        resources = try container.decodeIfPresent([Resource].self, forKey: .resources) ?? []
        annotations = try container.decodeIfPresent([String: String].self, forKey: .annotations) ?? [:]
    }

    /// Parses workflow JSON, with errors that name the field (`functions[1].class_specification.code`).
    public static func parse(_ data: Data, source: String) throws(WorkflowError) -> Workflow {
        do {
            return try JSONDecoder().decode(Workflow.self, from: data)
        } catch let DecodingError.keyNotFound(key, context) {
            throw .malformed(source, "missing field \"\(path(context.codingPath + [key]))\"")
        } catch let DecodingError.typeMismatch(type, context) {
            throw .malformed(source, "field \"\(path(context.codingPath))\" must be \(describe(type))")
        } catch let DecodingError.valueNotFound(type, context) {
            throw .malformed(source, "field \"\(path(context.codingPath))\" must be \(describe(type)), found null")
        } catch let DecodingError.dataCorrupted(context) {
            throw .malformed(
                source,
                context.codingPath.isEmpty
                    ? "not valid JSON: \(context.debugDescription)" : "field \"\(path(context.codingPath))\": \(context.debugDescription)")
        } catch {
            throw .malformed(source, "\(error)")
        }
    }

    private static func path(_ keys: [CodingKey]) -> String {
        keys.reduce("") { result, key in
            if let index = key.intValue { return result + "[\(index)]" }
            return result.isEmpty ? key.stringValue : result + "." + key.stringValue
        }
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is [String].Type: return "an array of strings"
        case is [String: String].Type: return "an object of string values"
        default: return "\(type)"
        }
    }
}

/// Why a workflow was not started: `malformed(source, reason)` when it cannot be parsed,
/// `invalid(source, problems)` when it parses but fails the checks (all problems listed).
public enum WorkflowError: Error, Equatable, CustomStringConvertible {
    case malformed(String, String)
    case invalid(String, [String])

    /// One line for `malformed`; for `invalid`, one indented line per problem.
    public var description: String {
        switch self {
        case let .malformed(source, reason): return "workflow \(source): \(reason)"
        case let .invalid(source, problems):
            return "workflow \(source) is refused:\n" + problems.map { "  - \($0)" }.joined(separator: "\n")
        }
    }
}

/// EDGELESS's `StatePolicy`: where what a function passes to `sync_asm` is kept.
public enum StatePolicy: String, Sendable, CaseIterable {
    /// In the node's memory: across restarts of the instance and of its workflow, until the
    /// node stops (EDGELESS keeps none at all).
    case transient = "TRANSIENT"
    /// On this node's disk, sealed (`SealedStateStore`): across a crash or restart of the node.
    case nodeLocal = "NODE_LOCAL"
    /// Shared across nodes: EDGELESS has no provider for it, nor has this node.
    case global = "GLOBAL"
}
