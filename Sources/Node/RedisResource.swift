import Foundation
import FunctionRuntime
import Manifest
import NIOConcurrencyHelpers
import Support

/// `redis`: writes each cast payload to a configured key (SET), over one TCP connection
/// speaking RESP, reconnecting when it drops. Configuration: `url` (`redis://HOST:PORT[/DB]`)
/// and `key`. A call does the same and answers "no reply", or an error naming what failed.
public final class RedisResource: Resource {
    /// The resource's name in the workflow, used in errors.
    public let name: String
    private let endpoint: RedisEndpoint
    private let key: [UInt8]
    /// The connection's socket (-1: none yet), behind the lock that also keeps one command's
    /// request and reply together.
    private let connection = NIOLockedValueBox<Int32>(-1)

    /// Checks `url` and `key` only; it connects at the first cast. Throws `.resource` for a bad
    /// url or an empty key.
    public init(name: String, configuration: [String: String]) throws(NodeError) {
        self.name = name
        switch RedisEndpoint.parse(configuration["url"] ?? "") {
        case let .failure(reason): throw .resource(name, reason.description)
        case let .success(endpoint): self.endpoint = endpoint
        }
        key = Array((configuration["key"] ?? "").utf8)
        guard !key.isEmpty else { throw .resource(name, "configuration \"key\" must not be empty") }
    }

    deinit { connection.withLockedValue { Self.disconnect(&$0) } }

    /// SETs the key to `payload`, retrying once on a new connection; blocks the caller (2 s
    /// socket timeouts). Throws `NodeError.resource` if redis is unreachable or does not answer +OK.
    public func cast(payload: [UInt8]) throws {
        try connection.withLockedValue { socket in
            // One retry on a fresh connection: a server restart should cost nothing.
            do {
                try set(payload, on: &socket)
            } catch {
                Self.disconnect(&socket)
                try set(payload, on: &socket)
            }
        }
    }

    /// Closes the connection; a later cast would open a new one.
    public func stop() { connection.withLockedValue { Self.disconnect(&$0) } }

    private func set(_ value: [UInt8], on socket: inout Int32) throws {
        try connectIfNeeded(&socket)
        try send(command: [Array("SET".utf8), key, value], on: socket)
        let reply = try readLine(from: socket)
        guard reply == "+OK" else { throw NodeError.resource(name, "redis answered \(reply) to SET") }
    }

    private func connectIfNeeded(_ socket: inout Int32) throws {
        guard socket < 0 else { return }
        var hints = addrinfo(
            ai_flags: 0, ai_family: AF_UNSPEC, ai_socktype: Int32(SOCK_STREAM.rawValue), ai_protocol: 0,
            ai_addrlen: 0, ai_addr: nil, ai_canonname: nil, ai_next: nil)
        var results: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(endpoint.host, String(endpoint.port), &hints, &results) == 0, let first = results else {
            throw NodeError.resource(name, "cannot resolve \(endpoint.host)")
        }
        defer { freeaddrinfo(results) }
        let fd = Glibc.socket(first.pointee.ai_family, first.pointee.ai_socktype, first.pointee.ai_protocol)
        guard fd >= 0 else { throw NodeError.resource(name, "socket: \(String(cString: strerror(errno)))") }
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        guard Glibc.connect(fd, first.pointee.ai_addr, first.pointee.ai_addrlen) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw NodeError.resource(name, "cannot connect to redis at \(endpoint.address): \(reason)")
        }
        socket = fd
        if endpoint.database != 0 {
            try send(command: [Array("SELECT".utf8), Array(String(endpoint.database).utf8)], on: fd)
            let reply = try readLine(from: fd)
            guard reply == "+OK" else { throw NodeError.resource(name, "redis answered \(reply) to SELECT \(endpoint.database)") }
        }
    }

    private static func disconnect(_ socket: inout Int32) {
        if socket >= 0 { close(socket) }
        socket = -1
    }

    private func send(command: [[UInt8]], on socket: Int32) throws {
        var message = Array("*\(command.count)\r\n".utf8)
        for part in command { message += Array("$\(part.count)\r\n".utf8) + part + Array("\r\n".utf8) }
        var sent = 0
        while sent < message.count {
            let result = message[sent...].withUnsafeBytes { Glibc.send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if result < 0 && errno == EINTR { continue }
            guard result > 0 else { throw NodeError.resource(name, "sending to redis failed: \(String(cString: strerror(errno)))") }
            sent += result
        }
    }

    /// One reply line (`+OK`, `-ERR …`), at most 4 KiB.
    private func readLine(from socket: Int32) throws -> String {
        var line: [UInt8] = []
        var byte: UInt8 = 0
        while line.count < 4096 {
            let result = recv(socket, &byte, 1, 0)
            if result < 0 && errno == EINTR { continue }
            guard result == 1 else { throw NodeError.resource(name, "redis closed the connection or timed out") }
            // The server is a peer, not a trusted party: its line reaches messages and the log.
            if byte == UInt8(ascii: "\n") {
                return LogText.escaped(String(decoding: line.last == UInt8(ascii: "\r") ? line.dropLast() : line[...], as: UTF8.self), maxBytes: 512)
            }
            line.append(byte)
        }
        throw NodeError.resource(name, "redis reply longer than 4 KiB")
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
