import Crypto
import Foundation
import Support

/// Where sealed state gets its key: the backend's secret, the same on every start of the node
/// on this machine. A hardware backend would derive it from its sealing key (SGX's
/// `EGETKEY`, a TPM-bound secret); the sandbox has no such secret, so the launcher keeps one
/// in a 0600 key file outside the sandbox and hands it in through an inherited pipe
/// (`SealingKey.receive(from:)`), so the runtime never sees the file.
public protocol SealingKeyProvider: Sendable {
    /// What the key comes from, for logs and errors.
    var source: String { get }
    func sealingKey() throws(StateError) -> SealingKey
}

/// 32 secret bytes. Never logged; `description` names only a fingerprint.
public struct SealingKey: Sendable, CustomStringConvertible {
    public static let byteCount = 32
    /// The environment variable naming the runtime's inherited key pipe (`pipe()`).
    public static let descriptorVariable = "SECURE_EXECUTOR_SEALING_KEY_FD"
    /// Kept as bytes: swift-crypto's `SymmetricKey` is not `Sendable` on Linux.
    fileprivate let bytes: [UInt8]
    var key: SymmetricKey { SymmetricKey(data: bytes) }

    public init(bytes: [UInt8]) throws(StateError) {
        guard bytes.count == Self.byteCount else { throw .badKey(reason: "a sealing key has \(Self.byteCount) bytes, this one \(bytes.count)") }
        self.bytes = bytes
    }

    /// A fresh random key.
    public static func random() -> SealingKey { try! SealingKey(bytes: (0..<byteCount).map { _ in UInt8.random(in: 0...255) }) }

    public var description: String {
        let digest = SHA256.hash(data: bytes)
        return "sealing key " + digest.prefix(4).map { String(format: "%02x", $0) }.joined()
    }

    /// Writes the key into a new pipe and answers its read end (close-on-exec cleared only by
    /// the child's `passing`): the launcher's way of handing it to the runtime.
    public func pipe() throws(StateError) -> Int32 {
        var ends: [Int32] = [-1, -1]
        guard Glibc.pipe(&ends) == 0 else { throw .badKey(reason: "cannot create a pipe: \(String(cString: strerror(errno)))") }
        _ = fcntl(ends[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(ends[1], F_SETFD, FD_CLOEXEC)
        defer { close(ends[1]) }
        if case let .failure(shortfall) = DescriptorIO.writeAll(ends[1], bytes) {
            close(ends[0])
            throw .badKey(reason: "cannot write the key into its pipe: \(shortfall.reason)")
        }
        return ends[0]
    }

    /// The runtime's side of `pipe()`: reads exactly the key, then end-of-file, and closes it.
    public static func receive(from descriptor: Int32) throws(StateError) -> SealingKey {
        defer { close(descriptor) }
        var bytes = [UInt8](repeating: 0, count: byteCount + 1)
        var count = 0
        while count < bytes.count {
            let got = bytes.withUnsafeMutableBytes { read(descriptor, $0.baseAddress! + count, $0.count - count) }
            if got < 0 && errno == EINTR { continue }
            guard got > 0 else { break }
            count += got
        }
        guard count == byteCount else { throw .badKey(reason: "the inherited key descriptor \(descriptor) gave \(count) bytes, not \(byteCount)") }
        return try SealingKey(bytes: Array(bytes.prefix(byteCount)))
    }
}

/// The sandbox's provider: a key file only its owner may read, created with a random key on
/// first use. A file others may read or write, or owned by another user, is refused: its key
/// may be known.
public struct KeyFileProvider: SealingKeyProvider {
    public let path: String
    public init(path: String) { self.path = path }

    public var source: String { "key file \(path)" }

    /// `$XDG_STATE_HOME/secure-executor/sealing.key`, else `~/.local/state/secure-executor/sealing.key`.
    public static var defaultPath: String {
        let environment = ProcessInfo.processInfo.environment
        let base = environment["XDG_STATE_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? (NSHomeDirectory() + "/.local/state")
        return base + "/secure-executor/sealing.key"
    }

    public func sealingKey() throws(StateError) -> SealingKey {
        let folder = (path as NSString).deletingLastPathComponent
        if !folder.isEmpty { mkdir(folder, 0o700) }
        let created = Glibc.open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        if created >= 0 {
            defer { close(created) }
            let key = SealingKey.random()
            guard case .success = DescriptorIO.writeAll(created, key.bytes), fsync(created) == 0 else {
                unlink(path)
                throw .badKey(reason: "\(source): cannot write a new key: \(String(cString: strerror(errno)))")
            }
            return key
        }
        let fd = Glibc.open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw .badKey(reason: "\(source): cannot open: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0, status.st_mode & S_IFMT == S_IFREG else { throw .badKey(reason: "\(source) is not a regular file") }
        guard status.st_uid == geteuid(), status.st_mode & 0o077 == 0 else {
            throw .badKey(
                reason:
                    "\(source) has mode \(String(status.st_mode & 0o777, radix: 8)) and owner \(status.st_uid): it must be 600 and this user's (\(geteuid())), or its key may be known"
            )
        }
        guard status.st_size == SealingKey.byteCount else { throw .badKey(reason: "\(source) holds \(status.st_size) bytes, not \(SealingKey.byteCount)") }
        var bytes = [UInt8](repeating: 0, count: SealingKey.byteCount)
        if case let .failure(shortfall) = bytes.withUnsafeMutableBytes({ DescriptorIO.readFully(fd, into: $0, at: 0) }) {
            throw .badKey(reason: "\(source): \(shortfall.reason)")
        }
        return try SealingKey(bytes: bytes)
    }
}
