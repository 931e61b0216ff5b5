import ArgumentParser
import Examples
import Foundation
import Logging

struct ExamplesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "examples",
        abstract: "Build, sign and run the EDGELESS example set, checking each result.",
        subcommands: [RunAll.self])

    struct RunAll: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "run-all",
            abstract: "Run every example under examples/ and print a pass/fail table; exit 1 on any failure.",
            discussion: "Each example is copied to a scratch folder, its C functions built, signed with a fresh key, run on a node, and its observable result checked.")

        @Option(help: "Folder holding the examples.")
        var dir = "examples"

        @Option(help: "Run only these examples (comma separated).")
        var only: String?

        func run() async throws {
            let outcomes = await ExampleRunner.runAll(from: dir, only: only.map { $0.split(separator: ",").map(String.init) } ?? [],
                                                logger: Logger(label: "examples", factory: { _ in SwiftLogNoOpLogHandler() }))
            let width = max(7, outcomes.map(\.name.count).max() ?? 0)
            print("EXAMPLE".padding(toLength: width, withPad: " ", startingAt: 0) + "  RESULT  TIME     DETAIL")
            for outcome in outcomes {
                print(outcome.name.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + (outcome.passed ? "pass  " : "FAIL  ")
                      + "  " + String(format: "%5.2f s", outcome.seconds) + "  " + outcome.detail)
            }
            let failed = outcomes.filter { !$0.passed }.count
            print("\(outcomes.count - failed) passed, \(failed) failed")
            if failed > 0 { throw ExitCode(1) }
        }
    }
}
