import Foundation
import Manifest
import Support

/// A signed application as the runtime loads it: the manifest, its table and its signature,
/// each checked against the others before anything in them is used.
public struct SignedBundle: Sendable {
    /// The manifest, parsed only after its bytes matched the signature.
    public let manifest: Manifest
    /// The table, in private read-only memory, matched against the signed digest.
    public let table: TrustedTable
    /// The signature file as read.
    public let signature: SignatureFile
    /// The key that made the signature (one of the pinned keys, if any were given).
    public let signer: PublicKey
    /// Recomputed from the bytes actually loaded.
    public let measurement: Measurement
    /// Where the table and signature were read from.
    public let paths: Paths

    /// Where `sign` writes, and `verify`/`run` look for, the table and the signature:
    /// `DIR/NAME.trusted` and `DIR/NAME.sig`, DIR defaulting to the manifest's folder.
    public struct Paths: Sendable {
        /// `DIR/NAME.trusted`.
        public let table: String
        /// `DIR/NAME.sig`.
        public let signature: String

        /// For a parsed manifest; `directory` nil means the manifest's folder.
        public init(manifest: Manifest, directory: String? = nil) {
            self.init(manifestPath: manifest.path, directory: directory)
        }

        /// From the manifest's absolute path alone, so they are known before it is parsed.
        public init(manifestPath: String, directory: String? = nil) {
            let folder = directory ?? PathText.folder(of: manifestPath)
            table = folder + "/" + Manifest.baseName(ofPath: manifestPath) + ".trusted"
            signature = folder + "/" + Manifest.baseName(ofPath: manifestPath) + ".sig"
        }

        /// Everything `sign` writes (FileSelection also leaves out their temporary files).
        public var outputs: [String] { [table, signature, StatCache.path(forTable: table)] }
    }

    /// `load(…, signers:)` with one pinned key, or none (any valid signature).
    public static func load(manifestPath: String, bundleDirectory: String? = nil, signer pinned: PublicKey?) throws(BundleError) -> SignedBundle {
        try load(manifestPath: manifestPath, bundleDirectory: bundleDirectory, signers: pinned.map { [$0] })
    }

    /// Checks, in order: the signature over the recorded hashes (and that its key is one of
    /// `signers`, unless nil), then that the manifest's bytes on disk are the ones signed, and
    /// only then parses them (the TOML parser never sees bytes nobody signed), then that the
    /// table is the one signed, then its structure. Each failure names the part that differs.
    public static func load(manifestPath: String, bundleDirectory: String? = nil, signers: [PublicKey]?) throws(BundleError) -> SignedBundle {
        let bytes: [UInt8]
        let file: String
        do { (bytes, file) = try Manifest.readBytes(path: manifestPath) } catch { throw .manifest(error) }
        let paths = Paths(manifestPath: file, directory: bundleDirectory)

        guard let signatureData = FileManager.default.contents(atPath: paths.signature) else {
            throw .missingSignature(paths.signature)
        }
        let signature = try SignatureFile.decode(signatureData, source: paths.signature)
        let signer = try signature.checkSignature(source: paths.signature, accepting: signers)

        let manifestHash = bytes.withUnsafeBytes(FileHashing.sha256)
        guard unhex(signature.manifestSHA256) == manifestHash else {
            throw .manifestChanged(file, signed: signature.manifestSHA256, actual: hex(manifestHash))
        }
        let manifest: Manifest
        do { manifest = try Manifest(bytes: bytes, path: file) } catch { throw .manifest(error) }
        let memory: TableMemory
        let digest: [UInt8]
        do {
            (memory, digest) = try TableMemory.readDigesting(path: paths.table, limit: TableLayout.maxTableBytes)
        } catch {
            throw .table(TableError(source: paths.table, problem: .unreadable(error.reason)))
        }
        guard unhex(signature.tableDigest) == digest else {
            throw .tableChanged(paths.table, signed: signature.tableDigest, actual: hex(digest))
        }
        let table: TrustedTable
        do { table = try TrustedTable(memory: memory, source: paths.table) } catch { throw .table(error) }
        guard table.chunkSize == manifest.trusted.chunkSize else {
            throw .table(
                TableError(
                    source: paths.table,
                    problem: .badHeader(
                        field: "chunk size", reason: "is \(table.chunkSize) but the manifest asks for \(manifest.trusted.chunkSize)")))
        }
        return SignedBundle(
            manifest: manifest, table: table, signature: signature, signer: signer,
            measurement: Measurement(manifestHash: manifestHash, tableDigest: digest), paths: paths)
    }
}

/// Why a bundle was refused; each case names the file that failed and, for a hash mismatch,
/// the signed and actual values.
public enum BundleError: Error, CustomStringConvertible {
    case manifest(ManifestError)
    case table(TableError)
    case missingSignature(String)
    case malformedSignature(String, String)
    case wrongSigner(String, found: String, expected: [String])
    case badSignature(String, keyID: String)
    case manifestChanged(String, signed: String, actual: String)
    case tableChanged(String, signed: String, actual: String)

    /// One line for the operator, saying what to do next where that is clear.
    public var description: String {
        switch self {
        case let .manifest(error): return error.description
        case let .table(error): return error.description
        case let .missingSignature(path): return "\(path): no signature; run `secure-executor sign` first"
        case let .malformedSignature(path, reason): return "\(path): \(reason)"
        case let .wrongSigner(path, found, expected):
            let pinned = expected.count == 1 ? "key \(expected[0])" : "one of the pinned keys \(expected.joined(separator: ", "))"
            return "\(path): signed by key \(found), but the expected signer is \(pinned); refusing to load"
        case let .badSignature(path, keyID):
            return "\(path): the signature does not verify with key \(keyID): the signature file was edited or made by another key"
        case let .manifestChanged(path, signed, actual):
            return "\(path): the manifest changed after signing (signed sha256 \(signed.prefix(16))…, now \(actual.prefix(16))…); sign again"
        case let .tableChanged(path, signed, actual):
            return "\(path): the trusted-file table changed after signing (signed digest \(signed.prefix(16))…, now \(actual.prefix(16))…)"
        }
    }
}
