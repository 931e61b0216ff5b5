import Examples
import Foundation
import HTTPServing
import Logging
import NIOHTTP1
import Node
import NodeAPI
import Testing

/// The chain workflow with code paths relative to the app root, as the API takes them.
private let postedChain = chain.replacingOccurrences(of: "../functions/", with: "functions/")

private func startAPI() async throws -> (app: AnyObject, api: NodeAPI) {
    let metrics = NodeMetrics()
    let (app, node) = try signedApp(workflows: ["chain": chain], metrics: metrics.factory)
    let api = try await NodeAPI.start(node: node, metrics: metrics, port: 0, logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
    return (app, api)
}

private func call(_ api: NodeAPI, _ method: HTTPMethod, _ path: String, body: String = "") async throws -> HTTPAnswer {
    try await HTTPCall.send(method, api.baseURL + path, body: Array(body.utf8))
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
        for line in [#"secure_executor_events_delivered_total{workflow="chain"} 1500"#,
                     #"secure_executor_queue_depth{workflow="chain",target="sink"} 0.0"#,
                     #"secure_executor_function_startup_count{phase="total"} 3"#,
                     #"secure_executor_events_per_second{workflow="chain"}"#] {
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
        #expect(malformed.text.hasPrefix("workflow POST /workflows: not valid JSON"))
        let untrusted = try await call(api, .POST, "/workflows", body: chain)
        #expect(untrusted.status == 400)
        #expect(untrusted.text.contains("function first code"), "\(untrusted.text)")
        #expect(try await call(api, .GET, "/nothing").status == 404)
        #expect(try await call(api, .PUT, "/workflows").status == 405)
        #expect(try await call(api, .GET, "/workflows/none/instances").status == 404)
        #expect(api.node.workflows.isEmpty)
        await api.stop()
    }
}
