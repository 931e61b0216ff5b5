import Foundation
import FunctionRuntime
import Manifest
import Support
import TrustedFiles

/// One example made ready to run, as a user would: copied to `folder`, its C functions built,
/// signed with a fresh key. Shared by `examples run-all`, `demo` and the HTTP benchmark.
public struct ExampleApp {
    /// The example's folder name under examples/, also its manifest's NAME.
    public let name: String
    /// The scratch copy; anything there before `prepare` is deleted.
    public let folder: String
    /// A key generated for this run only; it signed the bundle.
    public let key: SigningKey
    /// The copy's NAME.toml, loaded after the replacements.
    public let manifest: Manifest
    /// What the signing did.
    public let signed: Signer.Report
    /// The signed copy loaded back and verified with `key`'s public key.
    public let bundle: SignedBundle
    /// Built module sizes by function folder name.
    public let modules: [(name: String, bytes: Int)]

    /// `replacing`: text to swap in the example's workflow files before signing (addresses of
    /// servers started for this run in place of the example's defaults). `writing`: files to
    /// write into the copy before signing (a different workflow.json, say).
    public static func prepare(
        _ name: String, from examples: String, into folder: String,
        replacing: [String: String] = [:], writing: [String: String] = [:]
    ) throws -> ExampleApp {
        try? FileManager.default.removeItem(atPath: folder)
        try FileManager.default.createDirectory(atPath: PathText.folder(of: folder), withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: examples + "/" + name, toPath: folder)
        try FileManager.default.createDirectory(atPath: folder + "/logs", withIntermediateDirectories: true)
        var modules: [(String, Int)] = []
        // An example of resources only (file_pusher) has no functions folder.
        let functions =
            FileManager.default.fileExists(atPath: folder + "/functions") ? try FileManager.default.contentsOfDirectory(atPath: folder + "/functions") : []
        for function in functions.sorted() {
            let report = try FunctionBuilder.build(folder: folder + "/functions/" + function)
            guard report.ok else { throw ExampleRunner.Failure("\(name): functions/\(function): \(report.problems.joined(separator: "; "))") }
            modules.append((function, (try? FileManager.default.attributesOfItem(atPath: report.output)[.size] as? Int) ?? 0))
        }
        if !replacing.isEmpty {
            // The workflows and the manifest: its [policy] names the same addresses.
            for file in try FileManager.default.contentsOfDirectory(atPath: folder) where file.hasSuffix(".json") || file.hasSuffix(".toml") {
                var text = try String(contentsOfFile: folder + "/" + file, encoding: .utf8)
                for (from, to) in replacing { text = text.replacingOccurrences(of: from, with: to) }
                try text.write(toFile: folder + "/" + file, atomically: true, encoding: .utf8)
            }
        }
        for (path, text) in writing { try text.write(toFile: folder + "/" + path, atomically: true, encoding: .utf8) }
        let key = SigningKey.generate()
        let manifest = try Manifest.load(path: folder + "/\(name).toml")
        let signed = try Signer.sign(manifest: manifest, key: key)
        let bundle = try SignedBundle.load(manifestPath: manifest.path, signer: key.publicKey)
        return ExampleApp(name: name, folder: folder, key: key, manifest: manifest, signed: signed, bundle: bundle, modules: modules)
    }

    /// The workflow file the manifest names.
    public var workflowPath: String { manifest.workflow?.string ?? "workflow.json" }
}
