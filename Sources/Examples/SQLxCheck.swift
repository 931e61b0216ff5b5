import Foundation
import NIOPosix
import Node
import SQLiteNIO

/// The sqlx example's check, read with a connection of its own: the workflow's WorkflowState
/// row goes from "initial" to "subsequent" with a sensor reading in [0, 20], and the function's
/// stop handler deletes it.
enum SQLxCheck {
    static func run(_ run: ExampleRunner.Run) async throws -> String {
        let path = run.folder + "/sqlite.db"
        let deadline = Date().addingTimeInterval(10)
        var seen: [String: String] = [:]
        while Date() < deadline {
            seen = try await rows(path)
            if let state = seen[run.workflow.id], state.contains(#""bar":"subsequent""#) { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        guard let state = seen[run.workflow.id], let data = state.data(using: .utf8),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            object["bar"] as? String == "subsequent", let foo = object["foo"] as? Double, (0...20).contains(foo)
        else {
            throw ExampleRunner.Failure("sqlite.db holds \(seen), expected a row \(run.workflow.id) with {\"foo\": 0…20, \"bar\": \"subsequent\"} within 10 s")
        }
        try run.node.stop(workflow: run.workflow.id)
        let after = try await rows(path)
        guard after[run.workflow.id] == nil else { throw ExampleRunner.Failure("after stop, sqlite.db still holds row \(run.workflow.id): \(after)") }
        return "WorkflowState \(run.workflow.id) = \(state); deleted at stop"
    }

    private static func rows(_ path: String) async throws -> [String: String] {
        let connection = try await SQLiteConnection.open(storage: .file(path: path))
        do {
            var found: [String: String] = [:]
            // The resource creates the table at its first statement.
            let tables = try await connection.query("SELECT name FROM sqlite_master WHERE name = 'WorkflowState'", [])
            for row in tables.isEmpty ? [] : try await connection.query("SELECT id, metadata FROM WorkflowState", []) {
                if let id = row.column("id")?.string { found[id] = row.column("metadata")?.string ?? "" }
            }
            try await connection.close()
            return found
        } catch {
            try? await connection.close()
            throw error
        }
    }
}
