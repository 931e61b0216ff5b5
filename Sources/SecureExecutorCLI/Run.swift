import ArgumentParser
import Enclave
import Foundation
import HostBridge
import Logging
import Manifest
import Node
import NodeAPI
import Synchronization
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

        While it runs, the node API answers on --api-port (GET /health with the host agent's \
        checked figures, /metrics, /workflows, /instances; POST /workflows starts another \
        workflow of trusted functions; DELETE /workflows/ID stops one) and http-ingress \
        resources receive requests on --ingress-port. Both listen on --listen, loopback by \
        default. docs/NODE.md describes the API, docs/HOST-AGENT.md the agent.

        --check-isolation starts the runtime the same way, prints what it can and cannot reach \
        (/proc, the application root, host files, the agent) and exits: 0 if the boundary of the \
        backend holds.
        """)

    @OptionGroup var options: SignedBundleOptions

    @Option(name: .customLong("for"), help: "Stop after this many seconds instead of waiting for a signal.")
    var seconds: Double?

    @Option(help: "Address the node API and the HTTP ingress listen on.")
    var listen = "127.0.0.1"

    @Option(help: "Port of the node API (0: any free port, printed at start).")
    var apiPort = 7021

    @Option(help: "Port of the HTTP ingress that http-ingress resources share (0: any free port).")
    var ingressPort = 7008

    @Option(help: "Where the trusted runtime runs: sandbox or direct (default: sandbox where bubblewrap can create namespaces).")
    var backend: String?

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

    /// Set by the launcher for the runtime it starts: the agent's socket and the backend's name.
    @Option(help: .hidden)
    var hostAgent: String?

    @Option(help: .hidden)
    var insideBackend: String?

    func run() async throws {
        if let hostAgent {
            try await runtime(agentSocket: hostAgent, backend: insideBackend ?? "direct")
        } else {
            try launch()
        }
    }

    /// The untrusted side: agent, backend, the runtime as a child; exits with its status.
    private func launch() throws {
        let chosen: any EnclaveBackend
        do { chosen = try Backends.named(backend) } catch { fail(error) }
        FileHandle.standardError.write(Data((chosen.banner + "\n").utf8))
        let manifest: Manifest
        do { manifest = try Manifest.load(path: options.manifest) } catch { fail(error) }
        // The runtime may not see the key file: hand it the key itself.
        var signer: String?
        do { signer = try options.signer.map { (text) throws(KeyError) in try PublicKey(argument: text).description } } catch { fail(error) }
        let manifestPath = URL(fileURLWithPath: options.manifest).standardizedFileURL.path
        let bundleFolder = options.bundle.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
        var arguments = ["run", manifestPath, "--listen", listen, "--api-port", "\(apiPort)", "--ingress-port", "\(ingressPort)",
                         "--inside-backend", chosen.name]
        if let signer { arguments += ["--signer", signer] }
        if let bundleFolder { arguments += ["--bundle", bundleFolder] }
        if let seconds { arguments += ["--for", "\(seconds)"] }
        if checkIsolation { arguments.append("--check-isolation") }
        arguments += ["--host-cache-ms", "\(hostCacheMs)", "--host-timeout-ms", "\(hostTimeoutMs)"]
        let status: Int32
        do {
            status = try Launcher.run(backend: chosen, agentExecutable: Launcher.sibling("secure-executor-host-agent"), diskPath: manifest.root) { socket, folder in
                LaunchPlan(executable: Launcher.currentExecutable, arguments: arguments + ["--host-agent", socket],
                           applicationRoot: manifest.root,
                           readable: [(manifestPath as NSString).deletingLastPathComponent] + (bundleFolder.map { [$0] } ?? []),
                           writable: Self.writablePaths(manifest), agentFolder: folder)
            }
        } catch {
            fail(error)
        }
        if status != 0 { throw ExitCode(status) }
    }

    /// The host paths behind the manifest's allowed patterns: a folder pattern's folder
    /// (created if missing, so it can be bound), a file's own path, a glob's fixed prefix.
    static func writablePaths(_ manifest: Manifest) -> [String] {
        manifest.allowed.compactMap { pattern in
            let parts = pattern.kind == .glob ? pattern.fixedPrefix : pattern.components
            guard !parts.isEmpty else { return nil }
            let path = manifest.root + "/" + parts.joined(separator: "/")
            if pattern.kind == .directory { try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
            return path
        }
    }

    /// The trusted side: verify, start the node, serve until told to stop.
    private func runtime(agentSocket: String, backend: String) async throws {
        LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        let hostInfo = HostInfoClient(configuration: .init(socketPath: agentSocket, requestTimeout: .milliseconds(hostTimeoutMs),
                                                           cacheInterval: .milliseconds(hostCacheMs)),
                                      logger: Logger(label: "secure-executor.host-agent"))
        if checkIsolation { return try IsolationCheck.run(backend: backend, manifest: options.manifest, hostInfo: hostInfo) }
        let (loaded, _) = options.load()
        guard let workflowPath = loaded.manifest.workflow else {
            fail("\(loaded.manifest.path): no [workflow] file; name the workflow JSON to run")
        }
        let metrics = NodeMetrics()
        let node: Node
        let api: NodeAPI
        let workflow: Node.RunningWorkflow
        do {
            node = try Node(bundle: loaded, metrics: metrics.factory)
            let ingress = try await node.listenForIngress(host: listen, port: ingressPort)
            api = try await NodeAPI.start(node: node, metrics: metrics, hostInfo: hostInfo, backend: backend, host: listen, port: apiPort,
                                          logger: Logger(label: "secure-executor.api"))
            print("node API on \(api.baseURL), HTTP ingress on http://\(listen):\(ingress), backend \(backend)")
            workflow = try node.start(workflowAt: workflowPath.string)
        } catch {
            fail(error)
        }
        print("running \(loaded.manifest.app.name) \(loaded.manifest.app.version) (signed by key \(loaded.signer.keyID)), workflow \(workflowPath) as \(workflow.id)")
        for (name, instance) in workflow.instances.sorted(by: { $0.key < $1.key }) {
            print("  function \(name): \(instance.startup.summary)")
        }
        fflush(nil)

        await untilSignalled(orAfter: seconds)
        let counts = workflow.dataplane.counts
        await api.stop()
        await node.shutdown()
        print("stopped: \(counts.delivered) events delivered, \(counts.undelivered) undelivered, \(counts.calls) calls")
    }

    /// Returns on SIGINT or SIGTERM, or after `seconds`.
    private func untilSignalled(orAfter seconds: Double?) async {
        let once = Mutex(false)
        var sources: [DispatchSourceSignal] = []
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            let finish: @Sendable () -> Void = { if once.withLock({ let first = !$0; $0 = true; return first }) { done.resume() } }
            for signalNumber in [SIGINT, SIGTERM] {
                signal(signalNumber, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
                source.setEventHandler(handler: finish)
                source.resume()
                sources.append(source)
            }
            if let seconds { DispatchQueue.global().asyncAfter(deadline: .now() + seconds, execute: finish) }
        }
        sources.forEach { $0.cancel() }
    }
}
