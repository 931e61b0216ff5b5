import ArgumentParser
import Examples
import Foundation
import Logging
import Manifest
import Node
import NodeAPI
import TrustedFiles

struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the simple_workflow_http example end to end, then show a tampered function refused.",
        discussion: """
            Copies examples/simple_workflow_http to --dir, builds its four C functions to \
            WebAssembly, signs the app with a fresh key, verifies it, and runs it on a node with its \
            HTTP ingress, its API and a local HTTP server standing in for the outside world (all on \
            loopback, free ports). It POSTs 42 to the ingress, shows the number the outside server \
            receives ((42 + 1) × 2 = 86), the functions' start-up latencies and the events the node \
            delivered. Then it flips one byte of a function's code and shows `verify` and the node \
            refusing it. Exits non-zero if any step does not behave as shown.
            """)

    @Option(help: "Where to write the example app (default: a new temporary folder).")
    var dir: String?

    @Option(help: "Folder holding the examples (run from the repository root, or point here).")
    var examples = "examples"

    func run() async throws {
        let folder = dir ?? NSTemporaryDirectory() + "secure-executor-demo-\(getpid())"
        guard FileManager.default.fileExists(atPath: examples + "/simple_workflow_http") else {
            throw ValidationError("no \(examples)/simple_workflow_http: run the demo from the repository root, or pass --examples")
        }
        let quiet = Logger(label: "demo", factory: { _ in SwiftLogNoOpLogHandler() })
        let outside = try await PeerServer.start(logger: quiet)
        let app = try ExampleApp.prepare("simple_workflow_http", from: examples, into: folder, replacing: ["127.0.0.1:8089": outside.address])
        step("1. example app simple_workflow_http copied to \(folder); its C functions built to WebAssembly:")
        for module in app.modules { print("     functions/\(module.name)/\(module.name).wasm  \(formatBytes(UInt64(module.bytes)))") }

        try app.key.save(path: folder + "/signer.key", overwrite: true)
        try app.key.publicKey.save(path: folder + "/signer.key.pub", overwrite: true)
        step(
            "2. signed with a fresh key \(app.key.publicKey.keyID) (\(folder)/signer.key): \(app.signed.files) trusted files → "
                + "simple_workflow_http.trusted (\(formatBytes(UInt64(app.signed.tableBytes)))) + .sig")
        let clean = DiskCheck.run(app.bundle)
        try expect(clean.problems.isEmpty, "verify of the untouched app found problems: \(clean.problems)")
        print("     verify: signature, measurement and all \(clean.checkedFiles) files match")

        let metrics = NodeMetrics()
        let node = try Node(bundle: app.bundle, logger: quiet, metrics: metrics.factory)
        let ingress = try await node.listenForIngress(port: 0)
        let api = try await NodeAPI.start(node: node, metrics: metrics, port: 0, logger: quiet)
        let workflow = try node.start(workflowAt: app.workflowPath, id: "demo")
        step(
            "3. node running workflow.json: ingress http://127.0.0.1:\(ingress), API \(api.baseURL); "
                + "the outside world is a local server at \(outside.address)")
        for (name, instance) in workflow.instances.sorted(by: { $0.key < $1.key }) {
            print("     \(name.padding(toLength: 18, withPad: " ", startingAt: 0)) \(instance.startup.summary)")
        }

        let answer = try await HTTPCall.send(.POST, "http://127.0.0.1:\(ingress)/", host: "demo.edgeless.com", body: Array("42".utf8))
        step("4. POST 42 to the ingress (Host: demo.edgeless.com) → \(answer.status) \"\(answer.text)\"")
        try expect(answer.status == 200, "the ingress answered \(answer.status) \(answer.text)")
        var received: [String] = []
        for _ in 0..<250 where received.isEmpty {
            received = outside.requests.map { "\($0.method) \($0.path) \"\(String(decoding: $0.body, as: UTF8.self))\"" }
            try await Task.sleep(for: .milliseconds(20))
        }
        print("     http_read_number → incr (+1) → double (×2) → http_write_number → http-egress")
        print("     the outside server received: \(received.joined(separator: ", "))")
        try expect(received == ["POST /numbers \"86\""], "expected the outside server to receive 86, got \(received)")

        workflow.dataplane.drain()
        let counts = workflow.dataplane.counts
        let health = try await HTTPCall.send(.GET, api.baseURL + "/health", headers: ["authorization": api.token.authorization])
        step(
            "5. the node delivered \(counts.delivered) events and \(counts.calls) calls, \(counts.undelivered) undelivered; "
                + "GET /health → \(health.status), /metrics has start-up histograms:")
        let exposition = try await HTTPCall.send(.GET, api.baseURL + "/metrics", headers: ["authorization": api.token.authorization]).text
        for line in exposition.split(separator: "\n")
        where line.hasPrefix("secure_executor_function_startup_count") || line.hasPrefix("secure_executor_events_delivered_total") {
            print("     \(line)")
        }
        await api.stop()
        await node.shutdown()
        await outside.stop()

        let target = folder + "/functions/incr/incr.wasm"
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: target)))
        bytes[bytes.count / 2] ^= 0x01
        try Data(bytes).write(to: URL(fileURLWithPath: target))
        let tampered = DiskCheck.run(app.bundle)
        try expect(tampered.problems.map(\.kind) == [.modified], "verify missed the flipped byte: \(tampered.problems)")
        step("6. one byte of functions/incr/incr.wasm flipped:")
        for problem in tampered.problems { print("     verify: \(problem)") }
        do {
            _ = try Node(bundle: app.bundle, logger: quiet).start(workflowAt: app.workflowPath)
            try expect(false, "the node started a tampered function")
        } catch let error as NodeError {
            print("     node: \(error)")
        }
        bytes[bytes.count / 2] ^= 0x01
        try Data(bytes).write(to: URL(fileURLWithPath: target))
        print(
            """

            demo OK (the byte is restored). Try it yourself, in two terminals:
              swift run secure-executor run \(folder)/simple_workflow_http.toml --signer \(folder)/signer.key.pub
              curl -H 'Host: demo.edgeless.com' -d 42 http://127.0.0.1:7008/ ; swift run secure-executor node workflows
            (the demo's outside server has stopped, so http_write_number will log that its POST failed)
            """)
    }

    private func step(_ text: String) { print("==> \(text)") }

    private func expect(_ condition: Bool, _ message: String) throws {
        if !condition { throw ValidationError("demo step failed: \(message)") }
    }
}
