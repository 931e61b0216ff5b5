import Foundation
import Support

/// The signed node policy, `[policy]`: what any workflow may reach or claim on this node,
/// whichever way it arrives (the manifest's `[workflow]`, the node API, an orchestrator).
/// Everything is refused unless listed; a workflow may only narrow it (docs/MANIFEST.md).
public struct Policy: Sendable, Equatable {
    /// `[policy.http-egress]`: destinations an `http-egress` resource may send requests to.
    public struct HTTPEgress: Sendable, Equatable {
        /// Allowed destinations; empty (the default) allows none.
        public var hosts: [NetworkRule]
        /// URL schemes requests may use, a subset of `egressSchemes`; only `https` by default.
        public var schemes: Set<String>
        /// Defaults: no hosts, `https` only.
        public init(hosts: [NetworkRule] = [], schemes: Set<String> = ["https"]) {
            self.hosts = hosts
            self.schemes = schemes
        }
    }

    /// `[policy.redis]`: the redis servers a `redis` resource may connect to.
    public struct Redis: Sendable, Equatable {
        /// Allowed servers; a rule without a port means 6379. Empty allows none.
        public var endpoints: [NetworkRule] = []
    }

    /// `[policy.file-log]`: nil paths means anything `[allowed]` allows.
    public struct FileLog: Sendable, Equatable {
        /// Files a `file-log` resource may write; nil when the key is absent.
        public var paths: [PathPattern]?
    }

    /// `[policy.sqlx]`: where `sqlx` databases may lie, and how large one may grow.
    public struct SQLx: Sendable, Equatable {
        /// Database files a `sqlx` resource may open; nil when the key is absent (anything
        /// `[allowed]` allows, as for `file-log`).
        public var paths: [PathPattern]?
        /// Largest database file, enforced by SQLite (`max_page_count`): a workflow cannot
        /// fill the disk through it.
        public var maxSize: Int = 64 << 20
    }

    /// `[policy.http-ingress]`: the hosts and path prefixes `http-ingress` resources may claim.
    public struct HTTPIngress: Sendable, Equatable {
        /// Host names, `*.suffix`, or `*` (which also allows claiming any host).
        public var hosts: [HostName] = []
        /// Path prefixes, each starting with `/`; the default `/` allows every path.
        public var paths: [String] = ["/"]

        /// Whether a route for `host` (a name, or `*` for any) may be claimed.
        public func allows(host: String) -> Bool {
            hosts.contains { $0 == .any || (host != "*" && $0.matches(host)) }
        }

        /// Whether a route for the path prefix `prefix` (empty: every path) may be claimed.
        public func allows(pathPrefix prefix: String) -> Bool {
            paths.contains { $0 == "/" || (!prefix.isEmpty && prefix.hasPrefix($0)) }
        }
    }

    /// The only schemes `[policy.http-egress] schemes` may list.
    public static let egressSchemes = ["http", "https"]
    /// The port a redis endpoint rule without a port means.
    public static let redisPort = 6379

    /// `[policy.http-egress]`; allows nothing by default.
    public var httpEgress = HTTPEgress()
    /// `[policy.redis]`; allows nothing by default.
    public var redis = Redis()
    /// `[policy.file-log]`.
    public var fileLog = FileLog()
    /// `[policy.http-ingress]`; no hosts by default, so nothing can be claimed.
    public var httpIngress = HTTPIngress()
    /// `[policy.sqlx]`.
    public var sqlx = SQLx()
    /// The policy of a manifest without `[policy]`: everything refused.
    public init() {}

    static func parse(_ table: KeyReader) throws(ManifestError) -> Policy {
        try table.allowOnly(["http-egress", "redis", "file-log", "http-ingress", "sqlx"])
        var policy = Policy()
        if let egress = try table.table("http-egress") {
            try egress.allowOnly(["hosts", "schemes"])
            policy.httpEgress.hosts = try egress.networkRules("hosts")
            if let schemes = try egress.strings("schemes") {
                for (index, scheme) in schemes.enumerated() where !egressSchemes.contains(scheme) {
                    throw .invalidValue(
                        file: table.file, key: "\(egress.key("schemes"))[\(index)]",
                        reason: "must be \"http\" or \"https\", got \"\(scheme)\"")
                }
                policy.httpEgress.schemes = Set(schemes)
            }
        }
        if let redis = try table.table("redis") {
            try redis.allowOnly(["endpoints"])
            policy.redis.endpoints = try redis.networkRules("endpoints")
        }
        if let fileLog = try table.table("file-log") {
            try fileLog.allowOnly(["paths"])
            if fileLog.table["paths"] != nil { policy.fileLog.paths = try fileLog.patterns("paths", required: false) }
        }
        if let sqlx = try table.table("sqlx") {
            try sqlx.allowOnly(["paths", "max_size"])
            if sqlx.table["paths"] != nil { policy.sqlx.paths = try sqlx.patterns("paths", required: false) }
            if let size = try sqlx.byteSize("max_size") {
                guard size >= 65536 else {
                    throw .invalidValue(file: table.file, key: sqlx.key("max_size"), reason: "must be at least 64 KiB (65536), got \(size)")
                }
                policy.sqlx.maxSize = size
            }
        }
        if let ingress = try table.table("http-ingress") {
            try ingress.allowOnly(["hosts", "paths"])
            for (index, text) in (try ingress.strings("hosts") ?? []).enumerated() {
                let key = "\(ingress.key("hosts"))[\(index)]"
                guard let name = HostName(text) else {
                    throw .invalidValue(file: table.file, key: key, reason: "\"\(text)\" is not a host name, \"*.SUFFIX\" or \"*\" (no port, no path)")
                }
                policy.httpIngress.hosts.append(name)
            }
            if let paths = try ingress.strings("paths") {
                for (index, path) in paths.enumerated() where !path.hasPrefix("/") {
                    throw .invalidValue(file: table.file, key: "\(ingress.key("paths"))[\(index)]", reason: "\"\(path)\" must start with /")
                }
                policy.httpIngress.paths = paths
            }
        }
        return policy
    }
}

/// A host as policy lists it: one name or address, every name below a suffix, or any host.
public enum HostName: Sendable, Equatable, CustomStringConvertible {
    case exact(String)
    /// `*.example.com`: names ending in `.example.com`, not `example.com` itself.
    case suffix(String)
    /// `*`: only http-ingress accepts it.
    case any

    /// Lower-case names of letters, digits, `-` and `.`, IPv4 addresses, and IPv6 addresses
    /// in brackets (`[::1]`, stored without them, as URL parsers give the host).
    public init?(_ text: String) {
        let lower = text.lowercased()
        if lower == "*" {
            self = .any
            return
        }
        if lower.hasPrefix("*.") {
            let rest = String(lower.dropFirst(2))
            guard HostName.isName(rest) else { return nil }
            self = .suffix("." + rest)
            return
        }
        if lower.hasPrefix("[") && lower.hasSuffix("]") {
            let inner = lower.dropFirst().dropLast()
            guard !inner.isEmpty, inner.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." }), inner.contains(":") else { return nil }
            self = .exact(String(inner))
            return
        }
        guard HostName.isName(lower) else { return nil }
        self = .exact(lower)
    }

    private static func isName(_ text: String) -> Bool {
        !text.isEmpty && text.count <= 253 && !text.hasPrefix(".") && !text.hasSuffix(".") && !text.contains("..")
            && text.allSatisfy { ($0.isASCII && ($0.isLetter || $0.isNumber)) || $0 == "-" || $0 == "." }
    }

    /// `host`: lower-case, IPv6 without brackets.
    public func matches(_ host: String) -> Bool {
        switch self {
        case let .exact(name): return host == name
        case let .suffix(suffix): return host.hasSuffix(suffix) && host.count > suffix.count
        case .any: return true
        }
    }

    /// Whether every host this one matches is also matched by `other`.
    func isWithin(_ other: HostName) -> Bool {
        switch (self, other) {
        case (_, .any): return true
        case (.any, _): return false
        case let (.exact(name), _): return other.matches(name)
        case let (.suffix(mine), .suffix(theirs)): return mine.hasSuffix(theirs)
        case (.suffix, .exact): return false
        }
    }

    public var description: String {
        switch self {
        case let .exact(name): return name.contains(":") ? "[\(name)]" : name
        case let .suffix(suffix): return "*" + suffix
        case .any: return "*"
        }
    }
}

/// One `HOST[:PORTS]` entry of `[policy.http-egress] hosts`, `[policy.redis] endpoints` or a
/// workflow's `allowed-hosts`. PORTS is a port (`6379`), a range (`1024-65535`) or `*` (any);
/// without it, only the protocol's default port (80/443 for http/https, 6379 for redis).
public struct NetworkRule: Sendable, Equatable, CustomStringConvertible {
    /// Which hosts the rule covers; never `.any`.
    public let host: HostName
    /// nil: the protocol's default port.
    public let ports: ClosedRange<Int>?
    /// As written, for messages.
    public let text: String

    /// Parses `HOST`, `HOST:PORT`, `HOST:LOW-HIGH` or `HOST:*`; nil for anything else,
    /// including a bare `*` host or ports outside 1-65535.
    public init?(_ text: String) {
        self.text = text
        var hostText = Substring(text)
        var portText: Substring?
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            hostText = text[...close]
            let rest = text[text.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":") else { return nil }
                portText = rest.dropFirst()
            }
        } else if let colon = text.firstIndex(of: ":") {
            hostText = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        guard let host = HostName(String(hostText)), host != .any else { return nil }
        self.host = host
        guard let portText else {
            ports = nil
            return
        }
        if portText == "*" {
            ports = 1...65535
            return
        }
        let bounds = portText.split(separator: "-", omittingEmptySubsequences: false)
        guard (1...2).contains(bounds.count), bounds.allSatisfy({ !$0.isEmpty && $0.count <= 5 && $0.allSatisfy(\.isASCII) }),
            let low = Int(bounds[0]), let high = Int(bounds[bounds.count - 1]),
            1 <= low, low <= high, high <= 65535
        else { return nil }
        ports = low...high
    }

    /// Whether a connection to `host` (lower-case, IPv6 without brackets) on `port` is allowed;
    /// `defaultPort`: the port an entry without one means.
    public func allows(host: String, port: Int, defaultPort: Int) -> Bool {
        self.host.matches(host) && (ports ?? defaultPort...defaultPort).contains(port)
    }

    /// Whether everything this rule allows, `other` allows too (for any of `defaultPorts`).
    public func isWithin(_ other: NetworkRule, defaultPorts: [Int]) -> Bool {
        guard host.isWithin(other.host) else { return false }
        return defaultPorts.contains { port in
            let mine = ports ?? port...port
            let theirs = other.ports ?? port...port
            return theirs.contains(mine.lowerBound) && theirs.contains(mine.upperBound)
        }
    }

    public var description: String { text }
}

extension KeyReader {
    func strings(_ name: String) throws(ManifestError) -> [String]? {
        guard let value = table[name] else { return nil }
        guard let array = value.array else {
            throw .wrongType(file: file, key: key(name), expected: "an array of strings", found: KeyReader.describe(value))
        }
        var strings: [String] = []
        for index in 0..<array.count {
            guard let text = array[index].string else {
                throw .wrongType(file: file, key: "\(key(name))[\(index)]", expected: "a string", found: KeyReader.describe(array[index]))
            }
            strings.append(text)
        }
        return strings
    }

    func networkRules(_ name: String) throws(ManifestError) -> [NetworkRule] {
        var rules: [NetworkRule] = []
        for (index, text) in (try strings(name) ?? []).enumerated() {
            guard let rule = NetworkRule(text) else {
                throw .invalidValue(
                    file: file, key: "\(key(name))[\(index)]",
                    reason: "\"\(text)\" is not HOST, HOST:PORT, HOST:LOW-HIGH or HOST:* (HOST: a name, *.SUFFIX, an IPv4 address or [IPv6]; ports 1-65535)")
            }
            rules.append(rule)
        }
        return rules
    }
}

/// Where each key of the manifest is written, so a refusal can point at the line. Reads
/// `[table]` headers and `key = …` lines (bare or dotted keys); a key written inside an inline
/// table is not found, and is then named without a line.
struct KeyLines: Sendable, Equatable {
    private var lines: [String: Int] = [:]

    init(_ text: String) {
        var table = ""
        for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.drop { $0 == " " || $0 == "\t" }
            if line.hasPrefix("[") && !line.hasPrefix("[[") {
                guard let close = line.firstIndex(of: "]") else { continue }
                table = KeyLines.clean(line[line.index(after: line.startIndex)..<close])
                record(table, number + 1)
            } else if let equals = line.firstIndex(of: "=") {
                let key = line[..<equals]
                guard !key.isEmpty, key.allSatisfy({ $0.isLetter || $0.isNumber || "_-. \t".contains($0) }) else { continue }
                let name = KeyLines.clean(key)
                record(table.isEmpty ? name : table + "." + name, number + 1)
            }
        }
    }

    private static func clean(_ key: Substring) -> String {
        key.split(separator: ".").map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: ".")
    }

    private mutating func record(_ key: String, _ line: Int) {
        if lines[key] == nil { lines[key] = line }
    }

    func line(of key: String) -> Int? { lines[key] }
}

extension Manifest {
    /// Where `key` is set, for messages: `app.toml:12`, or `app.toml (not set; default: …)`.
    public func origin(of key: String, default fallback: String) -> String {
        let name = PathText.name(of: path)
        if let line = keyLines.line(of: key) { return "\(name):\(line)" }
        return "\(name), not set (default: \(fallback))"
    }
}
