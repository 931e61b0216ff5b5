import Foundation
import NIOConcurrencyHelpers
import Testing

@testable import HostBridge
@testable import HostProtocol

private let gib: UInt64 = 1 << 30

/// Calls `body` `times` times and checks each call came back within `limit`: a hostile agent
/// may make values unknown, but never make the runtime wait longer than its deadline.
private func repeatedly<T>(times: Int = 3, within limit: Duration = .milliseconds(1500), _ body: () -> T) -> [T] {
    (0..<times).map { _ in
        let (result, took) = elapsed(body)
        #expect(took < limit, "call took \(took)")
        return result
    }
}

@Suite("Client against a hostile agent")
struct HostileAgentTests {
    // MARK: Transport failures: the whole answer is unknown, for a reason that says why

    @Test func oversizedFrameIsRefusedFromItsHeader() throws {
        let agent = try HostileAgent("oversized") { request, _, connection in
            connection.sendRaw(Frame.header(kind: request.kind.answerKind!.rawValue, requestID: request.requestID, length: 10_000_000))
            connection.sendRaw([UInt8](repeating: 0x7b, count: 1000))
            return .keepOpen
        }
        defer { agent.stop() }
        let capture = LogCapture()
        let client = makeClient(agent.path, capture: capture)
        let error = HostTransportError.frame(.oversized(length: 10_000_000, cap: 65_536))
        for health in repeatedly({ client.health() }) {
            #expect(health == .allUnknown(.transport(error)))
        }
        #expect(throws: error) { try client.request(.health(pid: nil)) }
        #expect(capture.count("host agent: health request failed: frame payload of 10000000 bytes exceeds the 65536-byte cap") == 1)
        #expect(capture.all.count == 1)
    }

    @Test func truncatedFrameThenCloseIsTruncated() throws {
        let agent = try HostileAgent("truncated") { request, _, connection in
            connection.sendRaw(Frame.header(kind: request.kind.answerKind!.rawValue, requestID: request.requestID, length: 100))
            connection.sendRaw(Array(#"{"load_1":"#.utf8))
            return .close
        }
        defer { agent.stop() }
        let capture = LogCapture()
        let client = makeClient(agent.path, capture: capture)
        let error = HostTransportError.frame(.truncated(have: 29, need: 119))
        for health in repeatedly({ client.health() }) {
            #expect(health.load1 == .unknown(.transport(error)))
        }
        #expect(throws: error) { try client.request(.health(pid: nil)) }
        #expect(capture.count("stream ended inside a frame (29 of 119 bytes)") == 1)
    }

    @Test func garbageBytesAreNotAFrame() throws {
        let agent = try HostileAgent("garbage") { _, _, connection in
            connection.sendRaw(Array("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n0".utf8))  // the old tool
            return .keepOpen
        }
        defer { agent.stop() }
        let capture = LogCapture()
        let client = makeClient(agent.path, capture: capture)
        for health in repeatedly({ client.health() }) {
            guard case .unknown(.transport(.frame(.badMagic(let found)))) = health.memoryFreeBytes else {
                Issue.record("expected badMagic, got \(health.memoryFreeBytes)")
                continue
            }
            #expect(found.first == UInt8(ascii: "H"))
        }
        #expect(capture.count("not a host-agent frame: starts with 48") == 1)
        #expect(capture.count("(\"HTTP") == 1)
    }

    @Test func answerWithAnotherRequestIDIsRefused() throws {
        let agent = try HostileAgent("wrong-id") { request, _, connection in
            connection.answer(request, json: #"{"load_1": 0.5}"#, requestID: request.requestID &+ 1000)
            return .keepOpen
        }
        defer { agent.stop() }
        let capture = LogCapture()
        let client = makeClient(agent.path, capture: capture)
        for health in repeatedly({ client.health() }) {
            guard case .unknown(.transport(.wrongRequestID(let expected, let got))) = health.load1 else {
                Issue.record("expected wrongRequestID, got \(health.load1)")
                continue
            }
            #expect(got == expected &+ 1000)
        }
        #expect(capture.count("answer carries request id") == 1)
    }

    @Test func answerOfTheWrongKindIsRefused() throws {
        let agent = try HostileAgent("wrong-kind") { request, _, connection in
            connection.answer(request, json: #"{"hostname": "h"}"#, kind: .capabilitiesAnswer)
            return .keepOpen
        }
        defer { agent.stop() }
        let capture = LogCapture()
        let client = makeClient(agent.path, capture: capture)
        let error = HostTransportError.wrongKind(expected: .healthAnswer, got: .capabilitiesAnswer)
        for health in repeatedly({ client.health() }) {
            #expect(health == .allUnknown(.transport(error)))
        }
        #expect(capture.count("answer is a capabilities answer, expected a health answer") == 1)
    }

    @Test func payloadThatIsNotAnObjectIsMalformed() throws {
        let agent = try HostileAgent("not-object") { request, _, connection in
            connection.answer(request, json: #"["load_1", 0.5]"#)
            return .keepOpen
        }
        defer { agent.stop() }
        let capture = LogCapture()
        let client = makeClient(agent.path, capture: capture)
        for health in repeatedly({ client.health() }) {
            #expect(health.load1 == .unknown(.transport(.malformedPayload("not a JSON object of 15 bytes"))))
        }
        #expect(capture.count("answer payload is not valid: not a JSON object") == 1)
    }

    @Test func noAnswerTimesOutPromptly() throws {
        let agent = try HostileAgent("silent") { _, _, _ in .keepOpen }
        defer { agent.stop() }
        let capture = LogCapture()
        let client = makeClient(agent.path, capture: capture, timeout: .milliseconds(200))
        for health in repeatedly(within: .milliseconds(700), { client.health() }) {
            #expect(health == .allUnknown(.transport(.timeout(after: .milliseconds(200)))))
        }
        #expect(agent.requestCount == 3, "each timed-out request went out on a fresh connection")
        #expect(capture.count("host agent: health request failed: no answer within 200 ms; all health values marked unknown") == 1)
    }

    @Test func callersAtOnceEachWaitOneTimeoutNotOneEach() throws {
        let agent = try HostileAgent("silent-many") { _, _, _ in .keepOpen }
        defer { agent.stop() }
        let client = makeClient(agent.path, capture: LogCapture(), timeout: .milliseconds(400))
        let callers = 4
        let took = NIOLockedValueBox<[Duration]>([])
        DispatchQueue.concurrentPerform(iterations: callers) { _ in
            let (health, duration) = elapsed { client.health() }
            #expect(health.load1 == .unknown(.transport(.timeout(after: .milliseconds(400)))))
            took.withLockedValue { $0.append(duration) }
        }
        // Holding the lock across the exchange, the last caller would wait 4 × 400 ms.
        let slowest = took.withLockedValue { $0.max() ?? .zero }
        #expect(slowest < .milliseconds(1100), "slowest of \(callers) concurrent callers took \(slowest)")
    }

    @Test func connectionClosedWithoutAnswer() throws {
        let agent = try HostileAgent("closer") { _, _, _ in .close }
        defer { agent.stop() }
        let capture = LogCapture()
        let client = makeClient(agent.path, capture: capture)
        for capabilities in repeatedly({ client.capabilities() }) {
            #expect(capabilities == .allUnknown(.transport(.closed)))
        }
        #expect(capture.count("connection closed before an answer arrived") == 1)
    }

    @Test func noAgentAtThePath() {
        let capture = LogCapture()
        let path = temporarySocketPath("nobody")
        let client = makeClient(path, capture: capture)
        for health in repeatedly({ client.health() }) {
            guard case .unknown(.transport(.connectFailed(let failedPath, let error))) = health.load5 else {
                Issue.record("expected connectFailed, got \(health.load5)")
                continue
            }
            #expect(failedPath == path && error.code == ENOENT)
        }
        #expect(capture.count("cannot connect to") == 1)
        #expect(capture.count("No such file or directory") == 1)
    }

    // MARK: Implausible content: only the bad fields are unknown

    @Test func freeAboveTotalIsUnknownAndTheRestStands() throws {
        let agent = try HostileAgent("free-total") { request, _, connection in
            connection.answer(
                request,
                json: """
                    {"memory_total_bytes": \(8 * gib), "memory_free_bytes": \(9 * gib),
                     "memory_available_bytes": \(4 * gib), "memory_used_bytes": \(3 * gib), "load_1": 0.5}
                    """)
            return .keepOpen
        }
        defer { agent.stop() }
        let capture = LogCapture()
        let client = makeClient(agent.path, capture: capture)
        for health in repeatedly({ client.health() }) {
            #expect(health.memoryFreeBytes == .unknown(.exceedsTotal(value: 9 * gib, total: 8 * gib, totalField: .memoryTotalBytes)))
            #expect(health.memoryTotalBytes == .known(8 * gib))
            #expect(health.memoryAvailableBytes == .known(4 * gib))
            #expect(health.memoryUsedBytes == .known(3 * gib))
            #expect(health.load1 == .known(0.5))
            #expect(health.load5 == .unknown(.notReported))
        }
        #expect(capture.all == ["warning: host agent: memory free 9 GiB > memory total 8 GiB, marked unknown"])
    }

    @Test func usedPlusFreeAboveTotalMakesBothUnknown() throws {
        let agent = try HostileAgent("sum") { request, _, connection in
            connection.answer(
                request,
                json: """
                    {"memory_total_bytes": \(8 * gib), "memory_free_bytes": \(5 * gib), "memory_used_bytes": \(5 * gib)}
                    """)
            return .keepOpen
        }
        defer { agent.stop() }
        let capture = LogCapture()
        let client = makeClient(agent.path, capture: capture)
        for health in repeatedly({ client.health() }) {
            let reason = UnknownReason.sumExceedsTotal(used: 5 * gib, free: 5 * gib, total: 8 * gib)
            #expect(health.memoryUsedBytes == .unknown(reason))
            #expect(health.memoryFreeBytes == .unknown(reason))
            #expect(health.memoryTotalBytes == .known(8 * gib))
        }
        #expect(capture.all == ["warning: host agent: memory used 5 GiB + free 5 GiB > memory total 8 GiB, both marked unknown"])
    }

    @Test func negativeAndNaNLoadAreUnknownEachForItsOwnReason() throws {
        let agent = try HostileAgent("load") { request, _, connection in
            // JSON has no NaN, so a hostile agent sends a string (or an absurd number).
            connection.answer(request, json: #"{"load_1": -1, "load_5": "nan", "load_15": 0.25, "memory_total_bytes": 4096}"#)
            return .keepOpen
        }
        defer { agent.stop() }
        let capture = LogCapture()
        let client = makeClient(agent.path, capture: capture)
        for health in repeatedly({ client.health() }) {
            #expect(health.load1 == .unknown(.outOfRange(value: -1, allowed: 0...1_000_000)))
            #expect(health.load5 == .unknown(.wrongType(expected: "number", found: "string \"nan\"")))
            #expect(health.load15 == .known(0.25))
            #expect(health.memoryTotalBytes == .known(4096))
        }
        #expect(capture.count("host agent: load average (1 min) -1 is below the plausible minimum 0, marked unknown") == 1)
        #expect(capture.count("host agent: load average (5 min) is string \"nan\", expected a number, marked unknown") == 1)
        #expect(capture.all.count == 2)
    }

    @Test func absurdLoadIsUnknown() throws {
        let agent = try HostileAgent("load-absurd") { request, _, connection in
            connection.answer(request, json: #"{"load_1": 1e300, "load_5": 1e400}"#)
            return .keepOpen
        }
        defer { agent.stop() }
        let client = makeClient(agent.path, capture: LogCapture())
        let health = client.health()
        #expect(health.load1 == .unknown(.outOfRange(value: 1e300, allowed: 0...1_000_000)))
        #expect(health.load5 == .unknown(.wrongType(expected: "number", found: "an unreadable value")))
    }

    @Test func countersThatGoBackwardsAreUnknown() throws {
        let agent = try HostileAgent("backwards") { request, index, connection in
            let json =
                index == 0
                ? #"{"network_rx_bytes": 1000, "network_tx_bytes": 500, "disk_reads_completed": 10, "disk_writes_completed": 10, "process_cpu_seconds": 5.0}"#
                : #"{"network_rx_bytes": 10, "network_tx_bytes": 600, "disk_reads_completed": 10, "disk_writes_completed": 9, "process_cpu_seconds": 4.5}"#
            connection.answer(request, json: json)
            return .keepOpen
        }
        defer { agent.stop() }
        let capture = LogCapture()
        let client = makeClient(agent.path, capture: capture)
        let first = client.health()
        #expect(first.networkRxBytes == .known(1000))
        #expect(first.processCPUSeconds == .known(5.0))
        for health in repeatedly({ client.health() }) {
            #expect(health.networkRxBytes == .unknown(.wentBackwards(previous: 1000, now: 10)))
            #expect(health.networkTxBytes == .known(600))
            #expect(health.diskReadsCompleted == .known(10), "equal is not backwards")
            #expect(health.diskWritesCompleted == .unknown(.wentBackwards(previous: 10, now: 9)))
            #expect(health.processCPUSeconds == .unknown(.wentBackwards(previous: 5, now: 4.5)))
        }
        #expect(capture.count("host agent: network received went backwards from 1000 B to 10 B, marked unknown") == 1)
        #expect(capture.count("host agent: disk writes completed went backwards from 10 to 9, marked unknown") == 1)
        #expect(capture.count("host agent: process cpu time went backwards from 5 s to 4.5 s, marked unknown") == 1)
        #expect(capture.all.count == 3)
    }

    @Test func oneMegabyteHostnameOverflowsTheFrameCap() throws {
        let json = #"{"cpu_count": 4, "hostname": "\#(String(repeating: "a", count: 1 << 20))"}"#
        let agent = try HostileAgent("huge-host") { request, _, connection in
            connection.answer(request, json: json)
            return .keepOpen
        }
        defer { agent.stop() }
        let capture = LogCapture()
        let client = makeClient(agent.path, capture: capture)
        for capabilities in repeatedly({ client.capabilities() }) {
            #expect(capabilities == .allUnknown(.transport(.frame(.oversized(length: UInt64(json.utf8.count), cap: 65_536)))))
        }
        #expect(capture.count("exceeds the 65536-byte cap") == 1)
    }

    @Test func oneMegabyteHostnameWithinARaisedCapIsTooLong() throws {
        let hostname = String(repeating: "a", count: 1 << 20)
        let agent = try HostileAgent("long-host") { request, _, connection in
            connection.answer(request, json: #"{"cpu_count": 4, "hostname": "\#(hostname)"}"#)
            return .keepOpen
        }
        defer { agent.stop() }
        let capture = LogCapture()
        let client = makeClient(agent.path, capture: capture, timeout: .seconds(2), maxPayload: 2 << 20)
        for capabilities in repeatedly({ client.capabilities() }) {
            #expect(capabilities.hostname == .unknown(.tooLong(bytes: 1 << 20, limit: 256)))
            #expect(capabilities.cpuCount == .known(4))
        }
        #expect(capture.all == ["warning: host agent: hostname is 1048576 bytes long, over the 256-byte limit, marked unknown"])
    }

    @Test func hostnameWithControlCharactersIsUnknownAndNotEchoed() throws {
        let agent = try HostileAgent("ctl-host") { request, _, connection in
            connection.answer(request, json: #"{"hostname": "evil\u001b[2J\nhost", "cpu_model": "Fine CPU \u00e9"}"#)
            return .keepOpen
        }
        defer { agent.stop() }
        let capture = LogCapture()
        let client = makeClient(agent.path, capture: capture)
        for capabilities in repeatedly({ client.capabilities() }) {
            #expect(capabilities.hostname == .unknown(.notPrintable(scalar: 0x1b, offset: 4)))
            #expect(capabilities.cpuModel == .known("Fine CPU é"), "printable UTF-8 is fine")
        }
        #expect(capture.all == ["warning: host agent: hostname has control character U+001B at position 4, marked unknown"])
    }

    @Test func bidiOverrideAndEmptyStringsAreUnknown() throws {
        let agent = try HostileAgent("bidi") { request, _, connection in
            connection.answer(request, json: #"{"hostname": "abc\u202Egnp.exe", "cpu_model": ""}"#)
            return .keepOpen
        }
        defer { agent.stop() }
        let capabilities = makeClient(agent.path, capture: LogCapture()).capabilities()
        #expect(capabilities.hostname == .unknown(.notPrintable(scalar: 0x202E, offset: 3)))
        #expect(capabilities.cpuModel == .unknown(.empty))
    }

    @Test func cpuCountsAndClockOutsidePlausibleBounds() throws {
        let agent = try HostileAgent("cpus") { request, _, connection in
            connection.answer(request, json: #"{"cpu_count": 8, "physical_cores": 16, "cpu_mhz": 0, "memory_total_bytes": 0}"#)
            return .keepOpen
        }
        defer { agent.stop() }
        let capabilities = makeClient(agent.path, capture: LogCapture()).capabilities()
        #expect(capabilities.cpuCount == .known(8))
        #expect(capabilities.physicalCores == .unknown(.exceedsTotal(value: 16, total: 8, totalField: .cpuCount)))
        #expect(capabilities.cpuMHz.reason?.kind == "outOfRange")
        #expect(capabilities.memoryTotalBytes == .unknown(.outOfRange(value: 0, allowed: 1...0x1p60)))

        let zero = try HostileAgent("cpus0") { request, _, connection in
            connection.answer(request, json: #"{"cpu_count": 0, "physical_cores": 5000}"#)
            return .keepOpen
        }
        defer { zero.stop() }
        let none = makeClient(zero.path, capture: LogCapture()).capabilities()
        #expect(none.cpuCount == .unknown(.outOfRange(value: 0, allowed: 1...4096)))
        #expect(none.physicalCores == .unknown(.outOfRange(value: 5000, allowed: 1...4096)))
    }
}
