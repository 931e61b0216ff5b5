import Foundation
import TestSupport
import Testing

@testable import Manifest
@testable import TrustedFiles

/// Rewrites, in place, the stat-cache record of `relative` to `identity`, as an attacker who
/// can write the cache file but not the signing key would: the record's name is found in the
/// file and the 40 identity bytes after it are replaced.
private func poison(_ cachePath: String, record relative: String, with identity: FileIdentity) throws {
    var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: cachePath)))
    let name = [UInt8](relative.utf8)
    let marker = [UInt8(name.count & 0xFF), UInt8(name.count >> 8)] + name
    guard let start = (0...(bytes.count - marker.count)).first(where: { Array(bytes[$0..<($0 + marker.count)]) == marker }) else {
        Issue.record("no record for \(relative) in \(cachePath)")
        return
    }
    var at = start + marker.count
    for field in [
        identity.size, identity.device, identity.inode, UInt64(bitPattern: identity.modifiedNanoseconds), UInt64(bitPattern: identity.changedNanoseconds),
    ] {
        withUnsafeBytes(of: field.littleEndian) { bytes.replaceSubrange(at..<(at + 8), with: $0) }
        at += 8
    }
    try Data(bytes).write(to: URL(fileURLWithPath: cachePath))
}

private func identity(_ path: String) -> FileIdentity {
    var info = stat()
    stat(path, &info)
    return FileIdentity(statInfo: info)
}

@Suite struct StatCacheAuthenticationTests {
    @Test func aPoisonedRecordCannotMakeSignVouchForStaleContent() throws {
        let app = try makeApp()
        let (key, _) = try app.sign()
        var tool = try app.read("bin/tool")
        tool[100] ^= 0xFF
        try app.write("bin/tool", bytes: tool)
        try poison(app.path("app.trusted.statcache"), record: "bin/tool", with: identity(app.path("bin/tool")))

        let report = try app.sign(key: key).report
        #expect(report.reusedFiles == 0 && report.hashedFiles == 5)
        #expect(report.statCacheNote?.contains("its MAC does not verify") == true, "\(report.statCacheNote ?? "no note")")
        let problems = DiskCheck.run(try SignedBundle.load(manifestPath: app.path("app.toml"), signer: key.publicKey)).problems
        #expect(problems.isEmpty, "the changed file was signed with its old hashes: \(problems)")
    }

    @Test func aCacheWrittenByAnotherKeyIsIgnored() throws {
        let app = try makeApp()
        try app.sign()
        let foreign = try app.read("app.trusted.statcache")
        let key = SigningKey.generate()
        try app.sign(key: key)
        #expect(try app.sign(key: key).report.reusedFiles == 5)
        try app.write("app.trusted.statcache", bytes: foreign)
        let report = try app.sign(key: key).report
        #expect(report.reusedFiles == 0)
        #expect(report.statCacheNote?.contains("not written by this signing key") == true)
    }

    @Test func anOlderCacheOfTheSameKeyIsNotReplayed() throws {
        let app = try makeApp()
        let (key, _) = try app.sign()
        let older = try app.read("app.trusted.statcache")
        try app.write("data/a.json", "{\"changed\": 1}")
        #expect(try app.sign(key: key).report.hashedFiles == 1)
        try app.write("app.trusted.statcache", bytes: older)
        let report = try app.sign(key: key).report
        #expect(report.reusedFiles == 0)
        #expect(report.statCacheNote?.contains("another table") == true, "\(report.statCacheNote ?? "no note")")
        // Once rewritten, the cache serves again.
        #expect(try app.sign(key: key).report.reusedFiles == 5)
    }
}

@Suite struct KeyFileTests {
    @Test func aKeyOthersCanReadIsRefused() throws {
        let app = try TemporaryApp()
        let key = SigningKey.generate()
        try key.save(path: app.path("k"), overwrite: false)
        for mode: mode_t in [0o644, 0o640, 0o604] {
            chmod(app.path("k"), mode)
            #expect(throws: KeyError.exposed(app.path("k"), mode: mode)) { try SigningKey.load(path: app.path("k")) }
        }
        #expect(KeyError.exposed(app.path("k"), mode: 0o644).description.contains("mode 644"))
        #expect(KeyError.exposed(app.path("k"), mode: 0o644).description.contains("chmod 600 \(app.path("k"))"))
        chmod(app.path("k"), 0o400)
        #expect(try SigningKey.load(path: app.path("k")).publicKey == key.publicKey)
    }

    @Test func overwritingNeverFollowsALink() throws {
        let app = try TemporaryApp()
        try app.write("precious", "not yours\n")
        try app.symlink("k", to: app.path("precious"))
        try app.symlink("k.pub", to: app.path("precious"))
        try app.symlink("dangling", to: app.path("created-through-link"))
        #expect(throws: KeyError.notAKeyFile(app.path("k"), "a symbolic link")) { try SigningKey.generate().save(path: app.path("k"), overwrite: true) }
        #expect(throws: KeyError.notAKeyFile(app.path("k.pub"), "a symbolic link")) {
            try SigningKey.generate().publicKey.save(path: app.path("k.pub"), overwrite: true)
        }
        #expect(throws: KeyError.notAKeyFile(app.path("dangling"), "a symbolic link")) {
            try SigningKey.generate().save(path: app.path("dangling"), overwrite: true)
        }
        #expect(throws: KeyError.exists(app.path("dangling"))) { try SigningKey.generate().save(path: app.path("dangling"), overwrite: false) }
        #expect(String(decoding: try app.read("precious"), as: UTF8.self) == "not yours\n")
        #expect(!FileManager.default.fileExists(atPath: app.path("created-through-link")))
        // No temporary file is left behind by a refusal.
        #expect(try FileManager.default.contentsOfDirectory(atPath: app.root).sorted() == ["dangling", "k", "k.pub", "precious"])
    }

    @Test func overwritingReplacesOnlyKeyFiles() throws {
        let app = try TemporaryApp()
        try app.write("notes", "ed25519-private: my shopping list\n")
        try app.write("notes.pub", "hello\n")
        try FileManager.default.createDirectory(atPath: app.path("folder"), withIntermediateDirectories: true)
        #expect(throws: KeyError.notAKeyFile(app.path("notes"), "a file that is not a private key")) {
            try SigningKey.generate().save(path: app.path("notes"), overwrite: true)
        }
        #expect(throws: KeyError.notAKeyFile(app.path("notes.pub"), "a file that is not a public key")) {
            try SigningKey.generate().publicKey.save(path: app.path("notes.pub"), overwrite: true)
        }
        #expect(throws: KeyError.notAKeyFile(app.path("folder"), "a folder")) { try SigningKey.generate().save(path: app.path("folder"), overwrite: true) }
        #expect(String(decoding: try app.read("notes"), as: UTF8.self) == "ed25519-private: my shopping list\n")

        // A key this tool wrote is replaced, with mode 0600.
        let first = SigningKey.generate()
        let second = SigningKey.generate()
        try first.save(path: app.path("k"), overwrite: false)
        try first.publicKey.save(path: app.path("k.pub"), overwrite: false)
        #expect(throws: KeyError.exists(app.path("k"))) { try second.save(path: app.path("k"), overwrite: false) }
        try second.save(path: app.path("k"), overwrite: true)
        try second.publicKey.save(path: app.path("k.pub"), overwrite: true)
        var info = stat()
        #expect(lstat(app.path("k"), &info) == 0 && info.st_mode & 0o7777 == 0o600)
        #expect(try SigningKey.load(path: app.path("k")).publicKey == second.publicKey)
        #expect(try PublicKey(argument: app.path("k.pub")) == second.publicKey)
    }
}

private extension TemporaryApp {
    var file: String { path("trusted-signers") }
}

@Suite struct TrustedSignersTests {
    /// A folder of its own, outside any app, holding `trusted-signers`; use its `.file`.
    private func signersFolder(_ text: String, mode: mode_t = 0o644) throws -> TemporaryApp {
        let folder = try TemporaryApp(["trusted-signers": text])
        chmod(folder.file, mode)
        return folder
    }

    private func trust(file: String? = nil, signers: [String] = [], anySigner: Bool = false) -> SignerTrust {
        var trust = SignerTrust()
        trust.trustedSignersFile = file
        trust.signers = signers
        trust.anySigner = anySigner
        trust.requirePin = true
        return trust
    }

    @Test func theFilePinsAnyOfItsKeys() throws {
        let app = try makeApp()
        let (key, _) = try app.sign()
        let other = SigningKey.generate().publicKey
        let folder = try signersFolder("# release keys\n\n\(other) build-server\n  \(hexString(key.publicKey.raw))   alice@laptop\n")
        let path = folder.file
        defer { withExtendedLifetime(folder) {} }
        let file = try TrustedSignersFile.load(path: path)
        #expect(file.keys == [other, key.publicKey])
        let (bundle, outcome) = try trust(file: path).load(manifestPath: app.path("app.toml"), bundleDirectory: nil)
        #expect(bundle.signer == key.publicKey)
        #expect(outcome == .pinned(keys: [other, key.publicKey], source: path))

        // Re-signed with a key the file does not list: refused.
        try app.sign(key: .generate())
        #expect { try trust(file: path).load(manifestPath: app.path("app.toml"), bundleDirectory: nil) } throws: { error in
            "\(error)".contains("one of the pinned keys \(other.keyID), \(key.publicKey.keyID); refusing to load")
        }
    }

    @Test func aFileOthersCanChangeIsRefused() throws {
        let key = SigningKey.generate().publicKey.description
        for mode: mode_t in [0o664, 0o646, 0o666] {
            let folder = try signersFolder(key, mode: mode)
            let path = folder.file
            defer { withExtendedLifetime(folder) {} }
            #expect(throws: TrustedSignersError.writableByOthers(path, mode: mode, folder: false)) { try TrustedSignersFile.load(path: path) }
        }
        #expect(
            TrustedSignersError.writableByOthers("/x", mode: 0o664, folder: false).description.contains(
                "writable by group or others; refusing to trust it to pin signers (fix: chmod go-w /x)"))
        // A folder above it that others can write lets them replace the file.
        let folder = try signersFolder(key)
        let path = folder.file
        chmod(folder.root, 0o777)
        #expect(throws: TrustedSignersError.writableByOthers(folder.root, mode: 0o777, folder: true)) { try TrustedSignersFile.load(path: path) }
        // …unless the folder is sticky (as /tmp is): then only the owner can replace it.
        chmod(folder.root, 0o1777)
        #expect(try TrustedSignersFile.load(path: path).keys.count == 1)
        chmod(folder.root, 0o755)
    }

    @Test(.enabled(if: getuid() == 0, "changing a file's owner needs root"))
    func aFileOwnedByAnotherUserIsRefused() throws {
        let folder = try signersFolder(SigningKey.generate().publicKey.description)
        let path = folder.file
        defer { withExtendedLifetime(folder) {} }
        #expect(chown(path, 65534, 65534) == 0)
        #expect(throws: TrustedSignersError.foreignOwner(path, uid: 65534)) { try TrustedSignersFile.load(path: path) }
    }

    @Test func aFileInsideTheAppRootIsRefused() throws {
        let app = try makeApp()
        let (key, _) = try app.sign()
        try app.write("trusted-signers", key.publicKey.description + "\n")
        chmod(app.path("trusted-signers"), 0o644)
        #expect { try trust(file: app.path("trusted-signers")).load(manifestPath: app.path("app.toml"), bundleDirectory: nil) } throws: { error in
            "\(error)".contains("lies inside the application root \(app.root), where the app could rewrite its own trust")
        }
        // Reached through a link from outside, it is still inside.
        let outside = try TemporaryApp()
        try outside.symlink("signers", to: app.path("trusted-signers"))
        #expect { try trust(file: outside.path("signers")).load(manifestPath: app.path("app.toml"), bundleDirectory: nil) } throws: { error in
            "\(error)".contains("lies inside the application root")
        }
    }

    @Test func malformedMissingAndEmptyFilesAreNamed() throws {
        let first = try signersFolder("\(SigningKey.generate().publicKey)\nnot-a-key\n")
        let bad = first.file
        defer { withExtendedLifetime(first) {} }
        #expect { try TrustedSignersFile.load(path: bad) } throws: { "\($0)".contains("\(bad) line 2: not-a-key: not an Ed25519 public key") }
        let second = try signersFolder("# nothing yet\n")
        let empty = second.file
        defer { withExtendedLifetime(second) {} }
        #expect(throws: TrustedSignersError.empty(empty)) { try TrustedSignersFile.load(path: empty) }
        #expect(throws: TrustedSignersError.missing("/nonexistent/trusted-signers")) { try TrustedSignersFile.load(path: "/nonexistent/trusted-signers") }
        // Named explicitly, a missing file is an error, not "unpinned".
        let app = try makeApp()
        try app.sign()
        #expect { try trust(file: "/nonexistent/trusted-signers").load(manifestPath: app.path("app.toml"), bundleDirectory: nil) } throws: {
            "\($0)".contains("trusted-signers file /nonexistent/trusted-signers does not exist")
        }
    }

    @Test(.enabled(if: !FileManager.default.fileExists(atPath: TrustedSignersFile.defaultPath), "the default trusted-signers file exists on this machine"))
    func nothingPinnedIsRefusedWithTheWayToPin() throws {
        let app = try makeApp()
        let (key, _) = try app.sign()
        #expect { try trust().load(manifestPath: app.path("app.toml"), bundleDirectory: nil) } throws: { error in
            let text = "\(error)"
            return text.contains("no signer is pinned") && text.contains("--signer KEY.pub") && text.contains(TrustedSignersFile.defaultPath)
                && text.contains("--trusted-signers FILE") && text.contains("--insecure-any-signer")
        }
        #expect(try trust(anySigner: true).load(manifestPath: app.path("app.toml"), bundleDirectory: nil).outcome == .anySigner)
        #expect { try trust(signers: [key.publicKey.description], anySigner: true).load(manifestPath: app.path("app.toml"), bundleDirectory: nil) } throws: {
            "\($0)".contains("cannot be combined")
        }
        // verify's view: not required, so reported as unpinned.
        var permissive = trust()
        permissive.requirePin = false
        #expect(try permissive.load(manifestPath: app.path("app.toml"), bundleDirectory: nil).outcome == .unpinned)
        // Several --signer keys: any one of them will do.
        let pinned = try trust(signers: [SigningKey.generate().publicKey.description, key.publicKey.description]).load(
            manifestPath: app.path("app.toml"), bundleDirectory: nil)
        #expect(pinned.bundle.signer == key.publicKey)
        #expect(SignerTrust.insecureWarning(signer: key.publicKey).hasPrefix("WARNING: --insecure-any-signer"))
    }
}
