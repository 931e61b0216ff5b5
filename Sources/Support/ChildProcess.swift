#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A child process started with posix_spawn, with a clean signal state. Foundation's `Process`
/// passes on the parent's blocked signals (a test runner blocks SIGTERM, so a server started
/// from a test never saw it) and needs /proc/self/fd, which a sandbox may not offer.
///
/// The only file in Support with raw pointers. Invariants:
///  1. argv and envp are strdup'ed C strings owned by `spawn` and freed before it returns,
///     whether posix_spawn succeeded or not; nothing keeps a pointer to them. Without an
///     explicit environment the child gets this process's `environ`, which is only read.
///  5. Of this process's descriptors, the child gets fds 0-2 and exactly the `passing` ones
///     (each dup2'ed onto itself, which clears close-on-exec in the child only); the caller
///     keeps owning them. Every other descriptor the caller opens must be close-on-exec.
///  2. Both ends of the pipe are close-on-exec, so only the dup2'ed copies (fds 1 and 2) reach the
///     child; the parent closes its write end right after spawning, so reading ends at the
///     child's exit, and the read end is closed exactly once (in `collect`).
///  3. The child starts with an empty signal mask and default SIGINT/SIGTERM/SIGPIPE handling,
///     whatever the parent blocks or ignores (test runners block SIGTERM; servers ignore SIGPIPE).
///  4. A child is waited for exactly once (`wait`), so its pid is never reused under us.
public struct ChildProcess: Sendable {
    /// Where the child's stdout and stderr go; chosen at `spawn`.
    public enum Output: Sendable {
        /// stdout and stderr to /dev/null.
        case discard
        /// stdout and stderr are this process's.
        case inherit
        /// stdout and stderr together into a pipe, read by `collect`.
        case capture
    }

    /// Thrown by `spawn` and `run` when the pipe cannot be made or posix_spawn fails.
    public struct SpawnError: Error, CustomStringConvertible {
        /// The path that was to be started.
        public let executable: String
        /// The errno value (from pipe) or posix_spawn's result.
        public let code: Int32
        /// The executable and the system's text for `code`.
        public var description: String { "cannot start \(executable): \(String(cString: strerror(code)))" }
    }

    /// The child's process id; valid until `wait` has reaped it.
    public let pid: pid_t
    private let outputFD: Int32?

    /// Starts `executable` (an absolute path) with `arguments`, in `environment` (KEY=VALUE
    /// entries; nil: this process's), also handing it the descriptors in `passing`. With
    /// `ownProcessGroup` a terminal's Ctrl-C does not reach it: the parent decides how it stops.
    public static func spawn(
        _ executable: String, _ arguments: [String], environment: [String]? = nil, passing: [Int32] = [],
        ownProcessGroup: Bool = false, output: Output = .discard
    ) throws(SpawnError) -> ChildProcess {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var pipeFDs: [Int32] = [-1, -1]
        for fd in passing { posix_spawn_file_actions_adddup2(&actions, fd, fd) }
        switch output {
        case .inherit: break
        case .discard:
            posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        case .capture:
            guard pipe(&pipeFDs) == 0 else { throw SpawnError(executable: executable, code: errno) }
            for fd in pipeFDs { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
            posix_spawn_file_actions_adddup2(&actions, pipeFDs[1], 1)
            posix_spawn_file_actions_adddup2(&actions, pipeFDs[1], 2)
        }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signalNumber in [SIGINT, SIGTERM, SIGPIPE] { sigaddset(&defaults, signalNumber) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | (ownProcessGroup ? POSIX_SPAWN_SETPGROUP : 0)))

        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let envp: [UnsafeMutablePointer<CChar>?]? = environment.map { $0.map { strdup($0) } + [nil] }
        defer { envp?.forEach { free($0) } }
        var pid: pid_t = 0
        let result =
            envp.map { posix_spawn(&pid, executable, &actions, &attributes, argv, $0) }
            ?? posix_spawn(&pid, executable, &actions, &attributes, argv, environ)
        if output == .capture { close(pipeFDs[1]) }
        guard result == 0 else {
            if output == .capture { close(pipeFDs[0]) }
            throw SpawnError(executable: executable, code: result)
        }
        return ChildProcess(pid: pid, outputFD: output == .capture ? pipeFDs[0] : nil)
    }

    /// Everything the child wrote (for `.capture`), read until it closes its end.
    public func collect() -> String {
        guard let outputFD else { return "" }
        defer { close(outputFD) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(outputFD, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { break }
            bytes += buffer[0..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Waits for the child; its exit status, or 128 + the signal that ended it.
    @discardableResult
    public func wait() -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let signal = status & 0x7F
        return signal == 0 ? (status >> 8) & 0xFF : 128 + signal
    }

    /// Sends signal `number` (e.g. SIGTERM) to the child alone, not its group; errors are ignored.
    public func signal(_ number: Int32) { kill(pid, number) }

    /// Whether the child has exited, without reaping it (WNOWAIT): `wait` still collects it.
    public var hasExited: Bool {
        var info = siginfo_t()
        while waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT) < 0 {
            guard errno == EINTR else { return true }
        }
        return info._sifields._kill.si_pid != 0
    }

    /// Runs to completion; exit status and combined output.
    public static func run(_ executable: String, _ arguments: [String]) throws(SpawnError) -> (status: Int32, output: String) {
        let child = try spawn(executable, arguments, output: .capture)
        let output = child.collect()
        return (child.wait(), output)
    }
}
