import Foundation
import Manifest
import Shield
import Support
import TrustedFiles

/// A function's code, with the hash that identifies it in the module cache.
public struct FunctionCode: Sendable {
    /// For messages: the trusted path, or the file given to `invoke`.
    public let name: String
    /// The wasm module bytes (already verified when loaded through the shield).
    public let bytes: [UInt8]
    /// The table's root hash for trusted code; SHA-256 of the bytes otherwise.
    public let hash: [UInt8]
    /// Time spent reading (and, for trusted code, verifying) the bytes.
    public let loadNanoseconds: UInt64

    /// `hash` nil: SHA-256 of `bytes` is used as the module cache key.
    public init(name: String, bytes: [UInt8], hash: [UInt8]? = nil, loadNanoseconds: UInt64 = 0) {
        self.name = name
        self.bytes = bytes
        self.hash = hash ?? bytes.withUnsafeBytes(FileHashing.sha256)
        self.loadNanoseconds = loadNanoseconds
    }

    /// Trusted code: read through the verifying reader, so bytes that fail their signed hash
    /// never reach the wasm parser, and a path that is not a trusted file is refused.
    public static func load(trusted path: String, from shield: Shield) throws(FunctionError) -> FunctionCode {
        let started = DispatchTime.now().uptimeNanoseconds
        do {
            let file = try shield.openTrusted(path)
            return FunctionCode(
                name: file.path, bytes: try file.readAll(), hash: file.rootHash,
                loadNanoseconds: DispatchTime.now().uptimeNanoseconds - started)
        } catch {
            throw .codeUnavailable(path: path, reason: error.description)
        }
    }

    /// Development: a module file outside any signed bundle (`secure-executor invoke`).
    public static func load(file path: String) throws(FunctionError) -> FunctionCode {
        let started = DispatchTime.now().uptimeNanoseconds
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .codeUnavailable(path: path, reason: "cannot read the file")
        }
        return FunctionCode(
            name: PathText.name(of: path), bytes: [UInt8](data),
            loadNanoseconds: DispatchTime.now().uptimeNanoseconds - started)
    }
}

/// Per-invocation limits, from the manifest's `[limits]`.
public struct FunctionLimits: Sendable, Equatable {
    /// Wasm operators one invocation (init, cast, call, stop) may execute.
    public var fuel: UInt64
    /// Linear memory cap in bytes; growth past it makes `memory.grow` return -1.
    public var memoryBytes: Int
    /// Largest payload, reply, state or log text crossing the boundary in either direction.
    public var payloadBytes: Int
    /// Longest chain of synchronous calls (A calls B calls C …).
    public var callDepth: Int
    /// Wall-clock limit for one invocation, checked whenever the guest calls the host.
    public var timeoutMilliseconds: Int
    /// After a trap or a limit: keep the instance failed, or replace it with a fresh one that
    /// starts from its last synced state.
    public var restartOnFailure: Bool
    /// `delayed_cast_asm` timers one instance may have pending, and the bytes they may hold.
    public var pendingTimers: Int
    /// Total payload bytes of this instance's pending timers.
    public var pendingTimerBytes: Int

    /// Converts the manifest's `[limits]`; the default gives the manifest's defaults.
    public init(_ limits: Manifest.Limits = Manifest.Limits()) {
        restartOnFailure = limits.onFailure == .restart
        fuel = UInt64(limits.fuel)
        memoryBytes = limits.memoryBytes
        payloadBytes = limits.payloadBytes
        callDepth = limits.callDepth
        timeoutMilliseconds = limits.timeoutMilliseconds
        pendingTimers = limits.pendingTimers
        pendingTimerBytes = limits.pendingTimerBytes
    }
}

/// Everything that can go wrong with a function, each naming the function, the instance and
/// what to do.
public enum FunctionError: Error, Equatable, CustomStringConvertible {
    case codeUnavailable(path: String, reason: String)
    case badCode(function: String, problems: [String])
    case trap(function: String, instance: String, handler: String, reason: String)
    case outOfFuel(function: String, instance: String, handler: String, fuel: UInt64)
    case timeout(function: String, instance: String, handler: String, milliseconds: Int)
    case memoryLimit(function: String, instance: String, limit: Int)
    case guestFault(function: String, instance: String, handler: String, reason: String)
    case notRunning(function: String, instance: String, state: String)
    case payloadTooLarge(function: String, instance: String, handler: String, size: Int, limit: Int)

    /// One line naming the function and instance, with the limit to raise where one was hit.
    public var description: String {
        switch self {
        case let .codeUnavailable(path, reason):
            return "function code \(path) cannot be used: \(reason)"
        case let .badCode(function, problems):
            return "bad code in function \(function): " + problems.joined(separator: "; ")
        case let .trap(function, instance, handler, reason):
            return "function \(function) (instance \(instance)) trapped in \(handler): \(reason)"
        case let .outOfFuel(function, instance, handler, fuel):
            return
                "function \(function) (instance \(instance)) ran out of fuel in \(handler) after \(fuel) operations (an endless loop?); raise limits.fuel if it needs more"
        case let .timeout(function, instance, handler, milliseconds):
            return
                "function \(function) (instance \(instance)) exceeded its \(milliseconds) ms time limit in \(handler); raise limits.timeout_ms if it needs more"
        case let .memoryLimit(function, instance, limit):
            return "function \(function) (instance \(instance)) needs more memory than limits.memory allows (\(limit) bytes)"
        case let .guestFault(function, instance, handler, reason):
            return "function \(function) (instance \(instance)) misbehaved in \(handler): \(reason)"
        case let .payloadTooLarge(function, instance, handler, size, limit):
            return "refused a \(size)-byte payload for \(handler) of function \(function) (instance \(instance)): limits.payload is \(limit) bytes"
        case let .notRunning(function, instance, state):
            return "function \(function) (instance \(instance)) is \(state) and takes no more events"
        }
    }
}

/// Why bytes are not a module, in words that never quote the bytes: code is often a trusted
/// file, and WasmKit's messages print what it found (`[47, 42, 32, 97]` for a C source).
enum ModuleHeader {
    static let magic: [UInt8] = [0x00, 0x61, 0x73, 0x6D]
    static let version: [UInt8] = [0x01, 0x00, 0x00, 0x00]

    /// The first problem with the 8-byte header, nil if it is a version-1 module header.
    static func problem(_ bytes: [UInt8]) -> String? {
        guard bytes.starts(with: magic) else {
            return "not a WebAssembly module (bad magic: it does not start with \\0asm; \(bytes.count) bytes)"
        }
        guard bytes.count >= 8 else { return "not a WebAssembly module (truncated header: \(bytes.count) bytes)" }
        guard bytes[4..<8].elementsEqual(version) else { return "unsupported WebAssembly binary version (this runtime reads version 1)" }
        return nil
    }

    /// A parse error past the header: WasmKit's reason up to the first value it quotes, and
    /// where in the file it is.
    static func reason(_ error: Error) -> String {
        let text = "\(error)"
        let reason = text.prefix { $0.isLetter || $0 == " " || $0 == "-" || $0 == "_" }.trimmingCharacters(in: .whitespaces)
        var where_ = ""
        if let range = text.range(of: #"at offset 0x[0-9a-f]+"#, options: .regularExpression) { where_ = " " + text[range] }
        return "malformed WebAssembly module: \(reason.isEmpty ? "unreadable" : reason)\(where_)"
    }
}
