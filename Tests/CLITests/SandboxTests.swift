import Examples
import Foundation
import HTTPServing
import Support
import TestSupport
import Testing

private let cli = builtProduct("secure-executor")
private let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("examples").path

/// The http_ingress example, built and signed into a fresh folder, with its public key;
/// `manifestTail` is appended to its manifest before signing.
private func preparedApp(_ tag: String, manifestTail: String = "") throws -> (app: ExampleApp, signer: String) {
    let folder = NSTemporaryDirectory() + "se-sandbox-\(tag)-\(getpid())/http_ingress"
    let manifest = try String(contentsOfFile: examples + "/http_ingress/http_ingress.toml", encoding: .utf8)
    let app = try ExampleApp.prepare("http_ingress", from: examples, into: folder, writing: ["http_ingress.toml": manifest + manifestTail])
    return (app, app.key.publicKey.description)
}

/// Processes whose command line contains `marker`, by pid.
private func processes(containing marker: String) -> [Int32] {
    ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { entry in
        guard let pid = Int32(entry), pid != getpid(),
            let line = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline")
        else { return nil }
        return String(decoding: line, as: UTF8.self).replacingOccurrences(of: "\0", with: " ").contains(marker) ? pid : nil
    }
}

/// A launcher started with a clean signal mask (posix_spawn), its output going to `log`.
private func startLauncher(_ arguments: [String], log: String) throws -> ChildProcess {
    let quoted = ([cli] + arguments).map { "'\($0)'" }.joined(separator: " ")
    return try ChildProcess.spawn("/bin/sh", ["-c", "exec \(quoted) > '\(log)' 2>&1"])
}

/// What a running child has printed so far.
private final class Printed: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()
    func append(_ more: Data) { lock.withLock { data.append(more) } }
    var text: String { lock.withLock { String(decoding: data, as: UTF8.self) } }
}

@Suite(.serialized) struct SandboxTests {
    @Test func theSandboxHidesProcAndHostFilesAndKeepsTheRootReadOnly() throws {
        let (app, signer) = try preparedApp("check")
        defer { try? FileManager.default.removeItem(atPath: (app.folder as NSString).deletingLastPathComponent) }
        try "a host file next to the app".write(toFile: app.folder + "/../neighbour.txt", atomically: true, encoding: .utf8)
        // A secret in the operator's shell must reach neither runtime.
        setenv("SE_OPERATOR_SECRET", "hunter2", 1)
        defer { unsetenv("SE_OPERATOR_SECRET") }
        let sandbox = try runProcess(cli, ["run", app.manifest.path, "--signer", signer, "--backend", "sandbox", "--check-isolation"])
        #expect(sandbox.status == 0, "\(sandbox.stdout)\(sandbox.stderr)")
        for line in [
            "ok   read /proc/meminfo                           refused: Permission denied",
            "ok   read /proc/loadavg                           refused: Permission denied",
            "ok   read /proc/sys/kernel/hostname               refused: Permission denied",
            "ok   count the processes in /proc",
            "ok   see host path /etc/passwd                    invisible",
            "nothing but the app",
            "ok   write into the application root              refused: Read-only file system",
            "ok   write into allowed \(app.folder)/logs",
            "ok   give a file to another user (CAP_CHOWN)      refused: Invalid argument",
            "ok   seccomp: ptrace                              refused: Operation not permitted",
            "ok   seccomp: mount                               refused: Operation not permitted",
            "ok   seccomp: unshare                             refused: Operation not permitted",
            "ok   seccomp: keyctl                              refused: Operation not permitted",
            "ok   capability bounding set (CapBnd)             0000000000000000",
            "ok   environment                                  PATH PWD",
            "the boundary holds",
        ] {
            #expect(sandbox.stdout.contains(line), "missing: \(line)")
        }
        #expect(sandbox.stdout.contains(#/ok   host agent: memory total, load +[0-9.]+ [KMGT]iB, load [0-9.]+/#))

        let (developer, developerSigner) = try preparedApp("check-direct", manifestTail: "\n[node]\nbackend = \"direct\"\n")
        defer { try? FileManager.default.removeItem(atPath: (developer.folder as NSString).deletingLastPathComponent) }
        try "a host file next to the app".write(toFile: developer.folder + "/../neighbour.txt", atomically: true, encoding: .utf8)
        let direct = try runProcess(cli, ["run", developer.manifest.path, "--signer", developerSigner, "--backend", "direct", "--check-isolation"])
        #expect(direct.status == 1)
        #expect(direct.stdout.contains("ok   environment                                  PATH\n"), "\(direct.stdout)")
        #expect(direct.stderr.contains("WARNING: backend direct: NO ISOLATION"))
        #expect(direct.stdout.contains("FAIL read /proc/meminfo"))
        #expect(direct.stdout.contains("VISIBLE: neighbour.txt"))
        #expect(direct.stdout.contains("expected: backend direct does not isolate"))
    }

    @Test func aNodeInTheSandboxServesRequestsAndReportsTheHostThroughTheAgent() async throws {
        let (app, signer) = try preparedApp("serve")
        defer { try? FileManager.default.removeItem(atPath: (app.folder as NSString).deletingLastPathComponent) }
        // Ports 0: the node picks free ones and prints them (a port chosen here could be taken
        // by a parallel test before the node binds it).
        let node = Process()
        node.executableURL = URL(fileURLWithPath: cli)
        let control = (app.folder as NSString).deletingLastPathComponent + "/control"
        node.arguments = [
            "run", app.manifest.path, "--signer", signer, "--backend", "sandbox", "--for", "6", "--api-port", "0", "--ingress-port", "0",
            "--control-dir", control,
        ]
        let output = Pipe()
        node.standardOutput = output
        node.standardError = FileHandle.nullDevice
        let printed = Printed()
        output.fileHandleForReading.readabilityHandler = { printed.append($0.availableData) }
        try node.run()
        // It serves for 6 s once started; starting may take a while on a busy machine.
        let deadline = ContinuousClock.now + .seconds(60)
        var ports: (api: Int, ingress: Int)?
        while ports == nil, ContinuousClock.now < deadline {
            if let match = printed.text.firstMatch(of: #/node API on http://127.0.0.1:(\d+), HTTP ingress on http://127.0.0.1:(\d+)/#) {
                ports = (Int(match.1)!, Int(match.2)!)
            } else {
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        let (api, ingress) = try #require(ports, "the node did not print its ports: \(printed.text)")
        // The runtime wrote its token into its node folder, the one the launcher bound into the sandbox.
        let controlFile = control + "/http_ingress/control.json"
        let token = try #require(
            (try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: controlFile))) as? [String: Any])?["token"] as? String)
        let health = try await HTTPCall.send(.GET, "http://127.0.0.1:\(api)/health", headers: ["authorization": "Bearer " + token], timeout: .seconds(5))
        let hello = try await HTTPCall.send(.POST, "http://127.0.0.1:\(ingress)/hello", host: "demo.edgeless.com", body: Array("sandbox".utf8))
        while node.isRunning { try await Task.sleep(for: .milliseconds(100)) }
        output.fileHandleForReading.readabilityHandler = nil
        printed.append(output.fileHandleForReading.readDataToEndOfFile())

        #expect(node.terminationStatus == 0, "\(printed.text)")
        #expect(hello.status == 200)
        #expect(hello.text == "hello sandbox")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(health.body)) as? [String: Any])
        #expect(report["backend"] as? String == "sandbox")
        let host = try #require(report["host"] as? [String: Any])
        let values = try #require(host["values"] as? [String: Any])
        #expect((values["memory_total_bytes"] as? Double ?? 0) > 0)
        #expect(values["load_1"] != nil)
        // The agent measures the runtime itself (found by the kernel, not by a pid the
        // sandboxed runtime could only give from inside its own pid namespace).
        #expect((values["process_resident_bytes"] as? Double ?? 0) > 1_000_000, "\(host)")
        #expect(printed.text.contains("backend sandbox"))
        #expect(printed.text.contains("stopped:"))
    }

    @Test func everyExamplePassesInsideTheSandbox() throws {
        let result = try runProcess(cli, ["examples", "run-all", "--dir", examples, "--backend", "sandbox"])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("inside backend sandbox: /proc/meminfo is not readable"))
        #expect(result.stdout.contains("\(ExampleRunner.names.count) passed, 0 failed (inside backend sandbox)"))
    }

    @Test func aManifestThatRequiresTheSandboxRefusesBackendDirect() throws {
        let (app, signer) = try preparedApp("floor")
        defer { try? FileManager.default.removeItem(atPath: (app.folder as NSString).deletingLastPathComponent) }
        let direct = try runProcess(cli, ["run", app.manifest.path, "--signer", signer, "--backend", "direct", "--for", "1"])
        #expect(direct.status == 1)
        #expect(
            direct.stderr.contains("backend direct refused: the signed manifest requires backend sandbox ([node] backend = \"sandbox\")"), "\(direct.stderr)")
        #expect(!direct.stderr.contains("NO ISOLATION"))
    }

    @Test func withTheRootASubfolderTheKeyBesideTheManifestStaysOutside() throws {
        let folder = NSTemporaryDirectory() + "se-sandbox-subroot-\(getpid())"
        try? FileManager.default.removeItem(atPath: folder)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try FileManager.default.createDirectory(atPath: folder + "/app/bin", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: folder + "/app/logs", withIntermediateDirectories: true)
        try "code".write(toFile: folder + "/app/bin/f", atomically: true, encoding: .utf8)
        try "[app]\nname = \"sub\"\nversion = \"1\"\nroot = \"app\"\n[trusted]\nfiles = [\"bin/\"]\n[allowed]\nfiles = [\"logs/\"]\n"
            .write(toFile: folder + "/sub.toml", atomically: true, encoding: .utf8)
        #expect(try runProcess(cli, ["keygen", "--out", folder + "/signer.key"]).status == 0)
        #expect(try runProcess(cli, ["sign", folder + "/sub.toml", "--key", folder + "/signer.key"]).status == 0)
        let check = try runProcess(cli, ["run", folder + "/sub.toml", "--signer", folder + "/signer.key.pub", "--backend", "sandbox", "--check-isolation"])
        // Around the root the runtime sees the manifest, table and signature it needs, bound
        // read-only, and nothing else of their folder: not the key that sits beside them.
        #expect(
            check.stdout.contains(#/list the folder around the app \(.*se-sandbox-subroot-[0-9]+\) +VISIBLE: sub.sig, sub.toml, sub.trusted\n/#),
            "\(check.stdout)\(check.stderr)")
        #expect(!check.stdout.contains("signer.key"))
        #expect(check.stdout.contains("ok   write into the application root              refused: Read-only file system"))
    }

    @Test func theLauncherVerifiesBeforeItCreatesAllowedFolders() throws {
        let (app, signer) = try preparedApp("verify-first")
        defer { try? FileManager.default.removeItem(atPath: (app.folder as NSString).deletingLastPathComponent) }
        let manifest = try String(contentsOfFile: app.manifest.path, encoding: .utf8)
        try manifest.replacingOccurrences(of: #"files = ["logs/"]"#, with: #"files = ["logs/", "planted/"]"#)
            .write(toFile: app.manifest.path, atomically: true, encoding: .utf8)
        let run = try runProcess(cli, ["run", app.manifest.path, "--signer", signer, "--backend", "sandbox", "--check-isolation"])
        #expect(run.status == 1)
        #expect(run.stderr.contains("changed"), "\(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: app.folder + "/planted"))
    }

    @Test func aSymlinkedAllowedFolderIsRefusedNotBound() throws {
        let (app, signer) = try preparedApp("symlink")
        defer { try? FileManager.default.removeItem(atPath: (app.folder as NSString).deletingLastPathComponent) }
        try FileManager.default.removeItem(atPath: app.folder + "/logs")
        try FileManager.default.createSymbolicLink(atPath: app.folder + "/logs", withDestinationPath: ".")
        let run = try runProcess(cli, ["run", app.manifest.path, "--signer", signer, "--backend", "sandbox", "--check-isolation"])
        #expect(run.status == 1)
        #expect(run.stderr.contains("allowed path \(app.folder)/logs is a symbolic link"), "\(run.stdout)\(run.stderr)")
        #expect(!run.stdout.contains("write into allowed"))
    }

    @Test func sigtermToASandboxedLauncherStopsTheRuntimeGracefully() async throws {
        let (app, signer) = try preparedApp("sigterm")
        defer { try? FileManager.default.removeItem(atPath: (app.folder as NSString).deletingLastPathComponent) }
        let log = app.folder + "/../launcher.log"
        let launcher = try startLauncher(
            ["run", app.manifest.path, "--signer", signer, "--backend", "sandbox", "--api-port", "0", "--ingress-port", "0"], log: log)
        let printed = { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }
        #expect(try await eventually(within: 60) { printed().contains("running http_ingress") }, "\(printed())")
        launcher.signal(SIGTERM)
        let started = ContinuousClock.now
        #expect(try await eventually(within: 15) { launcher.hasExited }, "the launcher did not exit after SIGTERM")
        let status = launcher.wait()
        #expect(ContinuousClock.now - started < .seconds(10))
        #expect(status == 0, "\(printed())")
        #expect(printed().contains("stopped:"), "\(printed())")
    }

    @Test func childrenDieWithALauncherKilledBySIGKILL() async throws {
        for backend in ["sandbox", "direct"] {
            let (app, signer) = try preparedApp("sigkill-\(backend)", manifestTail: "\n[node]\nbackend = \"\(backend)\"\n")
            defer { try? FileManager.default.removeItem(atPath: (app.folder as NSString).deletingLastPathComponent) }
            let log = app.folder + "/../launcher.log"
            let launcher = try startLauncher(
                ["run", app.manifest.path, "--signer", signer, "--backend", backend, "--api-port", "0", "--ingress-port", "0"], log: log)
            let printed = { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }
            #expect(try await eventually(within: 60) { printed().contains("running http_ingress") }, "\(printed())")
            let agents = processes(containing: "--launcher-pid \(launcher.pid)")
            let runtimes = processes(containing: "--host-agent").filter { processes(containing: app.manifest.path).contains($0) }
            #expect(agents.count == 1, "\(backend): agent not found")
            #expect(!runtimes.isEmpty, "\(backend): runtime not found")
            launcher.signal(SIGKILL)
            launcher.wait()
            #expect(
                try await eventually(within: 10) { (agents + runtimes).allSatisfy { kill($0, 0) != 0 || isZombie($0) } },
                "\(backend): still running: \((agents + runtimes).filter { kill($0, 0) == 0 })")
        }
    }
}

/// A process that has exited but not been reaped (its parent, reparented to init, reaps it soon).
private func isZombie(_ pid: Int32) -> Bool {
    ((try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? "").split(separator: ")").last?.dropFirst().first == "Z"
}
