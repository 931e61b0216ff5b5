import ArgumentParser
import Foundation
import Logging
import Node
import Synchronization
import NodeAPI
import TrustedFiles

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Verify a signed app and run its workflow until SIGINT or SIGTERM.",
        discussion: """
        Checks the signature, the measurement and the table (as `verify` does, without hashing \
        every file: trusted files are verified as they are read), then starts the workflow named \
        by the manifest's [workflow] file. On SIGINT/SIGTERM (or after --for seconds) it runs \
        the functions' stop handlers, keeps their synced state and flushes resource files.

        While it runs, the node API answers on --api-port (GET /health, /metrics, /workflows, \
        /instances; POST /workflows starts another workflow of trusted functions; DELETE \
        /workflows/ID stops one) and http-ingress resources receive requests on --ingress-port. \
        Both listen on --listen, loopback by default. docs/NODE.md describes the API.
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

    func run() async throws {
        LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
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
            api = try await NodeAPI.start(node: node, metrics: metrics, host: listen, port: apiPort, logger: Logger(label: "secure-executor.api"))
            print("node API on \(api.baseURL), HTTP ingress on http://\(listen):\(ingress)")
            workflow = try node.start(workflowAt: workflowPath.string)
        } catch {
            fail(error)
        }
        print("running \(loaded.manifest.app.name) \(loaded.manifest.app.version) (signed by key \(loaded.signer.keyID)), workflow \(workflowPath) as \(workflow.id)")
        for (name, instance) in workflow.instances.sorted(by: { $0.key < $1.key }) {
            print("  function \(name): \(instance.startup.summary)")
        }

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
