import Foundation
import FunctionRuntime
import Manifest
import NIOConcurrencyHelpers
import NIOCore
import Support

/// `redis`: writes each cast payload to a configured key (SET), over one connection speaking
/// RESP on SwiftNIO (`RedisConnection`), reconnecting when it drops. Configuration: `url`
/// (`redis://HOST:PORT[/DB]`) and `key`. A call does the same and answers "no reply", or an
/// error naming what failed.
public final class RedisResource: Resource {
    /// The resource's name in the workflow, used in errors.
    public let name: String
    private let endpoint: RedisEndpoint
    private let key: [UInt8]
    /// The current connection, opening or open; nil before the first cast and after `stop`.
    /// The lock is held only to read or replace it, never while talking to redis.
    private let connection = NIOLockedValueBox<EventLoopFuture<RedisConnection>?>(nil)

    /// How long connecting, and then each reply, may take.
    let timeout: TimeAmount

    /// Checks `url` and `key` only; it connects at the first cast. Throws `.resource` for a bad
    /// url or an empty key. `timeout` bounds connecting and each reply (2 s in workflows).
    public init(name: String, configuration: [String: String], timeout: TimeAmount = .seconds(2)) throws(NodeError) {
        self.name = name
        self.timeout = timeout
        switch RedisEndpoint.parse(configuration["url"] ?? "") {
        case let .failure(reason): throw .resource(name, reason.description)
        case let .success(endpoint): self.endpoint = endpoint
        }
        key = Array((configuration["key"] ?? "").utf8)
        guard !key.isEmpty else { throw .resource(name, "configuration \"key\" must not be empty") }
    }

    deinit { stop() }

    /// SETs the key to `payload`, retrying once on a new connection (a server restart should
    /// cost nothing); waits on the calling guest thread. Throws `NodeError.resource` if redis
    /// is unreachable or does not answer +OK.
    public func cast(payload: [UInt8]) throws {
        let command = [Array("SET".utf8), key, payload]
        let reply: RedisReply
        do {
            reply = try send(command, replacing: nil)
        } catch let failed as Retry {
            reply = try send(command, replacing: failed.connection)
        }
        guard reply == .status("OK") else { throw NodeError.resource(name, "redis answered \(reply) to SET") }
    }

    /// Closes the connection; a later cast would open a new one.
    public func stop() {
        let current = connection.withLockedValue { current in
            defer { current = nil }
            return current
        }
        current?.whenSuccess { $0.close() }
    }

    /// A command failed on `connection`; the retry replaces it.
    private struct Retry: Error {
        let connection: EventLoopFuture<RedisConnection>
    }

    private func send(_ command: [[UInt8]], replacing broken: EventLoopFuture<RedisConnection>?) throws -> RedisReply {
        let opening = open(replacing: broken)
        var problem: String
        do {
            let connection = try GuestThreads.wait(for: opening)
            do {
                return try GuestThreads.wait(for: connection.send(command))
            } catch {
                connection.close()
                problem = "redis at \(endpoint.address): \(error)"
            }
        } catch {
            problem = "cannot connect to redis at \(endpoint.address): \(error)"
        }
        guard broken == nil else { throw NodeError.resource(name, problem) }
        throw Retry(connection: opening)
    }

    /// The current connection, or a new one if there is none or `broken` is still current.
    private func open(replacing broken: EventLoopFuture<RedisConnection>?) -> EventLoopFuture<RedisConnection> {
        connection.withLockedValue { current in
            if let current, current !== broken { return current }
            let endpoint = endpoint
            let opening = RedisConnection.connect(host: endpoint.host, port: endpoint.port, timeout: timeout, replyTimeout: timeout)
                .flatMap { connection -> EventLoopFuture<RedisConnection> in
                    guard endpoint.database != 0 else { return connection.eventLoop.makeSucceededFuture(connection) }
                    return connection.send([Array("SELECT".utf8), Array(String(endpoint.database).utf8)]).flatMapThrowing { reply in
                        guard reply == .status("OK") else {
                            connection.close()
                            throw RedisFailure(description: "redis answered \(reply) to SELECT \(endpoint.database)")
                        }
                        return connection
                    }
                }
            current = opening
            return opening
        }
    }
}

/// Where a `redis` resource connects, from its `url`: every number checked, so a workflow's
/// port or database cannot trap the node.
struct RedisEndpoint: Sendable, Equatable {
    /// Lower-case; IPv6 without brackets.
    let host: String
    let port: Int
    let database: Int

    static let databases = 0...Int(Int32.max)

    var address: String { (host.contains(":") ? "[\(host)]" : host) + ":\(port)" }

    static func parse(_ url: String) -> Result<RedisEndpoint, ConfigurationProblem> {
        guard let parsed = URLComponents(string: url), parsed.scheme == "redis", let written = parsed.percentEncodedHost, !written.isEmpty else {
            return .failure(ConfigurationProblem("url \"\(url)\" is not redis://HOST:PORT[/DB]"))
        }
        guard parsed.user == nil, parsed.password == nil else {
            return .failure(
                ConfigurationProblem("url \"\(url)\" has a user or password: this node sends no redis credentials, so write redis://HOST:PORT[/DB]"))
        }
        guard case let .exact(host)? = HostName(written) else {
            return .failure(ConfigurationProblem("url \"\(url)\": host \"\(written)\" is not a host name, an IPv4 address or [IPv6]"))
        }
        let port: Int
        switch WrittenPort.check(url) {
        case let .failure(problem): return .failure(problem)
        case let .success(written): port = written ?? Policy.redisPort
        }
        guard parsed.query == nil, parsed.fragment == nil else {
            return .failure(ConfigurationProblem("url \"\(url)\" must not have a query or fragment: redis://HOST:PORT[/DB]"))
        }
        let path = parsed.percentEncodedPath.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        var database = 0
        if !path.isEmpty {
            guard path.count <= 10, path.allSatisfy({ $0.isASCII && $0.isNumber }), let number = Int(path), databases.contains(number) else {
                return .failure(ConfigurationProblem("url \"\(url)\": database \"\(path)\" is not a whole number from 0 to \(databases.upperBound)"))
            }
            database = number
        }
        return .success(RedisEndpoint(host: host, port: port, database: database))
    }
}

extension RedisResource: ResourceClass {
    static let classType = "redis"
    static let requiredConfiguration = ["url", "key"]
    static let optionalConfiguration: [String] = []

    static func admit(_ resource: Workflow.Resource, key: String, in context: AdmissionContext) -> [String] {
        guard let url = resource.configurations["url"] else { return [] }
        let endpoint: RedisEndpoint
        switch RedisEndpoint.parse(url) {
        case let .failure(reason): return ["\(key).configurations.url: \(reason)"]
        case let .success(parsed): endpoint = parsed
        }
        let rules = context.manifest.policy.redis.endpoints
        guard rules.contains(where: { $0.allows(host: endpoint.host, port: endpoint.port, defaultPort: Policy.redisPort) }) else {
            return [
                "\(key).configurations.url \"\(url)\": \(endpoint.address) is not among \(context.named("policy.redis.endpoints", default: "none")): "
                    + "\(context.listing(rules)); add it there and re-sign to allow it"
            ]
        }
        return []
    }

    static func make(_ resource: Workflow.Resource, in context: ResourceContext) throws(NodeError) -> RedisResource {
        try RedisResource(name: resource.name, configuration: resource.configurations)
    }
}
