import ArgumentParser
import Crypto
import Foundation
import Manifest
import Shield
import TOMLKit
import TrustedFiles

struct TableBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "table",
        abstract: "The trusted-file table against a Gramine-style manifest.sgx, and verified reads against raw reads.",
        discussion: """
            For each file count: generates a tree of small files with 40–120 byte paths in a \
            temporary folder, signs it (fresh, then again with nothing changed), writes the same \
            list as Gramine's [[sgx.trusted_files]] TOML, and compares sizes, load time and peak \
            memory (each load in its own process), and lookups. Then builds one large file and \
            compares first open + 4 KiB read with hashing the whole file, and verified sequential \
            reads with raw reads and plain SHA-256.
            """)

    @Option(help: "File counts, comma separated.")
    var files = "1000,10000,100000"

    @Option(help: "Size of the large file in MiB.")
    var bigFileMiB = 1024

    @Option(help: "Where to build the trees (default: a temporary folder, removed afterwards).")
    var workdir: String?

    @Flag(help: "Keep the generated trees in --workdir (for profiling sign/verify on them).")
    var keepTrees = false

    func run() throws {
        let counts = files.split(separator: ",").compactMap { Int($0) }
        let folder = workdir ?? NSTemporaryDirectory() + "se-bench-\(getpid())"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { if workdir == nil { try? FileManager.default.removeItem(atPath: folder) } }
        let key = SigningKey.generate()
        print("machine: \(ProcessInfoCores.count) cores; SHA-256 single core: \(megabytesPerSecond(Double(1 << 28), shaSeconds(bytes: 1 << 28)))")

        var phaseNotes: [String] = []
        var sizeRows: [[String]] = []
        var loadRows: [[String]] = []
        var lookupRows: [[String]] = []
        var signRows: [[String]] = []
        for count in counts {
            let app = folder + "/tree-\(count)"
            let paths = try TreeGenerator.build(at: app, count: count)
            // Let the kernel write the new tree back before timing anything on it.
            sync()
            let manifestPath = app + "/app.toml"
            let manifest = try Manifest.load(path: manifestPath)

            var options = Signer.Options()
            options.reuse = false
            let fresh = try Signer.sign(manifest: manifest, key: key, options: options)
            let again = try Signer.sign(manifest: manifest, key: key)
            precondition(again.reusedFiles == count, "re-sign did not reuse every file")
            phaseNotes.append(
                "\(count) files — fresh: " + fresh.phases.map { "\($0.name) \(milliseconds($0.seconds))" }.joined(separator: ", ")
                    + "; re-sign: " + again.phases.map { "\($0.name) \(milliseconds($0.seconds))" }.joined(separator: ", "))
            signRows.append([
                String(count), milliseconds(fresh.seconds), String(format: "%.0f files/s", Double(count) / fresh.seconds),
                megabytesPerSecond(Double(fresh.bytes), fresh.seconds), milliseconds(again.seconds),
                String(format: "%.0f files/s", Double(count) / again.seconds),
            ])

            let bundle = try SignedBundle.load(manifestPath: manifestPath, signer: key.publicKey)
            let tomlPath = app + "/manifest.sgx"
            let toml = gramineManifest(bundle.table)
            try toml.write(toFile: tomlPath, atomically: true, encoding: .utf8)
            let tableBytes = bundle.table.byteCount
            sizeRows.append([
                String(count), mebibytes(tableBytes), mebibytes(toml.utf8.count),
                percent(Double(tableBytes) / Double(toml.utf8.count)),
                String(format: "%.1f B", Double(tableBytes) / Double(count)),
                String(format: "%.1f B", Double(toml.utf8.count) / Double(count)),
            ])

            let ours = try MeasureLoad.inChild(kind: "table", path: manifestPath)
            let theirs = try MeasureLoad.inChild(kind: "toml", path: tomlPath)
            loadRows.append([
                String(count), milliseconds(ours.seconds), mebibytes(ours.peakBytes), mebibytes(tableBytes),
                milliseconds(theirs.seconds), mebibytes(theirs.peakBytes), ratio(theirs.seconds / ours.seconds),
            ])

            let (hit, miss) = lookupTimes(bundle.table, paths: paths)
            lookupRows.append([String(count), String(format: "%.0f ns", hit * 1e9), String(format: "%.0f ns", miss * 1e9)])
            if !keepTrees { try? FileManager.default.removeItem(atPath: app) }
        }
        printTable(
            "Table size: ours vs. Gramine-style manifest.sgx (same files)",
            ["files", "our table", "manifest.sgx TOML", "ours / TOML", "ours per file", "TOML per file"], sizeRows)
        printTable(
            "Load: signature check + map + validate vs. parsing the TOML (TOMLKit), each in a fresh process",
            ["files", "ours: load + verify", "ours: peak RSS growth", "table size", "TOMLKit parse", "TOMLKit: peak RSS growth", "TOML / ours (time)"], loadRows
        )
        printTable("Lookup by path (binary search over the mapped table)", ["files", "hit", "miss"], lookupRows)
        printTable(
            "Signing small-file trees (\(ProcessInfoCores.count) cores)",
            ["files", "fresh", "fresh rate", "fresh bytes", "re-sign, nothing changed", "re-sign rate"], signRows)
        print("\nWhere signing time went:\n" + phaseNotes.map { "- \($0)" }.joined(separator: "\n"))
        try bigFile(folder: folder, key: key)
    }

    /// One large file: sign throughput, first open + 4 KiB read vs. whole-file hash, and
    /// sequential verified reads vs. raw reads and plain SHA-256.
    func bigFile(folder: String, key: SigningKey) throws {
        let app = folder + "/big"
        try FileManager.default.createDirectory(atPath: app + "/data", withIntermediateDirectories: true)
        let size = bigFileMiB << 20
        try TreeGenerator.writeLargeFile(app + "/data/big.bin", bytes: size)
        sync()
        try "[app]\nname = \"big\"\nversion = \"1\"\n\n[trusted]\nfiles = [\"data/\"]\n".write(toFile: app + "/app.toml", atomically: true, encoding: .utf8)
        let manifest = try Manifest.load(path: app + "/app.toml")
        var options = Signer.Options()
        options.reuse = false
        let signed = try Signer.sign(manifest: manifest, key: key, options: options)
        let bundle = try SignedBundle.load(manifestPath: app + "/app.toml", signer: key.publicKey)

        let sha = shaSeconds(bytes: 1 << 28) / Double(1 << 28)  // seconds per byte, one core
        let cores = Double(ProcessInfoCores.count)
        let signRate = Double(size) / signed.seconds
        let ideal = cores / sha
        printTable(
            "Signing one \(bigFileMiB) MiB file", ["sign", "rate", "cores × SHA-256", "share of ideal"],
            [[milliseconds(signed.seconds), megabytesPerSecond(Double(size), signed.seconds), megabytesPerSecond(ideal, 1), percent(signRate / ideal)]])

        let openRead = try median(runs: 50) {
            let shield = try Shield(bundle: bundle)
            let file = try shield.openTrusted("data/big.bin")
            _ = try file.read(count: 4096, at: 0)
        }
        let openOnly = try median(runs: 50) {
            let shield = try Shield(bundle: bundle)
            _ = try shield.openTrusted("data/big.bin")
        }
        let wholeHash = try median(runs: 3) { _ = try hashWholeFile(app + "/data/big.bin") }
        printTable(
            "First open of the \(bigFileMiB) MiB file", ["ours: open", "ours: open + first 4 KiB", "hash whole file (Gramine's first open)", "speed-up"],
            [[microseconds(openOnly), microseconds(openRead), milliseconds(wholeHash), ratio(wholeHash / openRead)]])

        let raw = try median(runs: 3) { try rawRead(app + "/data/big.bin") }
        let verified = try median(runs: 3) {
            let shield = try Shield(bundle: bundle)
            let file = try shield.openTrusted("data/big.bin")
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 4096)
            defer { buffer.deallocate() }
            var offset: UInt64 = 0
            while true {
                let got = try file.read(into: buffer, at: offset)
                if got == 0 { break }
                offset += UInt64(got)
            }
        }
        let shaRate = 1 / sha
        let verifiedRate = Double(size) / verified
        printTable(
            "Sequential reads of the \(bigFileMiB) MiB file in 1 MiB reads (page cache warm)",
            ["raw pread", "verified read", "SHA-256 one core", "verified / SHA-256", "verified / raw"],
            [
                [
                    megabytesPerSecond(Double(size), raw), megabytesPerSecond(Double(size), verified), megabytesPerSecond(shaRate, 1),
                    percent(verifiedRate / shaRate), percent(raw / verified),
                ]
            ])
        try? FileManager.default.removeItem(atPath: app)
    }

    func gramineManifest(_ table: TrustedTable) -> String {
        var out = ""
        out.reserveCapacity(table.count * 200)
        for entry in table.entries {
            out += "[[sgx.trusted_files]]\nuri = \"file:\(table.path(of: entry))\"\nsha256 = \"\(hexString(table.rootHash(of: entry)))\"\n\n"
        }
        return out
    }

    func lookupTimes(_ table: TrustedTable, paths: [String]) -> (hit: Double, miss: Double) {
        var generator = SystemRandomNumberGenerator()
        let hits = (0..<100_000).map { _ in paths[Int.random(in: 0..<paths.count, using: &generator)] }
        let misses = hits.map { $0 + "~" }
        var found = 0
        let hitTime = median(runs: 5) { for path in hits where table.lookup(normalised: path) != nil { found += 1 } }
        let missTime = median(runs: 5) { for path in misses where table.lookup(normalised: path) != nil { found += 1 } }
        precondition(found == hits.count * 5, "a lookup that should hit missed")
        return (hitTime / Double(hits.count), missTime / Double(misses.count))
    }
}

/// Seconds to SHA-256 `bytes` bytes already in memory, on one core.
func shaSeconds(bytes: Int) -> Double {
    let buffer = [UInt8](repeating: 0xA5, count: 1 << 20)
    return median(runs: 3) {
        var hasher = SHA256()
        for _ in 0..<(bytes >> 20) { hasher.update(data: buffer) }
        _ = hasher.finalize()
    }
}

func hashWholeFile(_ path: String) throws -> [UInt8] {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { throw CocoaError(.fileReadNoSuchFile) }
    defer { close(fd) }
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 4096)
    defer { buffer.deallocate() }
    var hasher = SHA256()
    while true {
        let got = read(fd, buffer.baseAddress, buffer.count)
        if got <= 0 { break }
        hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: buffer[0..<got]))
    }
    return Array(hasher.finalize())
}

func rawRead(_ path: String) throws {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { throw CocoaError(.fileReadNoSuchFile) }
    defer { close(fd) }
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 4096)
    defer { buffer.deallocate() }
    var offset: off_t = 0
    while true {
        let got = pread(fd, buffer.baseAddress, buffer.count, offset)
        if got <= 0 { break }
        offset += off_t(got)
    }
}

/// Builds application trees that look like real ones: nested package folders, 40–120 byte
/// paths, about 25 files a folder.
enum TreeGenerator {
    static let tops = ["usr/lib/python3.11/site-packages", "usr/share/locale", "opt/app/lib", "srv/assets/static", "etc/app/conf.d"]
    static let words = [
        "core", "util", "network", "storage", "config", "handler", "parser", "model", "client", "server",
        "stream", "buffer", "cache", "index", "schema", "format", "crypto", "policy", "metrics", "runtime",
    ]

    /// Paths as in a Python or Node install: the directory carries most of the length
    /// (about 25 files share one), the file name is 10–30 bytes.
    static func build(at root: String, count: Int) throws -> [String] {
        var generator = SplitMix(seed: UInt64(count))
        func word() -> String { words[Int(generator.next() % UInt64(words.count))] }
        var paths: [String] = []
        paths.reserveCapacity(count)
        var directory = ""
        for index in 0..<count {
            if index % 25 == 0 {
                let target = 20 + Int(generator.next() % 75)
                directory = tops[Int(generator.next() % UInt64(tops.count))]
                while directory.utf8.count < target { directory += "/" + word() + "_\(generator.next() % 100)" }
            }
            let name = word() + "_" + word() + "_\(index).py"
            var path = directory + "/" + name
            if path.utf8.count < 40 { path = directory + "/" + String(repeating: "long_", count: (44 - path.utf8.count) / 5 + 1) + name }
            if path.utf8.count > 120 {
                var shorter = Substring(directory.prefix(120 - name.utf8.count - 1))
                while shorter.hasSuffix("/") { shorter = shorter.dropLast() }
                path = shorter + "/" + name
            }
            paths.append(path)
        }
        let content = [UInt8](repeating: 0x61, count: 4096)
        for path in paths {
            let full = root + "/" + path
            let parent = (full as NSString).deletingLastPathComponent
            if !FileManager.default.fileExists(atPath: parent) {
                try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
            }
            let size = 64 + Int(generator.next() % 2000)
            let fd = open(full, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            _ = content.withUnsafeBytes { write(fd, $0.baseAddress, size) }
            close(fd)
        }
        let trusted = tops.map { "\"\($0.split(separator: "/").first!)/\"" }
        try "[app]\nname = \"tree\"\nversion = \"1\"\n\n[trusted]\nfiles = [\(Array(Set(trusted)).sorted().joined(separator: ", "))]\n"
            .write(toFile: root + "/app.toml", atomically: true, encoding: .utf8)
        return paths
    }

    static func writeLargeFile(_ path: String, bytes: Int) throws {
        var generator = SplitMix(seed: 7)
        var block = [UInt8](repeating: 0, count: 1 << 20)
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        defer { close(fd) }
        for _ in 0..<(bytes >> 20) {
            block.withUnsafeMutableBytes { raw in
                for index in stride(from: 0, to: raw.count, by: 8) { raw.storeBytes(of: generator.next(), toByteOffset: index, as: UInt64.self) }
            }
            guard block.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == block.count else { throw CocoaError(.fileWriteOutOfSpace) }
        }
    }
}

struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
