import Examples
import Foundation
import TestSupport
import Testing

private let cli = builtProduct("secure-executor")

private func run(_ arguments: String..., in directory: String? = nil) throws -> ProcessResult {
    try runProcess(cli, arguments, directory: directory)
}

private let manifest = """
    [app]
    name = "cli"
    version = "0.3"

    [trusted]
    files = ["bin/", "data/*.json"]

    [allowed]
    files = ["logs/"]
    """

@Suite struct CommandLineTests {
    @Test func keygenSignVerifyInspect() throws {
        let app = try TemporaryApp(["bin/f": "function", "data/a.json": "{}", "logs/x": ""], manifest: manifest)
        let keygen = try run("keygen", "--out", app.path("k"))
        #expect(keygen.status == 0)
        #expect(keygen.stdout.contains("public key: ed25519:"))
        #expect(keygen.stdout.contains("key id:"))
        var info = stat()
        #expect(stat(app.path("k"), &info) == 0 && info.st_mode & 0o777 == 0o600)

        let sign = try run("sign", app.path("app.toml"), "--key", app.path("k"), "--out", app.path("out"))
        #expect(sign.status == 0, "\(sign.stderr)")
        // No terminal: exactly one summary line and no progress bar.
        #expect(sign.stdout.split(separator: "\n").count == 1)
        #expect(sign.stdout.contains("signed cli 0.3: 2 files"))
        #expect(sign.stdout.contains("0 reused, 2 hashed"))
        #expect(sign.stderr.isEmpty)
        let again = try run("sign", app.path("app.toml"), "--key", app.path("k"), "--out", app.path("out"))
        #expect(again.stdout.contains("2 reused, 0 hashed"))

        let verify = try run("verify", app.path("app.toml"), "--bundle", app.path("out"), "--signer", app.path("k.pub"))
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
        #expect(verify.stdout.contains("verify: OK — 2 trusted files"))

        let inspect = try run("inspect", app.path("out/app.trusted"), "--json")
        #expect(inspect.status == 0)
        let json = try JSONSerialization.jsonObject(with: Data(inspect.stdout.utf8)) as! [String: Any]
        #expect(json["files"] as? Int == 2)
        #expect(json["signature_matches_table"] as? Bool == true)
        let entries = json["entries"] as! [[String: Any]]
        #expect(entries.map { $0["path"] as? String } == ["bin/f", "data/a.json"])
        #expect(entries.first?["size"] as? Int == 8)
        #expect((entries.first?["root_hash"] as? String)?.count == 64)
        let text = try run("inspect", app.path("out/app.trusted"))
        #expect(text.stdout.contains("chunk size:     64 KiB"))
        #expect(text.stdout.contains("bin/f"))
    }

    @Test func verifyReportsEveryProblemAndFails() throws {
        let app = try TemporaryApp(["bin/f": "function", "bin/g": "gggg", "data/a.json": "{}"], manifest: manifest)
        #expect(try run("keygen", "--out", app.path("k")).status == 0)
        #expect(try run("sign", app.path("app.toml"), "--key", app.path("k")).status == 0)
        try app.write("bin/f", "functioN")
        try app.write("bin/g", "gg")
        try app.write("bin/h", "new")
        try app.remove("data/a.json")
        let verify = try run("verify", app.path("app.toml"))
        #expect(verify.status == 1)
        for line in ["MODIFIED   bin/f", "RESIZED    bin/g", "NEW        bin/h", "MISSING    data/a.json", "verify: FAILED — 4 problem(s)"] {
            #expect(verify.stdout.contains(line), "\(line)")
        }
        #expect(verify.stdout.contains("signer NOT pinned"))
    }

    @Test func badInputGetsOneClearError() throws {
        let app = try TemporaryApp(["bin/f": "x", "data/a.json": "{}"], manifest: manifest.replacingOccurrences(of: "version", with: "verison"))
        #expect(try run("keygen", "--out", app.path("k")).status == 0)
        let typo = try run("sign", app.path("app.toml"), "--key", app.path("k"))
        #expect(typo.status == 1)
        #expect(typo.stderr.contains("unknown key \"app.verison\" (did you mean \"version\"?)"))
        let noKey = try run("sign", app.path("app.toml"), "--key", app.path("nokey"))
        #expect(noKey.status == 1)
        #expect(try run("keygen", "--out", app.path("k")).stderr.contains("already exists"))
        let garbage = try TemporaryApp(["t.trusted": "not a table at all, but long enough to hold a header? no."])
        let inspect = try run("inspect", garbage.path("t.trusted"))
        #expect(inspect.status == 1)
        #expect(inspect.stderr.contains("truncated header") || inspect.stderr.contains("wrong magic"))
        let other = try TemporaryApp()
        #expect(try run("keygen", "--out", other.path("k2")).status == 0)
        try app.write("app.toml", manifest)
        #expect(try run("sign", app.path("app.toml"), "--key", app.path("k")).status == 0)
        let wrongSigner = try run("verify", app.path("app.toml"), "--signer", other.path("k2.pub"))
        #expect(wrongSigner.status == 1)
        #expect(wrongSigner.stderr.contains("expected signer is key"))
    }

    @Test(.enabled(if: !FileManager.default.fileExists(atPath: "/etc/secure-executor/trusted-signers"), "the default trusted-signers file exists here"))
    func runRefusesAnUnpinnedSignerAndSaysHowToPin() throws {
        let app = try TemporaryApp(["bin/f": "function", "data/a.json": "{}"], manifest: manifest)
        #expect(try run("keygen", "--out", app.path("k")).status == 0)
        #expect(try run("sign", app.path("app.toml"), "--key", app.path("k")).status == 0)
        let refused = try run("run", app.path("app.toml"), "--for", "1")
        #expect(refused.status == 1)
        for part in ["no signer is pinned", "--signer KEY.pub", "/etc/secure-executor/trusted-signers", "--trusted-signers FILE", "--insecure-any-signer"] {
            #expect(refused.stderr.contains(part), "missing \(part): \(refused.stderr)")
        }
        // The development escape runs, but says so loudly (and /health says "insecure").
        let anyone = try run("run", app.path("app.toml"), "--insecure-any-signer", "--for", "1")
        #expect(anyone.stderr.contains("WARNING: --insecure-any-signer: no signer is pinned, this node runs a bundle signed by ANY key"), "\(anyone.stderr)")
        // A trusted-signers file others can write is refused, naming the fix.
        let signers = try TemporaryApp(["trusted-signers": try String(contentsOfFile: app.path("k.pub"), encoding: .utf8)])
        chmod(signers.path("trusted-signers"), 0o664)
        let writable = try run("run", app.path("app.toml"), "--trusted-signers", signers.path("trusted-signers"), "--for", "1")
        #expect(writable.status == 1)
        #expect(writable.stderr.contains("writable by group or others"), "\(writable.stderr)")
        // Re-signed with another key: refused when pinned, by --signer or by the file.
        chmod(signers.path("trusted-signers"), 0o644)
        #expect(try run("keygen", "--out", app.path("other")).status == 0)
        #expect(try run("sign", app.path("app.toml"), "--key", app.path("other")).status == 0)
        for pin in [["--signer", app.path("k.pub")], ["--trusted-signers", signers.path("trusted-signers")]] {
            let resigned = try runProcess(cli, ["run", app.path("app.toml")] + pin + ["--for", "1"])
            #expect(resigned.status == 1)
            #expect(resigned.stderr.contains("expected signer is key"), "\(resigned.stderr)")
        }
    }

    @Test func signRefusesAnExposedKeyAndKeygenNeverWritesThroughALink() throws {
        let app = try TemporaryApp(["bin/f": "function", "data/a.json": "{}", "precious": "keep me\n", "notes": "shopping list\n"], manifest: manifest)
        #expect(try run("keygen", "--out", app.path("k")).status == 0)
        chmod(app.path("k"), 0o644)
        let exposed = try run("sign", app.path("app.toml"), "--key", app.path("k"))
        #expect(exposed.status == 1)
        #expect(exposed.stderr.contains("\(app.path("k")): private key has mode 644"), "\(exposed.stderr)")
        #expect(exposed.stderr.contains("chmod 600 \(app.path("k"))"))

        try app.symlink("link", to: app.path("precious"))
        let link = try run("keygen", "--out", app.path("link"), "--force")
        #expect(link.status == 1)
        #expect(link.stderr.contains("is a symbolic link, not a key file"), "\(link.stderr)")
        #expect(String(decoding: try app.read("precious"), as: UTF8.self) == "keep me\n")
        let notes = try run("keygen", "--out", app.path("notes"), "--force")
        #expect(notes.status == 1)
        #expect(notes.stderr.contains("not a key file written by `secure-executor keygen`"))
        #expect(String(decoding: try app.read("notes"), as: UTF8.self) == "shopping list\n")
        #expect(!FileManager.default.fileExists(atPath: app.path("notes.pub")))
        // A key keygen wrote is replaced.
        chmod(app.path("k"), 0o600)
        #expect(try run("keygen", "--out", app.path("k"), "--force").status == 0)
    }

    @Test func demoRunsEndToEnd() throws {
        let folder = try TemporaryApp()
        let demo = try run("demo", "--dir", folder.path("demo"))
        #expect(demo.status == 0, "\(demo.stdout)\(demo.stderr)")
        #expect(demo.stdout.contains("demo OK"))
        #expect(demo.stdout.contains("the outside server received: POST /numbers \"86\""))
        #expect(demo.stdout.contains("MODIFIED"))
        #expect(demo.stdout.contains("does not match its signed hash"))
    }

    @Test func helpTeaches() throws {
        let help = try run("--help")
        for word in ["keygen", "sign", "verify", "inspect", "demo"] { #expect(help.stdout.contains(word)) }
        #expect(try run("sign", "--help").stdout.contains("reused"))
    }
}

@Suite struct FunctionCommandTests {
    @Test func newBuildAndInvokeAFunction() throws {
        let folder = try TemporaryApp()
        let created = try runProcess(cli, ["function", "new", "greeter"], directory: folder.root)
        #expect(created.status == 0, "\(created.stderr)")
        let built = try runProcess(cli, ["function", "build", "greeter"], directory: folder.root)
        #expect(built.status == 0, "\(built.stdout)\(built.stderr)")
        #expect(built.stdout.contains("ABI: OK"))
        let invoked = try runProcess(
            cli, ["invoke", "greeter/greeter.wasm", "--init", "k=v", "--state", "9", "--cast", "a", "--call", "b", "--cast", "c", "--json"],
            directory: folder.root)
        #expect(invoked.status == 0, "\(invoked.stderr)")
        let lines = invoked.stdout.split(separator: "\n").map { try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        #expect(lines.map { $0["event"] as! String } == ["start", "log", "sync", "cast", "reply", "sync", "cast", "log", "stop"])
        #expect(lines[2]["state"] as? String == "10")
        #expect(lines[4]["payload"] as? String == "b")
        #expect((lines[0]["startup_ns"] as? [String: Any])?["total"] != nil)
    }

    @Test func badModulesAndBadFoldersAreExplained() throws {
        let folder = try TemporaryApp(["partial/partial.c": "__attribute__((export_name(\"handle_init_asm\"))) void f(void) {}\n", "junk.wasm": "junk"])
        let built = try runProcess(cli, ["function", "build", "partial"], directory: folder.root)
        #expect(built.status == 1)
        #expect(built.stdout.contains("ABI problem: missing export \"handle_cast_asm\""))
        let empty = try runProcess(cli, ["function", "build", "nothing"], directory: folder.root)
        #expect(empty.status == 1)
        #expect(empty.stderr.contains("no .c files"))
        let junk = try runProcess(cli, ["invoke", "junk.wasm", "--json"], directory: folder.root)
        #expect(junk.status == 1)
        #expect(
            junk.stdout.contains("bad code in function junk.wasm: not a WebAssembly module (bad magic: it does not start with \\\\0asm; 4 bytes)"),
            "\(junk.stdout)")
        // An error names the file and the reason, never the bytes it holds.
        #expect(!junk.stdout.contains("106"))
    }
}

@Suite struct NodeCommandTests {
    static let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("examples").path

    /// The file_log example in `app/`, built and signed with the key `k` (`k.pub` beside it).
    private func signedFileLog() throws -> TemporaryApp { try Self.signedExample("file_log", function: "ticker") }

    /// The example `name` in `app/`, its function built, signed with the key `k` (`k.pub` beside it).
    static func signedExample(_ name: String, function: String) throws -> TemporaryApp {
        let folder = try TemporaryApp()
        try FileManager.default.copyItem(atPath: examples + "/" + name, toPath: folder.path("app"))
        #expect(try runProcess(cli, ["function", "build", "app/functions/\(function)"], directory: folder.root).status == 0)
        #expect(try runProcess(cli, ["keygen", "--out", "k"], directory: folder.root).status == 0)
        try FileManager.default.createDirectory(atPath: folder.path("app/logs"), withIntermediateDirectories: true)
        #expect(try runProcess(cli, ["sign", "app/\(name).toml", "--key", "k"], directory: folder.root).status == 0)
        return folder
    }

    @Test func everyExamplePasses() throws {
        let result = try runProcess(cli, ["examples", "run-all", "--dir", Self.examples])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("\(ExampleRunner.names.count) passed, 0 failed"))
        for name in ["noop", "ping_pong", "ping_pong_async", "file_log"] { #expect(result.stdout.contains(name)) }
        // The table set against EDGELESS's own run_all_examples.sh: each of its workflows, with what runs it here.
        for entry in ExampleRunner.edgeless { #expect(result.stdout.contains(entry.workflow)) }
        #expect(result.stdout.contains(/file_log\/workflow\.json +default +pass \(file_log\)/), "\(result.stdout)")
        #expect(result.stdout.contains(/sqlx\/workflow\.json +default +pass \(sqlx\)/))
        #expect(result.stdout.contains(/kafka_egress\/workflow\.json +specialised +not here: needs a Kafka broker/))
    }

    @Test func runVerifiesAndRunsTheWorkflowUntilStopped() throws {
        let folder = try signedFileLog()
        let run = try runProcess(cli, ["run", "app/file_log.toml", "--signer", "k.pub", "--for", "1"], directory: folder.root)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("running file_log 1.0"))
        #expect(run.stdout.contains("function ticker: start-up"))
        #expect(run.stdout.contains("stopped:"))
        #expect(String(decoding: try folder.read("app/logs/ticker.log"), as: UTF8.self).split(separator: "\n").count >= 5)

        // A tampered function is refused before anything runs.
        var code = try folder.read("app/functions/ticker/ticker.wasm")
        code[code.count / 2] ^= 1
        try folder.write("app/functions/ticker/ticker.wasm", bytes: code)
        let tampered = try runProcess(cli, ["run", "app/file_log.toml", "--signer", "k.pub", "--for", "1"], directory: folder.root)
        #expect(tampered.status == 1)
        #expect(tampered.stderr.contains("does not match its signed hash"))
    }

    @Test func theNodeCommandsDriveARunningNodeWithTheTokenItWrote() async throws {
        let folder = try signedFileLog()
        let workflow = try String(contentsOfFile: folder.path("app/workflow.json"), encoding: .utf8)
        try folder.write("extra.json", workflow.replacingOccurrences(of: "logs/ticker.log", with: "logs/extra.log"))
        try folder.write("escape.json", workflow.replacingOccurrences(of: "logs/ticker.log", with: "workflow.json"))

        let control = folder.path("control")
        let node = Process()
        node.executableURL = URL(fileURLWithPath: cli)
        node.currentDirectoryURL = URL(fileURLWithPath: folder.root)
        node.arguments = ["run", "app/file_log.toml", "--signer", "k.pub", "--for", "600", "--api-port", "0", "--ingress-port", "0", "--control-dir", control]
        FileManager.default.createFile(atPath: folder.path("node.log"), contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: folder.path("node.log")))
        node.standardOutput = log
        node.standardError = log
        try node.run()
        defer { if node.isRunning { node.terminate() } }
        let printed = { (try? String(contentsOfFile: folder.path("node.log"), encoding: .utf8)) ?? "" }
        let deadline = ContinuousClock.now + .seconds(60)
        while !printed().contains("running file_log"), node.isRunning, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(100)) }
        #expect(printed().contains("running file_log"), "\(printed())")
        let attributes = try FileManager.default.attributesOfItem(atPath: control + "/file_log/control.json")
        #expect(attributes[.posixPermissions] as? Int == 0o600)

        func command(_ arguments: String...) throws -> ProcessResult {
            try runProcess(cli, ["node"] + arguments + ["--control-dir", control], directory: folder.root)
        }
        let status = try command("status")
        #expect(status.status == 0, "\(status.stderr)")
        #expect(status.stdout.contains("status: ok"), "\(status.stdout)")
        #expect(status.stdout.contains("workflows: 1"))
        let started = try command("start", "extra.json", "--id", "extra")
        #expect(started.stdout.contains("started workflow extra"), "\(started.stdout)\(started.stderr)")
        let listed = try command("workflows")
        #expect(listed.stdout.contains("extra  (POST /workflows): functions ticker"), "\(listed.stdout)")
        // The API refuses what the signed manifest does not allow, with the reason.
        let escape = try command("start", "escape.json")
        #expect(escape.status == 1)
        #expect(escape.stderr.contains("POST /workflows: 400"), "\(escape.stderr)")
        #expect(try command("stop", "extra").status == 0)
        let afterStop = try command("workflows")
        #expect(!afterStop.stdout.contains("extra"))

        // A caller without the node's token is refused; it cannot even read the status.
        let file = control + "/file_log/control.json"
        let real = try String(contentsOfFile: file, encoding: .utf8)
        let token = try #require(real.firstMatch(of: /"token" : "([^"]+)"/)?.1)
        try real.replacingOccurrences(of: String(token), with: String(repeating: "0", count: token.count)).write(
            toFile: file, atomically: false, encoding: .utf8)
        let refused = try command("status")
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("the node refused the token from its control file (401)"), "\(refused.stderr)")

        node.terminate()
        node.waitUntilExit()
        #expect(printed().contains("stopped:"), "\(printed())")
        // The node removes only a control file that is still its own; this one was altered.
        #expect(FileManager.default.fileExists(atPath: file))
    }
}
