/// The folder and the last component of a path a user typed, split at the last `/`.
///
/// Written by hand because Foundation's `NSString.deletingLastPathComponent` and
/// `lastPathComponent` trap on a one-character relative path (`keygen --out k` crashed) with
/// Swift 6.3.1 on Linux; every path that comes from a command line or a manifest goes here.
public enum PathText {
    /// `a/b/c` → `a/b`; `/c` → `/`; `c` → `.`.
    public static func folder(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// `a/b/c` → `c`; `c` → `c`.
    public static func name(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }
}
