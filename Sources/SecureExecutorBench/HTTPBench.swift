import ArgumentParser
import Examples
import Foundation
import HTTPServing
import Logging
import Node
import NodeAPI

struct HTTPBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "http",
        abstract: "Ingress → function → reply with wrk against a bare handler of the same server; events/s through a function chain.",
        discussion: """
            Builds and signs the http_ingress example, runs it on a node, and loads its ingress with \
            wrk (Debian's wrk: scripts/install-deps.sh --bench): POST "world" with Host \
            demo.edgeless.com, answered "hello world" by the http_processor function. The baseline \
            is the same HTTPServer type answering "hello world" itself, loaded the same way in the \
            same run; the two alternate, and the better of --rounds runs of each is kept. Then casts \
            --events numbers through incr → incr → double (the simple_workflow_http functions) into \
            a file-log, and reports events per second with every line checked.
            """)

    @Option(help: "Seconds per wrk run.")
    var duration = 5

    @Option(help: "wrk connections.")
    var connections = 32

    @Option(help: "wrk threads.")
    var threads = 1

    @Option(help: "wrk runs per server; the best is kept.")
    var rounds = 2

    @Option(help: "Numbers cast through the function chain.")
    var events = 100_000

    @Option(help: "Folder holding the examples.")
    var examples = "examples"

    func run() async throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/wrk") else {
            throw ValidationError("wrk is not installed; run scripts/install-deps.sh --bench")
        }
        let quiet = Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() })
        let scratch = NSTemporaryDirectory() + "se-httpbench-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: scratch) }

        let app = try ExampleApp.prepare("http_ingress", from: examples, into: scratch + "/http_ingress")
        // The node's own Prometheus registry, as `run` has it: its counters and timers are part of the cost.
        let node = try Node(bundle: app.bundle, logger: quiet, metrics: NodeMetrics().factory)
        let ingressPort = try await node.listenForIngress(port: 0)
        _ = try node.start(workflowAt: app.workflowPath, id: "http_ingress")
        let bare = try await HTTPServer.start(logger: quiet) { _ in
            HTTPAnswer(status: 200, headers: ["content-type": "text/plain"], body: Array("hello world".utf8))
        }
        let targets = [("bare HTTPServer handler", bare.port), ("ingress → http_processor (wasm)", ingressPort)]
        for (label, port) in targets {
            let answer = try await HTTPCall.send(.POST, "http://127.0.0.1:\(port)/hello", host: "demo.edgeless.com", body: Array("world".utf8))
            guard answer.status == 200, answer.text == "hello world" else {
                throw ValidationError("\(label) answered \(answer.status) \"\(answer.text)\" instead of 200 \"hello world\"")
            }
        }
        let script = scratch + "/post.lua"
        try #"wrk.method = "POST"; wrk.body = "world"; wrk.headers["Host"] = "demo.edgeless.com""#.write(toFile: script, atomically: true, encoding: .utf8)

        var best: [Int: WrkResult] = [:]
        for _ in 0..<rounds {
            for (_, port) in targets {
                let result = try wrk(port: port, script: script)
                if result.requestsPerSecond > best[port]?.requestsPerSecond ?? 0 { best[port] = result }
            }
        }
        let baseline = best[bare.port]!.requestsPerSecond
        printTable(
            "HTTP: wrk -t\(threads) -c\(connections) -d\(duration)s, POST 5 bytes, best of \(rounds)",
            ["server", "requests/s", "p50", "p99", "errors", "vs bare"],
            targets.map { label, port in
                let result = best[port]!
                return [
                    label, String(format: "%.0f", result.requestsPerSecond), result.p50, result.p99, "\(result.errors)",
                    percent(result.requestsPerSecond / baseline),
                ]
            })
        await bare.stop()
        await node.shutdown()

        try chain(scratch: scratch, quiet: quiet)
    }

    struct WrkResult {
        var requestsPerSecond: Double
        var p50: String
        var p99: String
        /// Non-2xx answers plus socket errors.
        var errors: Int
    }

    private func wrk(port: Int, script: String) throws -> WrkResult {
        let run = try Wrk.start(["-t\(threads)", "-c\(connections)", "-d\(duration)s", "--latency", "-s", script, "http://127.0.0.1:\(port)/hello"])
        let text = run.finish()
        func field(_ prefix: String) -> String? { Wrk.field(text, prefix) }
        guard run.process.terminationStatus == 0, let rate = field("Requests/sec:").flatMap(Double.init) else {
            throw ValidationError("wrk failed on port \(port): \(text)")
        }
        let non2xx = field("Non-2xx or 3xx responses:").flatMap(Int.init) ?? 0
        let socketErrors =
            field("Socket errors:").map { line in
                line.split(separator: ",").compactMap { $0.split(separator: " ").last.flatMap { Int($0) } }.reduce(0, +)
            } ?? 0
        return WrkResult(requestsPerSecond: rate, p50: field("50%") ?? "?", p99: field("99%") ?? "?", errors: non2xx + socketErrors)
    }

    /// incr → incr → double → file-log, each number injected at the first function.
    private func chain(scratch: String, quiet: Logger) throws {
        let workflow = """
            { "functions": [
                { "name": "first", "class_specification": { "id": "incr", "function_type": "RUST_WASM", "version": "0.1",
                  "code": "functions/incr/incr.wasm", "outputs": ["result"] }, "output_mapping": { "result": "second" }, "annotations": {} },
                { "name": "second", "class_specification": { "id": "incr", "function_type": "RUST_WASM", "version": "0.1",
                  "code": "functions/incr/incr.wasm", "outputs": ["result"] }, "output_mapping": { "result": "third" }, "annotations": {} },
                { "name": "third", "class_specification": { "id": "double", "function_type": "RUST_WASM", "version": "0.1",
                  "code": "functions/double/double.wasm", "outputs": ["result"] }, "output_mapping": { "result": "log" }, "annotations": {} } ],
              "resources": [ { "name": "log", "class_type": "file-log", "output_mapping": {}, "configurations": { "filename": "logs/chain.log" } } ],
              "annotations": {} }
            """
        let app = try ExampleApp.prepare("simple_workflow_http", from: examples, into: scratch + "/chain", writing: ["workflow.json": workflow])
        // The node's own Prometheus registry, as `run` has it: its counters and timers are part of the cost.
        let node = try Node(bundle: app.bundle, logger: quiet, metrics: NodeMetrics().factory)
        let running = try node.start(workflowAt: app.workflowPath, id: "chain")
        let started = now()
        for value in 0..<events { running.dataplane.inject(into: "first", payload: Array(String(value).utf8)) }
        running.dataplane.drain()
        let seconds = now() - started
        let counts = running.dataplane.counts
        node.stopAll()
        let lines = try String(contentsOfFile: app.folder + "/logs/chain.log", encoding: .utf8).split(separator: "\n")
        guard lines.count == events, lines.enumerated().allSatisfy({ Int($0.element) == ($0.offset + 2) * 2 }) else {
            throw ValidationError("the chain delivered \(lines.count) of \(events) lines, or out of order")
        }
        printTable(
            "Function chain: incr → incr → double → file-log, \(events) numbers",
            ["events delivered", "undelivered", "seconds", "events/s", "numbers/s end to end"],
            [
                [
                    "\(counts.delivered)", "\(counts.undelivered)", String(format: "%.2f", seconds),
                    String(format: "%.0f", Double(counts.delivered) / seconds), String(format: "%.0f", Double(events) / seconds),
                ]
            ])
    }
}

/// One run of Debian's wrk, started in the background; its output is read when it ends.
struct Wrk {
    let process: Process
    private let output: Pipe

    static func start(_ arguments: [String]) throws -> Wrk {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/wrk")
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        return Wrk(process: process, output: output)
    }

    /// Waits for wrk to end and returns what it printed.
    func finish() -> String {
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return text
    }

    /// The rest of the first line of wrk's output that starts with `prefix` (after trimming).
    static func field(_ text: String, _ prefix: String) -> String? {
        text.split(separator: "\n").first { $0.trimmingCharacters(in: .whitespaces).hasPrefix(prefix) }
            .map { String($0.trimmingCharacters(in: .whitespaces).dropFirst(prefix.count)).trimmingCharacters(in: .whitespaces) }
    }
}
