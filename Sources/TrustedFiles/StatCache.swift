import Foundation
import Manifest

/// Remembers, per signed path, the file identity (size, device, inode, mtime, ctime) seen when
/// it was hashed, so the next `sign` can take that file's hashes from the previous table
/// instead of reading it again. Stored as `NAME.trusted.statcache` beside the table.
///
/// Not part of what is signed or verified: it only decides what the signer may skip
/// re-reading, and the hashes it points to come from a previous table whose signature by the
/// same key is checked first. `sign --no-reuse` ignores it.
struct StatCache {
    static let magic = Array("SEXSTATC".utf8)
    static let version: UInt32 = 1

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

    static func load(path: String) -> StatCache? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> StatCache? in
            var reader = ByteReader(raw)
            guard reader.bytes(8).map(Array.init) == magic, reader.integer(UInt32.self) == version,
                  let count = reader.integer(UInt32.self) else { return nil }
            var cache = StatCache()
            // The count comes from an unsigned file: never reserve more than its bytes can hold.
            cache.records.reserveCapacity(min(Int(count), raw.count / 42))
            for _ in 0..<count {
                guard let length = reader.integer(UInt16.self), let name = reader.bytes(Int(length)),
                      let size = reader.integer(UInt64.self), let device = reader.integer(UInt64.self),
                      let inode = reader.integer(UInt64.self), let modified = reader.integer(Int64.self),
                      let changed = reader.integer(Int64.self),
                      let text = String(validating: name, as: UTF8.self) else { return nil }
                let path = RelativePath(uncheckedNormalised: text)
                if let last = cache.records.last, !(last.path < path) { return nil }
                cache.records.append((path, FileIdentity(size: size, device: device, inode: inode,
                                                         modifiedNanoseconds: modified, changedNanoseconds: changed)))
            }
            return reader.atEnd ? cache : nil
        }
    }

    func write(path: String) throws {
        var out = ByteWriter(capacity: 64 + records.count * 100)
        out.bytes(StatCache.magic)
        out.integer(StatCache.version)
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
        try writeAtomically(Data(out.result), to: path)
    }
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
