import Manifest
import Support

/// The signed list of trusted files, held in private memory and read in place: loading checks
/// a fixed header and walks the records once to prove every offset, length, name and ordering
/// sound; nothing is parsed into objects and nothing is allocated per entry.
public final class TrustedTable: Sendable {
    /// One file's record, read out of the table by value.
    public struct Entry: Sendable, Equatable {
        /// Position in the table, 0..<count; also the chunk cache's key for the file.
        public let index: Int
        /// Signed size in bytes.
        public let size: UInt64
        /// Number of chunks of `chunkSize` bytes (the last one may be short).
        public let chunkCount: Int
        /// Signed as a symlink inside the root: open by resolving it, hash the target's bytes.
        public let viaSymlink: Bool
        /// First of this file's hashes in the chunk-hash section; meaningful when chunkCount > 1.
        let firstChunk: Int
    }

    /// Bytes per verified chunk, from the header; `SignedBundle` checks it equals the manifest's.
    public let chunkSize: Int
    /// Number of file entries.
    public let count: Int
    /// Number of directory records (each holds at least one entry).
    public let directoryCount: Int
    /// Stored chunk hashes; files of a single chunk contribute none.
    public let chunkHashCount: Int
    /// Total size of the table in bytes.
    public let byteCount: Int
    /// Where the table came from, for messages.
    public let source: String

    private let memory: TableMemory
    private let directoriesOffset: Int
    private let entriesOffset: Int
    private let chunkHashesOffset: Int
    private let poolOffset: Int

    /// Reads and validates a table file without checking any signature (the signer uses it
    /// for the previous table). Throws `TableError` for an unreadable or malformed table.
    public static func load(path: String) throws(TableError) -> TrustedTable {
        let memory: TableMemory
        do {
            memory = try TableMemory.readDigesting(path: path, limit: TableLayout.maxTableBytes).memory
        } catch {
            throw TableError(source: path, problem: .unreadable(error.reason))
        }
        return try TrustedTable(memory: memory, source: path)
    }

    /// For tests, the fuzzer and tables already in memory.
    public convenience init(bytes: some Collection<UInt8>, source: String = "table") throws(TableError) {
        let memory: TableMemory
        do { memory = try TableMemory(copying: bytes) } catch { throw TableError(source: source, problem: .unreadable(error.reason)) }
        try self.init(memory: memory, source: source)
    }

    init(memory: TableMemory, source: String) throws(TableError) {
        let header = try HeaderFields(memory, source: source)
        self.memory = memory
        self.source = source
        chunkSize = header.chunkSize
        count = header.entryCount
        directoryCount = header.directoryCount
        chunkHashCount = header.chunkHashCount
        byteCount = memory.count
        directoriesOffset = header.directoriesOffset
        entriesOffset = header.entriesOffset
        chunkHashesOffset = header.chunkHashesOffset
        poolOffset = header.poolOffset
        try validateRecords(poolLength: header.poolLength)
    }

    /// The table's bytes, for the measurement.
    public func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R { try body(memory.all) }

    // MARK: Lookup

    /// Binary search over directories, then over the directory's file names; O(log n), no
    /// allocation. `path` must be normalised (see `RelativePath`).
    public func lookup(_ path: RelativePath) -> Entry? { lookup(normalised: path.string) }

    /// As `lookup(_:)` for text already in normalised form; an unnormalised string simply
    /// finds nothing.
    public func lookup(normalised path: String) -> Entry? {
        var path = path
        return path.withUTF8 { whole -> Entry? in
            let raw = UnsafeRawBufferPointer(whole)
            var slash = raw.count - 1
            while slash >= 0 && raw[slash] != UInt8(ascii: "/") { slash -= 1 }
            let directory = slash >= 0 ? UnsafeRawBufferPointer(rebasing: raw[..<slash]) : UnsafeRawBufferPointer(start: nil, count: 0)
            let name = UnsafeRawBufferPointer(rebasing: raw[(slash + 1)...])
            guard let directoryIndex = binarySearch(count: directoryCount, target: directory, key: directoryName) else { return nil }
            let first = Int(memory.load(UInt32.self, at: directoryRecord(directoryIndex) + TableLayout.Directory.firstEntry))
            let entries = Int(memory.load(UInt32.self, at: directoryRecord(directoryIndex) + TableLayout.Directory.entryCount))
            guard let found = binarySearch(count: entries, target: name, key: { self.entryName(first + $0) }) else { return nil }
            return entry(at: first + found)
        }
    }

    /// The entry at `index` in table order; traps if `index` is not in 0..<count.
    public func entry(at index: Int) -> Entry {
        precondition(index >= 0 && index < count, "entry index out of range")
        let record = entryRecord(index)
        let size = memory.load(UInt64.self, at: record + TableLayout.Entry.size)
        let flags = memory.load(UInt16.self, at: record + TableLayout.Entry.flags)
        return Entry(
            index: index, size: size, chunkCount: chunkCount(forSize: size)!,
            viaSymlink: flags & TableLayout.Flags.viaSymlink != 0,
            firstChunk: Int(memory.load(UInt32.self, at: record + TableLayout.Entry.firstChunk)))
    }

    /// The entry's path; allocates, so meant for listings and messages, not lookups.
    public func path(of entry: Entry) -> String {
        let directory = String(decoding: directoryName(directoryIndex(containing: entry.index)), as: UTF8.self)
        let name = String(decoding: entryName(entry.index), as: UTF8.self)
        return directory.isEmpty ? name : directory + "/" + name
    }

    /// The entry's signed root hash (32 bytes), copied out of the table: listings and
    /// messages. Checks use `rootHashMatches`, which copies nothing.
    public func rootHash(of entry: Entry) -> [UInt8] { Array(rootHashBytes(entry)) }

    /// The stored hash of one chunk, copied out; nil for a file of a single chunk, whose root
    /// hash is checked instead.
    public func chunkHash(of entry: Entry, chunk: Int) -> [UInt8]? { chunkHashBytes(entry, chunk).map { Array($0) } }

    /// Whether `digest` is the entry's signed root hash.
    public func rootHashMatches(of entry: Entry, _ digest: some Sequence<UInt8>) -> Bool {
        rootHashBytes(entry).elementsEqual(digest)
    }

    /// Whether `digest` is the stored hash of `chunk`; nil for a file of a single chunk.
    public func chunkHashMatches(of entry: Entry, chunk: Int, _ digest: some Sequence<UInt8>) -> Bool? {
        chunkHashBytes(entry, chunk)?.elementsEqual(digest)
    }

    // The views below point into the table's memory; they stay inside this type's methods
    // and never reach a caller, so they cannot outlive the table.
    private func rootHashBytes(_ entry: Entry) -> UnsafeRawBufferPointer {
        memory.bytes(at: entryRecord(entry.index) + TableLayout.Entry.rootHash, count: TableLayout.hashSize)
    }

    private func chunkHashBytes(_ entry: Entry, _ chunk: Int) -> UnsafeRawBufferPointer? {
        precondition(chunk >= 0 && chunk < entry.chunkCount, "chunk index out of range")
        guard entry.chunkCount > 1 else { return nil }
        return memory.bytes(at: chunkHashesOffset + (entry.firstChunk + chunk) * TableLayout.hashSize, count: TableLayout.hashSize)
    }

    /// Every entry in table order (by directory, then name), built lazily on access.
    public var entries: some RandomAccessCollection<Entry> { (0..<count).lazy.map { self.entry(at: $0) } }

    func chunkCount(forSize size: UInt64) -> Int? {
        let chunks = size / UInt64(chunkSize) + (size % UInt64(chunkSize) == 0 ? 0 : 1)
        return chunks < UInt64(UInt32.max) ? Int(chunks) : nil
    }

    // MARK: Records

    private func directoryRecord(_ index: Int) -> Int { directoriesOffset + index * TableLayout.directorySize }
    private func entryRecord(_ index: Int) -> Int { entriesOffset + index * TableLayout.entrySize }

    private func directoryName(_ index: Int) -> UnsafeRawBufferPointer {
        let record = directoryRecord(index)
        return memory.bytes(
            at: poolOffset + Int(memory.load(UInt32.self, at: record + TableLayout.Directory.nameOffset)),
            count: Int(memory.load(UInt32.self, at: record + TableLayout.Directory.nameLength)))
    }

    private func entryName(_ index: Int) -> UnsafeRawBufferPointer {
        let record = entryRecord(index)
        return memory.bytes(
            at: poolOffset + Int(memory.load(UInt32.self, at: record + TableLayout.Entry.nameOffset)),
            count: Int(memory.load(UInt16.self, at: record + TableLayout.Entry.nameLength)))
    }

    private func directoryFirstEntry(_ index: Int) -> Int {
        Int(memory.load(UInt32.self, at: directoryRecord(index) + TableLayout.Directory.firstEntry))
    }

    private func directoryIndex(containing entryIndex: Int) -> Int {
        var low = 0
        var high = directoryCount - 1
        while low < high {
            let middle = (low + high + 1) / 2
            let first = Int(memory.load(UInt32.self, at: directoryRecord(middle) + TableLayout.Directory.firstEntry))
            if first <= entryIndex { low = middle } else { high = middle - 1 }
        }
        return low
    }

    private func binarySearch(count: Int, target: UnsafeRawBufferPointer, key: (Int) -> UnsafeRawBufferPointer) -> Int? {
        var low = 0
        var high = count
        while low < high {
            let middle = (low + high) / 2
            let order = compareBytes(key(middle), target)
            if order == 0 { return middle }
            if order < 0 { low = middle + 1 } else { high = middle }
        }
        return nil
    }

    // MARK: Validation

    /// One pass over all records. After it, every offset and length the accessors use is known
    /// to lie inside its section, names are valid path components, and order is strict (so
    /// duplicates are impossible and binary search is correct).
    private func validateRecords(poolLength: Int) throws(TableError) {
        func fail(_ problem: TableError.Problem) -> TableError { TableError(source: source, problem: problem) }
        // The pool holds directory names then file names, each starting where the last ended.
        var poolCursor = 0
        var expectedFirstEntry = 0
        var previousDirectory: UnsafeRawBufferPointer?
        for index in 0..<directoryCount {
            let record = directoryRecord(index)
            let nameOffset = Int(memory.load(UInt32.self, at: record + TableLayout.Directory.nameOffset))
            let nameLength = Int(memory.load(UInt32.self, at: record + TableLayout.Directory.nameLength))
            let firstEntry = Int(memory.load(UInt32.self, at: record + TableLayout.Directory.firstEntry))
            let entries = Int(memory.load(UInt32.self, at: record + TableLayout.Directory.entryCount))
            guard nameOffset == poolCursor, nameLength <= poolLength - poolCursor else {
                throw fail(
                    .badDirectory(
                        index: index,
                        reason:
                            "name range \(nameOffset)+\(nameLength) is not the next \(nameLength) bytes of the \(poolLength)-byte string pool (expected offset \(poolCursor))"
                    ))
            }
            poolCursor += nameLength
            let name = memory.bytes(at: poolOffset + nameOffset, count: nameLength)
            if let reason = TrustedTable.directoryNameProblem(name, isFirst: index == 0) {
                throw fail(.badDirectory(index: index, reason: reason))
            }
            if let previousDirectory, compareBytes(previousDirectory, name) >= 0 {
                throw fail(
                    compareBytes(previousDirectory, name) == 0
                        ? .duplicatePath(String(decoding: name, as: UTF8.self) + "/")
                        : .unsorted(what: "directory \(index) \"\(String(decoding: name, as: UTF8.self))\""))
            }
            previousDirectory = name
            guard firstEntry == expectedFirstEntry, entries > 0, entries <= count - expectedFirstEntry else {
                throw fail(
                    .badDirectory(
                        index: index,
                        reason:
                            "claims entries \(firstEntry)..<\(firstEntry + entries), but the next unclaimed entry is \(expectedFirstEntry) of \(count) and a directory holds at least one"
                    ))
            }
            expectedFirstEntry += entries
        }
        guard expectedFirstEntry == count else {
            throw fail(.badHeader(field: "entry count", reason: "header says \(count) entries but directories account for \(expectedFirstEntry)"))
        }

        // Entries are checked in ranges on all cores. A range cannot know where the previous
        // one ended, so it starts from what its first entry claims and reports where it ended;
        // the claims are then checked against each other in order. Every read inside a range
        // is bounds-checked against the whole section, so a false claim costs nothing but the
        // error it leads to.
        let ranges = count < 4096 ? [0..<count] : stride(from: 0, to: count, by: (count + 7) / 8).map { $0..<min(count, $0 + (count + 7) / 8) }
        let outcomes = Parallel.map(ranges.count) { index in
            Result { () throws(TableError) in try self.validateEntries(ranges[index], poolLength: poolLength) }
        }
        var nextChunk = 0
        for (range, outcome) in zip(ranges, outcomes) {
            let summary = try outcome.get()
            guard summary.poolStart == poolCursor else {
                throw fail(
                    .badEntry(index: range.lowerBound, reason: "name starts at pool offset \(summary.poolStart), but the previous name ends at \(poolCursor)"))
            }
            if let claimed = summary.chunkStart {
                guard claimed == nextChunk else {
                    throw fail(.badEntry(index: range.lowerBound, reason: "chunk hashes start at \(claimed), but the previous file's end at \(nextChunk)"))
                }
                nextChunk = summary.chunkEnd
            }
            poolCursor = summary.poolEnd
            if range.lowerBound > 0 {
                try checkOrder(range.lowerBound - 1, range.lowerBound)
            }
        }
        guard nextChunk == chunkHashCount else {
            throw fail(.badHeader(field: "chunk hash count", reason: "header says \(chunkHashCount) but entries use \(nextChunk)"))
        }
        guard poolCursor == poolLength else {
            throw fail(.badHeader(field: "string pool length", reason: "\(poolLength) bytes but names use \(poolCursor)"))
        }
    }

    private struct RangeSummary {
        var poolStart: Int
        var poolEnd: Int
        /// The first chunk the range's first multi-chunk file claims; nil if it has none.
        var chunkStart: Int?
        var chunkEnd: Int
    }

    private func validateEntries(_ range: Range<Int>, poolLength: Int) throws(TableError) -> RangeSummary {
        func fail(_ problem: TableError.Problem) -> TableError { TableError(source: source, problem: problem) }
        guard !range.isEmpty else { return RangeSummary(poolStart: 0, poolEnd: 0, chunkStart: nil, chunkEnd: 0) }
        let poolStart = Int(memory.load(UInt32.self, at: entryRecord(range.lowerBound) + TableLayout.Entry.nameOffset))
        guard poolStart <= poolLength else {
            throw fail(.badEntry(index: range.lowerBound, reason: "name offset \(poolStart) is past the \(poolLength)-byte string pool"))
        }
        var poolCursor = poolStart
        var chunkStart: Int?
        var nextChunk = 0
        var directory = directoryIndex(containing: range.lowerBound)
        var directoryEnd = directoryFirstEntry(directory) + Int(memory.load(UInt32.self, at: directoryRecord(directory) + TableLayout.Directory.entryCount))
        var previousName: UnsafeRawBufferPointer?
        for index in range {
            if index == directoryEnd {
                directory += 1
                directoryEnd += Int(memory.load(UInt32.self, at: directoryRecord(directory) + TableLayout.Directory.entryCount))
                previousName = nil
            }
            let record = entryRecord(index)
            let size = memory.load(UInt64.self, at: record + TableLayout.Entry.size)
            let firstChunk = Int(memory.load(UInt32.self, at: record + TableLayout.Entry.firstChunk))
            let nameOffset = Int(memory.load(UInt32.self, at: record + TableLayout.Entry.nameOffset))
            let nameLength = Int(memory.load(UInt16.self, at: record + TableLayout.Entry.nameLength))
            let flags = memory.load(UInt16.self, at: record + TableLayout.Entry.flags)
            guard nameOffset == poolCursor, nameLength <= poolLength - poolCursor else {
                throw fail(
                    .badEntry(
                        index: index,
                        reason:
                            "name range \(nameOffset)+\(nameLength) is not the next \(nameLength) bytes of the \(poolLength)-byte string pool (expected offset \(poolCursor))"
                    ))
            }
            poolCursor += nameLength
            let name = memory.bytes(at: poolOffset + nameOffset, count: nameLength)
            if let reason = TrustedTable.fileNameProblem(name) { throw fail(.badEntry(index: index, reason: reason)) }
            if let previousName, compareBytes(previousName, name) >= 0 { try checkOrder(index - 1, index) }
            previousName = name
            guard flags & ~TableLayout.Flags.known == 0 else {
                throw fail(.badEntry(index: index, reason: "unknown flag bits 0x\(String(flags, radix: 16))"))
            }
            guard let chunks = chunkCount(forSize: size) else {
                throw fail(.badEntry(index: index, reason: "size \(size) bytes needs 2^32 or more chunks"))
            }
            if chunks > 1 {
                if chunkStart == nil {
                    guard firstChunk <= chunkHashCount else {
                        throw fail(.badEntry(index: index, reason: "first chunk \(firstChunk) is past the \(chunkHashCount) stored chunk hashes"))
                    }
                    chunkStart = firstChunk
                    nextChunk = firstChunk
                }
                guard firstChunk == nextChunk, chunks <= chunkHashCount - nextChunk else {
                    throw fail(
                        .badEntry(
                            index: index,
                            reason:
                                "chunk hashes \(firstChunk)..<\(firstChunk + chunks) are not the next \(chunks) of \(chunkHashCount) (expected to start at \(nextChunk))"
                        ))
                }
                // The root must be the one these chunk hashes give, so `verify` (roots) and
                // the reader (chunks) can never disagree about a file.
                let hashes = memory.bytes(at: chunkHashesOffset + nextChunk * TableLayout.hashSize, count: chunks * TableLayout.hashSize)
                guard
                    FileHashing.rootHash(size: size, chunkHashes: hashes).elementsEqual(
                        memory.bytes(at: record + TableLayout.Entry.rootHash, count: TableLayout.hashSize))
                else {
                    throw fail(.badEntry(index: index, reason: "root hash does not match its chunk hashes"))
                }
                nextChunk += chunks
            } else if firstChunk != 0 {
                throw fail(.badEntry(index: index, reason: "a file of one chunk has no chunk hashes, but first chunk is \(firstChunk)"))
            }
        }
        return RangeSummary(poolStart: poolStart, poolEnd: poolCursor, chunkStart: chunkStart, chunkEnd: nextChunk)
    }

    /// Two neighbouring entries of the same directory must be in strictly increasing name
    /// order; this names the offender (or the duplicate).
    private func checkOrder(_ left: Int, _ right: Int) throws(TableError) {
        let directory = directoryIndex(containing: right)
        guard directoryIndex(containing: left) == directory else { return }
        let order = compareBytes(entryName(left), entryName(right))
        guard order >= 0 else { return }
        let path = String(decoding: directoryName(directory), as: UTF8.self)
        let full = (path.isEmpty ? "" : path + "/") + String(decoding: entryName(right), as: UTF8.self)
        throw TableError(source: source, problem: order == 0 ? .duplicatePath(full) : .unsorted(what: "entry \(right) \"\(full)\""))
    }

    static func fileNameProblem(_ name: UnsafeRawBufferPointer) -> String? {
        if name.isEmpty { return "empty file name" }
        if name.count > TableLayout.maxNameLength { return "file name longer than \(TableLayout.maxNameLength) bytes" }
        let scanned = scan(name)
        if scanned.slash { return "file name contains '/'" }
        return componentProblem(name, scanned)
    }

    /// Does a name hold a NUL or a '/', and is it all ASCII. Eight bytes at a time: this runs
    /// for every entry at load, so it is most of the validation cost.
    @inline(__always)
    private static func scan(_ bytes: UnsafeRawBufferPointer) -> (nul: Bool, slash: Bool, ascii: Bool) {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        let slashes = ones &* UInt64(UInt8(ascii: "/"))
        // A byte of `word` is zero iff the classic has-zero-byte test flags it.
        @inline(__always) func hasZero(_ word: UInt64) -> Bool { (word &- ones) & ~word & highs != 0 }
        var union: UInt64 = 0
        var nul = false
        var slash = false
        var offset = 0
        while offset + 8 <= bytes.count {
            let word = bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
            union |= word
            nul = nul || hasZero(word)
            slash = slash || hasZero(word ^ slashes)
            offset += 8
        }
        while offset < bytes.count {
            let byte = bytes[offset]
            union |= UInt64(byte)
            nul = nul || byte == 0
            slash = slash || byte == UInt8(ascii: "/")
            offset += 1
        }
        return (nul, slash, union & highs == 0)
    }

    /// The first directory may be the root (empty name); every other is a relative path of
    /// valid components.
    static func directoryNameProblem(_ name: UnsafeRawBufferPointer, isFirst: Bool) -> String? {
        if name.isEmpty { return isFirst ? nil : "empty directory name (only the first directory may be the root)" }
        var start = 0
        for index in 0...name.count where index == name.count || name[index] == UInt8(ascii: "/") {
            let component = UnsafeRawBufferPointer(rebasing: name[start..<index])
            if component.isEmpty { return "directory \"\(String(decoding: name, as: UTF8.self))\" has an empty component" }
            if let problem = componentProblem(component, scan(component)) { return problem }
            start = index + 1
        }
        return nil
    }

    private static func componentProblem(_ bytes: UnsafeRawBufferPointer, _ scanned: (nul: Bool, slash: Bool, ascii: Bool)) -> String? {
        if bytes.count == 1 && bytes[0] == UInt8(ascii: ".") { return "path component \".\"" }
        if bytes.count == 2 && bytes[0] == UInt8(ascii: ".") && bytes[1] == UInt8(ascii: ".") {
            return "path component \"..\" would leave the application root"
        }
        if scanned.nul { return "path contains a NUL byte" }
        if !scanned.ascii && String(validating: bytes, as: UTF8.self) == nil { return "path is not valid UTF-8" }
        return nil
    }
}

/// The fixed header, checked field by field.
private struct HeaderFields {
    let chunkSize: Int
    let directoryCount: Int
    let entryCount: Int
    let chunkHashCount: Int
    let directoriesOffset: Int
    let entriesOffset: Int
    let chunkHashesOffset: Int
    let poolOffset: Int
    let poolLength: Int

    init(_ memory: TableMemory, source: String) throws(TableError) {
        func fail(_ problem: TableError.Problem) -> TableError { TableError(source: source, problem: problem) }
        typealias H = TableLayout.Header
        guard memory.count >= TableLayout.headerSize else { throw fail(.truncatedHeader(bytes: memory.count)) }
        guard memory.bytes(at: H.magic, count: 8).elementsEqual(TableLayout.magic) else { throw fail(.badMagic) }
        let version = memory.load(UInt16.self, at: H.version)
        guard version == TableLayout.version else { throw fail(.unsupportedVersion(version)) }
        guard memory.load(UInt16.self, at: H.headerSize) == TableLayout.headerSize else {
            throw fail(.badHeader(field: "header size", reason: "is \(memory.load(UInt16.self, at: H.headerSize)), version 1 uses \(TableLayout.headerSize)"))
        }
        guard memory.load(UInt32.self, at: H.flags) == 0 else { throw fail(.badHeader(field: "flags", reason: "unknown flags set")) }
        let chunk = memory.load(UInt32.self, at: H.chunkSize)
        guard chunk.nonzeroBitCount == 1, Manifest.chunkSizeRange.contains(Int(chunk)) else {
            throw fail(.badHeader(field: "chunk size", reason: "\(chunk) is not a power of two between 4 KiB and 16 MiB"))
        }
        guard memory.load(UInt32.self, at: H.hashAlgorithm) == TableLayout.hashAlgorithmSHA256 else {
            throw fail(.badHeader(field: "hash algorithm", reason: "\(memory.load(UInt32.self, at: H.hashAlgorithm)) is not 1 (SHA-256)"))
        }
        guard memory.bytes(at: H.reserved.lowerBound, count: H.reserved.count).allSatisfy({ $0 == 0 }) else {
            throw fail(.badHeader(field: "reserved bytes 88..<128", reason: "must be zero"))
        }
        let total = memory.load(UInt64.self, at: H.totalLength)
        guard total == UInt64(memory.count) else {
            throw fail(
                total > UInt64(memory.count)
                    ? .truncated(expected: total, actual: memory.count)
                    : .trailingBytes(expected: total, actual: memory.count))
        }
        chunkSize = Int(chunk)
        directoryCount = Int(memory.load(UInt32.self, at: H.directoryCount))
        entryCount = Int(memory.load(UInt32.self, at: H.entryCount))
        let hashes = memory.load(UInt64.self, at: H.chunkHashCount)
        let length = memory.count

        // Each count must fit in the bytes that are actually there before anything is sized
        // from it: 2^32 entries in a 100-byte file is refused here.
        func checkedSection(_ name: String, at offsetField: Int, expectedOffset: Int, count: UInt64, recordSize: Int) throws(TableError) -> Int {
            let offset = memory.load(UInt64.self, at: offsetField)
            guard offset == UInt64(expectedOffset) else {
                throw fail(
                    offset < UInt64(expectedOffset)
                        ? .overlappingSections(name, offset: offset, previousEnd: expectedOffset)
                        : .badHeader(field: "\(name) offset", reason: "is \(offset), but sections are contiguous and this one starts at \(expectedOffset)"))
            }
            let available = UInt64(length - expectedOffset)
            guard count <= available / UInt64(recordSize) else {
                throw fail(.countTooLarge(name, count: count, recordSize: recordSize, available: available))
            }
            return expectedOffset + Int(count) * recordSize
        }
        directoriesOffset = TableLayout.headerSize
        entriesOffset = try checkedSection(
            "directories", at: H.directoriesOffset, expectedOffset: directoriesOffset,
            count: UInt64(directoryCount), recordSize: TableLayout.directorySize)
        chunkHashesOffset = try checkedSection(
            "entries", at: H.entriesOffset, expectedOffset: entriesOffset,
            count: UInt64(entryCount), recordSize: TableLayout.entrySize)
        poolOffset = try checkedSection(
            "chunk hashes", at: H.chunkHashesOffset, expectedOffset: chunkHashesOffset,
            count: hashes, recordSize: TableLayout.hashSize)
        chunkHashCount = Int(hashes)
        let poolStart = memory.load(UInt64.self, at: H.stringPoolOffset)
        guard poolStart == UInt64(poolOffset) else {
            throw fail(
                poolStart < UInt64(poolOffset)
                    ? .overlappingSections("string pool", offset: poolStart, previousEnd: poolOffset)
                    : .badHeader(field: "string pool offset", reason: "is \(poolStart), but the pool starts right after the chunk hashes at \(poolOffset)"))
        }
        let pool = memory.load(UInt64.self, at: H.stringPoolLength)
        guard pool == UInt64(length - poolOffset) else {
            throw fail(.badHeader(field: "string pool length", reason: "is \(pool), but \(length - poolOffset) bytes follow the chunk hashes"))
        }
        poolLength = Int(pool)
        if directoryCount == 0 && entryCount != 0 {
            throw fail(.badHeader(field: "directory count", reason: "is 0 but there are \(entryCount) entries"))
        }
    }
}

public struct TableError: Error, Equatable, CustomStringConvertible {
    public enum Problem: Equatable, Sendable {
        case unreadable(String)
        case truncatedHeader(bytes: Int)
        case badMagic
        case unsupportedVersion(UInt16)
        case badHeader(field: String, reason: String)
        case truncated(expected: UInt64, actual: Int)
        case trailingBytes(expected: UInt64, actual: Int)
        case overlappingSections(String, offset: UInt64, previousEnd: Int)
        case countTooLarge(String, count: UInt64, recordSize: Int, available: UInt64)
        case badDirectory(index: Int, reason: String)
        case badEntry(index: Int, reason: String)
        case unsorted(what: String)
        case duplicatePath(String)
    }

    public let source: String
    public let problem: Problem

    public var description: String {
        let detail: String
        switch problem {
        case let .unreadable(reason): detail = "cannot read: \(reason)"
        case let .truncatedHeader(bytes): detail = "truncated header: the file has \(bytes) bytes, the header alone needs \(TableLayout.headerSize)"
        case .badMagic: detail = "not a SecureExecutor trusted-file table (wrong magic; expected \"SEXTRUST\")"
        case let .unsupportedVersion(version):
            detail = "format version \(version) is not supported (this build reads version \(TableLayout.version)); sign the app again with this build"
        case let .badHeader(field, reason): detail = "header field \(field) \(reason)"
        case let .truncated(expected, actual): detail = "truncated: the header says \(expected) bytes, the file has \(actual)"
        case let .trailingBytes(expected, actual): detail = "the header says \(expected) bytes, but the file has \(actual) (extra bytes appended)"
        case let .overlappingSections(name, offset, previousEnd):
            detail = "\(name) section at offset \(offset) overlaps the previous section, which ends at \(previousEnd)"
        case let .countTooLarge(name, count, recordSize, available):
            detail = "\(name): count \(count) × \(recordSize) bytes does not fit in the \(available) bytes left in the file"
        case let .badDirectory(index, reason): detail = "directory record \(index): \(reason)"
        case let .badEntry(index, reason): detail = "entry \(index): \(reason)"
        case let .unsorted(what): detail = "records are not sorted at \(what); the table was not written by `secure-executor sign`"
        case let .duplicatePath(path): detail = "path \"\(path)\" appears twice"
        }
        return "\(source): \(detail)"
    }
}

extension TableMemoryError {
    var reason: String {
        switch self {
        case let .cannotOpen(reason): return reason
        case .notRegularFile: return "not a regular file"
        case let .tooLarge(bytes, limit): return "\(bytes) bytes is larger than the \(limit)-byte limit for a table"
        case let .shortRead(expected, got): return "read \(got) of \(expected) bytes (file shrank while reading)"
        case let .outOfMemory(bytes): return "cannot allocate \(bytes) bytes"
        }
    }
}

extension TrustedTable {
    /// The format version this build reads and writes.
    public static var formatVersion: Int { Int(TableLayout.version) }
}
