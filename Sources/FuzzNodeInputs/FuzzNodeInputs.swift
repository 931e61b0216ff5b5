import Foundation
import NodeInputFuzzing
import Support

/// Which reader to fuzz or replay, from FUZZ_TARGET (libFuzzer owns the command line).
func chosenTarget() -> FuzzTarget {
    let name = ProcessInfo.processInfo.environment["FUZZ_TARGET"] ?? ""
    guard let target = FuzzTarget(rawValue: name) else {
        let known = FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")
        FileHandle.standardError.write(Data("fuzz-node-inputs: set FUZZ_TARGET to one of \(known) (got \"\(name)\"); see docs/FUZZING.md\n".utf8))
        exit(2)
    }
    return target
}

#if FUZZING
    /// SwiftPM gives every executable target its own entry point, so instead of libFuzzer's
    /// `main` we start libFuzzer's driver from ours (as Sources/FuzzTrustedTable does).
    @_silgen_name("LLVMFuzzerRunDriver")
    func runFuzzerDriver(
        _ argc: UnsafeMutablePointer<CInt>,
        _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
        _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
    ) -> CInt

    /// The callback is a C function pointer and cannot capture; set once before the driver starts.
    nonisolated(unsafe) var target = FuzzTarget.reply

    @main
    struct Fuzz {
        static func main() {
            target = chosenTarget()
            var argc = CommandLine.argc
            var argv = CommandLine.unsafeArgv
            exit(
                runFuzzerDriver(&argc, &argv) { data, size in
                    target.exercise(UnsafeRawBufferPointer(start: data, count: size))
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
            let target = chosenTarget()
            let arguments = CommandLine.arguments.dropFirst()
            guard !arguments.isEmpty else {
                print("usage: FUZZ_TARGET=\(target.rawValue) fuzz-node-inputs FILE_OR_DIR...  (replays inputs; see docs/FUZZING.md for fuzzing)")
                exit(2)
            }
            let count = ReplayInputs.replay(arguments, target.exercise)
            print("replayed \(count) \(target.rawValue) inputs without a crash")
        }
    }
#endif
