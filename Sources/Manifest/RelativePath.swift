#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A path inside the application root, in the one spelling every part of the system agrees on:
/// components joined by `/`, no empty, `.` or `..` component, no leading `/`, valid UTF-8, no NUL.
///
/// The signer stores these in the table and the runtime looks them up with them, so the same
/// normalisation must run on both sides; this is the only place it is written.
public struct RelativePath: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The normalised text: the table key and what is opened beneath the root.
    public let string: String

    /// Accepts `a/./b//c` (becomes `a/b/c`) and refuses anything that names a place outside the
    /// root: `..` components and absolute paths. `origin` names where the text came from so the
    /// error can point at it (a manifest key, a table entry, a runtime open).
    public init(_ text: String, origin: String) throws(PathError) {
        guard !text.utf8.contains(0) else { throw PathError(path: text, origin: origin, reason: "contains a NUL byte") }
        guard !text.hasPrefix("/") else {
            throw PathError(path: text, origin: origin, reason: "is absolute; write it relative to the application root")
        }
        var parts: [Substring] = []
        for part in text.split(separator: "/", omittingEmptySubsequences: true) {
            if part == "." { continue }
            if part == ".." {
                throw PathError(path: text, origin: origin, reason: "contains '..', which could leave the application root")
            }
            parts.append(part)
        }
        guard !parts.isEmpty else { throw PathError(path: text, origin: origin, reason: "names the application root itself, not a file") }
        self.string = parts.joined(separator: "/")
    }

    /// A path written relative to a folder inside the root (a workflow's `code`): `..` may
    /// climb within the root, never above it.
    public init(_ text: String, relativeTo folder: String, origin: String) throws(PathError) {
        guard !text.hasPrefix("/") else {
            throw PathError(path: text, origin: origin, reason: "is absolute; write it relative to \(folder.isEmpty ? "the application root" : folder)")
        }
        var parts: [Substring] = folder.split(separator: "/").filter { $0 != "." }
        for part in text.split(separator: "/", omittingEmptySubsequences: true) where part != "." {
            if part == ".." {
                guard parts.popLast() != nil else {
                    throw PathError(path: text, origin: origin, reason: "climbs above the application root")
                }
            } else {
                parts.append(part)
            }
        }
        try self.init(parts.joined(separator: "/"), origin: origin)
    }

    /// For strings already known to be normalised (built from validated components).
    init(normalised: String) { self.string = normalised }

    /// For paths read back from our own side files, where a malformed path can only fail to
    /// match (never reach the disk); skips the split-and-join of `init(_:origin:)`.
    public init(uncheckedNormalised string: String) { self.string = string }

    /// The `/`-separated parts; for a validated path none is empty, `.` or `..`.
    public var components: [Substring] { string.split(separator: "/") }

    /// `a/b/c.txt` → (`a/b`, `c.txt`); a top-level file has directory `""`.
    public var directoryAndName: (directory: Substring, name: Substring) {
        let utf8 = string.utf8
        if let slash = utf8.lastIndex(of: UInt8(ascii: "/")) {
            return (string[..<slash], string[string.index(after: slash)...])
        }
        return (string[string.startIndex..<string.startIndex], string[...])
    }

    /// Adds one component without re-validating: `name` must be a single plain name
    /// (no `/`, not `.` or `..`), e.g. a directory entry read during a walk.
    public func appending(_ name: String) -> RelativePath { RelativePath(normalised: string + "/" + name) }

    /// Bytewise order, the order of the table and of `sign`'s output.
    public static func < (lhs: RelativePath, rhs: RelativePath) -> Bool {
        let fast = lhs.string.utf8.withContiguousStorageIfAvailable { left in
            rhs.string.utf8.withContiguousStorageIfAvailable { right -> Bool in
                let common = min(left.count, right.count)
                let order = common == 0 ? 0 : memcmp(left.baseAddress!, right.baseAddress!, common)
                return order != 0 ? order < 0 : left.count < right.count
            }
        }
        return (fast ?? nil) ?? lhs.string.utf8.lexicographicallyPrecedes(rhs.string.utf8)
    }
    /// The normalised path, as `string`.
    public var description: String { string }
}

/// A path text refused by `RelativePath`; `description` reads "origin: path "text" reason".
public struct PathError: Error, Equatable, CustomStringConvertible {
    /// The text as given, before normalisation.
    public let path: String
    /// Where the text came from: a manifest key, a table entry, a runtime open.
    public let origin: String
    /// What is wrong, phrased to follow the path (e.g. "contains a NUL byte").
    public let reason: String
    /// The full message for the user, pointing at `origin`.
    public var description: String { "\(origin): path \"\(path)\" \(reason)" }
}
