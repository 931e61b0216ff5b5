import Foundation

// The JSON payloads of the four message kinds (docs/HOST-AGENT.md, "Messages").
//
// Answer fields are all optional: the agent omits what it could not read, and "not reported"
// is never the same as 0. Field names are snake_case and carry their unit; the CodingKeys
// below are the one place they are written (HostBridge's `HostField.wireName` reads them).

/// Payload of `capabilitiesRequest`: nothing to say yet, an empty object.
public struct CapabilitiesRequest: Codable, Sendable, Equatable {
    /// Encodes as an empty JSON object.
    public init() {}
}

/// Payload of `healthRequest`.
public struct HealthRequest: Codable, Sendable, Equatable {
    /// The trusted runtime's pid, whose cpu time and resident memory the agent should report.
    /// An agent started with --runtime-pid uses that instead (the runtime may sit in a pid
    /// namespace where its own pid means nothing to the host).
    public var pid: Int32?

    /// `pid` is only a fallback: the agent prefers its --runtime-pid, then the kernel's peer pid.
    public init(pid: Int32?) {
        self.pid = pid
    }
}

/// Payload of `capabilitiesAnswer`: what the host is, mostly fixed for its lifetime.
public struct CapabilitiesReport: Codable, Sendable, Equatable {
    /// Logical cpus online on the host.
    public var cpuCount: WireValue<UInt64>?
    /// "model name" of the first cpu listed in /proc/cpuinfo. Untrusted text.
    public var cpuModel: WireValue<String>?
    /// Clock of the first cpu listed in /proc/cpuinfo, in MHz.
    public var cpuMHz: WireValue<Double>?
    /// Distinct (physical id, core id) pairs in /proc/cpuinfo; nil where the kernel lists none (most ARM).
    public var physicalCores: WireValue<UInt64>?
    /// MemTotal from /proc/meminfo, in bytes.
    public var memoryTotalBytes: WireValue<UInt64>?
    /// Size in bytes of the file system holding the agent's disk path.
    public var diskTotalBytes: WireValue<UInt64>?
    /// The host's name (gethostname). Untrusted text: the client checks length and printability.
    public var hostname: WireValue<String>?

    /// Every field defaults to nil, "not reported".
    public init(
        cpuCount: WireValue<UInt64>? = nil, cpuModel: WireValue<String>? = nil,
        cpuMHz: WireValue<Double>? = nil, physicalCores: WireValue<UInt64>? = nil,
        memoryTotalBytes: WireValue<UInt64>? = nil, diskTotalBytes: WireValue<UInt64>? = nil,
        hostname: WireValue<String>? = nil
    ) {
        self.cpuCount = cpuCount
        self.cpuModel = cpuModel
        self.cpuMHz = cpuMHz
        self.physicalCores = physicalCores
        self.memoryTotalBytes = memoryTotalBytes
        self.diskTotalBytes = diskTotalBytes
        self.hostname = hostname
    }

    package enum CodingKeys: String, CodingKey {
        case cpuCount = "cpu_count"
        case cpuModel = "cpu_model"
        case cpuMHz = "cpu_mhz"
        case physicalCores = "physical_cores"
        case memoryTotalBytes = "memory_total_bytes"
        case diskTotalBytes = "disk_total_bytes"
        case hostname
    }
}

/// Payload of `healthAnswer`: how the host is doing now.
public struct HealthReport: Codable, Sendable, Equatable {
    /// MemTotal from /proc/meminfo, in bytes.
    public var memoryTotalBytes: WireValue<UInt64>?
    /// MemFree in bytes: memory not used at all, so page cache is not counted here.
    public var memoryFreeBytes: WireValue<UInt64>?
    /// MemAvailable in bytes: the kernel's estimate of what can be allocated without swapping.
    public var memoryAvailableBytes: WireValue<UInt64>?
    /// Total minus free, buffers, cache and reclaimable slab (free(1)'s classic "used"), in bytes.
    public var memoryUsedBytes: WireValue<UInt64>?
    /// User plus system cpu time of the measured process, in seconds; nil when no pid was known.
    public var processCPUSeconds: WireValue<Double>?
    /// Resident memory (VmRSS) of the measured process, in bytes.
    public var processResidentBytes: WireValue<UInt64>?
    /// Load average over 1 minute, as in /proc/loadavg (a count of tasks, not a percentage).
    public var load1: WireValue<Double>?
    /// Load average over 5 minutes, as in /proc/loadavg.
    public var load5: WireValue<Double>?
    /// Load average over 15 minutes, as in /proc/loadavg.
    public var load15: WireValue<Double>?
    /// Bytes received, summed over every interface but loopback; a counter.
    public var networkRxBytes: WireValue<UInt64>?
    /// Bytes sent, summed over every interface but loopback; a counter.
    public var networkTxBytes: WireValue<UInt64>?
    /// Size in bytes of the file system holding the agent's disk path.
    public var diskTotalBytes: WireValue<UInt64>?
    /// Bytes an unprivileged process may still use on the file system holding the agent's disk path.
    public var diskFreeBytes: WireValue<UInt64>?
    /// Reads completed since boot, summed over whole disks only (a partition's I/O is counted in its disk).
    public var diskReadsCompleted: WireValue<UInt64>?
    /// Writes completed since boot, summed over whole disks only; a counter.
    public var diskWritesCompleted: WireValue<UInt64>?

    /// An empty report: every field nil, "not reported".
    public init() {}

    package enum CodingKeys: String, CodingKey {
        case memoryTotalBytes = "memory_total_bytes"
        case memoryFreeBytes = "memory_free_bytes"
        case memoryAvailableBytes = "memory_available_bytes"
        case memoryUsedBytes = "memory_used_bytes"
        case processCPUSeconds = "process_cpu_seconds"
        case processResidentBytes = "process_resident_bytes"
        case load1 = "load_1"
        case load5 = "load_5"
        case load15 = "load_15"
        case networkRxBytes = "network_rx_bytes"
        case networkTxBytes = "network_tx_bytes"
        case diskTotalBytes = "disk_total_bytes"
        case diskFreeBytes = "disk_free_bytes"
        case diskReadsCompleted = "disk_reads_completed"
        case diskWritesCompleted = "disk_writes_completed"
    }
}

/// JSON in and out, the same way on both sides.
package enum WireJSON {
    package static func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Array(try encoder.encode(value))
    }

    package static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        try JSONDecoder().decode(type, from: Data(bytes))
    }
}

extension WireValue {
    /// `nil` stays nil (not reported); anything else is a plain value. For the agent's side.
    package static func from(_ value: Value?) -> WireValue? {
        value.map { .value($0) }
    }
}
