import Crypto
import Foundation

/// An Ed25519 signing key on disk. The file is text so an operator can see what it is:
///
///     # SecureExecutor Ed25519 signing key — keep secret (mode 0600)
///     # key id: 3f9a0c1d5e7b2468
///     ed25519-private:<base64 of the 32-byte seed>
public struct SigningKey {
    let key: Curve25519.Signing.PrivateKey

    /// A fresh random key, held only in memory until `save` writes it.
    public static func generate() -> SigningKey { SigningKey(key: Curve25519.Signing.PrivateKey()) }

    /// The matching public key, to give to nodes that pin the signer.
    public var publicKey: PublicKey { PublicKey(raw: [UInt8](key.publicKey.rawRepresentation)) }

    /// The first line of every key file `keygen` writes; how `save` knows a file is one of ours.
    static let header = "# SecureExecutor Ed25519 signing key"

    /// Reads a key written by `keygen`, refusing a file that group or others can read: a key
    /// others can read is a key others can sign with.
    public static func load(path: String) throws(KeyError) -> SigningKey {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .unreadable(path) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .unreadable(path) }
        guard info.st_mode & 0o077 == 0 else { throw .exposed(path, mode: info.st_mode & 0o7777) }
        guard let text = KeyFile.readText(fd, limit: 64 << 10) else { throw .unreadable(path) }
        return try parse(text, source: path)
    }

    static func parse(_ text: String, source path: String) throws(KeyError) -> SigningKey {
        for line in text.split(whereSeparator: \.isNewline) where line.hasPrefix("ed25519-private:") {
            guard let raw = Data(base64Encoded: String(line.dropFirst("ed25519-private:".count)).trimmingCharacters(in: .whitespaces)),
                let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: raw)
            else {
                throw .malformed(path, "the ed25519-private line is not 32 bytes of base64")
            }
            return SigningKey(key: key)
        }
        throw .malformed(path, "no \"ed25519-private:\" line; create a key with `secure-executor keygen`")
    }

    /// Writes the key with mode 0600, refusing to replace an existing file unless asked, and
    /// even then only a key file this tool wrote (never a link, a folder or another file).
    public func save(path: String, overwrite: Bool) throws(KeyError) {
        let text = """
            \(SigningKey.header) — keep secret (mode 0600)
            # key id: \(publicKey.keyID)
            ed25519-private:\(key.rawRepresentation.base64EncodedString())

            """
        try KeyFile.write(text, to: path, mode: 0o600, overwrite: overwrite, kind: .privateKey)
    }

    /// What `save` would refuse, checked without writing.
    public static func checkReplaceable(path: String, overwrite: Bool) throws(KeyError) {
        try KeyFile.checkReplaceable(path, overwrite: overwrite, kind: .privateKey)
    }

    /// A key for one other purpose, named by `label` (HKDF-SHA256 over the seed), so that
    /// purpose never handles the signing key itself.
    func derivedKey(label: String) -> SymmetricKey {
        HKDF<SHA256>.deriveKey(inputKeyMaterial: SymmetricKey(data: key.rawRepresentation), info: Array(label.utf8), outputByteCount: 32)
    }

    /// Ed25519 signing fails only if BoringSSL cannot allocate; that is reported, not trapped.
    func sign(_ message: [UInt8]) throws(SignError) -> [UInt8] {
        do { return [UInt8](try key.signature(for: message)) } catch { throw .write("cannot sign: \(error)") }
    }
}

/// An Ed25519 public key, written `ed25519:<base64>`.
public struct PublicKey: Sendable, Equatable, CustomStringConvertible {
    /// The 32 raw key bytes; always a valid Ed25519 point.
    public let raw: [UInt8]

    /// First 8 bytes of SHA-256(public key), in hex: short enough to read aloud, and only
    /// ever shown; pinning always compares the whole key.
    public var keyID: String { hex(Array(SHA256.hash(data: raw).prefix(8))) }
    /// `ed25519:<base64>`: the form `.pub` files and signature files store.
    public var description: String { "ed25519:" + Data(raw).base64EncodedString() }

    init(raw: [UInt8]) { self.raw = raw }

    /// For a command-line argument: the key itself, or a path to a file holding it (as
    /// `keygen` writes next to the private key).
    public init(argument: String) throws(KeyError) {
        let trimmed = argument.trimmingCharacters(in: .whitespacesAndNewlines)
        if FileManager.default.fileExists(atPath: trimmed) {
            guard let contents = try? String(contentsOfFile: trimmed, encoding: .utf8) else { throw .unreadable(trimmed) }
            let line = contents.split(whereSeparator: \.isNewline).first { !$0.hasPrefix("#") }
            try self.init(parsing: line.map(String.init) ?? "")
        } else {
            try self.init(parsing: trimmed)
        }
    }

    /// Accepts `ed25519:<base64>`, bare base64, or 64 hex digits; never reads a file (a
    /// signature file's `public_key` field goes through here).
    public init(parsing text: String) throws(KeyError) {
        var candidate = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if candidate.hasPrefix("ed25519:") { candidate = String(candidate.dropFirst(8)) }
        let raw = candidate.count == 64 ? unhex(candidate) : Data(base64Encoded: candidate).map { [UInt8]($0) }
        guard let raw, raw.count == 32, (try? Curve25519.Signing.PublicKey(rawRepresentation: raw)) != nil else {
            throw .malformed(text, "not an Ed25519 public key (expected ed25519:<base64>, 64 hex digits, or a .pub file written by keygen)")
        }
        self.raw = raw
    }

    /// Writes `ed25519:<base64>` (what `PublicKey(argument:)` reads back) with mode 0644, with
    /// the same refusals as `SigningKey.save`.
    public func save(path: String, overwrite: Bool) throws(KeyError) {
        try KeyFile.write(description + "\n", to: path, mode: 0o644, overwrite: overwrite, kind: .publicKey)
    }

    /// What `save` would refuse, checked without writing.
    public static func checkReplaceable(path: String, overwrite: Bool) throws(KeyError) {
        try KeyFile.checkReplaceable(path, overwrite: overwrite, kind: .publicKey)
    }

    func isValidSignature(_ signature: [UInt8], for message: [UInt8]) -> Bool {
        guard let key = try? Curve25519.Signing.PublicKey(rawRepresentation: raw) else { return false }
        return key.isValidSignature(signature, for: message)
    }
}

/// Why a key could not be read, parsed or written. The first value is the path (or, for
/// `.malformed`, the text or path that was rejected).
public enum KeyError: Error, Equatable, CustomStringConvertible {
    case unreadable(String)
    case malformed(String, String)
    case exists(String)
    case unwritable(String, String)
    case exposed(String, mode: mode_t)
    case notAKeyFile(String, String)

    /// The message for the operator, with the fix where there is one (chmod, --force).
    public var description: String {
        switch self {
        case let .unreadable(path): return "cannot read key file \(path)"
        case let .malformed(what, reason): return "\(what): \(reason)"
        case let .exists(path): return "\(path) already exists; refusing to overwrite a key (pass --force to replace it)"
        case let .unwritable(path, reason): return "cannot write \(path): \(reason)"
        case let .exposed(path, mode):
            return "\(path): private key has mode \(String(mode, radix: 8)), readable by group or others; refusing to sign with it (fix: chmod 600 \(path))"
        case let .notAKeyFile(path, what):
            return "\(path) is \(what), not a key file written by `secure-executor keygen`; refusing to overwrite it even with --force"
        }
    }
}

/// What binds manifest and table together: measurement = SHA-256(domain ‖ SHA-256(manifest
/// bytes) ‖ table digest). Each component is kept so either can be re-checked alone and a
/// mismatch can say which part changed.
public struct Measurement: Sendable, Equatable {
    /// SHA-256 of the manifest's exact bytes (32 bytes).
    public let manifestHash: [UInt8]
    /// `FileHashing.tableDigest` of the serialised table (32 bytes).
    public let tableDigest: [UInt8]

    /// From components already computed, e.g. read back from a signature file.
    public init(manifestHash: [UInt8], tableDigest: [UInt8]) {
        self.manifestHash = manifestHash
        self.tableDigest = tableDigest
    }

    /// Hashes the manifest bytes and the table bytes as they are on disk.
    public init(manifest: [UInt8], table: UnsafeRawBufferPointer) {
        self.init(manifestHash: manifest.withUnsafeBytes(FileHashing.sha256), tableDigest: FileHashing.tableDigest(table))
    }

    /// The 32-byte measurement itself, recomputed on each access; this is what gets signed.
    public var value: [UInt8] {
        var hasher = SHA256()
        hasher.update(data: HashDomain.measurement)
        hasher.update(data: manifestHash)
        hasher.update(data: tableDigest)
        return Array(hasher.finalize())
    }
}

/// `APP.sig`: JSON, so an operator can read who signed what and when.
public struct SignatureFile: Codable, Sendable, Equatable {
    /// The `format` value every signature file must carry.
    public static let formatName = "secure-executor-signature"

    /// Must equal `formatName`; `decode` refuses anything else.
    public var format: String
    /// File format version; only 1 is accepted.
    public var version: Int
    /// Signature algorithm; only `"ed25519"` is accepted.
    public var algorithm: String
    /// The signer's key as `ed25519:<base64>`; it must be pinned by the verifier to mean anything.
    public var publicKey: String
    /// `PublicKey.keyID` of `publicKey`, for people; checked to match it.
    public var keyID: String
    /// Seconds since 1970-01-01 UTC.
    public var created: Int64
    /// `app.name` at signing time; covered by the signature.
    public var appName: String
    /// `app.version` at signing time; covered by the signature.
    public var appVersion: String
    /// `Measurement.manifestHash` in hex.
    public var manifestSHA256: String
    /// `Measurement.tableDigest` in hex.
    public var tableDigest: String
    /// `Measurement.value` in hex; re-derived from the two hashes when checked.
    public var measurement: String
    /// The Ed25519 signature in base64.
    public var signature: String

    enum CodingKeys: String, CodingKey {
        case format, version, algorithm, created, measurement, signature
        case publicKey = "public_key"
        case keyID = "key_id"
        case appName = "app_name"
        case appVersion = "app_version"
        case manifestSHA256 = "manifest_sha256"
        case tableDigest = "table_digest"
    }

    /// The signed message: domain ‖ measurement ‖ key id (8 bytes) ‖ created (i64 LE) ‖
    /// app name and version (u32 LE length + UTF-8 each).
    static func message(measurement: [UInt8], keyID: String, created: Int64, appName: String, appVersion: String) -> [UInt8] {
        var out = ByteWriter(capacity: 128)
        out.bytes(HashDomain.signature)
        out.bytes(measurement)
        out.bytes(unhex(keyID) ?? [])
        out.integer(created)
        for text in [appName, appVersion] {
            out.integer(UInt32(text.utf8.count))
            out.bytes(Array(text.utf8))
        }
        return out.result
    }

    /// Signs `measurement` with `key` and fills in every field; `created` is seconds since 1970.
    public static func make(measurement: Measurement, key: SigningKey, created: Int64, appName: String, appVersion: String) throws(SignError) -> SignatureFile {
        let publicKey = key.publicKey
        let value = measurement.value
        let signature = try key.sign(message(measurement: value, keyID: publicKey.keyID, created: created, appName: appName, appVersion: appVersion))
        return SignatureFile(
            format: formatName, version: 1, algorithm: "ed25519", publicKey: publicKey.description, keyID: publicKey.keyID,
            created: created, appName: appName, appVersion: appVersion,
            manifestSHA256: hex(measurement.manifestHash), tableDigest: hex(measurement.tableDigest),
            measurement: hex(value), signature: Data(signature).base64EncodedString())
    }

    /// Pretty-printed JSON with sorted keys and a trailing newline, as written to `APP.sig`.
    public func encoded() throws(SignError) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        do { return try encoder.encode(self) + Data("\n".utf8) } catch { throw .write("cannot encode the signature file: \(error)") }
    }

    /// Parses the JSON and checks format, version and algorithm only; the signature itself
    /// is not checked here. Throws `.malformedSignature` naming `source`.
    public static func decode(_ data: Data, source: String) throws(BundleError) -> SignatureFile {
        let file: SignatureFile
        do {
            file = try JSONDecoder().decode(SignatureFile.self, from: data)
        } catch {
            throw .malformedSignature(source, "not a signature file: \(error)")
        }
        guard file.format == formatName, file.version == 1, file.algorithm == "ed25519" else {
            throw .malformedSignature(
                source, "format \(file.format) version \(file.version) algorithm \(file.algorithm) is not supported (expected \(formatName) 1 ed25519)")
        }
        return file
    }

    /// Checks the signature over the recorded fields, and that the recorded measurement is the
    /// one those fields give; `accepted` nil takes any key, else the signer must be one of
    /// them. Says nothing yet about the files on disk.
    func checkSignature(source: String, accepting accepted: [PublicKey]?) throws(BundleError) -> PublicKey {
        let key: PublicKey
        do { key = try PublicKey(parsing: publicKey) } catch { throw .malformedSignature(source, "public_key: \(error)") }
        guard key.keyID == keyID else { throw .malformedSignature(source, "key_id \(keyID) does not belong to public_key (its id is \(key.keyID))") }
        if let accepted, !accepted.contains(key) {
            throw .wrongSigner(source, found: key.keyID, expected: accepted.map(\.keyID))
        }
        guard let manifestHash = unhex(manifestSHA256), manifestHash.count == 32,
            let digest = unhex(tableDigest), digest.count == 32,
            let recorded = unhex(measurement), let signatureBytes = Data(base64Encoded: signature)
        else {
            throw .malformedSignature(source, "a hash or the signature is not well-formed hex/base64")
        }
        let computed = Measurement(manifestHash: manifestHash, tableDigest: digest).value
        let message = SignatureFile.message(measurement: computed, keyID: keyID, created: created, appName: appName, appVersion: appVersion)
        guard recorded == computed, key.isValidSignature([UInt8](signatureBytes), for: message) else {
            throw .badSignature(source, keyID: keyID)
        }
        return key
    }
}

func hex(_ bytes: some Sequence<UInt8>) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var out: [UInt8] = []
    for byte in bytes {
        out.append(digits[Int(byte >> 4)])
        out.append(digits[Int(byte & 0xF)])
    }
    return String(decoding: out, as: UTF8.self)
}

func unhex(_ text: String) -> [UInt8]? {
    let utf8 = Array(text.utf8)
    guard utf8.count % 2 == 0 else { return nil }
    func value(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
    var out: [UInt8] = []
    out.reserveCapacity(utf8.count / 2)
    var index = 0
    while index < utf8.count {
        guard let high = value(utf8[index]), let low = value(utf8[index + 1]) else { return nil }
        out.append(high << 4 | low)
        index += 2
    }
    return out
}

/// Lower-case hex, two digits per byte, for callers outside this module.
public func hexString(_ bytes: some Sequence<UInt8>) -> String { hex(bytes) }
