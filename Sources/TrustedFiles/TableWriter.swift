import Manifest

/// One file as the signer hands it to the writer.
public struct TableFile: Sendable {
    /// The path the entry is stored under; must be unique within one table.
    public var path: RelativePath
    /// Size and hashes; the chunk hash count must match the size and chunk size.
    public var digest: FileDigest
    /// Recorded as a flag so the runtime resolves the link (within the root) to open it.
    public var viaSymlink: Bool

    /// Memberwise.
    public init(path: RelativePath, digest: FileDigest, viaSymlink: Bool) {
        self.path = path
        self.digest = digest
        self.viaSymlink = viaSymlink
    }
}

/// Why the files cannot be written as a table; each case names the offending path or record kind.
public enum TableWriterError: Error, Equatable, CustomStringConvertible {
    case nameTooLong(String)
    case duplicatePath(String)
    case tooManyRecords(String)
    case digestMismatch(String)

    /// One line for the user, starting with the path where there is one.
    public var description: String {
        switch self {
        case let .nameTooLong(path): return "\(path): file name is longer than \(TableLayout.maxNameLength) bytes"
        case let .duplicatePath(path): return "\(path): listed twice"
        case let .tooManyRecords(what): return "too many \(what) for one table (the format counts them in 32 bits)"
        case let .digestMismatch(path): return "\(path): chunk hash count does not match its size"
        }
    }
}

/// Serialises files into the table format (see TableLayout and docs/FORMAT.md). Deterministic:
/// the same files give the same bytes, whatever order they come in.
public enum TableWriter {
    /// The table bytes for `files`, hashed with `chunkSize`-byte chunks. Throws on a duplicate
    /// path, a name over `TableLayout.maxNameLength`, a digest that does not fit, or 32-bit overflow.
    public static func serialise(_ files: [TableFile], chunkSize: Int) throws(TableWriterError) -> [UInt8] {
        // Order by (directory, name), bytewise. "directory NUL name" sorts exactly that way,
        // because NUL cannot occur in a path and sorts below every other byte.
        var keys: [[UInt8]] = []
        keys.reserveCapacity(files.count)
        var nameStart: [Int] = []
        nameStart.reserveCapacity(files.count)
        for file in files {
            let (directory, name) = file.path.directoryAndName
            guard name.utf8.count <= TableLayout.maxNameLength else { throw .nameTooLong(file.path.string) }
            var key = Array(directory.utf8)
            key.append(0)
            nameStart.append(key.count)
            key.append(contentsOf: name.utf8)
            keys.append(key)
        }
        let order = files.indices.sorted { keys[$0].lexicographicallyPrecedes(keys[$1]) }
        for (previous, next) in zip(order, order.dropFirst()) where keys[previous] == keys[next] {
            throw .duplicatePath(files[next].path.string)
        }
        // Directories: runs of equal directory bytes in that order.
        var directoryRecords: [(key: Int, first: Int, count: Int)] = []
        for (position, index) in order.enumerated() {
            if let last = directoryRecords.last, keys[last.key][..<(nameStart[last.key] - 1)] == keys[index][..<(nameStart[index] - 1)] {
                directoryRecords[directoryRecords.count - 1].count += 1
            } else {
                directoryRecords.append((index, position, 1))
            }
        }
        guard directoryRecords.count <= Int(UInt32.max), files.count <= Int(UInt32.max) else { throw .tooManyRecords("files") }

        var chunkHashCount = 0
        for file in files {
            let chunks = (file.digest.size + UInt64(chunkSize) - 1) / UInt64(chunkSize)
            let given = UInt64(file.digest.chunkHashes.count / TableLayout.hashSize)
            // Files of one chunk need only their root hash, so their chunk list may be empty.
            guard given == chunks || (chunks <= 1 && given == 0), file.digest.rootHash.count == TableLayout.hashSize else {
                throw .digestMismatch(file.path.string)
            }
            if chunks > 1 { chunkHashCount += Int(chunks) }
        }
        guard chunkHashCount <= Int(UInt32.max) else { throw .tooManyRecords("chunks") }

        let directoryNameBytes = directoryRecords.reduce(0) { $0 + nameStart[$1.key] - 1 }
        let fileNameBytes = order.reduce(0) { $0 + keys[$1].count - nameStart[$1] }
        let directoriesOffset = TableLayout.headerSize
        let entriesOffset = directoriesOffset + directoryRecords.count * TableLayout.directorySize
        let hashesOffset = entriesOffset + files.count * TableLayout.entrySize
        let poolOffset = hashesOffset + chunkHashCount * TableLayout.hashSize
        let poolLength = directoryNameBytes + fileNameBytes
        guard poolLength <= Int(UInt32.max) else { throw .tooManyRecords("name bytes") }

        var out = ByteWriter(capacity: poolOffset + poolLength)
        out.bytes(TableLayout.magic)
        out.integer(TableLayout.version)
        out.integer(UInt16(TableLayout.headerSize))
        out.integer(UInt32(0))
        out.integer(UInt32(chunkSize))
        out.integer(TableLayout.hashAlgorithmSHA256)
        out.integer(UInt32(directoryRecords.count))
        out.integer(UInt32(files.count))
        out.integer(UInt64(chunkHashCount))
        for offset in [directoriesOffset, entriesOffset, hashesOffset, poolOffset, poolLength, poolOffset + poolLength] {
            out.integer(UInt64(offset))
        }
        out.zeros(TableLayout.headerSize - out.count)

        var poolCursor = 0
        for directory in directoryRecords {
            let length = nameStart[directory.key] - 1
            out.integer(UInt32(poolCursor))
            out.integer(UInt32(length))
            out.integer(UInt32(directory.first))
            out.integer(UInt32(directory.count))
            poolCursor += length
        }
        var nextChunk = 0
        for index in order {
            let file = files[index]
            let chunks = Int((file.digest.size + UInt64(chunkSize) - 1) / UInt64(chunkSize))
            let nameLength = keys[index].count - nameStart[index]
            out.integer(file.digest.size)
            out.bytes(file.digest.rootHash)
            out.integer(UInt32(chunks > 1 ? nextChunk : 0))
            out.integer(UInt32(poolCursor))
            out.integer(UInt16(nameLength))
            out.integer(file.viaSymlink ? TableLayout.Flags.viaSymlink : 0)
            if chunks > 1 { nextChunk += chunks }
            poolCursor += nameLength
        }
        for index in order where files[index].digest.chunkHashes.count > TableLayout.hashSize {
            out.bytes(files[index].digest.chunkHashes)
        }
        for directory in directoryRecords { out.bytes(keys[directory.key][..<(nameStart[directory.key] - 1)]) }
        for index in order { out.bytes(keys[index][nameStart[index]...]) }
        precondition(out.count == poolOffset + poolLength, "table layout arithmetic disagrees with what was written")
        return out.result
    }
}

/// Little-endian appender; shared by the writers of the table and the stat cache.
struct ByteWriter {
    private(set) var result: [UInt8] = []
    init(capacity: Int) { result.reserveCapacity(capacity) }
    var count: Int { result.count }
    mutating func integer<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value.littleEndian) { result.append(contentsOf: $0) } }
    mutating func bytes(_ bytes: some Collection<UInt8>) { result.append(contentsOf: bytes) }
    mutating func zeros(_ count: Int) { result.append(contentsOf: repeatElement(0, count: count)) }
}
