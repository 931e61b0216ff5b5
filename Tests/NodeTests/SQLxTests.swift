import Foundation
import FunctionRuntime
import Support
import TestSupport
import Testing

@testable import Node

@Suite struct SQLxResourceTests {
    static func workflow(_ url: String) -> String {
        #"{"resources": [{"name": "db", "class_type": "sqlx", "configurations": {"url": "\#(url)"}}]}"#
    }

    /// Python's own sqlite3 reads the file: what the resource wrote is really in SQLite.
    static func rows(_ path: String) throws -> String {
        let script =
            "import sqlite3,sys\nfor r in sqlite3.connect(sys.argv[1]).execute('SELECT id, metadata FROM WorkflowState ORDER BY id'): print('|'.join(r))"
        let result = try ChildProcess.run("/usr/bin/env", ["python3", "-c", script, path])
        return result.output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func text(_ reply: CallReply) -> String {
        switch reply {
        case let .reply(bytes): return String(decoding: bytes, as: UTF8.self)
        case let .error(reason): return "error: \(reason)"
        case .noReply: return "no reply"
        }
    }

    @Test func edgelessStatementsKeepTheWorkflowsStateInARealSQLiteFile() throws {
        let (app, node) = try signedApp(workflows: ["db": Self.workflow("sqlite://logs/state.db")])
        let db = try #require(try node.start(workflowAt: "workflows/db.json", id: "wf-7").resources["db"])
        func run(_ statement: String) -> String { Self.text(db.call(payload: Array(statement.utf8))) }
        // The statements EDGELESS's sqlx_test function sends, word for word.
        #expect(run(#"INSERT INTO WorkflowState (id, metadata) Values($1, '{"foo":42.0,"bar":"initial"}')"#) == "rows_affected: 1, last_insert_rowid: 1.")
        #expect(run("SELECT id, metadata FROM WorkflowState WHERE id=$1") == #"{"id":"wf-7","metadata":{"bar":"initial","foo":42}}"#)
        #expect(run(#"UPDATE WorkflowState SET metadata='{"foo":16.5,"bar":"subsequent"}'  WHERE id = $1"#) == "rows_affected: 1, last_insert_rowid: 1.")
        #expect(try Self.rows(app.path("logs/state.db")) == #"wf-7|{"foo":16.5,"bar":"subsequent"}"#)
        // A statement without a parameter runs without the binding.
        #expect(run(#"INSERT INTO WorkflowState VALUES ('other', '{}')"#) == "rows_affected: 1, last_insert_rowid: 2.")
        #expect(run("DELETE FROM WorkflowState WHERE id=$1") == "rows_affected: 1, last_insert_rowid: 2.")
        #expect(run("SELECT id, metadata FROM WorkflowState WHERE id=$1") == "no rows returned by a query that expected to return at least one row")
        #expect(try Self.rows(app.path("logs/state.db")) == "other|{}")
        // A cast runs the statement and answers nothing.
        try db.cast(payload: Array(#"INSERT INTO WorkflowState VALUES ($1, '"cast"')"#.utf8))
        #expect(run("SELECT id, metadata FROM WorkflowState WHERE id=$1") == #"{"id":"wf-7","metadata":"cast"}"#)
        #expect(run("VACUUM").hasPrefix("error: resource db: a statement must SELECT, INSERT, UPDATE or DELETE"))
    }

    @Test func statementsBeyondWorkflowStateAndOneLoopAreRefused() throws {
        let (app, node) = try signedApp(workflows: ["db": Self.workflow("sqlite:logs/state.db")], policy: "[policy.sqlx]\nmax_size = \"64 KiB\"\n")
        let db = try #require(try node.start(workflowAt: "workflows/db.json", id: "wf").resources["db"])
        func run(_ statement: String) -> String { Self.text(db.call(payload: Array(statement.utf8))) }
        #expect(run(#"INSERT INTO WorkflowState VALUES ($1, '{}')"#).hasPrefix("rows_affected: 1"))
        let unauthorized = [
            "SELECT name AS id, sql AS metadata FROM sqlite_master",
            "INSERT INTO WorkflowState SELECT 'x', name FROM pragma_table_info('WorkflowState')",
            "PRAGMA writable_schema = 1; SELECT 1",
            "UPDATE WorkflowState SET metadata = randomblob(1000000000)",
            "SELECT id, printf('%.*c', 100000000, 'x') AS metadata FROM WorkflowState",
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x AS id, x AS metadata FROM c",
        ]
        for statement in unauthorized {
            let answer = run(statement)
            #expect(answer.contains("not authorized") || answer.contains("is prohibited"), "\(statement): \(answer)")
        }
        // SQLite here is built without extension loading at all.
        #expect(run("INSERT INTO WorkflowState SELECT 'y', load_extension('/tmp/x.so')").contains("no such function: load_extension"))
        #expect(run("ATTACH DATABASE 'logs/other.db' AS other").hasPrefix("error: resource db: a statement must SELECT"))
        let join = run("SELECT a.id, b.metadata FROM WorkflowState a, WorkflowState b")
        #expect(join.hasPrefix("error: resource db: the statement runs 2 loops over tables"), "\(join)")
        let subquery = run("UPDATE WorkflowState SET metadata = (SELECT count(*) FROM WorkflowState) WHERE id = $1")
        #expect(subquery.contains("loops over tables"), "\(subquery)")
        // Only the first statement of a message runs.
        _ = run("SELECT id, metadata FROM WorkflowState WHERE id = $1; DROP TABLE WorkflowState")
        #expect(run("SELECT id, metadata FROM WorkflowState WHERE id=$1") == #"{"id":"wf","metadata":{}}"#)
        #expect(Self.text(db.call(payload: [0xFF, 0xFE])) == "error: resource db: the statement is not UTF-8")
        // max_size bounds the file: 64 KiB is 16 pages, and rows of 2 KiB fill it.
        var last = ""
        for row in 0..<64 {
            last = run("INSERT INTO WorkflowState VALUES ('row\(row)', '\"\(String(repeating: "x", count: 2048))\"')")
            if !last.hasPrefix("rows_affected") { break }
        }
        #expect(last.contains("full"), "\(last)")
        let size = try FileManager.default.attributesOfItem(atPath: app.path("logs/state.db"))[.size] as? Int ?? 0
        #expect(size <= 64 << 10)
    }

    @Test func aDatabaseOutsideWhatTheManifestAllowsIsRefusedBeforeItIsOpened() throws {
        let (app, node) = try signedApp(
            workflows: [
                "outside": Self.workflow("sqlite://logs/other/state.db"), "signed": Self.workflow("sqlite://functions/relay.wasm"),
                "options": Self.workflow("sqlite://logs/state.db?mode=memory"), "memory": Self.workflow("sqlite::memory:"),
                "scheme": Self.workflow("postgres://db/x"), "escape": Self.workflow("sqlite://../state.db"),
            ], policy: "[policy.sqlx]\npaths = [\"logs/state.db\"]\n")
        defer { withExtendedLifetime(app) {} }
        #expect(
            refusal(node, "workflows/outside.json").contains(#"resources[0].configurations.url "sqlite://logs/other/state.db" is not under policy.sqlx.paths"#))
        #expect(refusal(node, "workflows/options.json").contains("must name a file, without options"))
        #expect(refusal(node, "workflows/memory.json").contains("must name a file, without options"))
        #expect(refusal(node, "workflows/scheme.json").contains(#"url "postgres://db/x" is not sqlite://PATH"#))
        #expect(refusal(node, "workflows/escape.json").contains("contains '..'"))

        let (unpolicied, open) = try signedApp(workflows: ["signed": Self.workflow("sqlite://functions/relay.wasm")])
        defer { withExtendedLifetime(unpolicied) {} }
        let signed = refusal(open, "workflows/signed.json")
        #expect(signed.contains("functions/relay.wasm") && signed.contains("cannot be opened for writing"), "\(signed)")
    }
}
