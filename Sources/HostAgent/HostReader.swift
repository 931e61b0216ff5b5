import Glibc
import HostProtocol

// The agent's side of measuring: reads /proc, /sys, statvfs, gethostname and sysconf and fills
// the wire reports. Anything it cannot read is left out of the report (never 0), so the
// trusted side sees "not reported" rather than a made-up measurement.
//
// The roots are configurable so tests can point the reader at fixture trees (or at an empty
// directory, to see every /proc field omitted).

/// The agent's measurements of the host (UNTRUSTED side). Reads /proc, /sys, statvfs, gethostname and sysconf.
public struct HostReader: Sendable {
    /// Where /proc is mounted; an empty directory makes every /proc field go unreported.
    public var procRoot: String
    /// Where /sys is mounted; only /sys/block is read, to tell whole disks from partitions and virtual devices.
    public var sysRoot: String
    /// statvfs target for disk total/free: the file system the runtime's data lives on.
    public var diskPath: String
    /// When set (--runtime-pid), measure this pid whatever the request says: the runtime may
    /// live in a pid namespace where its own pid is not the host's.
    public var runtimePID: Int32?

    /// Defaults read the real host; tests pass fixture roots.
    public init(procRoot: String = "/proc", sysRoot: String = "/sys", diskPath: String = "/", runtimePID: Int32? = nil) {
        self.procRoot = procRoot
        self.sysRoot = sysRoot
        self.diskPath = diskPath
        self.runtimePID = runtimePID
    }

    /// What the host is: cpus, memory, disk size and hostname. Fields that cannot be read are omitted.
    public func capabilities() -> CapabilitiesReport {
        var report = CapabilitiesReport()
        let online = sysconf(Int32(_SC_NPROCESSORS_ONLN))
        if online > 0 { report.cpuCount = .value(UInt64(online)) }
        if let text = read("\(procRoot)/cpuinfo") {
            let info = ProcParsers.cpuinfo(text)
            report.cpuModel = .from(info.model)
            report.cpuMHz = .from(info.mhz)
            report.physicalCores = .from(info.physicalCores.map { UInt64($0) })
        }
        if let text = read("\(procRoot)/meminfo") {
            report.memoryTotalBytes = .from(ProcParsers.meminfo(text)["MemTotal"])
        }
        report.diskTotalBytes = .from(Posix.fileSystemSpace(diskPath)?.total)
        report.hostname = .from(Posix.hostname())
        return report
    }

    /// Current host figures. Process figures describe `runtimePID` if set, else `requestedPID`; none when both are nil.
    /// Fields that cannot be read are omitted, never 0.
    public func health(requestedPID: Int32?) -> HealthReport {
        var report = HealthReport()
        if let text = read("\(procRoot)/meminfo") {
            let memory = ProcParsers.memory(ProcParsers.meminfo(text))
            report.memoryTotalBytes = .from(memory.total)
            report.memoryFreeBytes = .from(memory.free)
            report.memoryAvailableBytes = .from(memory.available)
            report.memoryUsedBytes = .from(memory.used)
        }
        if let pid = runtimePID ?? requestedPID, pid > 0 {
            if let text = read("\(procRoot)/\(pid)/stat"), let ticks = ProcParsers.processCPUTicks(text) {
                let perSecond = sysconf(Int32(_SC_CLK_TCK))
                if perSecond > 0 { report.processCPUSeconds = .value(Double(ticks) / Double(perSecond)) }
            }
            if let text = read("\(procRoot)/\(pid)/status") {
                report.processResidentBytes = .from(ProcParsers.residentBytes(text))
            }
        }
        if let text = read("\(procRoot)/loadavg") {
            let (one, five, fifteen) = ProcParsers.loadavg(text)
            report.load1 = .from(one)
            report.load5 = .from(five)
            report.load15 = .from(fifteen)
        }
        if let text = read("\(procRoot)/net/dev"), let bytes = ProcParsers.networkBytes(text) {
            report.networkRxBytes = .value(bytes.rx)
            report.networkTxBytes = .value(bytes.tx)
        }
        if let space = Posix.fileSystemSpace(diskPath) {
            report.diskTotalBytes = .value(space.total)
            report.diskFreeBytes = .value(space.available)
        }
        if let text = read("\(procRoot)/diskstats"), let io = ProcParsers.diskIO(text, isWholeDisk: wholeDiskTest()) {
            report.diskReadsCompleted = .value(io.reads)
            report.diskWritesCompleted = .value(io.writes)
        }
        return report
    }

    private func read(_ path: String) -> String? {
        guard let bytes = Posix.readFile(path) else { return nil }
        return String(validating: bytes, as: UTF8.self)
    }

    /// A whole disk is a /sys/block entry backed by a device (which leaves out loop, ram, zram,
    /// dm and md). Without /sys, fall back to the name heuristic.
    private func wholeDiskTest() -> (String, Set<String>) -> Bool {
        let sysBlock = "\(sysRoot)/block"
        guard Posix.exists(sysBlock) else { return ProcParsers.looksLikeWholeDisk }
        return { name, _ in
            !name.contains("/") && Posix.exists("\(sysBlock)/\(name)/device")
        }
    }
}
