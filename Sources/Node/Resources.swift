import Foundation
import FunctionRuntime
import Manifest
import NIOConcurrencyHelpers
import Shield
import Support

/// A built-in component a workflow wires to functions: it receives casts and calls like a
/// function does; one that produces events (the ingress) sends them through the dataplane.
public protocol Resource: AnyObject, Sendable {
    var name: String { get }
    func cast(payload: [UInt8]) throws
    /// A cast that knows who sent it (nil: from outside the workflow); by default the same as
    /// `cast(payload:)`. `file-log`'s `add-source-id` writes the sender.
    func cast(payload: [UInt8], from source: InstanceID?) throws
    func call(payload: [UInt8]) -> CallReply
    func stop()
}

extension Resource {
    public func cast(payload: [UInt8], from source: InstanceID?) throws { try cast(payload: payload) }

    /// A resource without answers treats a call as a cast: "no reply", or the error.
    public func call(payload: [UInt8]) -> CallReply {
        do {
            try cast(payload: payload)
            return .noReply
        } catch {
            return .error("\(error)")
        }
    }
}

/// `file-log`, as EDGELESS's: appends each cast payload as a line to a file the manifest
/// allows, after an RFC 3339 timestamp (`add-timestamp`) and the sender's instance id in
/// EDGELESS's form (`add-source-id`). As in EDGELESS, either key turns its part on by being
/// present, whatever its value. Opened through the Shield, so a path outside `[allowed]` (or
/// a trusted file) is refused.
public final class FileLogResource: Resource {
    /// The resource's name in the workflow, used in errors.
    public let name: String
    /// The open log; the lock keeps one line's write whole against another's, and the fsync
    /// at stop after the last write.
    private let file: NIOLockedValueBox<Int32>
    private let timestamps: Bool
    private let sourceIDs: Bool

    /// Opens `filename` for appending (created if missing); `add-timestamp` and
    /// `add-source-id`, when present, turn on their part of each line. Throws `.resource` if
    /// the Shield refuses or cannot open the file.
    public init(name: String, configuration: [String: String], shield: Shield) throws(NodeError) {
        self.name = name
        let filename = configuration["filename"] ?? ""
        do {
            file = NIOLockedValueBox(try shield.openAllowed(filename, flags: O_WRONLY | O_CREAT | O_APPEND))
        } catch {
            throw .resourceFailed(name, .init(error), hint: "; list it under [allowed] files")
        }
        timestamps = configuration["add-timestamp"] != nil
        sourceIDs = configuration["add-source-id"] != nil
    }

    deinit { file.withLockedValue { _ = close($0) } }

    /// Appends `payload` as is, then a newline, whole against other casts' lines (a newline
    /// inside the payload is not escaped).
    /// Throws `NodeError.resource` if the write fails.
    public func cast(payload: [UInt8]) throws { try cast(payload: payload, from: nil) }

    /// As `cast(payload:)`, with `source` for `add-source-id` (nil: "external").
    public func cast(payload: [UInt8], from source: InstanceID?) throws {
        var line: [UInt8] = []
        if timestamps {
            line += Array(
                (ISO8601DateFormatter.string(from: Date(), timeZone: .gmt, formatOptions: [.withInternetDateTime, .withFractionalSeconds]) + " ").utf8)
        }
        if sourceIDs { line += Array(((source?.edgelessDescription ?? "external") + " ").utf8) }
        line += payload
        line.append(UInt8(ascii: "\n"))
        if case let .failure(shortfall) = file.withLockedValue({ DescriptorIO.writeAll($0, line) }) {
            throw NodeError.resource(name, "write failed: \(shortfall.reason)")
        }
    }

    /// Flushes the file to disk (fsync); it stays open until the resource is freed.
    public func stop() { file.withLockedValue { _ = fsync($0) } }
}

/// What `Node` and its resources throw; every case names the resource, function or workflow.
public enum NodeError: CodedError, Equatable {
    case resource(String, String)
    /// A resource failed because of another module's error, kept as the cause; `hint` ends
    /// the message (what to change).
    case resourceFailed(String, Underlying, hint: String = "")
    case workflow(WorkflowError)
    case function(String, String)
    /// A function failed to start because of another module's error, kept as the cause.
    case functionFailed(String, Underlying)
    case unknownWorkflow(String)

    /// Another module's error kept inside a `NodeError`. Two are equal when their messages
    /// are, so `NodeError` stays `Equatable` (tests compare errors whole).
    public struct Underlying: Equatable, Sendable, CustomStringConvertible {
        public let error: any Error
        public init(_ error: any Error) { self.error = error }
        public var description: String { "\(error)" }
        public static func == (left: Underlying, right: Underlying) -> Bool { left.description == right.description }
    }

    public var cause: (any Error)? {
        switch self {
        case let .resourceFailed(_, underlying, _), let .functionFailed(_, underlying): return underlying.error
        default: return nil
        }
    }

    /// A stable name for what went wrong, for programs (the API sends it in a header; the
    /// HTTP status comes from it in one place, `NodeAPI`'s `ErrorStatus`).
    public enum Code: String, Sendable, CaseIterable {
        case workflowMalformed = "workflow.malformed"
        case workflowRefused = "workflow.refused"
        case workflowUnknown = "workflow.unknown"
        case resource = "resource"
        case function = "function"
    }

    public var code: Code {
        switch self {
        case .workflow(.malformed): return .workflowMalformed
        case .workflow(.invalid): return .workflowRefused
        case .unknownWorkflow: return .workflowUnknown
        case .resource, .resourceFailed: return .resource
        case .function, .functionFailed: return .function
        }
    }

    public var description: String {
        switch self {
        case let .resource(name, reason): return "resource \(name): \(reason)"
        case let .resourceFailed(name, underlying, hint): return "resource \(name): \(underlying)\(hint)"
        case let .functionFailed(name, underlying): return "function \(name): \(underlying)"
        case let .workflow(error): return error.description
        case let .function(name, reason): return "function \(name): \(reason)"
        case let .unknownWorkflow(id): return "no running workflow \(id)"
        }
    }
}

extension FileLogResource: ResourceClass {
    static let classType = "file-log"
    static let requiredConfiguration = ["filename"]
    static let optionalConfiguration = ["add-timestamp", "add-source-id"]

    static func admit(_ resource: Workflow.Resource, key: String, in context: AdmissionContext) -> [String] {
        guard let filename = resource.configurations["filename"] else { return [] }
        let path: RelativePath
        do { path = try RelativePath(filename, origin: "\(key).configurations.filename") } catch { return [error.description] }
        return context.outside(
            context.manifest.policy.fileLog.paths, policyKey: "policy.file-log.paths", path: path, key: "\(key).configurations.filename", written: filename)
    }

    static func make(_ resource: Workflow.Resource, in context: ResourceContext) throws(NodeError) -> FileLogResource {
        try FileLogResource(name: resource.name, configuration: resource.configurations, shield: context.shield)
    }
}
