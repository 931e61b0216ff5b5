import Crypto
import Foundation
import NIOConcurrencyHelpers
import Support

/// NODE_LOCAL function state, durable and sealed, in one folder of the app (`[node]
/// state_directory`). Each state is one file, AES-GCM under a key derived from the backend's
/// sealing key and the app's signer, and bound to the signer, the function's code hash and the
/// state id: another app's or function's file does not open as this one's. Each file carries a
/// counter, and a sealed index beside them keeps the newest counter of every state, so an older
/// copy of a file put back is refused. `save` returns when the file and the index are on disk:
/// written to a temporary file, fsynced, renamed over, and the folder fsynced.
///
/// What only hardware stops: whoever can write the folder can put back an older copy of the
/// whole folder (index included), and that is not detectable without a monotonic counter
/// outside it (a TPM NV counter, SGX's platform counters). Within one run of the node the
/// newest counters are also kept in memory, so even that is refused until the node restarts.
public final class SealedStateStore: Sendable {
    static let stateMagic: [UInt8] = Array("SXST".utf8)
    static let indexMagic: [UInt8] = Array("SXIX".utf8)
    static let version: UInt8 = 1
    static let indexName = "index.sealed"

    /// The folder, as the manifest names it, for messages.
    public let path: String
    private let directory: Int32
    /// The app's own key (bytes: `SymmetricKey` is not `Sendable` on Linux).
    private let keyBytes: [UInt8]
    private var key: SymmetricKey { SymmetricKey(data: keyBytes) }
    private let signer: [UInt8]
    /// One lock for the counters and every write: two syncs of one state must land in order.
    private let counters: NIOLockedValueBox<Counters>

    private struct Counters {
        var newest: [String: UInt64]
        var index: UInt64
    }

    /// Takes ownership of `directory` (an open folder). Reads the index: a tampered or foreign
    /// one is refused, a missing one is an empty store.
    public init(directory: Int32, path: String, key: SealingKey, signer: [UInt8]) throws(StateError) {
        self.directory = directory
        self.path = path
        self.signer = signer
        let derived = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: key.key, salt: signer, info: Array("secure-executor sealed state v1".utf8), outputByteCount: 32)
        keyBytes = derived.withUnsafeBytes { Array($0) }
        let appKey = derived
        var newest: [String: UInt64] = [:]
        var indexCounter: UInt64 = 0
        if let sealed = try Self.read(directory, Self.indexName, path: path) {
            let (counter, plain) = try Self.open(
                sealed, magic: Self.indexMagic, binding: Self.indexBinding(signer), key: appKey, file: "\(path)/\(Self.indexName)")
            indexCounter = counter
            for line in String(decoding: plain, as: UTF8.self).split(separator: "\n") {
                let fields = line.split(separator: " ")
                guard fields.count == 2, let value = UInt64(fields[1]) else { throw .tampered(path: "\(path)/\(Self.indexName)") }
                newest[String(fields[0])] = value
            }
        }
        counters = NIOLockedValueBox(Counters(newest: newest, index: indexCounter))
    }

    deinit { close(directory) }

    /// The state last saved for `stateID` of the code `codeHash`, or nil if none was.
    public func load(codeHash: [UInt8], stateID: String) throws(StateError) -> [UInt8]? {
        let binding = Self.binding(signer: signer, codeHash: codeHash, stateID: stateID)
        let name = Self.fileName(binding)
        let file = "\(path)/\(name)"
        let newest = counters.withLockedValue { $0.newest[name] }
        guard let sealed = try Self.read(directory, name, path: path) else {
            if let newest { throw .missing(path: file, newest: newest) }
            return nil
        }
        let (counter, plain) = try Self.open(sealed, magic: Self.stateMagic, binding: binding, key: key, file: file)
        if let newest, counter < newest { throw .rolledBack(path: file, counter: counter, newest: newest) }
        counters.withLockedValue { $0.newest[name] = max($0.newest[name] ?? 0, counter) }
        return plain
    }

    /// Saves `state` durably; on return it survives a crash of the node or the machine.
    public func save(_ state: [UInt8], codeHash: [UInt8], stateID: String) throws(StateError) {
        let binding = Self.binding(signer: signer, codeHash: codeHash, stateID: stateID)
        let name = Self.fileName(binding)
        let (directory, key, signer, path) = (directory, key, signer, path)
        let outcome: Result<Void, StateError> = counters.withLockedValue { counters in
            do throws(StateError) {
                let counter = (counters.newest[name] ?? 0) + 1
                try Self.write(Self.seal(state, magic: Self.stateMagic, counter: counter, binding: binding, key: key), to: name, in: directory, path: path)
                var next = counters
                next.newest[name] = counter
                next.index += 1
                let listing = next.newest.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)\n" }.joined()
                try Self.write(
                    Self.seal(Array(listing.utf8), magic: Self.indexMagic, counter: next.index, binding: Self.indexBinding(signer), key: key),
                    to: Self.indexName, in: directory, path: path)
                counters = next
                return .success(())
            } catch {
                return .failure(error)
            }
        }
        try outcome.get()
    }

    // MARK: binding and format

    /// What a state is bound to. Its first 16 bytes name the file; the first 8 are also in the
    /// header, in clear, so a file of another function or app is named as such.
    static func binding(signer: [UInt8], codeHash: [UInt8], stateID: String) -> [UInt8] {
        var hash = SHA256()
        hash.update(data: Array("state\0".utf8))
        for part in [signer, codeHash, Array(stateID.utf8)] {
            hash.update(data: withUnsafeBytes(of: UInt32(part.count).bigEndian, Array.init))
            hash.update(data: part)
        }
        return Array(hash.finalize())
    }

    static func indexBinding(_ signer: [UInt8]) -> [UInt8] { Array(SHA256.hash(data: Array("index\0".utf8) + signer)) }

    static func fileName(_ binding: [UInt8]) -> String { binding.prefix(16).map { String(format: "%02x", $0) }.joined() + ".state" }

    /// magic (4) · version (1) · binding prefix (8) · counter (8, big-endian) · nonce (12) ·
    /// ciphertext · tag (16). The header up to the counter and the whole binding are the
    /// associated data.
    static let headerCount = 4 + 1 + 8 + 8

    static func seal(_ plain: [UInt8], magic: [UInt8], counter: UInt64, binding: [UInt8], key: SymmetricKey) throws(StateError) -> [UInt8] {
        let header = magic + [version] + Array(binding.prefix(8)) + withUnsafeBytes(of: counter.bigEndian, Array.init)
        do {
            let box = try AES.GCM.seal(plain, using: key, authenticating: header + binding)
            return header + Array(box.nonce) + Array(box.ciphertext) + Array(box.tag)
        } catch {
            throw .notWritten(path: "", reason: "sealing failed: \(error)")
        }
    }

    static func open(_ sealed: [UInt8], magic: [UInt8], binding: [UInt8], key: SymmetricKey, file: String) throws(StateError) -> (UInt64, [UInt8]) {
        guard sealed.count >= headerCount + 12 + 16, Array(sealed.prefix(4)) == magic, sealed[4] == version else { throw .tampered(path: file) }
        guard Array(sealed[5..<13]) == Array(binding.prefix(8)) else { throw .foreign(path: file) }
        let counter = sealed[13..<21].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        do {
            let box = try AES.GCM.SealedBox(
                nonce: AES.GCM.Nonce(data: sealed[headerCount..<headerCount + 12]), ciphertext: sealed[(headerCount + 12)..<(sealed.count - 16)],
                tag: sealed[(sealed.count - 16)...])
            return (counter, Array(try AES.GCM.open(box, using: key, authenticating: Array(sealed.prefix(headerCount)) + binding)))
        } catch {
            throw .tampered(path: file)
        }
    }

    // MARK: files, relative to the folder's descriptor, never following a symlink

    static let maxFileBytes = 64 << 20

    static func read(_ directory: Int32, _ name: String, path: String) throws(StateError) -> [UInt8]? {
        let fd = openat(directory, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT { return nil }
            throw .unreadable(path: "\(path)/\(name)", reason: String(cString: strerror(errno)))
        }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0, status.st_mode & S_IFMT == S_IFREG, status.st_size <= maxFileBytes else {
            throw .unreadable(path: "\(path)/\(name)", reason: "not a regular file of at most \(maxFileBytes) bytes")
        }
        var bytes = [UInt8](repeating: 0, count: Int(status.st_size))
        if case let .failure(shortfall) = bytes.withUnsafeMutableBytes({ DescriptorIO.readFully(fd, into: $0, at: 0) }) {
            throw .unreadable(path: "\(path)/\(name)", reason: shortfall.reason)
        }
        return bytes
    }

    static func write(_ bytes: [UInt8], to name: String, in directory: Int32, path: String) throws(StateError) {
        let temporary = "\(name).tmp"
        func failed(_ step: String) -> StateError { .notWritten(path: "\(path)/\(name)", reason: "\(step): \(String(cString: strerror(errno)))") }
        unlinkat(directory, temporary, 0)
        let fd = openat(directory, temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw failed("create \(temporary)") }
        if case let .failure(shortfall) = DescriptorIO.writeAll(fd, bytes) {
            close(fd)
            throw .notWritten(path: "\(path)/\(name)", reason: "write: \(shortfall.reason)")
        }
        guard fsync(fd) == 0 else {
            let error = failed("fsync")
            close(fd)
            throw error
        }
        close(fd)
        guard renameat(directory, temporary, directory, name) == 0 else { throw failed("rename") }
        guard fsync(directory) == 0 else { throw failed("fsync the folder") }
    }
}
