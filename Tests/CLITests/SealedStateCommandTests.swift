import Foundation
import Support
import TestSupport
import Testing

private let cli = builtProduct("secure-executor")

/// NODE_LOCAL state through `secure-executor run`, under the default backend (the sandbox):
/// the launcher's key file, the key handed in, and state that survives `kill -9`.
@Suite struct SealedStateCommandTests {
    /// Every process whose command line names `folder`: the launcher, the sandbox and the
    /// runtime inside it, killed at once without a chance to stop.
    static func killEverything(naming folder: String) {
        let pids = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap(pid_t.init)
        for pid in pids where pid != getpid() {
            guard let cmdline = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { continue }
            if String(decoding: cmdline, as: UTF8.self).contains(folder) { kill(pid, SIGKILL) }
        }
    }

    @Test func stateSyncedBeforeAKill9IsThereAfterTheRestart() async throws {
        let folder = try NodeCommandTests.signedExample("sealed_counter", function: "counter")
        let arguments = [
            "run", folder.path("app/sealed_counter.toml"), "--signer", folder.path("k.pub"), "--sealing-key", folder.path("keys/sealing.key"),
            "--api-port", "0", "--ingress-port", "0", "--control-dir", folder.path("control"),
        ]
        func ticks() -> [String] {
            String(decoding: (try? folder.read("app/logs/ticks.log")) ?? [], as: UTF8.self).split(separator: "\n").map(String.init)
        }

        let node = try ChildProcess.spawn(cli, arguments + ["--for", "120"])
        #expect(try await eventually(within: 60) { ticks().count >= 5 }, "the counter never ticked 5 times")
        Self.killEverything(naming: folder.root)
        _ = node.wait()
        let before = ticks()
        #expect(before == (1...before.count).map { "tick \($0)" })
        var status = stat()
        #expect(stat(folder.path("keys/sealing.key"), &status) == 0 && status.st_mode & 0o777 == 0o600, "the launcher's key file is its owner's alone")

        let again = try runProcess(cli, arguments + ["--for", "2"], directory: folder.root)
        #expect(again.status == 0, "\(again.stderr)")
        let after = ticks().dropFirst(before.count)
        // The kill may fall between a sync and its log line: the count on disk is then one ahead.
        #expect(["tick \(before.count + 1)", "tick \(before.count + 2)"].contains(after.first ?? "none"), "after \(before.count) ticks: \(after.prefix(3))")

        // Another key file (another machine's, or a new one) opens none of it.
        let foreign = try runProcess(
            cli, arguments.map { $0 == folder.path("keys/sealing.key") ? folder.path("keys/other.key") : $0 } + ["--for", "2"], directory: folder.root)
        #expect(foreign.status != 0)
        #expect(foreign.stderr.contains("does not open with this app's sealing key"), "\(foreign.stderr)")
    }
}
