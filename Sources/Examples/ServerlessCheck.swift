import Foundation
import Node

/// EDGELESS's serverless example, both ways: `double` as the node's serverless provider (the
/// gateway a PeerServer stands in for) and as a wasm function. The counter's numbers must come
/// back doubled, in order; with the gateway gone, each cast is a line on `err`.
enum ServerlessCheck {
    static func run(_ run: ExampleRunner.Run) async throws -> String {
        let served = try await doubled(run, log: "my-out.log")
        guard run.peer!.requests.allSatisfy({ $0.method == "POST" && $0.path == "/double" }) else {
            throw ExampleRunner.Failure("the gateway got \(run.peer!.requests.map { "\($0.method) \($0.path)" }), expected POST /double")
        }
        await run.peer!.stop()
        guard await run.eventually(within: 10, { !run.lines("my-err.log").isEmpty }),
            let failure = run.lines("my-err.log").first, failure.contains("POST http://"), failure.contains("failed")
        else {
            throw ExampleRunner.Failure(
                "with the gateway stopped, my-err.log is \(run.lines("my-err.log").prefix(2)), expected a line naming the POST that failed")
        }
        try run.node.stop(workflow: run.workflow.id)
        _ = try run.node.start(workflowAt: "workflow-wasm.json", id: "wasm")
        let wasm = try await doubled(run, log: "my-local-file.log")
        return "gateway doubled \(served); with it stopped, my-err.log says why; the wasm double gave \(wasm)"
    }

    /// Waits for two lines `<timestamp> N` in `log` and checks they are even and 2 apart.
    private static func doubled(_ run: ExampleRunner.Run, log: String) async throws -> String {
        guard await run.eventually(within: 10, { run.lines(log).count >= 2 }) else {
            throw ExampleRunner.Failure("\(log) has \(run.lines(log).count) lines after 10 s, expected 2")
        }
        let numbers = run.lines(log).prefix(2).compactMap { $0.split(separator: " ").last.flatMap { Int($0) } }
        guard numbers.count == 2, numbers[0] >= 86, numbers[0] % 2 == 0, numbers[1] == numbers[0] + 2 else {
            throw ExampleRunner.Failure("\(log) starts \(run.lines(log).prefix(2)), expected doubled counts from 86, 2 apart")
        }
        return "\(numbers[0]), \(numbers[1])"
    }
}
