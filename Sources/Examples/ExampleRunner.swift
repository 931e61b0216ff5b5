import Foundation
import FunctionRuntime
import Logging
import Manifest
import Node
import TrustedFiles

/// `secure-executor examples run-all`: builds, signs and runs every example under examples/,
/// checking each one's observable result.
public enum ExampleRunner {
    public struct Outcome: Sendable {
        public var name: String
        public var passed: Bool
        public var detail: String
        public var seconds: Double
    }

    /// One example: how long to let it run, and what must be true afterwards.
    struct Example: Sendable {
        var name: String
        var runFor: Double
        /// Starts a redis-server of its own and points the workflow's redis url at it.
        var needsRedis = false
        var check: @Sendable (Run) throws -> String
    }

    /// What a check can look at: the app's folder, the node and the running workflow.
    struct Run {
        let folder: String
        let node: Node
        let workflow: Node.RunningWorkflow
        let redis: LocalRedis?

        func count(_ function: String) throws -> Int {
            guard let instance = workflow.instances[function],
                  case let .reply(bytes) = try instance.call(from: instance.id, payload: []),
                  let value = Int(String(decoding: bytes, as: UTF8.self)) else {
                throw Failure("function \(function) did not answer with a number")
            }
            return value
        }

        func lines(_ path: String) -> [String] {
            ((try? String(contentsOfFile: folder + "/" + path, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
        }
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    static let examples: [Example] = [
        Example(name: "noop", runFor: 0.2) { run in
            guard run.workflow.instances["noop"]?.state == .running else { throw Failure("noop is not running") }
            return "noop started (\(run.workflow.instances["noop"]!.startup.summary))"
        },
        Example(name: "ping_pong", runFor: 1.0) { run in
            let before = try run.count("ping")
            guard before >= 5 else { throw Failure("ping got \(before) pongs in 1 s, expected at least 5") }
            try run.node.stop(workflow: run.workflow.id)
            let restarted = try run.node.start(workflowAt: "workflow.json", id: run.workflow.id)
            let after = try Run(folder: run.folder, node: run.node, workflow: restarted, redis: nil).count("ping")
            guard after >= before else { throw Failure("ping's count went from \(before) to \(after) across a restart: state was lost") }
            return "\(before) pongs, then \(after) after a restart (state kept)"
        },
        Example(name: "ping_pong_async", runFor: 1.0) { run in
            let pongs = try run.count("ping")
            guard pongs >= 5 else { throw Failure("ping got \(pongs) pong casts in 1 s, expected at least 5") }
            return "\(pongs) pong casts"
        },
        Example(name: "file_log", runFor: 1.0) { run in
            try run.node.stop(workflow: run.workflow.id)
            let lines = run.lines("logs/ticker.log")
            guard lines.count >= 5 else { throw Failure("logs/ticker.log has \(lines.count) lines, expected at least 5") }
            for (index, line) in lines.enumerated() where !line.hasSuffix(" hello \(index + 1)") {
                throw Failure("logs/ticker.log line \(index + 1) is \"\(line)\", expected \"<timestamp> hello \(index + 1)\"")
            }
            return "\(lines.count) lines in logs/ticker.log, in order"
        },
        Example(name: "tutorial-01", runFor: 1.5, needsRedis: true) { run in
            try run.node.stop(workflow: run.workflow.id)
            let stored = try run.redis!.get("tutorial-01")
            guard let average = Int(stored), (15...24).contains(average) else {
                throw Failure("redis key tutorial-01 holds \"\(stored)\", expected a moving average between 15 and 24")
            }
            let errors = run.lines("logs/errors.log")
            guard !errors.isEmpty, errors.allSatisfy({ $0.hasSuffix("reading out of range: 150") }) else {
                throw Failure("logs/errors.log should list the out-of-range readings, has \(errors.count) lines: \(errors.prefix(2))")
            }
            return "redis tutorial-01 = \(average), \(errors.count) out-of-range readings in logs/errors.log"
        },
    ]

    public static var names: [String] { examples.map(\.name) }

    /// Runs the examples found in `folder` (each copied to a scratch folder first).
    public static func runAll(from folder: String, only: [String] = [], logger: Logger) -> [Outcome] {
        examples.filter { only.isEmpty || only.contains($0.name) }.map { example in
            let started = Date()
            do {
                let detail = try run(example, from: folder, logger: logger)
                return Outcome(name: example.name, passed: true, detail: detail, seconds: Date().timeIntervalSince(started))
            } catch {
                return Outcome(name: example.name, passed: false, detail: "\(error)", seconds: Date().timeIntervalSince(started))
            }
        }
    }

    static func run(_ example: Example, from folder: String, logger: Logger) throws -> String {
        let scratch = NSTemporaryDirectory() + "secure-executor-example-\(example.name)-\(getpid())"
        try? FileManager.default.removeItem(atPath: scratch)
        try FileManager.default.copyItem(atPath: folder + "/" + example.name, toPath: scratch)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        try FileManager.default.createDirectory(atPath: scratch + "/logs", withIntermediateDirectories: true)
        for function in try FileManager.default.contentsOfDirectory(atPath: scratch + "/functions").sorted() {
            let report = try FunctionBuilder.build(folder: scratch + "/functions/" + function)
            guard report.ok else { throw Failure("functions/\(function): \(report.problems.joined(separator: "; "))") }
        }
        let redis = example.needsRedis ? try LocalRedis() : nil
        if let redis {
            let workflowPath = scratch + "/workflow.json"
            let text = try String(contentsOfFile: workflowPath, encoding: .utf8)
            try text.replacingOccurrences(of: "redis://127.0.0.1:6379/", with: redis.url).write(toFile: workflowPath, atomically: true, encoding: .utf8)
        }
        let key = SigningKey.generate()
        let manifest = try Manifest.load(path: scratch + "/\(example.name).toml")
        _ = try Signer.sign(manifest: manifest, key: key)
        let bundle = try SignedBundle.load(manifestPath: manifest.path, signer: key.publicKey)
        let node = try Node(bundle: bundle, logger: logger)
        defer { node.stopAll() }
        let workflow = try node.start(workflowAt: manifest.workflow?.string ?? "workflow.json", id: example.name)
        Thread.sleep(forTimeInterval: example.runFor)
        let detail = try example.check(Run(folder: scratch, node: node, workflow: workflow, redis: redis))
        if let running = node.workflows.first(where: { $0.id == example.name }), running.dataplane.counts.undelivered > 0 {
            throw Failure("\(running.dataplane.counts.undelivered) events were not delivered")
        }
        return detail
    }
}
