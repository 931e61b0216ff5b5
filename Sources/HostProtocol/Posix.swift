// Linux only (Glibc): SOCK_CLOEXEC/SOCK_NONBLOCK, accept4 and MSG_NOSIGNAL are Linux API.
import Glibc

// The ONLY file in HostBridge that touches raw pointers or calls the C socket API. Everything
// else speaks `Socket`, `[UInt8]` and `String`.
//
// Invariants every function below keeps (check them when editing this file):
//  1. A pointer never outlives the `withUnsafe…` closure that handed it out; nothing here stores
//     one, and no pointer crosses into another file.
//  2. Every read/recv gets the buffer's real capacity as its length, and the count the kernel
//     returns is checked (>= 0 and <= capacity) before a single byte of the buffer is used.
//  3. `sockaddr_un` is zero-filled first; a path is copied into `sun_path` only after checking it
//     fits WITH its terminating NUL and has no NUL inside (else ENAMETOOLONG / EINVAL, no bind).
//  4. A file descriptor belongs to exactly one `Socket`, is closed exactly once (in deinit), and
//     is never used after that. `shutdown()` only ends I/O, so a second thread holding the same
//     `Socket` can never see the number reused for another file.
//  5. Every descriptor is CLOEXEC (a spawned child must not keep our sockets open) and every
//     socket is non-blocking: waiting happens only in `poll` with a bounded timeout, so a silent
//     peer stalls a caller for at most the caller's own deadline.
//  6. `send` uses MSG_NOSIGNAL: a peer that closed its end gives EPIPE, never a SIGPIPE that would
//     kill the whole process.

/// A failed system call, kept as the call's name and errno so an operator can read it.
public struct SystemError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The system call's name, e.g. "connect".
    public let call: String
    /// The errno value, e.g. ENOENT; compare with the Glibc constants.
    public let code: Int32

    /// Pass `errno` as read right after the failed call, before anything else can change it.
    public init(call: String, code: Int32) {
        self.call = call
        self.code = code
    }

    /// "call: strerror text (errno N)", for an operator.
    public var description: String {
        "\(call): \(String(cString: strerror(code))) (errno \(code))"
    }
}

/// What one `receive` gave.
package enum ReceiveResult: Equatable {
    case bytes([UInt8])
    case wouldBlock
    case endOfStream
}

/// One owned socket descriptor (invariant 4).
package final class Socket: Sendable {
    package let fd: Int32

    private init(fd: Int32) {
        self.fd = fd
    }

    deinit {
        _ = close(fd)
    }

    private static func newStreamSocket() throws(SystemError) -> Int32 {
        let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue)
        let fd = socket(AF_UNIX, type, 0)
        guard fd >= 0 else { throw SystemError(call: "socket", code: errno) }
        return fd
    }

    /// Runs `body` with a filled-in address for `path` (invariant 3).
    private static func withAddress<R>(
        _ path: String, call: String,
        _ body: (UnsafePointer<sockaddr>, socklen_t) -> R
    ) throws(SystemError) -> R {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard !bytes.isEmpty, !bytes.contains(0) else { throw SystemError(call: call, code: EINVAL) }
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw SystemError(call: call, code: ENAMETOOLONG)
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)  // the rest is still zero, so the path is NUL-terminated
        }
        let length = socklen_t(MemoryLayout<sockaddr_un>.size)
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, length) }
        }
    }

    /// A listening socket bound at `path`. An existing socket file there that refuses
    /// connections is a leftover of a killed agent and is replaced; one that accepts (or is
    /// busy) belongs to a live agent and is left alone (EADDRINUSE). Any other kind of file is
    /// never removed, and bind fails on it.
    package static func listen(path: String, backlog: Int32 = 16) throws(SystemError) -> Socket {
        var info = stat()
        if lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFSOCK {
            do throws(SystemError) {
                _ = try connect(path: path)
                throw SystemError(call: "bind", code: EADDRINUSE)
            } catch {
                guard error.code == ECONNREFUSED || error.code == ENOENT else {
                    throw SystemError(call: "bind", code: EADDRINUSE)
                }
                _ = unlink(path)
            }
        }
        let socket = Socket(fd: try newStreamSocket())
        let bound = try withAddress(path, call: "bind") { bind(socket.fd, $0, $1) }
        guard bound == 0 else { throw SystemError(call: "bind", code: errno) }
        guard Glibc.listen(socket.fd, backlog) == 0 else { throw SystemError(call: "listen", code: errno) }
        return socket
    }

    /// Connects without blocking. A Unix socket connect either succeeds at once or fails at once
    /// (EAGAIN when the agent's backlog is full, ECONNREFUSED when nobody listens, ENOENT when
    /// the path is gone), so there is nothing to wait for.
    package static func connect(path: String) throws(SystemError) -> Socket {
        let socket = Socket(fd: try newStreamSocket())
        while true {
            let result = try withAddress(path, call: "connect") { Glibc.connect(socket.fd, $0, $1) }
            if result == 0 { return socket }
            if errno == EINTR { continue }
            throw SystemError(call: "connect", code: errno)
        }
    }

    /// Accepts one pending connection, or nil when none is waiting.
    package func accept() throws(SystemError) -> Socket? {
        while true {
            // accept4 is not visible through Swift's Glibc module (it needs _GNU_SOURCE), so the
            // flags are set right after accept. The gap only matters if this process spawns a
            // child in that instant; the agent never spawns anything.
            let client = Glibc.accept(fd, nil, nil)
            if client >= 0 {
                _ = fcntl(client, F_SETFD, FD_CLOEXEC)
                _ = fcntl(client, F_SETFL, fcntl(client, F_GETFL) | O_NONBLOCK)
                return Socket(fd: client)
            }
            switch errno {
            case EINTR, ECONNABORTED: continue
            case EAGAIN, EWOULDBLOCK: return nil
            default: throw SystemError(call: "accept", code: errno)
            }
        }
    }

    /// Waits up to `milliseconds` for the socket to become readable (or writable). Returns true
    /// when it is ready, closed or failed (the next read/write tells which), false on timeout.
    package func wait(forWriting: Bool = false, milliseconds: Int32) throws(SystemError) -> Bool {
        var entry = pollfd(fd: fd, events: Int16(forWriting ? POLLOUT : POLLIN), revents: 0)
        while true {
            let result = poll(&entry, 1, max(milliseconds, 0))
            if result > 0 { return true }
            if result == 0 { return false }
            if errno == EINTR { continue }
            throw SystemError(call: "poll", code: errno)
        }
    }

    /// Reads at most `maxBytes` (invariant 2).
    package func receive(maxBytes: Int) throws(SystemError) -> ReceiveResult {
        precondition(maxBytes > 0)
        var buffer = [UInt8](repeating: 0, count: maxBytes)
        while true {
            let count = buffer.withUnsafeMutableBytes { raw in
                recv(fd, raw.baseAddress, raw.count, 0)
            }
            if count > 0 {
                guard count <= maxBytes else { throw SystemError(call: "recv", code: EOVERFLOW) }
                return .bytes(Array(buffer[0..<count]))
            }
            if count == 0 { return .endOfStream }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: return .wouldBlock
            default: throw SystemError(call: "recv", code: errno)
            }
        }
    }

    /// Writes what the kernel takes now; returns how many bytes (0 when it would block).
    package func send(_ bytes: ArraySlice<UInt8>) throws(SystemError) -> Int {
        let flags = Int32(MSG_NOSIGNAL)
        while true {
            let count = bytes.withUnsafeBytes { raw in
                Glibc.send(fd, raw.baseAddress, raw.count, flags)
            }
            if count >= 0 { return min(count, bytes.count) }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: return 0
            default: throw SystemError(call: "send", code: errno)
            }
        }
    }

    /// Who is at the other end of a connection, as the kernel reports it in our pid namespace
    /// (SO_PEERCRED): a runtime in a sandbox's own pid namespace cannot know its host pid; the
    /// kernel does. Glibc hides `struct ucred` and SO_PEERCRED without _GNU_SOURCE, so both are
    /// written here: the layout is the kernel's (pid, uid, gid, 32 bits each) and 17 is
    /// SO_PEERCRED on x86_64 and aarch64.
    package typealias PeerCredentials = (pid: Int32, uid: UInt32, gid: UInt32)
    /// SO_PEERCRED; see `PeerCredentials`.
    package static let peerCredentials: Int32 = 17

    /// Ends I/O in both directions; the peer sees end-of-stream. The descriptor stays allocated
    /// until deinit (invariant 4).
    package func shutdown() {
        _ = Glibc.shutdown(fd, Int32(SHUT_RDWR))
    }
}

/// File-system and host calls the agent needs that take pointers.
package enum Posix {
    /// The whole file, or nil if it cannot be opened/read or is larger than `limit` bytes
    /// (/proc files report size 0, so we read until end-of-file instead of trusting stat).
    package static func readFile(_ path: String, limit: Int = 4 << 20) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { _ = close(fd) }
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { raw in read(fd, raw.baseAddress, raw.count) }
            if count < 0 {
                if errno == EINTR { continue }
                return nil
            }
            if count == 0 { return result }
            guard count <= chunk.count, result.count + count <= limit else { return nil }
            result.append(contentsOf: chunk[0..<count])
        }
    }

    package static func exists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }

    package static func hostname() -> String? {
        var buffer = [UInt8](repeating: 0, count: 256 + 1)
        let result = buffer.withUnsafeMutableBytes { raw in
            gethostname(raw.baseAddress!.assumingMemoryBound(to: CChar.self), raw.count - 1)
        }
        guard result == 0 else { return nil }
        let end = buffer.firstIndex(of: 0) ?? (buffer.count - 1)
        return String(decoding: buffer[0..<end], as: UTF8.self)
    }

    /// (total, available-to-unprivileged) bytes of the file system holding `path`; nil on error
    /// or if a product overflows.
    package static func fileSystemSpace(_ path: String) -> (total: UInt64, available: UInt64)? {
        var info = statvfs()
        guard statvfs(path, &info) == 0 else { return nil }
        let unit = UInt64(info.f_frsize)
        let total = UInt64(info.f_blocks).multipliedReportingOverflow(by: unit)
        let available = UInt64(info.f_bavail).multipliedReportingOverflow(by: unit)
        guard !total.overflow, !available.overflow else { return nil }
        return (total.partialValue, available.partialValue)
    }

    package static func currentPID() -> Int32 {
        getpid()
    }
}
