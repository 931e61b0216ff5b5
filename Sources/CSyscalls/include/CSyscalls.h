#ifndef CSYSCALLS_H
#define CSYSCALLS_H

// The few Linux calls Swift cannot make itself: glibc declares prctl, ptrace and syscall as
// variadic, and Swift does not import variadic C functions. Each returns 0 or an errno value.

/// prctl(PR_SET_PDEATHSIG, signal): the kernel sends `signal` to this process when the thread
/// that started it exits.
int se_set_parent_death_signal(int signal);

/// O_PATH (a descriptor that names a file without opening it for reading), which the Swift
/// Glibc module does not export.
int se_open_path_flag(void);

/// What the isolation check tries; the sandbox's seccomp filter refuses each with EPERM. None
/// changes anything when the call gets through: ptrace(PTRACE_GETREGS) of this untraced
/// process (ESRCH without a filter), keyctl(KEYCTL_GET_KEYRING_ID) of the session keyring, a
/// tmpfs mount on a path that cannot exist (ENOENT without a filter, even as root), and, in a
/// forked child, unshare(CLONE_NEWUSER).
int se_try_ptrace(void);
int se_try_mount(void);
int se_try_unshare_user(void);
int se_try_keyctl(void);

#endif
