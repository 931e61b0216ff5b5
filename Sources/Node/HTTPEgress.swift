import AsyncHTTPClient
import Foundation
import FunctionRuntime
import NIOCore
import NIOHTTP1

/// `http-egress`: a function calls it with an EDGELESS HTTP request; it performs the request
/// and replies with the EDGELESS HTTP response. Any status is a reply (the function decides
/// what a 404 means); a request it cannot make, a refused destination, a timeout or an
/// oversized response comes back as a call error naming the URL. A cast performs the request
/// and drops the response.
final class HTTPEgressResource: Resource {
    let name: String
    private let timeout: Int64
    /// `host` or `host:port` entries; empty means any destination.
    private let allowedHosts: Set<String>
    private let maxResponseBytes: Int

    /// One client for every egress resource: redirects are not followed, so a response cannot
    /// lead a request to a host `allowed-hosts` does not list.
    private static let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup,
                                           configuration: .init(redirectConfiguration: .disallow))

    init(name: String, configuration: [String: String], maxResponseBytes: Int) throws(NodeError) {
        self.name = name
        self.maxResponseBytes = maxResponseBytes
        let timeoutText = configuration["timeout-ms"] ?? "10000"
        guard let milliseconds = Int64(timeoutText), (1...600_000).contains(milliseconds) else {
            throw .resource(name, "timeout-ms \"\(timeoutText)\" must be a whole number of milliseconds from 1 to 600000")
        }
        timeout = milliseconds
        allowedHosts = Set((configuration["allowed-hosts"] ?? "").split(separator: ",")
            .map { $0.trimmingCharacters(in: .whitespaces).lowercased() }.filter { !$0.isEmpty })
    }

    func cast(payload: [UInt8]) throws {
        if case let .error(reason) = call(payload: payload) { throw NodeError.resource(name, reason) }
    }

    func call(payload: [UInt8]) -> CallReply {
        let request: EdgelessHTTPRequest
        switch EdgelessJSON.decode(EdgelessHTTPRequest.self, payload) {
        case let .failure(problem): return .error("http-egress \(name): the call is not an EDGELESS HTTP request: \(problem)")
        case let .success(decoded): request = decoded
        }
        guard let method = EdgelessHTTPRequest.httpMethod(request.method) else {
            return .error("http-egress \(name): method \"\(request.method)\" is not one of Get, Head, Post, Put, Delete, Patch")
        }
        guard ["HTTP", "HTTPS"].contains(request.protocol.uppercased()) else {
            return .error("http-egress \(name): protocol \"\(request.protocol)\" is not HTTP or HTTPS")
        }
        let url = request.protocol.lowercased() + "://" + request.host + request.path
        let host = request.host.lowercased()
        let hostName = host.split(separator: ":").first.map(String.init) ?? host
        guard allowedHosts.isEmpty || allowedHosts.contains(host) || allowedHosts.contains(hostName) else {
            return .error("http-egress \(name): \(host) is not in allowed-hosts (\(allowedHosts.sorted().joined(separator: ", ")))")
        }
        do {
            var outgoing = try HTTPClient.Request(url: url, method: HTTPMethod(rawValue: method))
            for (field, value) in request.headers { outgoing.headers.add(name: field, value: value) }
            if let body = request.body { outgoing.body = .bytes(body) }
            let response = try Self.client.execute(request: outgoing, delegate: ResponseAccumulator(request: outgoing, maxBodySize: maxResponseBytes),
                                                   deadline: .now() + .milliseconds(timeout)).wait()
            var headers: [String: String] = [:]
            for (field, value) in response.headers { headers[field.lowercased()] = headers[field.lowercased()].map { $0 + ", " + value } ?? value }
            let body = response.body.map { Array(buffer: $0) }
            return .reply(EdgelessJSON.encode(EdgelessHTTPResponse(status: Int(response.status.code), body: body, headers: headers)))
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout {
            return .error("http-egress \(name): \(method) \(url) timed out after \(timeout) ms")
        } catch is ResponseAccumulator.ResponseTooBigError {
            return .error("http-egress \(name): \(method) \(url) answered with more than \(maxResponseBytes) bytes")
        } catch {
            return .error("http-egress \(name): \(method) \(url) failed: \(error)")
        }
    }

    func stop() {}
}
