import Manifest
import Support
import TrustedFiles

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The runtime's only way to open application files. Every path is looked up in the signed
/// table: trusted files are verified chunk by chunk as they are read, files the manifest
/// allows pass through unverified, and anything else is refused.
public final class Shield: Sendable {
    /// How a path may be used: verified through its signed entry, opened unverified, or not at all.
    public enum Access: Sendable, Equatable {
        case trusted(TrustedTable.Entry)
        case allowed
        case refused
    }

    /// The signed table every trusted read is checked against.
    public let table: TrustedTable
    /// Manifest patterns for files that may be opened without verification.
    public let allowed: [PathPattern]
    /// Verified chunks shared by every file opened through this shield.
    public let cache: ChunkCache
    private let beneath: BeneathRoot

    /// Takes the table, root, allowed patterns and cache size from a verified bundle.
    /// Throws `.unreadable` if the application root cannot be opened.
    public convenience init(bundle: SignedBundle) throws(ShieldError) {
        try self.init(
            table: bundle.table, root: bundle.manifest.root, allowed: bundle.manifest.allowed,
            cacheBytes: bundle.manifest.node.chunkCacheBytes)
    }

    /// `cacheBytes` bounds the shared chunk cache. Opens `root` once now; throws `.unreadable`
    /// if it cannot be opened as a directory.
    public init(table: TrustedTable, root: String, allowed: [PathPattern], cacheBytes: Int) throws(ShieldError) {
        self.table = table
        self.allowed = allowed
        self.cache = ChunkCache(capacityBytes: cacheBytes)
        self.beneath = try BeneathRoot(root: root)
    }

    deinit { beneath.close() }

    /// Classifies a path without touching the disk: a signed entry wins over an allowed pattern.
    public func access(_ path: RelativePath) -> Access {
        if let entry = table.lookup(path) { return .trusted(entry) }
        return allowed.contains { $0.covers(path) } ? .allowed : .refused
    }

    /// Opens a trusted file for verified reading. O(1): no byte is read until asked for. A
    /// file whose size on disk differs from the signed size, that is not a regular file, or
    /// that became a symlink, fails here.
    public func openTrusted(_ text: String) throws(ShieldError) -> VerifiedFile {
        let path = try normalise(text)
        guard let entry = table.lookup(path) else {
            throw access(path) == .allowed ? .notTrusted(path: path.string, allowed: true) : .notTrusted(path: path.string, allowed: false)
        }
        let opened = entry.viaSymlink ? beneath.openResolvingSymlink(path) : beneath.open(path, flags: O_RDONLY)
        let fd: Int32
        switch opened {
        case let .success(descriptor): fd = descriptor
        case .failure(.symlink): throw .symlinked(path: path.string)
        case let .failure(.errno(code)):
            throw code == ENOENT ? .missing(path: path.string) : .unreadable(path: path.string, reason: String(cString: strerror(code)))
        }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw .notRegularFile(path: path.string)
        }
        guard UInt64(info.st_size) == entry.size else {
            close(fd)
            throw .sizeMismatch(path: path.string, signed: entry.size, actual: UInt64(info.st_size))
        }
        return VerifiedFile(descriptor: fd, path: path.string, entry: entry, table: table, cache: cache)
    }

    /// Opens a file the manifest allows, unverified (logs, scratch data). The kernel refuses
    /// symlinks on the way, so an allowed path cannot be bent to reach a trusted or outside file.
    public func openAllowed(_ text: String, flags: Int32, mode: mode_t = 0o644) throws(ShieldError) -> Int32 {
        let path = try normalise(text)
        switch access(path) {
        case .trusted: throw .trustedNotWritable(path: path.string)
        case .refused: throw .notTrusted(path: path.string, allowed: false)
        case .allowed:
            switch beneath.open(path, flags: flags, mode: mode) {
            case let .success(fd): return fd
            case .failure(.symlink): throw .symlinked(path: path.string)
            case let .failure(.errno(code)): throw .unreadable(path: path.string, reason: String(cString: strerror(code)))
            }
        }
    }

    private func normalise(_ text: String) throws(ShieldError) -> RelativePath {
        do { return try RelativePath(text, origin: "open") } catch { throw .badPath(error.description) }
    }
}

/// An open trusted file. Each read fetches the chunks it touches into private memory, checks
/// each against its signed hash, and only then copies bytes out; bytes changed on disk after
/// that check can never reach the caller, and bytes changed before it fail the check.
public final class VerifiedFile: Sendable {
    /// The normalised relative path the file was opened by (used in error messages).
    public let path: String
    /// The signed size in bytes; reads never go past it.
    public let size: UInt64
    private let descriptor: Int32
    private let entry: TrustedTable.Entry
    private let table: TrustedTable
    private let cache: ChunkCache

    init(descriptor: Int32, path: String, entry: TrustedTable.Entry, table: TrustedTable, cache: ChunkCache) {
        self.descriptor = descriptor
        self.path = path
        self.entry = entry
        self.size = entry.size
        self.table = table
        self.cache = cache
    }

    deinit { close(descriptor) }

    /// The file's signed root hash: what identifies its content (the module cache's key).
    public var rootHash: [UInt8] { table.rootHash(of: entry) }

    /// Reads up to `buffer.count` bytes at `offset`; returns how many (0 at the signed end).
    /// Chunks not yet verified are read and hashed in parallel when a read spans several.
    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws(ShieldError) -> Int {
        guard offset < size, buffer.count > 0 else { return 0 }
        let chunkSize = UInt64(table.chunkSize)
        let end = min(size, offset + UInt64(buffer.count))
        let first = Int(offset / chunkSize)
        let last = Int((end - 1) / chunkSize)
        var chunks = (first...last).map { cache.get(ChunkCache.Key(entry: entry.index, chunk: $0)) }
        let missing = chunks.indices.filter { chunks[$0] == nil }
        if missing.count == 1 {
            chunks[missing[0]] = try loadVerifiedChunk(first + missing[0])
        } else if missing.count > 1 {
            let outcomes = Parallel.map(missing.count) { index in
                Result { () throws(ShieldError) in try self.loadVerifiedChunk(first + missing[index]) }
            }
            for (index, outcome) in zip(missing, outcomes) { chunks[index] = try outcome.get() }
        }
        var position = offset
        for (index, bytes) in chunks.map({ $0! }).enumerated() {
            let within = Int(position - UInt64(first + index) * chunkSize)
            let take = min(bytes.count - within, Int(end - position))
            bytes.withUnsafeBytes { source in
                UnsafeMutableRawBufferPointer(rebasing: buffer[Int(position - offset)...])
                    .copyMemory(from: UnsafeRawBufferPointer(rebasing: source[within..<(within + take)]))
            }
            position += UInt64(take)
        }
        return Int(end - offset)
    }

    /// Reads up to `count` verified bytes at `offset`; the result is shorter near the signed
    /// end and empty past it. Throws if a chunk is modified, truncated or unreadable.
    public func read(count: Int, at offset: UInt64) throws(ShieldError) -> [UInt8] {
        let available = offset >= size ? 0 : Int(min(UInt64(count), size - offset))
        var result = [UInt8](repeating: 0, count: available)
        let outcome = result.withUnsafeMutableBytes { buffer in Result { () throws(ShieldError) in try read(into: buffer, at: offset) } }
        _ = try outcome.get()
        return result
    }

    /// Reads and verifies the whole file into memory; throws like `read(count:at:)`.
    public func readAll() throws(ShieldError) -> [UInt8] { try read(count: Int(size), at: 0) }

    /// Reads one chunk into fresh private memory, checks it against the table and caches it.
    private func loadVerifiedChunk(_ chunk: Int) throws(ShieldError) -> [UInt8] {
        let chunkSize = table.chunkSize
        let start = UInt64(chunk) * UInt64(chunkSize)
        let length = Int(min(UInt64(chunkSize), size - start))
        var filled: Result<Void, DescriptorIO.Shortfall> = .success(())
        let bytes = [UInt8](unsafeUninitializedCapacity: length) { buffer, initialised in
            filled = DescriptorIO.readFully(descriptor, into: UnsafeMutableRawBufferPointer(buffer), at: start)
            initialised = length
        }
        switch filled {
        case .success: break
        case .failure(.endOfFile): throw .truncated(path: path, chunk: chunk)
        case let .failure(shortfall): throw .unreadable(path: path, reason: "reading chunk \(chunk): \(shortfall.reason)")
        }
        let digest = bytes.withUnsafeBytes(FileHashing.sha256)
        let matches: Bool
        if let chunkMatches = table.chunkHashMatches(of: entry, chunk: chunk, digest) {
            matches = chunkMatches
        } else {
            // One-chunk file: only the root hash is stored; derive it from this chunk.
            let root = digest.withUnsafeBytes { FileHashing.rootHash(size: size, chunkHashes: $0) }
            matches = table.rootHashMatches(of: entry, root)
        }
        guard matches else { throw .modified(path: path, chunk: chunk, chunkCount: entry.chunkCount) }
        cache.insert(ChunkCache.Key(entry: entry.index, chunk: chunk), bytes)
        return bytes
    }
}

/// Why the shield refused or failed to open or read a file. Each case names the path;
/// `description` is the message shown to operators.
public enum ShieldError: Error, Equatable, CustomStringConvertible {
    case badPath(String)
    case notTrusted(path: String, allowed: Bool)
    case trustedNotWritable(path: String)
    case missing(path: String)
    case symlinked(path: String)
    case notRegularFile(path: String)
    case sizeMismatch(path: String, signed: UInt64, actual: UInt64)
    case modified(path: String, chunk: Int, chunkCount: Int)
    case truncated(path: String, chunk: Int)
    case unreadable(path: String, reason: String)

    /// One line naming the path and the reason, suitable for logs and error responses.
    public var description: String {
        switch self {
        case let .badPath(reason): return reason
        case let .notTrusted(path, allowed):
            return allowed
                ? "\(path): is an allowed (unverified) file, not a trusted one; it cannot be used as code or trusted data"
                : "\(path): refused: neither a trusted file in the signed table nor allowed by the manifest"
        case let .trustedNotWritable(path): return "\(path): is a trusted file and cannot be opened for writing"
        case let .missing(path): return "\(path): trusted file is missing on disk"
        case let .symlinked(path): return "\(path): refused: a symlink now stands where the signed file was (or on the way to it)"
        case let .notRegularFile(path): return "\(path): refused: not a regular file"
        case let .sizeMismatch(path, signed, actual):
            return "\(path): refused: size on disk is \(actual) bytes, the signed size is \(signed) bytes (file modified after signing)"
        case let .modified(path, chunk, chunkCount):
            return "\(path): refused: chunk \(chunk) of \(chunkCount) does not match its signed hash (file modified after signing)"
        case let .truncated(path, chunk):
            return "\(path): refused: file became shorter than its signed size while open (at chunk \(chunk))"
        case let .unreadable(path, reason): return "\(path): \(reason)"
        }
    }
}
