/// Byte layout of the trusted-file table (`APP.trusted`). docs/FORMAT.md is the prose version
/// of this file; keep the two in step.
///
/// All integers are little-endian. Sections follow the header back to back in this order, so
/// no two can overlap and every offset can be checked against the previous section's end:
///
///     header        128 bytes
///     directories   16 bytes × directoryCount   sorted by directory path (bytewise)
///     entries       52 bytes × entryCount       grouped by directory, sorted by name within it
///     chunk hashes  32 bytes × chunkHashCount   only for files of two or more chunks
///     string pool   directory paths, then file names, in record order, no terminators
enum TableLayout {
    static let magic: [UInt8] = Array("SEXTRUST".utf8)
    static let version: UInt16 = 1
    static let headerSize = 128
    static let directorySize = 16
    static let entrySize = 52
    static let hashSize = 32
    static let hashAlgorithmSHA256: UInt32 = 1
    /// Longest file name a Linux file system allows (NAME_MAX).
    static let maxNameLength = 255
    /// A table is read whole into private memory; refuse absurd ones before allocating.
    static let maxTableBytes = 1 << 32

    enum Header {
        static let magic = 0, version = 8, headerSize = 10, flags = 12, chunkSize = 16, hashAlgorithm = 20
        static let directoryCount = 24, entryCount = 28, chunkHashCount = 32
        static let directoriesOffset = 40, entriesOffset = 48, chunkHashesOffset = 56
        static let stringPoolOffset = 64, stringPoolLength = 72, totalLength = 80
        static let reserved = 88..<128
    }

    enum Directory {
        static let nameOffset = 0, nameLength = 4, firstEntry = 8, entryCount = 12
    }

    enum Entry {
        static let size = 0, rootHash = 8, firstChunk = 40, nameOffset = 44, nameLength = 48, flags = 50
    }

    enum Flags {
        /// The path was a symlink inside the root; size and hashes are those of its target.
        static let viaSymlink: UInt16 = 1
        static let known: UInt16 = viaSymlink
    }
}

/// Domain-separation prefixes: each hash says what it is a hash of, so a value of one kind can
/// never be replayed as another.
enum HashDomain {
    static let fileRoot = Array("SecureExecutor file root v1\0".utf8)
    static let table = Array("SecureExecutor table v1\0".utf8)
    static let measurement = Array("SecureExecutor measurement v1\0".utf8)
    static let signature = Array("SecureExecutor signature v1\0".utf8)
    /// The table digest hashes the table in pieces of this size (in parallel), then the pieces'
    /// hashes in order.
    static let tablePieceSize = 1 << 20
}
