import ArgumentParser
import Foundation
import Manifest
import Shield
import TrustedFiles

struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Sign, verify and read a built-in example app, then show tampering caught.",
        discussion: """
        Writes a small app (the minimal manifest of docs/MANIFEST.md) into --dir, creates a \
        key, signs, verifies, reads trusted files through the verifying reader, writes to an \
        allowed folder, then flips one byte and shows `verify` and the reader refusing it. \
        Exits non-zero if any step does not behave as shown.
        """)

    @Option(help: "Where to write the example app (default: a new temporary folder).")
    var dir: String?

    func run() throws {
        let folder = dir ?? NSTemporaryDirectory() + "secure-executor-demo-\(getpid())"
        try DemoApp.write(to: folder)
        step("1. example app written to \(folder)")
        print(try String(contentsOfFile: folder + "/demo.toml", encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false).map { "     \($0)" }.joined(separator: "\n"))

        let key = SigningKey.generate()
        try key.save(path: folder + "/signer.key", overwrite: true)
        step("2. signing key \(key.publicKey.keyID) written to \(folder)/signer.key (mode 0600)")

        let manifest = try Manifest.load(path: folder + "/demo.toml")
        let signed = try Signer.sign(manifest: manifest, key: key)
        step("3. signed: \(signed.files) trusted files, \(formatBytes(signed.bytes)) → demo.trusted (\(formatBytes(UInt64(signed.tableBytes)))) + demo.sig")
        print("     measurement \(signed.measurement)")

        let bundle = try SignedBundle.load(manifestPath: manifest.path, signer: key.publicKey)
        let clean = DiskCheck.run(bundle)
        try expect(clean.problems.isEmpty, "verify of the untouched app found problems: \(clean.problems)")
        step("4. verify: signature by the pinned key, measurement and all \(clean.checkedFiles) files match")

        let shield = try Shield(bundle: bundle)
        let config = try shield.openTrusted("data/config.json").readAll()
        step("5. verified read of data/config.json: \(config.count) bytes, each chunk checked against the table")
        do {
            _ = try shield.openTrusted("secret.txt")
            try expect(false, "an unlisted file was opened")
        } catch let error as ShieldError {
            print("     opening an unlisted file is refused: \(error)")
        }
        let log = try shield.openAllowed("logs/demo.log", flags: O_WRONLY | O_CREAT | O_APPEND)
        _ = "demo ran\n".withCString { write(log, $0, strlen($0)) }
        close(log)
        print("     logs/demo.log is allowed (unverified) and was written")

        let target = folder + "/data/config.json"
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: target)))
        bytes[bytes.count / 2] ^= 0x01
        try Data(bytes).write(to: URL(fileURLWithPath: target))
        let tampered = DiskCheck.run(bundle)
        try expect(tampered.problems.map(\.kind) == [.modified], "verify missed the flipped byte: \(tampered.problems)")
        step("6. one byte of data/config.json flipped:")
        for problem in tampered.problems { print("     verify: \(problem)") }
        do {
            _ = try Shield(bundle: bundle).openTrusted("data/config.json").readAll()
            try expect(false, "a tampered file was read")
        } catch let error as ShieldError {
            print("     reader: \(error)")
        }
        bytes[bytes.count / 2] ^= 0x01
        try Data(bytes).write(to: URL(fileURLWithPath: target))

        let again = try Signer.sign(manifest: manifest, key: key)
        step("7. byte restored and signed again: \(again.reusedFiles) of \(again.files) files reused from the last signing, \(again.hashedFiles) re-hashed (its mtime changed)")
        print("\ndemo OK. Try it yourself:\n  secure-executor verify \(folder)/demo.toml --signer \(folder)/signer.key.pub\n  secure-executor inspect \(folder)/demo.trusted")
        try (key.publicKey.description + "\n").write(toFile: folder + "/signer.key.pub", atomically: true, encoding: .utf8)
    }

    private func step(_ text: String) { print("==> \(text)") }

    private func expect(_ condition: Bool, _ message: String) throws {
        if !condition { throw ValidationError("demo step failed: \(message)") }
    }
}

/// The built-in example: the minimal manifest from docs/MANIFEST.md and the files it names.
enum DemoApp {
    static let files: [(String, String)] = [
        ("demo.toml", """
        [app]
        name = "demo"
        version = "1.0"

        [trusted]
        files = ["bin/", "data/*.json", "README.txt"]

        [allowed]
        files = ["logs/"]

        """),
        ("README.txt", "The demo application: a function binary, its data, and a log folder.\n"),
        ("bin/handler.wat", "(module (func (export \"handle\") (param i32) (result i32) local.get 0))\n"),
        ("bin/lib/util.txt", "helper data that lives in a nested trusted directory\n"),
        ("data/config.json", "{\"greeting\": \"hello\", \"threshold\": 42, \"sensors\": [\"a\", \"b\", \"c\"]}\n"),
        ("data/users.json", "[{\"name\": \"ada\"}, {\"name\": \"grace\"}]\n"),
        ("data/notes.txt", "not matched by data/*.json, so neither trusted nor allowed\n"),
        ("secret.txt", "not listed in the manifest: the runtime refuses to open it\n"),
    ]

    static func write(to folder: String) throws {
        for (path, text) in files {
            let full = folder + "/" + path
            try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try text.write(toFile: full, atomically: false, encoding: .utf8)
        }
        try FileManager.default.createDirectory(atPath: folder + "/logs", withIntermediateDirectories: true)
        // A larger file, so that the table holds per-chunk hashes too.
        let large = (0..<200_000).map { UInt8(truncatingIfNeeded: ($0 &* 2_654_435_761) >> 13) }
        try Data(large).write(to: URL(fileURLWithPath: folder + "/bin/model.bin"))
    }
}
