import Foundation
import Node
import SealedState

/// sealed_counter's check: the count goes on after a restart of the node, from the sealed
/// state on disk; a changed state file, or another sealing key, refuses the start.
enum SealedCounterCheck {
    static func run(_ run: ExampleRunner.Run) async throws -> String {
        let log = "logs/ticks.log"
        func ticks() -> [String] { run.lines(log) }
        guard await run.eventually(within: 10, { ticks().count >= 5 }) else {
            throw ExampleRunner.Failure("\(log) has \(ticks().count) lines after 10 s, expected 5")
        }
        try run.node.stop(workflow: run.workflow.id)
        let before = ticks()
        guard before == (1...before.count).map({ "tick \($0)" }) else {
            throw ExampleRunner.Failure("\(log) is \(before.prefix(8)), expected tick 1, tick 2, …")
        }

        let restarted = try run.restartedNode(key: run.sealingKey)
        _ = try restarted.start(workflowAt: "workflow.json", id: "again")
        guard await run.eventually(within: 10, { ticks().count > before.count }) else {
            throw ExampleRunner.Failure("after the restart nothing more reached \(log)")
        }
        restarted.stopAll()
        let resumed = ticks()[before.count]
        guard resumed == "tick \(before.count + 1)" else {
            throw ExampleRunner.Failure("after the restart the first line is \"\(resumed)\", expected \"tick \(before.count + 1)\" (the count from disk)")
        }

        let folder = run.folder + "/state"
        guard let file = try FileManager.default.contentsOfDirectory(atPath: folder).first(where: { $0.hasSuffix(".state") }),
            var bytes = FileManager.default.contents(atPath: folder + "/" + file)
        else { throw ExampleRunner.Failure("state/ holds no sealed state file") }
        bytes[bytes.count - 1] ^= 1
        try bytes.write(to: URL(fileURLWithPath: folder + "/" + file))
        let tampered = refusal { try run.restartedNode(key: run.sealingKey) }
        let foreign = refusal { try run.restartedNode(key: SealingKey.random()) }
        guard tampered.contains("does not open with this app's sealing key"), foreign.contains("does not open with this app's sealing key") else {
            throw ExampleRunner.Failure("a changed state file gave \"\(tampered)\" and another key \"\(foreign)\"; both should be refused")
        }
        return "\(before.count) ticks, then from tick \(before.count + 1) after a restart; a changed file and another key refused"
    }

    /// Why starting the workflow on `node` was refused, or "started".
    private static func refusal(_ node: () throws -> Node) -> String {
        do {
            let node = try node()
            defer { node.stopAll() }
            _ = try node.start(workflowAt: "workflow.json")
            return "started"
        } catch {
            return "\(error)"
        }
    }
}
