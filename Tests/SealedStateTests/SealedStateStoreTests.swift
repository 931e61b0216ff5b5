import Foundation
import SealedState
import Testing

@Suite struct SealedStateStoreTests {
    final class Folder {
        let path = NSTemporaryDirectory() + "sealed-state-\(UUID().uuidString)"
        init() { mkdir(path, 0o700) }
        deinit { try? FileManager.default.removeItem(atPath: path) }

        func store(key: SealingKey, signer: [UInt8] = Array("signer-a".utf8)) throws -> SealedStateStore {
            try SealedStateStore(directory: open(path, O_RDONLY | O_DIRECTORY), path: "state", key: key, signer: signer)
        }

        var stateFiles: [String] { ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).filter { $0.hasSuffix(".state") }.sorted() }
        func bytes(_ name: String) -> [UInt8] { Array(FileManager.default.contents(atPath: path + "/" + name) ?? Data()) }
        func put(_ name: String, _ bytes: [UInt8]) { FileManager.default.createFile(atPath: path + "/" + name, contents: Data(bytes)) }
    }

    let code = Array(repeating: UInt8(7), count: 32)
    let otherCode = Array(repeating: UInt8(8), count: 32)

    @Test func stateSurvivesANewStoreAndStaysSealed() throws {
        let folder = Folder()
        let key = SealingKey.random()
        try folder.store(key: key).save(Array("count=41".utf8), codeHash: code, stateID: "counter")
        let reopened = try folder.store(key: key)
        #expect(try reopened.load(codeHash: code, stateID: "counter") == Array("count=41".utf8))
        #expect(try reopened.load(codeHash: code, stateID: "another") == nil)
        let file = try #require(folder.stateFiles.first)
        #expect(!String(decoding: folder.bytes(file), as: UTF8.self).contains("count=41"), "sealed, not in clear")
    }

    @Test func aFlippedByteAnotherFunctionsFileAndAnotherAppsKeyAreRefused() throws {
        let folder = Folder()
        let key = SealingKey.random()
        let store = try folder.store(key: key)
        try store.save(Array("mine".utf8), codeHash: code, stateID: "a")
        try store.save(Array("theirs".utf8), codeHash: otherCode, stateID: "a")
        let files = folder.stateFiles
        let mine = Self.name(of: code, in: folder, key: key)
        let theirs = try #require(files.first { $0 != mine })
        let original = folder.bytes(mine)

        var flipped = original
        flipped[flipped.count - 20] ^= 1
        folder.put(mine, flipped)
        #expect(throws: StateError.tampered(path: "state/\(mine)")) { try folder.store(key: key).load(codeHash: code, stateID: "a") }

        folder.put(mine, folder.bytes(theirs))
        #expect(throws: StateError.foreign(path: "state/\(mine)")) { try folder.store(key: key).load(codeHash: code, stateID: "a") }

        folder.put(mine, original)
        #expect(try folder.store(key: key).load(codeHash: code, stateID: "a") == Array("mine".utf8))
        // Another key (another machine's, or the file moved to another app) opens nothing.
        #expect(throws: StateError.tampered(path: "state/index.sealed")) { try folder.store(key: SealingKey.random()) }
        #expect(throws: StateError.foreign(path: "state/index.sealed")) { try folder.store(key: key, signer: Array("signer-b".utf8)) }
    }

    @Test func anOlderCopyPutBackIsARollback() throws {
        let folder = Folder()
        let key = SealingKey.random()
        let store = try folder.store(key: key)
        try store.save(Array("1".utf8), codeHash: code, stateID: "a")
        let name = Self.name(of: code, in: folder, key: key)
        let first = folder.bytes(name)
        try store.save(Array("2".utf8), codeHash: code, stateID: "a")
        folder.put(name, first)
        #expect(throws: StateError.rolledBack(path: "state/\(name)", counter: 1, newest: 2)) { try store.load(codeHash: code, stateID: "a") }
        #expect(throws: StateError.rolledBack(path: "state/\(name)", counter: 1, newest: 2)) { try folder.store(key: key).load(codeHash: code, stateID: "a") }
        unlink(folder.path + "/" + name)
        #expect(throws: StateError.missing(path: "state/\(name)", newest: 2)) { try folder.store(key: key).load(codeHash: code, stateID: "a") }
    }

    @Test func aKeyFileMustBeTheOwnersAlone() throws {
        let folder = Folder()
        let path = folder.path + "/keys/sealing.key"
        let created = try KeyFileProvider(path: path).sealingKey()
        #expect(try KeyFileProvider(path: path).sealingKey().description == created.description, "the same key on every start")
        var status = stat()
        #expect(stat(path, &status) == 0 && status.st_mode & 0o777 == 0o600)
        chmod(path, 0o644)
        #expect(throws: StateError.self) { try KeyFileProvider(path: path).sealingKey() }
        do { _ = try KeyFileProvider(path: path).sealingKey() } catch { #expect(error.description.contains("has mode 644")) }
        // Handed through a pipe, the key arrives whole.
        let descriptor = try created.pipe()
        #expect(try SealingKey.receive(from: descriptor).description == created.description)
        #expect(throws: StateError.self) { try SealingKey(bytes: [1, 2, 3]) }
    }

    /// The file a state is saved in: the one that appears when only it is saved.
    static func name(of code: [UInt8], in folder: Folder, key: SealingKey) -> String {
        let scratch = Folder()
        try? scratch.store(key: key).save([], codeHash: code, stateID: "a")
        return scratch.stateFiles.first ?? ""
    }
}
