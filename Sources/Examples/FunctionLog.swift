import Logging
import Synchronization

/// What the functions of an example logged, for checks of EDGELESS functions whose only effect
/// is their telemetry: "tbegin N" and "tend N" (level trace) mark a transaction's ends. Sits
/// beside the node's own log handler, which sees everything it saw before.
final class FunctionLog: LogHandler, Sendable {
    struct Entry: Sendable {
        let workflow: String
        let function: String
        let target: String
        let message: String
    }

    private let entries = Mutex<[Entry]>([])

    /// The messages `function` logged to `target`, in order; in `workflow` only, if given.
    func messages(_ function: String, target: String, workflow: String? = nil) -> [String] {
        entries.withLock { entries in
            entries.filter { $0.function == function && $0.target == target && (workflow == nil || $0.workflow == workflow) }.map(\.message)
        }
    }

    /// `logger` with this log beside its handler.
    func beside(_ logger: Logger) -> Logger {
        let handlers: [any LogHandler] = [logger.handler, self]
        return Logger(label: logger.label) { _ in MultiplexLogHandler(handlers) }
    }

    // A function's log lines carry workflow, function and target (Dataplane.log); only those are kept.
    func log(event: LogEvent) {
        guard let function = event.metadata?["function"], let target = event.metadata?["target"] else { return }
        let entry = Entry(workflow: event.metadata?["workflow"]?.description ?? "", function: "\(function)", target: "\(target)", message: "\(event.message)")
        entries.withLock { $0.append(entry) }
    }

    var metadataProvider: Logger.MetadataProvider? {
        get { nil }
        set {}
    }
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { nil }
        set {}
    }
    var metadata: Logger.Metadata {
        get { [:] }
        set {}
    }
    var logLevel: Logger.Level {
        get { .trace }
        set {}
    }
}
