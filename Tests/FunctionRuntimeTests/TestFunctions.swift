import Foundation
import FunctionRuntime
import TestSupport

/// The C test functions under Functions/, and the noop of examples/noop.
enum TestFunctions {
    static let built = BuiltFunctions(folders: [
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Functions").path,
        BuiltFunctions.examples + "/noop/functions",
    ])
    static func code(_ name: String) throws -> FunctionCode { try built.code(name) }
}
