import Testing

@testable import HostAgent
@testable import HostProtocol

@Suite("Parsing /proc text (agent side)")
struct ProcParserTests {
    @Test func meminfoInBytesAndUsedNeverExceedsTotalMinusFree() {
        let text = """
            MemTotal:        8000000 kB
            MemFree:         1000000 kB
            MemAvailable:    5000000 kB
            Buffers:          200000 kB
            Cached:          3000000 kB
            SReclaimable:     300000 kB
            HugePages_Total:       0
            """
        let info = ProcParsers.meminfo(text)
        #expect(info["MemTotal"] == 8_000_000 * 1024)
        #expect(info["HugePages_Total"] == 0)
        let memory = ProcParsers.memory(info)
        #expect(memory.used == (8_000_000 - 1_000_000 - 200_000 - 3_000_000 - 300_000) * 1024)
        #expect(memory.available == 5_000_000 * 1024)
        #expect(
            ProcParsers.memory(ProcParsers.meminfo("MemTotal: 10 kB\nMemFree: 5 kB\n")).used == nil,
            "used is omitted when Buffers/Cached are missing, not guessed")
    }

    @Test func loadavgAndGarbage() {
        let (one, five, fifteen) = ProcParsers.loadavg("0.52 1.58 2.59 1/467 12345\n")
        #expect(one == 0.52 && five == 1.58 && fifteen == 2.59)
        let broken = ProcParsers.loadavg("x")
        #expect(broken.0 == nil && broken.1 == nil && broken.2 == nil)
    }

    @Test func cpuinfoCountsDistinctPhysicalCores() {
        var text = ""
        for (cpu, core) in [(0, 0), (1, 1), (2, 0), (3, 1)] {  // 2 cores, 2 threads each
            text += "processor\t: \(cpu)\nmodel name\t: Test CPU @ 3.00GHz\ncpu MHz\t\t: 2999.5\nphysical id\t: 0\ncore id\t\t: \(core)\n\n"
        }
        let info = ProcParsers.cpuinfo(text)
        #expect(info.model == "Test CPU @ 3.00GHz")
        #expect(info.mhz == 2999.5)
        #expect(info.physicalCores == 2)
        #expect(ProcParsers.cpuinfo("processor : 0\nCPU part : 0xd0c\n").physicalCores == nil)
    }

    @Test func processStatCountsFieldsAfterTheLastParenthesis() {
        let stat = "42 (evil) name) R 1 2 3 4 5 6 7 8 9 10 150 50 0 0 20 0 1 0 100 1000 10"
        #expect(ProcParsers.processCPUTicks(stat) == 200)
        #expect(ProcParsers.residentBytes("Name:\tx\nVmRSS:\t    2048 kB\n") == 2048 * 1024)
    }

    @Test func networkSumsEveryInterfaceButLoopback() {
        let text = """
            Inter-|   Receive                                                |  Transmit
             face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
                lo:  487974    8374    0    0    0     0          0         0   487974    8374    0    0    0     0       0          0
              eth0: 1000     677    0    0    0     0          0         0    400     498    0    0    0     0       0          0
              eth1: 24     1    0    0    0     0          0         0    6     1    0    0    0     0       0          0
            """
        let bytes = ProcParsers.networkBytes(text)
        #expect(bytes?.rx == 1024 && bytes?.tx == 406)
    }

    @Test func diskstatsSumsWholeDisksOnly() {
        let text = """
               7       0 loop0 5 0 0 0 5 0 0 0 0 0 0 0 0 0 0 0 0
             259       0 nvme0n1 100 0 0 0 10 0 0 0 0 0 0 0 0 0 0 0 0
             259       1 nvme0n1p1 60 0 0 0 6 0 0 0 0 0 0 0 0 0 0 0 0
               8       0 sda 20 0 0 0 2 0 0 0 0 0 0 0 0 0 0 0 0
               8       1 sda1 20 0 0 0 2 0 0 0 0 0 0 0 0 0 0 0 0
             253       0 dm-0 50 0 0 0 5 0 0 0 0 0 0 0 0 0 0 0 0
            """
        let io = ProcParsers.diskIO(text, isWholeDisk: ProcParsers.looksLikeWholeDisk)
        #expect(io?.reads == 120 && io?.writes == 12)
    }

    @Test func unreadableProcLeavesFieldsOutInsteadOfZero() throws {
        let empty = "/tmp/hb-empty-proc-\(UInt32.random(in: 0...UInt32.max))"
        let reader = HostReader(procRoot: empty, sysRoot: empty, diskPath: "\(empty)/missing")
        let health = reader.health(requestedPID: 1)
        #expect(health == HealthReport(), "every field omitted")
        let capabilities = reader.capabilities()
        #expect(capabilities.memoryTotalBytes == nil && capabilities.cpuModel == nil && capabilities.diskTotalBytes == nil)
        #expect(capabilities.cpuCount != nil && capabilities.hostname != nil, "sysconf and gethostname need no /proc")
    }
}
