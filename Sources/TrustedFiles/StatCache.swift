import Crypto
import Foundation
import Manifest

/// Remembers, per signed path, the file identity (size, device, inode, mtime, ctime) seen when
/// it was hashed, so the next `sign` can take that file's hashes from the previous table
/// instead of reading it again. Stored as `NAME.trusted.statcache` beside the table.
///
/// Not part of what is signed or verified, but it decides what the signer may skip reading, so
/// a record rewritten to match a changed file would make `sign` vouch for stale content. The
/// whole file is therefore authenticated with HMAC-SHA256 under a key derived from the signing
/// key, and names the digest of the table it belongs to: a cache that another key wrote, that
/// was edited, or that belongs to another table is ignored and every file hashed.
/// `sign --no-reuse` ignores it too.
struct StatCache {
    static let magic = Array("SEXSTATC".utf8)
    static let version: UInt32 = 2
    /// HKDF info: this key is for nothing but the stat cache.
    static let macLabel = "secure-executor stat cache mac v2"
    static let macSize = 32

    /// The digest of the table whose hashes these identities describe.
    var tableDigest: [UInt8] = []
    /// Sorted by path, bytewise (the order of `FileSelection.files`).
    var records: [(path: RelativePath, identity: FileIdentity)] = []

    static func path(forTable table: String) -> String { table + ".statcache" }

    /// The identity recorded for each of `files` (sorted the same way), by one merge pass.
    func identities(matching files: [SelectedFile]) -> [FileIdentity?] {
        var cursor = 0
        return files.map { file in
            while cursor < records.count && records[cursor].path < file.path { cursor += 1 }
            return cursor < records.count && records[cursor].path == file.path ? records[cursor].identity : nil
        }
    }

    enum Loaded {
        case absent
        /// Present but not to be trusted; the reason is for a one-line note.
        case ignored(String)
        case loaded(StatCache)
    }

    /// The cache at `path` if `key` wrote it for the table with `tableDigest`.
    static func load(path: String, key: SigningKey, tableDigest: [UInt8]) -> Loaded {
        guard let data = FileManager.default.contents(atPath: path) else { return .absent }
        let bytes = [UInt8](data)
        guard bytes.count >= macSize,
            HMAC<SHA256>.isValidAuthenticationCode(bytes.suffix(macSize), authenticating: bytes.dropLast(macSize), using: macKey(key))
        else {
            return .ignored("\(path): not written by this signing key, or altered since (its MAC does not verify); ignoring it and hashing every file")
        }
        guard let cache = parse(bytes.dropLast(macSize)) else {
            return .ignored("\(path): authenticated but not readable as a version \(version) stat cache; ignoring it and hashing every file")
        }
        guard cache.tableDigest == tableDigest else {
            return .ignored("\(path): was written for another table than the one beside it; ignoring it and hashing every file")
        }
        return .loaded(cache)
    }

    private static func parse(_ body: ArraySlice<UInt8>) -> StatCache? {
        body.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> StatCache? in
            var reader = ByteReader(raw)
            guard reader.bytes(8).map(Array.init) == magic, reader.integer(UInt32.self) == version,
                let digest = reader.bytes(32), let count = reader.integer(UInt32.self)
            else { return nil }
            var cache = StatCache(tableDigest: Array(digest))
            // Even authenticated, never reserve more than the bytes can hold.
            cache.records.reserveCapacity(min(Int(count), raw.count / 42))
            for _ in 0..<count {
                guard let length = reader.integer(UInt16.self), let name = reader.bytes(Int(length)),
                    let size = reader.integer(UInt64.self), let device = reader.integer(UInt64.self),
                    let inode = reader.integer(UInt64.self), let modified = reader.integer(Int64.self),
                    let changed = reader.integer(Int64.self),
                    let text = String(validating: name, as: UTF8.self)
                else { return nil }
                let path = RelativePath(uncheckedNormalised: text)
                if let last = cache.records.last, !(last.path < path) { return nil }
                cache.records.append(
                    (
                        path,
                        FileIdentity(
                            size: size, device: device, inode: inode,
                            modifiedNanoseconds: modified, changedNanoseconds: changed)
                    ))
            }
            return reader.atEnd ? cache : nil
        }
    }

    func write(path: String, key: SigningKey) throws {
        var out = ByteWriter(capacity: 96 + records.count * 100)
        out.bytes(StatCache.magic)
        out.integer(StatCache.version)
        out.bytes(tableDigest)
        out.integer(UInt32(records.count))
        for (path, identity) in records {
            out.integer(UInt16(path.string.utf8.count))
            out.bytes(path.string.utf8)
            out.integer(identity.size)
            out.integer(identity.device)
            out.integer(identity.inode)
            out.integer(identity.modifiedNanoseconds)
            out.integer(identity.changedNanoseconds)
        }
        var bytes = out.result
        bytes += HMAC<SHA256>.authenticationCode(for: bytes, using: StatCache.macKey(key))
        try writeAtomically(Data(bytes), to: path)
    }

    static func macKey(_ key: SigningKey) -> SymmetricKey { key.derivedKey(label: macLabel) }
}

/// Little-endian reader over untrusted bytes: every read is bounds-checked and returns nil
/// past the end.
struct ByteReader {
    private let bytes: UnsafeRawBufferPointer
    private var offset = 0
    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    var atEnd: Bool { offset == bytes.count }

    mutating func integer<T: FixedWidthInteger>(_: T.Type) -> T? {
        guard bytes.count - offset >= MemoryLayout<T>.size else { return nil }
        defer { offset += MemoryLayout<T>.size }
        return T(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: T.self))
    }

    mutating func bytes(_ count: Int) -> UnsafeRawBufferPointer? {
        guard count >= 0, bytes.count - offset >= count else { return nil }
        defer { offset += count }
        return UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + count)])
    }
}

/// Write to a temporary file in the same folder, then rename: a reader sees the old file or
/// the new one, never half of one.
func writeAtomically(_ data: Data, to path: String) throws {
    let temporary = path + ".tmp-\(getpid())"
    do {
        try data.write(to: URL(fileURLWithPath: temporary))
        guard rename(temporary, path) == 0 else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path, NSLocalizedDescriptionKey: String(cString: strerror(errno))])
        }
    } catch {
        unlink(temporary)
        throw error
    }
}
