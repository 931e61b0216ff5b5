import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOPosix
import ServiceLifecycle
import Support

/// The untrusted side of `run`: starts the host agent as its own process, starts the trusted
/// runtime under a backend with one socket to that agent, asks the runtime to stop on
/// SIGINT/SIGTERM, and cleans both up. Returns the runtime's exit status.
///
/// What it tells its children, in their environment (nothing else of its own is passed on):
/// `SECURE_EXECUTOR_STOP_FD`, an inherited pipe on which a byte or end-of-file means "stop
/// gracefully" (bubblewrap does not pass signals on; a descriptor it passes through), and,
/// when the backend starts the runtime itself, `SECURE_EXECUTOR_LAUNCHER_PID`, so the runtime
/// can tie its life to the launcher's (`ParentDeath`). The agent gets `--launcher-pid`.
public enum Launcher {
    /// How long a stopping runtime may take to run its stop handlers and flush, before SIGKILL.
    public static let stopGrace: Duration = .seconds(10)
    /// Environment variable naming the inherited stop pipe's descriptor; a byte or end-of-file on it means "stop".
    public static let stopDescriptorVariable = "SECURE_EXECUTOR_STOP_FD"
    /// Environment variable with the launcher's pid, set only when the backend starts the runtime itself.
    public static let launcherPIDVariable = "SECURE_EXECUTOR_LAUNCHER_PID"

    /// `plan` receives the agent's socket path (which the runtime must be told) and the folder
    /// holding it (which the backend must let through). The plan's writable descriptors are
    /// closed here once the runtime has started (or failed to).
    public static func run(
        backend: any EnclaveBackend, agentExecutable: String, diskPath: String,
        plan: (_ socket: String, _ folder: String) -> LaunchPlan
    ) async throws(EnclaveError) -> Int32 {
        let folder = NSTemporaryDirectory() + "secure-executor-agent-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw .launchFailed(backend: backend.name, reason: "cannot create the agent's folder \(folder): \(error)")
        }
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let socket = folder + "/agent.sock"

        let agent: ChildProcess
        do {
            agent = try await fromLastingThread {
                try ChildProcess.spawn(
                    agentExecutable, ["--socket", socket, "--disk-path", diskPath, "--launcher-pid", "\(getpid())"],
                    environment: LaunchPlan.minimalEnvironment, ownProcessGroup: true, output: .inherit)
            }
        } catch {
            throw .launchFailed(backend: backend.name, reason: "cannot start the host agent: \(error)")
        }
        defer { stop(agent) }
        let deadline = ContinuousClock.now + .seconds(5)
        while !FileManager.default.fileExists(atPath: socket) {
            guard !agent.hasExited, ContinuousClock.now < deadline else {
                throw .launchFailed(backend: backend.name, reason: "the host agent did not open \(socket) within 5 s")
            }
            usleep(10_000)
        }

        var planned = plan(socket, folder)
        defer {
            planned.writable.forEach { close($0.descriptor) }
            planned.handedIn.forEach { close($0.descriptor) }
        }
        var stopPipe: [Int32] = [-1, -1]
        // Close-on-exec at once: no thread here spawns between these lines, and the runtime
        // gets its end explicitly (ChildProcess `passing`).
        guard pipe(&stopPipe) == 0, fcntl(stopPipe[0], F_SETFD, FD_CLOEXEC) == 0, fcntl(stopPipe[1], F_SETFD, FD_CLOEXEC) == 0 else {
            throw .launchFailed(backend: backend.name, reason: "cannot create the stop pipe: \(String(cString: strerror(errno)))")
        }
        defer { close(stopPipe[1]) }
        planned.environment.append("\(stopDescriptorVariable)=\(stopPipe[0])")
        planned.environment += planned.handedIn.map { "\($0.variable)=\($0.descriptor)" }
        if backend.startsRuntimeDirectly { planned.environment.append("\(launcherPIDVariable)=\(getpid())") }
        let command: LaunchCommand
        do { command = try backend.command(for: planned) } catch {
            close(stopPipe[0])
            throw error
        }
        let environment = planned.environment
        let passing = command.passing + [stopPipe[0]] + planned.handedIn.map(\.descriptor)
        // The group traps SIGINT/SIGTERM before its service spawns the runtime, so a signal that
        // comes early is not lost: the stop byte waits in the pipe for the runtime to read.
        let supervisor = RuntimeSupervisor(stopWriteEnd: stopPipe[1]) {
            try ChildProcess.spawn(
                command.arguments[0], Array(command.arguments.dropFirst()), environment: environment,
                passing: passing, ownProcessGroup: true, output: .inherit)
        }
        // The supervisor returning (the runtime exited) ends the group.
        let service = ServiceGroupConfiguration.ServiceConfiguration(service: supervisor, successTerminationBehavior: .gracefullyShutdownGroup)
        let group = ServiceGroup(
            configuration: .init(
                services: [service], gracefulShutdownSignals: [.sigterm, .sigint],
                logger: Logger(label: "secure-executor.launcher")))
        try? await group.run()
        close(stopPipe[0])
        Set(command.passing).subtracting(planned.writable.map(\.descriptor)).forEach { close($0) }
        switch supervisor.outcome {
        case let .exited(status): return status
        case let .couldNotStart(reason): throw .launchFailed(backend: backend.name, reason: reason)
        case let .running(runtime):
            // Only if the blocking pool refused the wait: the child is unreaped and still ours.
            runtime.signal(SIGKILL)
            return runtime.wait()
        case .notStarted: throw .launchFailed(backend: backend.name, reason: "stopped before the runtime was started")
        }
    }

    /// Runs `spawn` on a thread of NIO's blocking pool. The kernel ties a child's parent-death
    /// signal (bubblewrap's --die-with-parent, `ParentDeath`) to the thread that spawned it, not
    /// to the process; the pool's threads live as long as the process, while Swift's shared
    /// threads (and the one serving the main actor) may exit when idle and take the child along.
    fileprivate static func fromLastingThread(_ spawn: @escaping @Sendable () throws -> ChildProcess) async throws -> ChildProcess {
        try await NIOThreadPool.singleton.runIfActive(spawn)
    }

    /// SIGKILL: the agent keeps no state. Its socket folder is removed by the caller.
    private static func stop(_ agent: ChildProcess) {
        agent.signal(SIGKILL)
        agent.wait()
    }

    /// The executable of this process, and a sibling of it by name (the host agent is built
    /// and installed next to `secure-executor`).
    public static var currentExecutable: String { URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path }

    /// The path of `name` in this executable's folder; not checked to exist.
    public static func sibling(_ name: String) -> String {
        (currentExecutable as NSString).deletingLastPathComponent + "/" + name
    }
}

/// The runtime child as the launcher's one service: it spawns the runtime (from a thread of
/// NIO's pool, see `fromLastingThread`) and returns its exit status once it is gone, which ends
/// the group. The group owns SIGINT/SIGTERM; on either, the supervisor writes one byte on the
/// stop pipe (bubblewrap does not pass signals on) and, if the runtime has not exited within
/// `Launcher.stopGrace`, kills it.
private final class RuntimeSupervisor: Service, Sendable {
    enum Outcome: Sendable {
        case notStarted
        case couldNotStart(String)
        case running(ChildProcess)
        case exited(Int32)
    }

    private let spawn: @Sendable () throws -> ChildProcess
    private let stopWriteEnd: Int32
    private let state = NIOLockedValueBox(Outcome.notStarted)

    init(stopWriteEnd: Int32, spawn: @escaping @Sendable () throws -> ChildProcess) {
        self.spawn = spawn
        self.stopWriteEnd = stopWriteEnd
    }

    var outcome: Outcome { state.withLockedValue { $0 } }

    func run() async throws {
        let runtime: ChildProcess
        do {
            runtime = try await Launcher.fromLastingThread(spawn)
        } catch {
            state.withLockedValue { $0 = .couldNotStart("\(error)") }
            return
        }
        state.withLockedValue { $0 = .running(runtime) }
        try await withThrowingTaskGroup(of: Void.self) { stopper in
            stopper.addTask { [self] in
                try await gracefulShutdown()
                var byte: UInt8 = 1
                _ = write(stopWriteEnd, &byte, 1)
                try await Task.sleep(for: Launcher.stopGrace)
                // After `wait` the pid may be reused: only a child not yet reaped is signalled.
                state.withLockedValue { if case .running = $0 { runtime.signal(SIGKILL) } }
            }
            // waitpid blocks: NIO's bounded pool, never Swift's shared threads.
            let status = try await NIOThreadPool.singleton.runIfActive { runtime.wait() }
            state.withLockedValue { $0 = .exited(status) }
            stopper.cancelAll()
        }
    }
}

/// The runtime's side of what the launcher put in its environment.
public enum LauncherLink {
    /// A launcher variable is set but unusable (not a pid, not an open descriptor), or tying to the launcher failed.
    public struct Broken: Error, CustomStringConvertible {
        /// Which variable was wrong and why, for the operator.
        public let description: String
    }

    /// Under a backend that starts the runtime itself, dies with the launcher (`ParentDeath`);
    /// returns the stop pipe's descriptor, if the launcher gave one.
    public static func adopt() throws(Broken) -> Int32? {
        let environment = ProcessInfo.processInfo.environment
        if let text = environment[Launcher.launcherPIDVariable] {
            guard let pid = pid_t(text), pid > 0 else { throw Broken(description: "\(Launcher.launcherPIDVariable)=\(text) is not a process id") }
            do { try ParentDeath.tie(toLauncher: pid) } catch { throw Broken(description: error.description) }
        }
        guard let text = environment[Launcher.stopDescriptorVariable] else { return nil }
        guard let fd = Int32(text), fd > 2, fcntl(fd, F_GETFD) >= 0 else {
            throw Broken(description: "\(Launcher.stopDescriptorVariable)=\(text) is not an open descriptor")
        }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)  // not for the runtime's own children
        return fd
    }
}
