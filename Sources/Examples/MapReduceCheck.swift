import Foundation
import Node

/// bench_mapreduce's check: trigger → map → 4 × process → reduce, `jobs` rounds. Every job
/// must be logged once with the right sum, then "finished JOBS jobs"; the result reports the
/// wall time and the events the dataplane delivered per second.
enum MapReduceCheck {
    static func run(_ run: ExampleRunner.Run, workflow: Node.RunningWorkflow, log: String, jobs: Int) async throws -> String {
        let started = Date()
        guard await run.eventually(within: 60, { run.lines(log).contains("finished \(jobs) jobs") }) else {
            throw ExampleRunner.Failure("\(log) has no \"finished \(jobs) jobs\" line after 60 s (\(run.lines(log).count) lines)")
        }
        let seconds = Date().timeIntervalSince(started)
        workflow.dataplane.drain()
        var seen = Set<Int>()
        for line in run.lines(log) where line != "finished \(jobs) jobs" {
            let fields = line.split(separator: " ")
            guard fields.count == 4, fields[0] == "job", fields[2] == "sum", let job = Int(fields[1]), let sum = Int(fields[3]) else {
                throw ExampleRunner.Failure("\(log): unexpected line \"\(line)\"")
            }
            let expected = (1...4).reduce(0) { $0 + (4 * job + $1) * (4 * job + $1) }
            guard sum == expected else { throw ExampleRunner.Failure("\(log): job \(job) has sum \(sum), expected \(expected)") }
            guard seen.insert(job).inserted else { throw ExampleRunner.Failure("\(log): job \(job) is logged twice") }
        }
        guard seen == Set(1...jobs) else {
            throw ExampleRunner.Failure("\(log): \(jobs - seen.count) jobs missing, e.g. \(Set(1...jobs).subtracting(seen).sorted().prefix(5))")
        }
        let events = workflow.dataplane.counts.delivered
        return "\(jobs) jobs in \(String(format: "%.2f", seconds)) s, \(events) events (\(Int(Double(events) / seconds)) /s)"
    }
}
