import Foundation
import Testing

@testable import HostBridge
@testable import HostProtocol

@Suite("Wire messages and lenient field decoding")
struct WireTests {
    @Test func jsonKeysAreExactlyTheHostFieldNames() throws {
        var capabilities = CapabilitiesReport(
            cpuCount: .value(1), cpuModel: .value("m"), cpuMHz: .value(1), physicalCores: .value(1),
            memoryTotalBytes: .value(1), diskTotalBytes: .value(1), hostname: .value("h"))
        var health = HealthReport()
        health.memoryTotalBytes = .value(1)
        health.memoryFreeBytes = .value(1)
        health.memoryAvailableBytes = .value(1)
        health.memoryUsedBytes = .value(1)
        health.processCPUSeconds = .value(1)
        health.processResidentBytes = .value(1)
        health.load1 = .value(1)
        health.load5 = .value(1)
        health.load15 = .value(1)
        health.networkRxBytes = .value(1)
        health.networkTxBytes = .value(1)
        health.diskTotalBytes = .value(1)
        health.diskFreeBytes = .value(1)
        health.diskReadsCompleted = .value(1)
        health.diskWritesCompleted = .value(1)
        func keys(_ bytes: [UInt8]) throws -> Set<String> {
            Set(try #require(JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any]).keys)
        }
        let all = try keys(WireJSON.encode(capabilities)).union(keys(WireJSON.encode(health)))
        #expect(all == Set(HostField.allCases.map(\.wireName)))
        capabilities.hostname = nil
        #expect(try !keys(WireJSON.encode(capabilities)).contains("hostname"), "an unknown field is omitted, not sent as 0 or null")
    }

    @Test func oneBadFieldDoesNotBlankTheOthers() throws {
        let json = #"""
            {"load_1": "nan", "load_5": true, "load_15": 0.75, "memory_total_bytes": 4096,
             "network_rx_bytes": -3, "network_tx_bytes": 1.5, "disk_free_bytes": {"a": 1},
             "disk_total_bytes": [1], "memory_free_bytes": null, "unknown_future_field": 1}
            """#
        let report = try WireJSON.decode(HealthReport.self, from: Array(json.utf8))
        #expect(report.load1 == .invalid(found: "string \"nan\""))
        #expect(report.load5 == .invalid(found: "boolean true"))
        #expect(report.load15 == .value(0.75))
        #expect(report.memoryTotalBytes == .value(4096))
        #expect(report.networkRxBytes == .invalid(found: "number -3"))
        #expect(report.networkTxBytes == .invalid(found: "number 1.5"))
        #expect(report.diskFreeBytes == .invalid(found: "an object"))
        #expect(report.diskTotalBytes == .invalid(found: "an array"))
        #expect(report.memoryFreeBytes == nil)
        #expect(report.memoryUsedBytes == nil)
    }

    @Test func aWrongTypedStringIsQuotedSafely() throws {
        let json = #"{"cpu_mhz": "\u001b[2J\nforged log line that goes on and on and on"}"#
        let report = try WireJSON.decode(CapabilitiesReport.self, from: Array(json.utf8))
        guard case .invalid(let found)? = report.cpuMHz else {
            Issue.record("expected invalid")
            return
        }
        #expect(!found.contains("\u{1b}") && !found.contains("\n"))
        #expect(found.hasPrefix(#"string "\u{1b}[2J\u{a}forged"#))
        #expect(found.hasSuffix("…\" (47 bytes)"))
    }

    @Test func unknownReasonsReadAsOperatorMessages() {
        let gib: UInt64 = 1 << 30
        #expect(
            UnknownReason.exceedsTotal(value: 9 * gib, total: 8 * gib, totalField: .memoryTotalBytes)
                .describe(for: .memoryFreeBytes) == "9 GiB > memory total 8 GiB")
        #expect(
            UnknownReason.outOfRange(value: -1, allowed: 0...1_000_000).describe(for: .load1)
                == "-1 is below the plausible minimum 0")
        #expect(
            UnknownReason.wrongType(expected: "number", found: "string \"nan\"").describe(for: .load5)
                == "is string \"nan\", expected a number")
        #expect(
            UnknownReason.wentBackwards(previous: 1000, now: 10).describe(for: .networkRxBytes)
                == "went backwards from 1000 B to 10 B")
        #expect(
            UnknownReason.notPrintable(scalar: 0x1b, offset: 4).describe(for: .hostname)
                == "has control character U+001B at position 4")
    }
}
