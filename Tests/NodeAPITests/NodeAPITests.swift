import Examples
import Foundation
import FunctionRuntime
import HTTPServing
import Logging
import NIOHTTP1
import Node
import NodeAPI
import TestSupport
import Testing

/// The chain workflow with code paths relative to the app root, as the API takes them.
private let postedChain = chain.replacingOccurrences(of: "../functions/", with: "functions/")

private func startAPI(warnings: [String] = [], lines: Lines = Lines()) async throws -> (app: AnyObject, api: NodeAPI) {
    let metrics = NodeMetrics()
    let (app, node) = try signedApp(workflows: ["chain": chain], metrics: metrics.factory)
    let api = try await NodeAPI.start(
        node: node, metrics: metrics, warnings: warnings, port: 0,
        logger: Logger(label: "test", factory: { _ in LineHandler(lines: lines) }))
    return (app, api)
}

/// A call with the node's token, as every caller but /livez must make it.
private func call(_ api: NodeAPI, _ method: HTTPMethod, _ path: String, body: String = "") async throws -> HTTPAnswer {
    try await HTTPCall.send(method, api.baseURL + path, headers: ["authorization": api.token.authorization], body: Array(body.utf8))
}

private func unauthorizedCount(_ api: NodeAPI) async throws -> String? {
    try await call(api, .GET, "/metrics").text.split(separator: "\n").first { $0.hasPrefix("secure_executor_api_unauthorized_total ") }.map(String.init)
}

private func json(_ answer: HTTPAnswer) throws -> Any { try JSONSerialization.jsonObject(with: Data(answer.body)) }

@Suite struct NodeAPITests {
    @Test func workflowsStartListAndStopAndMetricsShowWhatHappened() async throws {
        let (app, api) = try await startAPI()
        defer { withExtendedLifetime(app) {} }

        let idle = try json(try await call(api, .GET, "/health")) as? [String: Any]
        #expect(idle?["status"] as? String == "ok")
        #expect(idle?["workflows"] as? Int == 0)

        let started = try await call(api, .POST, "/workflows?id=chain", body: postedChain)
        #expect(started.status == 201, "\(started.text)")
        let workflow = try #require(api.node.workflows.first)
        for value in 0..<500 { workflow.dataplane.inject(into: "first", payload: Array("\(value)".utf8)) }
        workflow.dataplane.drain()

        let listed = try json(try await call(api, .GET, "/workflows")) as? [[String: Any]]
        #expect(listed?.first?["id"] as? String == "chain")
        #expect(listed?.first?["delivered"] as? Int == 1500)
        #expect(listed?.first?["functions"] as? [String] == ["first", "second", "sink"])

        let instances = try json(try await call(api, .GET, "/workflows/chain/instances")) as? [[String: Any]]
        #expect(instances?.map { $0["function"] as? String } == ["first", "second", "sink"])
        #expect(instances?.allSatisfy { ($0["startup_ms"] as? Double ?? 0) > 0 && $0["state"] as? String == "running" } == true)
        #expect((try json(try await call(api, .GET, "/instances")) as? [Any])?.count == 3)

        let metrics = try await call(api, .GET, "/metrics")
        #expect(metrics.status == 200)
        for line in [
            #"secure_executor_events_delivered_total{workflow="chain"} 1500"#,
            #"secure_executor_queue_depth{workflow="chain",target="sink"} 0.0"#,
            #"secure_executor_function_startup_count{phase="total"} 3"#,
            #"secure_executor_events_per_second{workflow="chain"}"#,
        ] {
            #expect(metrics.text.contains(line), "\(line) missing from /metrics")
        }

        let stopped = try await call(api, .DELETE, "/workflows/chain")
        #expect(stopped.status == 200)
        #expect((try json(try await call(api, .GET, "/workflows")) as? [Any])?.isEmpty == true)
        #expect(try await call(api, .DELETE, "/workflows/chain").status == 404)
        #expect(!(try await call(api, .GET, "/metrics")).text.contains("secure_executor_queue_depth{workflow=\"chain\""))
        await api.stop()
    }

    @Test func badRequestsGetReasons() async throws {
        let (app, api) = try await startAPI()
        defer { withExtendedLifetime(app) {} }

        let malformed = try await call(api, .POST, "/workflows", body: "{ not json")
        #expect(malformed.status == 400)
        #expect(malformed.headers["x-secure-executor-error"] == "workflow.malformed")
        #expect(malformed.text.hasPrefix("workflow POST /workflows: not valid JSON"))
        let untrusted = try await call(api, .POST, "/workflows", body: chain)
        #expect(untrusted.status == 400)
        #expect(untrusted.headers["x-secure-executor-error"] == "workflow.refused")
        let unknown = try await call(api, .DELETE, "/workflows/none")
        #expect(unknown.status == 404)
        #expect(unknown.headers["x-secure-executor-error"] == "workflow.unknown")
        #expect(untrusted.text.contains("function first code"), "\(untrusted.text)")
        #expect(try await call(api, .GET, "/nothing").status == 404)
        #expect(try await call(api, .PUT, "/workflows").status == 405)
        #expect(try await call(api, .GET, "/workflows/none/instances").status == 404)
        #expect(api.node.workflows.isEmpty)
        await api.stop()
    }

    @Test func everyCallButLivezNeedsTheNodesToken() async throws {
        let lines = Lines()
        let (app, api) = try await startAPI(lines: lines)
        defer { withExtendedLifetime(app) {} }
        #expect(try await unauthorizedCount(api) == "secure_executor_api_unauthorized_total 0")

        for (method, path) in [
            (HTTPMethod.GET, "/health"), (.GET, "/metrics"), (.GET, "/workflows"), (.POST, "/workflows?id=chain"),
            (.DELETE, "/workflows/chain"), (.GET, "/instances"), (.GET, "/nothing"),
        ] {
            let refused = try await HTTPCall.send(method, api.baseURL + path, body: Array(postedChain.utf8))
            #expect(refused.status == 401, "\(method) \(path) answered \(refused.status) without a token")
            #expect(refused.headers["www-authenticate"] == #"Bearer realm="secure-executor node API""#)
            #expect(refused.text.contains("no credential. Send \"Authorization: Bearer TOKEN\""), "\(refused.text)")
        }
        #expect(api.node.workflows.isEmpty, "a refused POST started a workflow")

        let wrongToken = ControlToken()
        let wrong = try await HTTPCall.send(.GET, api.baseURL + "/health", headers: ["authorization": wrongToken.authorization])
        #expect(wrong.status == 401)
        #expect(wrong.headers["www-authenticate"]?.contains(#"error="invalid_token""#) == true)
        #expect(wrong.text.contains("wrong credential"), "\(wrong.text)")
        // The right token one character short, and another scheme with the right token.
        let short = try await HTTPCall.send(.GET, api.baseURL + "/health", headers: ["authorization": String(api.token.authorization.dropLast())])
        #expect(short.status == 401)
        let basic = try await HTTPCall.send(.GET, api.baseURL + "/health", headers: ["authorization": "Basic " + api.token.text])
        #expect(basic.status == 401)
        #expect(basic.text.contains("not a bearer token"), "\(basic.text)")

        #expect(try await unauthorizedCount(api) == "secure_executor_api_unauthorized_total 10")
        // Ten refusals from one address: one line in the log.
        #expect(lines.all.filter { $0.contains("node API request refused") }.count == 1, "\(lines.all)")
        #expect(!lines.all.joined().contains(api.token.text), "the token reached the log")

        let right = try await call(api, .GET, "/health")
        #expect(right.status == 200)
        #expect((try json(right) as? [String: Any])?["status"] as? String == "ok")
        let bearerAnyCase = try await HTTPCall.send(.GET, api.baseURL + "/workflows", headers: ["authorization": "bearer " + api.token.text])
        #expect(bearerAnyCase.status == 200)

        let live = try await HTTPCall.send(.GET, api.baseURL + "/livez")
        #expect(live.status == 200)
        #expect(live.text == "ok\n")
        #expect(try await unauthorizedCount(api) == "secure_executor_api_unauthorized_total 10")
        await api.stop()
    }

    @Test func warningsMakeHealthInsecure() async throws {
        let warning = "--insecure-any-signer: bundles signed by any key are accepted"
        let (app, api) = try await startAPI(warnings: [warning])
        defer { withExtendedLifetime(app) {} }
        let health = try json(try await call(api, .GET, "/health")) as? [String: Any]
        #expect(health?["status"] as? String == "insecure")
        #expect(health?["warnings"] as? [String] == [warning])
        await api.stop()

        let (secureApp, secure) = try await startAPI()
        defer { withExtendedLifetime(secureApp) {} }
        #expect((try json(try await call(secure, .GET, "/health")) as? [String: Any])?["warnings"] as? [String] == [])
        await secure.stop()
    }
}

/// A fresh parent folder for control folders; removed with `defer`.
private func scratchFolder() throws -> String {
    let folder = NSTemporaryDirectory() + "se-control-\(getpid())-\(UUID().uuidString.prefix(8))"
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false)
    return folder
}

private func mode(_ path: String) throws -> Int {
    (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) ?? -1
}

/// A scratch parent with a control folder `control` in it, the node folder of app "shop" and
/// a control file for it (not yet written).
private func shopControl() throws -> (parent: String, folder: String, shop: String, file: ControlFile) {
    let parent = try scratchFolder()
    let folder = parent + "/control"
    close(try ControlFolder.open(folder))
    return (parent, folder, ControlFile.nodeFolder(app: "shop", in: folder), ControlFile(app: "shop", url: "http://127.0.0.1:1234", token: ControlToken()))
}

@Suite struct ControlFileTests {
    @Test func eachNodeWritesAPrivateFileInItsOwnFolderThatTheCommandsFind() throws {
        let (parent, folder, shop, file) = try shopControl()
        defer { try? FileManager.default.removeItem(atPath: parent) }
        try file.write(into: shop)
        #expect(try mode(folder) == 0o700)
        #expect(try mode(shop) == 0o700)
        #expect(try mode(shop + "/control.json") == 0o600)
        #expect(ControlFile.path(app: "shop", in: folder) == folder + "/shop/control.json")
        #expect(try ControlFile.find(in: folder, app: nil) == file)
        #expect(try ControlFile.find(in: folder, app: "shop") == file)
        #expect(throws: ControlFileError.noNode(folder: folder, file: "other/control.json")) { try ControlFile.find(in: folder, app: "other") }

        let second = ControlFile(app: "../other app", url: "http://127.0.0.1:1235", token: ControlToken())
        try second.write(into: ControlFile.nodeFolder(app: second.app, in: folder))
        #expect(FileManager.default.fileExists(atPath: folder + "/_._other_app/control.json"))
        #expect(throws: ControlFileError.severalNodes(folder: folder, apps: ["_._other_app", "shop"])) { try ControlFile.find(in: folder, app: nil) }
        #expect(try ControlFile.find(in: folder, app: "../other app") == second)

        // A node removes only its own file: a newer node of the same app keeps its file.
        let newer = ControlFile(app: "shop", url: "http://127.0.0.1:1236", token: ControlToken())
        try newer.write(into: shop)
        file.remove(from: shop)
        #expect(try ControlFile.find(in: folder, app: "shop") == newer)
        newer.remove(from: shop)
        second.remove(from: ControlFile.nodeFolder(app: second.app, in: folder))
        #expect(throws: ControlFileError.noNode(folder: folder)) { try ControlFile.find(in: folder, app: nil) }
    }

    @Test func aFolderOrFileOthersCouldReachIsRefused() throws {
        let (parent, folder, shop, file) = try shopControl()
        defer { try? FileManager.default.removeItem(atPath: parent) }
        try file.write(into: shop)

        for exposedFolder in [folder, shop] {
            chmod(exposedFolder, 0o755)
            let exposed = #expect(throws: ControlFileError.self) { try ControlFile.find(in: folder, app: "shop") }
            #expect(exposed?.description.contains("mode 755") == true)
            #expect(exposed?.description.contains("must be mode 0700, owned by uid \(geteuid())") == true, "\(String(describing: exposed))")
            chmod(exposedFolder, 0o700)
        }
        chmod(shop, 0o755)
        #expect(throws: ControlFileError.self) { try file.write(into: shop) }
        chmod(shop, 0o700)

        chmod(shop + "/control.json", 0o644)
        let readable = #expect(throws: ControlFileError.self) { try ControlFile.find(in: folder, app: "shop") }
        #expect(readable?.description.contains("must be mode 0600") == true, "\(String(describing: readable))")
        chmod(shop + "/control.json", 0o600)

        if geteuid() == 0 {
            chown(shop, 4321, 4321)
            let foreign = #expect(throws: ControlFileError.self) { try ControlFolder.open(shop) }
            #expect(foreign?.description.contains("owned by uid 4321") == true, "\(String(describing: foreign))")
            chown(shop, 0, 0)
        }

        try FileManager.default.createSymbolicLink(atPath: parent + "/link", withDestinationPath: folder)
        let linked = #expect(throws: ControlFileError.self) { try ControlFolder.open(parent + "/link") }
        #expect(linked?.description.contains("symbolic link") == true, "\(String(describing: linked))")
    }

    @Test func aLinkPlantedAtTheFileNameIsReplacedNotFollowed() throws {
        let (parent, folder, shop, file) = try shopControl()
        defer { try? FileManager.default.removeItem(atPath: parent) }
        close(try ControlFolder.open(shop))
        try FileManager.default.createSymbolicLink(atPath: shop + "/control.json", withDestinationPath: parent + "/stolen")
        try file.write(into: shop)
        #expect(!FileManager.default.fileExists(atPath: parent + "/stolen"))
        #expect(try FileManager.default.attributesOfItem(atPath: shop + "/control.json")[.type] as? FileAttributeType == .typeRegular)
        #expect(try ControlFile.find(in: folder, app: "shop") == file)
    }
}

/// The metrics an EDGELESS dashboard reads (edgeless_telemetry's Prometheus target).
@Suite struct EdgelessTelemetryTests {
    @Test func functionCountExecutionAndTransferTimesCarryEdgelessNamesAndLabels() throws {
        let metrics = NodeMetrics()
        let workflow = #"{ "functions": [ \#(function("relay", code: "relay", outputs: ["out": "sink"])), \#(function("sink", code: "sink")) ] }"#
        let (app, node) = try signedApp(workflows: ["pair": workflow], metrics: metrics.factory)
        defer { withExtendedLifetime(app) {} }
        let running = try node.start(workflowAt: "workflows/pair.json", id: "pair")
        for value in 0..<5 { running.dataplane.inject(into: "relay", payload: Array(String(value).utf8)) }
        running.dataplane.drain()
        let sink = try #require(running.instances["sink"])
        _ = try sink.call(from: sink.id, payload: [])
        _ = running.dataplane.call(from: sink.id, to: .instance(sink.id), payload: [], context: CallContext())
        let nodeID = node.id.uuidString.lowercased()
        let relay = try #require(running.instances["relay"]).id.component.uuidString.lowercased()
        let text = String(decoding: metrics.exposition(node: node), as: UTF8.self)
        #expect(text.contains(#"function_count{node_id="\#(nodeID)",function_type="RUST_WASM"} 2"#), "\(text)")
        #expect(text.contains(#"execution_times_count{node_id="\#(nodeID)",function_id="\#(relay)",function_type="RUST_WASM",invocation_type="Cast"} 5"#))
        #expect(text.contains(#"invocation_type="Call"} 1"#))
        #expect(text.contains(#"transfer_times_bucket{node_id="\#(nodeID)",function_id="\#(relay)",le="0.1"} 5"#))
        try node.stop(workflow: "pair")
        let after = String(decoding: metrics.exposition(node: node), as: UTF8.self)
        #expect(after.contains(#"function_count{node_id="\#(nodeID)",function_type="RUST_WASM"} 0"#))
    }
}
