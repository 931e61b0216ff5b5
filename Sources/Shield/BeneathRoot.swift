import Manifest

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Opens paths inside the application root one component at a time with O_NOFOLLOW, starting
/// from a descriptor of the root taken once: a symlink anywhere on the way, or a path that
/// would leave the root, is refused by the kernel rather than by string checks.
public struct BeneathRoot: Sendable {
    let rootDescriptor: Int32
    let root: String
    let realRoot: String

    /// Opens `root` as a directory and resolves its real path once. Throws `.unreadable` if it
    /// cannot be opened; the caller must `close()` the descriptor when done.
    public init(root: String) throws(ShieldError) {
        let fd = Glibc.open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0, let resolved = realpath(root, nil) else {
            throw .unreadable(path: root, reason: "cannot open the application root: \(String(cString: strerror(errno)))")
        }
        rootDescriptor = fd
        self.root = root
        realRoot = String(cString: resolved)
        free(resolved)
    }

    /// Closes the root descriptor (the struct is a value: call it once, from the owner).
    public func close() { _ = Glibc.close(rootDescriptor) }

    /// Why an open failed: `.symlink` when a symlink (or non-directory) was met on the way,
    /// otherwise the raw errno.
    public enum Failure: Error {
        case symlink
        case errno(Int32)
    }

    /// Opens `path` beneath the root. With `flags` containing O_CREAT the last component may be
    /// created; intermediate directories must exist.
    public func open(_ path: RelativePath, flags: Int32, mode: mode_t = 0o644) -> Result<Int32, Failure> {
        let parts = path.components
        var directory = dup(rootDescriptor)
        guard directory >= 0 else { return .failure(.errno(errno)) }
        for part in parts.dropLast() {
            let next = openat(directory, String(part), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            let error = errno
            Glibc.close(directory)
            guard next >= 0 else { return .failure(error == ELOOP || error == ENOTDIR ? .symlink : .errno(error)) }
            directory = next
        }
        let fd = openat(directory, String(parts.last!), flags | O_NOFOLLOW | O_CLOEXEC, mode)
        let error = errno
        Glibc.close(directory)
        guard fd >= 0 else { return .failure(error == ELOOP ? .symlink : .errno(error)) }
        return .success(fd)
    }

    /// For entries signed as symlinks: resolves the link and opens the target only if it lies
    /// inside the root. The bytes are still checked against the signed hashes.
    func openResolvingSymlink(_ path: RelativePath) -> Result<Int32, Failure> {
        guard let resolved = realpath(root + "/" + path.string, nil) else { return .failure(.errno(errno)) }
        let target = String(cString: resolved)
        free(resolved)
        guard target.hasPrefix(realRoot == "/" ? "/" : realRoot + "/") else { return .failure(.symlink) }
        let fd = Glibc.open(target, O_RDONLY | O_CLOEXEC)
        return fd >= 0 ? .success(fd) : .failure(.errno(errno))
    }
}
