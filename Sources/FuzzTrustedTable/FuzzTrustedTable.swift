import Foundation
import Support
import TrustedFiles

/// Feeds arbitrary bytes to the table reader and, when they pass validation, uses everything
/// in them: every entry, its path, a lookup of that path and of near misses, every chunk hash.
/// Any crash, hang or sanitizer report is a reader bug (docs/FUZZING.md).
func exercise(_ bytes: UnsafeRawBufferPointer) {
    guard let table = try? TrustedTable(bytes: bytes, source: "fuzz") else { return }
    for entry in table.entries {
        let path = table.path(of: entry)
        precondition(table.lookup(normalised: path) == entry, "lookup of a listed path failed")
        _ = table.lookup(normalised: path + "x")
        _ = table.rootHash(of: entry)
        for chunk in 0..<min(entry.chunkCount, 64) { _ = table.chunkHash(of: entry, chunk: chunk) }
    }
}

#if FUZZING
    /// SwiftPM gives every executable target its own entry point, so instead of libFuzzer's
    /// `main` we start libFuzzer's driver from ours.
    @_silgen_name("LLVMFuzzerRunDriver")
    func runFuzzerDriver(
        _ argc: UnsafeMutablePointer<CInt>,
        _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
        _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
    ) -> CInt

    @main
    struct Fuzz {
        static func main() {
            var argc = CommandLine.argc
            var argv = CommandLine.unsafeArgv
            exit(
                runFuzzerDriver(&argc, &argv) { data, size in
                    exercise(UnsafeRawBufferPointer(start: data, count: size))
                    return 0
                })
        }
    }
#else
    /// Without libFuzzer: replays files or folders of inputs (a corpus, or crash files), so a
    /// crash can be reproduced and kept as a regression input.
    @main
    struct Replay {
        static func main() {
            let arguments = CommandLine.arguments.dropFirst()
            guard !arguments.isEmpty else {
                print("usage: fuzz-trusted-table FILE_OR_DIR...  (replays inputs; see docs/FUZZING.md for fuzzing)")
                exit(2)
            }
            let count = ReplayInputs.replay(arguments, exercise)
            print("replayed \(count) inputs without a crash")
        }
    }
#endif
