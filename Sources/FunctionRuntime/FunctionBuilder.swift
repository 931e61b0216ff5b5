import Foundation
import Support
import WasmKit

/// `secure-executor function build`: compiles a folder of C sources to one wasm32 module with
/// the toolchain's clang and wasm-ld, then checks its exports and imports against the ABI.
public enum FunctionBuilder {
    /// What was built (or checked) and how it fits the ABI.
    public struct Report: Sendable {
        /// Path of the module file.
        public var output: String
        /// Size of the module in bytes.
        public var bytes: Int
        /// Export names, sorted.
        public var exports: [String]
        /// Imports as `module.name`, sorted.
        public var imports: [String]
        /// ABI violations; the module compiled but will be refused at start if any are listed.
        public var problems: [String]
        /// True when the module fits the ABI.
        public var ok: Bool { problems.isEmpty }
    }

    /// Why `build` produced no module. ABI problems are not errors: they are in the `Report`.
    public enum BuildError: Error, CustomStringConvertible {
        case noSources(String)
        case noCompiler(String)
        case compileFailed(String)

        /// For the terminal; `compileFailed` carries clang's whole output.
        public var description: String {
            switch self {
            case let .noSources(folder): return "no .c files in \(folder)"
            case let .noCompiler(reason): return "cannot run clang: \(reason) (set CLANG to a clang with the wasm32 target)"
            case let .compileFailed(output): return "clang failed:\n\(output)"
            }
        }
    }

    /// The toolchain's clang: $CLANG, else the one next to `swift` (/opt/swift/usr/bin), else PATH.
    static var clang: String {
        if let explicit = ProcessInfo.processInfo.environment["CLANG"] { return explicit }
        for candidate in ["/opt/swift/usr/bin/clang"] where FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        return "/usr/bin/env"
    }

    /// Builds `folder/*.c` into `output` (default: folder/NAME.wasm, NAME the folder's name).
    public static func build(folder: String, output: String? = nil, optimise: Bool = true) throws -> Report {
        let sources = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { $0.hasSuffix(".c") }.sorted()
        guard !sources.isEmpty else { throw BuildError.noSources(folder) }
        let name = URL(fileURLWithPath: folder).standardizedFileURL.lastPathComponent
        let target = output ?? folder + "/" + name + ".wasm"
        let include = NSTemporaryDirectory() + "secure-executor-sdk-\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: include, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: include) }
        try CSDK.header.write(toFile: include + "/" + CSDK.headerName, atomically: true, encoding: .utf8)

        // -fno-builtin: without libc, clang must not turn loops into strlen or memcpy calls.
        var arguments = [
            "--target=wasm32", "-nostdlib", "-fno-builtin", optimise ? "-O2" : "-O0", "-I", include,
            "-Wl,--no-entry", "-Wl,--export-dynamic", "-Wl,--strip-debug", "-o", target,
        ]
        arguments += sources.map { folder + "/" + $0 }
        let compiler = clang
        if compiler == "/usr/bin/env" { arguments.insert("clang", at: 0) }
        let result: (status: Int32, output: String)
        do { result = try ChildProcess.run(compiler, arguments) } catch { throw BuildError.noCompiler("\(error)") }
        guard result.status == 0 else { throw BuildError.compileFailed(result.output) }
        return try check(module: target)
    }

    /// The ABI report for an existing module.
    public static func check(module path: String) throws -> Report {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let module = try parseWasm(bytes: bytes)
        return Report(
            output: path, bytes: bytes.count,
            exports: module.exports.map(\.name).sorted(),
            imports: module.imports.map { "\($0.module).\($0.name)" }.sorted(),
            problems: FunctionABI.check(module))
    }
}
