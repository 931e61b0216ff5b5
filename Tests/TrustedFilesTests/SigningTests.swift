import Foundation
import TestSupport
import Testing

@testable import Manifest
@testable import TrustedFiles

let appManifest = """
    [app]
    name = "demo"
    version = "1.0"

    [trusted]
    files = ["bin/", "data/*.json", "README.txt"]
    chunk_size = 4096

    [allowed]
    files = ["logs/"]
    """

func makeApp() throws -> TemporaryApp {
    let app = try TemporaryApp(
        ["README.txt": "hello\n", "data/a.json": "{}", "data/b.json": "[1,2,3]", "logs/x.log": "log"],
        manifest: appManifest)
    try app.write("bin/app", bytes: TemporaryApp.bytes(5 * 4096 + 100))
    try app.write("bin/tool", bytes: TemporaryApp.bytes(3 * 4096, seed: 9))
    return app
}

func loadError(_ app: TemporaryApp, signer: PublicKey? = nil) -> BundleError? {
    do {
        _ = try SignedBundle.load(manifestPath: app.path("app.toml"), signer: signer)
        return nil
    } catch {
        return error
    }
}

@Suite struct SigningTests {
    @Test func signedBundleLoadsAndMatchesTheDisk() throws {
        let app = try makeApp()
        let (key, report) = try app.sign()
        #expect(report.files == 5)
        #expect(report.hashedFiles == 5)
        #expect(report.reusedFiles == 0)
        #expect(FileManager.default.fileExists(atPath: app.path("app.trusted")))
        let bundle = try SignedBundle.load(manifestPath: app.path("app.toml"), signer: key.publicKey)
        #expect(bundle.table.count == 5)
        #expect(bundle.signature.appName == "demo" && bundle.signature.appVersion == "1.0")
        #expect(hexString(bundle.measurement.value) == report.measurement)
        #expect(DiskCheck.run(bundle).problems.isEmpty)
        // The table's hashes are the files' real hashes.
        let entry = try #require(bundle.table.lookup(normalised: "bin/app"))
        #expect(Array(bundle.table.rootHash(of: entry)) == digest(of: try app.read("bin/app"), chunkSize: 4096).rootHash)
    }

    @Test func manifestEditedAfterSigningIsNamed() throws {
        let app = try makeApp()
        try app.sign()
        try app.write("app.toml", appManifest + "\n# edited\n")
        guard case .manifestChanged(let path, _, _)? = loadError(app) else {
            Issue.record("not refused")
            return
        }
        #expect(path == app.path("app.toml"))
        #expect(loadError(app)!.description.contains("the manifest changed after signing"))
    }

    @Test func anUnsignedManifestNeverReachesTheParser() throws {
        let app = try makeApp()
        try app.sign()
        // `[;]` trips toml++'s assumption (an assertion in debug, undefined behaviour in
        // release); the hash check must refuse it before the parser runs.
        try app.write("app.toml", "[;]\n")
        guard case .manifestChanged? = loadError(app) else {
            Issue.record("not refused as changed: \(String(describing: loadError(app)))")
            return
        }
    }

    @Test func tableEditedAfterSigningIsNamed() throws {
        let app = try makeApp()
        try app.sign()
        var table = try app.read("app.trusted")
        table[table.count - 1] ^= 1
        try app.write("app.trusted", bytes: table)
        guard case .tableChanged? = loadError(app) else {
            Issue.record("not refused")
            return
        }
        #expect(loadError(app)!.description.contains("trusted-file table changed after signing"))
    }

    @Test func signatureFromAnotherKeyIsRefused() throws {
        let app = try makeApp()
        let (key, _) = try app.sign()
        let other = SigningKey.generate()
        try app.sign(key: other)
        guard case .wrongSigner(_, let found, let expected)? = loadError(app, signer: key.publicKey) else {
            Issue.record("not refused")
            return
        }
        #expect(found == other.publicKey.keyID && expected == [key.publicKey.keyID])
    }

    @Test func editedSignatureFieldsFailTheSignature() throws {
        let app = try makeApp()
        let (key, _) = try app.sign()
        let original = try SignatureFile.decode(Data(try app.read("app.sig")), source: "sig")
        // Lying about the version, or the time, or the hashes, breaks the signature.
        var edits: [SignatureFile] = []
        var version = original
        version.appVersion = "9.9"
        edits.append(version)
        var created = original
        created.created += 1
        edits.append(created)
        // Another key's signature over the same measurement, presented with our public key.
        var forged = original
        forged.signature =
            try SignatureFile.make(
                measurement: Measurement(manifestHash: unhex(original.manifestSHA256)!, tableDigest: unhex(original.tableDigest)!),
                key: .generate(), created: original.created, appName: "demo", appVersion: "1.0"
            ).signature
        edits.append(forged)
        for edit in edits {
            try app.write("app.sig", bytes: [UInt8](edit.encoded()))
            guard case .badSignature? = loadError(app, signer: key.publicKey) else {
                Issue.record("accepted \(edit)")
                continue
            }
        }
        try app.write("app.sig", "not json")
        guard case .malformedSignature? = loadError(app) else {
            Issue.record("garbage accepted")
            return
        }
        try app.remove("app.sig")
        guard case .missingSignature? = loadError(app) else {
            Issue.record("missing accepted")
            return
        }
    }

    @Test func keysRoundTripWithPrivateMode() throws {
        let app = try TemporaryApp()
        let key = SigningKey.generate()
        try key.save(path: app.path("k"), overwrite: false)
        var info = stat()
        #expect(stat(app.path("k"), &info) == 0 && info.st_mode & 0o777 == 0o600)
        #expect(try SigningKey.load(path: app.path("k")).publicKey == key.publicKey)
        #expect(throws: KeyError.exists(app.path("k"))) { try key.save(path: app.path("k"), overwrite: false) }
        #expect(try PublicKey(parsing: key.publicKey.description) == key.publicKey)
        #expect(try PublicKey(parsing: hexString(key.publicKey.raw)) == key.publicKey)
        #expect(throws: KeyError.self) { try PublicKey(parsing: "ed25519:AAAA") }
        try app.write("k.pub", "# comment\n" + key.publicKey.description + "\n")
        #expect(try PublicKey(argument: app.path("k.pub")) == key.publicKey)
        // A signature file's key field is never taken as a path to read.
        #expect(throws: KeyError.self) { try PublicKey(parsing: app.path("k.pub")) }
        try app.write("bad", "ed25519-private:!!!\n")
        #expect(throws: KeyError.self) { try SigningKey.load(path: app.path("bad")) }
    }

    @Test func selectionProblemsStopSigning() throws {
        let app = try makeApp()
        try app.remove("README.txt")
        #expect(throws: SignError.self) { try app.sign() }
        do { try app.sign() } catch { #expect("\(error)".contains("README.txt")) }
        let workflow = try TemporaryApp(
            ["f": "x", "w.json": "{}"], manifest: "[app]\nname=\"a\"\nversion=\"1\"\n[trusted]\nfiles=[\"f\"]\n[workflow]\nfile=\"w.json\"\n")
        do {
            try workflow.sign()
            Issue.record("untrusted workflow accepted")
        } catch let error as SignError {
            #expect(error.description.contains("workflow.file \"w.json\" is not among the trusted files"))
        }
    }
}

@Suite struct SignerOutputTests {
    @Test func signingNeverTrustsItsOwnOutputs() throws {
        let app = try TemporaryApp(
            ["a.txt": "a", "b.txt": "b"],
            manifest: "[app]\nname = \"x\"\nversion = \"1\"\n[trusted]\nfiles = [\"*\"]\n")
        let (key, first) = try app.sign()
        #expect(first.files == 3)  // a.txt, b.txt, app.toml; not app.trusted / app.sig / the stat cache
        let second = try app.sign(key: key).report
        #expect(second.files == 3)
        #expect(DiskCheck.run(try SignedBundle.load(manifestPath: app.path("app.toml"), signer: key.publicKey)).problems.isEmpty)
    }

    @Test func aCorruptStatCacheOnlyCostsReuse() throws {
        let app = try makeApp()
        let (key, _) = try app.sign()
        var cache = [UInt8]("SEXSTATC".utf8) + [1, 0, 0, 0] + [0xFF, 0xFF, 0xFF, 0xFF]
        cache += [UInt8](repeating: 7, count: 20)
        try app.write("app.trusted.statcache", bytes: cache)
        #expect(try app.sign(key: key).report.reusedFiles == 0)
        #expect(try app.sign(key: key).report.reusedFiles == 5)
    }

    @Test func aRootReachedThroughASymlinkStillWalks() throws {
        let real = try makeApp()
        let links = try TemporaryApp()
        try links.symlink("app", to: real.root)
        let manifest = try Manifest.load(path: links.path("app/app.toml"))
        let report = try Signer.sign(manifest: manifest, key: .generate())
        #expect(report.files == 5)
    }
}

@Suite struct ResignTests {
    @Test func unchangedFilesAreReusedAndChangedOnesRehashed() throws {
        let app = try makeApp()
        let (key, first) = try app.sign()
        let second = try app.sign(key: key).report
        #expect(second.reusedFiles == 5 && second.hashedFiles == 0)
        #expect(second.measurement == first.measurement)

        try app.write("data/a.json", "{\"changed\": true}")
        let third = try app.sign(key: key).report
        #expect(third.reusedFiles == 4 && third.hashedFiles == 1)
        #expect(third.measurement != first.measurement)
        #expect(DiskCheck.run(try SignedBundle.load(manifestPath: app.path("app.toml"), signer: key.publicKey)).problems.isEmpty)

        // Another key's table is not trusted as a source of hashes.
        #expect(try app.sign(key: .generate()).report.reusedFiles == 0)
        #expect(try app.sign(key: key, reuse: false).report.reusedFiles == 0)
    }

    @Test func touchedFilesWithSameSizeAreRehashed() throws {
        let app = try makeApp()
        let (key, _) = try app.sign()
        var bytes = try app.read("bin/tool")
        bytes[0] ^= 0xFF
        try app.write("bin/tool", bytes: bytes)
        let report = try app.sign(key: key).report
        #expect(report.hashedFiles == 1)
        #expect(DiskCheck.run(try SignedBundle.load(manifestPath: app.path("app.toml"), signer: nil)).problems.isEmpty)
    }
}

@Suite struct DiskCheckTests {
    func problems(_ app: TemporaryApp) throws -> [DiskCheck.Problem] {
        DiskCheck.run(try SignedBundle.load(manifestPath: app.path("app.toml"), signer: nil)).problems
    }

    @Test func eachKindOfDamageIsReported() throws {
        let app = try makeApp()
        try app.sign()
        var tool = try app.read("bin/tool")
        tool[2 * 4096 + 5] ^= 1
        try app.write("bin/tool", bytes: tool)
        try app.write("data/b.json", "[1,2,3,4]")
        try app.remove("README.txt")
        try app.write("bin/new", "x")
        try app.write("data/c.json", "{}")
        try app.remove("data/a.json")
        try app.symlink("data/a.json", to: "b.json")
        let found = try problems(app)
        let summary: [String] = found.map { "\($0.kind.rawValue) \($0.path)" }
        let expected: [String] = ["MISSING README.txt", "NEW bin/new", "MODIFIED bin/tool", "SYMLINK data/a.json", "RESIZED data/b.json", "NEW data/c.json"]
        #expect(summary == expected)
        #expect(found.first { $0.kind == .modified }?.detail.contains("first differing chunk: 2 of 3") == true)
    }

    @Test func parallelHashingMatchesSequentialHashing() throws {
        let app = try TemporaryApp()
        let sizes = [0, 1, 4095, 4096, 4097, 3 << 20, (9 << 20) + 7]
        for (index, size) in sizes.enumerated() { try app.write("f\(index)", bytes: TemporaryApp.bytes(size, seed: UInt64(index))) }
        let jobs = sizes.indices.map { ParallelHasher.Job(path: app.path("f\($0)"), size: UInt64(sizes[$0])) }
        let results = ParallelHasher(chunkSize: 4096, workers: 3).hash(jobs + [.init(path: app.path("absent"), size: 5)])
        for (index, result) in results.dropLast().enumerated() {
            #expect(try result.get() == digest(of: try app.read("f\(index)"), chunkSize: 4096), "size \(sizes[index])")
        }
        guard case .failure(let failure) = results.last! else {
            Issue.record("absent file hashed")
            return
        }
        #expect(failure.reason.contains("cannot open"))
        // A file shorter than announced is caught, not padded.
        let short = ParallelHasher(chunkSize: 4096).hash([.init(path: app.path("f2"), size: 5000)])
        guard case .failure(let shrank) = short[0] else {
            Issue.record("short read accepted")
            return
        }
        #expect(shrank.reason.contains("shrank"))
    }
}
