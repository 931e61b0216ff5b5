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

    @Flag(help: "Replace an existing key file.")
    var force = false

    func run() throws {
        let key = SigningKey.generate()
        do {
            try key.save(path: out, overwrite: force)
            try (key.publicKey.description + "\n").write(toFile: out + ".pub", atomically: true, encoding: .utf8)
        } catch {
            fail(error)
        }
        print("public key: \(key.publicKey)")
        print("key id:     \(key.publicKey.keyID)")
        print("wrote \(out) (private, mode 0600) and \(out).pub")
    }
}
