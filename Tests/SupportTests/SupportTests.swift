import Foundation
import Support
import Testing

/// What stopped a transfer; nil when it completed.
private func shortfall(_ result: Result<Void, DescriptorIO.Shortfall>) -> DescriptorIO.Shortfall? {
    if case let .failure(shortfall) = result { shortfall } else { nil }
}

@Suite struct DescriptorIOTests {
    private func temporaryFile(_ bytes: [UInt8]) throws -> (path: String, fd: Int32) {
        let path = NSTemporaryDirectory() + "se-support-\(UUID().uuidString)"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let fd = open(path, O_RDWR | O_CLOEXEC)
        try #require(fd >= 0)
        return (path, fd)
    }

    @Test func readsAllOfARangeAndSaysWhereAShortFileEnds() throws {
        let (path, fd) = try temporaryFile(Array(0..<200))
        defer {
            close(fd)
            unlink(path)
        }
        var buffer = [UInt8](repeating: 0, count: 50)
        let whole = buffer.withUnsafeMutableBytes { DescriptorIO.readFully(fd, into: $0, at: 100) }
        #expect(shortfall(whole) == nil)
        #expect(buffer == Array(100..<150))
        let short = buffer.withUnsafeMutableBytes { DescriptorIO.readFully(fd, into: $0, at: 180) }
        #expect(shortfall(short) == .endOfFile(after: 20))
        #expect(buffer.prefix(20) == ArraySlice(180..<200))
    }

    @Test func aFailedReadNamesTheSystemsReason() {
        var buffer = [UInt8](repeating: 0, count: 8)
        let result = buffer.withUnsafeMutableBytes { DescriptorIO.readFully(-1, into: $0, at: 0) }
        #expect(shortfall(result) == .failed(errno: EBADF, after: 0))
        #expect(shortfall(result)?.reason == "Bad file descriptor")
    }

    @Test func writesEverythingOrSaysWhyNot() throws {
        let (path, fd) = try temporaryFile([])
        defer {
            close(fd)
            unlink(path)
        }
        let bytes = [UInt8](repeating: 7, count: 300_000)
        #expect(shortfall(DescriptorIO.writeAll(fd, bytes)) == nil)
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Data(bytes))
        #expect(shortfall(DescriptorIO.writeAll(-1, [1])) == .failed(errno: EBADF, after: 0))
    }
}

@Suite struct ParallelTests {
    @Test func resultsComeBackInIndexOrder() {
        #expect(Parallel.map(1000) { $0 * 3 } == (0..<1000).map { $0 * 3 })
        #expect(Parallel.map(1) { $0 + 1 } == [1])
        #expect(Parallel.map(0) { $0 }.isEmpty)
    }
}

@Suite struct PathTextTests {
    /// Foundation's NSString path methods trap on one-character relative paths; these must not.
    @Test func folderAndNameOfShortAndNestedPaths() {
        #expect(PathText.folder(of: "a") == ".")
        #expect(PathText.folder(of: "/a") == "/")
        #expect(PathText.name(of: "a") == "a")
        #expect(PathText.folder(of: "functions/a.wasm") == "functions")
        #expect(PathText.name(of: "functions/a.wasm") == "a.wasm")
        #expect(PathText.folder(of: "x/y/z") == "x/y")
    }
}

@Suite struct LogTextTests {
    @Test func controlCharactersAreEscapedAndLengthIsCapped() {
        #expect(LogText.escaped("line\nbreak\u{1b}[31m\u{202e}", maxBytes: 100) == #"line\nbreak\u{1b}[31m\u{202e}"#)
        let long = LogText.escaped(String(repeating: "x", count: 10_000), maxBytes: 64)
        #expect(long == String(repeating: "x", count: 64) + "… (cut: 10000 bytes)")
    }
}
