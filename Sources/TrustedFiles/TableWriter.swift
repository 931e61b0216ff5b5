import Manifest

/// One file as the signer hands it to the writer.
public struct TableFile: Sendable {
    public var path: RelativePath
    public var digest: FileDigest
    public var viaSymlink: Bool

    public init(path: RelativePath, digest: FileDigest, viaSymlink: Bool) {
        self.path = path
        self.digest = digest
        self.viaSymlink = viaSymlink
    }
}

public enum TableWriterError: Error, Equatable, CustomStringConvertible {
    case nameTooLong(String)
    case duplicatePath(String)
    case tooManyRecords(String)
    case digestMismatch(String)

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
    public static func serialise(_ files: [TableFile], chunkSize: Int) throws(TableWriterError) -> [UInt8] {
        // Group by directory; directories sorted bytewise, names bytewise within each.
        var byDirectory: [String: [(name: String, file: TableFile)]] = [:]
        for file in files {
            let (directory, name) = file.path.directoryAndName
            guard name.utf8.count <= TableLayout.maxNameLength else { throw .nameTooLong(file.path.string) }
            byDirectory[String(directory), default: []].append((String(name), file))
        }
        let directories = byDirectory.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        var ordered: [(name: String, file: TableFile)] = []
        ordered.reserveCapacity(files.count)
        var directoryRecords: [(name: String, first: Int, count: Int)] = []
        for directory in directories {
            let members = byDirectory[directory]!.sorted { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
            for (previous, next) in zip(members, members.dropFirst()) where previous.name == next.name {
                throw .duplicatePath(next.file.path.string)
            }
            directoryRecords.append((directory, ordered.count, members.count))
            ordered.append(contentsOf: members)
        }
        guard directoryRecords.count <= Int(UInt32.max), ordered.count <= Int(UInt32.max) else { throw .tooManyRecords("files") }

        var chunkHashCount = 0
        for (_, file) in ordered {
            let chunks = (file.digest.size + UInt64(chunkSize) - 1) / UInt64(chunkSize)
            let given = UInt64(file.digest.chunkHashes.count / TableLayout.hashSize)
            // Files of one chunk need only their root hash, so their chunk list may be empty.
            guard given == chunks || (chunks <= 1 && given == 0), file.digest.rootHash.count == TableLayout.hashSize else {
                throw .digestMismatch(file.path.string)
            }
            if chunks > 1 { chunkHashCount += Int(chunks) }
        }
        guard chunkHashCount <= Int(UInt32.max) else { throw .tooManyRecords("chunks") }

        let directoriesOffset = TableLayout.headerSize
        let entriesOffset = directoriesOffset + directoryRecords.count * TableLayout.directorySize
        let hashesOffset = entriesOffset + ordered.count * TableLayout.entrySize
        let poolOffset = hashesOffset + chunkHashCount * TableLayout.hashSize
        let poolLength = directoryRecords.reduce(0) { $0 + $1.name.utf8.count } + ordered.reduce(0) { $0 + $1.name.utf8.count }
        guard poolLength <= Int(UInt32.max) else { throw .tooManyRecords("name bytes") }

        var out = ByteWriter(capacity: poolOffset + poolLength)
        typealias H = TableLayout.Header
        out.bytes(TableLayout.magic)
        out.integer(TableLayout.version)
        out.integer(UInt16(TableLayout.headerSize))
        out.integer(UInt32(0))
        out.integer(UInt32(chunkSize))
        out.integer(TableLayout.hashAlgorithmSHA256)
        out.integer(UInt32(directoryRecords.count))
        out.integer(UInt32(ordered.count))
        out.integer(UInt64(chunkHashCount))
        for offset in [directoriesOffset, entriesOffset, hashesOffset, poolOffset, poolLength, poolOffset + poolLength] {
            out.integer(UInt64(offset))
        }
        out.zeros(TableLayout.headerSize - out.count)

        var poolCursor = 0
        for directory in directoryRecords {
            out.integer(UInt32(poolCursor))
            out.integer(UInt32(directory.name.utf8.count))
            out.integer(UInt32(directory.first))
            out.integer(UInt32(directory.count))
            poolCursor += directory.name.utf8.count
        }
        var nextChunk = 0
        for (name, file) in ordered {
            let chunks = Int((file.digest.size + UInt64(chunkSize) - 1) / UInt64(chunkSize))
            out.integer(file.digest.size)
            out.bytes(file.digest.rootHash)
            out.integer(UInt32(chunks > 1 ? nextChunk : 0))
            out.integer(UInt32(poolCursor))
            out.integer(UInt16(name.utf8.count))
            out.integer(file.viaSymlink ? TableLayout.Flags.viaSymlink : 0)
            if chunks > 1 { nextChunk += chunks }
            poolCursor += name.utf8.count
        }
        for (_, file) in ordered where file.digest.chunkHashes.count > TableLayout.hashSize {
            out.bytes(file.digest.chunkHashes)
        }
        for directory in directoryRecords { out.bytes(Array(directory.name.utf8)) }
        for (name, _) in ordered { out.bytes(Array(name.utf8)) }
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
    mutating func bytes(_ bytes: [UInt8]) { result.append(contentsOf: bytes) }
    mutating func zeros(_ count: Int) { result.append(contentsOf: repeatElement(0, count: count)) }
}
