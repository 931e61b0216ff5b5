// The unsafe code of this module: the table's private memory, and the buffers that worker
// threads fill in parallel. Everything else reads through these with bounds checks.

import Dispatch
import Support

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Private, read-only memory holding one table's bytes.
///
/// Invariants:
/// - `base` points to `capacity` bytes of anonymous memory owned by this object, of which the
///   first `count` hold the table; after `seal()` the pages are read-only, so nothing in this
///   process can change a table once it has been measured.
/// - The bytes are a private copy, never a mapping of the file: the host can rewrite the file
///   after we hashed it, and a shared or private file mapping could show those writes.
/// - Every accessor checks `offset + width <= count` itself (a precondition, not an
///   assumption about the caller), so a validation bug is a clean stop, never a stray read.
///
/// `@unchecked Sendable`: `base`, `capacity` and `count` are immutable, and the bytes are
/// written only before `seal()`, by the initialiser, before the object is published; after
/// that, every thread only reads.
final class TableMemory: @unchecked Sendable {
    private let base: UnsafeMutableRawPointer
    private let capacity: Int
    let count: Int

    private init(count: Int) throws(TableMemoryError) {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        capacity = max(page, (count + page - 1) / page * page)
        guard let mapped = mmap(nil, capacity, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
            mapped != MAP_FAILED
        else {
            throw .outOfMemory(bytes: count)
        }
        base = mapped
        self.count = count
    }

    deinit { munmap(base, capacity) }

    convenience init(copying bytes: some Collection<UInt8>) throws(TableMemoryError) {
        try self.init(count: bytes.count)
        UnsafeMutableRawBufferPointer(start: base, count: count).copyBytes(from: bytes)
        seal()
    }

    /// Reads the whole file into private memory and returns it with its table digest. Each
    /// core reads a 1 MiB piece and hashes it while it is still in cache.
    static func readDigesting(path: String, limit: Int) throws(TableMemoryError) -> (memory: TableMemory, digest: [UInt8]) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .cannotOpen(reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { throw .notRegularFile }
        let size = Int(info.st_size)
        guard size <= limit else { throw .tooLarge(bytes: size, limit: limit) }
        let memory = try TableMemory(count: size)
        let piece = HashDomain.tablePieceSize
        let target = SendableBuffer(UnsafeMutableRawBufferPointer(start: memory.base, count: size))
        let pieces = Parallel.map(max(1, (size + piece - 1) / piece)) { index -> [UInt8]? in
            let start = index * piece
            let length = min(piece, size - start)
            let slice = UnsafeMutableRawBufferPointer(rebasing: target.buffer[start..<(start + length)])
            guard case .success = DescriptorIO.readFully(fd, into: slice, at: UInt64(start)) else { return nil }
            return FileHashing.sha256(UnsafeRawBufferPointer(rebasing: target.buffer[start..<(start + length)]))
        }
        guard pieces.allSatisfy({ $0 != nil }) else { throw .shortRead(expected: size, got: 0) }
        memory.seal()
        return (memory, FileHashing.tableDigest(pieceDigests: pieces.map { $0! }, length: size))
    }

    /// Read-only from here on; a failure would break the stated invariant, so it is fatal.
    private func seal() { precondition(mprotect(base, capacity, PROT_READ) == 0, "mprotect of table memory failed") }

    @inline(__always)
    func load<T: FixedWidthInteger>(_: T.Type, at offset: Int) -> T {
        precondition(offset >= 0 && offset <= count - MemoryLayout<T>.size, "table read out of range")
        return T(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: T.self))
    }

    @inline(__always)
    func bytes(at offset: Int, count length: Int) -> UnsafeRawBufferPointer {
        precondition(offset >= 0 && length >= 0 && offset <= count - length, "table read out of range")
        return UnsafeRawBufferPointer(start: base + offset, count: length)
    }

    var all: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }
}

enum TableMemoryError: Error {
    case cannotOpen(reason: String)
    case notRegularFile
    case tooLarge(bytes: Int, limit: Int)
    case shortRead(expected: Int, got: Int)
    case outOfMemory(bytes: Int)
}

/// Bytewise comparison of two validated ranges (memcmp, then length).
@inline(__always)
func compareBytes(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Int32 {
    let common = min(a.count, b.count)
    if common > 0, let pa = a.baseAddress, let pb = b.baseAddress {
        let result = memcmp(pa, pb, common)
        if result != 0 { return result }
    }
    return a.count == b.count ? 0 : (a.count < b.count ? -1 : 1)
}

/// Disjoint writes into one buffer from several threads.
///
/// `@unchecked Sendable`: every writer owns its own byte range (see the callers: one range per
/// `Parallel.map` index), and the buffer outlives the workers, since `Parallel.map` returns
/// only after all of them have finished.
struct SendableBuffer: @unchecked Sendable {
    let buffer: UnsafeMutableRawBufferPointer
    init(_ buffer: UnsafeMutableRawBufferPointer) { self.buffer = buffer }
    func copy(_ bytes: UnsafeRawBufferPointer, to offset: Int) {
        UnsafeMutableRawBufferPointer(rebasing: buffer[offset..<(offset + bytes.count)]).copyMemory(from: bytes)
    }
}

/// Read-only bytes shared with worker threads for the duration of one call.
///
/// `@unchecked Sendable`: nobody writes the bytes while the workers read them, and the caller's
/// buffer outlives the call that hands them out (`Parallel.map` returns after every worker).
struct SendableRawBuffer: @unchecked Sendable {
    let buffer: UnsafeRawBufferPointer
    init(_ buffer: UnsafeRawBufferPointer) { self.buffer = buffer }
}
