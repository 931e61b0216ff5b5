import Foundation
import Synchronization

/// The untrusted side of `run`: starts the host agent as its own process, starts the trusted
/// runtime under a backend with one socket to that agent, passes SIGINT/SIGTERM on to the
/// runtime, and cleans both up. Returns the runtime's exit status.
public enum Launcher {
    /// `plan` receives the agent's socket path (which the runtime must be told) and the folder
    /// holding it (which the backend must let through).
    public static func run(backend: any EnclaveBackend, agentExecutable: String, diskPath: String,
                           plan: (_ socket: String, _ folder: String) -> LaunchPlan) throws(EnclaveError) -> Int32 {
        let folder = NSTemporaryDirectory() + "secure-executor-agent-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw .launchFailed(backend: backend.name, reason: "cannot create the agent's folder \(folder): \(error)")
        }
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let socket = folder + "/agent.sock"

        let agent = Process()
        agent.executableURL = URL(fileURLWithPath: agentExecutable)
        agent.arguments = ["--socket", socket, "--disk-path", diskPath]
        do { try agent.run() } catch {
            throw .launchFailed(backend: backend.name, reason: "cannot start the host agent \(agentExecutable): \(error)")
        }
        defer { stop(agent) }
        let deadline = Date().addingTimeInterval(5)
        while !FileManager.default.fileExists(atPath: socket) {
            guard agent.isRunning, Date() < deadline else {
                throw .launchFailed(backend: backend.name, reason: "the host agent did not open \(socket) within 5 s")
            }
            usleep(10_000)
        }

        let command = try backend.command(for: plan(socket, folder))
        let runtime = Process()
        runtime.executableURL = URL(fileURLWithPath: command[0])
        runtime.arguments = Array(command.dropFirst())
        do { try runtime.run() } catch {
            throw .launchFailed(backend: backend.name, reason: "cannot start \(command[0]): \(error)")
        }
        let forwarding = forwardSignals(to: runtime.processIdentifier)
        runtime.waitUntilExit()
        forwarding.forEach { $0.cancel() }
        return runtime.terminationStatus
    }

    /// SIGINT and SIGTERM reach the runtime (which stops its workflows cleanly), not us.
    private static func forwardSignals(to pid: Int32) -> [DispatchSourceSignal] {
        [SIGINT, SIGTERM].map { signalNumber in
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler { kill(pid, signalNumber) }
            source.resume()
            return source
        }
    }

    /// SIGKILL: the agent keeps no state, and a parent started with SIGTERM blocked (a test
    /// runner) would pass that mask on. Its socket folder is removed by the caller.
    private static func stop(_ agent: Process) {
        guard agent.isRunning else { return }
        kill(agent.processIdentifier, SIGKILL)
        agent.waitUntilExit()
    }

    /// The executable of this process, and a sibling of it by name (the host agent is built
    /// and installed next to `secure-executor`).
    public static var currentExecutable: String { URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path }

    public static func sibling(_ name: String) -> String {
        (currentExecutable as NSString).deletingLastPathComponent + "/" + name
    }
}
