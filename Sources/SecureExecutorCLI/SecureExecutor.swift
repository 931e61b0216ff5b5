import ArgumentParser
import Foundation
import TrustedFiles

@main
struct SecureExecutor: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "secure-executor",
        abstract: "Prepare an application for a trusted execution boundary, and check it.",
        discussion: """
            The workflow: write one manifest (APP.toml) by hand, create a signing key once, sign the \
            application, and verify it on the machine where it will run.

              secure-executor keygen --out signer.key
              secure-executor sign app.toml --key signer.key
              secure-executor verify app.toml --signer signer.key.pub
              secure-executor inspect app.trusted
              secure-executor run app.toml --signer signer.key.pub   (or list the key in \(TrustedSignersFile.defaultPath))

            `secure-executor demo` walks through all of it on a built-in example.
            See docs/MANIFEST.md for the manifest keys and docs/FORMAT.md for the files written.
            """,
        subcommands: [
            Demo.self, Keygen.self, Sign.self, Verify.self, Inspect.self, Run.self, FunctionCommand.self, Invoke.self, ExamplesCommand.self, NodeCommand.self,
        ])
}

/// Errors reach the operator as one clear line on stderr and exit status 1 (verify uses 1 for
/// "problems found" too; ArgumentParser's own usage errors exit 64).
func fail(_ error: Any) -> Never {
    FileHandle.standardError.write(Data("error: \(error)\n".utf8))
    Foundation.exit(1)
}

/// The manifest and the signature checks shared by `verify` and `run`; which signers are
/// accepted is decided by `SignerTrust`.
struct SignedBundleOptions: ParsableArguments {
    @Argument(help: "The application manifest (APP.toml).")
    var manifest: String

    @Option(
        help: "A public key to accept (ed25519:<base64>, 64 hex digits, or a .pub file); repeat to accept any of several. Overrides the trusted-signers file.")
    var signer: [String] = []

    @Option(
        help:
            "File of accepted public keys, one per line (default: \(TrustedSignersFile.defaultPath), if it exists). Must not be writable by group or others nor lie inside the app root."
    )
    var trustedSigners: String?

    @Option(help: "Folder holding APP.trusted and APP.sig (default: the manifest's folder).")
    var bundle: String?

    /// Loads the bundle, or ends the program with the reason it was refused. `requirePin`:
    /// refuse an unpinned signer unless `anySigner`.
    func load(requirePin: Bool = false, anySigner: Bool = false) -> (bundle: SignedBundle, outcome: SignerTrust.Outcome) {
        var trust = SignerTrust()
        trust.signers = signer
        trust.trustedSignersFile = trustedSigners
        trust.anySigner = anySigner
        trust.requirePin = requirePin
        do { return try trust.load(manifestPath: manifest, bundleDirectory: bundle) } catch { fail(error) }
    }
}
