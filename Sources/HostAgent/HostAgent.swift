import Foundation
import HostProtocol
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

// The UNTRUSTED side: a process on the host that answers capabilities and health requests on
// a Unix domain socket. It is written carefully too (bounded reads, a cap on clients, an idle
// timeout), but nothing in the trusted runtime relies on it being correct: the client
// checks every answer as if it came from an attacker.

/// The UNTRUSTED host agent: answers capabilities and health requests on a Unix socket, served by SwiftNIO.
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

    private struct State {
        var server: (any Channel)?
        var clients: [ObjectIdentifier: any Channel] = [:]
        var stopped = false
    }

    /// The listening channel and every client's, under one lock: `stop` closes exactly what
    /// was admitted, and admission counts against the same table.
    private let state = NIOLockedValueBox(State())

    /// Does not bind anything until `start()`.
    public init(configuration: Configuration, logger: Logger = Logger(label: "host-bridge.agent")) {
        self.configuration = configuration
        self.logger = logger
    }

    /// Binds and listens (replacing a stale socket file left by a killed agent, refusing a live
    /// agent's with EADDRINUSE), then serves on SwiftNIO's event loops; the figures are read on
    /// NIO's thread pool, since /proc and statfs are blocking file I/O. Returns once the socket
    /// accepts connections.
    public func start() async throws {
        let idle = state.withLockedValue { state -> Bool in
            guard state.server == nil else { return false }
            state.stopped = false
            return true
        }
        guard idle else { throw SystemError(call: "listen", code: EALREADY) }
        // Our own bind keeps the stale-versus-live check; NIO serves a duplicate of the
        // descriptor, so the `Socket` still closes its own exactly once.
        let socket = try Socket.listen(path: configuration.socketPath)
        let descriptor = dup(socket.fd)
        guard descriptor >= 0 else { throw SystemError(call: "dup", code: errno) }
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { [self] channel in admit(channel) }
            .withBoundSocket(descriptor)
            .get()
        state.withLockedValue { $0.server = server }
        logger.info("host agent listening on \(configuration.socketPath)")
    }

    /// Stops accepting, drops every client and removes the socket file.
    public func stop() async {
        let (server, clients) = state.withLockedValue { state in
            defer { state = State(stopped: true) }
            return (state.server, Array(state.clients.values))
        }
        guard let server else { return }
        try? await server.close()
        for client in clients { try? await client.close() }
        _ = unlink(configuration.socketPath)
    }

    /// A new client: served if fewer than `maxClients` are, closed at once otherwise.
    private func admit(_ channel: any Channel) -> EventLoopFuture<Void> {
        let id = ObjectIdentifier(channel)
        let admitted = state.withLockedValue { state -> Bool in
            guard !state.stopped, state.clients.count < configuration.maxClients else { return false }
            state.clients[id] = channel
            return true
        }
        guard admitted else {
            logger.warning("host agent: \(configuration.maxClients) clients already connected, refusing another")
            return channel.close()
        }
        channel.closeFuture.whenComplete { [self] _ in _ = state.withLockedValue { $0.clients.removeValue(forKey: id) } }
        let idle = TimeAmount.nanoseconds(
            Int64(configuration.idleTimeout.components.seconds) * 1_000_000_000
                + configuration.idleTimeout.components.attoseconds / 1_000_000_000)
        return channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(IdleStateHandler(readTimeout: idle))
            try channel.pipeline.syncOperations.addHandler(AgentConnection(agent: self, logger: logger))
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

/// One client: request frames in, answer frames out with the same ids, in order, until it
/// hangs up, sends something that is not a request, or stays silent past the idle timeout.
private final class AgentConnection: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let agent: HostAgent
    private let logger: Logger
    private var reader: FrameDecoder
    /// The previous answer; the next is written after it, so answers keep the requests' order.
    private var previous: EventLoopFuture<Void>?
    /// Looked up once: the kernel's word for who connected (SO_PEERCRED).
    private var peerPID: EventLoopFuture<Int32?>?

    init(agent: HostAgent, logger: Logger) {
        self.agent = agent
        self.logger = logger
        reader = FrameDecoder(maxPayload: agent.configuration.maxPayload)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = unwrapInboundIn(data)
        reader.feed(bytes.readableBytesView)
        while true {
            switch reader.next() {
            case .needMore: return
            case let .error(error):
                logger.debug("host agent: dropping client: \(error)")
                return context.close(promise: nil)
            case let .frame(request): answer(request, context: context)
            }
        }
    }

    private func answer(_ request: Frame, context: ChannelHandlerContext) {
        let agent = agent
        let peer = peer(of: context.channel)
        let channel = context.channel
        let logger = logger
        let eventLoop = context.eventLoop
        let answered = peer.flatMap { pid in
            NIOThreadPool.singleton.runIfActive(eventLoop: eventLoop) { agent.answer(to: request, peerPID: pid) }
        }
        let after = previous ?? eventLoop.makeSucceededVoidFuture()
        previous = after.flatMap { answered }.flatMap { answer -> EventLoopFuture<Void> in
            guard let answer else {
                logger.debug("host agent: dropping client after a \(request.kind), which is not a request")
                return channel.close()
            }
            guard let bytes = try? answer.encoded(maxPayload: Frame.defaultMaxPayload) else {
                logger.debug("host agent: could not encode an answer to \(request.kind)")
                return channel.close()
            }
            return channel.writeAndFlush(ByteBuffer(bytes: bytes))
        }
    }

    private func peer(of channel: any Channel) -> EventLoopFuture<Int32?> {
        if let known = peerPID { return known }
        let found: EventLoopFuture<Int32?>
        if let options = channel as? any SocketOptionProvider {
            found = options.unsafeGetSocketOption(level: .socket, name: .init(rawValue: Socket.peerCredentials))
                .map { (credentials: Socket.PeerCredentials) in credentials.pid > 0 ? credentials.pid : nil }
                .recover { _ in nil }
        } else {
            found = channel.eventLoop.makeSucceededFuture(nil)
        }
        peerPID = found
        return found
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            logger.debug("host agent: dropping a client silent for \(agent.configuration.idleTimeout)")
            return context.close(promise: nil)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.debug("host agent: dropping client: \(error)")
        context.close(promise: nil)
    }
}
