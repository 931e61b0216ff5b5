import Foundation
import Testing

@testable import HostAgent
@testable import HostBridge
@testable import HostProtocol

@Suite("The real agent on this machine")
struct RealAgentTests {
    /// Everything the real agent says on this Linux machine passes the client's checks.
    private func expectPlausible(_ capabilities: HostCapabilities, _ health: HostHealth) {
        #expect((capabilities.cpuCount.value ?? 0) >= 1)
        #expect((capabilities.memoryTotalBytes.value ?? 0) > 0)
        #expect(capabilities.hostname.value?.isEmpty == false)
        #expect(capabilities.hostname.value == Posix.hostname())
        #expect((health.memoryTotalBytes.value ?? 0) > 0)
        #expect((health.load1.value ?? -1) >= 0)
        #expect((health.processResidentBytes.value ?? 0) > 0, "rss of this test process")
        #expect(health.processCPUSeconds.value != nil)
        #expect(health.diskFreeBytes.value != nil)
        // No real value was rejected; at most some were not reported by this kernel.
        let rejected = capabilities.unknownFields.merging(health.unknownFields) { first, _ in first }
            .filter { $0.value != .notReported }
        #expect(rejected.isEmpty, "rejected real values: \(rejected)")
    }

    @Test func sigtermStopsTheAgentCleanlyAndRemovesItsSocket() throws {
        let path = temporarySocketPath("sigterm")
        let agent = try spawnAgent(socketPath: path)
        defer {
            killAgent(agent)
            unlink(path)
        }
        agent.terminate()  // SIGTERM
        let deadline = ContinuousClock.now + .seconds(10)
        while agent.isRunning, ContinuousClock.now < deadline { usleep(10_000) }
        #expect(!agent.isRunning, "the agent did not stop on SIGTERM")
        agent.waitUntilExit()
        #expect(agent.terminationReason == .exit && agent.terminationStatus == 0, "\(agent.terminationReason) \(agent.terminationStatus)")
        #expect(!FileManager.default.fileExists(atPath: path), "the socket file was left behind")
    }

    @Test func realAgentProcessAnswersPlausibly() throws {
        let path = temporarySocketPath("real")
        let agent = try spawnAgent(socketPath: path)
        defer {
            killAgent(agent)
            unlink(path)  // SIGKILL leaves the socket file behind
        }
        let capture = LogCapture()
        let client = makeClient(path, capture: capture, timeout: .seconds(2))
        let capabilities = client.capabilities()
        let first = client.health()
        expectPlausible(capabilities, first)
        let second = client.health()  // counters must not trip the backwards check
        expectPlausible(capabilities, second)
        #expect(capture.all.isEmpty, "nothing to complain about: \(capture.all)")
    }

    @Test func inProcessAgentAnswersAndAnswersAreCached() async throws {
        let path = temporarySocketPath("inproc")
        let agent = HostAgent(configuration: .init(socketPath: path, reader: HostReader(diskPath: NSTemporaryDirectory())))
        try await agent.start()
        let client = HostInfoClient(
            configuration: .init(socketPath: path, requestTimeout: .seconds(2), cacheInterval: .seconds(60)),
            logger: LogCapture().logger)
        let health = client.health()
        let capabilities = client.capabilities()
        expectPlausible(capabilities, health)
        await agent.stop()
        #expect(client.health() == health, "served from the cache, no new request")
        #expect(client.capabilities() == capabilities)
        // The low-level API is never cached: it sees the agent is gone.
        #expect(throws: HostTransportError.self) { try client.request(.health(pid: nil)) }
    }

    @Test func lowLevelRequestEchoesKindAndCarriesValues() async throws {
        let path = temporarySocketPath("lowlevel")
        let agent = HostAgent(configuration: .init(socketPath: path))
        try await agent.start()
        let client = makeClient(path, capture: LogCapture(), timeout: .seconds(2))
        guard case .capabilities(let report) = try client.request(.capabilities) else {
            Issue.record("expected a capabilities answer")
            return
        }
        #expect(report.cpuCount?.value != nil)
        guard case .health(let health) = try client.request(.health(pid: getpid())) else {
            Issue.record("expected a health answer")
            return
        }
        #expect(health.processResidentBytes?.value != nil)
        await agent.stop()
    }

    @Test func aSecondAgentDoesNotStealALiveAgentsSocket() async throws {
        let path = temporarySocketPath("twice")
        let first = HostAgent(configuration: .init(socketPath: path))
        try await first.start()
        let second = HostAgent(configuration: .init(socketPath: path))
        await #expect(throws: SystemError(call: "bind", code: EADDRINUSE)) { try await second.start() }
        let client = makeClient(path, capture: LogCapture(), timeout: .seconds(2))
        #expect(client.capabilities().cpuCount.value != nil, "the first agent still serves")
        await first.stop()
        #expect(!FileManager.default.fileExists(atPath: path), "stop removes the socket")
    }

    @Test func clientsPastTheCapAreClosedAndSilentOnesAreDropped() async throws {
        let path = temporarySocketPath("cap")
        let agent = HostAgent(configuration: .init(socketPath: path, maxClients: 1, idleTimeout: .milliseconds(300)))
        try await agent.start()
        let first = try Socket.connect(path: path)
        try first.writeAll(
            try Frame(kind: .capabilitiesRequest, requestID: 7, payload: Array("{}".utf8)).encoded(), deadline: .now + .seconds(2), timeout: .seconds(2))
        let answer = try first.readFrame(maxPayload: Frame.defaultMaxPayload, deadline: .now + .seconds(2), timeout: .seconds(2))
        #expect(answer.kind == .capabilitiesAnswer && answer.requestID == 7)
        // The second client is over the cap: closed on arrival, before any answer.
        let second = try Socket.connect(path: path)
        #expect(throws: HostTransportError.self) {
            try second.readFrame(maxPayload: Frame.defaultMaxPayload, deadline: .now + .seconds(2), timeout: .seconds(2))
        }
        // The first one, once silent past the idle timeout, is dropped too.
        #expect(throws: HostTransportError.closed) {
            try first.readFrame(maxPayload: Frame.defaultMaxPayload, deadline: .now + .seconds(5), timeout: .seconds(5))
        }
        await agent.stop()
    }

    @Test func clientRecoversAfterTheAgentIsKilledAndRestarted() throws {
        let path = temporarySocketPath("restart")
        var agent = try spawnAgent(socketPath: path)
        defer {
            killAgent(agent)
            unlink(path)  // SIGKILL leaves the socket file behind
        }
        let capture = LogCapture()
        let client = makeClient(path, capture: capture, timeout: .seconds(2))
        #expect(client.health().memoryTotalBytes.value != nil)

        killAgent(agent)  // SIGKILL: the socket file stays, nobody listens
        for _ in 0..<2 {
            let (health, took) = elapsed { client.health() }
            #expect(took < .seconds(1))
            guard case .unknown(.transport(let error)) = health.memoryTotalBytes else {
                Issue.record("expected a transport failure, got \(health.memoryTotalBytes)")
                continue
            }
            #expect(error.kind == "host.connect-failed" || error.kind == "host.closed", "\(error)")
        }

        agent = try spawnAgent(socketPath: path)  // same path: the stale socket file is replaced
        let recovered = client.health()
        #expect(recovered.memoryTotalBytes.value != nil, "\(recovered.memoryTotalBytes)")
        #expect(capture.count("cannot connect to") == 1, "\(capture.all)")
        #expect(capture.count("Connection refused") == 1)
    }
}
