import Support

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A file on disk chosen by the manifest's `[trusted] files`.
public struct SelectedFile: Sendable, Equatable {
    /// The path as it will be recorded in the table (the link's own path for a symlink).
    public var path: RelativePath
    /// What to open to read the bytes: the file itself, or for a symlink the file inside the
    /// root that it resolves to.
    public var absolutePath: String
    /// Stat data of the bytes' file (the target for a symlink), taken during the walk.
    public var identity: FileIdentity
    /// The path was a symlink inside the root; the table records what it resolves to.
    public var viaSymlink: Bool
}

/// What the signer compares to decide that a file did not change since the last signing.
public struct FileIdentity: Sendable, Hashable {
    /// File size in bytes.
    public var size: UInt64
    /// `st_dev`: with `inode`, tells a replaced file from an edited one.
    public var device: UInt64
    /// `st_ino` of the file.
    public var inode: UInt64
    /// `st_mtim` in nanoseconds since the Unix epoch.
    public var modifiedNanoseconds: Int64
    /// `st_ctim` in nanoseconds since the Unix epoch; changes even when mtime is reset by hand.
    public var changedNanoseconds: Int64

    /// Memberwise, for identities read back from the stat cache.
    public init(size: UInt64, device: UInt64, inode: UInt64, modifiedNanoseconds: Int64, changedNanoseconds: Int64) {
        self.size = size
        self.device = device
        self.inode = inode
        self.modifiedNanoseconds = modifiedNanoseconds
        self.changedNanoseconds = changedNanoseconds
    }

    /// From an `lstat`/`stat` result; times are converted to nanoseconds.
    public init(statInfo info: stat) {
        self.init(
            size: UInt64(info.st_size), device: UInt64(info.st_dev), inode: UInt64(info.st_ino),
            modifiedNanoseconds: Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec),
            changedNanoseconds: Int64(info.st_ctim.tv_sec) * 1_000_000_000 + Int64(info.st_ctim.tv_nsec))
    }
}

/// Something the manifest asks for that the disk cannot give.
public struct SelectionProblem: Sendable, Equatable, CustomStringConvertible {
    /// The class of problem, for callers that react differently (tests, the signer's report).
    public enum Kind: Sendable, Equatable {
        case missing, matchedNothing, escapesRoot, danglingSymlink, notRegularFile, badName, unreadable, trustedAndAllowed
    }
    /// Which kind of problem this is.
    public var kind: Kind
    /// The path on disk, or the pattern text when a pattern matched nothing.
    public var path: String
    /// What went wrong and, where possible, how to fix the manifest.
    public var detail: String
    /// `path: detail`, as printed by `sign`.
    public var description: String { "\(path): \(detail)" }
}

/// Expands the manifest's trusted patterns into the files they name, walking the disk.
///
/// Symlinks: a symlink whose target stays inside the root and is a regular file is recorded
/// under its own path with the content of its target (flagged, so the runtime follows it only
/// within the root); a symlink that leaves the root or dangles is an error; a symlink to a
/// directory is not descended (that directory is covered under its own path if trusted).
public struct FileSelection: Sendable {
    /// The selected files, sorted bytewise by path, one per path.
    public private(set) var files: [SelectedFile]
    /// Everything the manifest asked for that could not be selected; non-empty means do not sign.
    public var problems: [SelectionProblem]
    /// Symlinked directories that were not descended, for the signer's report.
    public var skippedDirectoryLinks: [RelativePath]

    /// `outputs`: absolute paths of the files `sign` writes (table, signature, stat cache).
    /// They change with every signing, so they, and temporary files named after them
    /// (`NAME.tmp-PID`), are never trusted files themselves, even when a pattern covers them.
    public init(manifest: Manifest, outputs: [String] = []) {
        self.init(root: manifest.root, include: manifest.trusted.files, exclude: manifest.trusted.exclude, allowed: manifest.allowed)
        let root = manifest.root.hasSuffix("/") ? manifest.root : manifest.root + "/"
        let relative = outputs.filter { $0.hasPrefix(root) }.map { String($0.dropFirst(root.count)) }
        guard !relative.isEmpty else { return }
        files.removeAll { file in relative.contains { file.path.string == $0 || file.path.string.hasPrefix($0 + ".tmp-") } }
    }

    /// Walks `root` for `include` minus `exclude`. Files also covered by `allowed` are dropped
    /// and reported as `.trustedAndAllowed`. Problems are collected, never thrown.
    public init(root: String, include: [PathPattern], exclude: [PathPattern], allowed: [PathPattern] = []) {
        var walker = Walker(root: root, exclude: exclude)
        for pattern in include { walker.expand(pattern) }
        walker.statPending()
        // Patterns may overlap (`bin/` and `bin/*.so`): sort, then keep one of each path.
        var chosen: [SelectedFile] = []
        chosen.reserveCapacity(walker.found.count)
        for file in walker.found.sorted(by: { $0.path < $1.path }) where chosen.last?.path != file.path {
            chosen.append(file)
        }
        if !allowed.isEmpty {
            chosen.removeAll { file in
                guard let both = allowed.first(where: { $0.covers(file.path) }) else { return false }
                walker.problems.append(
                    SelectionProblem(
                        kind: .trustedAndAllowed, path: file.path.string,
                        detail:
                            "is both trusted and covered by \(both); a file is either verified or passed through — add it to trusted.exclude or narrow the allowed entry"
                    ))
                return true
            }
        }
        files = chosen
        problems = walker.problems
        skippedDirectoryLinks = walker.skippedDirectoryLinks.sorted()
    }
}

private struct Walker {
    let root: String
    /// The root with symlinks resolved: every resolved target must lie beneath it.
    let realRoot: String?
    let exclude: [PathPattern]
    var found: [SelectedFile] = []
    /// Non-directory entries seen by the walk, by directory, not yet stat-ed: the stat calls
    /// (one per file, most of a re-sign's time) run in parallel in `statPending`.
    var pending: [(directory: RelativePath?, names: [String])] = []
    /// Files found or pending: whether a pattern matched anything.
    var matches = 0
    var problems: [SelectionProblem] = []
    var skippedDirectoryLinks: Set<RelativePath> = []

    init(root: String, exclude: [PathPattern]) {
        self.root = root
        self.exclude = exclude
        self.realRoot = Walker.realPath(root)
        if realRoot == nil {
            problems.append(SelectionProblem(kind: .missing, path: root, detail: "the application root does not exist or cannot be read"))
        }
    }

    mutating func expand(_ pattern: PathPattern) {
        guard realRoot != nil else { return }
        let before = matches
        switch pattern.kind {
        case .literal, .directory:
            let path = RelativePath(normalised: pattern.components.joined(separator: "/"))
            guard throughNoSymlink(pattern.components.dropLast(), pattern), visit(path, explicitlyNamed: pattern) else { return }
        case .glob:
            let prefix = pattern.fixedPrefix
            guard throughNoSymlink(prefix[...], pattern) else { return }
            if prefix.isEmpty {
                walkDirectory(nil, glob: pattern)
            } else {
                let start = RelativePath(normalised: prefix.joined(separator: "/"))
                var info = stat()
                if lstat(absolute(start), &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR {
                    walkDirectory(start, glob: pattern)
                }
            }
        }
        if matches == before, !problems.contains(where: { $0.path == pattern.text }) {
            problems.append(
                SelectionProblem(
                    kind: .matchedNothing, path: pattern.text,
                    detail: "\(pattern.key) selects no files under \(root) (empty, excluded, or only symlinked directories)"))
        }
    }

    /// A named path must not pass through a symlinked directory: the runtime opens trusted
    /// paths component by component without following links, so such a path would never open,
    /// and a link to outside the root would smuggle outside files in.
    private mutating func throughNoSymlink(_ directories: ArraySlice<String>, _ pattern: PathPattern) -> Bool {
        var walked = root
        for component in directories {
            walked += "/" + component
            var info = stat()
            if lstat(walked, &info) == 0, (info.st_mode & S_IFMT) == S_IFLNK {
                problems.append(
                    SelectionProblem(
                        kind: .escapesRoot, path: pattern.text,
                        detail: "\(pattern.key) goes through the symlink \(walked); name the real directory instead"))
                return false
            }
        }
        return true
    }

    /// Adds a file, or walks a directory. Returns false when a problem was recorded.
    @discardableResult
    private mutating func visit(_ path: RelativePath, explicitlyNamed pattern: PathPattern?) -> Bool {
        if exclude.contains(where: { $0.covers(path) }) { return true }
        var info = stat()
        let full = absolute(path)
        guard lstat(full, &info) == 0 else {
            let reason = String(cString: strerror(errno))
            problems.append(
                SelectionProblem(
                    kind: .missing, path: path.string,
                    detail: "\(pattern.map { "\($0.key): " } ?? "")cannot be found under \(root) (\(reason))"))
            return false
        }
        if pattern?.kind == .directory && (info.st_mode & S_IFMT) != S_IFDIR {
            problems.append(
                SelectionProblem(
                    kind: .notRegularFile, path: path.string,
                    detail: "\(pattern!.key) ends with '/' but is not a directory; drop the '/' to name the file"))
            return false
        }
        switch info.st_mode & S_IFMT {
        case S_IFREG:
            found.append(SelectedFile(path: path, absolutePath: full, identity: FileIdentity(statInfo: info), viaSymlink: false))
            matches += 1
        case S_IFDIR:
            walkDirectory(path, glob: nil)
        case S_IFLNK:
            return visitSymlink(path, full: full)
        default:
            problems.append(
                SelectionProblem(
                    kind: .notRegularFile, path: path.string,
                    detail: "is not a regular file (device, socket or pipe); exclude it with trusted.exclude"))
            return false
        }
        return true
    }

    private mutating func visitSymlink(_ path: RelativePath, full: String) -> Bool {
        guard let target = Walker.realPath(full) else {
            problems.append(SelectionProblem(kind: .danglingSymlink, path: path.string, detail: "is a symlink whose target does not exist"))
            return false
        }
        guard let realRoot, target.hasPrefix(realRoot == "/" ? "/" : realRoot + "/") else {
            problems.append(
                SelectionProblem(
                    kind: .escapesRoot, path: path.string,
                    detail: "is a symlink to \(target), outside the application root \(root)"))
            return false
        }
        var info = stat()
        guard stat(target, &info) == 0 else {
            problems.append(SelectionProblem(kind: .unreadable, path: path.string, detail: "cannot stat symlink target \(target)"))
            return false
        }
        switch info.st_mode & S_IFMT {
        case S_IFREG:
            found.append(SelectedFile(path: path, absolutePath: target, identity: FileIdentity(statInfo: info), viaSymlink: true))
            matches += 1
            return true
        case S_IFDIR:
            skippedDirectoryLinks.insert(path)
            return true
        default:
            problems.append(SelectionProblem(kind: .notRegularFile, path: path.string, detail: "is a symlink to something that is not a regular file"))
            return false
        }
    }

    /// Walks `directory` (nil: the root) using the entry types readdir reports; files are
    /// queued for `statPending`. With a glob, only matching paths are taken; a directory that
    /// matches is taken whole.
    private mutating func walkDirectory(_ directory: RelativePath?, glob: PathPattern?) {
        // The root itself may be a symlink (it was resolved once); below it, never follow.
        let fd = directory.map { open(absolute($0), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) } ?? open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0, let handle = fdopendir(fd) else {
            if fd >= 0 { close(fd) }
            problems.append(
                SelectionProblem(
                    kind: .unreadable, path: directory?.string ?? ".",
                    detail: "cannot list directory: \(String(cString: strerror(errno)))"))
            return
        }
        defer { closedir(handle) }
        var entries: [(name: String, isDirectory: Bool)] = []
        while let entry = readdir(handle) {
            let name: String? = withUnsafePointer(to: &entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(validatingCString: $0) }
            }
            guard let name else {
                problems.append(
                    SelectionProblem(
                        kind: .badName, path: directory?.string ?? ".",
                        detail: "contains a file name that is not valid UTF-8; rename it or exclude the directory"))
                continue
            }
            if name == "." || name == ".." { continue }
            var isDirectory = Int32(entry.pointee.d_type) == DT_DIR
            if Int32(entry.pointee.d_type) == DT_UNKNOWN {
                var info = stat()
                isDirectory = fstatat(dirfd(handle), name, &info, AT_SYMLINK_NOFOLLOW) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
            }
            entries.append((name, isDirectory))
        }
        // No sorting here: the selection is sorted once, globally, at the end.
        var files: [String] = []
        let filter = glob != nil || !exclude.isEmpty
        for (name, isDirectory) in entries {
            guard filter || isDirectory else {
                files.append(name)
                continue
            }
            let child = directory.map { $0.appending(name) } ?? RelativePath(normalised: name)
            if exclude.contains(where: { $0.covers(child) }) { continue }
            if let glob {
                let parts = child.components.map(String.init)
                if !glob.matchesExactly(parts) {
                    if isDirectory && couldMatchBelow(glob, parts) { walkDirectory(child, glob: glob) }
                    continue
                }
            }
            if isDirectory {
                walkDirectory(child, glob: nil)
            } else {
                files.append(name)
            }
        }
        if !files.isEmpty {
            matches += files.count
            pending.append((directory, files))
        }
    }

    /// Stats every queued file, a directory per task on all cores, each relative to its open
    /// directory (the kernel does not resolve the whole path again per file).
    mutating func statPending() {
        enum Outcome {
            case file(stat)
            case failed(Int32)
        }
        let root = self.root
        let results = Parallel.map(pending.count) { [pending] index -> [Outcome] in
            let (directory, names) = pending[index]
            let fd =
                directory.map { open(root + "/" + $0.string, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
                ?? open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            guard fd >= 0 else { return names.map { _ in .failed(errno) } }
            defer { close(fd) }
            return names.map { name in
                var info = stat()
                return fstatat(fd, name, &info, AT_SYMLINK_NOFOLLOW) == 0 ? .file(info) : .failed(errno)
            }
        }
        for ((directory, names), outcomes) in zip(pending, results) {
            for (name, outcome) in zip(names, outcomes) {
                let path = directory.map { $0.appending(name) } ?? RelativePath(normalised: name)
                switch outcome {
                case let .failed(code):
                    problems.append(SelectionProblem(kind: .unreadable, path: path.string, detail: "cannot stat: \(String(cString: strerror(code)))"))
                case let .file(info):
                    switch info.st_mode & S_IFMT {
                    case S_IFREG:
                        found.append(SelectedFile(path: path, absolutePath: absolute(path), identity: FileIdentity(statInfo: info), viaSymlink: false))
                    case S_IFLNK:
                        _ = visitSymlink(path, full: absolute(path))
                    case S_IFDIR:
                        break  // replaced by a directory since the walk; not ours to chase
                    default:
                        problems.append(
                            SelectionProblem(
                                kind: .notRegularFile, path: path.string,
                                detail: "is not a regular file (device, socket or pipe); exclude it with trusted.exclude"))
                    }
                }
            }
        }
        pending = []
    }

    /// Whether some path below `parts` could still match the glob: the components so far match
    /// the pattern's leading components (a `**` matches anything from there on).
    private func couldMatchBelow(_ glob: PathPattern, _ parts: [String]) -> Bool {
        for (index, part) in parts.enumerated() {
            guard index < glob.components.count else { return false }
            let component = glob.components[index]
            if component == "**" { return !part.hasPrefix(".") }
            if !PathPattern.matchComponent(component, part) { return false }
        }
        return parts.count < glob.components.count
    }

    private func absolute(_ path: RelativePath) -> String { root == "/" ? "/" + path.string : root + "/" + path.string }

    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}
