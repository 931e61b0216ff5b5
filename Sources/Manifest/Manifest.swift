import Foundation
import Support
import TOMLKit

/// The user's manifest: one TOML file, written by hand, never regenerated. Every key is
/// documented in docs/MANIFEST.md; unknown keys and wrong types are errors that name the key.
public struct Manifest: Sendable {
    /// The `[app]` table (its `root` is resolved into `Manifest.root`).
    public struct App: Sendable, Equatable {
        /// `app.name`; required and not blank.
        public var name: String
        /// `app.version`; required and not blank, free-form text.
        public var version: String
        /// `app.description`; nil when the key is absent.
        public var description: String?
    }

    /// The `[trusted]` table: which files are signed and verified on every read.
    public struct Trusted: Sendable {
        /// `trusted.files`; required, at least one entry.
        public var files: [PathPattern]
        /// `trusted.exclude`; paths removed from the selection even when `files` covers them.
        public var exclude: [PathPattern]
        /// Bytes per verified chunk; a power of two between 4 KiB and 16 MiB.
        public var chunkSize: Int
    }

    /// Limits for each function invocation; the function runtime enforces them.
    public struct Limits: Sendable, Equatable {
        /// `limits.on_failure`: `stop` leaves a failed instance dead, `restart` replaces it.
        public enum FailurePolicy: String, Sendable, Equatable { case stop, restart }
        /// `limits.fuel`: instruction budget per invocation (positive).
        public var fuel: Int = 50_000_000
        /// `limits.memory`: linear memory cap in bytes, 64 KiB to 4 GiB.
        public var memoryBytes: Int = 64 << 20
        /// `limits.timeout_ms`: wall-clock limit per invocation, in milliseconds.
        public var timeoutMilliseconds: Int = 2_000
        /// `limits.payload`: largest message payload in bytes.
        public var payloadBytes: Int = 1 << 20
        /// `limits.call_depth`: how deep function-to-function calls may nest.
        public var callDepth: Int = 16
        /// `delayed_cast_asm` timers one instance may have pending, and their payload bytes.
        public var pendingTimers: Int = 64
        /// `limits.timer_bytes`: total payload bytes of one instance's pending timers.
        public var pendingTimerBytes: Int = 4 << 20
        /// What happens to an instance that traps or hits a limit.
        public var onFailure: FailurePolicy = .restart
        /// The defaults used when `[limits]` is absent or a key is not given.
        public init() {}
    }

    /// The `[node]` table: settings of the node process, not of one function.
    public struct Node: Sendable, Equatable {
        /// `node.listen`: the `host:port` the node serves on.
        public var listen: String = "127.0.0.1:7035"
        /// `node.backend`: `"sandbox"` or `"direct"` (checked when parsing).
        public var backend: String = "sandbox"
        /// Memory for verified chunks shared by all open trusted files.
        public var chunkCacheBytes: Int = 64 << 20
        /// `delayed_cast_asm` timers all instances of the node may have pending, and their bytes.
        public var pendingTimers: Int = 1024
        /// `node.timer_bytes`: total payload bytes of all pending timers on the node.
        public var pendingTimerBytes: Int = 64 << 20
        /// `node.file_pusher_directory`: the folder `file-pusher` resources push from when a
        /// workflow names none, as EDGELESS's node.toml `[resources.file_pusher_provider]
        /// directory` does for its nodes.
        public var filePusherDirectory: RelativePath?
        /// `node.state_directory`: where NODE_LOCAL function state is kept, sealed; under
        /// `[allowed] files`. Without it no function may ask for NODE_LOCAL state.
        public var stateDirectory: RelativePath?
        /// `node.unreadable_state = "start-empty"`: a function whose sealed state is refused
        /// (tampered, foreign, rolled back) starts without it; by default its start is refused.
        public var startWithoutUnreadableState = false
        /// `[node.serverless]`: resource classes this node offers, each an OpenFaaS-style
        /// function at a URL (EDGELESS node.toml's `[[resources.serverless_provider]]`
        /// `class_type` and `function_url`); the URL must also pass `[policy.http-egress]`.
        public var serverlessProviders: [String: String] = [:]
        /// The defaults used when `[node]` is absent or a key is not given.
        public init() {}
    }

    /// Chunk size when `trusted.chunk_size` is not given: 64 KiB.
    public static let defaultChunkSize = 64 << 10
    /// Allowed `trusted.chunk_size` in bytes; the value must also be a power of two.
    public static let chunkSizeRange = (4 << 10)...(16 << 20)

    /// The parsed `[app]` table.
    public var app: App
    /// Absolute path of the application root: `app.root` resolved against the manifest's folder.
    public var root: String
    /// The parsed `[trusted]` table.
    public var trusted: Trusted
    /// `[allowed] files`: opened unverified by the runtime; empty when the table is absent.
    public var allowed: [PathPattern]
    /// The workflow JSON, relative to the root.
    public var workflow: RelativePath?
    /// `[limits]`, with defaults for every key not given.
    public var limits: Limits
    /// `[node]`, with defaults for every key not given.
    public var node: Node
    /// What any workflow may reach or claim on this node (`[policy]`).
    public var policy: Policy
    let keyLines: KeyLines
    /// Absolute path of the manifest file.
    public var path: String
    /// The exact bytes that were parsed; the measurement covers these.
    public var bytes: [UInt8]

    /// Reads and parses the file at `path` (relative to the current directory if not absolute).
    /// For signing and inspecting; the runtime checks the bytes against the signature first.
    public static func load(path: String) throws(ManifestError) -> Manifest {
        let (bytes, absolute) = try readBytes(path: path)
        return try Manifest(bytes: bytes, path: absolute)
    }

    /// The manifest's bytes, unparsed, and its absolute path: what the runtime checks against
    /// the signature before it lets the TOML parser see them.
    public static func readBytes(path: String) throws(ManifestError) -> (bytes: [UInt8], path: String) {
        let absolute = absolutePath(path)
        do {
            return ([UInt8](try Data(contentsOf: URL(fileURLWithPath: absolute))), absolute)
        } catch {
            throw .unreadable(file: absolute, reason: (error as NSError).localizedDescription)
        }
    }

    /// Parses and validates `bytes`; `path` locates `app.root` and names the file in errors.
    /// Throws `ManifestError` naming the offending key, or the line and column of bad TOML.
    public init(bytes: [UInt8], path: String) throws(ManifestError) {
        let file = Manifest.absolutePath(path)
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw .syntax(file: file, line: 0, column: 0, message: "the manifest is not valid UTF-8")
        }
        if let (line, column, reason) = TOMLGuard.firstProblem(text) {
            throw .syntax(file: file, line: line, column: column, message: reason)
        }
        let document: TOMLTable
        do {
            document = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw .syntax(file: file, line: error.source.begin.line, column: error.source.begin.column, message: error.description)
        } catch {
            throw .syntax(file: file, line: 0, column: 0, message: "\(error)")
        }

        let top = KeyReader(document, prefix: "", file: file)
        try top.allowOnly(["app", "trusted", "allowed", "workflow", "limits", "node", "policy"])

        let appTable = try top.requiredTable("app")
        try appTable.allowOnly(["name", "version", "description", "root"])
        app = App(
            name: try appTable.requiredString("name", nonEmpty: true),
            version: try appTable.requiredString("version", nonEmpty: true),
            description: try appTable.string("description"))
        let manifestFolder = PathText.folder(of: file)
        if let rootText = try appTable.string("root") {
            root = Manifest.standardise(rootText.hasPrefix("/") ? rootText : manifestFolder + "/" + rootText)
        } else {
            root = manifestFolder
        }

        let trustedTable = try top.requiredTable("trusted")
        try trustedTable.allowOnly(["files", "exclude", "chunk_size"])
        let chunkSize = try trustedTable.byteSize("chunk_size") ?? Manifest.defaultChunkSize
        guard Manifest.chunkSizeRange.contains(chunkSize), chunkSize & (chunkSize - 1) == 0 else {
            throw .invalidValue(
                file: file, key: "trusted.chunk_size",
                reason: "must be a power of two between 4 KiB and 16 MiB, got \(chunkSize) bytes")
        }
        trusted = Trusted(
            files: try trustedTable.patterns("files", required: true),
            exclude: try trustedTable.patterns("exclude", required: false),
            chunkSize: chunkSize)
        guard !trusted.files.isEmpty else {
            throw .invalidValue(file: file, key: "trusted.files", reason: "lists no files; name at least the function code")
        }

        if let allowedTable = try top.table("allowed") {
            try allowedTable.allowOnly(["files"])
            allowed = try allowedTable.patterns("files", required: false)
        } else {
            allowed = []
        }

        if let workflowTable = try top.table("workflow") {
            try workflowTable.allowOnly(["file"])
            let text = try workflowTable.requiredString("file", nonEmpty: true)
            do { workflow = try RelativePath(text, origin: "workflow.file") } catch { throw .badPath(error) }
        } else {
            workflow = nil
        }

        limits = Limits()
        if let limitsTable = try top.table("limits") {
            try limitsTable.allowOnly(["fuel", "memory", "timeout_ms", "payload", "call_depth", "on_failure", "timers", "timer_bytes"])
            if let value = try limitsTable.positiveInt("fuel") { limits.fuel = value }
            if let value = try limitsTable.byteSize("memory") {
                guard value >= 64 << 10, value <= 4 << 30 else {
                    throw .invalidValue(file: file, key: "limits.memory", reason: "must be between 64 KiB (one wasm page) and 4 GiB, got \(value) bytes")
                }
                limits.memoryBytes = value
            }
            if let value = try limitsTable.positiveInt("timeout_ms") { limits.timeoutMilliseconds = value }
            if let value = try limitsTable.byteSize("payload") { limits.payloadBytes = value }
            if let value = try limitsTable.positiveInt("call_depth") { limits.callDepth = value }
            if let value = try limitsTable.positiveInt("timers") { limits.pendingTimers = value }
            if let value = try limitsTable.byteSize("timer_bytes") { limits.pendingTimerBytes = value }
            if let value = try limitsTable.string("on_failure") {
                guard let policy = Limits.FailurePolicy(rawValue: value) else {
                    throw .invalidValue(file: file, key: "limits.on_failure", reason: "must be \"stop\" or \"restart\", got \"\(value)\"")
                }
                limits.onFailure = policy
            }
        }

        node = Node()
        if let nodeTable = try top.table("node") {
            try nodeTable.allowOnly([
                "listen", "backend", "chunk_cache", "timers", "timer_bytes", "file_pusher_directory", "state_directory", "unreadable_state",
                "serverless",
            ])
            if let providers = try nodeTable.table("serverless") {
                for classType in providers.table.keys.sorted() {
                    guard let url = try providers.string(classType), !url.isEmpty else {
                        throw .invalidValue(file: file, key: providers.key(classType), reason: "must be the function's URL, e.g. \"http://127.0.0.1:5000/\"")
                    }
                    node.serverlessProviders[classType] = url
                }
            }
            if let value = try nodeTable.string("state_directory") {
                do { node.stateDirectory = try RelativePath(value, origin: "node.state_directory") } catch { throw .badPath(error) }
            }
            if let value = try nodeTable.string("unreadable_state") {
                guard ["refuse", "start-empty"].contains(value) else {
                    throw .invalidValue(file: file, key: "node.unreadable_state", reason: "must be \"refuse\" or \"start-empty\", got \"\(value)\"")
                }
                node.startWithoutUnreadableState = value == "start-empty"
            }
            if let value = try nodeTable.string("file_pusher_directory") {
                do { node.filePusherDirectory = try RelativePath(value, origin: "node.file_pusher_directory") } catch { throw .badPath(error) }
            }
            if let value = try nodeTable.string("listen") { node.listen = value }
            if let value = try nodeTable.string("backend") {
                guard ["sandbox", "direct"].contains(value) else {
                    throw .invalidValue(file: file, key: "node.backend", reason: "must be \"sandbox\" or \"direct\", got \"\(value)\"")
                }
                node.backend = value
            }
            if let value = try nodeTable.byteSize("chunk_cache") { node.chunkCacheBytes = value }
            if let value = try nodeTable.positiveInt("timers") { node.pendingTimers = value }
            if let value = try nodeTable.byteSize("timer_bytes") { node.pendingTimerBytes = value }
        }

        policy = try top.table("policy").map { table throws(ManifestError) in try Policy.parse(table) } ?? Policy()
        keyLines = KeyLines(text)
        self.path = file
        self.bytes = bytes
    }

    /// The manifest's name without `.toml`: `demo.toml` → `demo`; the table and signature are
    /// written beside it as `demo.trusted` and `demo.sig`.
    public var baseName: String { Manifest.baseName(ofPath: path) }

    /// The last path component without a `.toml` suffix (other names are returned whole).
    public static func baseName(ofPath path: String) -> String {
        let name = PathText.name(of: path)
        return name.hasSuffix(".toml") ? String(name.dropLast(5)) : name
    }

    static func absolutePath(_ path: String) -> String {
        standardise(path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path)
    }

    /// Lexical clean-up of an absolute path (no symlink resolution: the walker checks those).
    static func standardise(_ path: String) -> String {
        var parts: [Substring] = []
        for part in path.split(separator: "/") where part != "." {
            if part == ".." { _ = parts.popLast() } else { parts.append(part) }
        }
        return "/" + parts.joined(separator: "/")
    }
}

/// Why a manifest could not be read or accepted. Every case names the file, and the key or
/// line where possible.
public enum ManifestError: Error, Equatable, CustomStringConvertible {
    case unreadable(file: String, reason: String)
    case syntax(file: String, line: Int, column: Int, message: String)
    case unknownKey(file: String, key: String, known: [String])
    case wrongType(file: String, key: String, expected: String, found: String)
    case missingKey(file: String, key: String)
    case invalidValue(file: String, key: String, reason: String)
    case badPath(PathError)

    /// The message for the user; an unknown key suggests the closest known one.
    public var description: String {
        switch self {
        case let .unreadable(file, reason):
            return "cannot read manifest \(file): \(reason)"
        case let .syntax(file, line, column, message):
            return line > 0 ? "\(file):\(line):\(column): TOML syntax error: \(message)" : "\(file): \(message)"
        case let .unknownKey(file, key, known):
            let leaf = key.split(separator: ".").last.map(String.init) ?? key
            let hint =
                known.min { editDistance($0, leaf) < editDistance($1, leaf) }
                .flatMap { editDistance($0, leaf) <= 2 ? " (did you mean \"\($0)\"?)" : nil } ?? ""
            return "\(file): unknown key \"\(key)\"\(hint); allowed here: \(known.joined(separator: ", "))"
        case let .wrongType(file, key, expected, found):
            return "\(file): key \"\(key)\" must be \(expected), found \(found)"
        case let .missingKey(file, key):
            return "\(file): required key \"\(key)\" is missing"
        case let .invalidValue(file, key, reason):
            return "\(file): key \"\(key)\" \(reason)"
        case let .badPath(error):
            return error.description
        }
    }
}

func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a)
    let b = Array(b)
    guard !a.isEmpty else { return b.count }
    var row = Array(0...b.count)
    for i in 1...a.count {
        var previous = row[0]
        row[0] = i
        for j in stride(from: 1, through: b.count, by: 1) {
            let saved = row[j]
            row[j] = min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] == b[j - 1] ? 0 : 1))
            previous = saved
        }
    }
    return row[b.count]
}

/// Typed access to one TOML table that names the full key in every error.
struct KeyReader {
    let table: TOMLTable
    let prefix: String
    let file: String

    init(_ table: TOMLTable, prefix: String, file: String) {
        self.table = table
        self.prefix = prefix
        self.file = file
    }

    func key(_ name: String) -> String { prefix.isEmpty ? name : "\(prefix).\(name)" }

    func allowOnly(_ known: [String]) throws(ManifestError) {
        for name in table.keys.sorted() where !known.contains(name) {
            throw .unknownKey(file: file, key: key(name), known: known)
        }
    }

    func table(_ name: String) throws(ManifestError) -> KeyReader? {
        guard let value = table[name] else { return nil }
        guard let nested = value.table else { throw wrongType(name, "a table", value) }
        return KeyReader(nested, prefix: key(name), file: file)
    }

    func requiredTable(_ name: String) throws(ManifestError) -> KeyReader {
        guard let found = try table(name) else { throw .missingKey(file: file, key: key(name)) }
        return found
    }

    func string(_ name: String) throws(ManifestError) -> String? {
        guard let value = table[name] else { return nil }
        guard let text = value.string else { throw wrongType(name, "a string", value) }
        return text
    }

    func requiredString(_ name: String, nonEmpty: Bool) throws(ManifestError) -> String {
        guard let text = try string(name) else { throw .missingKey(file: file, key: key(name)) }
        if nonEmpty && text.trimmingSpaces.isEmpty {
            throw .invalidValue(file: file, key: key(name), reason: "must not be empty")
        }
        return text
    }

    func positiveInt(_ name: String) throws(ManifestError) -> Int? {
        guard let value = table[name] else { return nil }
        guard let number = value.int else { throw wrongType(name, "an integer", value) }
        guard number > 0 else { throw .invalidValue(file: file, key: key(name), reason: "must be greater than zero, got \(number)") }
        return number
    }

    func byteSize(_ name: String) throws(ManifestError) -> Int? {
        guard let value = table[name] else { return nil }
        if let number = value.int {
            guard number > 0 else { throw .invalidValue(file: file, key: key(name), reason: "must be greater than zero, got \(number)") }
            return number
        }
        guard let text = value.string else { throw wrongType(name, "a size (integer bytes or text such as \"64 MiB\")", value) }
        guard let bytes = ByteSize.parse(text), bytes > 0 else {
            throw .invalidValue(file: file, key: key(name), reason: "is not a size: \"\(text)\" (write e.g. 65536 or \"64 KiB\")")
        }
        return bytes
    }

    func patterns(_ name: String, required: Bool) throws(ManifestError) -> [PathPattern] {
        guard let value = table[name] else {
            if required { throw .missingKey(file: file, key: key(name)) }
            return []
        }
        guard let array = value.array else { throw wrongType(name, "an array of path strings", value) }
        var patterns: [PathPattern] = []
        for index in 0..<array.count {
            let element = array[index]
            let elementKey = "\(key(name))[\(index)]"
            guard let text = element.string else {
                throw .wrongType(file: file, key: elementKey, expected: "a path string", found: KeyReader.describe(element))
            }
            do { patterns.append(try PathPattern(text, key: elementKey)) } catch { throw .badPath(error) }
        }
        return patterns
    }

    private func wrongType(_ name: String, _ expected: String, _ value: TOMLValueConvertible) -> ManifestError {
        .wrongType(file: file, key: key(name), expected: expected, found: KeyReader.describe(value))
    }

    static func describe(_ value: TOMLValueConvertible) -> String {
        switch value.type {
        case .table: return "a table"
        case .array: return "an array"
        case .string: return "a string"
        case .int: return "an integer"
        case .double: return "a floating-point number"
        case .bool: return "a boolean"
        case .date, .time, .dateTime: return "a date or time"
        }
    }
}
