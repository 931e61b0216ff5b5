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
            there is any. With --signer (or a trusted-signers file, as for `run`) only those keys \
            are accepted; without either any valid signature is, and verify says the signer is NOT \
            pinned.
            """)

    @OptionGroup var options: SignedBundleOptions

    func run() throws {
        let (loaded, outcome) = options.load()
        switch outcome {
        case let .pinned(_, source): print("signature: valid, key \(loaded.signer.keyID), signer pinned (by \(source))")
        case .unpinned, .anySigner:
            print(
                "signature: valid, key \(loaded.signer.keyID), signer NOT pinned: any key could have made this signature; "
                    + "pass --signer KEY.pub or list your key in \(TrustedSignersFile.defaultPath)")
        }
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
