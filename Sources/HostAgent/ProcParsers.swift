import HostProtocol

// Pure parsers for the /proc text formats the agent reads. They take text and return numbers
// or nil; they never substitute 0 for something they could not read (a line missing, a field
// not a number, a sum overflowing all give nil), so the agent omits the field instead.

enum ProcParsers {
    /// /proc/meminfo: key → bytes. Values in the file are kB (really KiB).
    static func meminfo(_ text: String) -> [String: UInt64] {
        var result: [String: UInt64] = [:]
        for line in text.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let key = String(line[..<colon])
            let rest = line[line.index(after: colon)...].split(whereSeparator: isBlank)
            guard let first = rest.first, let number = UInt64(first) else { continue }
            let unitIsKB = rest.count > 1 && rest[1] == "kB"
            if unitIsKB {
                let bytes = number.multipliedReportingOverflow(by: 1024)
                if !bytes.overflow { result[key] = bytes.partialValue }
            } else if rest.count == 1 {
                result[key] = number
            }
        }
        return result
    }

    /// The memory figures the agent reports. "used" is free(1)'s classic definition,
    /// total - free - buffers - cache (- reclaimable slab), so used + free ≤ total by
    /// construction; nil where an input line is missing or the difference would be negative.
    static func memory(_ info: [String: UInt64]) -> (total: UInt64?, free: UInt64?, available: UInt64?, used: UInt64?) {
        let total = info["MemTotal"]
        let free = info["MemFree"]
        var used: UInt64?
        if let total, let free, let buffers = info["Buffers"], let cached = info["Cached"] {
            let reclaimable = info["SReclaimable"] ?? 0
            let (notUsed, overflow) = free.addingReportingOverflow(buffers)
            let (notUsed2, overflow2) = notUsed.addingReportingOverflow(cached)
            let (notUsed3, overflow3) = notUsed2.addingReportingOverflow(reclaimable)
            if !overflow, !overflow2, !overflow3, notUsed3 <= total { used = total - notUsed3 }
        }
        return (total, free, info["MemAvailable"], used)
    }

    /// /proc/loadavg: "0.52 0.58 0.59 1/467 12345".
    static func loadavg(_ text: String) -> (Double?, Double?, Double?) {
        let parts = text.split(whereSeparator: { isBlank($0) || $0 == "\n" })
        func value(_ index: Int) -> Double? {
            guard index < parts.count, let number = Double(parts[index]), number.isFinite else { return nil }
            return number
        }
        return (value(0), value(1), value(2))
    }

    /// /proc/cpuinfo: model name and clock of the first cpu listed, and physical cores as the
    /// number of distinct (physical id, core id) pairs (nil where those lines are absent, e.g.
    /// on most ARM kernels).
    static func cpuinfo(_ text: String) -> (model: String?, mhz: Double?, physicalCores: Int?) {
        var model: String?
        var mhz: Double?
        var cores = Set<String>()
        var physicalID: String?
        var sawCoreIDs = false
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            guard let colon = line.firstIndex(of: ":") else {
                physicalID = nil  // a blank line ends one processor's block
                continue
            }
            let key = line[..<colon].trimmed(" \t")
            let value = line[line.index(after: colon)...].trimmed(" \t")
            switch key {
            case "model name" where model == nil: model = value
            case "cpu MHz" where mhz == nil: mhz = Double(value)
            case "physical id": physicalID = value
            case "core id":
                sawCoreIDs = true
                cores.insert("\(physicalID ?? "?")/\(value)")
            default: break
            }
        }
        return (model, mhz, sawCoreIDs && !cores.isEmpty ? cores.count : nil)
    }

    /// /proc/PID/stat: utime + stime in clock ticks. The command name (field 2) is in
    /// parentheses and may itself contain spaces and ')', so fields are counted after the LAST ')'.
    static func processCPUTicks(_ text: String) -> UInt64? {
        guard let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(whereSeparator: { isBlank($0) || $0 == "\n" })
        // After ')': state is field 3, so utime (14) and stime (15) are at 11 and 12.
        guard fields.count > 12, let user = UInt64(fields[11]), let system = UInt64(fields[12]) else { return nil }
        let (sum, overflow) = user.addingReportingOverflow(system)
        return overflow ? nil : sum
    }

    /// /proc/PID/status: VmRSS in bytes.
    static func residentBytes(_ text: String) -> UInt64? {
        meminfo(text)["VmRSS"]
    }

    /// /proc/net/dev: received and sent bytes summed over every interface but loopback.
    static func networkBytes(_ text: String) -> (rx: UInt64, tx: UInt64)? {
        var rx: UInt64 = 0
        var tx: UInt64 = 0
        var sawInterface = false
        for line in text.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }  // the two header lines
            let name = line[..<colon].trimmed(" ")
            let columns = line[line.index(after: colon)...].split(whereSeparator: isBlank)
            guard columns.count >= 9, let received = UInt64(columns[0]), let sent = UInt64(columns[8]) else {
                return nil  // a line we cannot read makes the whole sum unknown, not smaller
            }
            sawInterface = true
            if name == "lo" { continue }
            let (newRx, overflowRx) = rx.addingReportingOverflow(received)
            let (newTx, overflowTx) = tx.addingReportingOverflow(sent)
            guard !overflowRx, !overflowTx else { return nil }
            rx = newRx
            tx = newTx
        }
        return sawInterface ? (rx, tx) : nil
    }

    /// /proc/diskstats: reads and writes completed, summed over whole disks only (a partition's
    /// I/O is already counted in its disk, so adding both would count it twice).
    static func diskIO(_ text: String, isWholeDisk: (String, Set<String>) -> Bool) -> (reads: UInt64, writes: UInt64)? {
        var rows: [(name: String, reads: UInt64, writes: UInt64)] = []
        for line in text.split(separator: "\n") {
            let columns = line.split(whereSeparator: isBlank)
            // major minor name reads_completed reads_merged sectors ms writes_completed ...
            guard columns.count >= 8, let reads = UInt64(columns[3]), let writes = UInt64(columns[7]) else {
                return nil
            }
            rows.append((String(columns[2]), reads, writes))
        }
        guard !rows.isEmpty else { return nil }
        let names = Set(rows.map(\.name))
        var reads: UInt64 = 0
        var writes: UInt64 = 0
        for row in rows where isWholeDisk(row.name, names) {
            let (newReads, overflowReads) = reads.addingReportingOverflow(row.reads)
            let (newWrites, overflowWrites) = writes.addingReportingOverflow(row.writes)
            guard !overflowReads, !overflowWrites else { return nil }
            reads = newReads
            writes = newWrites
        }
        return (reads, writes)
    }

    /// Fallback whole-disk test when /sys/block cannot be read: not a virtual device (loop, ram,
    /// zram, device-mapper, md RAID, which sit on top of real disks or memory) and not a
    /// partition of another listed device ("sda1" of "sda", "nvme0n1p2" of "nvme0n1").
    static func looksLikeWholeDisk(_ name: String, among names: Set<String>) -> Bool {
        for prefix in ["loop", "ram", "zram", "dm-", "md", "sr", "fd"] where name.hasPrefix(prefix) {
            return false
        }
        for other in names where other != name && name.hasPrefix(other) {
            var suffix = name.dropFirst(other.count)
            if suffix.first == "p" { suffix = suffix.dropFirst() }
            if !suffix.isEmpty, suffix.allSatisfy(\.isNumber) { return false }
        }
        return true
    }
}

extension StringProtocol {
    /// Trims the given characters from both ends (no Foundation needed).
    func trimmed(_ characters: String) -> String {
        var slice = Substring(self)
        while let first = slice.first, characters.contains(first) { slice.removeFirst() }
        while let last = slice.last, characters.contains(last) { slice.removeLast() }
        return String(slice)
    }
}

private func isBlank(_ character: Character) -> Bool {
    character == " " || character == "\t"
}
