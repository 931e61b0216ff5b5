import ArgumentParser
import Foundation
import TOMLKit
import TrustedFiles

/// Runs one load in a fresh process so its peak memory can be read cleanly: resets the
/// kernel's peak-RSS mark, loads, and prints seconds and the growth of peak RSS.
struct MeasureLoad: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "measure-load", abstract: "(internal) One load in this process; used by `table`.", shouldDisplay: false)

    @Argument var kind: String
    @Argument var path: String

    struct Result: Codable {
        var seconds: Double
        var peakBytes: Int
    }

    func run() throws {
        // Touch what both paths need before the baseline, so it is not counted as load memory.
        _ = try? TOMLTable(string: "a = 1")
        _ = FileHashing.sha256(UnsafeRawBufferPointer(start: nil, count: 0))
        try "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)
        let before = Self.status("VmRSS")
        let start = now()
        switch kind {
        case "table":
            let bundle = try SignedBundle.load(manifestPath: path, signer: nil)
            precondition(bundle.table.count > 0)
        case "toml":
            let text = try String(contentsOfFile: path, encoding: .utf8)
            let parsed = try TOMLTable(string: text)
            precondition(parsed["sgx"] != nil)
        default:
            throw ValidationError("kind must be table or toml")
        }
        let seconds = now() - start
        let peak = Self.status("VmHWM")
        print(String(decoding: try JSONEncoder().encode(Result(seconds: seconds, peakBytes: max(0, peak - before))), as: UTF8.self))
    }

    /// A /proc/self/status field in bytes.
    static func status(_ field: String) -> Int {
        let text = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        for line in text.split(separator: "\n") where line.hasPrefix(field + ":") {
            return (Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0) * 1024
        }
        return 0
    }

    /// Median of three child runs.
    static func inChild(kind: String, path: String) throws -> Result {
        var results: [Result] = []
        for _ in 0..<3 {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
            process.arguments = ["measure-load", kind, path]
            let pipe = Pipe()
            process.standardOutput = pipe
            try process.run()
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            guard process.terminationStatus == 0 else { throw ValidationError("measure-load \(kind) failed") }
            results.append(try JSONDecoder().decode(Result.self, from: data))
        }
        return results.sorted { $0.seconds < $1.seconds }[1]
    }
}
