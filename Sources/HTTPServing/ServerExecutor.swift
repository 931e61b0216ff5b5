import Dispatch

/// Runs the servers' tasks on Dispatch threads instead of Swift's shared cooperative pool. That
/// pool has one thread per core (two here): code elsewhere in the process that blocks in it
/// (a synchronous wait, a long synchronous test) would otherwise stop every request from being
/// answered. Tasks started with this preference, and their child tasks, run here.
///
/// One executor for the process, never released: a task refers to its preferred executor
/// without owning it, and a connection's last jobs may arrive after its server has stopped.
final class ServerExecutor: TaskExecutor {
    static let shared = ServerExecutor()

    private let queue = DispatchQueue(label: "secure-executor.http", attributes: .concurrent)

    private init() {}

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        queue.async { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
