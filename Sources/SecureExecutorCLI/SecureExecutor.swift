import ArgumentParser
import Foundation

@main
struct SecureExecutor: ParsableCommand {
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

        `secure-executor demo` walks through all of it on a built-in example.
        See docs/MANIFEST.md for the manifest keys and docs/FORMAT.md for the files written.
        """,
        subcommands: [Demo.self, Keygen.self, Sign.self, Verify.self, Inspect.self, Run.self, FunctionCommand.self, Invoke.self, ExamplesCommand.self])
}

/// Errors reach the operator as one clear line on stderr and exit status 1 (verify uses 1 for
/// "problems found" too; ArgumentParser's own usage errors exit 64).
func fail(_ error: Any) -> Never {
    FileHandle.standardError.write(Data("error: \(error)\n".utf8))
    Foundation.exit(1)
}
