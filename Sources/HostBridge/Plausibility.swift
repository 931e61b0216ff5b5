import HostProtocol

// Turning a hostile wire report into checked values (docs/HOST-AGENT.md, "Client checks").
//
// Each field passes, in order: present? → right type? → within plausible bounds? → consistent
// with the other fields of the same answer? → (counters) not smaller than the last value we
// accepted? The first failed step makes it unknown with that step's reason. A rejected value
// never becomes 0 and never moves a counter's baseline.

/// Bounds beyond which no real host reports. Generous on purpose: they catch lies and
/// corruption, not unusual machines.
public struct PlausibilityLimits: Sendable, Equatable {
    /// Longest cpu model or hostname accepted, in UTF-8 bytes.
    public var maxStringBytes = 256
    /// Logical cpus; also bounds physical cores, which may not exceed the logical count.
    public var cpuCount: ClosedRange<Double> = 1...4096
    /// Cpu clock, in MHz.
    public var cpuMHz: ClosedRange<Double> = 1...100_000
    /// Load averages of thousands happen on big, overloaded hosts; a million does not.
    public var load: ClosedRange<Double> = 0...1_000_000
    /// Totals of memory or disk: at least one byte, at most 1 EiB.
    public var totalBytes: ClosedRange<Double> = 1...0x1p60
    /// Process cpu time, seconds: about 31,700 cpu-years.
    public var processCPUSeconds: ClosedRange<Double> = 0...1e12
    /// Slack allowed in used + free ≤ total, as a fraction of total, for kernel accounting that
    /// is not read atomically.
    public var memorySumTolerance = 0.01

    /// Every limit at the default written on its property.
    public init() {}
}

/// The last accepted value of each counter; counters are checked against these.
public struct CounterBaselines: Sendable, Equatable {
    var integers: [HostField: UInt64] = [:]
    var reals: [HostField: Double] = [:]

    /// No baselines yet: the first value of each counter is accepted as is.
    public init() {}
}

/// The trusted side's content checks: turns an unchecked wire report into checked values.
public enum Plausibility {
    /// Checks a capabilities answer field by field; a failed field is unknown with the reason, never 0.
    public static func check(_ report: CapabilitiesReport, limits: PlausibilityLimits = .init()) -> HostCapabilities {
        let cpuCount = ranged(report.cpuCount, limits.cpuCount)
        var physicalCores = ranged(report.physicalCores, limits.cpuCount)
        if let cores = physicalCores.value, let logical = cpuCount.value, cores > logical {
            physicalCores = .unknown(.exceedsTotal(value: cores, total: logical, totalField: .cpuCount))
        }
        let memoryTotal = ranged(report.memoryTotalBytes, limits.totalBytes)
        let diskTotal = ranged(report.diskTotalBytes, limits.totalBytes)
        return HostCapabilities(
            cpuCount: asInt(cpuCount),
            cpuModel: text(report.cpuModel, limits),
            cpuMHz: real(report.cpuMHz, limits.cpuMHz),
            physicalCores: asInt(physicalCores),
            memoryTotalBytes: memoryTotal,
            diskTotalBytes: diskTotal,
            hostname: text(report.hostname, limits))
    }

    /// Checks a health answer. Counters must not fall below `baselines`, which accepted counters then update;
    /// keep one `baselines` per agent across calls.
    public static func check(
        _ report: HealthReport, limits: PlausibilityLimits = .init(), baselines: inout CounterBaselines
    ) -> HostHealth {
        let memoryTotal = ranged(report.memoryTotalBytes, limits.totalBytes)
        var memoryFree = part(report.memoryFreeBytes, of: memoryTotal, .memoryTotalBytes)
        let memoryAvailable = part(report.memoryAvailableBytes, of: memoryTotal, .memoryTotalBytes)
        var memoryUsed = part(report.memoryUsedBytes, of: memoryTotal, .memoryTotalBytes)
        if let total = memoryTotal.value, let used = memoryUsed.value, let free = memoryFree.value {
            let slack = Double(total) * limits.memorySumTolerance
            if Double(used) + Double(free) > Double(total) + slack {
                let reason = UnknownReason.sumExceedsTotal(used: used, free: free, total: total)
                memoryUsed = .unknown(reason)
                memoryFree = .unknown(reason)
            }
        }
        let diskTotal = ranged(report.diskTotalBytes, limits.totalBytes)
        return HostHealth(
            memoryTotalBytes: memoryTotal,
            memoryFreeBytes: memoryFree,
            memoryAvailableBytes: memoryAvailable,
            memoryUsedBytes: memoryUsed,
            processCPUSeconds: counter(
                real(report.processCPUSeconds, limits.processCPUSeconds), .processCPUSeconds, &baselines),
            processResidentBytes: part(report.processResidentBytes, of: memoryTotal, .memoryTotalBytes),
            load1: real(report.load1, limits.load),
            load5: real(report.load5, limits.load),
            load15: real(report.load15, limits.load),
            networkRxBytes: counter(plain(report.networkRxBytes), .networkRxBytes, &baselines),
            networkTxBytes: counter(plain(report.networkTxBytes), .networkTxBytes, &baselines),
            diskTotalBytes: diskTotal,
            diskFreeBytes: part(report.diskFreeBytes, of: diskTotal, .diskTotalBytes),
            diskReadsCompleted: counter(plain(report.diskReadsCompleted), .diskReadsCompleted, &baselines),
            diskWritesCompleted: counter(plain(report.diskWritesCompleted), .diskWritesCompleted, &baselines))
    }

    // MARK: - Steps

    /// Present and of the right type.
    static func plain<T: WireScalar>(_ wire: WireValue<T>?) -> HostValue<T> {
        switch wire {
        case nil: .unknown(.notReported)
        case .value(let value)?: .known(value)
        case .invalid(let found)?: .unknown(.wrongType(expected: T.wireTypeName, found: found))
        }
    }

    /// An integer within `range`.
    static func ranged(_ wire: WireValue<UInt64>?, _ range: ClosedRange<Double>) -> HostValue<UInt64> {
        let value = plain(wire)
        guard let number = value.value else { return value }
        guard range.contains(Double(number)) else { return .unknown(.outOfRange(value: Double(number), allowed: range)) }
        return value
    }

    /// A finite number within `range`.
    static func real(_ wire: WireValue<Double>?, _ range: ClosedRange<Double>) -> HostValue<Double> {
        let value = plain(wire)
        guard let number = value.value else { return value }
        guard number.isFinite else { return .unknown(.notFinite) }
        guard range.contains(number) else { return .unknown(.outOfRange(value: number, allowed: range)) }
        return value
    }

    /// A part of `total`: unknown when larger than it. (When total is unknown there is nothing
    /// to compare with, and the part stands on its own.)
    static func part(_ wire: WireValue<UInt64>?, of total: HostValue<UInt64>, _ totalField: HostField) -> HostValue<UInt64> {
        let value = plain(wire)
        guard let number = value.value, let total = total.value else { return value }
        guard number <= total else { return .unknown(.exceedsTotal(value: number, total: total, totalField: totalField)) }
        return value
    }

    /// A string of at most `maxStringBytes` UTF-8 bytes, not empty, every scalar printable.
    static func text(_ wire: WireValue<String>?, _ limits: PlausibilityLimits) -> HostValue<String> {
        let value = plain(wire)
        guard let string = value.value else { return value }
        let bytes = string.utf8.count
        guard bytes <= limits.maxStringBytes else { return .unknown(.tooLong(bytes: bytes, limit: limits.maxStringBytes)) }
        guard bytes > 0 else { return .unknown(.empty) }
        for (offset, scalar) in string.unicodeScalars.enumerated() where !LogSafe.isPrintable(scalar) {
            return .unknown(.notPrintable(scalar: scalar.value, offset: offset))
        }
        return value
    }

    /// A counter: not below the last accepted value, which it then replaces.
    static func counter(_ value: HostValue<UInt64>, _ field: HostField, _ baselines: inout CounterBaselines) -> HostValue<UInt64> {
        guard let now = value.value else { return value }
        if let previous = baselines.integers[field], now < previous {
            return .unknown(.wentBackwards(previous: Double(previous), now: Double(now)))
        }
        baselines.integers[field] = now
        return value
    }

    static func counter(_ value: HostValue<Double>, _ field: HostField, _ baselines: inout CounterBaselines) -> HostValue<Double> {
        guard let now = value.value else { return value }
        if let previous = baselines.reals[field], now < previous {
            return .unknown(.wentBackwards(previous: previous, now: now))
        }
        baselines.reals[field] = now
        return value
    }

    /// Counts already bounded to 1...4096 fit in Int.
    static func asInt(_ value: HostValue<UInt64>) -> HostValue<Int> {
        switch value {
        case .known(let number): .known(Int(clamping: number))
        case .unknown(let reason): .unknown(reason)
        }
    }
}
