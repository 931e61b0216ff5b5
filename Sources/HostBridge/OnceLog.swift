import HostProtocol
import Logging
import NIOConcurrencyHelpers

// "Once per kind" logging. A hostile or broken agent repeats the same fault on every request;
// a log line per request would bury everything else (and let the agent flood the runtime's
// logs). The first occurrence of each kind is logged; repeats are not.

final class OnceLog: Sendable {
    let logger: Logger
    private let seen = NIOLockedValueBox<Set<String>>([])

    init(logger: Logger) {
        self.logger = logger
    }

    /// Logs `message` at warning level unless `key` was logged before. Returns whether it logged.
    @discardableResult
    func warning(key: String, _ message: @autoclosure () -> String, metadata: Logger.Metadata = [:]) -> Bool {
        let isNew = seen.withLockedValue { $0.insert(key).inserted }
        guard isNew else { return false }
        logger.warning("\(message())", metadata: metadata)
        return true
    }
}
