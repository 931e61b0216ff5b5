import ArgumentParser
import Enclave
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
            discussion: """
                Each example is copied to a scratch folder, its C functions built, signed with a fresh \
                key, run on a node, and its observable result checked. With --backend the whole run \
                (building, signing, every node, every check) happens inside that backend, with the \
                examples folder read-only and a host agent beside it, as `run` does.
                """)

        @Option(help: "Folder holding the examples.")
        var dir = "examples"

        @Option(help: "Run only these examples (comma separated).")
        var only: String?

        @Option(help: "Run inside this backend (sandbox or direct) instead of in this process.")
        var backend: String?

        @Option(help: .hidden)
        var insideBackend: String?

        @Option(help: .hidden)
        var hostAgent: String?

        func run() async throws {
            if let backend, insideBackend == nil { return try await launch(backend) }
            if let insideBackend { try checkInside(insideBackend) }
            let width = ExampleRunner.nameWidth
            print("EXAMPLE".padding(toLength: width, withPad: " ", startingAt: 0) + "  RESULT  TIME     DETAIL")
            // Each row as its example finishes: a long run shows progress.
            let outcomes = await ExampleRunner.runAll(
                from: dir, only: only.map { $0.split(separator: ",").map(String.init) } ?? [],
                logger: Logger(label: "examples", factory: { _ in SwiftLogNoOpLogHandler() })
            ) { outcome in
                print(
                    outcome.name.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + (outcome.passed ? "pass  " : "FAIL  ")
                        + "  " + String(format: "%5.2f s", outcome.seconds) + "  " + outcome.detail)
                fflush(nil)
            }
            let failed = outcomes.filter { !$0.passed }.count
            print("\(outcomes.count - failed) passed, \(failed) failed\(insideBackend.map { " (inside backend \($0))" } ?? "")")
            print("")
            ExampleRunner.edgelessTable(outcomes).forEach { print($0) }
            if failed > 0 { throw ExitCode(1) }
        }

        private func launch(_ name: String) async throws {
            let chosen: any EnclaveBackend
            // A development harness, not a signed app: no manifest floor applies to the whole run.
            do { chosen = try Backends.named(name, floor: "direct") } catch { fail(error) }
            FileHandle.standardError.write(Data((chosen.banner + "\n").utf8))
            let folder = URL(fileURLWithPath: dir).standardizedFileURL.path
            var arguments = ["examples", "run-all", "--dir", folder, "--inside-backend", chosen.name]
            if let only { arguments += ["--only", only] }
            let status: Int32
            do {
                status = try await Launcher.run(backend: chosen, agentExecutable: Launcher.sibling("secure-executor-host-agent"), diskPath: folder) {
                    socket, agentFolder in
                    LaunchPlan(
                        executable: Launcher.currentExecutable, arguments: arguments + ["--host-agent", socket],
                        applicationRoot: folder, agentFolder: agentFolder)
                }
            } catch {
                fail(error)
            }
            if status != 0 { throw ExitCode(status) }
        }

        /// Inside the sandbox the examples must run without /proc and without writing to their
        /// own folder; say so up front, so a pass means something.
        private func checkInside(_ backend: String) throws {
            guard backend == "sandbox" else { return }
            let procReadable = FileManager.default.isReadableFile(atPath: "/proc/meminfo")
            let folderWritable = FileManager.default.createFile(atPath: dir + "/.write-probe", contents: Data())
            if folderWritable { try? FileManager.default.removeItem(atPath: dir + "/.write-probe") }
            guard !procReadable, !folderWritable else {
                fail("inside backend sandbox but /proc is \(procReadable ? "readable" : "hidden") and \(dir) is \(folderWritable ? "writable" : "read-only")")
            }
            print("inside backend sandbox: /proc/meminfo is not readable, \(dir) is read-only")
            fflush(nil)
        }
    }
}
