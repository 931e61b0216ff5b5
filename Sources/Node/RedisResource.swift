import Foundation
import FunctionRuntime
import Manifest
import NIOConcurrencyHelpers
import NIOCore
import Support

/// `redis`, as EDGELESS's: a cast SETs the configured `key` to the payload; a call GETs the key
/// the payload names and replies with its value (an error if it does not exist). With
/// `add-workflow-id` both keys are prefixed with `WORKFLOW:`. One connection speaking RESP on
/// SwiftNIO (`RedisConnection`), reopened when it drops. Configuration: `url`
/// (`redis://HOST:PORT[/DB]`), `key` (optional: without it a cast is refused with that reason),
/// `add-workflow-id` (present: on, as EDGELESS reads it, whatever its value).
public final class RedisResource: Resource {
    /// The resource's name in the workflow, used in errors.
    public let name: String
    private let endpoint: RedisEndpoint
    /// The SET key, with the workflow prefix when asked for; nil: casts are refused.
    private let key: [UInt8]?
    /// `WORKFLOW:` with `add-workflow-id`, else empty; also put before every GET key.
    private let prefix: [UInt8]
    /// Largest value a GET may hand back to a function (its payload limit).
    private let maxReplyBytes: Int
    /// The current connection, opening or open; nil before the first cast and after `stop`.
    /// The lock is held only to read or replace it, never while talking to redis.
    private let connection = NIOLockedValueBox<EventLoopFuture<RedisConnection>?>(nil)

    /// How long connecting, and then each reply, may take.
    let timeout: TimeAmount

    /// Checks `url` and `key` only; it connects at the first command. Throws `.resource` for a
    /// bad url or an empty key. `workflow` is the prefix `add-workflow-id` asks for; `timeout`
    /// bounds connecting and each reply (2 s in workflows); `maxReplyBytes`, the value a GET
    /// may return.
    public init(
        name: String, configuration: [String: String], workflow: String = "", timeout: TimeAmount = .seconds(2),
        maxReplyBytes: Int = 16 << 20
    ) throws(NodeError) {
        self.name = name
        self.timeout = timeout
        self.maxReplyBytes = maxReplyBytes
        switch RedisEndpoint.parse(configuration["url"] ?? "") {
        case let .failure(reason): throw .resource(name, reason.description)
        case let .success(endpoint): self.endpoint = endpoint
        }
        prefix = configuration["add-workflow-id"] != nil ? Array("\(workflow):".utf8) : []
        if let written = configuration["key"] {
            guard !written.isEmpty else { throw .resource(name, "configuration \"key\" must not be empty") }
            key = prefix + Array(written.utf8)
        } else {
            key = nil
        }
    }

    deinit { stop() }

    /// SETs the key to `payload`; waits on the calling guest thread. Throws
    /// `NodeError.resource` without a configured key, if redis is unreachable or if it does
    /// not answer +OK.
    public func cast(payload: [UInt8]) throws {
        guard let key else {
            throw NodeError.resource(name, "a cast SETs the configured \"key\", and this resource has none (a call GETs the key it is given)")
        }
        let reply = try command([Array("SET".utf8), key, payload])
        guard reply == .status("OK") else { throw NodeError.resource(name, "redis answered \(reply) to SET") }
    }

    /// GETs the key the payload names (after the workflow prefix) and replies with its value;
    /// an error names a missing key, an oversized value or what failed.
    public func call(payload: [UInt8]) -> CallReply {
        let reply: RedisReply
        do {
            reply = try command([Array("GET".utf8), prefix + payload])
        } catch {
            return .error("\(error)")
        }
        let key = LogText.escaped(String(decoding: prefix + payload, as: UTF8.self), maxBytes: 128)
        switch reply {
        case let .bulk(value?) where value.count <= maxReplyBytes: return .reply(value)
        case let .bulk(value?): return .error("resource \(name): the value of \(key) has \(value.count) bytes, over the payload limit of \(maxReplyBytes)")
        case .bulk(nil): return .error("resource \(name): redis has no key \(key)")
        default: return .error("resource \(name): redis answered \(reply) to GET \(key)")
        }
    }

    /// Sends `command`, retrying once on a new connection (a server restart should cost nothing).
    private func command(_ command: [[UInt8]]) throws -> RedisReply {
        do {
            return try send(command, replacing: nil)
        } catch let failed as Retry {
            return try send(command, replacing: failed.connection)
        }
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
    static let requiredConfiguration = ["url"]
    static let optionalConfiguration = ["key", "add-workflow-id"]

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
        try RedisResource(
            name: resource.name, configuration: resource.configurations, workflow: context.workflow, maxReplyBytes: context.maxPayloadBytes)
    }
}
