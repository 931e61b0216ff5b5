import Examples
import Foundation
import HTTPServing
import HostBridge
import Logging
import Node
import NodeAPI
import TestSupport
import Testing

/// A host agent process reading a /proc the test writes: it can be made to lie.
private final class FakeHostAgent: @unchecked Sendable {
    let folder = NSTemporaryDirectory() + "se-fake-agent-\(getpid())-\(UUID().uuidString.prefix(8))"
    var socket: String { folder + "/agent.sock" }
    private var process: Process?

    init(meminfo: String, loadavg: String) throws {
        try FileManager.default.createDirectory(atPath: folder + "/proc", withIntermediateDirectories: true)
        try meminfo.write(toFile: folder + "/proc/meminfo", atomically: true, encoding: .utf8)
        try loadavg.write(toFile: folder + "/proc/loadavg", atomically: true, encoding: .utf8)
        try start()
    }

    func start() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: builtProduct("secure-executor-host-agent"))
        process.arguments = ["--socket", socket, "--proc-root", folder + "/proc"]
        process.standardError = FileHandle.nullDevice
        try process.run()
        self.process = process
        for _ in 0..<200 where !FileManager.default.fileExists(atPath: socket) { usleep(10_000) }
    }

    func kill() {
        guard let process, process.isRunning else { return }
        Glibc.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        try? FileManager.default.removeItem(atPath: socket)
    }

    deinit {
        kill()
        try? FileManager.default.removeItem(atPath: folder)
    }
}

private let honestMemory = "MemTotal: 8000000 kB\nMemFree: 2000000 kB\nMemAvailable: 4000000 kB\nBuffers: 100000 kB\nCached: 1000000 kB\n"

private func nodeWithAgent(_ agent: FakeHostAgent, lines: Lines) async throws -> (AnyObject, NodeAPI) {
    let metrics = NodeMetrics()
    let (app, node) = try signedApp(workflows: ["chain": chain], metrics: metrics.factory)
    let client = HostInfoClient(
        configuration: .init(socketPath: agent.socket, requestTimeout: .milliseconds(500), cacheInterval: .zero),
        logger: Logger(label: "agent", factory: { _ in LineHandler(lines: lines) }))
    let api = try await NodeAPI.start(
        node: node, metrics: metrics, hostInfo: client, backend: "direct", port: 0,
        logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
    _ = try node.start(workflowAt: "workflows/chain.json", id: "chain")
    return (app, api)
}

private func host(_ api: NodeAPI) async throws -> (values: [String: Any], unknown: [String: String]) {
    let answer = try await HTTPCall.send(.GET, api.baseURL + "/health", headers: ["authorization": api.token.authorization], timeout: .seconds(5))
    let report = try JSONSerialization.jsonObject(with: Data(answer.body)) as? [String: Any]
    let host = report?["host"] as? [String: Any]
    return (host?["values"] as? [String: Any] ?? [:], host?["unknown"] as? [String: String] ?? [:])
}

/// Function calls still work: the chain's sink counts what reaches it.
private func functionsStillServe(_ api: NodeAPI) throws -> Bool {
    guard let workflow = api.node.workflows.first else { return false }
    workflow.dataplane.inject(into: "first", payload: Array("1".utf8))
    workflow.dataplane.drain()
    let sink = workflow.instances["sink"]!
    guard case let .reply(bytes) = try sink.call(from: sink.id, payload: []) else { return false }
    return !String(decoding: bytes, as: UTF8.self).hasPrefix("0 ")
}

@Suite struct HostAgentNodeTests {
    @Test func aLyingAgentsFiguresAreMarkedUnknownAndTheNodeKeepsServing() async throws {
        let agent = try FakeHostAgent(meminfo: "MemTotal: 1000 kB\nMemFree: 9000000 kB\nMemAvailable: 500 kB\n", loadavg: "nan -1 0.5 1/100 42\n")
        let lines = Lines()
        let (app, api) = try await nodeWithAgent(agent, lines: lines)
        defer { withExtendedLifetime(app) {} }
        let figures = try await host(api)
        _ = try await host(api)

        #expect(figures.values["memory_total_bytes"] as? Double == 1_024_000)
        #expect(figures.values["memory_free_bytes"] == nil)
        #expect(figures.unknown["memory_free_bytes"] == "8.6 GiB > memory total 1000 KiB")
        #expect(figures.unknown["load_1"] != nil)
        #expect(figures.unknown["load_5"] != nil)
        #expect(figures.values["load_15"] as? Double == 0.5)
        #expect(try functionsStillServe(api))
        // Named once in the log, not once per request.
        #expect(lines.all.filter { $0.contains("memory free") }.count == 1, "\(lines.all)")
        let metrics = try await HTTPCall.send(.GET, api.baseURL + "/metrics", headers: ["authorization": api.token.authorization]).text
        #expect(metrics.contains(#"secure_executor_host_value_unknown{field="memory_free_bytes"} 1.0"#))
        #expect(!metrics.contains("secure_executor_host_memory_free_bytes "))
        #expect(metrics.contains("secure_executor_host_memory_total_bytes 1024000.0"))
        await api.stop()
        await api.node.shutdown()
    }

    @Test func anAgentKilledMidRunLeavesFiguresUnknownUntilItIsBack() async throws {
        let agent = try FakeHostAgent(meminfo: honestMemory, loadavg: "0.10 0.20 0.30 1/100 42\n")
        let lines = Lines()
        let (app, api) = try await nodeWithAgent(agent, lines: lines)
        defer { withExtendedLifetime(app) {} }
        #expect(try await host(api).values["memory_free_bytes"] as? Double == 2_048_000_000)

        agent.kill()
        let gone = try await host(api)
        #expect(gone.values.isEmpty)
        // Found gone at once (the connection closed or was refused), not after waiting out a
        // request timeout: checked by the reason, since wall-clock bounds flake on a loaded machine.
        let reason = try #require(gone.unknown["memory_total_bytes"])
        #expect(!reason.contains("no answer within"), "\(reason)")
        #expect(reason.contains("closed") || reason.contains("cannot connect"), "\(reason)")
        #expect(try functionsStillServe(api))
        #expect(lines.all.contains { $0.contains("agent") }, "\(lines.all)")

        try agent.start()
        #expect(try await host(api).values["load_1"] as? Double == 0.1)
        await api.stop()
        await api.node.shutdown()
    }
}
