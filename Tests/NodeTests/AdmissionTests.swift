import Foundation
import TestSupport
import Testing

@testable import Node

/// Issue 11 §2: every workflow, signed or not, is bounded by the signed `[policy]` and
/// `[limits]`; a refusal names the workflow key and the manifest line that forbids it.
private func resourceWorkflow(_ resource: String) -> String {
    "{ \"functions\": [ \(function("sink", code: "sink")) ], \"resources\": [ \(resource) ] }"
}

private func fromAPI(_ node: Node, _ json: String, id: String? = nil) -> String {
    do {
        _ = try node.start(Data(json.utf8), source: .api("POST /workflows"), codeFolder: "workflows", id: id)
        return "started"
    } catch {
        return error.description
    }
}

// The manifest `signedApp` writes holds 7 lines; the policy starts on line 8.
private let policy = """
    [policy.http-egress]
    hosts = ["api.example.com", "127.0.0.1:*"]
    schemes = ["http", "https"]
    [policy.redis]
    endpoints = ["127.0.0.1:6379"]
    [policy.file-log]
    paths = ["logs/app.log"]
    [policy.http-ingress]
    hosts = ["shop.test", "*.shop.test"]
    paths = ["/api/", "/static/"]
    [limits]
    fuel = 1000000
    """

@Suite struct AdmissionTests {
    @Test func egressTheWorkflowWidensIsRefusedNamingBothKeys() throws {
        let (app, node) = try signedApp(
            workflows: [
                "wide": resourceWorkflow(
                    #"{"name": "out", "class_type": "http-egress", "configurations": {"allowed-hosts": "api.example.com, evil.example"}}"#),
                "narrow": resourceWorkflow(#"{"name": "out", "class_type": "http-egress", "configurations": {"allowed-hosts": "api.example.com"}}"#),
            ], policy: policy)
        defer { withExtendedLifetime(app) {} }
        #expect(
            refusal(node, "workflows/wide.json") == """
                workflow workflows/wide.json is refused:
                  - resources[0].configurations.allowed-hosts "evil.example" widens policy.http-egress.hosts (app.toml:9): api.example.com, 127.0.0.1:*; a workflow may only narrow it
                """)
        #expect(refusal(node, "workflows/narrow.json") == "started")
    }

    @Test func withoutAnEgressPolicyNoEgressResourceStarts() throws {
        let (app, node) = try signedApp(workflows: ["out": resourceWorkflow(#"{"name": "out", "class_type": "http-egress", "configurations": {}}"#)])
        defer { withExtendedLifetime(app) {} }
        #expect(
            refusal(node, "workflows/out.json").contains(
                "resources[0] (http-egress out): policy.http-egress.hosts (app.toml, not set (default: none)) allows no destination"))
    }

    @Test func redisEndpointsOutsideThePolicyAndBadNumbersAreRefused() throws {
        let (app, node) = try signedApp(
            workflows: [
                "other": resourceWorkflow(#"{"name": "db", "class_type": "redis", "configurations": {"url": "redis://10.0.0.9:6379/", "key": "k"}}"#),
                "port": resourceWorkflow(#"{"name": "db", "class_type": "redis", "configurations": {"url": "redis://127.0.0.1:99999/", "key": "k"}}"#),
                "huge": resourceWorkflow(
                    #"{"name": "db", "class_type": "redis", "configurations": {"url": "redis://127.0.0.1:99999999999999999999999/", "key": "k"}}"#),
                "db": resourceWorkflow(#"{"name": "db", "class_type": "redis", "configurations": {"url": "redis://127.0.0.1:6379/99999999999", "key": "k"}}"#),
            ], policy: policy)
        defer { withExtendedLifetime(app) {} }
        #expect(
            refusal(node, "workflows/other.json").contains(
                "resources[0].configurations.url \"redis://10.0.0.9:6379/\": 10.0.0.9:6379 is not among policy.redis.endpoints (app.toml:12): 127.0.0.1:6379"))
        #expect(
            refusal(node, "workflows/port.json").contains(
                "resources[0].configurations.url: url \"redis://127.0.0.1:99999/\": port \"99999\" is not a number from 1 to 65535"))
        #expect(refusal(node, "workflows/huge.json").contains("port \"99999999999999999999999\" is not a number from 1 to 65535"))
        #expect(refusal(node, "workflows/db.json").contains("is not a whole number from 0 to 2147483647"))
        #expect(node.workflows.isEmpty)
    }

    @Test func fileLogsOutsideTheNarrowedPathsAreRefused() throws {
        let (app, node) = try signedApp(
            workflows: [
                "other": resourceWorkflow(#"{"name": "log", "class_type": "file-log", "configurations": {"filename": "logs/other.log"}}"#),
                "app": resourceWorkflow(#"{"name": "log", "class_type": "file-log", "configurations": {"filename": "logs/app.log"}}"#),
            ], policy: policy)
        defer { withExtendedLifetime(app) {} }
        #expect(
            refusal(node, "workflows/other.json").contains(
                "resources[0].configurations.filename \"logs/other.log\" is not under policy.file-log.paths (app.toml:14): logs/app.log"))
        #expect(refusal(node, "workflows/app.json") == "started")
    }

    @Test func ingressRoutesOutsideThePolicyAreRefused() async throws {
        let (app, node) = try signedApp(
            workflows: [
                "host": resourceWorkflow(
                    #"{"name": "in", "class_type": "http-ingress", "configurations": {"host": "bank.test", "methods": "POST", "path": "/api/"}}"#),
                "any": resourceWorkflow(#"{"name": "in", "class_type": "http-ingress", "configurations": {"host": "*", "methods": "POST", "path": "/api/"}}"#),
                "path": resourceWorkflow(
                    #"{"name": "in", "class_type": "http-ingress", "configurations": {"host": "www.shop.test", "methods": "POST", "path": "/admin/"}}"#),
                "fine": resourceWorkflow(
                    #"{"name": "in", "class_type": "http-ingress", "configurations": {"host": "www.shop.test", "methods": "POST", "path": "/api/v1/"}}"#),
            ], policy: policy)
        defer { withExtendedLifetime(app) {} }
        _ = try await node.listenForIngress(port: 0)
        #expect(
            refusal(node, "workflows/host.json").contains(
                "resources[0].configurations.host \"bank.test\" is not among policy.http-ingress.hosts (app.toml:16): shop.test, *.shop.test"))
        #expect(refusal(node, "workflows/any.json").contains("(claiming any host needs \"*\" there)"))
        #expect(
            refusal(node, "workflows/path.json").contains(
                "resources[0].configurations.path \"/admin/\" is not under policy.http-ingress.paths (app.toml:17): /api/, /static/"))
        #expect(refusal(node, "workflows/fine.json") == "started")
        await node.shutdown()
    }

    @Test func aWorkflowFromTheAPICannotTakeOverTheSignedRoutes() async throws {
        let shop = resourceWorkflow(
            #"{"name": "in", "class_type": "http-ingress", "configurations": {"host": "shop.test", "methods": "POST", "path": "/api/"}}"#)
        let (app, node) = try signedApp(
            workflows: ["shop": shop, "extra": shop.replacingOccurrences(of: "shop.test", with: "extra.shop.test")],
            policy: policy + "\n[workflow]\nfile = \"workflows/shop.json\"\n")
        defer { withExtendedLifetime(app) {} }
        _ = try await node.listenForIngress(port: 0)
        _ = try node.start(workflowAt: "workflows/shop.json", id: "shop")
        _ = try node.start(workflowAt: "workflows/extra.json", id: "extra")
        // The same route, a route nested inside it, or one for any host over it: all refused.
        let nested = shop.replacingOccurrences(of: "\"/api/\"", with: "\"/api/orders/\"")
        let anyHost = shop.replacingOccurrences(of: "\"shop.test\"", with: "\"*\"")
        #expect(
            fromAPI(node, shop) == """
                workflow POST /workflows is refused:
                  - resources[0] (http-ingress in): host shop.test, path /api/* overlaps host shop.test, path /api/*, reserved by resource in of workflow workflows/shop.json of the signed application; a workflow from POST /workflows may not claim, overlap or nest inside it
                """)
        #expect(fromAPI(node, nested).contains("path /api/orders/* overlaps host shop.test, path /api/*, reserved by"))
        #expect(fromAPI(node, anyHost).contains("may not claim, overlap or nest inside it"))
        // A running signed workflow's routes are reserved too, while it runs.
        #expect(fromAPI(node, shop.replacingOccurrences(of: "shop.test", with: "extra.shop.test")).contains("reserved by resource in of workflow extra"))
        // The manifest's [workflow] keeps its routes even when it is stopped, also under its id.
        try node.stop(workflow: "shop")
        #expect(fromAPI(node, shop, id: "shop").contains("may not claim, overlap or nest inside it"))
        #expect(node.workflows.map(\.id) == ["extra"])
        await node.shutdown()
    }

    @Test func savedStateFollowsTheSignedCodeAndFunctionNameNotTheWorkflowID() throws {
        let renamed = chain.replacingOccurrences(of: "\"name\": \"sink\"", with: "\"name\": \"tally\"")
            .replacingOccurrences(of: "\"out\": \"sink\"", with: "\"out\": \"tally\"")
        let (app, node) = try signedApp(workflows: ["chain": chain, "renamed": renamed])
        defer { withExtendedLifetime(app) {} }
        let first = try node.start(workflowAt: "workflows/chain.json", id: "w1")
        for index in 0..<10 { first.dataplane.inject(into: "first", payload: Array(String(index).utf8)) }
        first.dataplane.drain()
        try node.stop(workflow: "w1")
        // Another id, the same function of the same code: its state.
        let again = try node.start(workflowAt: "workflows/chain.json", id: "another-id")
        let sink = try #require(again.instances["sink"])
        #expect(try sink.call(from: sink.id, payload: []) == .reply(Array("10 0".utf8)))
        try node.stop(workflow: "another-id")
        // The id that synced it, but another function name: a fresh start.
        let other = try node.start(workflowAt: "workflows/renamed.json", id: "w1")
        let tally = try #require(other.instances["tally"])
        #expect(try tally.call(from: tally.id, payload: []) != .reply(Array("10 0".utf8)))
    }

    @Test func limitsAWorkflowAsksForMayOnlyBeLower() throws {
        func asking(_ annotations: String) -> String {
            """
            { "functions": [ { "name": "sink", "class_specification": { "id": "sink", "function_type": "RUST_WASM", "version": "0.1",
              "code": "../functions/sink.wasm", "outputs": [] }, "output_mapping": {}, "annotations": { \(annotations) } } ] }
            """
        }
        let (app, node) = try signedApp(
            workflows: [
                "fuel": asking(#""fuel": "5000000""#),
                "memory": asking(#""memory": "64 GiB""#),
                "timers": asking(#""timers": "100000""#),
                "junk": asking(#""payload": "lots""#),
                "lower": asking(#""fuel": "500000", "memory": "1 MiB", "timers": "2", "timer_bytes": "4 KiB""#),
            ], policy: policy)
        defer { withExtendedLifetime(app) {} }
        #expect(
            refusal(node, "workflows/fuel.json").contains(
                "functions[0].annotations.fuel = 5000000 is above limits.fuel (app.toml:19), which is 1000000; a workflow may only lower it"))
        #expect(refusal(node, "workflows/memory.json").contains("functions[0].annotations.memory = 68719476736 is above limits.memory"))
        #expect(
            refusal(node, "workflows/timers.json").contains(
                "functions[0].annotations.timers = 100000 is above limits.timers (app.toml, not set (default: 64)), which is 64"))
        #expect(refusal(node, "workflows/junk.json").contains("functions[0].annotations.payload \"lots\" must be a size"))
        let lower = try node.start(workflowAt: "workflows/lower.json")
        let limits = try #require(lower.instances["sink"]).limits
        #expect(limits.fuel == 500_000 && limits.memoryBytes == 1 << 20 && limits.pendingTimers == 2 && limits.pendingTimerBytes == 4096)
    }
}
