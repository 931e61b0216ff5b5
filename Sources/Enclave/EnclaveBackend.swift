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
    /// Whether the process started is the runtime itself (so it can check its parent is the
    /// launcher), not a wrapper that ties the runtime's life to its own.
    var startsRuntimeDirectly: Bool { get }
    /// How to start `plan` under this backend.
    func command(for plan: LaunchPlan) throws(EnclaveError) -> LaunchCommand
}

/// What the trusted runtime needs from the host, and nothing more.
public struct LaunchPlan: Sendable {
    /// The runtime's executable and its arguments.
    public var executable: String
    /// Arguments after the executable (not including it).
    public var arguments: [String]
    /// The signed application's root: readable, never writable. The runtime starts in it.
    public var applicationRoot: String
    /// Further host files it may read (the manifest, table and signature, when kept outside the root).
    public var readable: [String]
    /// What the runtime may write (the manifest's allowed files and folders), each opened
    /// beneath the root without following links; the launcher closes them once started.
    public var writable: [WritablePath]
    /// The folder holding the host agent's socket: the runtime's one channel to the host.
    public var agentFolder: String
    /// The runtime's whole environment (KEY=VALUE): nothing of the launcher's is passed on.
    public var environment: [String]
    /// Descriptors the runtime inherits, each named to it by an environment variable (the
    /// sealing key's pipe); the launcher closes its copies once the runtime has started.
    public var handedIn: [(variable: String, descriptor: Int32)] = []

    /// A fixed PATH is all the runtime needs; the operator's shell may hold secrets.
    public static let minimalEnvironment = ["PATH=/usr/bin:/bin"]

    /// By default nothing extra is readable or writable and the environment is `minimalEnvironment`.
    public init(
        executable: String, arguments: [String], applicationRoot: String, readable: [String] = [], writable: [WritablePath] = [],
        agentFolder: String, environment: [String] = LaunchPlan.minimalEnvironment
    ) {
        self.executable = executable
        self.arguments = arguments
        self.applicationRoot = applicationRoot
        self.readable = readable
        self.writable = writable
        self.agentFolder = agentFolder
        self.environment = environment
    }
}

/// A host path the runtime may write, and a descriptor of exactly what was checked: the
/// sandbox binds the descriptor, so swapping the path for a link after the check changes nothing.
public struct WritablePath: Sendable {
    /// Open descriptor of the checked file or folder; the launcher closes it once the runtime has started.
    public let descriptor: Int32
    /// The host path; the sandbox binds the descriptor at this same path. Never reopen it: the descriptor is what was checked.
    public let path: String

    /// Takes `descriptor` as opened and checked by the caller; nothing is checked here.
    public init(descriptor: Int32, path: String) {
        self.descriptor = descriptor
        self.path = path
    }
}

/// The process a backend starts: its command line (arguments[0] an absolute path) and the
/// descriptors it must inherit (which the launcher closes once it has started).
public struct LaunchCommand: Sendable {
    /// The full command line; arguments[0] is an absolute path.
    public var arguments: [String]
    /// Descriptors the child must inherit open.
    public var passing: [Int32]
}

/// Why no runtime was started: a backend name nobody knows, one this host cannot run, a failed launch,
/// or less isolation than the signed manifest's `[node] backend` requires.
public enum EnclaveError: Error, Equatable, CustomStringConvertible {
    case unknownBackend(String)
    case unavailable(backend: String, reason: String)
    case launchFailed(backend: String, reason: String)
    case belowFloor(requested: String, floor: String)

    /// One message for the operator; `belowFloor` also says how to proceed.
    public var description: String {
        switch self {
        case let .unknownBackend(name): return "unknown backend \"\(name)\" (known: sandbox, direct)"
        case let .unavailable(backend, reason): return "backend \(backend) is not available here: \(reason)"
        case let .launchFailed(backend, reason): return "backend \(backend) could not start the runtime: \(reason)"
        case let .belowFloor(requested, floor):
            return "backend \(requested) refused: the signed manifest requires backend \(floor) ([node] backend = \"\(floor)\"). "
                + "Run with --backend \(floor); for development only, set [node] backend = \"\(requested)\" in the manifest and sign it again"
        }
    }

    var reason: String {
        switch self {
        case let .unavailable(_, reason), let .launchFailed(_, reason): return reason
        default: return description
        }
    }
}

/// Picks the backend for `--backend`, enforcing the signed manifest's floor.
public enum Backends {
    /// The backend asked for, or with `name` nil the sandbox. `floor` is the least isolation the
    /// signed manifest accepts (`[node] backend`): under a floor of `sandbox`, `direct` is
    /// refused, and so is falling back to it when the sandbox cannot start here.
    public static func named(_ name: String?, floor: String) throws(EnclaveError) -> any EnclaveBackend {
        switch name {
        case "sandbox"?:
            if let reason = SandboxBackend.unavailableReason { throw .unavailable(backend: "sandbox", reason: reason) }
            return SandboxBackend()
        case "direct"?:
            guard floor == "direct" else { throw .belowFloor(requested: "direct", floor: floor) }
            return DirectBackend()
        case nil:
            guard let reason = SandboxBackend.unavailableReason else { return SandboxBackend() }
            guard floor == "direct" else {
                throw .unavailable(
                    backend: "sandbox", reason: reason + "; the signed manifest requires it ([node] backend = \"\(floor)\"), so there is no fall-back to direct"
                )
            }
            return DirectBackend()
        case let other?: throw .unknownBackend(other)
        }
    }
}

/// Development only: the runtime runs as a plain child process and can read every file the
/// user can. It says so at start, loudly.
public struct DirectBackend: EnclaveBackend {
    /// Always available; `Backends.named` refuses it unless the manifest's floor is `direct`.
    public init() {}
    /// "direct", as given to `--backend`.
    public var name: String { "direct" }
    /// A warning that nothing is isolated.
    public var banner: String {
        "WARNING: backend direct: NO ISOLATION. The runtime can read and write every host file this user can, and read /proc. For development only; use --backend sandbox."
    }
    /// True: the child is the runtime itself.
    public var startsRuntimeDirectly: Bool { true }
    /// The plan's command line as is: no wrapper, no descriptors passed, and `environment`, `readable` and
    /// `writable` are not applied.
    public func command(for plan: LaunchPlan) -> LaunchCommand { LaunchCommand(arguments: [plan.executable] + plan.arguments, passing: []) }
}
