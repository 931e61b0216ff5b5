import Foundation
import FunctionRuntime
import Synchronization

/// The C test functions under Functions/, built from source once per test run with the same
/// builder as `secure-executor function build`.
enum TestFunctions {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Functions").path
    private static let built = Mutex<[String: FunctionCode]>([:])
    private static let output = NSTemporaryDirectory() + "se-functions-\(getpid())"

    static func code(_ name: String) throws -> FunctionCode {
        if let code = built.withLock({ $0[name] }) { return code }
        try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
        let report = try FunctionBuilder.build(folder: folder + "/" + name, output: output + "/" + name + ".wasm")
        precondition(report.ok, "\(name): \(report.problems)")
        let code = try FunctionCode.load(file: report.output)
        built.withLock { $0[name] = code }
        return code
    }
}
