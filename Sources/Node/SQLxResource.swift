import Foundation
import FunctionRuntime
import Logging
import Manifest
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import SQLiteNIO
import Shield
import Support

/// `sqlx`, as EDGELESS's: an SQLite database holding the table
/// `WorkflowState (id VARCHAR(255) PRIMARY KEY, metadata JSONB NOT NULL)`. Each event is one SQL
/// statement; the workflow's id is bound to its first parameter (`$1`). As in EDGELESS a
/// statement containing `SELECT` answers its first row as `{"id":…,"metadata":…}`, one
/// containing `INSERT`, `UPDATE` or `DELETE` answers `rows_affected: N, last_insert_rowid: M.`,
/// a failure answers its message, and anything else is an error; a cast runs the statement and
/// answers nothing.
///
/// EDGELESS runs whatever SQL a function sends; here the statement is bound (docs/NODE.md):
/// SQLite's authorizer allows reading and changing `WorkflowState` in the main database and a
/// list of pure functions, nothing else (no ATTACH, PRAGMA, schema change, transaction,
/// recursive query); the query planner must run it in at most one loop over the table, so its
/// cost grows with the table, which `[policy.sqlx] max_size` bounds through `max_page_count`.
/// The database file lies under `[allowed] files` (and `[policy.sqlx] paths`), its journal
/// beside it; SQLite runs on `SQLxResource.threads`, never on a guest or an event loop.
final class SQLxResource: Resource {
    /// The table every statement works on, as EDGELESS names it.
    static let table = "WorkflowState"
    /// How long one statement may take before the caller gets an error.
    static let timeout: TimeAmount = .seconds(2)
    /// SQLite's own work: few threads, as a statement is short by construction.
    static let threads: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: 2)
        pool.start()
        return pool
    }()
    /// Where the async part of opening a connection runs: SQLite's own pool.
    static let executor = ForwardingExecutor { job in threads.submit { _ in job() } }

    let name: String
    private let workflow: String
    private let path: String
    private let maxPages: Int
    private let maxReplyBytes: Int
    /// Opened at the first statement (it blocks, so on a guest thread), then kept.
    private let connection = NIOLockedValueBox<SQLiteConnection?>(nil)

    init(name: String, configuration: [String: String], workflow: String, context: ResourceContext) throws(NodeError) {
        self.name = name
        self.workflow = workflow
        maxReplyBytes = context.maxPayloadBytes
        maxPages = context.manifest.policy.sqlx.maxSize / 4096
        let file: RelativePath
        switch SQLxResource.databasePath(configuration["url"] ?? "") {
        case let .failure(problem): throw .resource(name, problem.description)
        case let .success(relative): file = relative
        }
        // Created here, through the Shield, so a symlink or a signed file is refused before
        // SQLite ever opens the path.
        do { close(try context.shield.openAllowed(file.string, flags: O_RDWR | O_CREAT, mode: 0o600)) } catch {
            throw .resourceFailed(name, .init(error))
        }
        let journal: RelativePath
        do { journal = try RelativePath(file.string + "-journal", origin: "url") } catch { throw .resourceFailed(name, .init(error)) }
        guard context.shield.access(journal) == .allowed else {
            throw .resource(name, "SQLite keeps its journal in \(journal.string), which [allowed] files does not cover; allow the database's folder")
        }
        path = context.manifest.root + "/" + file.string
    }

    deinit { stop() }

    /// `sqlite://PATH` or `sqlite:PATH` (EDGELESS's sqlx URLs), PATH relative to the app root.
    static func databasePath(_ url: String) -> Result<RelativePath, ConfigurationProblem> {
        let written: Substring
        if url.hasPrefix("sqlite://") {
            written = url.dropFirst("sqlite://".count)
        } else if url.hasPrefix("sqlite:") {
            written = url.dropFirst("sqlite:".count)
        } else {
            return .failure(ConfigurationProblem("url \"\(LogText.escaped(url, maxBytes: 128))\" is not sqlite://PATH"))
        }
        guard !written.contains("?"), !written.contains("#"), written != ":memory:" else {
            return .failure(
                ConfigurationProblem("url \"\(LogText.escaped(url, maxBytes: 128))\" must name a file, without options: sqlite://PATH, relative to the app"))
        }
        do { return .success(try RelativePath(String(written), origin: "url")) } catch {
            return .failure(ConfigurationProblem("url \"\(LogText.escaped(url, maxBytes: 128))\": \(error.description)"))
        }
    }

    func cast(payload: [UInt8]) throws {
        if case let .error(reason) = call(payload: payload) { throw NodeError.resource(name, reason) }
    }

    func call(payload: [UInt8]) -> CallReply {
        guard let statement = String(validating: payload, as: UTF8.self) else { return .error("resource \(name): the statement is not UTF-8") }
        let isQuery = statement.contains("SELECT")
        guard isQuery || ["INSERT", "UPDATE", "DELETE"].contains(where: statement.contains) else {
            return .error("resource \(name): a statement must SELECT, INSERT, UPDATE or DELETE (as EDGELESS's sqlx reads it)")
        }
        do {
            let connection = try open()
            let binds = try plan(statement, on: connection)
            let answer = isQuery ? try firstRow(statement, binds, on: connection) : try change(statement, binds, on: connection)
            guard answer.utf8.count <= maxReplyBytes else {
                return .error("resource \(name): the answer has \(answer.utf8.count) bytes, over the payload limit of \(maxReplyBytes)")
            }
            return .reply(Array(answer.utf8))
        } catch let refused as Refusal {
            return .error("resource \(name): \(refused.reason)")
        } catch {
            // EDGELESS answers a database error as a reply carrying its message.
            return .reply(Array("\(error)".utf8))
        }
    }

    func stop() {
        let open = connection.withLockedValue { current in
            defer { current = nil }
            return current
        }
        open?.close().whenComplete { _ in }
    }

    /// A statement this resource will not run, with why.
    private struct Refusal: Error {
        let reason: String
    }

    private func open() throws -> SQLiteConnection {
        if let open = connection.withLockedValue({ $0 }) { return open }
        let loop = MultiThreadedEventLoopGroup.singleton.any()
        let opening = loop.makePromise(of: SQLiteConnection.self)
        let (path, maxPages) = (path, maxPages)
        // sqlite-nio sets its authorizer only from async code; that task runs on SQLite's own
        // pool, so a guest waiting here never waits for Swift's cooperative threads, which
        // blocked callers could all be holding.
        Task(executorPreference: Self.executor) {
            do { opening.succeed(try await Self.connect(path: path, maxPages: maxPages, on: loop)) } catch { opening.fail(error) }
        }
        let opened = try wait(opening.futureResult)
        return connection.withLockedValue { current in
            if let current {
                opened.close().whenComplete { _ in }
                return current
            }
            current = opened
            return opened
        }
    }

    private static func connect(path: String, maxPages: Int, on loop: any EventLoop) async throws -> SQLiteConnection {
        let opened = try await SQLiteConnection.open(storage: .file(path: path), threadPool: threads, logger: Logger(label: "sqlx"), on: loop)
        do {
            // Before the authorizer, which refuses all three to workflows.
            _ = try await opened.query("PRAGMA trusted_schema = OFF", [])
            _ = try await opened.query("PRAGMA max_page_count = \(maxPages)", [])
            _ = try await opened.query("CREATE TABLE IF NOT EXISTS \(table) (id VARCHAR(255) PRIMARY KEY, metadata JSONB NOT NULL)", [])
            _ = try await opened.setAuthorizerValidator(lifetime: .pinned, authorize)
        } catch {
            try? await opened.close()
            throw error
        }
        return opened
    }

    /// What a workflow's statement may do: read and change WorkflowState in the main
    /// database, and call pure functions. SQLite asks this while preparing each statement
    /// (and the triggers it would fire), so a denied step fails the whole statement unrun.
    @Sendable static func authorize(_ event: SQLiteAuthorizerEvent) -> SQLiteAuthorizerResponse {
        switch event.action {
        case .select: return .allow
        case .read, .insert, .update, .delete:
            // A read that takes no column (count(*)) names no database; nothing but main can
            // be there, as ATTACH and temporary tables are refused.
            return event.parameter1?.caseInsensitiveCompare(table) == .orderedSame && (event.database ?? "main") == "main" ? .allow : .deny
        case .function: return event.parameter2.map { pureFunctions.contains($0.lowercased()) } == true ? .allow : .deny
        default: return .deny
        }
    }

    /// Functions whose cost and result size follow from their arguments; not `randomblob`,
    /// `zeroblob`, `printf`/`format` or `replace`, which can make huge values from small ones,
    /// nor anything that reaches outside the statement (`load_extension`, `fts3_tokenizer`).
    static let pureFunctions: Set<String> = [
        "abs", "avg", "coalesce", "count", "date", "datetime", "ifnull", "iif", "instr", "json", "json_array", "json_array_length",
        "json_extract", "json_insert", "json_object", "json_patch", "json_remove", "json_replace", "json_set", "json_type", "json_valid",
        "julianday", "length", "like", "glob", "lower", "ltrim", "max", "min", "nullif", "round", "rtrim", "strftime", "substr",
        "substring", "sum", "time", "total", "trim", "typeof", "unixepoch", "upper", "->", "->>", "changes", "last_insert_rowid",
    ]

    /// Asks the query planner how the statement would run and refuses one with more than one
    /// loop over a table (a join, a subquery): a statement's cost must stay linear in the
    /// table. Answers the binds: the workflow id if the statement has a parameter, else none.
    private func plan(_ statement: String, on connection: SQLiteConnection) throws -> [SQLiteData] {
        var binds: [SQLiteData] = [.text(workflow)]
        let steps: [SQLiteRow]
        do {
            steps = try wait(connection.query("EXPLAIN QUERY PLAN " + statement, binds))
        } catch let error as SQLiteError where error.reason == .range {
            binds = []
            steps = try wait(connection.query("EXPLAIN QUERY PLAN " + statement, binds))
        }
        let loops = steps.compactMap { $0.column("detail")?.string }.filter { detail in
            (detail.hasPrefix("SCAN ") || detail.hasPrefix("SEARCH ")) && detail != "SCAN CONSTANT ROW"
        }
        guard loops.count <= 1 else {
            throw Refusal(
                reason: "the statement runs \(loops.count) loops over tables (\(loops.joined(separator: "; "))); one is the most a statement may run here")
        }
        return binds
    }

    /// EDGELESS's `fetch_one` into `WorkflowState`: the first row's `id` and `metadata` (JSON).
    private func firstRow(_ statement: String, _ binds: [SQLiteData], on connection: SQLiteConnection) throws -> String {
        let first = NIOLockedValueBox<SQLiteRow?>(nil)
        try wait(
            connection.query(statement, binds, logger: connection.logger) { row in
                first.withLockedValue { if $0 == nil { $0 = row } }
            })
        guard let row = first.withLockedValue({ $0 }) else { return "no rows returned by a query that expected to return at least one row" }
        guard let id = row.column("id")?.string, let metadata = row.column("metadata")?.string else {
            return "the row has no text columns id and metadata"
        }
        guard let data = metadata.data(using: .utf8), let value = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) else {
            return "error occurred while decoding column \"metadata\": not JSON"
        }
        let answer: [String: Any] = ["id": id, "metadata": value]
        let encoded = try JSONSerialization.data(withJSONObject: answer, options: [.sortedKeys, .withoutEscapingSlashes, .fragmentsAllowed])
        return String(decoding: encoded, as: UTF8.self)
    }

    private func change(_ statement: String, _ binds: [SQLiteData], on connection: SQLiteConnection) throws -> String {
        _ = try wait(connection.query(statement, binds))
        let counts = try wait(connection.query("SELECT changes() AS changed, last_insert_rowid() AS rowid", []))
        let changed = counts.first?.column("changed")?.integer ?? 0
        let rowid = counts.first?.column("rowid")?.integer ?? 0
        return "rows_affected: \(changed), last_insert_rowid: \(rowid)."
    }

    /// Waits on the guest thread, at most `timeout`; the statement itself finishes on its pool.
    private func wait<Value: Sendable>(_ future: EventLoopFuture<Value>) throws -> Value {
        let bounded = future.eventLoop.makePromise(of: Value.self)
        future.cascade(to: bounded)
        let timer = future.eventLoop.scheduleTask(in: Self.timeout) {
            bounded.fail(Refusal(reason: "SQLite did not finish within \(Self.timeout.nanoseconds / 1_000_000) ms"))
        }
        bounded.futureResult.whenComplete { _ in timer.cancel() }
        return try GuestThreads.wait(for: bounded.futureResult)
    }
}

extension SQLxResource: ResourceClass {
    static let classType = "sqlx"
    static let requiredConfiguration = ["url"]
    static let optionalConfiguration: [String] = []

    static func admit(_ resource: Workflow.Resource, key: String, in context: AdmissionContext) -> [String] {
        guard let url = resource.configurations["url"] else { return [] }
        let path: RelativePath
        switch databasePath(url) {
        case let .failure(problem): return ["\(key).configurations.url: \(problem)"]
        case let .success(relative): path = relative
        }
        return context.outside(context.manifest.policy.sqlx.paths, policyKey: "policy.sqlx.paths", path: path, key: "\(key).configurations.url", written: url)
    }

    static func make(_ resource: Workflow.Resource, in context: ResourceContext) throws(NodeError) -> SQLxResource {
        try SQLxResource(name: resource.name, configuration: resource.configurations, workflow: context.workflow, context: context)
    }
}
