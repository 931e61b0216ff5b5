import Foundation
import Support

/// The runtime in Linux namespaces set up by bubblewrap (Debian's `bubblewrap`, installed by
/// scripts/install-deps.sh): its own user, mount, pid, ipc and uts namespaces; a filesystem
/// holding only the system's programs and libraries (read-only), the application root, the
/// manifest, table and signature (read-only), the allowed paths (read-write, bound from
/// descriptors opened without following links), a private /tmp and /dev, and the agent's
/// socket folder; an environment of its own (`LaunchPlan.environment`); no capabilities, not
/// even in the bounding set; no new privileges; a seccomp filter (`SeccompFilter`); SIGKILL
/// when the launcher dies. The network namespace is shared, so the node's loopback ports work.
///
/// User namespace: bubblewrap run by root drops the effective capabilities but keeps the
/// bounding set unless it also creates a user namespace, so it does (mapping the launcher's
/// uid to itself, nothing else), and forbids nested ones (`--disable-userns`): the runtime's
/// root is root only over what is bound in, and a user namespace cannot be its way to
/// capabilities inside.
///
/// /proc: libdispatch (under every Swift program here) reads /proc/TID/stat of its own worker
/// threads and kills the process when it cannot, so the runtime gets a procfs of its own pid
/// namespace, which lists only its own processes, with every host-wide entry (meminfo,
/// cpuinfo, stat, loadavg, sys, …) covered by an unreadable file or folder. Without
/// capabilities, root inside cannot read those either.
public struct SandboxBackend: EnclaveBackend {
    static let bubblewrap = "/usr/bin/bwrap"
    /// System folders a Swift program needs to run (libraries, the toolchain's runtime, and for
    /// the examples' functions its clang). Programs and libraries only: no user data lives here.
    static let systemFolders = ["/usr", "/opt/swift", "/etc/ld.so.cache", "/etc/alternatives"]

    /// Checks nothing; see `unavailableReason` before using it.
    public init() {}
    /// "sandbox", as given to `--backend`.
    public var name: String { "sandbox" }
    /// Says what is isolated, and that root on this host can still read the process.
    public var banner: String {
        "backend sandbox: own user/mount/pid/ipc namespaces, application root read-only, only allowed paths writable, host-wide /proc unreadable, no capabilities, seccomp filter, own environment. Not memory encryption: root on this host can still read the process."
    }

    /// False: the child is bubblewrap, whose --die-with-parent kills the runtime when the launcher dies.
    public var startsRuntimeDirectly: Bool { false }

    /// Why the sandbox cannot start here, if it cannot: bubblewrap or libseccomp missing, or
    /// namespaces refused.
    public static var unavailableReason: String? {
        guard FileManager.default.isExecutableFile(atPath: bubblewrap) else {
            return "\(bubblewrap) is not installed (install Debian's bubblewrap: run scripts/install-deps.sh)"
        }
        if let reason = SeccompFilter.unavailableReason { return reason }
        let probe: (status: Int32, output: String)
        do {
            probe = try ChildProcess.run(
                bubblewrap,
                [
                    "--unshare-user", "--disable-userns", "--unshare-pid", "--unshare-ipc", "--ro-bind", "/usr", "/usr",
                    "--symlink", "usr/bin", "/bin", "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64",
                    "--", "/usr/bin/true",
                ])
        } catch {
            return "\(error)"
        }
        guard probe.status == 0 else {
            return "bubblewrap cannot create namespaces here (\(probe.output.trimmingCharacters(in: .whitespacesAndNewlines)))"
        }
        return nil
    }

    /// A bwrap command line for `plan`; passes the writable descriptors and a compiled seccomp filter.
    /// Throws `.launchFailed` for a relative path, an environment entry without '=', or when the filter or /proc covers cannot be made.
    public func command(for plan: LaunchPlan) throws(EnclaveError) -> LaunchCommand {
        var arguments = [
            Self.bubblewrap, "--die-with-parent", "--new-session",
            "--unshare-user", "--disable-userns", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
            "--cap-drop", "ALL", "--hostname", "secure-executor", "--clearenv",
            "--dev", "/dev", "--tmpfs", "/tmp", "--proc", "/proc",
        ]
        for entry in plan.environment {
            guard let equals = entry.firstIndex(of: "=") else { throw .launchFailed(backend: name, reason: "environment entry \(entry) has no '='") }
            arguments += ["--setenv", String(entry[..<equals]), String(entry[entry.index(after: equals)...])]
        }
        arguments += try hostWideProcEntriesCovered(using: plan.agentFolder)
        for (link, target) in [("/bin", "usr/bin"), ("/sbin", "usr/sbin"), ("/lib", "usr/lib"), ("/lib64", "usr/lib64")] {
            arguments += ["--symlink", target, link]
        }
        for folder in Self.systemFolders where FileManager.default.fileExists(atPath: folder) {
            arguments += ["--ro-bind", folder, folder]
        }
        for path in [plan.executable, plan.applicationRoot] + plan.readable {
            guard path.hasPrefix("/") else { throw .launchFailed(backend: name, reason: "\(path) is not an absolute path") }
            arguments += ["--ro-bind", path, path]
        }
        // Later binds win: the allowed paths become writable inside the read-only root. Bound
        // from the descriptors the launcher checked, not from the paths again.
        for path in plan.writable {
            arguments += ["--bind-fd", "\(path.descriptor)", path.path]
        }
        let filter = try SeccompFilter.compile(into: plan.agentFolder)
        arguments += ["--seccomp", "\(filter)"]
        arguments += ["--bind", plan.agentFolder, plan.agentFolder, "--chdir", plan.applicationRoot, "--", plan.executable]
        return LaunchCommand(arguments: arguments + plan.arguments, passing: plan.writable.map(\.descriptor) + [filter])
    }

    /// Per-process entries stay (numbered folders, and the links into them: self, thread-self,
    /// mounts, net); every other entry of the host's /proc is covered by a mode-000 file or
    /// folder made in `folder` (the launcher's private folder).
    private func hostWideProcEntriesCovered(using folder: String) throws(EnclaveError) -> [String] {
        let hiddenFile = folder + "/hidden-file"
        let hiddenFolder = folder + "/hidden-folder"
        guard FileManager.default.createFile(atPath: hiddenFile, contents: nil, attributes: [.posixPermissions: 0]),
            (try? FileManager.default.createDirectory(atPath: hiddenFolder, withIntermediateDirectories: false, attributes: [.posixPermissions: 0])) != nil,
            let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc")
        else {
            throw .launchFailed(backend: name, reason: "cannot prepare the covers for /proc in \(folder)")
        }
        var arguments: [String] = []
        for entry in entries.sorted() where entry.first?.isNumber != true {
            var isFolder: ObjCBool = false
            let path = "/proc/" + entry
            guard (try? FileManager.default.destinationOfSymbolicLink(atPath: path)) == nil,
                FileManager.default.fileExists(atPath: path, isDirectory: &isFolder)
            else { continue }
            arguments += ["--ro-bind", isFolder.boolValue ? hiddenFolder : hiddenFile, path]
        }
        return arguments
    }
}
