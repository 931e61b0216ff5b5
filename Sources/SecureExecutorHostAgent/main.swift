import ArgumentParser
import Foundation
import HostAgent
import HostProtocol
import Logging
import ServiceLifecycle
import Support

/// The untrusted host agent as a process: `secure-executor run` starts one beside the trusted
/// runtime, which may not read /proc itself. The protocol is docs/HOST-AGENT.md.
@main
struct HostAgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "secure-executor-host-agent",
        abstract: "Answer the trusted runtime's questions about this host over a Unix socket.",
        discussion: """
            Reads /proc, statvfs and the network counters and answers capability and health \
            requests in the framed protocol of docs/HOST-AGENT.md. The runtime checks every answer; \
            this process is not trusted. Serves until SIGTERM or SIGINT, then removes its socket.
            """)

    @Option(help: "Unix socket path to listen on (at most 107 bytes).")
    var socket: String

    @Option(help: "Path whose filesystem's free and total space is reported.")
    var diskPath = "/"

    @Option(help: "Process whose CPU time and resident memory are reported (default: the process that asks, as the kernel identifies it).")
    var runtimePID: Int32?

    @Option(help: "Read the host's figures from this folder instead of /proc (a container's view of the host, or a test's).")
    var procRoot = "/proc"

    @Option(help: "The launcher that started this agent: the agent dies with it (SIGKILL), and refuses to start if it is already gone.")
    var launcherPID: Int32?

    func validate() throws {
        if let runtimePID, runtimePID <= 0 { throw ValidationError("--runtime-pid must be a positive process id") }
    }

    func run() async throws {
        if let launcherPID {
            do { try ParentDeath.tie(toLauncher: launcherPID) } catch { throw ValidationError("\(error)") }
        }
        LoggingSystem.bootstrap(StreamLogHandler.standardError)
        let agent = HostAgent(configuration: .init(socketPath: socket, reader: HostReader(procRoot: procRoot, diskPath: diskPath, runtimePID: runtimePID)))
        let group = ServiceGroup(
            configuration: .init(
                services: [AgentService(agent: agent, socket: socket)], gracefulShutdownSignals: [.sigterm, .sigint],
                logger: Logger(label: "host-bridge.agent")))
        try await group.run()
    }
}

/// The agent's serving as a service: it listens only once its group traps SIGTERM and SIGINT
/// (a signal right after the socket appears must not kill the agent with its socket left
/// behind), and on either stops serving and removes its socket.
struct AgentService: Service {
    let agent: HostAgent
    let socket: String

    func run() async throws {
        do {
            try await agent.start()
        } catch {
            throw ValidationError("cannot listen on \(socket): \(error)")
        }
        try? await gracefulShutdown()
        await agent.stop()
    }
}
