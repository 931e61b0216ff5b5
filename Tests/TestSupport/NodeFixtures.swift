import Foundation
import Logging
import Metrics
import NIOConcurrencyHelpers
import Node
import TrustedFiles

// What the node's tests and the node API's tests share: a signed app with the test functions,
// workflow text, and a log that can be read back.

/// The C test functions of the node's tests (Tests/NodeTests/Functions), built once per run.
public let functions = BuiltFunctions(folders: [
    URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("NodeTests/Functions").path
])

/// A signed app holding the test functions and the given workflows.
/// `policy`: manifest text appended after `[allowed]` (e.g. `[policy.http-ingress]`).
public func signedApp(workflows: [String: String], policy: String = "", metrics: MetricsFactory? = nil) throws -> (TemporaryApp, Node) {
    let app = try TemporaryApp(
        ["logs/.keep": ""],
        manifest: """
            [app]
            name = "node-test"
            version = "1"
            [trusted]
            files = ["functions/", "workflows/"]
            [allowed]
            files = ["logs/"]
            \(policy)
            """)
    for name in ["relay", "sink", "crasher", "http_echo", "eager"] {
        try app.write("functions/\(name).wasm", bytes: try functions.code(name).bytes)
    }
    for (name, json) in workflows { try app.write("workflows/\(name).json", json) }
    let (key, _) = try app.sign()
    let bundle = try SignedBundle.load(manifestPath: app.path("app.toml"), signer: key.publicKey)
    return (app, try Node(bundle: bundle, logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }), metrics: metrics))
}

public func function(_ name: String, code: String, outputs: [String: String] = [:]) -> String {
    let mapping = outputs.map { "\"\($0.key)\": \"\($0.value)\"" }.joined(separator: ", ")
    return """
        { "name": "\(name)", "class_specification": { "id": "\(name)", "function_type": "RUST_WASM", "version": "0.1",
          "code": "../functions/\(code).wasm", "outputs": [\(outputs.keys.map { "\"\($0)\"" }.joined(separator: ", "))] },
          "output_mapping": { \(mapping) }, "annotations": {} }
        """
}

/// Three functions in a row: first → second → sink, which counts what reaches it.
public let chain = """
    { "functions": [ \(function("first", code: "relay", outputs: ["out": "second"])),
                     \(function("second", code: "relay", outputs: ["out": "sink"])),
                     \(function("sink", code: "sink")) ],
      "resources": [], "annotations": {} }
    """

/// Log lines, to see what the node says (about a lying agent, about refused callers).
public final class Lines: Sendable {
    private let lines = NIOLockedValueBox<[String]>([])
    public init() {}
    public func append(_ line: String) { lines.withLockedValue { $0.append(line) } }
    public var all: [String] { lines.withLockedValue { $0 } }
}

/// A log handler that keeps "LEVEL message" lines in `lines`.
public struct LineHandler: LogHandler {
    let lines: Lines
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    public init(lines: Lines) { self.lines = lines }
    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }
    public func log(level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String, file: String, function: String, line: UInt) {
        lines.append("\(level) \(message)")
    }
}
