import Foundation

/// Where the trusted runtime runs. `secure-executor run` (the untrusted launcher) starts the
/// host agent, then asks a backend to start the runtime as a process from a `LaunchPlan`; the
/// backend alone decides how that process is isolated. The node inside never knows which
/// backend it has, so a hardware backend (SGX, SEV-SNP, TDX) is one more conformance.
public protocol EnclaveBackend: Sendable {
    /// As given to `--backend`.
    var name: String { get }
    /// What this backend isolates and what it does not, in one line the operator sees at start.
    var banner: String { get }
    /// The command line that starts `plan` under this backend.
    func command(for plan: LaunchPlan) throws(EnclaveError) -> [String]
}

/// What the trusted runtime needs from the host, and nothing more.
public struct LaunchPlan: Sendable {
    /// The runtime's executable and its arguments.
    public var executable: String
    public var arguments: [String]
    /// The signed application's root: readable, never writable. The runtime starts in it.
    public var applicationRoot: String
    /// Further host paths it may read (the manifest and signature, when kept elsewhere).
    public var readable: [String]
    /// Host paths the runtime may write (the manifest's allowed files and folders).
    public var writable: [String]
    /// The folder holding the host agent's socket: the runtime's one channel to the host.
    public var agentFolder: String

    public init(executable: String, arguments: [String], applicationRoot: String, readable: [String] = [], writable: [String] = [], agentFolder: String) {
        self.executable = executable
        self.arguments = arguments
        self.applicationRoot = applicationRoot
        self.readable = readable
        self.writable = writable
        self.agentFolder = agentFolder
    }
}

public enum EnclaveError: Error, Equatable, CustomStringConvertible {
    case unknownBackend(String)
    case unavailable(backend: String, reason: String)
    case launchFailed(backend: String, reason: String)

    public var description: String {
        switch self {
        case let .unknownBackend(name): return "unknown backend \"\(name)\" (known: sandbox, direct)"
        case let .unavailable(backend, reason): return "backend \(backend) is not available here: \(reason)"
        case let .launchFailed(backend, reason): return "backend \(backend) could not start the runtime: \(reason)"
        }
    }
}

public enum Backends {
    /// `sandbox` where the machine allows it, otherwise `direct`.
    public static func named(_ name: String?) throws(EnclaveError) -> any EnclaveBackend {
        switch name {
        case "sandbox"?:
            if let reason = SandboxBackend.unavailableReason { throw .unavailable(backend: "sandbox", reason: reason) }
            return SandboxBackend()
        case "direct"?: return DirectBackend()
        case nil: return SandboxBackend.unavailableReason == nil ? SandboxBackend() : DirectBackend()
        case let other?: throw .unknownBackend(other)
        }
    }
}

/// Development only: the runtime runs as a plain child process and can read every file the
/// user can. It says so at start, loudly.
public struct DirectBackend: EnclaveBackend {
    public init() {}
    public var name: String { "direct" }
    public var banner: String {
        "WARNING: backend direct: NO ISOLATION. The runtime can read and write every host file this user can, and read /proc. For development only; use --backend sandbox."
    }
    public func command(for plan: LaunchPlan) -> [String] { [plan.executable] + plan.arguments }
}
