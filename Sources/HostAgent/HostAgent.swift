import Foundation
import HostProtocol
import Logging
import NIOConcurrencyHelpers
import Synchronization

// The UNTRUSTED side: a process on the host that answers capabilities and health requests on
// a Unix domain socket. It is written carefully too (bounded reads, one thread per client, a
// cap on clients), but nothing in the trusted runtime relies on it being correct: the client
// checks every answer as if it came from an attacker.

/// The UNTRUSTED host agent: answers capabilities and health requests on a Unix socket, one thread per client.
/// The trusted runtime checks everything it says; nothing relies on it being correct.
public final class HostAgent: Sendable {
    /// How the agent listens and how much it lets a client use.
    public struct Configuration: Sendable {
        /// Unix socket to listen on. A stale socket file from a killed agent is replaced; a live agent's is not.
        public var socketPath: String
        /// Where the figures in each answer come from.
        public var reader: HostReader
        /// Largest request payload accepted (requests are a few bytes).
        public var maxPayload: Int
        /// Clients served at once; more are closed on arrival rather than queued forever.
        public var maxClients: Int
        /// A client that sends nothing for this long is dropped.
        public var idleTimeout: Duration

        /// Defaults: 4096-byte requests, 16 clients, 30 s idle timeout, the real /proc and /sys.
        public init(
            socketPath: String, reader: HostReader = HostReader(), maxPayload: Int = 4096,
            maxClients: Int = 16, idleTimeout: Duration = .seconds(30)
        ) {
            self.socketPath = socketPath
            self.reader = reader
            self.maxPayload = maxPayload
            self.maxClients = maxClients
            self.idleTimeout = idleTimeout
        }
    }

    /// Fixed at init.
    public let configuration: Configuration
    private let logger: Logger
    private let stopping = Atomic<Bool>(false)
    private let clients = NIOLockedValueBox<[ObjectIdentifier: Socket]>([:])
    private let acceptLoopDone = NIOLockedValueBox<Bool>(true)
    private let listener = NIOLockedValueBox<Socket?>(nil)

    /// Does not bind anything until `start()`.
    public init(configuration: Configuration, logger: Logger = Logger(label: "host-bridge.agent")) {
        self.configuration = configuration
        self.logger = logger
    }

    /// Binds and listens (replacing a stale socket file left by a killed agent), then serves
    /// on a background thread. Returns once the socket accepts connections.
    public func start() throws(SystemError) {
        guard listener.withLockedValue({ $0 == nil }) else { throw SystemError(call: "listen", code: EALREADY) }
        let socket = try Socket.listen(path: configuration.socketPath)
        listener.withLockedValue { $0 = socket }
        stopping.store(false, ordering: .sequentiallyConsistent)
        acceptLoopDone.withLockedValue { $0 = false }
        let thread = Thread { [self] in
            acceptLoop(socket)
            acceptLoopDone.withLockedValue { $0 = true }
        }
        thread.name = "host-agent-accept"
        thread.start()
        logger.info("host agent listening on \(configuration.socketPath)")
    }

    /// Stops accepting, drops every client, removes the socket file, and waits (briefly) for
    /// the accept thread to finish.
    public func stop() {
        stopping.store(true, ordering: .sequentiallyConsistent)
        clients.withLockedValue { clients in
            for socket in clients.values { socket.shutdown() }
        }
        let deadline = ContinuousClock.now + .seconds(2)
        while !acceptLoopDone.withLockedValue({ $0 }), ContinuousClock.now < deadline {
            usleep(5_000)
        }
        if listener.withLockedValue({ $0 }) != nil {
            _ = unlink(configuration.socketPath)
            listener.withLockedValue { $0 = nil }
        }
    }

    private func acceptLoop(_ listener: Socket) {
        while !stopping.load(ordering: .sequentiallyConsistent) {
            // Wake up every 100 ms to notice stop(); accept itself never blocks.
            guard (try? listener.wait(milliseconds: 100)) == true else { continue }
            let client: Socket?
            do {
                client = try listener.accept()
            } catch {
                logger.error("host agent: accept failed: \(error)")
                usleep(50_000)
                continue
            }
            guard let client else { continue }
            let admitted = clients.withLockedValue { clients -> Bool in
                guard clients.count < configuration.maxClients else { return false }
                clients[ObjectIdentifier(client)] = client
                return true
            }
            guard admitted else {
                logger.warning("host agent: \(configuration.maxClients) clients already connected, refusing another")
                continue  // dropping `client` closes it
            }
            let thread = Thread { [self] in
                serve(client)
                _ = clients.withLockedValue { $0.removeValue(forKey: ObjectIdentifier(client)) }
            }
            thread.name = "host-agent-client"
            thread.start()
        }
    }

    /// One client: request frame in, answer frame out with the same id, until it hangs up.
    private func serve(_ client: Socket) {
        let peer = client.peerPID()
        while !stopping.load(ordering: .sequentiallyConsistent) {
            let request: Frame
            do {
                request = try client.readFrame(
                    maxPayload: configuration.maxPayload,
                    deadline: .now + configuration.idleTimeout, timeout: configuration.idleTimeout)
            } catch {
                if error != .closed { logger.debug("host agent: dropping client: \(error)") }
                return
            }
            guard let answer = answer(to: request, peerPID: peer) else {
                logger.debug("host agent: dropping client after a \(request.kind), which is not a request")
                return
            }
            do {
                let bytes = try answer.encoded(maxPayload: Frame.defaultMaxPayload)
                try client.writeAll(bytes, deadline: .now + .seconds(5), timeout: .seconds(5))
            } catch {
                logger.debug("host agent: could not answer: \(error)")
                return
            }
        }
    }

    /// The answer frame for a request frame (same id, same version), or nil if it is not a
    /// request we understand. `peerPID`: the asking process as the kernel identifies it, which
    /// the process figures describe unless --runtime-pid says otherwise; the pid in the request
    /// is only a fallback (from inside a pid namespace it names some other host process).
    public func answer(to request: Frame, peerPID: Int32? = nil) -> Frame? {
        guard let answerKind = request.kind.answerKind else { return nil }
        let payload: [UInt8]
        do {
            switch request.kind {
            case .capabilitiesRequest:
                _ = try WireJSON.decode(CapabilitiesRequest.self, from: request.payload)
                payload = try WireJSON.encode(configuration.reader.capabilities())
            case .healthRequest:
                let body = try WireJSON.decode(HealthRequest.self, from: request.payload)
                payload = try WireJSON.encode(configuration.reader.health(requestedPID: peerPID ?? body.pid))
            case .capabilitiesAnswer, .healthAnswer:
                return nil
            }
        } catch {
            return nil
        }
        return Frame(kind: answerKind, requestID: request.requestID, payload: payload, version: request.version)
    }
}
