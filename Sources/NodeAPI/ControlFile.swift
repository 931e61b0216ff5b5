import Foundation
import Support

/// Where a running node tells its operator how to reach its API:
/// `<control folder>/<app>/control.json`, `{"app": …, "url": …, "token": …}`, mode 0600, in
/// folders of mode 0700 owned by the user the node runs as. Whoever can read the file controls
/// the node, so both are checked every time they are used, by the node that writes it and by
/// the `node` commands that read it. Each node has a folder of its own so that the sandbox
/// binds only that one into its runtime: a runtime never sees, or replaces, another node's file.
public struct ControlFile: Codable, Sendable, Equatable {
    /// The app's name as given, not the sanitised folder name `nodeFolder` makes of it.
    public var app: String
    /// The node API's base URL, `http://HOST:PORT`, no trailing slash.
    public var url: String
    /// The API token as 64 hex digits; send it as `Authorization: Bearer TOKEN`.
    public var token: String

    static let fileName = "control.json"

    /// The contents for one node; nothing is written until `write(into:)`.
    public init(app: String, url: String, token: ControlToken) {
        self.app = app
        self.url = url
        self.token = token.text
    }

    /// The default folder: `$XDG_RUNTIME_DIR/secure-executor` (a per-user tmpfs where systemd
    /// provides one), else `/tmp/secure-executor-<uid>`.
    public static func defaultFolder(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let runtime = environment["XDG_RUNTIME_DIR"], runtime.hasPrefix("/") { return runtime + "/secure-executor" }
        return "/tmp/secure-executor-\(geteuid())"
    }

    /// The node folder for an app inside `controlFolder`: the app's name with anything but
    /// letters, digits, `.`, `_` and `-` replaced by `_` (an app name may hold `/` or start
    /// with `.`).
    public static func nodeFolder(app: String, in controlFolder: String) -> String {
        var name = String(
            app.unicodeScalars.map { scalar -> Character in
                let allowed = scalar.isASCII && (CharacterSet.alphanumerics.contains(scalar) || "._-".unicodeScalars.contains(scalar))
                return allowed ? Character(scalar) : "_"
            })
        if name.hasPrefix(".") { name = "_" + name.dropFirst() }
        return controlFolder + "/" + name
    }

    /// Where the file of `app` is, for messages.
    public static func path(app: String, in controlFolder: String) -> String { nodeFolder(app: app, in: controlFolder) + "/" + fileName }

    /// Writes the file into the node's own `folder` (`nodeFolder(app:in:)`; created and checked
    /// first, its parent must exist): a new file made with O_EXCL
    /// and mode 0600, then renamed over any old one, so a reader never sees half a file and a
    /// link planted at the name is replaced, never followed.
    public func write(into folder: String) throws(ControlFileError) {
        let directory = try ControlFolder.open(folder)
        defer { close(directory) }
        let name = Self.fileName
        let temporary = ".\(name).\(getpid()).\(UInt32.random(in: 0...UInt32.max))"
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(self) else { throw .unwritable(path: folder + "/" + name, reason: "cannot encode it") }
        let fd = openat(directory, temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .unwritable(path: folder + "/" + temporary, reason: String(cString: strerror(errno))) }
        let written = data.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd) == 0
        close(fd)
        guard written == data.count, synced, renameat(directory, temporary, directory, name) == 0 else {
            let reason = String(cString: strerror(errno))
            unlinkat(directory, temporary, 0)
            throw .unwritable(path: folder + "/" + name, reason: reason)
        }
    }

    /// Removes this node's file from its `folder`, unless another node of the same app has
    /// replaced it since.
    public func remove(from folder: String) {
        guard let directory = try? ControlFolder.open(folder, create: false) else { return }
        defer { close(directory) }
        let name = Self.fileName
        if (try? Self.read(name, in: directory, folder: folder)) == self { unlinkat(directory, name, 0) }
    }

    /// The file of the node to talk to in `controlFolder`: `app`'s, or with `app` nil the only one.
    public static func find(in controlFolder: String, app: String?) throws(ControlFileError) -> ControlFile {
        close(try ControlFolder.open(controlFolder, create: false))
        if let app { return try read(in: nodeFolder(app: app, in: controlFolder), app: app) }
        let nodes = ((try? FileManager.default.contentsOfDirectory(atPath: controlFolder)) ?? [])
            .filter { FileManager.default.fileExists(atPath: controlFolder + "/" + $0 + "/" + fileName) }.sorted()
        switch nodes.count {
        case 0: throw .noNode(folder: controlFolder)
        case 1: return try read(in: controlFolder + "/" + nodes[0], app: nil)
        default: throw .severalNodes(folder: controlFolder, apps: nodes)
        }
    }

    private static func read(in folder: String, app: String?) throws(ControlFileError) -> ControlFile {
        let directory: Int32
        do { directory = try ControlFolder.open(folder, create: false) } catch .noNode {
            throw .noNode(folder: PathText.folder(of: folder), file: PathText.name(of: folder) + "/" + fileName)
        }
        defer { close(directory) }
        return try read(fileName, in: directory, folder: folder)
    }

    private static func read(_ name: String, in directory: Int32, folder: String) throws(ControlFileError) -> ControlFile {
        let path = folder + "/" + name
        let fd = openat(directory, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT { throw .noNode(folder: folder, file: name) }
            throw .unreadable(path: path, reason: String(cString: strerror(errno)))
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { throw .unreadable(path: path, reason: "not a regular file") }
        guard info.st_uid == geteuid(), info.st_mode & 0o077 == 0 else {
            throw .exposed(path: path, owner: info.st_uid, mode: info.st_mode & 0o777, expected: "mode 0600, owned by uid \(geteuid())")
        }
        guard info.st_size <= 64 << 10 else { throw .unreadable(path: path, reason: "larger than 64 KiB: not a control file") }
        let data = FileHandle(fileDescriptor: fd, closeOnDealloc: false).readDataToEndOfFile()
        guard let file = try? JSONDecoder().decode(ControlFile.self, from: data), ControlToken(text: file.token) != nil else {
            throw .unreadable(path: path, reason: "not a control file ({\"app\", \"url\", \"token\"} with a 64-hex-digit token)")
        }
        return file
    }
}

/// The folder control files live in. Used by the launcher before it starts the runtime (which
/// then binds it in writable) and by everything that reads or writes a control file.
public enum ControlFolder {
    /// Creates `path` with mode 0700 if it is missing (its parent must exist), then checks it:
    /// a real folder (not a link), owned by this user, with no access for group or others.
    /// Returns a descriptor of exactly what was checked, for the *at calls and for the
    /// sandbox to bind (so a folder swapped for a link after the check changes nothing).
    public static func open(_ path: String, create: Bool = true) throws(ControlFileError) -> Int32 {
        guard !path.isEmpty else { throw .unusableFolder(path: path, reason: "empty path") }
        if create, mkdir(path, 0o700) != 0, errno != EEXIST {
            throw .unusableFolder(path: path, reason: "cannot create it: \(String(cString: strerror(errno))) (does its parent folder exist?)")
        }
        let fd = Glibc.open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else {
            switch errno {
            case ENOENT: throw .noNode(folder: path)
            case ELOOP, ENOTDIR: throw .unusableFolder(path: path, reason: "it is a symbolic link or not a folder; use a real folder")
            default: throw .unusableFolder(path: path, reason: String(cString: strerror(errno)))
            }
        }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            close(fd)
            throw .unusableFolder(path: path, reason: String(cString: strerror(errno)))
        }
        guard info.st_uid == geteuid(), info.st_mode & 0o077 == 0 else {
            close(fd)
            throw .exposed(path: path, owner: info.st_uid, mode: info.st_mode & 0o777, expected: "mode 0700, owned by uid \(geteuid())")
        }
        return fd
    }
}

/// Why a control file or its folder could not be used; `description` says what to do.
public enum ControlFileError: Error, CustomStringConvertible, Equatable {
    case noNode(folder: String, file: String? = nil)
    case severalNodes(folder: String, apps: [String])
    case exposed(path: String, owner: uid_t, mode: mode_t, expected: String)
    case unusableFolder(path: String, reason: String)
    case unreadable(path: String, reason: String)
    case unwritable(path: String, reason: String)

    public var description: String {
        switch self {
        case let .noNode(folder, file?):
            return "no node of that app is running: \(folder)/\(file) does not exist (is the node started with this --control-dir?)"
        case let .noNode(folder, nil):
            return "no node is running: no control file in \(folder) (start one with `secure-executor run`, or name its folder with --control-dir)"
        case let .severalNodes(folder, apps):
            return "\(apps.count) nodes have control files in \(folder): \(apps.joined(separator: ", ")); pick one with --app NAME"
        case let .exposed(path, owner, mode, expected):
            return "\(path) refused: owned by uid \(owner) with mode \(String(mode, radix: 8)), but a control file grants control of the node, "
                + "so it must be \(expected). Fix: chown \(geteuid()) and chmod go-rwx it, or use another --control-dir"
        case let .unusableFolder(path, reason): return "control folder \(path) cannot be used: \(reason)"
        case let .unreadable(path, reason): return "control file \(path) cannot be read: \(reason)"
        case let .unwritable(path, reason): return "control file \(path) cannot be written: \(reason)"
        }
    }
}
