import ArgumentParser
import Foundation

@main
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "secure-executor-bench",
        abstract: "Benchmarks that print markdown tables, each against a baseline measured in the same run.",
        discussion: """
            Build in release mode for meaningful numbers:

              swift run -c release secure-executor-bench table

            Results and the exact commands are kept in docs/BENCHMARKS.md.
            """,
        subcommands: [TableBench.self, FunctionBench.self, HTTPBench.self, SoakBench.self, StateBench.self, MeasureLoad.self])
}

/// Monotonic wall time in seconds.
func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

/// Runs `body` `runs` times and returns the median duration in seconds.
func median(runs: Int, _ body: () throws -> Void) rethrows -> Double {
    var times: [Double] = []
    for _ in 0..<runs {
        let start = now()
        try body()
        times.append(now() - start)
    }
    times.sort()
    return times[times.count / 2]
}

func milliseconds(_ seconds: Double) -> String { String(format: "%.2f ms", seconds * 1e3) }
func microseconds(_ seconds: Double) -> String { String(format: "%.2f µs", seconds * 1e6) }
func megabytesPerSecond(_ bytes: Double, _ seconds: Double) -> String { String(format: "%.0f MB/s", bytes / seconds / 1e6) }
func mebibytes(_ bytes: Int) -> String { String(format: "%.2f MiB", Double(bytes) / 1_048_576) }
func ratio(_ value: Double) -> String { String(format: "%.2f×", value) }
func percent(_ value: Double) -> String { String(format: "%.0f%%", value * 100) }

/// Nanoseconds as microseconds, one decimal.
func us(_ nanoseconds: UInt64) -> String { String(format: "%.1f µs", Double(nanoseconds) / 1000) }

/// The `p`th percentile of `values` (nearest rank; 0 when empty).
func percentile(_ values: [UInt64], _ p: Int) -> UInt64 {
    let sorted = values.sorted()
    return sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, sorted.count * p / 100)]
}

/// Prints a markdown table.
func printTable(_ title: String, _ header: [String], _ rows: [[String]]) {
    print("\n### \(title)\n")
    print("| " + header.joined(separator: " | ") + " |")
    print("|" + header.map { _ in "---" }.joined(separator: "|") + "|")
    for row in rows { print("| " + row.joined(separator: " | ") + " |") }
    fflush(nil)
}
