import Foundation
import Support

/// Writing and reading the small text files keys live in, without trusting what is already
/// on disk at the target path.
enum KeyFile {
    enum Kind {
        case privateKey, publicKey

        /// Whether `text` is a file of this kind as `keygen` writes it.
        func matches(_ text: String) -> Bool {
            switch self {
            case .privateKey:
                return text.hasPrefix(SigningKey.header) && (try? SigningKey.parse(text, source: "")) != nil
            case .publicKey:
                let line = text.split(whereSeparator: \.isNewline).first { !$0.hasPrefix("#") }
                return line.map { (try? PublicKey(parsing: String($0))) != nil } ?? false
            }
        }
    }

    /// Writes `text` to a new file beside `path` (O_CREAT|O_EXCL|O_NOFOLLOW, `mode`), then
    /// moves it into place: a link planted at `path` is replaced, never written through.
    /// Without `overwrite` an existing `path` is refused (link(2) fails if it appeared
    /// meanwhile); with it, only a file of `kind` is replaced.
    static func write(_ text: String, to path: String, mode: mode_t, overwrite: Bool, kind: Kind) throws(KeyError) {
        try checkReplaceable(path, overwrite: overwrite, kind: kind)
        let temporary = PathText.folder(of: path) + "/.\(PathText.name(of: path)).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
        guard fd >= 0 else { throw .unwritable(path, String(cString: strerror(errno))) }
        let bytes = Array(text.utf8)
        // fchmod: the umask must not loosen or tighten what the caller asked for.
        let written = fchmod(fd, mode) == 0 && Glibc.write(fd, bytes, bytes.count) == bytes.count && fsync(fd) == 0
        let reason = String(cString: strerror(errno))
        close(fd)
        defer { unlink(temporary) }
        guard written else { throw .unwritable(path, reason) }
        if overwrite {
            guard rename(temporary, path) == 0 else { throw .unwritable(path, String(cString: strerror(errno))) }
        } else {
            guard link(temporary, path) == 0 else {
                throw errno == EEXIST ? .exists(path) : .unwritable(path, String(cString: strerror(errno)))
            }
        }
    }

    /// Refuses what `write` must not replace: anything without `overwrite`; with it, a link,
    /// a folder or other non-file, or a file that is not a key of `kind`.
    static func checkReplaceable(_ path: String, overwrite: Bool, kind: Kind) throws(KeyError) {
        var info = stat()
        guard lstat(path, &info) == 0 else {
            if errno == ENOENT { return }
            throw .unwritable(path, String(cString: strerror(errno)))
        }
        guard overwrite else { throw .exists(path) }
        switch info.st_mode & S_IFMT {
        case S_IFREG: break
        case S_IFLNK: throw .notAKeyFile(path, "a symbolic link")
        case S_IFDIR: throw .notAKeyFile(path, "a folder")
        default: throw .notAKeyFile(path, "not a regular file")
        }
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw .unwritable(path, String(cString: strerror(errno))) }
        defer { close(fd) }
        guard let text = readText(fd, limit: 64 << 10), kind.matches(text) else {
            throw .notAKeyFile(path, kind == .privateKey ? "a file that is not a private key" : "a file that is not a public key")
        }
    }

    /// The whole file as UTF-8, or nil if it is longer than `limit` or not text.
    static func readText(_ fd: Int32, limit: Int) -> String? {
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while bytes.count <= limit {
            let count = read(fd, &buffer, buffer.count)
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { return nil }
            if count == 0 { return String(validating: bytes, as: UTF8.self) }
            bytes += buffer[0..<count]
        }
        return nil
    }
}
