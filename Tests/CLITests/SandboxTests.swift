import Examples
import Foundation
import HTTPServing
import Testing
import TestSupport

private let cli = builtProduct("secure-executor")
private let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("examples").path

/// The http_ingress example, built and signed into a fresh folder, with its public key.
private func preparedApp(_ tag: String) throws -> (app: ExampleApp, signer: String) {
    let folder = NSTemporaryDirectory() + "se-sandbox-\(tag)-\(getpid())/http_ingress"
    let app = try ExampleApp.prepare("http_ingress", from: examples, into: folder)
    return (app, app.key.publicKey.description)
}

/// What a running child has printed so far.
private final class Printed: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()
    func append(_ more: Data) { lock.withLock { data.append(more) } }
    var text: String { lock.withLock { String(decoding: data, as: UTF8.self) } }
}

@Suite(.serialized) struct SandboxTests {
    @Test func theSandboxHidesProcAndHostFilesAndKeepsTheRootReadOnly() throws {
        let (app, signer) = try preparedApp("check")
        defer { try? FileManager.default.removeItem(atPath: (app.folder as NSString).deletingLastPathComponent) }
        try "a host file next to the app".write(toFile: app.folder + "/../neighbour.txt", atomically: true, encoding: .utf8)
        let sandbox = try runProcess(cli, ["run", app.manifest.path, "--signer", signer, "--backend", "sandbox", "--check-isolation"])
        #expect(sandbox.status == 0, "\(sandbox.stdout)\(sandbox.stderr)")
        for line in ["ok   read /proc/meminfo                           refused: Permission denied",
                     "ok   read /proc/loadavg                           refused: Permission denied",
                     "ok   read /proc/sys/kernel/hostname               refused: Permission denied",
                     "ok   count the processes in /proc",
                     "ok   see host path /etc/passwd                    invisible",
                     "nothing but the app",
                     "ok   write into the application root              refused: Read-only file system",
                     "ok   write into allowed \(app.folder)/logs",
                     "ok   give a file to another user (CAP_CHOWN)      refused: Operation not permitted",
                     "the boundary holds"] {
            #expect(sandbox.stdout.contains(line), "missing: \(line)")
        }
        #expect(sandbox.stdout.contains(#/ok   host agent: memory total, load +[0-9.]+ [KMGT]iB, load [0-9.]+/#))

        let direct = try runProcess(cli, ["run", app.manifest.path, "--signer", signer, "--backend", "direct", "--check-isolation"])
        #expect(direct.status == 1)
        #expect(direct.stderr.contains("WARNING: backend direct: NO ISOLATION"))
        #expect(direct.stdout.contains("FAIL read /proc/meminfo"))
        #expect(direct.stdout.contains("VISIBLE: neighbour.txt"))
        #expect(direct.stdout.contains("expected: backend direct does not isolate"))
    }

    @Test func aNodeInTheSandboxServesRequestsAndReportsTheHostThroughTheAgent() async throws {
        let (app, signer) = try preparedApp("serve")
        defer { try? FileManager.default.removeItem(atPath: (app.folder as NSString).deletingLastPathComponent) }
        // Ports 0: the node picks free ones and prints them (a port chosen here could be taken
        // by a parallel test before the node binds it).
        let node = Process()
        node.executableURL = URL(fileURLWithPath: cli)
        node.arguments = ["run", app.manifest.path, "--signer", signer, "--backend", "sandbox", "--for", "6", "--api-port", "0", "--ingress-port", "0"]
        let output = Pipe()
        node.standardOutput = output
        node.standardError = FileHandle.nullDevice
        let printed = Printed()
        output.fileHandleForReading.readabilityHandler = { printed.append($0.availableData) }
        try node.run()
        // It serves for 6 s once started; starting may take a while on a busy machine.
        let deadline = ContinuousClock.now + .seconds(60)
        var ports: (api: Int, ingress: Int)?
        while ports == nil, ContinuousClock.now < deadline {
            if let match = printed.text.firstMatch(of: #/node API on http://127.0.0.1:(\d+), HTTP ingress on http://127.0.0.1:(\d+)/#) {
                ports = (Int(match.1)!, Int(match.2)!)
            } else {
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        let (api, ingress) = try #require(ports, "the node did not print its ports: \(printed.text)")
        let health = try await HTTPCall.send(.GET, "http://127.0.0.1:\(api)/health", timeout: .seconds(5))
        let hello = try await HTTPCall.send(.POST, "http://127.0.0.1:\(ingress)/hello", host: "demo.edgeless.com", body: Array("sandbox".utf8))
        while node.isRunning { try await Task.sleep(for: .milliseconds(100)) }
        output.fileHandleForReading.readabilityHandler = nil
        printed.append(output.fileHandleForReading.readDataToEndOfFile())

        #expect(node.terminationStatus == 0, "\(printed.text)")
        #expect(hello.status == 200)
        #expect(hello.text == "hello sandbox")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(health.body)) as? [String: Any])
        #expect(report["backend"] as? String == "sandbox")
        let host = try #require(report["host"] as? [String: Any])
        let values = try #require(host["values"] as? [String: Any])
        #expect((values["memory_total_bytes"] as? Double ?? 0) > 0)
        #expect(values["load_1"] != nil)
        // The agent measures the runtime itself (found by the kernel, not by a pid the
        // sandboxed runtime could only give from inside its own pid namespace).
        #expect((values["process_resident_bytes"] as? Double ?? 0) > 1_000_000, "\(host)")
        #expect(printed.text.contains("backend sandbox"))
        #expect(printed.text.contains("stopped:"))
    }

    @Test func everyExamplePassesInsideTheSandbox() throws {
        let result = try runProcess(cli, ["examples", "run-all", "--dir", examples, "--backend", "sandbox"])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("inside backend sandbox: /proc/meminfo is not readable"))
        #expect(result.stdout.contains("9 passed, 0 failed (inside backend sandbox)"))
    }
}
