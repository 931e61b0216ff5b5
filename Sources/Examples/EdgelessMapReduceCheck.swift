import Foundation
import Node

/// bench_mapreduce_edgeless's check: EDGELESS's functions leave only telemetry behind, so the
/// check reads it: "tbegin N" from first as the trigger's vector enters, "tend N" from last once
/// both parts of transaction N came through middle, which waits for all three of first's.
enum EdgelessMapReduceCheck {
    /// Transactions 0 and 1 through `workflow`. The trigger sends one a second whatever the
    /// stages' pace; where they are slower (five bench_process calls a transaction) the queues
    /// grow, and a stop drains them first. So the trigger is stopped once it has sent two.
    static func transactions(_ run: ExampleRunner.Run, _ workflow: Node.RunningWorkflow, within seconds: Double) async throws {
        let id = workflow.id
        let sent = await run.eventually(within: seconds) { run.log.messages("first", target: "tbegin", workflow: id).count >= 2 }
        try workflow.instances["trigger"]!.stop()
        let through = await run.eventually(within: seconds) { run.log.messages("last", target: "tend", workflow: id).count >= 2 }
        let begun = run.log.messages("first", target: "tbegin", workflow: id)
        let ended = run.log.messages("last", target: "tend", workflow: id)
        guard sent, through, Array(ended.prefix(2)) == ["0", "1"], begun.starts(with: ended) else {
            throw ExampleRunner.Failure(
                "\(id): first logged tbegin \(begun.prefix(5)), last tend \(ended.prefix(5)); expected 0, 1, … from both within \(Int(seconds)) s")
        }
        let errors = run.lines("err.log")
        guard errors.isEmpty else { throw ExampleRunner.Failure("\(id): err.log has \(errors.prefix(3))") }
    }

    static func run(_ run: ExampleRunner.Run) async throws -> String {
        try await transactions(run, run.workflow, within: 15)
        // A message from a source middle does not expect, and a call: both reported on err.
        let middle = run.workflow.instances["middle"]!
        let stray = [0, 0, 0, 0, 0, 0, 0, 7] + [UInt8](repeating: 0, count: 4)
        try middle.cast(from: middle.id, payload: Array(Data(stray).base64EncodedString().utf8))
        guard case .noReply = try middle.call(from: middle.id, payload: []) else { throw ExampleRunner.Failure("middle answered a call; EDGELESS's does not") }
        let reported = await run.eventually(within: 5) { run.lines("err.log").count >= 2 }
        let errors = run.lines("err.log")
        guard reported, errors.count == 2, errors[0].hasSuffix(" error: discarded message from unexpected source 7 (expected: 0,1,2)"),
            errors[1].hasSuffix(" error: call handler invoked")
        else {
            throw ExampleRunner.Failure("err.log is \(errors), expected the stray source 7 and the call reported")
        }
        try run.node.stop(workflow: run.workflow.id)
        try FileManager.default.removeItem(atPath: run.folder + "/err.log")
        let summary = "mapreduce-only: transactions 0 and 1 through first → 3 × middle → 2 × last; a stray source and a call reported on err.log"

        guard !ExampleRunner.interpretsSlowly else {
            run.leaveOut(
                "workflow-mapreduce-process.json",
                because:
                    "each bench_process computes Fibonacci 100000 (10⁸ digit additions), minutes interpreted by a debug build; run-all from a release build checks it"
            )
            return summary + "; mapreduce-process left out in this debug build"
        }
        let started = Date()
        let process = try run.node.start(workflowAt: "workflow-mapreduce-process.json", id: "process")
        try await transactions(run, process, within: 60)
        let seconds = Date().timeIntervalSince(started)
        try run.node.stop(workflow: process.id)
        return summary
            + "; mapreduce-process: transactions 0 and 1 through its five bench_process instances in \(String(format: "%.1f", seconds)) s"
    }
}
