import ArgumentParser
import Foundation
import Manifest
import TrustedFiles

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check the signature, the measurement and every trusted file on disk.",
        discussion: """
        Prints one line per problem — MODIFIED, MISSING, RESIZED, NEW (a file matched by the \
        manifest but not signed), SYMLINK (a file replaced by a link or back) — and exits 1 if \
        there is any. Without --signer any valid signature is accepted and its key id is \
        printed; with --signer only that key is.
        """)

    @Argument(help: "The application manifest (APP.toml).")
    var manifest: String

    @Option(help: "The only public key to accept: ed25519:<base64>, 64 hex digits, or a .pub file.")
    var signer: String?

    @Option(help: "Folder holding APP.trusted and APP.sig (default: the manifest's folder).")
    var bundle: String?

    func run() throws {
        let pinned: PublicKey?
        do { pinned = try signer.map { (text) throws(KeyError) in try PublicKey(argument: text) } } catch { fail(error) }
        let loaded: SignedBundle
        do {
            loaded = try SignedBundle.load(manifestPath: manifest, bundleDirectory: bundle, signer: pinned)
        } catch {
            fail(error)
        }
        print("signature: valid, key \(loaded.signer.keyID)\(pinned == nil ? " (not pinned: pass --signer to accept only your key)" : " (pinned)")")
        print("measurement: \(hexString(loaded.measurement.value))")
        let result = DiskCheck.run(loaded)
        for problem in result.problems { print(problem) }
        if result.problems.isEmpty {
            print("verify: OK — \(result.checkedFiles) trusted files (\(formatBytes(result.checkedBytes))) match the signed table")
        } else {
            print("verify: FAILED — \(result.problems.count) problem(s); \(result.checkedFiles) of \(loaded.table.count) files checked")
            throw ExitCode(1)
        }
    }
}
