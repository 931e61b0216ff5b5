import Foundation

/// An EDGELESS workflow as JSON: functions and resources wired by output mappings.
public struct Workflow: Codable, Sendable, Equatable {
    public struct ClassSpecification: Codable, Sendable, Equatable {
        public var id: String
        public var functionType: String
        public var version: String
        /// Module path, relative to the workflow file.
        public var code: String
        public var outputs: [String]

        enum CodingKeys: String, CodingKey {
            case id, version, code, outputs
            case functionType = "function_type"
        }
    }

    public struct Function: Codable, Sendable, Equatable {
        public var name: String
        public var classSpecification: ClassSpecification
        public var outputMapping: [String: String]
        public var annotations: [String: String]

        enum CodingKeys: String, CodingKey {
            case name, annotations
            case classSpecification = "class_specification", outputMapping = "output_mapping"
        }

        public init(from decoder: Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            name = try container.decode(String.self, forKey: .name)
            classSpecification = try container.decode(ClassSpecification.self, forKey: .classSpecification)
            outputMapping = try container.decodeIfPresent([String: String].self, forKey: .outputMapping) ?? [:]
            annotations = try container.decodeIfPresent([String: String].self, forKey: .annotations) ?? [:]
        }

        /// The `init-payload` annotation, handed to `handle_init_asm`.
        public var initPayload: String { annotations["init-payload"] ?? "" }
    }

    public struct Resource: Codable, Sendable, Equatable {
        public var name: String
        public var classType: String
        public var outputMapping: [String: String]
        public var configurations: [String: String]

        enum CodingKeys: String, CodingKey {
            case name, configurations
            case classType = "class_type", outputMapping = "output_mapping"
        }

        public init(from decoder: Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            name = try container.decode(String.self, forKey: .name)
            classType = try container.decode(String.self, forKey: .classType)
            outputMapping = try container.decodeIfPresent([String: String].self, forKey: .outputMapping) ?? [:]
            configurations = try container.decodeIfPresent([String: String].self, forKey: .configurations) ?? [:]
        }
    }

    public var functions: [Function]
    public var resources: [Resource]
    public var annotations: [String: String]

    enum CodingKeys: String, CodingKey { case functions, resources, annotations }

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
            throw .malformed(source, context.codingPath.isEmpty ? "not valid JSON: \(context.debugDescription)" : "field \"\(path(context.codingPath))\": \(context.debugDescription)")
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

public enum WorkflowError: Error, Equatable, CustomStringConvertible {
    case malformed(String, String)
    case invalid(String, [String])

    public var description: String {
        switch self {
        case let .malformed(source, reason): return "workflow \(source): \(reason)"
        case let .invalid(source, problems):
            return "workflow \(source) is refused:\n" + problems.map { "  - \($0)" }.joined(separator: "\n")
        }
    }
}
