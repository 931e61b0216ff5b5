import Foundation
import Node

/// bench_mapreduce_edgeless's check: EDGELESS's functions leave only telemetry behind, so the
/// check reads it: "tbegin N" from first as the trigger's vector enters, "tend N" from last once
/// both parts of transaction N came through middle, which waits for all three of first's.
enum EdgelessMapReduceCheck {
    static func transactions(_ run: ExampleRunner.Run, workflow: String, within seconds: Double) async throws -> Int {
        let through = await run.eventually(within: seconds) { run.log.messages("last", target: "tend", workflow: workflow).count >= 2 }
        let begun = run.log.messages("first", target: "tbegin", workflow: workflow)
        let ended = run.log.messages("last", target: "tend", workflow: workflow)
        guard through, Array(ended.prefix(2)) == ["0", "1"], begun.starts(with: ended) else {
            throw ExampleRunner.Failure(
                "\(workflow): first logged tbegin \(begun.prefix(5)), last tend \(ended.prefix(5)); expected 0, 1, … from both within \(Int(seconds)) s")
        }
        let errors = run.lines("err.log")
        guard errors.isEmpty else { throw ExampleRunner.Failure("\(workflow): err.log has \(errors.prefix(3))") }
        return ended.count
    }

    static func run(_ run: ExampleRunner.Run) async throws -> String {
        let only = try await transactions(run, workflow: run.workflow.id, within: 15)
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
        let summary = "mapreduce-only: \(only) transactions through first → 3 × middle → 2 × last; a stray source and a call reported on err.log"

        guard !ExampleRunner.interpretsSlowly else {
            run.leaveOut(
                "workflow-mapreduce-process.json",
                because:
                    "each bench_process computes Fibonacci 100000 (10⁸ digit additions), minutes interpreted by a debug build; run-all from a release build checks it"
            )
            return summary + "; mapreduce-process left out in this debug build"
        }
        let started = Date()
        _ = try run.node.start(workflowAt: "workflow-mapreduce-process.json", id: "process")
        let processed = try await transactions(run, workflow: "process", within: 60)
        return summary
            + "; mapreduce-process: \(processed) transactions through 5 bench_process stages in \(String(format: "%.1f", Date().timeIntervalSince(started))) s"
    }
}
