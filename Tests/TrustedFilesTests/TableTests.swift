import Foundation
import TestSupport
import Testing

@testable import Manifest
@testable import TrustedFiles

/// A table of files with known sizes: single-chunk, multi-chunk and empty files across nested
/// directories and the root.
func sampleTable(chunkSize: Int = 4096) throws -> (bytes: [UInt8], files: [TableFile]) {
    let specs: [(String, Int)] = [
        ("README.txt", 10), ("bin/app", 3 * 4096 + 17), ("bin/lib/a.so", 4096), ("bin/lib/b.so", 0),
        ("data/x.json", 100), ("data/y.json", 2 * 4096), ("z/deep/er/file", 5),
    ]
    let files = try specs.enumerated().map { index, spec in
        let bytes = TemporaryApp.bytes(spec.1, seed: UInt64(index + 1))
        return TableFile(path: try RelativePath(spec.0, origin: "test"), digest: digest(of: bytes, chunkSize: chunkSize), viaSymlink: spec.0 == "bin/lib/b.so")
    }
    return (try TableWriter.serialise(files.reversed(), chunkSize: chunkSize), files)
}

func digest(of bytes: [UInt8], chunkSize: Int) -> FileDigest {
    var hashes: [UInt8] = []
    var offset = 0
    while offset < bytes.count {
        let end = min(offset + chunkSize, bytes.count)
        hashes += bytes[offset..<end].withUnsafeBytes(FileHashing.sha256)
        offset = end
    }
    return FileDigest(
        size: UInt64(bytes.count), chunkHashes: hashes,
        rootHash: hashes.withUnsafeBytes { FileHashing.rootHash(size: UInt64(bytes.count), chunkHashes: $0) })
}

@Suite struct TableRoundTripTests {
    @Test func everyFileIsFoundWithItsHashes() throws {
        let (bytes, files) = try sampleTable()
        let table = try TrustedTable(bytes: bytes)
        #expect(table.count == files.count)
        #expect(table.directoryCount == 5)
        #expect(table.chunkHashCount == 4 + 2)
        for file in files {
            let entry = try #require(table.lookup(file.path), "\(file.path)")
            #expect(table.path(of: entry) == file.path.string)
            #expect(entry.size == file.digest.size)
            #expect(entry.viaSymlink == file.viaSymlink)
            #expect(Array(table.rootHash(of: entry)) == file.digest.rootHash)
            #expect(entry.chunkCount == file.digest.chunkHashes.count / 32)
            if entry.chunkCount > 1 {
                for chunk in 0..<entry.chunkCount {
                    #expect(Array(table.chunkHash(of: entry, chunk: chunk)!) == Array(file.digest.chunkHashes[(chunk * 32)..<(chunk * 32 + 32)]))
                }
            } else if entry.chunkCount == 1 {
                #expect(table.chunkHash(of: entry, chunk: 0) == nil)
            }
        }
        #expect(
            table.entries.map { table.path(of: $0) } == [
                "README.txt", "bin/app", "bin/lib/a.so", "bin/lib/b.so", "data/x.json", "data/y.json", "z/deep/er/file",
            ])
    }

    @Test func missesAreMisses() throws {
        let table = try TrustedTable(bytes: try sampleTable().bytes)
        for miss in ["readme.txt", "bin", "bin/ap", "bin/appx", "bin/lib", "bin/lib/c.so", "data/x.jso", "zz", "z/deep/file", "a", "~"] {
            #expect(table.lookup(normalised: miss) == nil, "\(miss)")
        }
    }

    @Test func writingIsDeterministic() throws {
        let (bytes, files) = try sampleTable()
        #expect(try TableWriter.serialise(files, chunkSize: 4096) == bytes)
        #expect(throws: TableWriterError.duplicatePath("data/x.json")) { try TableWriter.serialise(files + [files[4]], chunkSize: 4096) }
    }

    @Test func emptyTableIsValid() throws {
        let table = try TrustedTable(bytes: try TableWriter.serialise([], chunkSize: 65536))
        #expect(table.count == 0)
        #expect(table.lookup(normalised: "a") == nil)
    }
}

/// Every malformed table gets a specific error and never a crash.
@Suite struct HostileTableTests {
    typealias H = TableLayout.Header

    func problem(_ bytes: [UInt8]) -> TableError.Problem? {
        do {
            _ = try TrustedTable(bytes: bytes, source: "hostile.trusted")
            return nil
        } catch {
            #expect(error.description.hasPrefix("hostile.trusted: "))
            return error.problem
        }
    }

    func patched(_ mutate: (inout [UInt8]) -> Void) throws -> [UInt8] {
        var bytes = try sampleTable().bytes
        mutate(&bytes)
        return bytes
    }

    func put<T: FixedWidthInteger>(_ value: T, at offset: Int, in bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { for (index, byte) in $0.enumerated() { bytes[offset + index] = byte } }
    }

    var layout: (entries: Int, hashes: Int, pool: Int, dirs: Int) {
        get throws {
            let table = try TrustedTable(bytes: try sampleTable().bytes)
            let entries = TableLayout.headerSize + table.directoryCount * TableLayout.directorySize
            let hashes = entries + table.count * TableLayout.entrySize
            return (entries, hashes, hashes + table.chunkHashCount * 32, table.directoryCount)
        }
    }

    @Test func truncatedHeader() throws {
        #expect(problem(Array(try sampleTable().bytes.prefix(100))) == .truncatedHeader(bytes: 100))
        #expect(problem([]) == .truncatedHeader(bytes: 0))
    }

    @Test func wrongMagicAndUnknownVersion() throws {
        #expect(problem(try patched { $0[0] = UInt8(ascii: "X") }) == .badMagic)
        #expect(problem(try patched { put(UInt16(2), at: H.version, in: &$0) }) == .unsupportedVersion(2))
        #expect(
            problem(try patched { put(UInt32(3000), at: H.chunkSize, in: &$0) })
                == .badHeader(field: "chunk size", reason: "3000 is not a power of two between 4 KiB and 16 MiB"))
        #expect(problem(try patched { put(UInt32(2), at: H.hashAlgorithm, in: &$0) }) != nil)
        #expect(problem(try patched { $0[100] = 1 }) == .badHeader(field: "reserved bytes 88..<128", reason: "must be zero"))
    }

    @Test func truncatedOrExtendedFile() throws {
        let bytes = try sampleTable().bytes
        #expect(problem(Array(bytes.dropLast(3))) == .truncated(expected: UInt64(bytes.count), actual: bytes.count - 3))
        #expect(problem(bytes + [0]) == .trailingBytes(expected: UInt64(bytes.count), actual: bytes.count + 1))
    }

    @Test func offsetsOrLengthsPastTheEnd() throws {
        #expect(
            problem(try patched { put(UInt32(1_000_000), at: H.entryCount, in: &$0) })
                == .countTooLarge("entries", count: 1_000_000, recordSize: 52, available: UInt64(try sampleTable().bytes.count - (try layout.entries))))
        #expect(problem(try patched { put(UInt64(1) << 40, at: H.chunkHashesOffset, in: &$0) }) != nil)
        #expect(problem(try patched { put(UInt64(1) << 60, at: H.stringPoolLength, in: &$0) }) != nil)
        // A name pointing past the pool.
        let first = try layout.entries
        #expect(
            problem(try patched { put(UInt16(60000), at: first + TableLayout.Entry.nameLength, in: &$0) })
                .map { if case .badEntry(0, _) = $0 { true } else { false } } == true)
    }

    @Test func overlappingSections() throws {
        let entries = try layout.entries
        #expect(
            problem(try patched { put(UInt64(entries - 16), at: H.entriesOffset, in: &$0) })
                == .overlappingSections("entries", offset: UInt64(entries - 16), previousEnd: entries))
        #expect(
            problem(try patched { put(UInt64(64), at: H.directoriesOffset, in: &$0) })
                == .overlappingSections("directories", offset: 64, previousEnd: 128))
    }

    @Test func unsortedEntriesAndDuplicatePaths() throws {
        // Swap the names of data/x.json and data/y.json inside the pool: same lengths, order broken.
        var bytes = try sampleTable().bytes
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.contains("x.jsony.json"))
        let pool = try layout.pool
        let start = bytes[pool...].firstRange(of: Array("x.jsony.json".utf8))!.lowerBound
        bytes.replaceSubrange(start..<(start + 12), with: Array("y.jsonx.json".utf8))
        #expect(problem(bytes) == .unsorted(what: "entry 5 \"data/x.json\""))
        bytes.replaceSubrange(start..<(start + 12), with: Array("x.jsonx.json".utf8))
        #expect(problem(bytes) == .duplicatePath("data/x.json"))
    }

    @Test func nonUTF8AndDotDotPaths() throws {
        let pool = try layout.pool
        var bytes = try sampleTable().bytes
        let readme = bytes[pool...].firstRange(of: Array("README.txt".utf8))!.lowerBound
        bytes[readme] = 0xFF
        #expect(problem(bytes).map { if case .badEntry(_, "path is not valid UTF-8") = $0 { true } else { false } } == true)
        var exact = try sampleTable().bytes
        let zdir = exact[pool...].firstRange(of: Array("z/deep/er".utf8))!.lowerBound
        exact.replaceSubrange(zdir..<(zdir + 9), with: Array("z/../er/x".utf8))
        #expect(problem(exact) == .badDirectory(index: 4, reason: "path component \"..\" would leave the application root"))
        var named = try sampleTable().bytes
        let dotFile = named[pool...].firstRange(of: Array("README.txt".utf8))!.lowerBound
        // A '/' inside a file name would make its path differ from its directory record.
        named.replaceSubrange(dotFile..<(dotFile + 10), with: Array("README/txt".utf8))
        #expect(problem(named) == .badEntry(index: 0, reason: "file name contains '/'"))
    }

    @Test func rootHashMustMatchChunkHashes() throws {
        let hashes = try layout.hashes
        // Flip a byte of the first stored chunk hash (it belongs to entry 1, bin/app).
        #expect(problem(try patched { $0[hashes] ^= 1 }) == .badEntry(index: 1, reason: "root hash does not match its chunk hashes"))
    }

    @Test func absurdCountsInATinyFile() {
        var bytes = [UInt8](repeating: 0, count: 128)
        bytes.replaceSubrange(0..<8, with: TableLayout.magic)
        put(UInt16(1), at: H.version, in: &bytes)
        put(UInt16(128), at: H.headerSize, in: &bytes)
        put(UInt32(65536), at: H.chunkSize, in: &bytes)
        put(UInt32(1), at: H.hashAlgorithm, in: &bytes)
        put(UInt32.max, at: H.entryCount, in: &bytes)
        put(UInt32.max, at: H.directoryCount, in: &bytes)
        put(UInt64.max, at: H.chunkHashCount, in: &bytes)
        put(UInt64(128), at: H.directoriesOffset, in: &bytes)
        put(UInt64(128), at: H.totalLength, in: &bytes)
        #expect(problem(bytes) == .countTooLarge("directories", count: UInt64(UInt32.max), recordSize: 16, available: 0))
    }

    @Test func randomCorruptionNeverCrashes() throws {
        let original = try sampleTable().bytes
        var state: UInt64 = 0x1234_5678
        var refused = 0
        for _ in 0..<3000 {
            var bytes = original
            for _ in 0..<(1 + Int(state % 4)) {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                bytes[Int(state >> 33) % bytes.count] ^= UInt8(truncatingIfNeeded: state >> 20) | 1
            }
            if let table = try? TrustedTable(bytes: bytes) {
                // Whatever survives validation must be safe to use in full.
                for entry in table.entries {
                    _ = table.lookup(normalised: table.path(of: entry))
                    for chunk in 0..<min(entry.chunkCount, 8) { _ = table.chunkHash(of: entry, chunk: chunk) }
                }
            } else {
                refused += 1
            }
        }
        #expect(refused > 2000)
    }
}

/// Inputs kept from fuzzing (docs/FUZZING.md): each must load or be refused, never crash.
@Suite struct FuzzCorpusTests {
    @Test func corpusInputsNeverCrashTheReader() throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("FuzzCorpus").path
        let names = try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
        #expect(names.contains("demo.trusted"))
        for name in names {
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: folder + "/" + name)))
            if let table = try? TrustedTable(bytes: bytes) {
                for entry in table.entries { #expect(table.lookup(normalised: table.path(of: entry)) == entry) }
            } else {
                #expect(name != "demo.trusted", "the untouched demo table must load")
            }
        }
    }
}

/// Large tables are validated in ranges on several cores; damage at a range boundary must be
/// caught as surely as anywhere else.
@Suite struct ParallelValidationTests {
    /// 5,000 files in 50 directories; validation splits them into ranges of 625 entries.
    func largeTable() throws -> [UInt8] {
        let files = try (0..<5000).map { index in
            let bytes = TemporaryApp.bytes(index % 7 == 0 ? 9000 : 100, seed: UInt64(index))
            return TableFile(
                path: try RelativePath(String(format: "dir%02d/file%04d", index / 100, index), origin: "t"),
                digest: digest(of: bytes, chunkSize: 4096), viaSymlink: false)
        }
        return try TableWriter.serialise(files, chunkSize: 4096)
    }

    func problem(_ bytes: [UInt8]) -> TableError.Problem? {
        do {
            _ = try TrustedTable(bytes: bytes)
            return nil
        } catch { return error.problem }
    }

    @Test func largeTablesLoadAndFindEverything() throws {
        let table = try TrustedTable(bytes: try largeTable())
        #expect(table.count == 5000)
        for index in stride(from: 0, to: 5000, by: 97) {
            #expect(table.lookup(normalised: String(format: "dir%02d/file%04d", index / 100, index))?.size == (index % 7 == 0 ? 9000 : 100))
        }
    }

    @Test func damageAtARangeBoundaryIsFound() throws {
        let bytes = try largeTable()
        let table = try TrustedTable(bytes: bytes)
        let entries = TableLayout.headerSize + table.directoryCount * TableLayout.directorySize
        let pool = entries + table.count * TableLayout.entrySize + table.chunkHashCount * 32
        // Names around the boundary between entries 624 and 625 (same directory dir06).
        var swapped = bytes
        let at = swapped[pool...].firstRange(of: Array("file0624file0625".utf8))!.lowerBound
        swapped.replaceSubrange(at..<(at + 16), with: Array("file0625file0624".utf8))
        #expect(problem(swapped) == .unsorted(what: "entry 625 \"dir06/file0624\""))
        var duplicate = bytes
        duplicate.replaceSubrange(at..<(at + 16), with: Array("file0624file0624".utf8))
        #expect(problem(duplicate) == .duplicatePath("dir06/file0624"))
        // A range whose first entry claims a different pool offset.
        var claim = bytes
        let record = entries + 625 * TableLayout.entrySize + TableLayout.Entry.nameOffset
        claim[record] &+= 1
        #expect(problem(claim).map { if case .badEntry(let index, _) = $0 { (625...626).contains(index) } else { false } } == true)
        // A chunk-hash claim that skips ahead in a later range.
        var chunks = bytes
        let multi = 700 - 700 % 7  // a 3-chunk file inside the second range
        let chunkField = entries + multi * TableLayout.entrySize + TableLayout.Entry.firstChunk
        chunks[chunkField] &+= 3
        #expect(problem(chunks) != nil)
    }
}
