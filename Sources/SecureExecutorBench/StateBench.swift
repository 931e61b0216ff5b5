import ArgumentParser
import Foundation
import SealedState

struct StateBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "state",
        abstract: "Durable sealed syncs (NODE_LOCAL state) against EDGELESS's unsealed, unsynced state file.",
        discussion: """
            For each state size: `count` saves of one state through SealedStateStore, each \
            sealed (AES-GCM), written to a temporary file, fsynced, renamed over, the folder \
            fsynced, and the same for the rollback index: what a NODE_LOCAL function's sync_asm \
            waits for. The baseline, in the same folder and run, is what EDGELESS's \
            FileStateProvider does: the state written over its file, no seal, no fsync. \
            Run it on the disk the node's state folder will be on.
            """)

    @Option(help: "State sizes in bytes, comma separated.")
    var sizes = "1024,65536"

    @Option(help: "Saves per size and kind.")
    var count = 300

    @Option(help: "Folder to write in, on the disk to measure (default: the temporary folder); a subfolder is made and removed.")
    var workdir: String?

    func run() throws {
        // A fresh folder each run: the key is fresh too, and an old index would not open with it.
        let folder = (workdir ?? NSTemporaryDirectory()) + "/se-state-bench-\(getpid())"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let store = try SealedStateStore(
            directory: open(folder, O_RDONLY | O_DIRECTORY), path: folder, key: .random(), signer: Array(repeating: 1, count: 32))
        let codeHash = Array(repeating: UInt8(2), count: 32)
        var rows: [[String]] = []
        for size in sizes.split(separator: ",").compactMap({ Int($0) }) {
            let state = (0..<size).map { UInt8(truncatingIfNeeded: $0) }
            let plain = folder + "/plain-\(size)"
            let baseline = try timed(count) { try Data(state).write(to: URL(fileURLWithPath: plain)) }
            let sealed = try timed(count) { try store.save(state, codeHash: codeHash, stateID: "bench-\(size)") }
            for (kind, times) in [("EDGELESS-style write (no seal, no fsync)", baseline), ("sealed, durable (this node)", sealed)] {
                let total = Double(times.reduce(0, +)) / 1e9
                rows.append([
                    "\(size / 1024) KiB", kind, String(format: "%.0f", Double(times.count) / total),
                    us(percentile(times, 50)), us(percentile(times, 99)),
                    ratio(Double(percentile(times, 50)) / Double(max(1, percentile(baseline, 50)))),
                ])
            }
        }
        printTable(
            "NODE_LOCAL state: \(count) saves per row, one state, in \(folder)", ["state", "save", "saves/s", "p50", "p99", "p50 vs baseline"], rows)
    }

    private func timed(_ count: Int, _ body: () throws -> Void) throws -> [UInt64] {
        try (0..<count).map { _ in
            let start = DispatchTime.now().uptimeNanoseconds
            try body()
            return DispatchTime.now().uptimeNanoseconds - start
        }
    }
}
