import Dispatch

/// Runs a server's tasks on Dispatch threads instead of Swift's shared cooperative pool. That
/// pool has one thread per core (two here): code elsewhere in the process that blocks in it
/// (a synchronous wait, a long synchronous test) would otherwise stop every request from being
/// answered. Tasks started with this preference, and their child tasks, run here.
final class ServerExecutor: TaskExecutor {
    private let queue: DispatchQueue

    init(label: String) {
        queue = DispatchQueue(label: label, attributes: .concurrent)
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        queue.async { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
