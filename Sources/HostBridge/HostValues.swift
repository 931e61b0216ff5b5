import HostProtocol

// What the trusted side hands its callers: per field, a checked value or "unknown" with the
// reason. There is deliberately no way to get a default number out of an unknown field: the
// tool this replaces answered "0" on any error, and a 0 for free memory or load looks like a
// real (and alarming or reassuring) measurement.

/// Every field of both answers.
public enum HostField: Sendable, CaseIterable, CustomStringConvertible {
    case cpuCount
    case cpuModel
    case cpuMHz
    case physicalCores
    case hostname
    case memoryTotalBytes
    case memoryFreeBytes
    case memoryAvailableBytes
    case memoryUsedBytes
    case processCPUSeconds
    case processResidentBytes
    case load1
    case load5
    case load15
    case networkRxBytes
    case networkTxBytes
    case diskTotalBytes
    case diskFreeBytes
    case diskReadsCompleted
    case diskWritesCompleted

    /// The JSON key on the wire, also used in the API's JSON, metric names and log keys. The
    /// protocol's CodingKeys are the one place each is written; a field in both answers
    /// (memory and disk totals) has the same key in both.
    public var wireName: String {
        switch self {
        case .cpuCount: CapabilitiesReport.CodingKeys.cpuCount.stringValue
        case .cpuModel: CapabilitiesReport.CodingKeys.cpuModel.stringValue
        case .cpuMHz: CapabilitiesReport.CodingKeys.cpuMHz.stringValue
        case .physicalCores: CapabilitiesReport.CodingKeys.physicalCores.stringValue
        case .hostname: CapabilitiesReport.CodingKeys.hostname.stringValue
        case .memoryTotalBytes: HealthReport.CodingKeys.memoryTotalBytes.stringValue
        case .memoryFreeBytes: HealthReport.CodingKeys.memoryFreeBytes.stringValue
        case .memoryAvailableBytes: HealthReport.CodingKeys.memoryAvailableBytes.stringValue
        case .memoryUsedBytes: HealthReport.CodingKeys.memoryUsedBytes.stringValue
        case .processCPUSeconds: HealthReport.CodingKeys.processCPUSeconds.stringValue
        case .processResidentBytes: HealthReport.CodingKeys.processResidentBytes.stringValue
        case .load1: HealthReport.CodingKeys.load1.stringValue
        case .load5: HealthReport.CodingKeys.load5.stringValue
        case .load15: HealthReport.CodingKeys.load15.stringValue
        case .networkRxBytes: HealthReport.CodingKeys.networkRxBytes.stringValue
        case .networkTxBytes: HealthReport.CodingKeys.networkTxBytes.stringValue
        case .diskTotalBytes: HealthReport.CodingKeys.diskTotalBytes.stringValue
        case .diskFreeBytes: HealthReport.CodingKeys.diskFreeBytes.stringValue
        case .diskReadsCompleted: HealthReport.CodingKeys.diskReadsCompleted.stringValue
        case .diskWritesCompleted: HealthReport.CodingKeys.diskWritesCompleted.stringValue
        }
    }

    /// What a field's value measures, which decides how it is shown in log lines.
    public enum Unit: Sendable {
        case bytes, count, seconds, megahertz, load, text
    }

    /// What the field's numbers measure; `.text` fields carry strings.
    public var unit: Unit {
        switch self {
        case .cpuCount, .physicalCores, .diskReadsCompleted, .diskWritesCompleted: .count
        case .cpuModel, .hostname: .text
        case .cpuMHz: .megahertz
        case .processCPUSeconds: .seconds
        case .load1, .load5, .load15: .load
        case .memoryTotalBytes, .memoryFreeBytes, .memoryAvailableBytes, .memoryUsedBytes,
            .processResidentBytes, .networkRxBytes, .networkTxBytes, .diskTotalBytes, .diskFreeBytes:
            .bytes
        }
    }

    /// The name used in log lines ("memory free 9 GiB > memory total 8 GiB").
    public var label: String {
        switch self {
        case .cpuCount: "cpu count"
        case .cpuModel: "cpu model"
        case .cpuMHz: "cpu clock"
        case .physicalCores: "physical cores"
        case .hostname: "hostname"
        case .memoryTotalBytes: "memory total"
        case .memoryFreeBytes: "memory free"
        case .memoryAvailableBytes: "memory available"
        case .memoryUsedBytes: "memory used"
        case .processCPUSeconds: "process cpu time"
        case .processResidentBytes: "process resident memory"
        case .load1: "load average (1 min)"
        case .load5: "load average (5 min)"
        case .load15: "load average (15 min)"
        case .networkRxBytes: "network received"
        case .networkTxBytes: "network sent"
        case .diskTotalBytes: "disk total"
        case .diskFreeBytes: "disk free"
        case .diskReadsCompleted: "disk reads completed"
        case .diskWritesCompleted: "disk writes completed"
        }
    }

    /// The JSON key, e.g. "memory_free_bytes".
    public var description: String { wireName }

    /// Renders a value of this field for a log line.
    func format(_ value: Double) -> String {
        switch unit {
        case .bytes where value >= 0 && value < 0x1p64: LogSafe.bytes(UInt64(value))
        case .seconds: "\(LogSafe.number(value)) s"
        case .megahertz: "\(LogSafe.number(value)) MHz"
        default: LogSafe.number(value)
        }
    }
}

/// Why a field is unknown.
public enum UnknownReason: Sendable, Equatable, CustomStringConvertible {
    /// The agent did not send the field (it may not know). Not an error, not logged.
    case notReported
    /// The field was there but not of its type; `found` says what it was (log-safe).
    case wrongType(expected: String, found: String)
    /// NaN or infinity.
    case notFinite
    /// A number outside what any real host could report.
    case outOfRange(value: Double, allowed: ClosedRange<Double>)
    /// Larger than the total it is a part of (free > total, disk free > disk total, ...).
    case exceedsTotal(value: UInt64, total: UInt64, totalField: HostField)
    /// memory used + memory free > memory total (+ tolerance): one of them is wrong and we
    /// cannot tell which, so both are unknown.
    case sumExceedsTotal(used: UInt64, free: UInt64, total: UInt64)
    /// A counter smaller than the last value we accepted. Counters only grow.
    case wentBackwards(previous: Double, now: Double)
    /// A string longer than the cap, in UTF-8 bytes.
    case tooLong(bytes: Int, limit: Int)
    case empty
    /// A string with a control/format/unassigned code point at `offset` (in scalars).
    case notPrintable(scalar: UInt32, offset: Int)
    /// No usable answer at all; every field of that answer shares this reason.
    case transport(HostTransportError)

    /// A stable name for the kind of reason, without values: the "once per kind" log key.
    public var kind: String {
        switch self {
        case .notReported: "notReported"
        case .wrongType: "wrongType"
        case .notFinite: "notFinite"
        case .outOfRange: "outOfRange"
        case .exceedsTotal: "exceedsTotal"
        case .sumExceedsTotal: "sumExceedsTotal"
        case .wentBackwards: "wentBackwards"
        case .tooLong: "tooLong"
        case .empty: "empty"
        case .notPrintable: "notPrintable"
        case .transport(let error): "transport.\(error.kind)"
        }
    }

    /// `describe(for: nil)`: values shown as plain numbers, without a unit.
    public var description: String { describe(for: nil) }

    /// The reason as the tail of "host agent: <field label> <this>"; values in the field's unit.
    public func describe(for field: HostField?) -> String {
        let show: (Double) -> String = { field?.format($0) ?? LogSafe.number($0) }
        switch self {
        case .notReported:
            return "was not reported"
        case .wrongType(let expected, let found):
            return "is \(found), expected \(article(expected)) \(expected)"
        case .notFinite:
            return "is not a finite number"
        case .outOfRange(let value, let allowed):
            let direction = value < allowed.lowerBound ? "below" : "above"
            let bound = value < allowed.lowerBound ? allowed.lowerBound : allowed.upperBound
            return "\(show(value)) is \(direction) the plausible \(value < allowed.lowerBound ? "minimum" : "maximum") \(show(bound))"
        case .exceedsTotal(let value, let total, let totalField):
            return "\(show(Double(value))) > \(totalField.label) \(show(Double(total)))"
        case .sumExceedsTotal(let used, let free, let total):
            return "(used \(show(Double(used))) + free \(show(Double(free)))) > memory total \(show(Double(total)))"
        case .wentBackwards(let previous, let now):
            return "went backwards from \(show(previous)) to \(show(now))"
        case .tooLong(let bytes, let limit):
            return "is \(bytes) bytes long, over the \(limit)-byte limit"
        case .empty:
            return "is empty"
        case .notPrintable(let scalar, let offset):
            let hex = String(scalar, radix: 16, uppercase: true)
            return "has control character U+\(String(repeating: "0", count: max(0, 4 - hex.count)))\(hex) at position \(offset)"
        case .transport(let error):
            return "unavailable: \(error)"
        }
    }
}

private func article(_ word: String) -> String {
    guard let first = word.first else { return "a" }
    return "aeiou".contains(first) ? "an" : "a"
}

/// A checked value, or unknown with the reason. There is no "value or 0" accessor on purpose.
public enum HostValue<Value: Sendable & Equatable>: Sendable, Equatable {
    case known(Value)
    case unknown(UnknownReason)

    /// The checked value; nil when unknown. Never substitute 0 for nil: see `reason`.
    public var value: Value? {
        if case .known(let value) = self { return value }
        return nil
    }

    /// Why the value is unknown; nil when it is known.
    public var reason: UnknownReason? {
        if case .unknown(let reason) = self { return reason }
        return nil
    }
}

/// One field's checked reading, for reports that list every field (the node's /health and
/// /metrics): numbers as Double, text as is, or unknown with the reason.
public enum HostReading: Sendable, Equatable {
    case number(Double)
    case text(String)
    case unknown(UnknownReason)

    static func unknowns(_ readings: [(field: HostField, reading: HostReading)]) -> [HostField: UnknownReason] {
        var out: [HostField: UnknownReason] = [:]
        for (field, reading) in readings { if case let .unknown(reason) = reading { out[field] = reason } }
        return out
    }
}

/// How a field's value becomes a reading.
public protocol HostReadable: Sendable, Equatable {
    var hostReading: HostReading { get }
}

extension Int: HostReadable { public var hostReading: HostReading { .number(Double(self)) } }
extension UInt64: HostReadable { public var hostReading: HostReading { .number(Double(self)) } }
extension Double: HostReadable { public var hostReading: HostReading { .number(self) } }
extension String: HostReadable { public var hostReading: HostReading { .text(self) } }

extension HostValue where Value: HostReadable {
    /// The value as a reading, or `.unknown` with the same reason.
    public var reading: HostReading {
        switch self {
        case let .known(value): return value.hostReading
        case let .unknown(reason): return .unknown(reason)
        }
    }
}

/// A checked answer: its fields with their readings, in a fixed order.
public protocol HostReadings: Sendable {
    /// Every field with its checked reading, in a fixed order.
    var readings: [(field: HostField, reading: HostReading)] { get }
}

extension HostReadings {
    /// The fields that are unknown, with their reasons.
    public var unknownFields: [HostField: UnknownReason] { HostReading.unknowns(readings) }
}

/// What the host is (from a capabilities answer), checked.
public struct HostCapabilities: HostReadings, Equatable {
    /// Logical cpus online.
    public var cpuCount: HostValue<Int>
    /// Printable, non-empty and at most `maxStringBytes` long, or unknown.
    public var cpuModel: HostValue<String>
    /// Clock of the first cpu, in MHz.
    public var cpuMHz: HostValue<Double>
    /// Unknown if more than `cpuCount`; often not reported on ARM.
    public var physicalCores: HostValue<Int>
    /// Physical memory, in bytes.
    public var memoryTotalBytes: HostValue<UInt64>
    /// Size of the file system holding the agent's disk path, in bytes.
    public var diskTotalBytes: HostValue<UInt64>
    /// Printable, non-empty and at most `maxStringBytes` long, or unknown.
    public var hostname: HostValue<String>

    /// Every field unknown for the same reason (no usable answer).
    public static func allUnknown(_ reason: UnknownReason) -> HostCapabilities {
        HostCapabilities(
            cpuCount: .unknown(reason), cpuModel: .unknown(reason), cpuMHz: .unknown(reason),
            physicalCores: .unknown(reason), memoryTotalBytes: .unknown(reason),
            diskTotalBytes: .unknown(reason), hostname: .unknown(reason))
    }

    /// Every field with its checked reading, in a fixed order.
    public var readings: [(field: HostField, reading: HostReading)] {
        [
            (.cpuCount, cpuCount.reading), (.cpuModel, cpuModel.reading), (.cpuMHz, cpuMHz.reading),
            (.physicalCores, physicalCores.reading), (.memoryTotalBytes, memoryTotalBytes.reading),
            (.diskTotalBytes, diskTotalBytes.reading), (.hostname, hostname.reading),
        ]
    }
}

/// How the host is doing (from a health answer), checked.
public struct HostHealth: HostReadings, Equatable {
    /// Bytes, 1 B to 1 EiB by default; the memory parts are checked against it.
    public var memoryTotalBytes: HostValue<UInt64>
    /// Bytes not used at all; unknown if above the total, or if used + free exceeds it.
    public var memoryFreeBytes: HostValue<UInt64>
    /// Bytes the kernel estimates can be allocated without swapping; unknown if above the total.
    public var memoryAvailableBytes: HostValue<UInt64>
    /// Bytes; unknown (together with `memoryFreeBytes`) if used + free exceeds the total.
    public var memoryUsedBytes: HostValue<UInt64>
    /// The runtime process's user + system cpu time, in seconds; a counter, unknown if it went backwards.
    public var processCPUSeconds: HostValue<Double>
    /// The runtime process's resident memory, in bytes; unknown if above `memoryTotalBytes`.
    public var processResidentBytes: HostValue<UInt64>
    /// 1-minute load average, within `PlausibilityLimits.load`.
    public var load1: HostValue<Double>
    /// 5-minute load average, within `PlausibilityLimits.load`.
    public var load5: HostValue<Double>
    /// 15-minute load average, within `PlausibilityLimits.load`.
    public var load15: HostValue<Double>
    /// Bytes received, loopback excluded; a counter, unknown if it went backwards.
    public var networkRxBytes: HostValue<UInt64>
    /// Bytes sent, loopback excluded; a counter, unknown if it went backwards.
    public var networkTxBytes: HostValue<UInt64>
    /// Bytes, 1 B to 1 EiB by default.
    public var diskTotalBytes: HostValue<UInt64>
    /// Bytes free to unprivileged use on the agent's disk path; unknown if above `diskTotalBytes`.
    public var diskFreeBytes: HostValue<UInt64>
    /// Whole-disk reads completed; unknown if it went backwards.
    public var diskReadsCompleted: HostValue<UInt64>
    /// Whole-disk writes completed; unknown if it went backwards.
    public var diskWritesCompleted: HostValue<UInt64>

    /// Every field unknown for the same reason (no usable answer).
    public static func allUnknown(_ reason: UnknownReason) -> HostHealth {
        HostHealth(
            memoryTotalBytes: .unknown(reason), memoryFreeBytes: .unknown(reason),
            memoryAvailableBytes: .unknown(reason), memoryUsedBytes: .unknown(reason),
            processCPUSeconds: .unknown(reason), processResidentBytes: .unknown(reason),
            load1: .unknown(reason), load5: .unknown(reason), load15: .unknown(reason),
            networkRxBytes: .unknown(reason), networkTxBytes: .unknown(reason),
            diskTotalBytes: .unknown(reason), diskFreeBytes: .unknown(reason),
            diskReadsCompleted: .unknown(reason), diskWritesCompleted: .unknown(reason))
    }

    /// Every field with its checked reading, in a fixed order.
    public var readings: [(field: HostField, reading: HostReading)] {
        [
            (.memoryTotalBytes, memoryTotalBytes.reading), (.memoryFreeBytes, memoryFreeBytes.reading),
            (.memoryAvailableBytes, memoryAvailableBytes.reading), (.memoryUsedBytes, memoryUsedBytes.reading),
            (.processCPUSeconds, processCPUSeconds.reading), (.processResidentBytes, processResidentBytes.reading),
            (.load1, load1.reading), (.load5, load5.reading), (.load15, load15.reading),
            (.networkRxBytes, networkRxBytes.reading), (.networkTxBytes, networkTxBytes.reading),
            (.diskTotalBytes, diskTotalBytes.reading), (.diskFreeBytes, diskFreeBytes.reading),
            (.diskReadsCompleted, diskReadsCompleted.reading), (.diskWritesCompleted, diskWritesCompleted.reading),
        ]
    }
}
