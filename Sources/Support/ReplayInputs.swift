import Foundation

/// The fuzz targets' replay mode (built without libFuzzer): every file named, and every file
/// in every folder named, in sorted order, handed to `exercise`; so a crash file or a corpus
/// can be run again outside the fuzzer. Returns how many inputs were replayed.
public enum ReplayInputs {
    /// Paths that cannot be read (missing, unreadable) are skipped silently and not counted;
    /// `exercise` gets each file's whole contents, valid only during the call.
    public static func replay(_ arguments: some Collection<String>, _ exercise: (UnsafeRawBufferPointer) -> Void) -> Int {
        var count = 0
        for argument in arguments {
            var isDirectory: ObjCBool = false
            FileManager.default.fileExists(atPath: argument, isDirectory: &isDirectory)
            let files =
                isDirectory.boolValue
                ? ((try? FileManager.default.contentsOfDirectory(atPath: argument)) ?? []).sorted().map { argument + "/" + $0 }
                : [argument]
            for file in files {
                guard let data = FileManager.default.contents(atPath: file) else { continue }
                data.withUnsafeBytes(exercise)
                count += 1
            }
        }
        return count
    }
}
