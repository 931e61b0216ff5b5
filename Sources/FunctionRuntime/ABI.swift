@_spi(Fuzzing) import WasmKit
import WasmParser

/// The EDGELESS function ABI for function type "RUST_WASM" (../shared/DESIGN.md, "Function
/// ABI"): what a module must export and what the host provides under `env`.
public enum FunctionABI {
    /// The linear memory the module must export; payloads are copied through it.
    public static let memoryExport = "memory"

    /// Every export the host calls, with its signature.
    public static let exports: [(name: String, type: FunctionType)] = [
        ("edgeless_mem_alloc", FunctionType(parameters: [.i32], results: [.i32])),
        ("edgeless_mem_free", FunctionType(parameters: [.i32, .i32])),
        ("edgeless_mem_clear", FunctionType(parameters: [])),
        ("handle_init_asm", FunctionType(parameters: [.i32, .i32, .i32, .i32])),
        ("handle_cast_asm", FunctionType(parameters: [.i32, .i32, .i32, .i32])),
        ("handle_call_asm", FunctionType(parameters: [.i32, .i32, .i32, .i32, .i32, .i32], results: [.i32])),
        ("handle_stop_asm", FunctionType(parameters: [])),
    ]

    /// Every import the host provides, all in module `env`. A module imports only what it uses.
    public static let imports: [(name: String, type: FunctionType)] = [
        ("cast_raw_asm", FunctionType(parameters: [.i32, .i32, .i32, .i32])),
        ("cast_asm", FunctionType(parameters: [.i32, .i32, .i32, .i32])),
        ("call_raw_asm", FunctionType(parameters: [.i32, .i32, .i32, .i32, .i32, .i32], results: [.i32])),
        ("call_asm", FunctionType(parameters: [.i32, .i32, .i32, .i32, .i32, .i32], results: [.i32])),
        ("telemetry_log_asm", FunctionType(parameters: [.i32, .i32, .i32, .i32, .i32])),
        ("slf_asm", FunctionType(parameters: [.i32, .i32])),
        ("delayed_cast_asm", FunctionType(parameters: [.i64, .i32, .i32, .i32, .i32])),
        ("sync_asm", FunctionType(parameters: [.i32, .i32])),
    ]

    /// The only import module the host provides; imports from any other are refused.
    public static let importModule = "env"

    /// Problems a module has against the ABI, without instantiating it: missing or wrongly
    /// typed exports, imports the host does not provide. Empty means the module fits.
    public static func check(_ module: Module) -> [String] {
        var problems: [String] = []
        var exported: [String: ExportDescriptor] = [:]
        for export in module.exports { exported[export.name] = export.descriptor }
        if case .memory? = exported[memoryExport] {
        } else {
            problems.append("missing export \"memory\" (the function's linear memory)")
        }
        for (name, _) in exports {
            guard let descriptor = exported[name] else {
                problems.append("missing export \"\(name)\"")
                continue
            }
            if case .function = descriptor {} else { problems.append("export \"\(name)\" is not a function") }
        }
        for item in module.imports {
            guard case let .function(typeIndex) = item.descriptor else {
                problems.append("imports \(item.module).\(item.name), which is not a function; the host provides only functions")
                continue
            }
            guard item.module == importModule, let expected = imports.first(where: { $0.name == item.name }) else {
                problems.append(
                    "imports \(item.module).\(item.name), which the host does not provide (it provides env.\(imports.map(\.name).joined(separator: ", env.")))")
                continue
            }
            if let actual = module.functionType(at: typeIndex), actual != expected.type {
                problems.append("imports env.\(item.name) as \(describe(actual)), but the ABI defines \(describe(expected.type))")
            }
        }
        return problems
    }

    /// Checks the exported functions' signatures, which are only visible on an instance.
    static func checkExportTypes(_ instance: Instance) -> [String] {
        exports.compactMap { name, type in
            guard let function = instance.exports[function: name], function.type != type else { return nil }
            return "export \"\(name)\" is \(describe(function.type)), but the ABI defines \(describe(type))"
        }
    }

    static func describe(_ type: FunctionType) -> String {
        "(\(type.parameters.map { "\($0)" }.joined(separator: ", "))) -> (\(type.results.map { "\($0)" }.joined(separator: ", ")))"
    }
}
