import Foundation
import HTTPServing
import NIOCore
import NIOPosix
import Node
import NodeAPI
import ServiceLifecycle

// The trusted runtime's services. `run` puts them in one ServiceGroup that owns SIGINT and
// SIGTERM; on either (or on the launcher's stop pipe, or --for) the group shuts them down in
// reverse order: the control file goes first, then the API, then the workflows (stop
// handlers, state, flushes), and the ingress listener last, so requests keep being answered
// while the functions stop.

/// Starts the manifest's workflow once both listeners are up, reports it, and on graceful
/// shutdown stops every workflow and reports what was delivered.
struct WorkflowService: Service {
    let node: Node
    let workflowPath: String
    let ingress: HTTPServer
    let api: NodeAPI
    let backend: String
    let banner: String

    func run() async throws {
        let ingressPort = try await ingress.listening()
        try await api.listening()
        print("node API on \(api.baseURL), HTTP ingress on http://\(ingress.host):\(ingressPort), backend \(backend)")
        // Verifying code and running init functions blocks: NIO's bounded pool, not Swift's.
        let workflow = try await NIOThreadPool.singleton.runIfActive { [node, workflowPath] in try node.start(workflowAt: workflowPath) }
        print("\(banner), workflow \(workflowPath) as \(workflow.id)")
        for (name, instance) in workflow.instances.sorted(by: { $0.key < $1.key }) {
            print("  function \(name): \(instance.startup.summary)")
        }
        fflush(nil)
        try? await gracefulShutdown()
        let counts = workflow.dataplane.counts
        await node.shutdown()
        print("stopped: \(counts.delivered) events delivered, \(counts.undelivered) undelivered, \(counts.calls) calls")
        fflush(nil)
    }
}

/// Writes the control file (the API's URL and token) once the API listens; removes it first
/// thing on shutdown, so no client finds a token for a node that is going away.
struct ControlFileService: Service {
    let api: NodeAPI
    let app: String
    let controlFolder: String
    let nodeFolder: String

    func run() async throws {
        try await api.listening()
        let control = ControlFile(app: app, url: api.baseURL, token: api.token)
        try control.write(into: nodeFolder)
        print("control file \(ControlFile.path(app: app, in: controlFolder)) (API URL and token, mode 0600)")
        fflush(nil)
        try? await gracefulShutdown()
        control.remove(from: nodeFolder)
    }
}

/// Returns when the launcher asks the runtime to stop: a byte, or end-of-file (the launcher
/// gone), on the inherited stop pipe. Bubblewrap does not pass signals on; this pipe does.
/// Read on an event loop, so no thread waits on it.
struct StopPipeService: Service {
    let descriptor: Int32

    func run() async throws {
        let channel = try await NIOPipeBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .takingOwnershipOfDescriptor(input: descriptor) { channel in
                channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel) }
            }
        // Shutdown for another reason cancels the wait; that is not a failure.
        try? await cancelWhenGracefulShutdown {
            try await channel.executeThenClose { inbound, _ in
                for try await _ in inbound { return }
            }
        }
    }
}

/// Returns after `seconds` (`run --for`), which ends the group like a signal would.
struct DeadlineService: Service {
    let seconds: Double

    func run() async throws {
        try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(seconds)) }
    }
}
