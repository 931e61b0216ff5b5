import Foundation
import FunctionRuntime
import HTTPServing
import Logging
import Manifest
import NIOHTTP1
import Node
import SealedState
import Support
import Synchronization
import TrustedFiles

/// `secure-executor examples run-all`: builds, signs and runs every example under examples/,
/// checking each one's observable result.
public enum ExampleRunner {
    /// How one example went.
    public struct Outcome: Sendable {
        /// The example's folder name under examples/.
        public var name: String
        /// True when it was prepared, ran and its check held; an undelivered event fails it unless the check accounts for it.
        public var passed: Bool
        /// The check's summary when passed, else the error that failed it.
        public var detail: String
        /// Wall-clock time of the whole run, preparing included.
        public var seconds: Double
        /// Workflow files of the example its check left out in this build, with why.
        public var notRun: [String: String] = [:]
    }

    /// One example: how long to let it run, and what must be true afterwards.
    struct Example: Sendable {
        var name: String
        var runFor: Double
        /// Starts a redis-server of its own and points the workflow's redis url and the
        /// manifest's `[policy.redis]` at it.
        var needsRedis = false
        /// Starts an HTTP server of its own (the world http-egress talks to) and puts its
        /// address where the workflow and the manifest's policy name 127.0.0.1:8089.
        var needsPeer = false
        /// The check itself accounts for every undelivered event (bench_soak's traps are);
        /// otherwise any undelivered event fails the example.
        var checksUndelivered = false
        var check: @Sendable (Run) async throws -> String
    }

    /// What a check can look at: the app's folder, the node, the running workflow and the
    /// servers started for it.
    struct Run {
        let folder: String
        let node: Node
        var workflow: Node.RunningWorkflow
        let redis: LocalRedis?
        let peer: PeerServer?
        /// What the functions logged, EDGELESS's "tbegin" and "tend" among it.
        let log: FunctionLog
        let notRun: NotRun
        let bundle: SignedBundle
        let sealingKey: SealingKey
        let logger: Logger

        /// Another node on the same signed app and folder, as after a restart: nothing of the
        /// first node's memory; `key` the sealing key it gets.
        func restartedNode(key: SealingKey) throws -> Node { try Node(bundle: bundle, logger: logger, sealingKey: key) }

        /// Notes that the check leaves `workflow` (a file of the example) out, and why.
        func leaveOut(_ workflow: String, because why: String) { notRun.add(workflow, why) }

        /// A call to `function` with an empty payload; its reply as text.
        func answer(_ function: String, in workflow: Node.RunningWorkflow? = nil) throws -> String {
            guard let instance = (workflow ?? self.workflow).instances[function] else { throw Failure("no function \(function) is running") }
            guard case let .reply(bytes) = try instance.call(from: instance.id, payload: []) else {
                throw Failure("function \(function) did not answer a call")
            }
            return String(decoding: bytes, as: UTF8.self)
        }

        func count(_ function: String) throws -> Int {
            guard let value = Int(try answer(function)) else { throw Failure("function \(function) did not answer with a number") }
            return value
        }

        func lines(_ path: String) -> [String] {
            ((try? String(contentsOfFile: folder + "/" + path, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
        }

        /// Sends a request to the node's HTTP ingress, addressed to `host`; answers status and body.
        func request(_ method: HTTPMethod, host: String, path: String, body: String = "") async throws -> (status: Int, body: String) {
            guard let port = node.ingress.port else { throw Failure("the node's HTTP ingress is not listening") }
            let answer = try await HTTPCall.send(method, "http://127.0.0.1:\(port)\(path)", host: host, body: Array(body.utf8))
            return (answer.status, answer.text)
        }

        /// Polls `condition` every 20 ms for up to `seconds`; true if it came true.
        func eventually(within seconds: Double, _ condition: () -> Bool) async -> Bool {
            let deadline = Date().addingTimeInterval(seconds)
            while !condition() {
                guard Date() < deadline else { return false }
                try? await Task.sleep(for: .milliseconds(20))
            }
            return true
        }
    }

    /// The workflows a check left out, filled in while it runs.
    final class NotRun: Sendable {
        private let reasons = Mutex<[String: String]>([:])
        func add(_ workflow: String, _ why: String) { reasons.withLock { $0[workflow] = why } }
        var all: [String: String] { reasons.withLock { $0 } }
    }

    /// A build without optimisation interprets wasm about 200× slower than a release build:
    /// EDGELESS's heaviest workflows (10⁸ multiply-adds an event, or 10⁵ big-number additions)
    /// then take minutes an event where an example has seconds, so their checks run in
    /// optimised builds only and are reported as left out.
    static let interpretsSlowly: Bool = {
        #if DEBUG
            true
        #else
            false
        #endif
    }()

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
            var again = run
            again.workflow = restarted
            let after = try again.count("ping")
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
        Example(name: "redis", runFor: 0, needsRedis: true) { run in
            var stored = ""
            let counted = await run.eventually(within: 10) {
                stored = (try? run.redis!.get("example-redis")) ?? ""
                return (Int(stored) ?? 0) >= 43
            }
            guard counted else { throw Failure("redis key example-redis holds \"\(stored)\", expected a count of at least 43") }
            // workflow-alt.json: the same with add-workflow-id, so the key carries the workflow id.
            try run.node.stop(workflow: run.workflow.id)
            _ = try run.node.start(workflowAt: "workflow-alt.json", id: "alt")
            var prefixed = ""
            let separate = await run.eventually(within: 10) {
                prefixed = (try? run.redis!.get("alt:example-redis")) ?? ""
                return (Int(prefixed) ?? 0) >= 43
            }
            guard separate else { throw Failure("redis key alt:example-redis holds \"\(prefixed)\", expected a count of at least 43") }
            // workflow-state.json: the counter beside a second redis resource its "redis"
            // output would reach; the counter casts only on "output", so last_counter stays unset.
            try run.node.stop(workflow: "alt")
            _ = try run.redis!.command(["DEL", "example-redis"])
            _ = try run.node.start(workflowAt: "workflow-state.json", id: "state")
            let again = await run.eventually(within: 10) { (Int((try? run.redis!.get("example-redis")) ?? "") ?? 0) >= 43 }
            let state = try run.redis!.get("last_counter")
            guard again, state.isEmpty else {
                throw Failure("with workflow-state.json, example-redis counted: \(again), last_counter holds \"\(state)\" (expected unset)")
            }
            return "redis example-redis = \(stored); with add-workflow-id, alt:example-redis = \(prefixed); workflow-state.json counts again"
        },
        Example(name: "http_poster", runFor: 0, needsPeer: true) { run in
            let posted = await run.eventually(within: 10) { run.peer!.requests.count >= 2 }
            let requests = run.peer!.requests
            guard posted else { throw Failure("the server got \(requests.count) POSTs within 10 s, expected at least 2") }
            let bodies = requests.map { String(decoding: $0.body, as: UTF8.self) }
            guard requests.allSatisfy({ $0.method == "POST" && $0.path == "/" }), bodies == (1...bodies.count).map(String.init) else {
                throw Failure("the server got \(requests.map { "\($0.method) \($0.path)" }) with bodies \(bodies), expected POST / with 1, 2, …")
            }
            return "\(requests.count) POSTs to / with bodies 1…\(requests.count)"
        },
        Example(name: "file_pusher", runFor: 0) { run in
            let pushed = await run.eventually(within: 10) { run.lines("my-local-file.log").count >= 2 }
            let lines = run.lines("my-local-file.log")
            guard pushed, Array(lines.prefix(2)) == ["first reading", "second reading"] else {
                throw Failure("my-local-file.log is \(lines), expected the node's folder, file by file: \"first reading\", \"second reading\"")
            }
            return "\(lines.count) files pushed to my-local-file.log, in path order"
        },
        Example(name: "sqlx", runFor: 0) { try await SQLxCheck.run($0) },
        Example(name: "sealed_counter", runFor: 0) { try await SealedCounterCheck.run($0) },
        Example(name: "serverless", runFor: 0, needsPeer: true) { try await ServerlessCheck.run($0) },
        Example(name: "load_balance", runFor: 0) { run in
            // Each trigger's message goes round: balancer → a slow function (1 s) → dup → the
            // log and back to the balancer, so each comes back about once a second.
            let circulating = await run.eventually(within: 15) {
                let lines = run.lines("out.log")
                return ["trigger1", "trigger2", "trigger3"].allSatisfy { name in lines.filter { $0.hasSuffix(" " + name) }.count >= 2 }
            }
            let lines = run.lines("out.log")
            guard circulating else { throw Failure("out.log is \(lines), expected each of trigger1, trigger2, trigger3 at least twice") }
            return "\(lines.count) lines in out.log, each trigger's message round at least twice"
        },
        Example(name: "http_ingress", runFor: 0) { run in
            let hello = try await run.request(.POST, host: "demo.edgeless.com", path: "/hello", body: "world")
            guard hello == (200, "hello world") else {
                throw Failure("POST /hello \"world\" answered \(hello.status) \"\(hello.body)\", expected 200 \"hello world\"")
            }
            let otherHost = try await run.request(.POST, host: "other.example", path: "/hello", body: "world")
            guard otherHost.status == 404 else { throw Failure("a request for another host answered \(otherHost.status), expected 404") }
            let get = try await run.request(.GET, host: "demo.edgeless.com", path: "/hello")
            guard get.status == 404 else { throw Failure("GET (methods lists only POST) answered \(get.status), expected 404") }
            return "POST \"world\" → 200 \"hello world\"; other host and GET → 404"
        },
        Example(name: "http_ingress_async", runFor: 0) { run in
            let bound = try await run.request(.POST, host: "any.host", path: "/?wf_id=\(run.workflow.id)", body: "cast me")
            guard bound == (200, "OK") else { throw Failure("POST with this workflow's wf_id answered \(bound.status) \"\(bound.body)\", expected 200 \"OK\"") }
            let unbound = try await run.request(.POST, host: "any.host", path: "/", body: "not me")
            guard unbound.status == 404 else { throw Failure("POST without wf_id answered \(unbound.status), expected 404") }
            let logged = await run.eventually(within: 5) { !run.lines("out.log").isEmpty }
            let lines = run.lines("out.log")
            guard logged, lines.count == 1, lines[0].hasSuffix(" cast me") else {
                throw Failure("out.log is \(lines), expected one line \"<timestamp> cast me\"")
            }
            return "POST ?wf_id=\(run.workflow.id) → 200 OK, cast to out.log; without wf_id → 404"
        },
        Example(name: "http_ingress_multi", runFor: 0) { run in
            // EDGELESS spreads requests at random over workflows claiming the same ones; this
            // node refuses the second claim while the first holds it, then serves it alone.
            let first = try await run.request(.POST, host: "any.host", path: "/", body: "to one")
            let overlap: String
            do {
                _ = try run.node.start(workflowAt: "workflow-multi-2.json", id: "multi-2")
                throw Failure("workflow-multi-2.json started while workflow-multi-1.json held the same requests")
            } catch let error as NodeError {
                overlap = error.description
            }
            guard overlap.contains("is already served by resource http-ingress of workflow \(run.workflow.id)") else {
                throw Failure("the overlapping start was refused with \"\(overlap)\", not the overlap")
            }
            try run.node.stop(workflow: run.workflow.id)
            _ = try run.node.start(workflowAt: "workflow-multi-2.json", id: "multi-2")
            let second = try await run.request(.POST, host: "any.host", path: "/", body: "to two")
            let logged = await run.eventually(within: 5) { !run.lines("out-2.log").isEmpty }
            guard first == (200, "OK"), second == (200, "OK"), logged, run.lines("out-1.log").map({ $0.hasSuffix(" to one") }) == [true],
                run.lines("out-2.log").map({ $0.hasSuffix(" to two") }) == [true]
            else {
                throw Failure("answers \(first), \(second); out-1.log \(run.lines("out-1.log")), out-2.log \(run.lines("out-2.log"))")
            }
            return "multi-1 took \"to one\", multi-2 refused beside it, then took \"to two\" alone"
        },
        Example(name: "http_egress", runFor: 0, needsPeer: true) { run in
            let expected = (1...5).map { "tick \($0)" }
            let bodies = { run.peer!.requests.filter { $0.method == "POST" && $0.path == "/ingest" }.map { String(decoding: $0.body, as: UTF8.self) } }
            guard await run.eventually(within: 5, { bodies().count >= 5 && run.lines("logs/responses.log").count >= 5 }) else {
                throw Failure(
                    "the server got \(bodies()) and logs/responses.log has \(run.lines("logs/responses.log").count) lines within 5 s; expected \(expected) and 5 lines"
                )
            }
            guard bodies() == expected else { throw Failure("the server got \(bodies()), expected \(expected) in order") }
            let responses = run.lines("logs/responses.log")
            guard responses == expected.map({ "200 ok \($0)" }) else {
                throw Failure("logs/responses.log is \(responses), expected \"200 ok tick 1\" … \"200 ok tick 5\"")
            }
            return "server got POST /ingest tick 1…5 in order; the function logged the 5 replies"
        },
        Example(name: "simple_workflow_http", runFor: 0, needsPeer: true) { run in
            let refused = try await run.request(.POST, host: "demo.edgeless.com", path: "/", body: "forty-two")
            guard refused.status == 400 else { throw Failure("POST \"forty-two\" answered \(refused.status), expected 400") }
            let posted = try await run.request(.POST, host: "demo.edgeless.com", path: "/", body: "42")
            guard posted.status == 200 else { throw Failure("POST \"42\" answered \(posted.status) \"\(posted.body)\", expected 200") }
            let numbers = { run.peer!.requests.filter { $0.path == "/numbers" }.map { String(decoding: $0.body, as: UTF8.self) } }
            guard await run.eventually(within: 5, { !numbers().isEmpty }) else { throw Failure("the egress server received nothing within 5 s of POST 42") }
            guard numbers() == ["86"] else { throw Failure("the egress server received \(numbers()), expected [\"86\"] ((42 + 1) × 2)") }
            return "POST 42 → +1 → ×2 → egress received 86; \"forty-two\" refused with 400"
        },
        Example(name: "bench_soak", runFor: 0, checksUndelivered: true) { run in
            // A short soak; `secure-executor-bench soak` runs the same for a minute under wrk.
            var answered = 0
            var trapped = 0
            for index in 1...200 {
                let answer = try await run.request(.POST, host: "soak.bench", path: "/soak", body: index % 50 == 0 ? "trap" : "event \(index)")
                switch answer.status {
                case 200: answered += 1
                case 502: trapped += 1
                default: throw Failure("POST /soak answered \(answer.status) \"\(answer.body)\", expected 200, or 502 for a trap")
                }
            }
            guard trapped == 4 else { throw Failure("4 of the 200 requests trap the function, but \(trapped) answered 502") }
            var counts = try SoakCounts.read(run.workflow)
            _ = await run.eventually(within: 5) {
                counts = (try? SoakCounts.read(run.workflow)) ?? counts
                return counts.problem(answered: answered...answered, trapped: trapped...trapped) == nil
            }
            if let problem = counts.problem(answered: answered...answered, trapped: trapped...trapped) { throw Failure(problem) }
            return
                "\(answered) answered, \(trapped) traps (front restarted \(counts.frontRestarts)×), \(counts.events) events, \(counts.timersFired) delayed casts fired"
        },
        Example(name: "bench_mapreduce", runFor: 0) { run in
            let light = try await MapReduceCheck.run(run, workflow: run.workflow, log: "logs/mapreduce.log", jobs: 1000)
            let heavy = try run.node.start(workflowAt: "workflow-heavy.json", id: "bench_mapreduce-heavy")
            let heavyResult = try await MapReduceCheck.run(run, workflow: heavy, log: "logs/mapreduce-heavy.log", jobs: 40)
            return "mapreduce only: \(light); with CPU-heavy process stage: \(heavyResult)"
        },
        Example(name: "bench_mapreduce_edgeless", runFor: 0) { run in try await EdgelessMapReduceCheck.run(run) },
        Example(name: "matrix_mul", runFor: 0) { run in try await MatrixMulCheck.run(run) },
        Example(name: "vector_mul", runFor: 0) { run in try await VectorMulCheck.run(run) },
    ]

    /// Every example this runner knows, in run order; the names `runAll(only:)` accepts.
    public static var names: [String] { examples.map(\.name) }

    /// Runs the examples found in `folder` (each copied to a scratch folder first).
    /// `finished` sees each outcome as soon as it is known.
    public static func runAll(from folder: String, only: [String] = [], logger: Logger, finished: (Outcome) -> Void = { _ in }) async -> [Outcome] {
        var outcomes: [Outcome] = []
        for example in examples where only.isEmpty || only.contains(example.name) {
            let started = Date()
            let notRun = NotRun()
            do {
                let detail = try await run(example, from: folder, logger: logger, notRun: notRun)
                outcomes.append(
                    Outcome(name: example.name, passed: true, detail: detail, seconds: Date().timeIntervalSince(started), notRun: notRun.all))
            } catch {
                outcomes.append(Outcome(name: example.name, passed: false, detail: "\(error)", seconds: Date().timeIntervalSince(started)))
            }
            finished(outcomes.last!)
        }
        return outcomes
    }

    /// One workflow of EDGELESS's examples/, as its scripts/run_all_examples.sh sees it, and
    /// what runs it here.
    public struct EdgelessWorkflow: Sendable {
        /// `folder/workflow*.json` under EDGELESS's examples/.
        public let workflow: String
        /// The script skips it unless RUN_SPECIALIZED_WORKFLOWS=1.
        public let specialised: Bool
        /// The example of ours that runs it, or nil.
        public let example: String?
        /// Why it does not run here, when `example` is nil.
        public let missing: String
    }

    /// Every workflow EDGELESS's run_all_examples.sh would start (v1.2), in its order.
    public static let edgeless: [EdgelessWorkflow] = {
        func runs(_ workflow: String, as example: String, specialised: Bool = false) -> EdgelessWorkflow {
            EdgelessWorkflow(workflow: workflow, specialised: specialised, example: example, missing: "")
        }
        func not(_ workflow: String, specialised: Bool = false, _ why: String) -> EdgelessWorkflow {
            EdgelessWorkflow(workflow: workflow, specialised: specialised, example: nil, missing: why)
        }
        let container = "function_type CONTAINER: this node runs RUST_WASM only"
        return [
            runs("bench_mapreduce/workflow-mapreduce-only.json", as: "bench_mapreduce_edgeless"),
            runs("bench_mapreduce/workflow-mapreduce-process.json", as: "bench_mapreduce_edgeless"),
            not("container/workflow-python.json", specialised: true, container),
            not("container/workflow-rust.json", specialised: true, container),
            not("dda_demo/workflow.json", specialised: true, "needs the DDA sidecar"),
            not("dda_test/workflow.json", specialised: true, "needs the DDA sidecar"),
            not("esp32_resources/workflow.json", specialised: true, "needs an ESP32 board"),
            runs("file_log/workflow.json", as: "file_log"),
            runs("file_pusher/workflow.json", as: "file_pusher"),
            runs("http_egress/workflow.json", as: "http_egress"),
            runs("http_ingress/workflow-async.json", as: "http_ingress_async"),
            runs("http_ingress/workflow-multi-1.json", as: "http_ingress_multi"),
            runs("http_ingress/workflow-multi-2.json", as: "http_ingress_multi"),
            runs("http_ingress/workflow.json", as: "http_ingress"),
            runs("http_poster/workflow.json", as: "http_poster"),
            not("kafka_egress/workflow.json", specialised: true, "needs a Kafka broker"),
            runs("load_balance/workflow.json", as: "load_balance"),
            runs("matrix_mul/workflow-chain.json", as: "matrix_mul", specialised: true),
            runs("matrix_mul/workflow-single.json", as: "matrix_mul", specialised: true),
            runs("noop/workflow.json", as: "noop"),
            not("ollama/workflow.json", specialised: true, "needs an Ollama server"),
            runs("ping_pong/workflow.json", as: "ping_pong"),
            runs("ping_pong_async/workflow.json", as: "ping_pong_async"),
            runs("redis/workflow-alt.json", as: "redis", specialised: true),
            runs("redis/workflow-state.json", as: "redis", specialised: true),
            runs("redis/workflow.json", as: "redis", specialised: true),
            runs("serverless/workflow-serverless.json", as: "serverless", specialised: true),
            runs("serverless/workflow-wasm.json", as: "serverless", specialised: true),
            not("sgx_container/workflow.json", specialised: true, container),
            runs("simple_workflow_http/workflow.json", as: "simple_workflow_http"),
            runs("sqlx/workflow.json", as: "sqlx"),
            runs("tutorial-01/workflow.json", as: "tutorial-01"),
            runs("vector_mul/workflow-chain.json", as: "vector_mul", specialised: true),
            runs("vector_mul/workflow-single.json", as: "vector_mul", specialised: true),
        ]
    }()

    /// The table `examples run-all` ends with: EDGELESS's workflows against these outcomes.
    public static func edgelessTable(_ outcomes: [Outcome]) -> [String] {
        let width = edgeless.map(\.workflow.count).max() ?? 0
        var lines = ["EDGELESS WORKFLOW (run_all_examples.sh)".padding(toLength: width, withPad: " ", startingAt: 0) + "  SET          HERE"]
        for entry in edgeless {
            let here: String
            if let example = entry.example {
                let outcome = outcomes.first { $0.name == example }
                if let why = outcome?.notRun[PathText.name(of: entry.workflow)], outcome?.passed == true {
                    here = "not run in this build (\(example)): \(why)"
                } else {
                    switch outcome?.passed {
                    case true?: here = "pass (\(example))"
                    case false?: here = "FAIL (\(example))"
                    case nil: here = "not run this time (\(example))"
                    }
                }
            } else {
                here = "not here: \(entry.missing)"
            }
            lines.append(
                entry.workflow.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + (entry.specialised ? "specialised" : "default    ") + "  " + here)
        }
        let defaults = edgeless.filter { !$0.specialised }
        let passing = defaults.filter { entry in
            outcomes.contains { $0.name == entry.example && $0.passed && $0.notRun[PathText.name(of: entry.workflow)] == nil }
        }
        lines.append("\(passing.count) of EDGELESS's \(defaults.count) default workflows pass here")
        return lines
    }

    /// The names, padded to one column, for a table of outcomes.
    public static var nameWidth: Int { max(7, examples.map(\.name.count).max() ?? 0) }

    static func run(_ example: Example, from folder: String, logger: Logger, notRun: NotRun) async throws -> String {
        let redis = example.needsRedis ? try LocalRedis() : nil
        let peer = example.needsPeer ? try await PeerServer.start(logger: logger) : nil
        var replacing: [String: String] = [:]
        if let redis { replacing["127.0.0.1:6379"] = "127.0.0.1:\(redis.port)" }
        if let peer { replacing["127.0.0.1:8089"] = peer.address }
        let scratch = NSTemporaryDirectory() + "secure-executor-example-\(example.name)-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let app: ExampleApp
        do { app = try ExampleApp.prepare(example.name, from: folder, into: scratch, replacing: replacing) } catch {
            await peer?.stop()
            throw error
        }
        let bundle = app.bundle
        let log = FunctionLog()
        // The backend's sealing key for NODE_LOCAL state, as `run` would hand one in.
        let sealingKey = SealingKey.random()
        let node = try Node(bundle: bundle, logger: log.beside(logger), sealingKey: sealingKey)
        _ = try await node.listenForIngress(port: 0)
        do {
            let workflow = try node.start(workflowAt: app.workflowPath, id: example.name)
            try await Task.sleep(for: .seconds(example.runFor))
            let detail = try await example.check(
                Run(
                    folder: scratch, node: node, workflow: workflow, redis: redis, peer: peer, log: log, notRun: notRun, bundle: bundle,
                    sealingKey: sealingKey, logger: log.beside(logger)))
            let lost = node.workflows.reduce(0) { $0 + $1.dataplane.counts.undelivered }
            if lost > 0 && !example.checksUndelivered { throw Failure("\(lost) events were not delivered") }
            await node.shutdown()
            await peer?.stop()
            return detail
        } catch {
            await node.shutdown()
            await peer?.stop()
            throw error
        }
    }
}
