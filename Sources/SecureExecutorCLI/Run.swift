import ArgumentParser
import CSyscalls
import Enclave
import Foundation
import HostBridge
import Logging
import Manifest
import NIOConcurrencyHelpers
import Node
import NodeAPI
import SealedState
import ServiceLifecycle
import Shield
import TrustedFiles

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Verify a signed app and run its workflow until SIGINT or SIGTERM.",
        discussion: """
            Starts the untrusted host agent, then the trusted runtime under --backend: `sandbox` \
            (bubblewrap: own mount, pid and ipc namespaces, the application root read-only, only \
            allowed paths writable, host-wide /proc entries unreadable, no capabilities) or `direct` (no isolation, for \
            development). The runtime checks the signature, the measurement and the table (as \
            `verify` does, without hashing every file: trusted files are verified as they are read), \
            then starts the workflow named by the manifest's [workflow] file. On SIGINT/SIGTERM (or \
            after --for seconds) it runs the functions' stop handlers, keeps their synced state and \
            flushes resource files.

            While it runs, the node API answers on --api-listen:--api-port (GET /health with the host \
            agent's checked figures, /metrics, /workflows, /instances; POST /workflows starts another \
            workflow of trusted functions; DELETE /workflows/ID stops one), only to callers with the \
            node's bearer token: the runtime makes a new one at each start and writes it, with the \
            API's URL, to --control-dir/APP/control.json (mode 0600, folders 0700), where `secure-executor \
            node status|workflows|start|stop` find it. http-ingress resources receive requests on \
            --listen:--ingress-port. Both addresses are loopback by default. docs/NODE.md describes \
            the API, docs/HOST-AGENT.md the agent.

            --check-isolation starts the runtime the same way, prints what it can and cannot reach \
            (/proc, the application root, host files, the agent) and exits: 0 if the boundary of the \
            backend holds.
            """)

    @OptionGroup var options: SignedBundleOptions

    @Option(name: .customLong("for"), help: "Stop after this many seconds instead of waiting for a signal.")
    var seconds: Double?

    @Option(help: "Address the HTTP ingress listens on.")
    var listen = "127.0.0.1"

    @Option(help: "Address the node API listens on (its own listener: the ingress may face a network the API should not).")
    var apiListen = "127.0.0.1"

    @Option(help: "Port of the node API (0: any free port, printed at start).")
    var apiPort = 7021

    @Option(
        help:
            "Folder (mode 0700, yours) for the control files (APP/control.json) holding the API's URL and token (default: $XDG_RUNTIME_DIR/secure-executor, else /tmp/secure-executor-UID)."
    )
    var controlDir: String?

    @Option(help: "Port of the HTTP ingress that http-ingress resources share (0: any free port).")
    var ingressPort = 7008

    @Option(help: "Where the trusted runtime runs: sandbox or direct (default: sandbox; direct only if the signed manifest says [node] backend = \"direct\").")
    var backend: String?

    @Flag(help: "Development only: run a bundle signed by any key, with a WARNING in the log and in /health (run refuses an unpinned signer otherwise).")
    var insecureAnySigner = false

    @Flag(help: "Print what the runtime can reach under the backend, then exit.")
    var checkIsolation = false

    @Option(help: "How long the host agent's answers are reused, in milliseconds (0: ask on every /health and /metrics).")
    var hostCacheMs = 1000

    @Option(help: "How long to wait for the host agent's answer before reporting its figures unknown, in milliseconds.")
    var hostTimeoutMs = 1000

    func validate() throws {
        guard hostCacheMs >= 0, (1...60_000).contains(hostTimeoutMs) else {
            throw ValidationError("--host-cache-ms must be 0 or more and --host-timeout-ms from 1 to 60000")
        }
    }

    @Option(
        help: ArgumentHelp(
            "Key file for sealed NODE_LOCAL state (created, mode 600, on first use), read here and handed to the runtime through a pipe.",
            discussion: "Used only when the manifest names [node] state_directory. Default: \(KeyFileProvider.defaultPath)."))
    var sealingKey: String?

    /// Set by the launcher for the runtime it starts: the agent's socket and the backend's name.
    @Option(help: .hidden)
    var hostAgent: String?

    @Option(help: .hidden)
    var insideBackend: String?

    func run() async throws {
        if let hostAgent {
            // First thing: tie this process to the launcher, before it can be orphaned unnoticed.
            let stopDescriptor: Int32?
            do { stopDescriptor = try LauncherLink.adopt() } catch { fail(error) }
            try await runtime(agentSocket: hostAgent, backend: insideBackend ?? "direct", stopDescriptor: stopDescriptor)
        } else {
            try await launch()
        }
    }

    /// The untrusted side: agent, backend, the runtime as a child; exits with its status.
    private func launch() async throws {
        // Verify first, then act: nothing of the manifest is used (folders created, binds
        // chosen, the backend floor) before the signature, pinned signer and table are checked.
        let (loaded, outcome) = options.load(requirePin: true, anySigner: insecureAnySigner)
        let manifest = loaded.manifest
        let chosen: any EnclaveBackend
        do { chosen = try Backends.named(backend, floor: manifest.node.backend) } catch { fail(error) }
        FileHandle.standardError.write(Data((chosen.banner + "\n").utf8))
        let writable: [WritablePath]
        do { writable = try WritablePaths.open(manifest) } catch { fail(error) }
        // The runtime writes its control file into its own node folder; under the sandbox it
        // sees only that folder, not the other nodes' files beside it.
        let controlFolder = URL(fileURLWithPath: controlDir ?? ControlFile.defaultFolder()).standardizedFileURL.path
        let nodeFolder = ControlFile.nodeFolder(app: manifest.app.name, in: controlFolder)
        let control: WritablePath
        do {
            close(try ControlFolder.open(controlFolder))
            control = WritablePath(descriptor: try ControlFolder.open(nodeFolder), path: nodeFolder)
        } catch {
            fail(error)
        }
        // The runtime may not see the key or trusted-signers file: hand it every accepted key itself.
        let signerArguments: [String]
        switch outcome {
        case let .pinned(keys, _): signerArguments = keys.flatMap { ["--signer", $0.description] }
        case .anySigner, .unpinned: signerArguments = ["--insecure-any-signer"]
        }
        let manifestPath = URL(fileURLWithPath: options.manifest).standardizedFileURL.path
        let bundleFolder = options.bundle.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
        var arguments = [
            "run", manifestPath, "--listen", listen, "--api-port", "\(apiPort)", "--ingress-port", "\(ingressPort)",
            "--inside-backend", chosen.name, "--api-listen", apiListen, "--control-dir", controlFolder,
        ]
        arguments += signerArguments
        if let bundleFolder { arguments += ["--bundle", bundleFolder] }
        if let seconds { arguments += ["--for", "\(seconds)"] }
        if checkIsolation { arguments.append("--check-isolation") }
        arguments += ["--host-cache-ms", "\(hostCacheMs)", "--host-timeout-ms", "\(hostTimeoutMs)"]
        // The sandbox has no secret of its own: the launcher keeps the key outside it.
        var handedIn: [(variable: String, descriptor: Int32)] = []
        if manifest.node.stateDirectory != nil {
            do {
                let key = try KeyFileProvider(path: sealingKey ?? KeyFileProvider.defaultPath).sealingKey()
                handedIn.append((SealingKey.descriptorVariable, try key.pipe()))
            } catch {
                fail(error)
            }
        }
        let status: Int32
        do {
            status = try await Launcher.run(backend: chosen, agentExecutable: Launcher.sibling("secure-executor-host-agent"), diskPath: manifest.root) {
                socket, folder in
                var plan = LaunchPlan(
                    executable: Launcher.currentExecutable, arguments: arguments + ["--host-agent", socket],
                    applicationRoot: manifest.root,
                    readable: [manifestPath, loaded.paths.table, loaded.paths.signature],
                    writable: writable + [control], agentFolder: folder)
                plan.handedIn = handedIn
                return plan
            }
        } catch {
            fail(error)
        }
        if status != 0 { throw ExitCode(status) }
    }

    /// `--check-isolation`: the sandbox's probes (Enclave), and whether the host agent still
    /// answers through its socket. Exit 0 only if all held.
    private func checkIsolation(backend: String, hostInfo: HostInfoClient) throws {
        let manifest: Manifest
        do { manifest = try Manifest.load(path: options.manifest) } catch { fail(error) }
        let health = hostInfo.health()
        let memory = health.memoryTotalBytes.value.map { formatBytes($0) }
        let load = health.load1.value.map { String(format: "%.2f", $0) }
        let agent = IsolationCheck.Probe(
            what: "host agent: memory total, load", outcome: "\(memory ?? "UNKNOWN"), load \(load ?? "UNKNOWN")", held: memory != nil && load != nil)
        let (text, held) = IsolationCheck.report(IsolationCheck.probes(manifest) + [agent], backend: backend)
        print(text)
        if !held { throw ExitCode(1) }
    }

    /// The trusted side: verify, start the node, serve until told to stop.
    private func runtime(agentSocket: String, backend: String, stopDescriptor: Int32?) async throws {
        LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        let hostInfo = HostInfoClient(
            configuration: .init(
                socketPath: agentSocket, requestTimeout: .milliseconds(hostTimeoutMs),
                cacheInterval: .milliseconds(hostCacheMs)),
            logger: Logger(label: "secure-executor.host-agent"))
        if checkIsolation { return try checkIsolation(backend: backend, hostInfo: hostInfo) }
        let (loaded, outcome) = options.load(requirePin: true, anySigner: insecureAnySigner)
        let warnings = outcome == .anySigner ? [SignerTrust.insecureWarning(signer: loaded.signer)] : []
        for warning in warnings { Logger(label: "secure-executor.run").warning("\(warning)") }
        guard let workflowPath = loaded.manifest.workflow else {
            fail("\(loaded.manifest.path): no [workflow] file; name the workflow JSON to run")
        }
        let metrics = NodeMetrics()
        let controlFolder = controlDir ?? ControlFile.defaultFolder()
        var sealingKey: SealingKey?
        if let text = ProcessInfo.processInfo.environment[SealingKey.descriptorVariable] {
            guard let descriptor = Int32(text), descriptor > 2 else { fail("\(SealingKey.descriptorVariable)=\(text) is not a descriptor") }
            do { sealingKey = try SealingKey.receive(from: descriptor) } catch { fail(error) }
        }
        let node: Node
        do { node = try Node(bundle: loaded, metrics: metrics.factory, sealingKey: sealingKey) } catch { fail(error) }
        let logger = Logger(label: "secure-executor.run")
        let ingress = node.ingressService(host: listen, port: ingressPort)
        let api = NodeAPI(
            node: node, metrics: metrics, hostInfo: hostInfo, backend: backend, warnings: warnings, host: apiListen, port: apiPort,
            logger: Logger(label: "secure-executor.api"))
        let banner = "running \(loaded.manifest.app.name) \(loaded.manifest.app.version) (signed by key \(loaded.signer.keyID))"
        // Shut down in reverse: the stop triggers, the control file, the API, the workflows,
        // and the ingress last.
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: ingress),
            .init(service: WorkflowService(node: node, workflowPath: workflowPath.string, ingress: ingress, api: api, backend: backend, banner: banner)),
            .init(service: api),
            .init(
                service: ControlFileService(
                    api: api, app: loaded.manifest.app.name, controlFolder: controlFolder,
                    nodeFolder: ControlFile.nodeFolder(app: loaded.manifest.app.name, in: controlFolder))),
        ]
        var stopTriggers: [any Service] = []
        if let stopDescriptor { stopTriggers.append(StopPipeService(descriptor: stopDescriptor)) }
        if let seconds { stopTriggers.append(DeadlineService(seconds: seconds)) }
        for trigger in stopTriggers {
            services.append(.init(service: trigger, successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup))
        }
        let group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        do { try await group.run() } catch { fail(error) }
    }
}
