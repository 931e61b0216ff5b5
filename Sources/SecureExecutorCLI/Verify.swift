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

    @OptionGroup var options: SignedBundleOptions

    func run() throws {
        let (loaded, pinned) = options.load()
        print("signature: valid, key \(loaded.signer.keyID)\(pinned ? " (pinned)" : " (not pinned: pass --signer to accept only your key)")")
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
