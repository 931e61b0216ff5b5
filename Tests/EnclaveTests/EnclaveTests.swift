import Enclave
import Foundation
import TestSupport
import Testing

@Suite struct BackendChoiceTests {
    @Test func theManifestsFloorDecidesWhatMayRun() throws {
        #expect(throws: EnclaveError.belowFloor(requested: "direct", floor: "sandbox")) { try Backends.named("direct", floor: "sandbox") }
        #expect(throws: EnclaveError.unknownBackend("enclave-ish")) { try Backends.named("enclave-ish", floor: "direct") }
        #expect(try Backends.named("direct", floor: "direct").name == "direct")
        #expect(try Backends.named(nil, floor: "sandbox").name == "sandbox", "bubblewrap is installed by scripts/install-deps.sh")
        let refusal = EnclaveError.belowFloor(requested: "direct", floor: "sandbox").description
        #expect(refusal.contains("Run with --backend sandbox"))
    }
}

@Suite struct SandboxCommandTests {
    private func folder() throws -> String {
        let path = NSTemporaryDirectory() + "se-enclave-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path + "/app/logs", withIntermediateDirectories: true)
        return path
    }

    @Test func onlyTheRootReadOnlyAndTheCheckedWritableDescriptorsAreBound() throws {
        let base = try folder()
        defer { try? FileManager.default.removeItem(atPath: base) }
        let logs = open(base + "/app/logs", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        defer { close(logs) }
        let plan = LaunchPlan(
            executable: "/usr/bin/true", arguments: ["--flag"], applicationRoot: base + "/app",
            writable: [WritablePath(descriptor: logs, path: base + "/app/logs")], agentFolder: base)
        let command = try SandboxBackend().command(for: plan)
        let text = command.arguments.joined(separator: " ")
        for expected in [
            "--cap-drop ALL", "--clearenv", "--unshare-pid", "--unshare-user", "--setenv PATH /usr/bin:/bin",
            "--ro-bind \(base)/app \(base)/app", "--bind-fd \(logs) \(base)/app/logs", "--chdir \(base)/app -- /usr/bin/true --flag",
        ] {
            #expect(text.contains(expected), "missing \(expected)")
        }
        #expect(!text.contains("--bind \(base)/app "), "the root must not be writable")
        #expect(command.passing.contains(logs), "the checked descriptor is handed to bubblewrap")
        #expect(text.contains("--ro-bind \(base)/hidden-file /proc/meminfo"), "host-wide /proc entries are covered")
    }

    @Test func aRelativePathOrAMalformedEnvironmentIsRefused() throws {
        let base = try folder()
        defer { try? FileManager.default.removeItem(atPath: base) }
        let relative = LaunchPlan(executable: "/usr/bin/true", arguments: [], applicationRoot: "app", agentFolder: base)
        #expect(throws: EnclaveError.launchFailed(backend: "sandbox", reason: "app is not an absolute path")) { try SandboxBackend().command(for: relative) }
        var noEquals = LaunchPlan(executable: "/usr/bin/true", arguments: [], applicationRoot: base + "/app", agentFolder: base)
        noEquals.environment.append("JUSTANAME")
        #expect(throws: EnclaveError.launchFailed(backend: "sandbox", reason: "environment entry JUSTANAME has no '='")) {
            try SandboxBackend().command(for: noEquals)
        }
    }
}

@Suite struct LauncherTests {
    /// The launcher reports the runtime's own exit status, whatever the backend.
    @Test func theRuntimesExitStatusComesBack() async throws {
        let base = NSTemporaryDirectory() + "se-launcher-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: base) }
        for (backend, status) in [(DirectBackend() as any EnclaveBackend, 3), (SandboxBackend(), 5)] {
            let got = try await Launcher.run(backend: backend, agentExecutable: builtProduct("secure-executor-host-agent"), diskPath: base) { _, folder in
                LaunchPlan(executable: "/bin/sh", arguments: ["-c", "exit \(status)"], applicationRoot: base, agentFolder: folder)
            }
            #expect(got == Int32(status), "\(backend.name)")
        }
    }

    @Test func aRuntimeThatCannotStartIsNamed() async throws {
        let base = NSTemporaryDirectory() + "se-launcher-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: base) }
        await #expect(throws: EnclaveError.self) {
            try await Launcher.run(backend: DirectBackend(), agentExecutable: base + "/no-such-agent", diskPath: base) { _, folder in
                LaunchPlan(executable: "/bin/true", arguments: [], applicationRoot: base, agentFolder: folder)
            }
        }
    }
}
