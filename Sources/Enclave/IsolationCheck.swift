import CSyscalls
import Foundation
import Manifest

/// What the sandbox promises, as probes the runtime runs on itself (`run --check-isolation`):
/// each tries what a compromised runtime would try and says whether the boundary held.
public enum IsolationCheck {
    /// One attempt and its outcome.
    public struct Probe: Sendable {
        public var what: String
        public var outcome: String
        public var held: Bool

        public init(what: String, outcome: String, held: Bool) {
            self.what = what
            self.outcome = outcome
            self.held = held
        }
    }

    /// Every probe of the boundary, run from inside it, for the app `manifest` describes.
    public static func probes(_ manifest: Manifest) -> [Probe] {
        var probes: [Probe] = []

        for file in ["/proc/meminfo", "/proc/loadavg", "/proc/cpuinfo", "/proc/sys/kernel/hostname"] {
            let bytes = readFile(file)
            probes.append(Probe(what: "read \(file)", outcome: bytes == nil ? "refused: \(errnoText())" : "READ \(bytes!) bytes", held: bytes == nil))
        }
        let processes = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).filter { $0.allSatisfy(\.isNumber) }
        probes.append(Probe(what: "count the processes in /proc", outcome: "\(processes.count)", held: processes.count <= 4))
        for file in ["/etc/passwd", "/etc/shadow", "/root"] {
            let visible = FileManager.default.fileExists(atPath: file)
            probes.append(Probe(what: "see host path \(file)", outcome: visible ? "VISIBLE" : "invisible", held: !visible))
        }
        let parent = (manifest.root as NSString).deletingLastPathComponent
        let siblings = ((try? FileManager.default.contentsOfDirectory(atPath: parent)) ?? []).filter { $0 != (manifest.root as NSString).lastPathComponent }
        probes.append(
            Probe(
                what: "list the folder around the app (\(parent))",
                outcome: siblings.isEmpty ? "nothing but the app" : "VISIBLE: \(siblings.sorted().prefix(5).joined(separator: ", "))",
                held: siblings.isEmpty))
        let intruder = manifest.root + "/.isolation-check-\(getpid())"
        let wroteRoot = FileManager.default.createFile(atPath: intruder, contents: Data("x".utf8))
        if wroteRoot { try? FileManager.default.removeItem(atPath: intruder) }
        probes.append(Probe(what: "write into the application root", outcome: wroteRoot ? "WROTE" : "refused: \(errnoText())", held: !wroteRoot))
        for folder in WritablePaths.paths(manifest) where FileManager.default.fileExists(atPath: folder) {
            let probe = folder + "/.isolation-check-\(getpid())"
            let wrote = FileManager.default.createFile(atPath: probe, contents: Data("x".utf8))
            probes.append(Probe(what: "write into allowed \(folder)", outcome: wrote ? "written" : "REFUSED: \(errnoText())", held: wrote))
            if wrote {
                // Giving a file away needs CAP_CHOWN, which root has unless it was dropped.
                let chowned = chown(probe, 4242, 4242) == 0
                probes.append(Probe(what: "give a file to another user (CAP_CHOWN)", outcome: chowned ? "DONE" : "refused: \(errnoText())", held: !chowned))
                try? FileManager.default.removeItem(atPath: probe)
            }
        }
        for (call, result) in [("ptrace", se_try_ptrace()), ("mount", se_try_mount()), ("unshare", se_try_unshare_user()), ("keyctl", se_try_keyctl())] {
            probes.append(
                Probe(what: "seccomp: \(call)", outcome: result == 0 ? "ALLOWED" : "refused: \(String(cString: strerror(result)))", held: result == EPERM))
        }
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        let bounding = status.split(separator: "\n").first { $0.hasPrefix("CapBnd:") }.map { $0.dropFirst(7).trimmingCharacters(in: .whitespaces) }
        probes.append(
            Probe(
                what: "capability bounding set (CapBnd)", outcome: bounding ?? "UNKNOWN",
                held: bounding.flatMap { UInt64($0, radix: 16) } == 0))
        let names = ProcessInfo.processInfo.environment.keys.filter { !Self.launcherVariables.contains($0) }.sorted()
        // PWD: bubblewrap sets it for --chdir.
        probes.append(Probe(what: "environment", outcome: names.joined(separator: " "), held: Set(names).isSubset(of: ["PATH", "PWD"])))
        return probes
    }

    /// The probes as a table, and whether all held (`direct` is expected not to).
    public static func report(_ probes: [Probe], backend: String) -> (text: String, held: Bool) {
        var lines = ["isolation check, backend \(backend):"]
        for probe in probes {
            lines.append("  \(probe.held ? "ok  " : "FAIL") \(probe.what)\(String(repeating: " ", count: max(1, 45 - probe.what.count)))\(probe.outcome)")
        }
        let failed = probes.filter { !$0.held }.count
        lines.append(
            failed == 0 ? "the boundary holds" : "\(failed) check(s) failed\(backend == "direct" ? " (expected: backend direct does not isolate)" : "")")
        return (lines.joined(separator: "\n"), failed == 0)
    }

    /// What the launcher itself puts in the environment (Launcher's documentation), beside PATH.
    private static let launcherVariables: Set<String> = [Launcher.stopDescriptorVariable, Launcher.launcherPIDVariable]

    private static func errnoText() -> String { String(cString: strerror(errno)) }

    /// Bytes read, or nil with errno set.
    private static func readFile(_ path: String) -> Int? {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        return count >= 0 ? count : nil
    }
}
