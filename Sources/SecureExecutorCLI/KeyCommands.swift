import ArgumentParser
import Foundation
import TrustedFiles

struct Keygen: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create an Ed25519 signing key.",
        discussion: """
            Writes the private key to --out with mode 0600 and the public key to OUT.pub, and \
            prints the public key and its short key id. Give the .pub file (or the printed key) \
            to `verify --signer` on the machines that must only accept your signature.
            """)

    @Option(name: .shortAndLong, help: "Where to write the private key.")
    var out: String

    @Flag(help: "Replace an existing key (only a key file keygen wrote: never a link, a folder or another file).")
    var force = false

    func run() throws {
        let key = SigningKey.generate()
        do {
            // Both refusals before either write, so a refused .pub never leaves a lone new key.
            try SigningKey.checkReplaceable(path: out, overwrite: force)
            try PublicKey.checkReplaceable(path: out + ".pub", overwrite: force)
            try key.save(path: out, overwrite: force)
            try key.publicKey.save(path: out + ".pub", overwrite: force)
        } catch {
            fail(error)
        }
        print("public key: \(key.publicKey)")
        print("key id:     \(key.publicKey.keyID)")
        print("wrote \(out) (private, mode 0600) and \(out).pub")
    }
}
