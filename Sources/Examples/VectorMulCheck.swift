import Foundation
import Node

/// vector_mul's check: the client answers a call with the last message it received, which must
/// be, to the byte, the one EDGELESS's functions would have sent it.
enum VectorMulCheck {
    static let n = 10000

    /// The client's k-th vector: its seed's draws (k − 1)·n ..< k·n.
    static func clientVector(_ k: Int) -> [Float] {
        var generator = EdgelessReference.Generator(seed: 42)
        _ = generator.draw((k - 1) * n)
        return generator.draw(n)
    }

    static func message(_ id: Int, _ values: [Float]) -> String {
        ([String(id)] + values.map(EdgelessReference.rustDisplay)).joined(separator: ",")
    }

    /// What a processing function (seed 42) casts for "id,v…": its matrix, drawn row by row,
    /// times the n numbers that start the message, the id among them, as EDGELESS's indexes it.
    static func processed(_ id: Int, _ values: [Float]) -> [Float] {
        let input = [Float(id)] + values.prefix(n - 1)
        var generator = EdgelessReference.Generator(seed: 42)
        return (0..<n).map { _ in
            var sum: Float = 0
            for j in 0..<n { sum += generator.next() * input[j] }
            return sum
        }
    }

    /// The id of the last message `client` received, once it is at least `id`.
    static func received(atLeast id: Int, _ run: ExampleRunner.Run, in workflow: Node.RunningWorkflow, within seconds: Double) async -> (Int, String)? {
        var last = ""
        let arrived = await run.eventually(within: seconds) {
            last = (try? run.answer("client", in: workflow)) ?? ""
            return (Int(last.prefix { $0 != "," }) ?? 0) >= id
        }
        return arrived ? (Int(last.prefix { $0 != "," })!, last) : nil
    }

    /// The client casts on without pause (to itself, or round the chain), so a cast is always in
    /// flight and a stop, which drains first, would wait for ever. The client is stopped first;
    /// the one message then under way is the workflow's only undelivered event.
    static func stop(_ workflow: Node.RunningWorkflow, _ run: ExampleRunner.Run) throws {
        try workflow.instances["client"]!.stop()
        try run.node.stop(workflow: workflow.id)
        let lost = workflow.dataplane.counts.undelivered
        guard lost == 1 else { throw ExampleRunner.Failure("\(workflow.id): \(lost) events undelivered after the client stopped, expected the 1 under way") }
    }

    static func run(_ run: ExampleRunner.Run) async throws -> String {
        // workflow-single.json: the client's output is its own input, so it receives its own messages.
        guard let (k, last) = await received(atLeast: 2, run, in: run.workflow, within: 30) else {
            throw ExampleRunner.Failure("the client received no second message of its own within 30 s")
        }
        try stop(run.workflow, run)
        let expected = message(k, clientVector(k))
        guard last == expected else {
            throw ExampleRunner.Failure("the client's message \(k) is \(last.prefix(80))…, expected \(expected.prefix(80))… (EDGELESS's draws, seed 42)")
        }
        let begun = run.log.messages("client", target: "tbegin")
        let ended = run.log.messages("client", target: "tend")
        guard begun.count >= k, begun == (1...begun.count).map(String.init), ended == (1..<begun.count).map(String.init) else {
            throw ExampleRunner.Failure("the client logged tbegin \(begun.suffix(5)) and tend \(ended.suffix(5)), expected 1, 2, … and one tend fewer")
        }
        let single = "single: the client's message \(k) (\(n) numbers, \(last.utf8.count) bytes) is EDGELESS's to the byte"

        // workflow-chain.json: client → f1 → f2 → client, each processing function drawing a
        // 10000 × 10000 matrix (400 MB) at init and multiplying by it on every message.
        guard !ExampleRunner.interpretsSlowly else {
            run.leaveOut(
                "workflow-chain.json",
                because:
                    "10⁸ draws at init and 10⁸ multiply-adds a message per function take minutes interpreted by a debug build; run-all from a release build checks it"
            )
            return single + "; chain left out in this debug build"
        }
        let started = Date()
        let chain = try run.node.start(workflowAt: "workflow-chain.json", id: "chain")
        guard let (id, answer) = await received(atLeast: 1, run, in: chain, within: 60) else {
            throw ExampleRunner.Failure("the client received nothing back through f1 and f2 within 60 s")
        }
        let seconds = Date().timeIntervalSince(started)
        try stop(chain, run)
        let back = message(id, processed(id, processed(id, clientVector(id))))
        guard answer == back else {
            throw ExampleRunner.Failure(
                "the client got \(answer.prefix(80))… back for message \(id), expected \(back.prefix(80))… (matrix × matrix × its vector)")
        }
        return single + "; chain: message \(id) came back as matrix × matrix × vector, to the byte, in \(String(format: "%.1f", seconds)) s"
    }
}
