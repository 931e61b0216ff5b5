import Foundation

/// The operator's list of keys `run` accepts, one public key per line (`ed25519:<base64>`, bare
/// base64 or 64 hex digits, then an optional label; `#` starts a comment line).
///
/// Only a file the operator controls can pin a signer: the file and every folder above it must
/// be owned by root or by the user running the node and not writable by group or others (a
/// sticky folder such as /tmp excepted: others cannot replace what is in it), and it must not
/// lie inside the application root, which the app may be able to write.
public struct TrustedSignersFile: Sendable {
    public static let defaultPath = "/etc/secure-executor/trusted-signers"
    /// A list of keys, not a data file: anything larger is a mistake.
    static let maxBytes = 1 << 20

    /// As given, for messages.
    public let path: String
    /// With every link resolved: what was checked and read.
    public let resolvedPath: String
    public let keys: [PublicKey]

    public static func load(path: String) throws(TrustedSignersError) -> TrustedSignersFile {
        guard let resolved = realpath(path, nil) else {
            throw errno == ENOENT ? .missing(path) : .unreadable(path, String(cString: strerror(errno)))
        }
        let resolvedPath = String(cString: resolved)
        free(resolved)
        let fd = open(resolvedPath, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw .unreadable(path, String(cString: strerror(errno))) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .unreadable(path, String(cString: strerror(errno))) }
        guard info.st_mode & S_IFMT == S_IFREG else { throw .unreadable(path, "not a regular file") }
        try checkControlled(path, info: info, folder: false)
        var folder = (resolvedPath as NSString).deletingLastPathComponent
        while true {
            var folderInfo = stat()
            guard stat(folder, &folderInfo) == 0 else { throw .unreadable(folder, String(cString: strerror(errno))) }
            try checkControlled(folder, info: folderInfo, folder: true)
            if folder == "/" { break }
            folder = (folder as NSString).deletingLastPathComponent
        }
        guard let text = KeyFile.readText(fd, limit: maxBytes) else {
            throw .unreadable(path, "not UTF-8 text of at most \(maxBytes) bytes")
        }
        var keys: [PublicKey] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard !trimmed.isEmpty, !trimmed.hasPrefix("#"), let token = trimmed.split(whereSeparator: \.isWhitespace).first else { continue }
            do { keys.append(try PublicKey(parsing: String(token))) } catch { throw .badLine(path, line: index + 1, reason: error.description) }
        }
        guard !keys.isEmpty else { throw .empty(path) }
        return TrustedSignersFile(path: path, resolvedPath: resolvedPath, keys: keys)
    }

    /// The app must not be able to write its own trust: refuses a file beneath `root`.
    public func refuseInside(root: String) throws(TrustedSignersError) {
        var realRoot = root
        if let resolved = realpath(root, nil) {
            realRoot = String(cString: resolved)
            free(resolved)
        }
        if resolvedPath == realRoot || resolvedPath.hasPrefix(realRoot.hasSuffix("/") ? realRoot : realRoot + "/") {
            throw .insideRoot(path, root: root)
        }
    }

    private static func checkControlled(_ path: String, info: stat, folder: Bool) throws(TrustedSignersError) {
        guard info.st_uid == 0 || info.st_uid == geteuid() else { throw .foreignOwner(path, uid: info.st_uid) }
        let sticky = folder && info.st_mode & S_ISVTX != 0
        guard info.st_mode & 0o022 == 0 || sticky else {
            throw .writableByOthers(path, mode: info.st_mode & 0o7777, folder: folder)
        }
    }
}

public enum TrustedSignersError: Error, Equatable, CustomStringConvertible {
    case missing(String)
    case unreadable(String, String)
    case writableByOthers(String, mode: mode_t, folder: Bool)
    case foreignOwner(String, uid: uid_t)
    case insideRoot(String, root: String)
    case badLine(String, line: Int, reason: String)
    case empty(String)

    public var description: String {
        let refusal = "refusing to trust it to pin signers"
        switch self {
        case let .missing(path): return "trusted-signers file \(path) does not exist"
        case let .unreadable(path, reason): return "trusted-signers file \(path) cannot be read: \(reason)"
        case let .writableByOthers(path, mode, folder):
            let what = folder ? "folder \(path) above the trusted-signers file" : "trusted-signers file \(path)"
            return "\(what) has mode \(String(mode, radix: 8)), writable by group or others; \(refusal) (fix: chmod go-w \(path))"
        case let .foreignOwner(path, uid):
            return "\(path) is owned by uid \(uid), neither root nor the user running the node (uid \(geteuid())); \(refusal) (fix: chown root \(path))"
        case let .insideRoot(path, root):
            return
                "trusted-signers file \(path) lies inside the application root \(root), where the app could rewrite its own trust; \(refusal) (fix: keep it outside the app, e.g. \(TrustedSignersFile.defaultPath))"
        case let .badLine(path, line, reason): return "trusted-signers file \(path) line \(line): \(reason)"
        case let .empty(path): return "trusted-signers file \(path) lists no keys; add one public key per line (as `keygen` writes to KEY.pub)"
        }
    }
}

/// Which signers a command accepts, decided in one place for `run` and `verify`: the keys given
/// with `--signer` (any of them), else the keys of the trusted-signers file (`--trusted-signers`,
/// or the default path if it exists), else nobody pinned — which `run` refuses unless the
/// operator asked for `--insecure-any-signer`.
public struct SignerTrust: Sendable {
    /// `--signer` values: key text or a .pub file each.
    public var signers: [String] = []
    /// `--trusted-signers`; nil means the default path, used only if it exists.
    public var trustedSignersFile: String?
    /// `--insecure-any-signer`: accept any valid signature, loudly.
    public var anySigner = false
    /// `run` needs a pin (or `anySigner`); `verify` reports an unpinned signature instead.
    public var requirePin = false

    public init() {}

    /// How the signer of a loaded bundle was accepted.
    public enum Outcome: Sendable, Equatable {
        /// One of these keys signed it; `source` says who pinned them (`--signer` or a file).
        case pinned(keys: [PublicKey], source: String)
        /// Nobody pinned a key: any valid signature was accepted (verify's report only).
        case unpinned
        /// `--insecure-any-signer`.
        case anySigner
    }

    /// The warning `run --insecure-any-signer` prints and `/health` carries.
    public static func insecureWarning(signer: PublicKey) -> String {
        "WARNING: --insecure-any-signer: no signer is pinned, this node runs a bundle signed by ANY key (this one by key \(signer.keyID)); "
            + "for development only: pin the key with --signer KEY.pub or in \(TrustedSignersFile.defaultPath)"
    }

    /// Loads and checks the bundle against the accepted signers.
    public func load(manifestPath: String, bundleDirectory: String?) throws(SignerTrustError) -> (bundle: SignedBundle, outcome: Outcome) {
        if anySigner && (!signers.isEmpty || trustedSignersFile != nil) {
            throw .conflicting
        }
        var file: TrustedSignersFile?
        let outcome: Outcome
        if !signers.isEmpty {
            var keys: [PublicKey] = []
            for text in signers {
                do { keys.append(try PublicKey(argument: text)) } catch { throw .key(error) }
            }
            outcome = .pinned(keys: keys, source: "--signer")
        } else if anySigner {
            outcome = .anySigner
        } else {
            do throws(TrustedSignersError) {
                file = try TrustedSignersFile.load(path: trustedSignersFile ?? TrustedSignersFile.defaultPath)
                outcome = .pinned(keys: file!.keys, source: file!.path)
            } catch .missing(_) where trustedSignersFile == nil {
                guard !requirePin else { throw .notPinned(manifestPath) }
                outcome = .unpinned
            } catch {
                throw .trustedSigners(error)
            }
        }
        let accepted: [PublicKey]?
        if case let .pinned(keys, _) = outcome { accepted = keys } else { accepted = nil }
        let bundle: SignedBundle
        do { bundle = try SignedBundle.load(manifestPath: manifestPath, bundleDirectory: bundleDirectory, signers: accepted) } catch { throw .bundle(error) }
        do { try file?.refuseInside(root: bundle.manifest.root) } catch { throw .trustedSigners(error) }
        return (bundle, outcome)
    }
}

public enum SignerTrustError: Error, CustomStringConvertible {
    case notPinned(String)
    case conflicting
    case key(KeyError)
    case trustedSigners(TrustedSignersError)
    case bundle(BundleError)

    public var description: String {
        switch self {
        case let .notPinned(manifest):
            return """
                refusing to run \(manifest): no signer is pinned, so a bundle re-signed with anyone's key would run. Pin the key that signs your app, either
                  --signer KEY.pub                 (the .pub file keygen wrote, or ed25519:<base64>; may be given more than once), or
                  one key per line in \(TrustedSignersFile.defaultPath) (# comments; owned by root or you, not writable by group or others, outside the app root),
                  or in another such file given with --trusted-signers FILE.
                For development only, --insecure-any-signer runs a bundle signed by any key, with a warning in the log and in /health.
                """
        case .conflicting:
            return "--insecure-any-signer cannot be combined with --signer or --trusted-signers: either pin a signer or accept any, not both"
        case let .key(error): return error.description
        case let .trustedSigners(error): return error.description
        case let .bundle(error): return error.description
        }
    }
}
