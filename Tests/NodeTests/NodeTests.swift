import Examples
import Foundation
import FunctionRuntime
import Logging
import Metrics
import NIOCore
import TestSupport
import Testing
import TrustedFiles

@testable import Node

func refusal(_ node: Node, _ path: String) -> String {
    do {
        _ = try node.start(workflowAt: path)
        return "started"
    } catch {
        return error.description
    }
}

@Suite struct WorkflowTests {
    @Test func castsMadeWhileTheWorkflowStartsAreDelivered() throws {
        // The sink is listed after the caster, so it starts after the caster's init has cast.
        let workflow = """
            { "functions": [ \(function("caster", code: "eager", outputs: ["out": "sink"])), \(function("sink", code: "sink")) ],
              "resources": [], "annotations": {} }
            """
        let (app, node) = try signedApp(workflows: ["eager": workflow])
        defer { withExtendedLifetime(app) {} }
        let running = try node.start(workflowAt: "workflows/eager.json")
        running.dataplane.drain()
        guard case let .reply(bytes) = try running.instances["sink"]!.call(from: running.instances["sink"]!.id, payload: []) else {
            Issue.record("the sink did not answer")
            return
        }
        #expect(String(decoding: bytes, as: UTF8.self) == "2 0")
        #expect(running.dataplane.counts.undelivered == 0)
        node.stopAll()
    }

    @Test func aBurstThroughAThreeFunctionChainArrivesCompleteAndInOrder() throws {
        let (app, node) = try signedApp(workflows: ["chain": chain])
        defer { withExtendedLifetime(app) {} }
        let workflow = try node.start(workflowAt: "workflows/chain.json")
        let events = 100_000
        for index in 0..<events { workflow.dataplane.inject(into: "first", payload: Array(String(index).utf8)) }
        workflow.dataplane.drain()
        let sink = try #require(workflow.instances["sink"])
        #expect(try sink.call(from: sink.id, payload: []) == .reply(Array("\(events) 0".utf8)))
        #expect(workflow.dataplane.counts.undelivered == 0)
        #expect(workflow.dataplane.counts.delivered == 3 * events)
    }

    @Test func badWorkflowsAreRefusedWithReasons() throws {
        let (app, node) = try signedApp(workflows: [
            "type":
                #"{"functions": [{"name": "f", "class_specification": {"id": "f", "function_type": "CONTAINER", "version": "1", "code": "../functions/relay.wasm", "outputs": []}}]}"#,
            "code":
                #"{"functions": [{"name": "f", "class_specification": {"id": "f", "function_type": "RUST_WASM", "version": "1", "code": "../functions/absent.wasm", "outputs": []}}]}"#,
            "mapping": "{ \"functions\": [ \(function("f", code: "relay", outputs: ["out": "nobody"])) ] }",
            "resource": #"{"resources": [{"name": "r", "class_type": "kafka", "configurations": {}}]}"#,
            "dda": #"{"resources": [{"name": "r", "class_type": "dda", "configurations": {}}]}"#,
            "config": #"{"resources": [{"name": "log", "class_type": "file-log", "configurations": {"file": "x"}}]}"#,
            "json": #"{"functions": [{"name": 3}]}"#,
            "twice": "{ \"functions\": [ \(function("f", code: "relay")), \(function("f", code: "sink")) ] }",
        ])
        defer { withExtendedLifetime(app) {} }
        #expect(refusal(node, "workflows/type.json").contains("function f: function_type \"CONTAINER\" is not supported"))
        #expect(refusal(node, "workflows/code.json").contains("function f: function code functions/absent.wasm cannot be used"))
        #expect(refusal(node, "workflows/mapping.json").contains("output \"out\" is mapped to \"nobody\", which is not a function or resource"))
        #expect(refusal(node, "workflows/resource.json").contains("unknown class_type \"kafka\""))
        #expect(refusal(node, "workflows/dda.json").contains("class_type \"dda\" is not supported here: it needs the DDA sidecar"))
        #expect(refusal(node, "workflows/config.json").contains("configuration \"filename\" is required for file-log"))
        #expect(refusal(node, "workflows/json.json").contains("field \"functions[0].name\" must be a string"))
        #expect(refusal(node, "workflows/twice.json").contains("name \"f\" is used twice"))
        #expect(refusal(node, "workflows/absent.json").contains("workflows/absent.json"))
        #expect(node.workflows.isEmpty)
    }

    @Test func callCyclesThatCannotTerminateAreRefused() {
        let workflow = try! Workflow.parse(
            Data(
                """
                { "functions": [ \(function("a", code: "x", outputs: ["out": "b"])), \(function("b", code: "x", outputs: ["out": "a"])),
                                 \(function("c", code: "x", outputs: ["out": "a"])) ] }
                """.utf8), source: "w")
        #expect(
            WorkflowCheck.callCycles(workflow) { _ in true } == [
                "call cycle a → b → a: every function in it makes synchronous calls to the next, which cannot terminate"
            ])
        #expect(WorkflowCheck.callCycles(workflow) { $0 != "b" }.isEmpty)
    }

    @Test func aCrashingWorkflowDoesNotDisturbAnother() throws {
        let (app, node) = try signedApp(workflows: [
            "chain": chain,
            "crash": "{ \"functions\": [ \(function("boom", code: "crasher")) ] }",
        ])
        defer { withExtendedLifetime(app) {} }
        let good = try node.start(workflowAt: "workflows/chain.json")
        let bad = try node.start(workflowAt: "workflows/crash.json")
        for index in 0..<100 {
            bad.dataplane.inject(into: "boom", payload: Array("x".utf8))
            good.dataplane.inject(into: "first", payload: Array(String(index).utf8))
        }
        bad.dataplane.drain()
        good.dataplane.drain()
        #expect(bad.dataplane.counts.undelivered == 100)
        #expect(good.dataplane.counts.undelivered == 0)
        let sink = try #require(good.instances["sink"])
        #expect(try sink.call(from: sink.id, payload: []) == .reply(Array("100 0".utf8)))
    }

    @Test func stoppingFreesInstancesAndKeepsSyncedState() throws {
        let (app, node) = try signedApp(workflows: ["chain": chain])
        defer { withExtendedLifetime(app) {} }
        let first = try node.start(workflowAt: "workflows/chain.json", id: "w1")
        for index in 0..<10 { first.dataplane.inject(into: "first", payload: Array(String(index).utf8)) }
        first.dataplane.drain()
        try node.stop(workflow: "w1")
        #expect(node.workflows.isEmpty)
        #expect(first.instances.values.allSatisfy { $0.state == .stopped })
        #expect(throws: NodeError.unknownWorkflow("w1")) { try node.stop(workflow: "w1") }
        let second = try node.start(workflowAt: "workflows/chain.json", id: "w1")
        let sink = try #require(second.instances["sink"])
        #expect(try sink.call(from: sink.id, payload: []) == .reply(Array("10 0".utf8)))
    }

    @Test func fileLogWritesTheSenderAsEdgelessDoesAndKeysCountByPresence() throws {
        let log =
            #"{"name": "log", "class_type": "file-log", "configurations": {"filename": "logs/ids.log", "add-source-id": "true", "add-timestamp": "false"}}"#
        let (app, node) = try signedApp(workflows: [
            "ids": "{ \"resources\": [\(log)], \"functions\": [ \(function("relay", code: "relay", outputs: ["out": "log"])) ] }"
        ])
        let workflow = try node.start(workflowAt: "workflows/ids.json")
        workflow.dataplane.inject(into: "relay", payload: Array("from the relay".utf8))
        workflow.dataplane.drain()
        workflow.dataplane.inject(into: "log", payload: Array("from outside".utf8))
        try node.stop(workflow: workflow.id)
        let relay = try #require(workflow.instances["relay"])
        let lines = String(decoding: try app.read("logs/ids.log"), as: UTF8.self).split(separator: "\n").map(String.init)
        #expect(lines.count == 2)
        // "add-timestamp": "false" is present, so on, as in EDGELESS: the line starts with the time.
        #expect(
            lines[0].wholeMatch(of: /\d{4}-\d\d-\d\dT[^ ]+Z InstanceId\(node_id: [0-9a-f-]{36}, function_id: [0-9a-f-]{36}\) from the relay/) != nil, "\(lines)"
        )
        #expect(lines[0].contains("function_id: \(relay.id.component.uuidString.lowercased())"))
        #expect(lines[1].hasSuffix(" external from outside"), "\(lines)")
    }

    @Test func anInlineBinaryRunsOnlyIfItIsTheSignedCode() throws {
        func withBinary(_ bytes: [UInt8]?, code: String? = "../functions/relay.wasm") -> String {
            let binary = bytes.map { ", \"binary\": [\($0.map(String.init).joined(separator: ","))]" } ?? ""
            let path = code.map { ", \"code\": \"\($0)\"" } ?? ""
            return #"{"functions": [{"name": "f", "class_specification": {"id": "f", "function_type": "RUST_WASM", "version": "1""#
                + path + binary + #", "outputs": []}}]}"#
        }
        let relay = try functions.code("relay").bytes
        var tampered = relay
        tampered[tampered.count - 1] ^= 0xFF
        let (app, node) = try signedApp(workflows: [
            "same": withBinary(relay), "tampered": withBinary(tampered), "alone": withBinary(relay, code: nil),
        ])
        defer { withExtendedLifetime(app) {} }
        let started = try node.start(workflowAt: "workflows/same.json")
        #expect(started.instances["f"] != nil)
        #expect(refusal(node, "workflows/tampered.json").contains("class_specification.binary (\(relay.count) bytes, SHA-256 "))
        #expect(refusal(node, "workflows/tampered.json").contains("is not the signed functions/relay.wasm"))
        #expect(refusal(node, "workflows/alone.json").contains("has no code path; this node runs only signed files, named by code (a binary alone is not one)"))
    }

    @Test func placementAnnotationsThisNodeCannotMeetAreRefusedWithTheReason() throws {
        func annotated(_ annotations: String) -> String {
            #"{"functions": [{"name": "f", "class_specification": {"id": "f", "function_type": "RUST_WASM", "version": "1", "code": "../functions/relay.wasm", "outputs": []}, "annotations": {"#
                + annotations + "}}]}"
        }
        let (app, node) = try signedApp(workflows: [
            "tee": annotated(#""tee": "Required""#), "tpm": annotated(#""tpm": "required""#),
            "kafka": annotated(#""resource_match_all": "redis,kafka-egress""#),
            "fine": annotated(#""tee": "not-required", "max_instances": "3", "label_match_all": "gpu", "resource_match_all": "redis,file-log""#),
        ])
        defer { withExtendedLifetime(app) {} }
        #expect(refusal(node, "workflows/tee.json").contains("functions[0].annotations.tee is \"required\", and this node runs no hardware TEE"))
        #expect(refusal(node, "workflows/tpm.json").contains("functions[0].annotations.tpm is \"required\", and this node offers no TPM"))
        #expect(refusal(node, "workflows/kafka.json").contains("asks for kafka-egress, which this node does not run"))
        #expect(try node.start(workflowAt: "workflows/fine.json").instances["f"] != nil)
    }

    @Test func filePusherCastsItsFolderRoundRobinAndRefusesAFolderItMayNotRead() async throws {
        func pusher(_ directory: String, period: String = "20") -> String {
            """
            { "resources": [
                { "name": "push", "class_type": "file-pusher", "output_mapping": { "out": "log" },
                  "configurations": { "directory": "\(directory)", "period-ms": "\(period)", "encode-base64": "true" } },
                { "name": "log", "class_type": "file-log", "configurations": { "filename": "logs/pushed.log" } } ] }
            """
        }
        let (app, node) = try signedApp(workflows: ["allowed": pusher("logs/push"), "nowhere": pusher("data"), "slow": pusher("logs/push", period: "0")])
        try app.write("logs/push/b.txt", "second")
        try app.write("logs/push/a.txt", "first")
        _ = try node.start(workflowAt: "workflows/allowed.json", id: "push")
        let pushed = { String(decoding: (try? app.read("logs/pushed.log")) ?? [], as: UTF8.self).split(separator: "\n").map(String.init) }
        #expect(try await eventually(within: 10) { pushed().count >= 3 })
        try node.stop(workflow: "push")
        #expect(Array(pushed().prefix(3)) == ["Zmlyc3Q=", "c2Vjb25k", "Zmlyc3Q="], "first, second, first, base64-encoded")
        #expect(refusal(node, "workflows/nowhere.json").contains("directory \"data\" holds no signed file and is not under [allowed] files"))
        #expect(refusal(node, "workflows/slow.json").contains("period-ms \"0\" must be a whole number of milliseconds, at least 1"))
        let edgeless =
            #"{"resources": [{"name": "push", "class_type": "file-pusher", "output_mapping": {"out": "log"}, "configurations": {"period-ms": "1000"}}, "#
            + #"{"name": "log", "class_type": "file-log", "configurations": {"filename": "logs/x.log"}}]}"#
        let (bare, withoutFolder) = try signedApp(workflows: ["edgeless": edgeless])
        defer { withExtendedLifetime(bare) {} }
        #expect(refusal(withoutFolder, "workflows/edgeless.json").contains("no folder to push from: set [node] file_pusher_directory"))
        let (configured, withFolder) = try signedApp(workflows: ["edgeless": edgeless], policy: "[node]\nfile_pusher_directory = \"workflows\"\n")
        defer { withExtendedLifetime(configured) {} }
        #expect(try withFolder.start(workflowAt: "workflows/edgeless.json").resources["push"] != nil, "EDGELESS's workflow, unchanged, with the node's folder")
    }

    @Test func fileLogAppendsLinesToAnAllowedFile() throws {
        let (app, node) = try signedApp(workflows: [
            "log":
                #"{"resources": [{"name": "log", "class_type": "file-log", "configurations": {"filename": "logs/out.log", "add-timestamp": "true"}}], "functions": []}"#,
            "escape": #"{"resources": [{"name": "log", "class_type": "file-log", "configurations": {"filename": "functions/relay.wasm"}}], "functions": []}"#,
        ])
        let workflow = try node.start(workflowAt: "workflows/log.json")
        workflow.dataplane.inject(into: "log", payload: Array("first".utf8))
        workflow.dataplane.inject(into: "log", payload: Array("second".utf8))
        try node.stop(workflow: workflow.id)
        let lines = String(decoding: try app.read("logs/out.log"), as: UTF8.self).split(separator: "\n")
        #expect(lines.count == 2)
        #expect(lines[0].hasSuffix(" first") && lines[1].hasSuffix(" second"))
        #expect(lines[0].contains("T") && lines[0].contains("Z "))
        #expect(refusal(node, "workflows/escape.json").contains("cannot be opened for writing"))
    }
}

@Suite struct RedisResourceTests {
    @Test func castsBecomeTheKeysValue() throws {
        let redis = try LocalRedis()
        let resource = try RedisResource(name: "store", configuration: ["url": redis.url, "key": "reading"])
        try resource.cast(payload: Array("21".utf8))
        #expect(try redis.get("reading") == "21")
        // A call GETs the key it names, as EDGELESS's redis resource does.
        #expect(resource.call(payload: Array("reading".utf8)) == .reply(Array("21".utf8)))
        guard case let .error(missing) = resource.call(payload: Array("nothing-here".utf8)) else {
            Issue.record("a missing key gave a value")
            return
        }
        #expect(missing.contains("no key nothing-here"), "\(missing)")
        // Binary payloads are stored and read back as they are.
        try resource.cast(payload: [0x41, 0x00, 0x42])
        #expect(resource.call(payload: Array("reading".utf8)) == .reply([0x41, 0x00, 0x42]))
        resource.stop()
    }

    @Test func addWorkflowIDPrefixesBothKeysAndAKeylessResourceOnlyReads() throws {
        let redis = try LocalRedis()
        let prefixed = try RedisResource(
            name: "store", configuration: ["url": redis.url, "key": "k", "add-workflow-id": ""], workflow: "wf-1", maxReplyBytes: 4)
        try prefixed.cast(payload: Array("v".utf8))
        #expect(try redis.get("wf-1:k") == "v" && redis.get("k") == "")
        #expect(prefixed.call(payload: Array("k".utf8)) == .reply(Array("v".utf8)))
        try prefixed.cast(payload: Array("too long".utf8))
        guard case let .error(oversized) = prefixed.call(payload: Array("k".utf8)) else {
            Issue.record("a value over the payload limit reached the function")
            return
        }
        #expect(oversized.contains("over the payload limit of 4"), "\(oversized)")
        let reader = try RedisResource(name: "reader", configuration: ["url": redis.url])
        #expect(reader.call(payload: Array("wf-1:k".utf8)) == .reply(Array("too long".utf8)))
        #expect {
            try reader.cast(payload: Array("x".utf8))
        } throws: { error in
            "\(error)".contains("has none")
        }
    }

    @Test func unreachableServerAndBadConfigurationAreNamed() throws {
        let held = HeldPort(listening: false)
        let closed = try RedisResource(name: "store", configuration: ["url": "redis://127.0.0.1:\(held.port)/", "key": "k"])
        #expect(throws: NodeError.self) { try closed.cast(payload: Array("1".utf8)) }
        guard case let .error(reason) = closed.call(payload: Array("1".utf8)) else {
            Issue.record("no error")
            return
        }
        #expect(reason.contains("cannot connect to redis"))
        #expect(throws: NodeError.resource("r", "url \"http://x\" is not redis://HOST:PORT[/DB]")) {
            try RedisResource(name: "r", configuration: ["url": "http://x", "key": "k"])
        }
        #expect(throws: NodeError.self) { try RedisResource(name: "r", configuration: ["url": "redis://127.0.0.1:1/", "key": ""]) }
    }

    @Test func aDroppedConnectionIsReopenedAndTheCastStillLands() throws {
        let redis = try LocalRedis()
        let resource = try RedisResource(name: "store", configuration: ["url": redis.url, "key": "reading"])
        try resource.cast(payload: Array("1".utf8))
        #expect(try redis.command(["CLIENT", "KILL", "TYPE", "normal"]) == "1")
        try resource.cast(payload: Array("2".utf8))
        #expect(try redis.get("reading") == "2")
    }

    @Test func aDatabaseInTheURLIsSelectedFirst() throws {
        let redis = try LocalRedis()
        let resource = try RedisResource(name: "store", configuration: ["url": redis.url + "3", "key": "reading"])
        try resource.cast(payload: Array("in three".utf8))
        #expect(try redis.get("reading") == "")
        #expect(try redis.command(["-n", "3", "GET", "reading"]) == "in three")
        let missing = try RedisResource(name: "store", configuration: ["url": redis.url + "99", "key": "reading"])
        #expect(throws: NodeError.self) { try missing.cast(payload: Array("x".utf8)) }
    }

    @Test func aServerThatNeverAnswersTimesOutNamingTheWait() throws {
        let silent = HeldPort(listening: true)
        let resource = try RedisResource(
            name: "store", configuration: ["url": "redis://127.0.0.1:\(silent.port)/", "key": "k"], timeout: .milliseconds(200))
        guard case let .error(reason) = resource.call(payload: Array("1".utf8)) else {
            Issue.record("a silent server got an answer")
            return
        }
        #expect(reason.contains("did not answer within 200 ms"), "\(reason)")
    }
}

@Suite struct RESPReplyTests {
    func parse(_ text: String) throws(RedisFailure) -> RedisReply? {
        var buffer = ByteBuffer(string: text)
        return try RESPReplyDecoder.parse(&buffer)
    }

    @Test func everyReplyKindTheNodeReads() throws {
        #expect(try parse("+OK\r\n") == .status("OK"))
        #expect(try parse("-ERR wrong\r\n") == .error("ERR wrong"))
        #expect(try parse(":42\r\n") == .integer(42))
        #expect(try parse("$5\r\nab\r\nc\r\n") == .bulk(Array("ab\r\nc".utf8)))
        #expect(try parse("$-1\r\n") == .bulk(nil))
    }

    @Test func anIncompleteReplyConsumesNothing() throws {
        var buffer = ByteBuffer(string: "$5\r\nab")
        #expect(try RESPReplyDecoder.parse(&buffer) == nil)
        #expect(buffer.readableBytes == 6)
        buffer.writeString("cde\r\n+OK\r\n")
        #expect(try RESPReplyDecoder.parse(&buffer) == .bulk(Array("abcde".utf8)))
        #expect(try RESPReplyDecoder.parse(&buffer) == .status("OK"))
    }

    @Test func hostileRepliesAreRefusedWithTheReason() {
        let cases: [(String, String)] = [
            ("*2\r\n", "does not read"),
            ("$999999999\r\n", "outside -1"),
            (":12x\r\n", "malformed integer"),
            ("+OK\n", "without CRLF"),
            ("$2\r\nabXY", "without its CRLF"),
            ("+" + String(repeating: "a", count: 5000), "longer than 4096"),
        ]
        for (reply, reason) in cases {
            #expect {
                try parse(reply)
            } throws: { error in
                "\(error)".contains(reason)
            }
        }
    }
}

/// A resource that takes its time and remembers what it got, in order.
private final class SlowResource: Resource, @unchecked Sendable {
    let name = "slow"
    let delay: TimeInterval
    private let lock = NSLock()
    private var received: [String] = []
    init(delay: TimeInterval) { self.delay = delay }
    func cast(payload: [UInt8]) throws {
        Thread.sleep(forTimeInterval: delay)
        lock.lock()
        received.append(String(decoding: payload, as: UTF8.self))
        lock.unlock()
    }
    func stop() {}
    var got: [String] {
        lock.lock()
        defer { lock.unlock() }
        return received
    }
}

@Suite struct BackpressureTests {
    @Test func aFullQueueMakesSendersWaitAndKeepsOrder() {
        let slow = SlowResource(delay: 0.002)
        let dataplane = Dataplane(
            workflow: "w", queueCapacity: 2, backpressureTimeout: .seconds(5),
            logger: Logger(label: "t", factory: { _ in SwiftLogNoOpLogHandler() }))
        dataplane.add("slow", endpoint: .resource(slow), outputs: [:])
        for index in 0..<50 { dataplane.inject(into: "slow", payload: Array(String(index).utf8)) }
        dataplane.drain()
        #expect(slow.got == (0..<50).map(String.init))
        #expect(dataplane.counts.delivered == 50 && dataplane.counts.undelivered == 0)
    }

    @Test func eventsThatCannotWaitAreCountedNotLost() {
        let slow = SlowResource(delay: 0.05)
        let dataplane = Dataplane(
            workflow: "w", queueCapacity: 1, backpressureTimeout: .milliseconds(5),
            logger: Logger(label: "t", factory: { _ in SwiftLogNoOpLogHandler() }))
        dataplane.add("slow", endpoint: .resource(slow), outputs: [:])
        for index in 0..<10 { dataplane.inject(into: "slow", payload: Array(String(index).utf8)) }
        dataplane.inject(into: "nobody", payload: Array("x".utf8))
        dataplane.drain()
        let counts = dataplane.counts
        #expect(counts.undelivered > 0)
        #expect(counts.delivered + counts.undelivered == 11)
        #expect(slow.got.count == counts.delivered)
    }
}
