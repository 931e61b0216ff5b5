import ArgumentParser
import Foundation
import Logging
import Node
import TrustedFiles

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Verify a signed app and run its workflow until SIGINT or SIGTERM.",
        discussion: """
        Checks the signature, the measurement and the table (as `verify` does, without hashing \
        every file: trusted files are verified as they are read), then starts the workflow named \
        by the manifest's [workflow] file. On SIGINT/SIGTERM (or after --for seconds) it runs \
        the functions' stop handlers, keeps their synced state and flushes resource files.
        """)

    @OptionGroup var options: SignedBundleOptions

    @Option(name: .customLong("for"), help: "Stop after this many seconds instead of waiting for a signal.")
    var seconds: Double?

    func run() throws {
        LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        let (loaded, _) = options.load()
        guard let workflowPath = loaded.manifest.workflow else {
            fail("\(loaded.manifest.path): no [workflow] file; name the workflow JSON to run")
        }
        let node: Node
        let workflow: Node.RunningWorkflow
        do {
            node = try Node(bundle: loaded)
            workflow = try node.start(workflowAt: workflowPath.string)
        } catch {
            fail(error)
        }
        print("running \(loaded.manifest.app.name) \(loaded.manifest.app.version) (signed by key \(loaded.signer.keyID)), workflow \(workflowPath) as \(workflow.id)")
        for (name, instance) in workflow.instances.sorted(by: { $0.key < $1.key }) {
            print("  function \(name): \(instance.startup.summary)")
        }

        let done = DispatchSemaphore(value: 0)
        var sources: [DispatchSourceSignal] = []
        for signalNumber in [SIGINT, SIGTERM] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler { done.signal() }
            source.resume()
            sources.append(source)
        }
        if let seconds { DispatchQueue.global().asyncAfter(deadline: .now() + seconds) { done.signal() } }
        done.wait()
        let counts = workflow.dataplane.counts
        node.stopAll()
        print("stopped: \(counts.delivered) events delivered, \(counts.undelivered) undelivered, \(counts.calls) calls")
        withExtendedLifetime(sources) {}
    }
}
