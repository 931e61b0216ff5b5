import Crypto
import Dispatch
import Manifest
import NIOConcurrencyHelpers
import Support
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Size and hashes of one file as the table stores them.
public struct FileDigest: Sendable, Equatable {
    /// File size in bytes at the time it was hashed.
    public var size: UInt64
    /// 32 bytes per chunk, in order. May be empty for a file of one chunk: the table keeps
    /// only the root hash of such a file.
    public var chunkHashes: [UInt8]
    /// `FileHashing.rootHash` over size and chunk hashes (32 bytes).
    public var rootHash: [UInt8]
}

/// The hash functions the signer, verifier and shield must agree on.
public enum FileHashing {
    /// Plain SHA-256 of `bytes` (32 bytes): a chunk hash, or a manifest hash.
    public static func sha256(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(bufferPointer: bytes)
        return Array(hasher.finalize())
    }

    /// Root = SHA-256(domain ‖ size as u64 LE ‖ chunk hash 0 ‖ chunk hash 1 ‖ …). The size is
    /// bound in so that two files whose chunk lists agree cannot differ in length.
    public static func rootHash(size: UInt64, chunkHashes: UnsafeRawBufferPointer) -> [UInt8] {
        var hasher = SHA256()
        HashDomain.fileRoot.withUnsafeBytes { hasher.update(bufferPointer: $0) }
        withUnsafeBytes(of: size.littleEndian) { hasher.update(bufferPointer: $0) }
        hasher.update(bufferPointer: chunkHashes)
        return Array(hasher.finalize())
    }

    /// The table's digest for the measurement: SHA-256(domain ‖ length ‖ SHA-256 of each 1 MiB
    /// piece), the pieces hashed in parallel so a large table is checked at the speed of all
    /// cores.
    public static func tableDigest(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        let piece = HashDomain.tablePieceSize
        let input = SendableRawBuffer(bytes)
        let digests = Parallel.map(max(1, (bytes.count + piece - 1) / piece)) { index in
            let start = index * piece
            return FileHashing.sha256(UnsafeRawBufferPointer(rebasing: input.buffer[start..<min(start + piece, input.buffer.count)]))
        }
        return tableDigest(pieceDigests: digests, length: bytes.count)
    }

    static func tableDigest(pieceDigests: [[UInt8]], length: Int) -> [UInt8] {
        var hasher = SHA256()
        HashDomain.table.withUnsafeBytes { hasher.update(bufferPointer: $0) }
        withUnsafeBytes(of: UInt64(length).littleEndian) { hasher.update(bufferPointer: $0) }
        for digest in pieceDigests { hasher.update(data: digest) }
        return Array(hasher.finalize())
    }
}

/// Why a file could not be hashed.
public struct HashFailure: Error, Sendable, Equatable, CustomStringConvertible {
    /// The absolute path that was being read.
    public var path: String
    /// Why: it could not be opened, or it shrank while being read.
    public var reason: String
    /// `path: reason`.
    public var description: String { "\(path): \(reason)" }
}

/// Hashes many files on all cores. Work is cut into pieces of at most `piece` chunks, so one
/// large file keeps every core busy as well as many small ones do.
public struct ParallelHasher: Sendable {
    /// One file to hash.
    public struct Job: Sendable {
        /// Absolute path to open (for a symlink, its resolved target).
        public var path: String
        /// The size to hash, from an earlier stat; a file shorter than this fails the job.
        public var size: UInt64
        /// Memberwise.
        public init(path: String, size: UInt64) {
            self.path = path
            self.size = size
        }
    }

    /// Running totals, readable from another thread for a progress display.
    public final class Progress: Sendable {
        /// Files fully hashed (or taken from a previous table) so far.
        public let files = Atomic<Int>(0)
        /// Bytes hashed (or reused) so far.
        public let bytes = Atomic<Int>(0)
        /// Both counters at zero.
        public init() {}
    }

    /// Bytes per chunk hash; must equal the table's chunk size.
    public let chunkSize: Int
    /// Threads used; at least 1.
    public let workers: Int
    /// Chunks read and hashed per unit of work.
    let piece: Int

    /// Work units are about 4 MiB (at least one chunk); `workers` below 1 is treated as 1.
    public init(chunkSize: Int, workers: Int = ProcessInfoCores.count) {
        self.chunkSize = chunkSize
        self.workers = max(1, workers)
        self.piece = max(1, (4 << 20) / chunkSize)
    }

    /// One result per job, in the order given. Blocks until every job is done; a file that
    /// cannot be opened or is shorter than `size` gives a `HashFailure`, never a throw.
    public func hash(_ jobs: [Job], progress: Progress? = nil) -> [Result<FileDigest, HashFailure>] {
        // Units: (job, first chunk, chunk count). Chunk hashes land in one shared buffer at
        // fixed slots, so units never write to the same bytes.
        var unitJob: [Int32] = []
        var unitFirst: [Int] = []
        var hashOffset: [Int] = []
        var totalChunks = 0
        for (index, job) in jobs.enumerated() {
            let chunks = Int((job.size + UInt64(chunkSize) - 1) / UInt64(chunkSize))
            hashOffset.append(totalChunks)
            var first = 0
            repeat {
                unitJob.append(Int32(index))
                unitFirst.append(first)
                first += piece
            } while first < chunks
            totalChunks += chunks
        }
        let hashes = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, totalChunks * 32), alignment: 8)
        defer { hashes.deallocate() }
        let output = SendableBuffer(hashes)
        let failures = NIOLockedValueBox<[Int: String]>([:])
        let nextUnit = Atomic<Int>(0)
        let unitCount = unitJob.count
        let chunkSize = self.chunkSize
        let piece = self.piece
        let unitJobs = unitJob
        let unitFirsts = unitFirst
        let offsets = hashOffset

        DispatchQueue.concurrentPerform(iterations: min(workers, max(1, unitCount))) { _ in
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: piece * chunkSize, alignment: 4096)
            defer { buffer.deallocate() }
            var openIndex = -1
            var fd: Int32 = -1
            defer { if fd >= 0 { close(fd) } }
            while true {
                let unit = nextUnit.add(1, ordering: .relaxed).oldValue
                guard unit < unitCount else { break }
                let jobIndex = Int(unitJobs[unit])
                let job = jobs[jobIndex]
                if openIndex != jobIndex {
                    if fd >= 0 { close(fd) }
                    fd = open(job.path, O_RDONLY | O_CLOEXEC)
                    openIndex = jobIndex
                    if fd < 0 {
                        let reason = "cannot open: \(String(cString: strerror(errno)))"
                        failures.withLockedValue { $0[jobIndex] = reason }
                    }
                }
                guard fd >= 0 else { continue }
                let firstChunk = unitFirsts[unit]
                let start = UInt64(firstChunk) * UInt64(chunkSize)
                let length = Int(min(UInt64(piece * chunkSize), job.size - min(job.size, start)))
                let filled = DescriptorIO.readFully(fd, into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<length]), at: start)
                guard case .success = filled else {
                    failures.withLockedValue { $0[jobIndex] = "shrank while being hashed (expected \(job.size) bytes); sign again once it is stable" }
                    continue
                }
                var offset = 0
                var chunk = firstChunk
                while offset < length {
                    let end = min(offset + chunkSize, length)
                    var hasher = SHA256()
                    hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: buffer[offset..<end]))
                    hasher.finalize().withUnsafeBytes { output.copy($0, to: (offsets[jobIndex] + chunk) * 32) }
                    offset = end
                    chunk += 1
                }
                progress?.bytes.add(length, ordering: .relaxed)
                if firstChunk + piece >= Int((job.size + UInt64(chunkSize) - 1) / UInt64(chunkSize)) {
                    progress?.files.add(1, ordering: .relaxed)
                }
            }
        }

        let failed = failures.withLockedValue { $0 }
        return jobs.indices.map { index in
            if let reason = failed[index] { return .failure(HashFailure(path: jobs[index].path, reason: reason)) }
            let chunks = Int((jobs[index].size + UInt64(chunkSize) - 1) / UInt64(chunkSize))
            let slice = UnsafeRawBufferPointer(rebasing: hashes[(offsets[index] * 32)..<((offsets[index] + chunks) * 32)])
            return .success(
                FileDigest(
                    size: jobs[index].size, chunkHashes: Array(slice),
                    rootHash: FileHashing.rootHash(size: jobs[index].size, chunkHashes: slice)))
        }
    }
}

/// The default worker count for hashing.
public enum ProcessInfoCores {
    /// Online processors as the kernel reports them now; at least 1.
    public static var count: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }
}
