import Foundation
import FunctionRuntime
import Logging
import SealedState
import TestSupport
import Testing
import TrustedFiles

@testable import Node

@Suite struct StatePolicyTests {
    static func sink(policy: String) -> String {
        """
        { "functions": [ { "name": "sink", "class_specification": { "id": "sink", "function_type": "RUST_WASM", "version": "0.1",
            "code": "../functions/sink.wasm", "outputs": [] }, "annotations": { "state_policy": "\(policy)" } } ] }
        """
    }

    static let folder = "[node]\nstate_directory = \"logs/state\"\n"

    /// A second node on the same signed app: a restart, with nothing kept in memory.
    static func restarted(_ app: TemporaryApp, signer: PublicKey, key: SealingKey?) throws -> Node {
        let bundle = try SignedBundle.load(manifestPath: app.path("app.toml"), signer: signer)
        return try Node(bundle: bundle, logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }), sealingKey: key)
    }

    static func count(_ workflow: Node.RunningWorkflow) throws -> String {
        guard case let .reply(bytes) = try workflow.instances["sink"]!.call(from: workflow.instances["sink"]!.id, payload: []) else { return "" }
        return String(decoding: bytes, as: UTF8.self)
    }

    @Test func nodeLocalStateOutlivesTheNodeAndAForeignKeyOpensNothing() throws {
        let key = SealingKey.random()
        let (app, _) = try signedApp(workflows: ["sink": Self.sink(policy: "NODE_LOCAL")], policy: Self.folder)
        let signer = try app.sign().key.publicKey
        let first = try Self.restarted(app, signer: signer, key: key)
        let workflow = try first.start(workflowAt: "workflows/sink.json", id: "a")
        for value in 1...3 { workflow.dataplane.inject(into: "sink", payload: Array("\(value)".utf8)) }
        workflow.dataplane.drain()
        try first.stop(workflow: "a")  // sink syncs its count at stop
        let files = try FileManager.default.contentsOfDirectory(atPath: app.path("logs/state")).sorted()
        #expect(files.count == 2 && files.contains("index.sealed"), "\(files)")

        let second = try Self.restarted(app, signer: signer, key: key)
        #expect(try Self.count(second.start(workflowAt: "workflows/sink.json", id: "b")) == "3 0", "the count came back from disk")
        try second.stop(workflow: "b")

        #expect(refusal(try Self.restarted(app, signer: signer, key: nil), "workflows/sink.json").contains("no sealing key was handed in"))
        let foreign = refusal(try Self.restarted(app, signer: signer, key: SealingKey.random()), "workflows/sink.json")
        #expect(foreign.contains("logs/state/index.sealed: does not open with this app's sealing key"), "\(foreign)")
    }

    @Test func theManifestMayLetAFunctionStartWithoutStateItRefuses() throws {
        let key = SealingKey.random()
        let (app, _) = try signedApp(workflows: ["sink": Self.sink(policy: "NODE_LOCAL")], policy: Self.folder + "unreadable_state = \"start-empty\"\n")
        let signer = try app.sign().key.publicKey
        let first = try Self.restarted(app, signer: signer, key: key)
        let workflow = try first.start(workflowAt: "workflows/sink.json", id: "a")
        workflow.dataplane.inject(into: "sink", payload: Array("1".utf8))
        workflow.dataplane.drain()
        try first.stop(workflow: "a")
        let state = try #require(try FileManager.default.contentsOfDirectory(atPath: app.path("logs/state")).first { $0.hasSuffix(".state") })
        var bytes = try app.read("logs/state/" + state)
        bytes[bytes.count - 1] ^= 0x80
        try app.write("logs/state/" + state, bytes: bytes)
        #expect(try Self.count(Self.restarted(app, signer: signer, key: key).start(workflowAt: "workflows/sink.json")) == "0 0", "started empty, as signed")
    }

    @Test func onlyPoliciesThisNodeCanKeepAreAdmitted() throws {
        let (app, node) = try signedApp(workflows: [
            "global": Self.sink(policy: "GLOBAL"), "local": Self.sink(policy: "NODE_LOCAL"), "odd": Self.sink(policy: "SOMEWHERE"),
            "transient": Self.sink(policy: "Transient"),
        ])
        defer { withExtendedLifetime(app) {} }
        #expect(refusal(node, "workflows/global.json").contains("state_policy is GLOBAL, and no node offers global state"))
        #expect(refusal(node, "workflows/local.json").contains("state_policy is NODE_LOCAL, and the signed manifest names no [node] state_directory"))
        #expect(refusal(node, "workflows/odd.json").contains("state_policy \"SOMEWHERE\" is not TRANSIENT, NODE_LOCAL or GLOBAL"))
        #expect(refusal(node, "workflows/transient.json") == "started")
    }
}
