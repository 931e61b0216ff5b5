import Dispatch
import Support

/// Runs the tasks of servers started with `HTTPServer.start` (a group of their own: tests, the
/// example runner's peers, the benchmark's baseline) on Dispatch threads instead of Swift's
/// shared cooperative pool. That pool has one thread per core (two here), and code beside those
/// servers blocks in it: synchronous tests, and a workflow start whose init function calls an
/// in-process peer while the test waits. Without this executor such a peer could not answer.
/// The node's own servers do not use it: they run in the runtime's service group, where no
/// handler blocks (blocking work goes to `NIOThreadPool`).
///
/// One executor for the process, never released: a task refers to its preferred executor
/// without owning it, and a connection's last jobs may arrive after its server has stopped.
enum ServerExecutor {
    static let shared = ForwardingExecutor { job in queue.async(execute: job) }
    private static let queue = DispatchQueue(label: "secure-executor.http", attributes: .concurrent)
}
