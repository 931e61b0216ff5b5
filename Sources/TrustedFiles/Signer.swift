import Foundation
import Manifest

/// `secure-executor sign`: hashes every trusted file, writes the table and signs manifest and
/// table together.
public struct Signer {
    /// How `sign` runs; the defaults suit the command line.
    public struct Options {
        /// Where to write NAME.trusted and NAME.sig; default: beside the manifest.
        public var outputDirectory: String?
        /// Take hashes of unchanged files from the previous table (see StatCache).
        public var reuse = true
        /// Hashing threads; default: one per core.
        public var workers = ProcessInfoCores.count
        /// Seconds since 1970; default: now.
        public var created: Int64?
        /// Defaults: beside the manifest, reuse on, all cores, created now.
        public init() {}
    }

    /// What a signing did, for the command's summary and `--verbose` output.
    public struct Report: Sendable {
        /// Trusted files in the table.
        public var files = 0
        /// Their total size in bytes.
        public var bytes: UInt64 = 0
        /// Files whose hashes were taken from the previous table (unchanged identity).
        public var reusedFiles = 0
        /// Files read and hashed this time.
        public var hashedFiles = 0
        /// Bytes read and hashed this time.
        public var hashedBytes: UInt64 = 0
        /// Wall-clock time of the whole signing.
        public var seconds = 0.0
        /// Where the time went: walking and stat-ing the tree, loading the previous signing,
        /// hashing, writing table + signature.
        public var phases: [(name: String, seconds: Double)] = []
        /// Where NAME.trusted was written.
        public var tablePath = ""
        /// Where NAME.sig was written.
        public var signaturePath = ""
        /// Size of the written table in bytes.
        public var tableBytes = 0
        /// The signed measurement in hex.
        public var measurement = ""
        /// Key id of the signing key.
        public var keyID = ""
        /// Symlinked directories inside trusted directories that were not followed.
        public var skippedDirectoryLinks: [String] = []
        /// Why the stat cache was not used, if it was there but not trusted (one line).
        public var statCacheNote: String?
    }

    /// Selects, hashes and signs, writing the table and signature atomically. `onTotals` gets
    /// the file count and bytes once selection is done. Throws `SignError` on any selection,
    /// hashing or write problem.
    public static func sign(
        manifest: Manifest, key: SigningKey, options: Options = Options(),
        progress: ParallelHasher.Progress? = nil, onTotals: ((Int, UInt64) -> Void)? = nil
    ) throws(SignError) -> Report {
        let started = DispatchTime.now()
        var phaseStart = started
        var phases: [(String, Double)] = []
        func phase(_ name: String) {
            let now = DispatchTime.now()
            phases.append((name, Double(now.uptimeNanoseconds - phaseStart.uptimeNanoseconds) / 1e9))
            phaseStart = now
        }
        let paths = SignedBundle.Paths(manifest: manifest, directory: options.outputDirectory)
        let selection = FileSelection(manifest: manifest, outputs: paths.outputs)
        phase("walk")
        guard selection.problems.isEmpty else { throw .selection(manifest.path, selection.problems) }
        if let workflow = manifest.workflow, !selection.files.contains(where: { $0.path == workflow }) {
            throw .workflowNotTrusted(workflow.string)
        }
        if let directory = options.outputDirectory {
            try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }

        var report = Report()
        report.files = selection.files.count
        report.bytes = selection.files.reduce(0) { $0 + $1.identity.size }
        report.skippedDirectoryLinks = selection.skippedDirectoryLinks.map(\.string)
        onTotals?(report.files, report.bytes)

        var previous: (table: TrustedTable, cache: StatCache)?
        if options.reuse, let prior = previousTable(paths: paths, key: key, chunkSize: manifest.trusted.chunkSize) {
            switch StatCache.load(path: StatCache.path(forTable: paths.table), key: key, tableDigest: prior.digest) {
            case let .loaded(cache): previous = (prior.table, cache)
            case let .ignored(note): report.statCacheNote = note
            case .absent: break
            }
        }
        phase("load previous")
        var digests = [FileDigest?](repeating: nil, count: selection.files.count)
        var jobs: [ParallelHasher.Job] = []
        var jobFile: [Int] = []
        let remembered = previous?.cache.identities(matching: selection.files) ?? []
        for (index, file) in selection.files.enumerated() {
            if let previous, remembered[index] == file.identity,
                let entry = previous.table.lookup(file.path), entry.size == file.identity.size
            {
                digests[index] = previous.table.digest(of: entry)
                progress?.files.add(1, ordering: .relaxed)
                progress?.bytes.add(Int(entry.size), ordering: .relaxed)
            } else {
                jobs.append(.init(path: file.absolutePath, size: file.identity.size))
                jobFile.append(index)
            }
        }
        report.reusedFiles = selection.files.count - jobs.count
        report.hashedFiles = jobs.count
        report.hashedBytes = jobs.reduce(0) { $0 + $1.size }
        phase("match previous")

        let results = ParallelHasher(chunkSize: manifest.trusted.chunkSize, workers: options.workers).hash(jobs, progress: progress)
        var failures: [String] = []
        for (jobIndex, result) in results.enumerated() {
            let file = selection.files[jobFile[jobIndex]]
            switch result {
            case let .success(digest):
                // A file that changed while it was read would be signed with a mix of old and
                // new bytes; insist on the identity we started from.
                var info = stat()
                if stat(file.absolutePath, &info) != 0 || FileIdentity(statInfo: info) != file.identity {
                    failures.append("\(file.path): changed while it was being hashed; sign again once it is stable")
                } else {
                    digests[jobFile[jobIndex]] = digest
                }
            case let .failure(failure):
                failures.append("\(file.path): \(failure.reason)")
            }
        }
        guard failures.isEmpty else { throw .hashing(failures) }
        phase("hash")

        let files = zip(selection.files, digests).map { TableFile(path: $0.path, digest: $1!, viaSymlink: $0.viaSymlink) }
        let tableBytes: [UInt8]
        do { tableBytes = try TableWriter.serialise(files, chunkSize: manifest.trusted.chunkSize) } catch { throw .table(error.description) }
        phase("serialise")
        let measurement = tableBytes.withUnsafeBytes { Measurement(manifest: manifest.bytes, table: $0) }
        let created = options.created ?? Int64(Date().timeIntervalSince1970)
        let signature = try SignatureFile.make(
            measurement: measurement, key: key, created: created,
            appName: manifest.app.name, appVersion: manifest.app.version)
        do {
            try writeAtomically(Data(tableBytes), to: paths.table)
            try writeAtomically(signature.encoded(), to: paths.signature)
        } catch {
            throw .write("\(error.localizedDescription)")
        }
        let cache = StatCache(tableDigest: measurement.tableDigest, records: selection.files.map { ($0.path, $0.identity) })
        // The cache only speeds up the next signing; failing to write it is not an error.
        try? cache.write(path: StatCache.path(forTable: paths.table), key: key)
        phase("sign + write")
        report.phases = phases

        report.tablePath = paths.table
        report.signaturePath = paths.signature
        report.tableBytes = tableBytes.count
        report.measurement = signature.measurement
        report.keyID = signature.keyID
        report.seconds = Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e9
        return report
    }

    /// The previous table and its digest, if this key signed that table and it is intact.
    private static func previousTable(paths: SignedBundle.Paths, key: SigningKey, chunkSize: Int) -> (table: TrustedTable, digest: [UInt8])? {
        guard let data = FileManager.default.contents(atPath: paths.signature),
            let signature = try? SignatureFile.decode(data, source: paths.signature),
            (try? signature.checkSignature(source: paths.signature, accepting: [key.publicKey])) != nil,
            let table = try? TrustedTable.load(path: paths.table), table.chunkSize == chunkSize
        else { return nil }
        let digest = table.withBytes { FileHashing.tableDigest($0) }
        guard digest == unhex(signature.tableDigest) else { return nil }
        return (table, digest)
    }
}

extension TrustedTable {
    /// An entry's hashes as the writer takes them. A file of one chunk has only its root hash
    /// in the table, which is all the writer stores for it.
    func digest(of entry: Entry) -> FileDigest {
        var chunkHashes: [UInt8] = []
        if entry.chunkCount > 1 {
            chunkHashes.reserveCapacity(entry.chunkCount * TableLayout.hashSize)
            for chunk in 0..<entry.chunkCount { chunkHashes.append(contentsOf: chunkHash(of: entry, chunk: chunk)!) }
        }
        return FileDigest(size: entry.size, chunkHashes: chunkHashes, rootHash: rootHash(of: entry))
    }
}

/// Why `Signer.sign` refused; `description` lists every problem found, not just the first.
public enum SignError: Error, CustomStringConvertible {
    case selection(String, [SelectionProblem])
    case workflowNotTrusted(String)
    case hashing([String])
    case table(String)
    case write(String)

    /// Multi-line message for the terminal, one `  - ` line per problem.
    public var description: String {
        switch self {
        case let .selection(manifest, problems):
            return "\(manifest): \(problems.count) trusted path problem(s):\n" + problems.map { "  - \($0)" }.joined(separator: "\n")
        case let .workflowNotTrusted(path):
            return "workflow.file \"\(path)\" is not among the trusted files; add it to [trusted] files so it is verified"
        case let .hashing(failures):
            return "could not hash \(failures.count) file(s):\n" + failures.map { "  - \($0)" }.joined(separator: "\n")
        case let .table(reason): return "cannot write the table: \(reason)"
        case let .write(reason): return "cannot write the signed bundle: \(reason)"
        }
    }
}
