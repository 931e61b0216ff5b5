import AsyncHTTPClient
import HTTPServing
import NIOCore
import NIOHTTP1

/// One HTTP request with async-http-client, for the example checks, the tests and the
/// benchmark's sanity checks: the answer as plain values.
public enum HTTPCall {
    /// Kept-alive connections are retired after 5 s idle, before the node's servers close them
    /// (10 s without a request head, `HTTPServer.ConnectionLimits`): a request sent on a
    /// connection the server is closing at that moment would be reset. Shared for the process,
    /// never shut down.
    private static let client = HTTPClient(
        eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: .init(connectionPool: .init(idleTimeout: .seconds(5))))

    /// `host` overrides the Host header, which is how the ingress picks a workflow; `headers`
    /// are added (e.g. the node API's `authorization`).
    public static func send(
        _ method: HTTPMethod, _ url: String, host: String? = nil, headers: [String: String] = [:], body: [UInt8] = [],
        timeout: TimeAmount = .seconds(10)
    ) async throws -> HTTPAnswer {
        var request = HTTPClientRequest(url: url)
        request.method = method
        if let host { request.headers.replaceOrAdd(name: "Host", value: host) }
        for (name, value) in headers { request.headers.replaceOrAdd(name: name, value: value) }
        if !body.isEmpty { request.body = .bytes(body) }
        let response = try await client.execute(request, timeout: timeout)
        var headers: [String: String] = [:]
        for (name, value) in response.headers { headers[name.lowercased()] = value }
        let bytes = try await response.body.collect(upTo: 16 << 20)
        return HTTPAnswer(status: Int(response.status.code), headers: headers, body: Array(buffer: bytes))
    }
}

extension HTTPAnswer {
    /// The body as UTF-8; invalid bytes become U+FFFD.
    public var text: String { String(decoding: body, as: UTF8.self) }
}
