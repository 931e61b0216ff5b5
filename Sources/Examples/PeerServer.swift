import Foundation
import HTTPServing
import Logging
import NIOConcurrencyHelpers

/// A plain HTTP server on loopback standing in for the outside world an example's
/// `http-egress` talks to: it records every request and answers 200 "ok BODY"; at `/double`
/// it stands in for EDGELESS's OpenFaaS `double` function: a whole number comes back doubled.
public final class PeerServer: Sendable {
    private let server: HTTPServer
    private let log: RequestLog

    private init(server: HTTPServer, log: RequestLog) {
        self.server = server
        self.log = log
    }

    /// Listens on 127.0.0.1 at a free port the kernel picks; read it from `address`. Throws if it cannot listen.
    public static func start(logger: Logger) async throws -> PeerServer {
        let log = RequestLog()
        let server = try await HTTPServer.start(logger: logger) { request in
            log.requests.withLockedValue { $0.append(request) }
            if request.path == "/double" {
                guard let number = Int(String(decoding: request.body, as: UTF8.self)) else {
                    return HTTPAnswer(status: 400, headers: ["content-type": "text/plain"], body: Array("not a number".utf8))
                }
                // Not kept alive: the example stops this gateway under a running node, and a
                // stop waits for open connections.
                return HTTPAnswer(status: 200, headers: ["content-type": "text/plain", "connection": "close"], body: Array(String(2 * number).utf8))
            }
            return HTTPAnswer(status: 200, headers: ["content-type": "text/plain"], body: Array("ok ".utf8) + request.body)
        }
        return PeerServer(server: server, log: log)
    }

    /// host:port, what an example's workflow names in place of 127.0.0.1:8089.
    public var address: String { "\(server.host):\(server.port)" }

    /// Every request received so far, in arrival order (a copy).
    public var requests: [HTTPRequestInfo] { log.requests.withLockedValue { $0 } }

    /// Stops listening; `requests` stays readable.
    public func stop() async { await server.stop() }
}

private final class RequestLog: Sendable {
    let requests = NIOLockedValueBox<[HTTPRequestInfo]>([])
}
