import Foundation
import FunctionRuntime
import NIOConcurrencyHelpers

/// C test functions built from source once per test run, with the same builder as
/// `secure-executor function build`. Each of `folders` holds one sub-folder per function; the
/// first that has the function wins.
public final class BuiltFunctions: Sendable {
    private let folders: [String]
    private let output = NSTemporaryDirectory() + "se-functions-\(getpid())-\(UUID().uuidString.prefix(8))"
    private let built = NIOLockedValueBox<[String: FunctionCode]>([:])

    public init(folders: [String]) { self.folders = folders }

    /// The repository's examples/ folder, whose functions tests may reuse.
    public static let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("examples").path

    public func code(_ name: String) throws -> FunctionCode {
        if let code = built.withLockedValue({ $0[name] }) { return code }
        try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
        let source = folders.map { $0 + "/" + name }.first { FileManager.default.fileExists(atPath: $0) } ?? folders[0] + "/" + name
        let report = try FunctionBuilder.build(folder: source, output: output + "/" + name + ".wasm")
        precondition(report.ok, "\(name): \(report.problems)")
        let code = try FunctionCode.load(file: report.output)
        built.withLockedValue { $0[name] = code }
        return code
    }
}
