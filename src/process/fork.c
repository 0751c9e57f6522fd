/* fork.c - os.fork / os._exit / os.wait / os.waitpid, the double fork and
 * daemonize (multitask/os.h).
 *
 * Ownership.  Children of this process belong to somebody: an mt_process_t
 * (Process, pool worker, mt_os_fork: the registry of process.c), a Popen
 * (subprocess.c's list), or nobody (a raw fork()).  waitpid on a given pid
 * reaps a registered one through its object; waiting for ANY child only
 * ever reaps unowned ones: it peeks with waitid(WNOWAIT) first, and if the
 * ended child it sees is owned, it lets the owner's registry reap it (the
 * registry keeps the exit code) or, for a Popen child, it looks at the
 * unowned children one by one (/proc/self/task/<tid>/children) instead.
 *
 * Blocking without SIGCHLD.  A given pid is waited on through a pidfd.
 * "Any child" has no descriptor, so the unowned children's pidfds are
 * polled together, and the list is re-read at least every 100 ms for
 * children forked meanwhile by other threads.
 */
#include "multitask/os.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/core.h"
#include "platform/fork.h"
#include "platform/platform.h"
#include "process/process_internal.h"
#include "signal/signal_internal.h"
#include "subprocess/subprocess_internal.h"
#include "wait/wait.h"

#define MAX_WATCH 64
#define RESCAN_NS (100 * 1000 * 1000)

pid_t mt_os_fork(mt_process_t **child, const mt_process_opts_t *opts) {
  if (!child) return MT_EINVAL;
  return mt__process_fork(child, opts);
}

void mt_os_exit(int status) { mt__sys_exit_now(status); }

int mt_os_waitstatus_to_exitcode(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return -WTERMSIG(status);
  return MT_EINVAL;
}

/* Python-style exit code -> a raw wait status. */
static int status_of(int code) { return code >= 0 ? (code & 0xff) << 8 : (-code) & 0x7f; }

static bool owned(pid_t pid) {
  int fd = mt__process_pidfd_dup(pid);
  if (fd >= 0) {
    mt__sys_close(fd);
    return true;
  }
  return mt__subprocess_owns(pid);
}

/* ---- one given child -------------------------------------------------- */

static pid_t wait_one(pid_t pid, int64_t dl, bool nohang, int *status) {
  int fd = mt__process_pidfd_dup(pid);
  bool registered = fd >= 0;
  if (!registered) {
    if (mt__subprocess_owns(pid)) return MT_ECHILD; /* its Popen reaps it */
    fd = mt__sys_pidfd_open(pid, 0);
    if (fd < 0) return fd == MT_ESRCH ? MT_ECHILD : fd;
  }
  pid_t r;
  for (;;) {
    int code = 0, st = 0, k;
    if (registered) {
      k = mt__process_reap_pid(pid, &code);
      st = status_of(code);
    } else {
      k = mt__sys_reap_pidfd_status(fd, &st);
    }
    if (k < 0) {
      r = k;
      break;
    }
    if (k == 1) {
      if (status) *status = st;
      r = pid;
      break;
    }
    if (nohang) {
      r = 0;
      break;
    }
    int w = mt__wait_fd(fd, POLLIN, dl);
    if (w == MT_ETIMEDOUT && !mt__deadline_passed(dl)) continue;
    if (w == MT_ETIMEDOUT) {
      /* one last look, then give up */
      k = registered ? mt__process_reap_pid(pid, &code) : mt__sys_reap_pidfd_status(fd, &st);
      if (k == 1) {
        if (status) *status = registered ? status_of(code) : st;
        r = pid;
      } else {
        r = k < 0 ? k : MT_ETIMEDOUT;
      }
      break;
    }
    if (w < 0) {
      r = w;
      break;
    }
  }
  mt__sys_close(fd);
  return r;
}

/* ---- any unowned child ---------------------------------------------- */

/* Reaps an ended unowned child if there is one: its pid, 0 if none ended,
 * MT_ECHILD if there is no unowned child at all.  *live gets up to cap
 * unowned running children. */
static pid_t reap_any(int *status, pid_t *live, int cap, int *nlive) {
  *nlive = 0;
  pid_t peek = mt__sys_peek_ended_child();
  if (peek == MT_ECHILD) return MT_ECHILD;
  if (peek > 0) {
    if (!owned(peek)) {
      pid_t r = mt__sys_waitpid_nohang(peek, status);
      if (r == peek) return r;
    } else {
      int code;
      mt__process_reap_pid(peek, &code); /* into its object; Popen: no-op */
    }
  }
  pid_t kids[1024];
  int n = mt__sys_children(kids, 1024);
  if (n < 0) return n;
  bool any = false;
  for (int i = 0; i < n; i++) {
    if (owned(kids[i])) continue;
    any = true;
    int st = 0;
    pid_t r = mt__sys_waitpid_nohang(kids[i], &st);
    if (r == kids[i]) {
      if (status) *status = st;
      return r;
    }
    if (r == 0 && *nlive < cap) live[(*nlive)++] = kids[i];
  }
  return any ? 0 : MT_ECHILD;
}

static pid_t wait_any(int64_t dl, bool nohang, int *status) {
  for (;;) {
    pid_t live[MAX_WATCH];
    int nlive;
    pid_t r = reap_any(status, live, MAX_WATCH, &nlive);
    if (r != 0) return r;
    if (nohang) return 0;
    if (mt__deadline_passed(dl)) return MT_ETIMEDOUT;
    struct pollfd fds[MAX_WATCH];
    int m = 0;
    for (int i = 0; i < nlive; i++) {
      int fd = mt__sys_pidfd_open(live[i], 0);
      if (fd >= 0) fds[m++] = (struct pollfd){.fd = fd, .events = POLLIN};
    }
    int64_t slice = mt__now_ns() + RESCAN_NS;
    int64_t until = slice < dl ? slice : dl;
    int w = m > 0 ? mt__wait_fds(fds, m, until)
                  : mt__wait_fd(-1, 0, until); /* a child came and went: re-check soon */
    for (int i = 0; i < m; i++) mt__sys_close(fds[i].fd);
    if (w == MT_ECANCELLED || w == MT_EINTR) return w; /* cancelled task, interrupted thread: nothing reaped */
  }
}

pid_t mt_os_waitpid(pid_t pid, int options, double timeout, int *status) {
  int64_t dl;
  int r = mt__deadline(timeout, &dl);
  if (r) return r;
  if ((options & ~WNOHANG) || pid == 0 || pid < -1) return MT_EINVAL;
  bool nohang = options & WNOHANG;
  return pid > 0 ? wait_one(pid, dl, nohang, status) : wait_any(dl, nohang, status);
}

pid_t mt_os_wait(double timeout, int *status) { return mt_os_waitpid(-1, 0, timeout, status); }

/* ---- double fork ------------------------------------------------------- */

/* Blocks (in a fresh child) until process `pid` has ended, i.e. until this
 * process was re-parented if pid was its parent. */
static void wait_gone(pid_t pid) {
  int fd = mt__sys_pidfd_open(pid, 0);
  if (fd < 0) return; /* already gone */
  /* neither cancelled nor interrupted (the child leaves at once); the thread
   * keeps its settings afterwards, as in any child */
  struct pollfd pf = {.fd = fd, .events = POLLIN};
  mt__wait_fds_nocancel(&pf, 1, MT__NO_DEADLINE);
  mt__sys_close(fd);
}

/* The report pipe: the grandchild (or daemon) sends its pid or an error
 * code; the parent reads one int.  EOF (it died) reads as MT_ECHILD. */
static int report_read(int fd) {
  int v = 0;
  ssize_t n = mt__sys_read(fd, &v, sizeof v);
  return n == (ssize_t)sizeof v ? v : MT_ECHILD;
}
static void report_write(int fd, int v) {
  struct iovec iov = {.iov_base = &v, .iov_len = sizeof v};
  mt__sys_writev_nosig(fd, false, &iov, 1);
}

/* fork() through the exit gate (process_internal.h): the pid, 0 in the
 * child, or a code (MT_ECLOSED: the process is exiting). */
static pid_t gated_fork(void) {
  sigset_t saved;
  int r = mt__fork_gate_enter(&saved);
  if (r < 0) return r;
  pid_t pid = mt__sys_fork();
  int e = errno;
  if (pid != 0) mt__fork_gate_leave(&saved);
  else mt__sys_sigmask(SIG_SETMASK, &saved, NULL); /* the child: the caller's mask */
  return pid < 0 ? -e : pid;
}

/* Forks child then grandchild; the child exits at once and is reaped here.
 * Returns in the parent (the grandchild's pid or a code, *in_grandchild
 * false) or in the grandchild (0, *in_grandchild true; rep = the write
 * end).  between(), if set, runs in the child before the second fork. */
static pid_t fork_twice(bool *in_grandchild, int *rep, int (*between)(void)) {
  *in_grandchild = false;
  *rep = -1;
  int p[2];
  int r = mt__sys_pipe_make(false, p);
  if (r < 0) return r;
  fflush(NULL);
  pid_t c = gated_fork();
  if (c < 0) {
    mt__sys_close(p[0]);
    mt__sys_close(p[1]);
    return c;
  }
  if (c == 0) {
    mt__sys_close(p[0]);
    int e = between ? between() : 0;
    if (e < 0) {
      report_write(p[1], e);
      mt__sys_exit_now(1);
    }
    pid_t me = getpid();
    pid_t g = gated_fork();
    if (g < 0) {
      report_write(p[1], g);
      mt__sys_exit_now(1);
    }
    if (g > 0) mt__sys_exit_now(0); /* the child leaves at once */
    wait_gone(me);                  /* grandchild: orphaned, adopted */
    *in_grandchild = true;
    *rep = p[1];
    return 0;
  }
  mt__sys_close(p[1]);
  int st;
  int fd = mt__sys_pidfd_open(c, 0);
  if (fd >= 0) { /* the middle child leaves at once: reap it, cancelled, interrupted or not */
    struct pollfd pf = {.fd = fd, .events = POLLIN};
    mt__wait_fds_nocancel(&pf, 1, MT__NO_DEADLINE);
    mt__sys_close(fd);
  }
  mt__sys_waitpid_nohang(c, &st); /* the child: no zombie */
  r = report_read(p[0]);
  mt__sys_close(p[0]);
  *in_grandchild = false;
  return r;
}

pid_t mt_os_double_fork(void) {
  bool gc = false;
  int rep = -1;
  pid_t r = fork_twice(&gc, &rep, NULL);
  if (gc) {
    report_write(rep, getpid());
    mt__sys_close(rep);
    return 0;
  }
  return r;
}

/* ---- daemonize ---------------------------------------------------------- */

static int do_setsid(void) { return mt__sys_setsid(); }

pid_t mt_os_daemonize(const mt_daemon_opts_t *opts) {
  mt_daemon_opts_t def = MT_DAEMON_OPTS_INIT;
  if (!opts) opts = &def;
  if (!mt__opts_size_ok(opts->size, sizeof *opts) || opts->umask < -1 || opts->n_keep_fds < 0 ||
      (opts->n_keep_fds > 0 && !opts->keep_fds))
    return MT_EINVAL;
  bool gc = false;
  int rep = -1;
  pid_t r = fork_twice(&gc, &rep, do_setsid);
  if (!gc) {
    if (r > 0 && opts->parent_exits) mt__sys_exit_now(0);
    return r;
  }
  /* The daemon.  Keep the signal dispatcher's descriptor (fork gave it a
   * fresh one) and the thread's interrupt eventfd (likewise) besides what
   * the caller asked for. */
  int keep[MAX_WATCH + 2];
  int nk = 0;
  for (int i = 0; i < opts->n_keep_fds && nk < MAX_WATCH; i++) keep[nk++] = opts->keep_fds[i];
  if (mt__signal_fd() >= 0) keep[nk++] = mt__signal_fd();
  if (mt__signal_intr_fd() >= 0) keep[nk++] = mt__signal_intr_fd();
  int pidfile_fd;
  int e = mt__sys_daemon_setup(opts->chdir, opts->umask, opts->pidfile, opts->stdin_path,
                               opts->stdout_path, opts->stderr_path, keep, nk, rep, &pidfile_fd);
  if (e < 0) {
    report_write(rep, e);
    mt__sys_exit_now(1);
  }
  report_write(rep, getpid());
  mt__sys_close(rep);
  return 0;
}
