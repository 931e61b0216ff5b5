import Foundation
import Manifest
import TrustedFiles

/// A throw-away application tree under /tmp, removed when the value is released.
public final class TemporaryApp: @unchecked Sendable {
    public let root: String

    public init(_ files: [String: String] = [:], manifest: String? = nil) throws {
        root = NSTemporaryDirectory() + "se-test-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        for (path, text) in files { try write(path, text) }
        if let manifest { try write("app.toml", manifest) }
    }

    deinit { try? FileManager.default.removeItem(atPath: root) }

    public func path(_ relative: String) -> String { root + "/" + relative }

    public func write(_ relative: String, _ text: String) throws { try write(relative, bytes: Array(text.utf8)) }

    public func write(_ relative: String, bytes: [UInt8]) throws {
        let full = path(relative)
        try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(bytes).write(to: URL(fileURLWithPath: full))
    }

    public func read(_ relative: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: URL(fileURLWithPath: path(relative)))) }

    public func symlink(_ relative: String, to target: String) throws {
        try FileManager.default.createSymbolicLink(atPath: path(relative), withDestinationPath: target)
    }

    public func remove(_ relative: String) throws { try FileManager.default.removeItem(atPath: path(relative)) }

    /// Deterministic pseudo-random bytes, so a failing test is reproducible.
    public static func bytes(_ count: Int, seed: UInt64 = 1) -> [UInt8] {
        var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        return (0..<count).map { _ in
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return UInt8(truncatingIfNeeded: state)
        }
    }

    public func manifest(_ name: String = "app.toml") throws -> Manifest { try Manifest.load(path: path(name)) }

    /// Signs `app.toml` with a fresh key and returns the key.
    @discardableResult
    public func sign(key: SigningKey = .generate(), reuse: Bool = true) throws -> (key: SigningKey, report: Signer.Report) {
        var options = Signer.Options()
        options.reuse = reuse
        return (key, try Signer.sign(manifest: try manifest(), key: key, options: options))
    }
}

/// Runs a program to completion and returns its exit status and output.
public struct ProcessResult: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String
}

public func runProcess(_ executable: String, _ arguments: [String], directory: String? = nil) throws -> ProcessResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    try process.run()
    // Drain stderr on another thread while reading stdout, so a chatty child never blocks on
    // a full pipe.
    final class Box: @unchecked Sendable { var data = Data() }
    let errors = Box()
    let group = DispatchGroup()
    DispatchQueue.global().async(group: group) { errors.data = err.fileHandleForReading.readDataToEndOfFile() }
    let output = out.fileHandleForReading.readDataToEndOfFile()
    group.wait()
    process.waitUntilExit()
    return ProcessResult(
        status: process.terminationStatus,
        stdout: String(decoding: output, as: UTF8.self),
        stderr: String(decoding: errors.data, as: UTF8.self))
}

/// A product built next to the test bundle (`swift build` puts all products in one folder).
public func builtProduct(_ name: String) -> String {
    let folder = Bundle.main.executableURL?.deletingLastPathComponent().path ?? ".build/debug"
    for candidate in [folder + "/" + name, folder + "/../" + name] where FileManager.default.isExecutableFile(atPath: candidate) {
        return candidate
    }
    return folder + "/" + name
}
