import ArgumentParser
import Examples
import Foundation
import NodeAPI

/// `secure-executor node …`: talk to a running node through its control file, so nobody
/// hand-crafts requests or copies tokens.
struct NodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "node",
        abstract: "Ask a running node (started with `run`) for its status, or start and stop workflows.",
        discussion: """
            Each command reads the control file the node wrote at start (CONTROL-DIR/APP/control.json, mode \
            0600: the API's URL and its bearer token, new at every start) and sends the token. With \
            one node running nothing needs naming; with several, pick one with --app.

              secure-executor node status
              secure-executor node workflows --json
              secure-executor node start workflows/extra.json --id extra
              secure-executor node stop extra

            docs/NODE.md describes the API and the credential.
            """,
        subcommands: [NodeStatus.self, NodeWorkflows.self, NodeStart.self, NodeStop.self])
}

/// Which node, and how to print.
struct NodeOptions: ParsableArguments {
    @Option(
        help: "Folder of the node's control file, as given to `run --control-dir` (default: $XDG_RUNTIME_DIR/secure-executor, else /tmp/secure-executor-UID).")
    var controlDir: String?

    @Option(help: "The app's name (the manifest's [app] name), when more than one node runs.")
    var app: String?

    @Flag(help: "Print the API's JSON answer as it is.")
    var json = false

    /// Sends one request with the node's token; ends the program with the reason on failure.
    func send(_ method: HTTPMethodName, _ path: String, body: [UInt8] = []) async -> HTTPAnswerText {
        let control: ControlFile
        do { control = try ControlFile.find(in: controlDir ?? ControlFile.defaultFolder(), app: app) } catch { fail(error) }
        let answer: HTTPAnswerText
        do {
            let url = control.url + path
            let headers = ["authorization": "Bearer " + control.token]
            let reply =
                switch method {
                case .GET: try await HTTPCall.send(.GET, url, headers: headers)
                case .POST: try await HTTPCall.send(.POST, url, headers: headers, body: body)
                case .DELETE: try await HTTPCall.send(.DELETE, url, headers: headers)
                }
            answer = HTTPAnswerText(status: reply.status, text: reply.text)
        } catch {
            fail("no node of \(control.app) answers at \(control.url) (\(error)); if it stopped without cleaning up, its control file is stale: start it again")
        }
        switch answer.status {
        case 200..<300: return answer
        case 401: fail("the node refused the token from its control file (401): \(answer.text.trimmingCharacters(in: .whitespacesAndNewlines))")
        default: fail("\(method) \(path): \(answer.status) \(answer.text.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
    }

    func print(_ answer: HTTPAnswerText, readable: (Any) -> String) {
        guard !json, let value = try? JSONSerialization.jsonObject(with: Data(answer.text.utf8)) else { return Swift.print(answer.text, terminator: "") }
        Swift.print(readable(value))
    }
}

/// The methods the commands use (NIO's own type is not imported into the CLI).
enum HTTPMethodName: String, CustomStringConvertible {
    case GET, POST, DELETE
    var description: String { rawValue }
}

struct HTTPAnswerText {
    var status: Int
    var text: String
}

struct NodeStatus: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "The node's health: status, warnings, workflows, instances, backend.")
    @OptionGroup var node: NodeOptions

    func run() async throws {
        let answer = await node.send(.GET, "/health")
        node.print(answer) { value in
            let health = value as? [String: Any] ?? [:]
            var lines = [
                "status: \(health["status"] ?? "?")  backend: \(health["backend"] ?? "unknown")  uptime: \(health["uptime_seconds"] ?? "?") s",
                "workflows: \(health["workflows"] ?? 0)  instances: \(health["instances"] ?? 0)  events/s: \(health["events_per_second"] ?? 0)",
            ]
            for warning in health["warnings"] as? [String] ?? [] { lines.append("WARNING: \(warning)") }
            for failed in health["failed_instances"] as? [String] ?? [] { lines.append("failed: \(failed)") }
            return lines.joined(separator: "\n")
        }
    }
}

struct NodeWorkflows: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "workflows", abstract: "The running workflows with their functions and event counts.")
    @OptionGroup var node: NodeOptions

    func run() async throws {
        let answer = await node.send(.GET, "/workflows")
        node.print(answer) { value in
            let workflows = value as? [[String: Any]] ?? []
            if workflows.isEmpty { return "no workflows running" }
            return workflows.map { workflow in
                let functions = (workflow["functions"] as? [String] ?? []).joined(separator: ", ")
                return
                    "\(workflow["id"] ?? "?")  (\(workflow["source"] ?? "?")): functions \(functions); delivered \(workflow["delivered"] ?? 0), undelivered \(workflow["undelivered"] ?? 0)"
            }.joined(separator: "\n")
        }
    }
}

struct NodeStart: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "start", abstract: "Start a workflow of trusted functions on the node.",
        discussion:
            "WORKFLOW.json is EDGELESS workflow JSON; its functions' code paths are relative to the app's root (not to the file) and must be trusted files of the signed table."
    )
    @Argument(help: "The workflow JSON file to send.")
    var workflow: String
    @Option(help: "The workflow's id (default: one the node chooses).")
    var id: String?
    @OptionGroup var node: NodeOptions

    func run() async throws {
        let body: Data
        do { body = try Data(contentsOf: URL(fileURLWithPath: workflow)) } catch { fail("cannot read \(workflow): \(error.localizedDescription)") }
        let query = id.map { "?id=" + ($0.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? $0) } ?? ""
        let answer = await node.send(.POST, "/workflows" + query, body: Array(body))
        node.print(answer) { value in "started workflow \((value as? [String: Any])?["id"] ?? "?")" }
    }
}

struct NodeStop: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stop", abstract: "Stop a workflow: its stop handlers run and its synced state is kept.")
    @Argument(help: "The workflow's id (see `node workflows`).")
    var id: String
    @OptionGroup var node: NodeOptions

    func run() async throws {
        let escaped = id.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? id
        let answer = await node.send(.DELETE, "/workflows/" + escaped)
        node.print(answer) { _ in answer.text }
    }
}
