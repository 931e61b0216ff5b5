#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One entry of `[trusted] files`, `[trusted] exclude` or `[allowed] files`.
///
/// - `bin/` (trailing slash) or a literal that is a directory on disk: everything beneath it.
/// - `data/*.json`: a glob. `*`, `?` and `[...]` match within one path component (a leading
///   `.` is only matched by a pattern that starts with `.`, as in a shell); a whole component
///   `**` matches any number of components.
/// - `README.txt`: that one path.
public struct PathPattern: Sendable, Hashable, CustomStringConvertible {
    /// A glob has a wildcard in some component; `directory` was written with a trailing `/`.
    public enum Kind: Sendable, Hashable { case literal, directory, glob }

    /// The text as written in the manifest, for messages.
    public let text: String
    /// Where it was written, e.g. `trusted.files[2]`.
    public let key: String
    /// Decided once from the text; a literal may still turn out to be a directory on disk.
    public let kind: Kind
    /// Normalised components; for a glob some of them contain wildcards.
    public let components: [String]
    /// The components joined, for prefix tests without splitting paths.
    private let joined: String

    /// Normalises `text` like a `RelativePath`; throws `PathError` (naming `key`) for absolute
    /// paths, `..`, NUL bytes or an empty pattern.
    public init(_ text: String, key: String) throws(PathError) {
        let normalised = try RelativePath(text, origin: key)
        self.text = text
        self.key = key
        self.components = normalised.components.map(String.init)
        self.joined = normalised.string
        if components.contains(where: PathPattern.hasWildcard) {
            kind = .glob
        } else if text.hasSuffix("/") {
            kind = .directory
        } else {
            kind = .literal
        }
    }

    /// The leading components without wildcards: where a walk for this pattern starts.
    public var fixedPrefix: [String] { Array(components.prefix { !PathPattern.hasWildcard($0) }) }

    /// Whether `path` is covered by this pattern, without looking at the disk. A literal covers
    /// the path itself and, should it be a directory, everything beneath it; a glob that
    /// matches a directory likewise covers its contents.
    public func covers(_ path: RelativePath) -> Bool {
        switch kind {
        case .literal, .directory:
            let text = path.string.utf8
            return text.starts(with: joined.utf8)
                && (text.count == joined.utf8.count || text[text.index(text.startIndex, offsetBy: joined.utf8.count)] == UInt8(ascii: "/"))
        case .glob:
            return PathPattern.matchPrefix(pattern: components[...], path: path.components.map(String.init)[...])
        }
    }

    /// Whether the glob matches `path` exactly (not one of its ancestors).
    public func matchesExactly(_ parts: [String]) -> Bool {
        switch kind {
        case .literal, .directory: return parts == components
        case .glob: return PathPattern.match(pattern: components[...], path: parts[...])
        }
    }

    /// Key and text, e.g. `trusted.files[2] "data/*.json"`, for messages.
    public var description: String { "\(key) \"\(text)\"" }

    static func hasWildcard(_ component: String) -> Bool {
        component.contains { $0 == "*" || $0 == "?" || $0 == "[" }
    }

    /// True when some prefix of `path` (possibly all of it) matches the whole pattern.
    private static func matchPrefix(pattern: ArraySlice<String>, path: ArraySlice<String>) -> Bool {
        for end in stride(from: path.endIndex, through: path.startIndex + 1, by: -1)
        where match(pattern: pattern, path: path[path.startIndex..<end]) {
            return true
        }
        return false
    }

    private static func match(pattern: ArraySlice<String>, path: ArraySlice<String>) -> Bool {
        guard let head = pattern.first else { return path.isEmpty }
        if head == "**" {
            let rest = pattern.dropFirst()
            var remaining = path
            while true {
                if match(pattern: rest, path: remaining) { return true }
                guard let next = remaining.first, !next.hasPrefix(".") else { return false }
                remaining = remaining.dropFirst()
            }
        }
        guard let name = path.first, matchComponent(head, name) else { return false }
        return match(pattern: pattern.dropFirst(), path: path.dropFirst())
    }

    /// fnmatch(3) does the character classes and escapes the way a shell does.
    static func matchComponent(_ pattern: String, _ name: String) -> Bool {
        guard hasWildcard(pattern) else { return pattern == name }
        return fnmatch(pattern, name, FNM_PERIOD) == 0
    }
}
