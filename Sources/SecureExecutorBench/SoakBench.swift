import ArgumentParser
import Examples
import Foundation
import Logging
import Node

struct SoakBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "soak",
        abstract: "A minute of ingress load where 1% of requests trap their function: memory, accounting, crashes.",
        discussion: """
            Builds and signs examples/bench_soak and runs it on a node in this process: wrk POSTs \
            to its http-ingress, every 100th body is "trap" (the function traps, the node answers \
            502 and restarts it), every other request casts one event to `counter`, which sets a \
            delayed cast on every 100th. Prints the resident memory after --warmup seconds and at \
            the end (target: growth ≤ 10%), and checks the accounting: every 200 cast one event \
            that arrived, every trap is one undelivered event and one restart, every delayed cast \
            fired. Exits non-zero if a target is missed.
            """)

    @Option(help: "Seconds of load in all, warm-up included.")
    var seconds = 60

    @Option(help: "Seconds of load before the first memory reading.")
    var warmup = 10

    @Option(help: "wrk connections.")
    var connections = 16

    @Option(help: "Folder holding the examples.")
    var examples = "examples"

    func run() async throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/wrk") else {
            throw ValidationError("wrk is not installed; run scripts/install-deps.sh --bench")
        }
        guard warmup < seconds else { throw ValidationError("--warmup (\(warmup)) must be shorter than --seconds (\(seconds))") }
        let quiet = Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() })
        let scratch = NSTemporaryDirectory() + "se-soak-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let app = try ExampleApp.prepare("bench_soak", from: examples, into: scratch + "/bench_soak")
        let node = try Node(bundle: app.bundle, logger: quiet)
        let port = try await node.listenForIngress(port: 0)
        let workflow = try node.start(workflowAt: app.workflowPath, id: "bench_soak")
        let script = scratch + "/soak.lua"
        try """
        counter = 0
        request = function()
          counter = counter + 1
          local body = "event " .. counter
          if counter % 100 == 0 then body = "trap" end
          return wrk.format("POST", "/soak", { ["Host"] = "soak.bench" }, body)
        end
        """.write(toFile: script, atomically: true, encoding: .utf8)

        let startRSS = residentBytes()
        let load = try Wrk.start(["-t1", "-c\(connections)", "-d\(seconds)s", "-s", script, "http://127.0.0.1:\(port)/soak"])
        try await Task.sleep(for: .seconds(warmup))
        let warmRSS = residentBytes()
        var peakRSS = warmRSS
        while load.process.isRunning {
            try await Task.sleep(for: .seconds(1))
            peakRSS = max(peakRSS, residentBytes())
        }
        let text = load.finish()
        let endRSS = residentBytes()
        // wrk's summary line: "N requests in 60.00s, … read".
        let requests = text.split(separator: "\n").lazy.compactMap { line -> Int? in
            let fields = line.trimmingCharacters(in: .whitespaces).split(separator: " ")
            return fields.count > 2 && fields[1] == "requests" && fields[2] == "in" ? Int(fields[0]) : nil
        }.first
        guard load.process.terminationStatus == 0, let requests else { throw ValidationError("wrk failed: \(text)") }
        let failed = Wrk.field(text, "Non-2xx or 3xx responses:").flatMap { Int($0) } ?? 0
        let socketErrors = Wrk.field(text, "Socket errors:") ?? "none"

        // Let the last delayed casts fire, then read the books.
        var counts = try SoakCounts.read(workflow)
        let settle = ContinuousClock.now + .seconds(5)
        // wrk does not count the answers in flight when it stops: at most one per connection.
        let answered = (requests - failed)...(requests - failed + connections)
        let trapped = failed...(failed + connections)
        while ContinuousClock.now < settle, counts.problem(answered: answered, trapped: trapped) != nil {
            try await Task.sleep(for: .milliseconds(100))
            counts = try SoakCounts.read(workflow)
        }
        let states = workflow.instances.mapValues(\.state)
        await node.shutdown()

        let growth = Double(endRSS) / Double(warmRSS) - 1
        printTable(
            "Soak: \(seconds) s of wrk -t1 -c\(connections) on the ingress, 1% of requests trap (memory after \(warmup) s warm-up)",
            ["RSS start", "RSS after warm-up", "RSS peak", "RSS end", "growth after warm-up"],
            [[mebibytes(startRSS), mebibytes(warmRSS), mebibytes(peakRSS), mebibytes(endRSS), percent(growth)]])
        printTable(
            "Soak: where every request and event went",
            [
                "wrk: requests", "200", "502 (trap)", "socket errors", "node: calls", "events delivered", "undelivered", "front restarts",
                "delayed casts set / fired", "crashes",
            ],
            [
                [
                    "\(requests)", "\(requests - failed)", "\(failed)", socketErrors, "\(counts.calls)", "\(counts.events)", "\(counts.undelivered)",
                    "\(counts.frontRestarts)", "\(counts.timersSet) / \(counts.timersFired)", "0",
                ]
            ])
        var missed: [String] = []
        if growth > 0.10 { missed.append("resident memory grew \(percent(growth)) after warm-up (target ≤ 10%)") }
        if let problem = counts.problem(answered: answered, trapped: trapped) { missed.append(problem) }
        if states.values.contains(where: { $0 != .running }) { missed.append("instances not running at the end: \(states)") }
        guard missed.isEmpty else { throw ValidationError(missed.joined(separator: "; ")) }
        print("\nall targets met: growth \(percent(growth)) ≤ 10%, nothing lost silently, no crash")
    }

    /// This process's resident set, from /proc/self/status (VmRSS, in KiB).
    private func residentBytes() -> Int {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") }
        return (line?.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0) * 1024
    }
}
