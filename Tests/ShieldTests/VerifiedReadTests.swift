import Foundation
import TestSupport
import Testing

@testable import Manifest
@testable import Shield
@testable import TrustedFiles

private let manifestText = """
    [app]
    name = "shielded"
    version = "1"

    [trusted]
    files = ["bin/", "data/"]
    chunk_size = 4096

    [allowed]
    files = ["logs/"]
    """

/// bin/big: 10 chunks + 100 bytes; bin/same: same size as bin/twin; data/small: one chunk.
private func signedApp(cacheBytes: Int = 1 << 20) throws -> (TemporaryApp, Shield) {
    let app = try TemporaryApp(["data/small": "small file\n", "logs/.keep": ""], manifest: manifestText)
    try app.write("bin/big", bytes: TemporaryApp.bytes(10 * 4096 + 100, seed: 1))
    try app.write("bin/same", bytes: TemporaryApp.bytes(8192, seed: 2))
    try app.write("bin/twin", bytes: TemporaryApp.bytes(8192, seed: 3))
    try app.write("bin/other", bytes: TemporaryApp.bytes(10 * 4096 + 100, seed: 4))
    let (key, _) = try app.sign()
    let bundle = try SignedBundle.load(manifestPath: app.path("app.toml"), signer: key.publicKey)
    return (app, try Shield(table: bundle.table, root: app.root, allowed: bundle.manifest.allowed, cacheBytes: cacheBytes))
}

private func flip(_ app: TemporaryApp, _ path: String, at offset: Int) throws {
    var bytes = try app.read(path)
    bytes[offset] ^= 0x40
    try app.write(path, bytes: bytes)
}

/// Runs `body` and returns the ShieldError it throws (nil if it returned).
private func refusal(_ body: () throws -> Void) -> ShieldError? {
    do {
        try body()
        return nil
    } catch let error as ShieldError {
        return error
    } catch {
        Issue.record("unexpected error \(error)")
        return nil
    }
}

@Suite struct VerifiedReadTests {
    @Test func untouchedFilesReadBackExactly() throws {
        let (app, shield) = try signedApp()
        for path in ["bin/big", "bin/same", "data/small"] {
            let file = try shield.openTrusted(path)
            #expect(try file.readAll() == (try app.read(path)), "\(path)")
        }
        let big = try shield.openTrusted("bin/big")
        let original = try app.read("bin/big")
        // Reads that straddle chunk boundaries and run past the end.
        #expect(try big.read(count: 5000, at: 4000) == Array(original[4000..<9000]))
        #expect(try big.read(count: 500, at: UInt64(original.count - 100)) == Array(original.suffix(100)))
        #expect(try big.read(count: 10, at: UInt64(original.count + 5)) == [])
    }

    @Test(arguments: [("first", 10), ("middle", 5 * 4096 + 7), ("last", 10 * 4096 + 99)])
    func flippedByteIsRefusedWhereItIs(where name: String, offset: Int) throws {
        let (app, shield) = try signedApp()
        try flip(app, "bin/big", at: offset)
        let file = try shield.openTrusted("bin/big")  // O(1): opening reads nothing
        let chunk = offset / 4096
        #expect(refusal { _ = try file.read(count: 1, at: UInt64(offset)) } == .modified(path: "bin/big", chunk: chunk, chunkCount: 11))
        #expect(refusal { _ = try file.readAll() } == .modified(path: "bin/big", chunk: chunk, chunkCount: 11))
        // Chunks that were not touched still read fine.
        let clean = chunk == 0 ? 4096 : 0
        #expect(try file.read(count: 16, at: UInt64(clean)) == Array(try app.read("bin/big")[clean..<(clean + 16)]))
    }

    @Test func flippedByteInASingleChunkFileIsRefused() throws {
        let (app, shield) = try signedApp()
        try flip(app, "data/small", at: 3)
        #expect(refusal { _ = try shield.openTrusted("data/small").readAll() } == .modified(path: "data/small", chunk: 0, chunkCount: 1))
    }

    @Test func truncatedExtendedAndDeletedFilesFailAtOpen() throws {
        let (app, shield) = try signedApp()
        try app.write("bin/big", bytes: Array(try app.read("bin/big").dropLast(1)))
        #expect(refusal { _ = try shield.openTrusted("bin/big") } == .sizeMismatch(path: "bin/big", signed: 41060, actual: 41059))
        try app.write("data/small", "small file\nand more\n")
        #expect(refusal { _ = try shield.openTrusted("data/small") } == .sizeMismatch(path: "data/small", signed: 11, actual: 20))
        try app.remove("bin/same")
        #expect(refusal { _ = try shield.openTrusted("bin/same") } == .missing(path: "bin/same"))
    }

    @Test func replacedBySymlinkToAnotherTrustedFileIsRefused() throws {
        let (app, shield) = try signedApp()
        try app.remove("bin/same")
        try app.symlink("bin/same", to: "twin")
        #expect(refusal { _ = try shield.openTrusted("bin/same") } == .symlinked(path: "bin/same"))
        // A symlinked directory on the way is refused too.
        try FileManager.default.moveItem(atPath: app.path("data"), toPath: app.path("data-real"))
        try app.symlink("data", to: "data-real")
        #expect(refusal { _ = try shield.openTrusted("data/small") } == .symlinked(path: "data/small"))
    }

    @Test func swappedTrustedFilesAreRefused() throws {
        let (app, shield) = try signedApp()
        let same = try app.read("bin/same")
        let twin = try app.read("bin/twin")
        try app.write("bin/same", bytes: twin)
        try app.write("bin/twin", bytes: same)
        #expect(refusal { _ = try shield.openTrusted("bin/same").readAll() } == .modified(path: "bin/same", chunk: 0, chunkCount: 2))
        #expect(refusal { _ = try shield.openTrusted("bin/twin").readAll() } == .modified(path: "bin/twin", chunk: 0, chunkCount: 2))
        let big = try app.read("bin/big")
        let other = try app.read("bin/other")
        try app.write("bin/big", bytes: other)
        try app.write("bin/other", bytes: big)
        #expect(refusal { _ = try shield.openTrusted("bin/big").read(count: 1, at: 0) } == .modified(path: "bin/big", chunk: 0, chunkCount: 11))
    }

    @Test func changesAfterOpenCannotReachTheCaller() throws {
        let (app, shield) = try signedApp()
        let original = try app.read("bin/big")
        let file = try shield.openTrusted("bin/big")
        #expect(try file.read(count: 4096, at: 0) == Array(original[0..<4096]))
        // Between two reads: chunk 0 changes (already verified: the verified copy is served),
        // chunk 3 changes (not yet read: refused).
        try flip(app, "bin/big", at: 100)
        try flip(app, "bin/big", at: 3 * 4096 + 1)
        #expect(try file.read(count: 4096, at: 0) == Array(original[0..<4096]))
        #expect(refusal { _ = try file.read(count: 10, at: 3 * 4096) } == .modified(path: "bin/big", chunk: 3, chunkCount: 11))
        // Shrunk after open: the missing bytes are an error, never zeros.
        try app.write("bin/big", bytes: Array(original.prefix(5 * 4096)))
        #expect(refusal { _ = try file.read(count: 10, at: 8 * 4096) } == .truncated(path: "bin/big", chunk: 8))
    }

    @Test func verifiedChunksAreCachedAcrossOpensAndBounded() throws {
        let (app, shield) = try signedApp(cacheBytes: 3 * 4096)
        defer { withExtendedLifetime(app) {} }
        _ = try shield.openTrusted("bin/same").readAll()
        #expect(shield.cache.statistics.misses == 2)
        _ = try shield.openTrusted("bin/same").readAll()
        #expect(shield.cache.statistics.hits == 2)
        #expect(shield.cache.statistics.misses == 2)
        _ = try shield.openTrusted("bin/big").readAll()
        #expect(shield.cache.statistics.bytes <= 3 * 4096)
        #expect(shield.cache.statistics.evictions >= 8)
    }

    @Test func onlyListedFilesOpenAndAllowedOnesPassThrough() throws {
        let (app, shield) = try signedApp()
        try app.write("secret", "s")
        #expect(refusal { _ = try shield.openTrusted("secret") } == .notTrusted(path: "secret", allowed: false))
        #expect(refusal { _ = try shield.openTrusted("../etc/passwd") } != nil)
        #expect(refusal { _ = try shield.openTrusted("logs/a.log") } == .notTrusted(path: "logs/a.log", allowed: true))
        let fd = try shield.openAllowed("logs/a.log", flags: O_WRONLY | O_CREAT)
        #expect(write(fd, "x", 1) == 1)
        close(fd)
        #expect(try app.read("logs/a.log") == [UInt8(ascii: "x")])
        #expect(refusal { _ = try shield.openAllowed("bin/big", flags: O_WRONLY) } == .trustedNotWritable(path: "bin/big"))
        #expect(refusal { _ = try shield.openAllowed("secret", flags: O_RDONLY) } == .notTrusted(path: "secret", allowed: false))
        try app.symlink("logs/evil", to: "../bin/big")
        #expect(refusal { _ = try shield.openAllowed("logs/evil", flags: O_WRONLY) } == .symlinked(path: "logs/evil"))
        #expect(shield.access(try RelativePath("bin/big", origin: "t")) != .refused)
    }

    @Test func signedSymlinksAreFollowedOnlyInsideTheRoot() throws {
        let app = try TemporaryApp(["data/real": "content\n"], manifest: manifestText.replacingOccurrences(of: "\"bin/\", ", with: ""))
        try app.symlink("data/link", to: "real")
        let (key, _) = try app.sign()
        let bundle = try SignedBundle.load(manifestPath: app.path("app.toml"), signer: key.publicKey)
        let shield = try Shield(bundle: bundle)
        #expect(try shield.openTrusted("data/link").readAll() == Array("content\n".utf8))
        // Re-pointed outside the root at a file with the same bytes: still refused.
        let outside = try TemporaryApp(["real": "content\n"])
        try app.remove("data/link")
        try app.symlink("data/link", to: outside.path("real"))
        #expect(refusal { _ = try shield.openTrusted("data/link") } == .symlinked(path: "data/link"))
    }
}
