import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOConcurrencyHelpers
import NIOCore
import ServiceLifecycle

/// A request as the node's handlers see it: head fields as plain values and the body read in
/// full (up to the server's cap), so handlers never touch the HTTP library's types.
public struct HTTPRequestInfo: Sendable {
    /// The request method as sent, e.g. "GET"; compare it case-sensitively.
    public var method: String
    /// The `Host` (HTTP/1.1) or `:authority` (HTTP/2) the client addressed, with any port.
    public var host: String
    /// Path with query, as sent.
    public var path: String
    /// Header names in lower case; repeated headers joined with ", ".
    public var headers: [String: String]
    /// The whole request body; the server answers 413 itself for a body over its cap.
    public var body: [UInt8]
    /// The peer's IP address (no port), for "logged once per source"; nil when unknown.
    public var remoteAddress: String?

    /// Builds a request by hand (the server does this for each request; tests call it too).
    /// `headers` should use lower-case names, as `headers` documents.
    public init(method: String, host: String, path: String, headers: [String: String] = [:], body: [UInt8] = [], remoteAddress: String? = nil) {
        self.method = method
        self.host = host
        self.path = path
        self.headers = headers
        self.body = body
        self.remoteAddress = remoteAddress
    }

    /// The host without a port, lower-cased, which is what routing compares.
    public var hostName: String {
        var name = host.lowercased()
        if name.hasPrefix("[") { return String(name.prefix { $0 != "]" }.dropFirst()) }
        if let colon = name.lastIndex(of: ":") { name = String(name[..<colon]) }
        return name
    }
}

/// What a handler answers.
public struct HTTPAnswer: Sendable, Equatable {
    /// The HTTP status code, e.g. 200 or 404.
    public var status: Int
    /// Response headers; names that are not valid HTTP field names are dropped when sent.
    public var headers: [String: String]
    /// The response body, sent as is.
    public var body: [UInt8]

    /// An answer with no headers and an empty body unless given.
    public init(status: Int, headers: [String: String] = [:], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A plain-text answer; errors use it so an operator's `curl` shows the reason.
    public static func text(_ status: Int, _ text: String) -> HTTPAnswer {
        HTTPAnswer(status: status, headers: ["content-type": "text/plain; charset=utf-8"], body: Array((text + "\n").utf8))
    }

    /// `value` as pretty-printed JSON with sorted keys and a trailing newline; if it cannot
    /// be encoded, a plain-text 500 instead.
    public static func json<Value: Encodable>(_ status: Int, _ value: Value) -> HTTPAnswer {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(value) else { return .text(500, "could not encode the answer as JSON") }
        return HTTPAnswer(status: status, headers: ["content-type": "application/json"], body: Array(data) + [UInt8(ascii: "\n")])
    }
}

/// Thrown by `HTTPServer.run`, `listening()` and `start` when the server cannot bind, or
/// stops before it was listening.
public enum HTTPServerError: Error, CustomStringConvertible {
    case couldNotListen(host: String, port: Int, reason: String)

    public var description: String {
        switch self {
        case let .couldNotListen(host, port, reason):
            return "could not listen on \(host):\(port): \(reason) (is the port in use? pick another, or 0 for any free port)"
        }
    }
}

/// An HTTP/1.1 server on one address, answering every request with `handler`. The node's
/// ingress, its API, the examples' peer servers and the benchmark's bare baseline all use this
/// one type, so they are measured and behave alike.
///
/// It is a ServiceLifecycle `Service`: in the node it runs in the process's one `ServiceGroup`,
/// which stops it gracefully (stop accepting, finish requests in flight, close). Tests and peers
/// that want a server of their own call `start`, which runs it in a group of its own.
public final class HTTPServer: Service, Sendable {
    /// Called once per request, with the body already read; what it returns is sent as is.
    public typealias Handler = @Sendable (HTTPRequestInfo) async -> HTTPAnswer

    /// What one client may hold: without these, connections that never finish a request
    /// stay open forever and a few thousand of them exhaust the node (docs/NODE.md).
    public struct ConnectionLimits: Sendable {
        /// A connection with no request in progress and nothing read for this long is closed.
        public var idleTimeout: Duration
        /// A connection that has not sent a complete request head this long after it opened
        /// (or after its last response) is closed, even if it keeps trickling header bytes.
        public var headTimeout: Duration
        /// Connections open at once; while at the cap the server stops accepting, and further
        /// clients wait in the listen backlog until one closes.
        public var maxConnections: Int

        /// Defaults: 60 s idle, 10 s to send a request head, 512 connections.
        public init(idleTimeout: Duration = .seconds(60), headTimeout: Duration = .seconds(10), maxConnections: Int = 512) {
            self.idleTimeout = idleTimeout
            self.headTimeout = headTimeout
            self.maxConnections = maxConnections
        }
    }

    /// The address the server listens on, as given to `init`.
    public let host: String
    private let requestedPort: Int
    private let application: Application<CallbackResponder<PeerRequestContext>>
    private let bound = BindResult()
    private let connections = NIOLockedValueBox(0)
    private let logger: Logger
    /// The group and task of a server started with `start`; nil for one run by another group.
    private let ownGroup = NIOLockedValueBox<(group: ServiceGroup, task: Task<Void, Never>)?>(nil)

    /// A server that listens once `run` (or a service group running it) starts it; `port` 0
    /// picks a free port, reported by `listening()`. Requests with a body over `maxBodyBytes`
    /// get 413.
    public init(
        host: String = "127.0.0.1", port: Int = 0, maxBodyBytes: Int = 1 << 20,
        limits: ConnectionLimits = ConnectionLimits(), logger: Logger, handler: @escaping Handler
    ) {
        self.host = host
        requestedPort = port
        self.logger = logger
        let connections = self.connections
        let responder = CallbackResponder<PeerRequestContext> { request, context in
            var request = request
            let body: ByteBuffer
            do {
                body = try await request.collectBody(upTo: maxBodyBytes)
            } catch {
                return Self.response(.text(413, "request body larger than \(maxBodyBytes) bytes"))
            }
            var headers: [String: String] = [:]
            for field in request.headers {
                let name = field.name.canonicalName
                headers[name] = headers[name].map { $0 + ", " + field.value } ?? field.value
            }
            let info = HTTPRequestInfo(
                method: request.method.rawValue, host: request.head.authority ?? headers["host"] ?? "",
                path: request.head.path ?? "/", headers: headers, body: Array(buffer: body),
                remoteAddress: context.remoteAddress?.ipAddress)
            return Self.response(await handler(info))
        }
        let bound = self.bound
        application = Application(
            responder: responder,
            server: .http1(
                configuration: .init(
                    additionalChannelHandlers: [RequestHeadTimeoutHandler(timeout: TimeAmount(limits.headTimeout), logger: logger)],
                    idleTimeout: TimeAmount(limits.idleTimeout))),
            configuration: .init(
                address: .hostname(host, port: port), serverName: nil,
                availableConnectionsDelegate: ConnectionCap(limit: limits.maxConnections, open: connections)),
            onServerRunning: { channel in bound.resolve(.success(channel.localAddress?.port ?? port)) },
            logger: logger)
    }

    /// Serves until graceful shutdown (or cancellation) of the task running it.
    public func run() async throws {
        do {
            try await application.run()
        } catch {
            let failure = HTTPServerError.couldNotListen(host: host, port: requestedPort, reason: "\(error)")
            bound.resolve(.failure(failure))
            throw failure
        }
        bound.resolve(.failure(HTTPServerError.couldNotListen(host: host, port: requestedPort, reason: "the server stopped before it was listening")))
    }

    /// Waits until the socket is bound and returns its port; throws if it never will be.
    @discardableResult
    public func listening() async throws -> Int { try await bound.value }

    /// Connections open now (what the cap in `ConnectionLimits.maxConnections` counts).
    public var openConnections: Int { connections.withLockedValue { $0 } }

    /// The bound port once `listening()` has returned (the requested one before).
    public var port: Int { bound.port ?? requestedPort }

    /// Starts a server in a service group of its own and returns once it listens. Its tasks
    /// run on `ServerExecutor` (see there why).
    public static func start(
        host: String = "127.0.0.1", port: Int = 0, maxBodyBytes: Int = 1 << 20,
        limits: ConnectionLimits = ConnectionLimits(),
        logger: Logger, handler: @escaping Handler
    ) async throws -> HTTPServer {
        let server = HTTPServer(host: host, port: port, maxBodyBytes: maxBodyBytes, limits: limits, logger: logger, handler: handler)
        try await server.serveAlone()
        return server
    }

    /// Runs this server in a service group of its own and returns once it listens.
    public func serveAlone() async throws {
        let group = ServiceGroup(configuration: .init(services: [self], gracefulShutdownSignals: [], logger: logger))
        let task = Task<Void, Never>(executorPreference: ServerExecutor.shared) { try? await group.run() }
        ownGroup.withLockedValue { $0 = (group, task) }
        do {
            try await listening()
        } catch {
            await stop()
            throw error
        }
    }

    /// For a server from `start`: stops accepting, lets requests in flight finish, closes the
    /// connections; returns when the port is free again. A server run by another service
    /// group stops with that group, not here.
    public func stop() async {
        guard let own = ownGroup.withLockedValue({ $0 }) else { return }
        await own.group.triggerGracefulShutdown()
        await own.task.value
    }

    /// `http://host:port`, no trailing slash; the port is only the real one after `listening()`.
    public var baseURL: String { "http://\(host):\(port)" }

    private static func response(_ answer: HTTPAnswer) -> Response {
        var fields = HTTPFields()
        for (name, value) in answer.headers.sorted(by: { $0.key < $1.key }) {
            if let field = HTTPField.Name(name) { fields.append(HTTPField(name: field, value: value)) }
        }
        return Response(status: .init(code: answer.status), headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: answer.body)))
    }
}

/// Hummingbird's basic context plus the connection's peer address.
struct PeerRequestContext: RequestContext, RemoteAddressRequestContext {
    var coreContext: CoreRequestContextStorage
    let remoteAddress: SocketAddress?

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }
}

/// Hummingbird's connection cap, counting into a box the server can read: while `open` is at
/// `limit` the server stops accepting, and clients wait in the listen backlog.
private struct ConnectionCap: AvailableConnectionsDelegate {
    let limit: Int
    let open: NIOLockedValueBox<Int>

    func connectionOpened() { open.withLockedValue { $0 += 1 } }
    func connectionClosed() { open.withLockedValue { $0 -= 1 } }
    func isAcceptingNewConnections() -> Bool { open.withLockedValue { $0 < limit } }
}

/// The bind outcome, delivered once: by `onServerRunning`, or by the server task failing; any
/// number of callers may wait for it.
private final class BindResult: Sendable {
    private struct State {
        var result: Result<Int, Error>?
        var waiters: [CheckedContinuation<Int, Error>] = []
    }

    private let state = NIOLockedValueBox(State())

    func resolve(_ result: Result<Int, Error>) {
        let waiters: [CheckedContinuation<Int, Error>] = state.withLockedValue { state in
            guard state.result == nil else { return [] }
            state.result = result
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume(with: result) }
    }

    /// The port, once bound.
    var port: Int? { state.withLockedValue { state in if case let .success(port)? = state.result { port } else { nil } } }

    var value: Int {
        get async throws {
            try await withCheckedThrowingContinuation { continuation in
                let ready: Result<Int, Error>? = state.withLockedValue { state in
                    if state.result == nil { state.waiters.append(continuation) }
                    return state.result
                }
                if let ready { continuation.resume(with: ready) }
            }
        }
    }
}

/// Closes a connection that has not delivered a complete request head within `timeout` of
/// opening, or of its last response. Hummingbird's idle timeout counts only parsed HTTP parts,
/// so it bounds this too, but only at the (longer) idle timeout.
final class RequestHeadTimeoutHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPConnectionStateHandler.InboundIn
    typealias InboundOut = HTTPConnectionStateHandler.InboundIn
    typealias OutboundIn = HTTPConnectionStateHandler.OutboundIn
    typealias OutboundOut = HTTPConnectionStateHandler.OutboundIn

    private let timeout: TimeAmount
    private let logger: Logger
    private var timer: Scheduled<Void>?
    /// Requests whose head arrived and whose response has not ended (pipelining: more than one).
    private var unanswered = 0

    init(timeout: TimeAmount, logger: Logger) {
        self.timeout = timeout
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { arm(context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) { disarm() }

    func channelActive(context: ChannelHandlerContext) {
        arm(context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        disarm()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head = unwrapInboundIn(data) {
            unanswered += 1
            disarm()
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            unanswered -= 1
            if unanswered == 0 { arm(context) }
        }
        context.write(data, promise: promise)
    }

    private func arm(_ context: ChannelHandlerContext) {
        disarm()
        let remote = context.channel.remoteAddress.map { "\($0)" } ?? "?"
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) { [logger, timeout] in
            logger.debug(
                "closing a connection that sent no complete request head in time",
                metadata: ["remote": "\(remote)", "timeout": "\(timeout)"])
            context.close(promise: nil)
        }
    }

    private func disarm() {
        timer?.cancel()
        timer = nil
    }
}
