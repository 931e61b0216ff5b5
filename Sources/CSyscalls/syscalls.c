#define _GNU_SOURCE
#include "CSyscalls.h"
#include <errno.h>
#include <fcntl.h>

#if defined(__linux__)
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

static int outcome(long result) { return result < 0 ? errno : 0; }

/* A call that would change this process if it succeeded (a new user namespace) runs in a
   forked child, which makes only that call and _exit(2)s with its errno: async-signal-safe,
   so safe in a threaded parent. */
static int in_child(int (*call)(const void *), const void *argument) {
    pid_t pid = fork();
    if (pid < 0) return errno;
    if (pid == 0) _exit(call(argument));
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) { if (errno != EINTR) return errno; }
    return WIFEXITED(status) ? WEXITSTATUS(status) : EINTR;
}

static int unshare_user(const void *unused) { (void)unused; return outcome(unshare(CLONE_NEWUSER)); }

int se_open_path_flag(void) { return O_PATH; }

int se_set_parent_death_signal(int signal) { return outcome(prctl(PR_SET_PDEATHSIG, (unsigned long)signal, 0, 0, 0)); }

int se_try_ptrace(void) {
    struct user_regs_struct regs;
    return outcome(ptrace(PTRACE_GETREGS, getpid(), 0, &regs));
}

/* The target cannot exist, so the call can never mount anything, even as root outside any
   sandbox (an earlier probe that mounted over /tmp hid the host's /tmp). A filter refuses it
   with EPERM before the kernel looks at the path; unfiltered, the lookup answers ENOENT. */
int se_try_mount(void) { return outcome(mount("none", "/nonexistent/secure-executor-mount-probe", "tmpfs", 0, 0)); }

int se_try_unshare_user(void) { return in_child(unshare_user, 0); }

/* KEYCTL_GET_KEYRING_ID = 0, KEY_SPEC_SESSION_KEYRING = -3 (linux/keyctl.h), create = 0. */
int se_try_keyctl(void) { return outcome(syscall(SYS_keyctl, 0, -3, 0)); }

#else
int se_open_path_flag(void) { return O_RDONLY; }
int se_set_parent_death_signal(int signal) { (void)signal; return ENOSYS; }
int se_try_ptrace(void) { return ENOSYS; }
int se_try_mount(void) { return ENOSYS; }
int se_try_unshare_user(void) { return ENOSYS; }
int se_try_keyctl(void) { return ENOSYS; }
#endif
