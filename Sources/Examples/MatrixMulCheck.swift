import Foundation
import Node

/// matrix_mul's check: each function's matrix, as it answers a call ("EVENTS DIGEST"), must be
/// the one EDGELESS's computes: its seed's first n × n draws times the next n × n draws, once
/// for every event it handled.
enum MatrixMulCheck {
    /// The digest after each number of products, computed as far as asked.
    final class Reference {
        let n: Int
        private var generator = EdgelessReference.Generator(seed: 42)
        private var matrix: [Float]
        private var digests: [String]

        init(n: Int) {
            self.n = n
            matrix = generator.draw(n * n)
            digests = [EdgelessReference.digest(matrix)]
        }

        func digest(after events: Int) -> String {
            while digests.count <= events {
                matrix = EdgelessReference.product(matrix, generator.draw(n * n), n: n)
                digests.append(EdgelessReference.digest(matrix))
            }
            return digests[events]
        }
    }

    /// The products an answer "EVENTS DIGEST" counts; nil if it is none.
    static func count(_ answer: String) -> Int? { answer.split(separator: " ").first.flatMap { Int($0) } }

    /// The products `function` says it computed, checked against `reference`.
    static func events(of function: String, answered text: String, reference: Reference) throws -> Int {
        let answer = text.split(separator: " ")
        guard answer.count == 2, let events = Int(answer[0]) else { throw ExampleRunner.Failure("\(function) answered \(answer), expected \"EVENTS DIGEST\"") }
        let expected = reference.digest(after: events)
        guard answer[1] == expected else {
            throw ExampleRunner.Failure(
                "\(function)'s \(reference.n) × \(reference.n) matrix after \(events) products has digest \(answer[1]), expected \(expected) (EDGELESS's, seed 42)"
            )
        }
        return events
    }

    static func run(_ run: ExampleRunner.Run) async throws -> String {
        // workflow-single.json: a 1000 × 1000 matrix; its first product (10⁹ multiply-adds) is
        // due 1 s after init and is beyond the fuel allowed (matrix_mul.toml), so the check
        // stops it before then, and only then computes its own.
        let answer = try run.answer("matrix_mul")
        try run.node.stop(workflow: run.workflow.id)
        let single = try events(of: "matrix_mul", answered: answer, reference: Reference(n: 1000))
        guard single == 0 else { throw ExampleRunner.Failure("matrix_mul (workflow-single.json) computed \(single) products before its first event was due") }

        let started = Date()
        let chain = try run.node.start(workflowAt: "workflow-chain.json", id: "chain")
        // f1 starts a transaction every 2 s whatever the others' pace, and three 100 × 100
        // products every 2 s is more than a debug build's interpreter does on two cores: the
        // queue behind f1 would grow, and a stop drains it first. So f1 is stopped once it has
        // sent transaction 0 (its timer with it), and the stop finds the rest done.
        let f1 = chain.instances["f1"]!
        defer { try? f1.stop() }
        var first = ""
        guard
            await run.eventually(
                within: 30,
                {
                    first = (try? run.answer("f1", in: chain)) ?? ""
                    return (count(first) ?? 0) >= 1
                })
        else {
            throw ExampleRunner.Failure("f1 finished no product within 30 s")
        }
        try f1.stop()
        guard await run.eventually(within: 60, { (count((try? run.answer("f3", in: chain)) ?? "") ?? 0) >= 1 }) else {
            throw ExampleRunner.Failure("f3, the chain's last, finished no product within 60 s")
        }
        let answers = try [("f1", first)] + ["f2", "f3"].map { ($0, try run.answer($0, in: chain)) }
        let seconds = Date().timeIntervalSince(started)
        try run.node.stop(workflow: chain.id)
        var done = 0
        let reference = Reference(n: 100)
        for (function, answer) in answers { done += try events(of: function, answered: answer, reference: reference) }
        let begun = run.log.messages("f1", target: "tbegin", workflow: "chain")
        let ended = run.log.messages("f3", target: "tend", workflow: "chain")
        guard begun.first == "0", ended.first == "0", run.log.messages("f2", target: "tbegin").isEmpty, run.log.messages("f2", target: "tend").isEmpty
        else {
            throw ExampleRunner.Failure(
                "the chain logged tbegin \(begun) from f1 and tend \(ended) from f3, expected both to start with transaction 0 and nothing from f2")
        }
        return
            "single: its 1000 × 1000 matrix is EDGELESS's (seed 42); chain: \(done) products of 100 × 100 matrices by f1, f2, f3, each as EDGELESS's, "
            + "transaction 0 through in \(String(format: "%.1f", seconds)) s"
    }
}
