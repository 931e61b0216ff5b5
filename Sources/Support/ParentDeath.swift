import CSyscalls

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A process the launcher starts (the host agent; the runtime under backend direct) must not
/// outlive it, even when the launcher is killed with SIGKILL and cleans nothing up. posix_spawn
/// cannot set PR_SET_PDEATHSIG for the child, so the child sets it first thing, then checks
/// its parent is still the launcher: had the launcher died between spawn and prctl, the child
/// was re-parented and the signal would never come.
public enum ParentDeath {
    /// Thrown by `tie`: prctl failed (`code` non-zero) or the parent is no longer the launcher.
    public struct Orphaned: Error, CustomStringConvertible {
        /// The pid the caller expected as its parent.
        public let launcher: pid_t
        /// The actual parent pid (getppid) at the check.
        public let parent: pid_t
        /// prctl's error number; 0 when prctl succeeded and only the parent was wrong.
        public let code: Int32
        /// Which of the two failures happened, for the operator.
        public var description: String {
            code != 0
                ? "cannot ask to die with the launcher (prctl PR_SET_PDEATHSIG): \(String(cString: strerror(code)))"
                : "the launcher (pid \(launcher)) is gone (parent is now pid \(parent)); not starting without it"
        }
    }

    /// SIGKILL when the parent exits; throws if the parent is no longer `launcher`.
    public static func tie(toLauncher launcher: pid_t) throws(Orphaned) {
        let code = se_set_parent_death_signal(SIGKILL)
        let parent = getppid()
        guard code == 0, parent == launcher else { throw Orphaned(launcher: launcher, parent: parent, code: code) }
    }
}
