/* multitask/os.h - Python's os.fork, os._exit, os.wait, os.waitpid, and
 * the classic helpers built on them: a double fork and daemonize.
 * docs/os.md maps each Python name.
 *
 * The library never reaps a child behind the back of its owner: waiting
 * for ANY child (mt_os_wait, mt_os_waitpid(-1)) skips the children of
 * mt_process_t objects, pool workers and Popen objects (a registered child
 * found ended there is reaped INTO its object, which keeps its exit code),
 * and waitpid on a registered child's pid goes through its object too. */
#ifndef MULTITASK_OS_H
#define MULTITASK_OS_H

#include <stdbool.h>
#include <sys/types.h>
#include "multitask/error.h"
#include "multitask/process.h"

#ifdef __cplusplus
extern "C" {
#endif
#pragma GCC visibility push(default)

/* os.fork(), returning twice: in the parent the child's pid (> 0) and
 * *child, a started mt_process_t (join with a timeout, is_alive, exitcode,
 * terminate, sentinel; daemon option: killed when the parent dies, and
 * terminated at the parent's normal exit; free it when done); in the child
 * 0 (*child untouched; mt_process_current() names the child, and
 * mt_process_parent() the parent).  The child goes on after the call and
 * leaves with exit() (stdio flushed, atexit handlers run, its own
 * non-daemon children joined) or mt_os_exit (none of that).
 * A negative code: MT_EAGAIN / MT_ENOMEM (fork), MT_EMFILE (no descriptor
 * for the pidfd: the child was killed and reaped), MT_EINVAL (opts),
 * MT_ECLOSED (the process is exiting: no library fork once its exit
 * handler has begun; also for the double fork and daemonize below).
 * With opts->daemon, the death signal follows the THREAD that called
 * mt_os_fork (Linux's PR_SET_PDEATHSIG): call it from a thread that lives
 * as long as the process (mt_process_start uses a forker thread instead;
 * here the child must return into the caller's code). */
pid_t mt_os_fork(mt_process_t **child, const mt_process_opts_t *opts);
/* os._exit(status): ends the process at once: no atexit handlers, no
 * stdio flush, no joining of children (the notes' exit.py). */
__attribute__((noreturn)) void mt_os_exit(int status); /* C and C++ alike */

/* os.waitpid(pid, options) with a timeout.  pid > 0: that child; -1: any
 * child that no library object owns (see above).  options: 0 or WNOHANG
 * (same as timeout 0, but returns 0 instead of MT_ETIMEDOUT: Python's
 * (0, 0)).  Returns the reaped pid with its raw wait status in *status
 * (WIFEXITED/WEXITSTATUS/WTERMSIG apply; may be NULL), 0 (WNOHANG, still
 * running), MT_ETIMEDOUT, MT_ECHILD (not a child, or no unowned child
 * left), MT_EINVAL.  A registered child (mt_os_fork, mt_process_t) is
 * reaped through its object.  Any-child waiting re-checks at least every
 * 100 ms for children forked after it began. */
pid_t mt_os_waitpid(pid_t pid, int options, double timeout, int *status);
/* os.wait(): mt_os_waitpid(-1, 0, timeout, status). */
pid_t mt_os_wait(double timeout, int *status);
/* os.waitstatus_to_exitcode: exit status, or -N for signal N. */
int mt_os_waitstatus_to_exitcode(int status);

/* The notes' fork.py: the child forks a grandchild and exits at once; the
 * parent reaps the child; the grandchild, an orphan, is adopted by init
 * (or the nearest subreaper) and never becomes the parent's zombie.
 * Parent: the grandchild's pid (> 0).  Grandchild: 0, returned only once it
 * has been adopted (getppid() is its new parent).  A negative code on
 * failure (MT_EAGAIN, MT_EMFILE, MT_ECLOSED: the process is exiting).  No
 * timeout: the parent waits only for the middle child, which exits right
 * after its one fork (no user code runs in it). */
pid_t mt_os_double_fork(void);

typedef struct mt_daemon_opts {
  size_t size;             /* set by MT_DAEMON_OPTS_INIT */
  const char *chdir;       /* default "/" */
  int umask;               /* default 0 (-1: keep) */
  const char *pidfile;     /* NULL: none; else created, locked, holds the pid */
  const char *stdin_path;  /* NULL: /dev/null */
  const char *stdout_path; /* NULL: /dev/null; else appended to */
  const char *stderr_path; /* NULL: /dev/null; else appended to */
  const int *keep_fds;     /* descriptors kept open (all others >= 3 closed) */
  int n_keep_fds;
  bool parent_exits;       /* default true: the caller's process _exit(0)s
                              once the daemon is running (daemon(3)) */
} mt_daemon_opts_t;
#define MT_DAEMON_OPTS_INIT                                                    \
  {.size = sizeof(mt_daemon_opts_t), .chdir = "/", .umask = 0, .parent_exits = true}

/* Makes the calling process a daemon: fork, setsid, fork again (so it can
 * never reacquire a terminal), chdir, umask, the pid file (locked with
 * flock for the daemon's life: a second instance gets MT_EBUSY), stdio
 * redirected, other descriptors closed.  In the daemon: 0.  In the caller
 * (parent_exits false): the daemon's pid once it is set up, or the code of
 * the step that failed (MT_EBUSY: the pid file is held by a running
 * instance; MT_ENOENT / MT_EACCES: a path; MT_ECLOSED: the process is
 * exiting, nothing was forked).  With parent_exits the caller
 * only sees errors; on success it has exited.  The intermediate child is
 * reaped; no zombie is left.  No timeout: the caller waits only for the
 * library's own set-up steps in the children (no user code runs there). */
pid_t mt_os_daemonize(const mt_daemon_opts_t *opts);

#pragma GCC visibility pop
#ifdef __cplusplus
}
#endif
#endif
