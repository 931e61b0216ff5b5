import ArgumentParser
import Foundation
import Manifest
import TrustedFiles

struct Sign: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Hash every trusted file and sign manifest and table together.",
        discussion: """
            Writes APP.trusted (the binary file table, docs/FORMAT.md) and APP.sig next to the \
            manifest, or into --out. Files are hashed on all cores. Hashes of files whose size, \
            inode, mtime and ctime are unchanged since the last signing with the same key are \
            reused (the stat cache is authenticated with a MAC keyed from the signing key; a cache \
            that fails it is ignored with a note); --no-reuse hashes everything again. A key file \
            readable by group or others is refused.
            """)

    @Argument(help: "The application manifest (APP.toml).")
    var manifest: String

    @Option(name: .shortAndLong, help: "The signing key written by `keygen`.")
    var key: String

    @Option(help: "Folder for APP.trusted and APP.sig (default: the manifest's folder).")
    var out: String?

    @Flag(help: "Hash every file even if it is unchanged since the last signing.")
    var noReuse = false

    @Flag(help: "Also print where the time went (walk, hash, write).")
    var verbose = false

    func run() throws {
        let manifest: Manifest
        let signingKey: SigningKey
        do {
            manifest = try Manifest.load(path: self.manifest)
            signingKey = try SigningKey.load(path: key)
        } catch {
            fail(error)
        }
        var options = Signer.Options()
        options.outputDirectory = out
        options.reuse = !noReuse
        let progress = ParallelHasher.Progress()
        let display = ProgressDisplay(label: "hashing", progress: progress)
        let report: Signer.Report
        do {
            report = try Signer.sign(manifest: manifest, key: signingKey, options: options, progress: progress) { files, bytes in
                display.start(totalFiles: files, totalBytes: bytes)
            }
        } catch {
            display.finish()
            fail(error)
        }
        display.finish()
        if let note = report.statCacheNote { FileHandle.standardError.write(Data("note: \(note)\n".utf8)) }
        let rate = report.seconds > 0 ? Double(report.hashedBytes) / report.seconds : 0
        print(
            "signed \(manifest.app.name) \(manifest.app.version): \(report.files) files (\(formatBytes(report.bytes))), "
                + "\(report.reusedFiles) reused, \(report.hashedFiles) hashed (\(formatBytes(report.hashedBytes))) "
                + "in \(formatFixed(report.seconds, digits: 2)) s (\(formatBytes(UInt64(rate)))/s); "
                + "table \(report.tablePath) (\(formatBytes(UInt64(report.tableBytes)))), signature \(report.signaturePath); "
                + "key \(report.keyID), measurement \(report.measurement)")
        if verbose {
            print("phases: " + report.phases.map { "\($0.name) \(formatFixed($0.seconds * 1000, digits: 1)) ms" }.joined(separator: ", "))
        }
        for link in report.skippedDirectoryLinks {
            print("note: \(link) is a symlink to a directory and was not followed; list its target if it must be trusted")
        }
    }
}

/// A one-line progress bar on a terminal; nothing at all otherwise (the caller prints one
/// summary line when done).
final class ProgressDisplay: @unchecked Sendable {
    private let label: String
    private let progress: ParallelHasher.Progress
    private let enabled = isatty(STDERR_FILENO) == 1
    private var timer: DispatchSourceTimer?
    private var started = Date()

    init(label: String, progress: ParallelHasher.Progress) {
        self.label = label
        self.progress = progress
    }

    func start(totalFiles: Int, totalBytes: UInt64) {
        guard enabled else { return }
        started = Date()
        let timer = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "progress"))
        timer.schedule(deadline: .now(), repeating: .milliseconds(100))
        timer.setEventHandler { [progress, label, started] in
            let files = progress.files.load(ordering: .relaxed)
            let bytes = UInt64(progress.bytes.load(ordering: .relaxed))
            let fraction = totalBytes > 0 ? Double(bytes) / Double(totalBytes) : (totalFiles > 0 ? Double(files) / Double(totalFiles) : 1)
            let width = 24
            let filled = max(0, min(width, Int(fraction * Double(width))))
            let elapsed = max(Date().timeIntervalSince(started), 0.001)
            let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
            let line =
                "\r\(label) [\(bar)] \(files)/\(totalFiles) files  \(formatBytes(bytes))/\(formatBytes(totalBytes))  \(formatBytes(UInt64(Double(bytes) / elapsed)))/s "
            FileHandle.standardError.write(Data(line.utf8))
        }
        timer.resume()
        self.timer = timer
    }

    func finish() {
        guard let timer else { return }
        timer.cancel()
        self.timer = nil
        FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8))
    }
}
