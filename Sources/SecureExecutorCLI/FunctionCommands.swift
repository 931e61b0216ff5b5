import ArgumentParser
import Foundation
import FunctionRuntime
import Logging
import Support

struct FunctionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "function",
        abstract: "Write and build functions in C against the EDGELESS ABI.",
        discussion: """
              secure-executor function new hello      # hello/hello.c + hello/edgeless.h
              secure-executor function build hello    # hello/hello.wasm, checked against the ABI
              secure-executor invoke hello/hello.wasm --cast ping --call ping --json
            """,
        subcommands: [New.self, Build.self])

    struct New: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a folder with a C function template and the ABI header.")

        @Argument(help: "The function's name; also the folder created.")
        var name: String

        func run() throws {
            guard name.range(of: "^[A-Za-z_][A-Za-z0-9_-]*$", options: .regularExpression) != nil else {
                throw ValidationError("function name \"\(name)\" must be letters, digits, '_' or '-', not starting with a digit")
            }
            guard !FileManager.default.fileExists(atPath: name) else { throw ValidationError("\(name) already exists; pick another name") }
            try FileManager.default.createDirectory(atPath: name, withIntermediateDirectories: false)
            try CSDK.template(name: name).write(toFile: "\(name)/\(name).c", atomically: true, encoding: .utf8)
            try CSDK.header.write(toFile: "\(name)/\(CSDK.headerName)", atomically: true, encoding: .utf8)
            print("created \(name)/\(name).c and \(name)/\(CSDK.headerName); build it with: secure-executor function build \(name)")
        }
    }

    struct Build: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Compile a folder's .c files to wasm32 and check the module against the ABI.",
            discussion: "Uses the toolchain's clang (--target=wasm32 -nostdlib) and wasm-ld; set CLANG to use another.")

        @Argument(help: "Folder with the function's .c files.")
        var folder: String

        @Option(name: .shortAndLong, help: "Output module (default: FOLDER/NAME.wasm).")
        var output: String?

        func run() throws {
            let report: FunctionBuilder.Report
            do { report = try FunctionBuilder.build(folder: folder, output: output) } catch { fail(error) }
            print("built \(report.output) (\(report.bytes) bytes)")
            print("exports: \(report.exports.joined(separator: ", "))")
            print("imports: \(report.imports.isEmpty ? "none" : report.imports.joined(separator: ", "))")
            if report.ok {
                print("ABI: OK — all \(FunctionABI.exports.count + 1) exports present, every import provided by the host")
            } else {
                for problem in report.problems { print("ABI problem: \(problem)") }
                throw ExitCode(1)
            }
        }
    }
}

struct Invoke: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run one function instance in-process and print everything it does.",
        discussion: """
            Starts the module (init payload and saved state as given), then delivers each --cast and \
            --call in the order written, then stops it. Every effect is printed in order: log lines, \
            casts and calls to aliases or raw ids (nobody is mapped: calls out get no reply), \
            delayed casts, synced state, the replies to --call, and the start-up latency split. \
            With --json, one JSON object per line. Exit status 1 if the function failed.
            """)

    @Argument(help: "The function module (.wasm).")
    var module: String

    @Option(name: .customLong("init"), help: "Init payload (a workflow's init-payload annotation).")
    var initPayload: String = ""

    @Option(help: "State to start from, as if synced by an earlier instance.")
    var state: String = ""

    @Option(help: "Deliver a cast with this payload (repeatable).")
    var cast: [String] = []

    @Option(help: "Make a call with this payload and print the reply (repeatable).")
    var call: [String] = []

    @Flag(help: "Print JSON lines.")
    var json = false

    func run() throws {
        let output = EffectPrinter(json: json)
        let router = RecordingRouter()
        let id = InstanceID(node: UUID())
        router.setSelf(id)
        let runtime = FunctionRuntime(preparedPerModule: 0, logger: .init(label: "invoke", factory: { _ in SwiftLogNoOpLogHandler() }))
        let instance: FunctionInstance
        do {
            let code = try FunctionCode.load(file: module)
            instance = try runtime.start(
                code, function: PathText.name(of: module), id: id,
                initPayload: Array(initPayload.utf8), state: Array(state.utf8), router: router)
        } catch {
            output.flush(router)
            output.error("\(error)")
            throw ExitCode(1)
        }
        output.started(instance)
        output.flush(router)
        var failed = false
        for (kind, payload) in orderedEvents() where !failed {
            do {
                if kind == "cast" {
                    try instance.cast(from: id, payload: Array(payload.utf8))
                    output.flush(router)
                } else {
                    let reply = try instance.call(from: id, payload: Array(payload.utf8))
                    output.flush(router)
                    output.reply(to: payload, reply)
                }
            } catch {
                output.flush(router)
                output.error("\(error)")
                failed = true
            }
        }
        if !failed {
            do { try instance.stop() } catch {
                output.error("\(error)")
                failed = true
            }
            output.flush(router)
            output.event(["event": "stop"], text: "stopped")
        }
        if failed { throw ExitCode(1) }
    }

    /// --cast and --call in command-line order (the parser keeps each list's order, not how
    /// the two interleave).
    private func orderedEvents() -> [(String, String)] {
        var casts = cast.makeIterator()
        var calls = call.makeIterator()
        var events: [(String, String)] = []
        for argument in CommandLine.arguments {
            if argument == "--cast" || argument.hasPrefix("--cast="), let next = casts.next() { events.append(("cast", next)) }
            if argument == "--call" || argument.hasPrefix("--call="), let next = calls.next() { events.append(("call", next)) }
        }
        while let next = casts.next() { events.append(("cast", next)) }
        while let next = calls.next() { events.append(("call", next)) }
        return events
    }
}

/// Prints effects as they happen, as text or JSON lines.
final class EffectPrinter {
    let json: Bool
    private var printed = 0

    init(json: Bool) { self.json = json }

    func event(_ fields: [String: Any], text: String) {
        if json {
            guard let data = try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys, .withoutEscapingSlashes]) else {
                return print(#"{"error": "this event could not be written as JSON"}"#)
            }
            print(String(decoding: data, as: UTF8.self))
        } else {
            print(text)
        }
    }

    /// Payloads are bytes: shown as text when they are UTF-8, else as base64.
    func payload(_ bytes: [UInt8], key: String = "payload") -> [String: Any] {
        if let text = String(validating: bytes, as: UTF8.self) { return [key: text] }
        return [key + "_base64": Data(bytes).base64EncodedString()]
    }

    func show(_ bytes: [UInt8]) -> String {
        String(validating: bytes, as: UTF8.self).map { "\"\($0)\"" } ?? "base64:" + Data(bytes).base64EncodedString()
    }

    func started(_ instance: FunctionInstance) {
        let s = instance.startup
        event(
            [
                "event": "start", "function": instance.function, "instance": instance.id.description,
                "startup_ns": [
                    "total": s.totalNanoseconds, "load_verify": s.loadVerifyNanoseconds, "parse_validate": s.parseValidateNanoseconds,
                    "instantiate": s.instantiateNanoseconds, "init": s.initNanoseconds,
                ],
            ],
            text: "started \(instance.function): \(s.summary)")
    }

    func flush(_ router: RecordingRouter) {
        let effects = router.effects
        for effect in effects.dropFirst(printed) {
            switch effect {
            case let .log(level, target, message):
                event(["event": "log", "level": "\(level)", "target": target, "message": message], text: "log \(level) [\(target)] \(message)")
            case let .cast(to, bytes):
                event(["event": "cast", "to": to].merging(payload(bytes)) { $1 }, text: "cast → \(to): \(show(bytes))")
            case let .call(to, bytes, reply):
                event(
                    ["event": "call", "to": to, "reply": "noreply"].merging(payload(bytes)) { $1 },
                    text: "call → \(to): \(show(bytes)) (no one is mapped: no reply)")
                _ = reply
            case let .delayedCast(to, bytes, delay):
                event(
                    ["event": "delayed_cast", "to": to, "delay_ms": delay].merging(payload(bytes)) { $1 },
                    text: "delayed cast (\(delay) ms) → \(to): \(show(bytes))")
            case let .sync(state):
                event(["event": "sync"].merging(payload(state, key: "state")) { $1 }, text: "sync state \(show(state))")
            }
        }
        printed = effects.count
    }

    func reply(to input: String, _ reply: CallReply) {
        switch reply {
        case let .reply(bytes): event(["event": "reply", "input": input].merging(payload(bytes)) { $1 }, text: "reply to \"\(input)\": \(show(bytes))")
        case .noReply: event(["event": "noreply", "input": input], text: "no reply to \"\(input)\"")
        case .error: event(["event": "err", "input": input], text: "error reply to \"\(input)\"")
        }
    }

    func error(_ message: String) { event(["event": "error", "message": message], text: "error: \(message)") }
}
