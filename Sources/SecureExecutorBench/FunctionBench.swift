import ArgumentParser
import Foundation
import FunctionRuntime
import Logging

struct FunctionBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "functions",
        abstract: "Function start-up latency and cast/call throughput, against wasmtime in the same run.",
        discussion: """
            Builds two C functions with the SDK: a noop padded to about 20 KB (the size of an \
            EDGELESS Rust noop) and a larger one with a few hundred functions. Measures cold starts \
            (fresh runtime: parse, instantiate, init), warm starts (module cached, instance \
            prepared ahead), and cast and call round trips on one instance. The peer runs the same \
            modules under wasmtime's Python package (benchmarks/wasmtime_peer.py; pip install wasmtime).
            """)

    @Option(help: "Starts per measurement.")
    var starts = 200

    @Option(help: "Casts and calls per throughput measurement.")
    var events = 100_000

    @Option(help: "Path to benchmarks/wasmtime_peer.py (skipped if missing).")
    var peer = "benchmarks/wasmtime_peer.py"

    func run() throws {
        let folder = NSTemporaryDirectory() + "se-fnbench-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let modules = [("small", try build(folder, "small", Self.smallSource)), ("large", try build(folder, "large", Self.largeSource()))]

        var startRows: [[String]] = []
        var eventRows: [[String]] = []
        for (label, path) in modules {
            let code = try FunctionCode.load(file: path)
            var cold: [UInt64] = []
            var warm: [UInt64] = []
            for _ in 0..<starts {
                let runtime = FunctionRuntime(preparedPerModule: 0, logger: .init(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() }))
                cold.append(try runtime.start(code, function: label, router: RecordingRouter()).startup.totalNanoseconds - code.loadNanoseconds)
            }
            let runtime = FunctionRuntime(preparedPerModule: 1, logger: .init(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() }))
            _ = try runtime.start(code, function: label, router: RecordingRouter())
            for _ in 0..<starts {
                runtime.waitForPreparedInstances()
                warm.append(try runtime.start(code, function: label, router: RecordingRouter()).startup.totalNanoseconds - code.loadNanoseconds)
            }
            let peerResult = runPeer(path)
            startRows.append([
                label, "\(code.bytes.count / 1024) KiB", us(percentile(cold, 50)), us(percentile(cold, 99)),
                us(percentile(warm, 50)), us(percentile(warm, 99)),
                peerResult.map { us(UInt64($0["start_p50_ns"] as? Double ?? 0)) } ?? "n/a",
            ])

            let instance = try runtime.start(code, function: label, router: RecordingRouter())
            let payload = [UInt8](repeating: 0x78, count: 16)
            var castSamples: [UInt64] = []
            castSamples.reserveCapacity(events)
            let castStart = now()
            for _ in 0..<events {
                let t = DispatchTime.now().uptimeNanoseconds
                try instance.cast(from: instance.id, payload: payload)
                castSamples.append(DispatchTime.now().uptimeNanoseconds - t)
            }
            let castSeconds = now() - castStart
            var callSamples: [UInt64] = []
            callSamples.reserveCapacity(events)
            let callStart = now()
            for _ in 0..<events {
                let t = DispatchTime.now().uptimeNanoseconds
                _ = try instance.call(from: instance.id, payload: payload)
                callSamples.append(DispatchTime.now().uptimeNanoseconds - t)
            }
            let callSeconds = now() - callStart
            eventRows.append([
                label, us(percentile(castSamples, 50)), us(percentile(castSamples, 99)), String(format: "%.0f", Double(events) / castSeconds),
                us(percentile(callSamples, 50)), us(percentile(callSamples, 99)), String(format: "%.0f", Double(events) / callSeconds),
                peerResult.map { String(format: "%.0f", $0["casts_per_second"] as? Double ?? 0) } ?? "n/a",
            ])
        }
        printTable(
            "Function start-up (start request → handle_init_asm returned; \(starts) starts each)",
            ["module", "size", "cold p50", "cold p99", "warm p50", "warm p99", "wasmtime (Python) instantiate + init p50"], startRows)
        printTable(
            "Events on one instance (16-byte payload, \(events) each)",
            ["module", "cast p50", "cast p99", "casts/s", "call p50", "call p99", "calls/s", "wasmtime (Python) casts/s"], eventRows)
    }

    func build(_ folder: String, _ name: String, _ source: String) throws -> String {
        try FileManager.default.createDirectory(atPath: folder + "/" + name, withIntermediateDirectories: true)
        try source.write(toFile: folder + "/\(name)/\(name).c", atomically: true, encoding: .utf8)
        let report = try FunctionBuilder.build(folder: folder + "/" + name)
        guard report.ok else { throw ValidationError("\(name): \(report.problems)") }
        return report.output
    }

    func runPeer(_ module: String) -> [String: Any]? {
        guard FileManager.default.fileExists(atPath: peer) else { return nil }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", peer, module, String(starts), String(events)]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return nil }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return nil }
        return try? JSONSerialization.jsonObject(with: data) as? [String: Any]
    }

    /// A noop padded with a 16 KiB table, about the size of an EDGELESS Rust noop.
    static let smallSource = """
        #include "edgeless.h"
        static const u8 padding[16384] = { 1, 2, 3 };
        volatile u32 sink;
        void handle_init(const u8 *p, u32 l, const u8 *s, u32 sl) { (void)p; (void)l; (void)s; (void)sl; sink = padding[sink & 3]; }
        void handle_cast(const u8 *n, const u8 *c, const u8 *p, u32 l) { (void)n; (void)c; (void)p; sink += l; }
        i32 handle_call(const u8 *n, const u8 *c, const u8 *p, u32 l, const u8 **r, u32 *rl) { (void)n; (void)c; *r = p; *rl = l; return EDGELESS_REPLY; }
        void handle_stop(void) {}
        """

    /// A few hundred small functions reachable from init, so parsing and validation have work.
    static func largeSource() -> String {
        var source = "#include \"edgeless.h\"\nvolatile u32 sink;\n"
        for index in 0..<400 {
            source +=
                "__attribute__((noinline)) static u32 f\(index)(u32 x) { for (u32 i = 0; i < (x & 7); i++) x = x * \(index + 3) + (x >> 3) ^ \(index * 7919); return x; }\n"
        }
        source += "void handle_init(const u8 *p, u32 l, const u8 *s, u32 sl) { (void)p; (void)s; (void)sl; u32 x = l; "
        source += (0..<400).map { "x = f\($0)(x);" }.joined(separator: " ") + " sink = x; }\n"
        source += """
            void handle_cast(const u8 *n, const u8 *c, const u8 *p, u32 l) { (void)n; (void)c; (void)p; sink += l; }
            i32 handle_call(const u8 *n, const u8 *c, const u8 *p, u32 l, const u8 **r, u32 *rl) { (void)n; (void)c; *r = p; *rl = l; return EDGELESS_REPLY; }
            void handle_stop(void) {}
            """
        return source
    }
}
