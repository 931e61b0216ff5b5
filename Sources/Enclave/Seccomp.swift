#if canImport(Glibc)
    import Glibc
#endif

/// The sandbox's seccomp filter: system calls the runtime never needs, refused with EPERM
/// (clone3 with ENOSYS, so glibc falls back to clone, whose flags the kernel checks against
/// the missing capabilities). Built with Debian's libseccomp2, which also checks the
/// architecture (a call from another ABI is killed), and handed to bubblewrap as a file.
///
/// libseccomp is loaded at run time so that building needs no headers (`swift run
/// secure-executor demo` must build before scripts/install-deps.sh has run). The only file in
/// Enclave with raw pointers. Invariants:
///  1. The library is dlopen'ed once (`Library.shared`) and never closed, so the function
///     pointers looked up from it stay valid for the life of the process.
///  2. Each @convention(c) type below is the libseccomp 2.x prototype in seccomp.h, with
///     scmp_filter_ctx as an opaque pointer; seccomp_rule_add_array is used rather than the
///     variadic seccomp_rule_add, with no argument comparisons (count 0, null array).
///  3. A filter context is released exactly once (defer), on every path.
///  4. The program goes into a file in the launcher's private folder, unlinked at once; the
///     returned descriptor (close-on-exec, offset 0) is the caller's to pass and close.
enum SeccompFilter {
    static let libraryName = "libseccomp.so.2"

    /// Every system call here is refused with EPERM; names this architecture lacks are skipped.
    static let refused = [
        "ptrace", "process_vm_readv", "process_vm_writev", "kcmp",
        "mount", "umount", "umount2", "pivot_root", "move_mount", "open_tree", "fsopen", "fsconfig", "fsmount", "fspick",
        "mount_setattr", "chroot",
        "kexec_load", "kexec_file_load", "reboot", "init_module", "finit_module", "delete_module", "create_module",
        "bpf", "perf_event_open", "userfaultfd", "open_by_handle_at", "name_to_handle_at",
        "keyctl", "add_key", "request_key",
        "swapon", "swapoff", "acct", "quotactl", "quotactl_fd", "iopl", "ioperm",
        "clock_settime", "clock_adjtime", "settimeofday", "adjtimex", "stime",
        "sethostname", "setdomainname", "personality", "unshare", "setns", "lookup_dcookie", "vhangup", "nfsservctl",
    ]

    private static let allow: UInt32 = 0x7fff_0000  // SCMP_ACT_ALLOW
    private static func errno(_ code: Int32) -> UInt32 { 0x0005_0000 | (UInt32(code) & 0xffff) }  // SCMP_ACT_ERRNO(code)

    private struct Library: @unchecked Sendable {
        // @unchecked: the handle and the pointers are written once, before `shared` is
        // published, and the library is never unloaded (invariant 1).
        typealias Initialise = @convention(c) (UInt32) -> OpaquePointer?
        typealias Resolve = @convention(c) (UnsafePointer<CChar>) -> Int32
        typealias AddRule = @convention(c) (OpaquePointer, UInt32, Int32, UInt32, UnsafeRawPointer?) -> Int32
        typealias Export = @convention(c) (OpaquePointer, Int32) -> Int32
        typealias Release = @convention(c) (OpaquePointer) -> Void

        let initialise: Initialise, resolve: Resolve, addRule: AddRule, export: Export, release: Release

        static let shared: Result<Library, EnclaveError> = {
            guard let handle = dlopen(libraryName, RTLD_NOW | RTLD_LOCAL) else {
                return .failure(
                    .unavailable(
                        backend: "sandbox",
                        reason:
                            "\(libraryName) cannot be loaded, so no seccomp filter can be built (install Debian's libseccomp2: run scripts/install-deps.sh)"))
            }
            func symbol<T>(_ name: String, as type: T.Type) -> T? { dlsym(handle, name).map { unsafeBitCast($0, to: type) } }
            guard let initialise = symbol("seccomp_init", as: Initialise.self),
                let resolve = symbol("seccomp_syscall_resolve_name", as: Resolve.self),
                let addRule = symbol("seccomp_rule_add_array", as: AddRule.self),
                let export = symbol("seccomp_export_bpf", as: Export.self),
                let release = symbol("seccomp_release", as: Release.self)
            else {
                return .failure(.unavailable(backend: "sandbox", reason: "\(libraryName) lacks the libseccomp 2 functions (install Debian's libseccomp2)"))
            }
            return .success(Library(initialise: initialise, resolve: resolve, addRule: addRule, export: export, release: release))
        }()
    }

    /// Why no filter can be built here, if it cannot.
    static var unavailableReason: String? {
        if case let .failure(error) = Library.shared { return error.reason }
        return nil
    }

    /// The compiled BPF program in an unlinked file made in `folder`; its descriptor.
    static func compile(into folder: String) throws(EnclaveError) -> Int32 {
        let library = try Library.shared.get()
        guard let context = library.initialise(allow) else { throw failure("seccomp_init failed") }
        defer { library.release(context) }
        for name in refused {
            let number = library.resolve(name)
            guard number >= 0 else { continue }  // __NR_SCMP_ERROR: not a call on this architecture
            let result = library.addRule(context, errno(EPERM), number, 0, nil)
            guard result == 0 else { throw failure("cannot add a rule for \(name): \(String(cString: strerror(-result)))") }
        }
        let clone3 = library.resolve("clone3")
        if clone3 >= 0, library.addRule(context, errno(ENOSYS), clone3, 0, nil) != 0 { throw failure("cannot add a rule for clone3") }

        let path = folder + "/seccomp.bpf"
        let fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw failure("cannot create \(path): \(String(cString: strerror(Glibc.errno)))") }
        unlink(path)
        let exported = library.export(context, fd)
        guard exported == 0, lseek(fd, 0, SEEK_SET) == 0 else {
            close(fd)
            throw failure("cannot write the program: \(String(cString: strerror(exported < 0 ? -exported : Glibc.errno)))")
        }
        return fd
    }

    private static func failure(_ reason: String) -> EnclaveError { .launchFailed(backend: "sandbox", reason: "seccomp filter: \(reason)") }
}
