/// Runs an async task's jobs wherever `run` puts them (a Dispatch queue, a thread pool)
/// instead of Swift's shared cooperative pool, which has one thread per core and which code
/// that blocks (synchronous tests, a guest thread's wait) can fill. Keep one for the process:
/// a task refers to its preferred executor without owning it.
public final class ForwardingExecutor: TaskExecutor, Sendable {
    private let run: @Sendable (@escaping @Sendable () -> Void) -> Void

    public init(_ run: @escaping @Sendable (@escaping @Sendable () -> Void) -> Void) { self.run = run }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        run { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
