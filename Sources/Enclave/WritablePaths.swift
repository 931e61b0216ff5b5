import CSyscalls
import Foundation
import Manifest
import Shield

/// What the sandbox lets the runtime write: the host paths behind the manifest's `[allowed]`
/// patterns, opened here (beneath the root, never through a link) so a backend binds the
/// descriptors it was handed, not paths that could be swapped after the check.
public enum WritablePaths {
    /// The host paths behind the manifest's allowed patterns: a folder pattern's folder, a
    /// file's own path, a glob's fixed prefix.
    public static func paths(_ manifest: Manifest) -> [String] {
        writableParts(manifest).map { manifest.root + "/" + $0.path.string }
    }

    private static func writableParts(_ manifest: Manifest) -> [(path: RelativePath, folder: Bool, create: Bool)] {
        manifest.allowed.compactMap { pattern in
            let parts = pattern.kind == .glob ? pattern.fixedPrefix : pattern.components
            guard let path = try? RelativePath(parts.joined(separator: "/"), origin: "[allowed]") else { return nil }
            return (path, pattern.kind != .literal, pattern.kind == .directory)
        }
    }

    /// Opens what the runtime may write beneath the root without following links (a link would
    /// make the sandbox bind its target writable, `logs -> .` the whole root), creating a
    /// folder pattern's missing folders the same way. Missing files and glob prefixes are left out.
    public static func open(_ manifest: Manifest) throws(WritableError) -> [WritablePath] {
        let beneath: BeneathRoot
        do { beneath = try BeneathRoot(root: manifest.root) } catch { throw .unusable(path: manifest.root, reason: "\(error)") }
        defer { beneath.close() }
        var opened: [WritablePath] = []
        do {
            for part in writableParts(manifest) {
                guard let fd = try open(part.path, folder: part.folder, create: part.create, beneath: beneath, root: manifest.root) else { continue }
                opened.append(WritablePath(descriptor: fd, path: manifest.root + "/" + part.path.string))
            }
        } catch {
            opened.forEach { close($0.descriptor) }
            throw error
        }
        return opened
    }

    /// se_open_path_flag(): nothing is read; the descriptor only names what was checked. A missing folder
    /// is made with mkdirat in its parent, itself opened beneath the root.
    private static func open(_ path: RelativePath, folder: Bool, create: Bool, beneath: BeneathRoot, root: String) throws(WritableError) -> Int32? {
        let components = path.components
        var parent = Glibc.open(root, se_open_path_flag() | O_DIRECTORY | O_CLOEXEC)
        guard parent >= 0 else { throw .unusable(path: root, reason: String(cString: strerror(errno))) }
        defer { close(parent) }
        for depth in 1...components.count {
            // A prefix of a normalised path's components is itself normalised.
            let prefix = RelativePath(uncheckedNormalised: components[0..<depth].joined(separator: "/"))
            let isLast = depth == components.count
            let flags = se_open_path_flag() | (folder || !isLast ? O_DIRECTORY : 0)
            var result = beneath.open(prefix, flags: flags)
            if case .failure(.errno(ENOENT)) = result, create {
                guard mkdirat(parent, String(components[depth - 1]), 0o755) == 0 || errno == EEXIST else {
                    throw .unusable(path: root + "/" + prefix.string, reason: "cannot create it: \(String(cString: strerror(errno)))")
                }
                result = beneath.open(prefix, flags: flags)
            }
            switch result {
            case let .success(fd):
                var info = stat()
                guard fstat(fd, &info) == 0, info.st_mode & S_IFMT != S_IFLNK else {
                    close(fd)
                    throw .symlink(path: root + "/" + prefix.string)
                }
                if isLast { return fd }
                close(parent)
                parent = fd
            case .failure(.symlink): throw .symlink(path: root + "/" + prefix.string)
            case .failure(.errno(ENOENT)): return nil
            case .failure(.errno(ENOTDIR)) where !isLast || folder: throw .symlink(path: root + "/" + prefix.string)
            case let .failure(.errno(code)): throw .unusable(path: root + "/" + prefix.string, reason: String(cString: strerror(code)))
            }
        }
        return nil
    }
}

/// Why an allowed path cannot be made writable for the runtime.
public enum WritableError: Error, CustomStringConvertible {
    case symlink(path: String)
    case unusable(path: String, reason: String)

    public var description: String {
        switch self {
        case let .symlink(path):
            return
                "allowed path \(path) is a symbolic link, or not a folder, or lies behind one: refused (the sandbox would make its target writable); replace it with a real folder or file"
        case let .unusable(path, reason): return "allowed path \(path) cannot be opened for the runtime: \(reason)"
        }
    }
}
