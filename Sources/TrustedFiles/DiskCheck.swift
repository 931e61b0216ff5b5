import Manifest

/// `secure-executor verify`: compares every trusted file on disk with the signed table, and
/// the manifest's trusted patterns with what the table lists.
public enum DiskCheck {
    /// One difference between disk and table, printed one per line by `verify`.
    public struct Problem: Sendable, Equatable, CustomStringConvertible {
        /// The raw value is the upper-case label `verify` prints in the first column.
        public enum Kind: String, Sendable {
            case modified = "MODIFIED"
            case missing = "MISSING"
            case resized = "RESIZED"
            case new = "NEW"
            case symlinked = "SYMLINK"
            case unreadable = "UNREADABLE"
            case invalid = "INVALID"
        }
        /// What kind of difference this is.
        public var kind: Kind
        /// The relative path concerned.
        public var path: String
        /// Human explanation, e.g. sizes or the first differing chunk.
        public var detail: String
        /// `KIND       path: detail`, with the kind padded to 10 columns.
        public var description: String { "\(kind.rawValue.padding(10)) \(path): \(detail)" }
    }

    /// The outcome of one check; the bundle verifies only if `problems` is empty.
    public struct Result: Sendable {
        /// Files that were read and hashed (missing, resized or symlink-changed ones are not).
        public var checkedFiles = 0
        /// Bytes read and hashed.
        public var checkedBytes: UInt64 = 0
        /// Every difference found, sorted by path then kind.
        public var problems: [Problem] = []
    }

    /// Re-selects the manifest's files, then hashes every signed file whose size still
    /// matches. Never throws: every failure becomes a `Problem`.
    public static func run(_ bundle: SignedBundle, workers: Int = ProcessInfoCores.count, progress: ParallelHasher.Progress? = nil) -> Result {
        let table = bundle.table
        let selection = FileSelection(manifest: bundle.manifest, outputs: bundle.paths.outputs)
        var onDisk: [String: SelectedFile] = [:]
        for file in selection.files { onDisk[file.path.string] = file }
        var result = Result()
        for problem in selection.problems where problem.kind != .missing && problem.kind != .matchedNothing {
            result.problems.append(Problem(kind: .invalid, path: problem.path, detail: problem.detail))
        }

        var jobs: [ParallelHasher.Job] = []
        var jobEntries: [TrustedTable.Entry] = []
        var listed = Set<String>()
        for entry in table.entries {
            let path = table.path(of: entry)
            listed.insert(path)
            guard let file = onDisk[path] else {
                result.problems.append(Problem(kind: .missing, path: path, detail: "signed but not found on disk (or no longer matched by the manifest)"))
                continue
            }
            if file.viaSymlink != entry.viaSymlink {
                result.problems.append(
                    Problem(
                        kind: .symlinked, path: path,
                        detail: entry.viaSymlink
                            ? "was a symlink when signed, is now a regular file"
                            : "was a regular file when signed, is now a symlink to \(file.absolutePath)"))
                continue
            }
            guard file.identity.size == entry.size else {
                result.problems.append(Problem(kind: .resized, path: path, detail: "signed with \(entry.size) bytes, now \(file.identity.size) bytes"))
                continue
            }
            jobs.append(.init(path: file.absolutePath, size: entry.size))
            jobEntries.append(entry)
        }
        for file in selection.files where !listed.contains(file.path.string) {
            result.problems.append(
                Problem(
                    kind: .new, path: file.path.string, detail: "matched by the manifest's trusted files but not in the signed table; sign again if it belongs")
            )
        }

        let digests = ParallelHasher(chunkSize: table.chunkSize, workers: workers).hash(jobs, progress: progress)
        for (entry, outcome) in zip(jobEntries, digests) {
            let path = table.path(of: entry)
            switch outcome {
            case let .failure(failure):
                result.problems.append(Problem(kind: .unreadable, path: path, detail: failure.reason))
            case let .success(digest):
                result.checkedFiles += 1
                result.checkedBytes += entry.size
                guard !table.rootHashMatches(of: entry, digest.rootHash) else { continue }
                let chunk =
                    (0..<entry.chunkCount).first { index in
                        table.chunkHashMatches(of: entry, chunk: index, digest.chunkHashes[(index * 32)..<(index * 32 + 32)]).map { !$0 } ?? true
                    } ?? 0
                result.problems.append(
                    Problem(
                        kind: .modified, path: path,
                        detail:
                            "content differs from the signed hash (first differing chunk: \(chunk) of \(entry.chunkCount), bytes \(chunk * table.chunkSize)..)")
                )
            }
        }
        result.problems.sort { ($0.path, $0.kind.rawValue) < ($1.path, $1.kind.rawValue) }
        return result
    }
}

extension String {
    func padding(_ width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
}
