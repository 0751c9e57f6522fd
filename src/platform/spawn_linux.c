/* Linux backend of platform/spawn.h.
 *
 * The child between spawn and exec runs child_setup() only: raw system
 * calls through their glibc wrappers (as glibc's own posix_spawn does),
 * no malloc, no locks, no stdio.  In the vfork case it runs on its own
 * mmap'd stack in the parent's memory, so it reports a failure by storing
 * errno in the shared struct; in the fork case through a pipe. */
#include "platform/spawn.h"
#include "platform/sanitizer.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "multitask/error.h"
#include "platform/platform.h"

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

#define CHILD_STACK (128 * 1024)

/* Under ThreadSanitizer the child is always forked.  TSan intercepts
 * clone() and treats the child as a fork child: in it, it resets its own
 * runtime state (threads, clocks) as a new process would, but with
 * CLONE_VM that state is the PARENT's memory, so afterwards TSan loses the
 * happens-before of every lock in the parent and reports races on data
 * that is correctly locked (seen on the Popen reaper's list, and in a
 * 30-line program with a plain atomic lock and one such clone).  fork+exec
 * is slower but gives TSan a real copy. */
#ifdef MT__TSAN /* sanitizer.h */
#define MT__SPAWN_ALWAYS_FORK 1
#else
#define MT__SPAWN_ALWAYS_FORK 0
#endif

struct job {
  const mt__spawn_t *sp;
  sigset_t parent_mask;
  volatile int err;  /* vfork: the child's errno (0: exec'd) */
  int errpipe;       /* fork: write end, -1 in the vfork case */
};

static void child_fail(struct job *j, int e) {
  if (j->errpipe >= 0) {
    ssize_t r;
    do r = write(j->errpipe, &e, sizeof e);
    while (r < 0 && errno == EINTR);
  } else {
    j->err = e;
  }
  _exit(127);
}

static int child_setup(struct job *j) {
  const mt__spawn_t *sp = j->sp;
  /* Caught signals back to SIG_DFL before any can be unblocked: a handler
   * of the parent must not run here (the memory may be the parent's). */
  for (int s = 1; s < NSIG; s++) {
    if (s == SIGKILL || s == SIGSTOP) continue;
    struct sigaction sa;
    if (sigaction(s, NULL, &sa) < 0) continue;
    if (sa.sa_handler == SIG_IGN || sa.sa_handler == SIG_DFL) continue;
    sa.sa_handler = SIG_DFL;
    sa.sa_flags = 0;
    sigaction(s, &sa, NULL);
  }
  if (sp->setsid && setsid() < 0) return errno;
  if (sp->pgid >= 0 && setpgid(0, sp->pgid) < 0) return errno;
  int fd[3] = {sp->fd[0], sp->fd[1], sp->fd[2]};
  /* A source among 0-2 that another target would overwrite: move it up. */
  for (int i = 0; i < 3; i++)
    if (fd[i] >= 0 && fd[i] < 3 && fd[i] != i) {
      fd[i] = fcntl(fd[i], F_DUPFD_CLOEXEC, 3);
      if (fd[i] < 0) return errno;
    }
  for (int i = 0; i < 3; i++) {
    int src = fd[i] == MT__SPAWN_FD_STDOUT ? 1 : fd[i];
    if (src < 0) continue;
    if (src == i) {
      if (fcntl(i, F_SETFD, 0) < 0) return errno; /* keep it across exec */
    } else if (dup2(src, i) < 0) {
      return errno;
    }
  }
  if (sp->ctty >= 0 && ioctl(sp->ctty, TIOCSCTTY, 0) < 0) return errno;
  if (sp->close_fds) {
    /* Close-on-exec rather than close: the error pipe must stay usable. */
    if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) < 0) {
      for (int f = 3; f < 65536; f++) fcntl(f, F_SETFD, FD_CLOEXEC);
    }
  }
  for (int k = 0; k < sp->nkeep; k++)
    if (fcntl(sp->keep[k], F_SETFD, 0) < 0) return errno;
  if (sp->cwd && chdir(sp->cwd) < 0) return errno;
  if (sp->umask >= 0) umask((mode_t)sp->umask);
  if (sp->preexec && sp->preexec(sp->preexec_arg) != 0) return ECANCELED;
  sigprocmask(SIG_SETMASK, &j->parent_mask, NULL);
  int err = 0;
  for (int i = 0; i < sp->npaths; i++) {
    execve(sp->paths[i], sp->argv, sp->envp);
    int e = errno;
    if (e != ENOENT && e != ENOTDIR && err == 0) err = e; /* as execvp */
  }
  return err ? err : ENOENT;
}

static int child_main(void *arg) {
  struct job *j = arg;
  child_fail(j, child_setup(j));
  return 127;
}

static pid_t spawn_vfork(struct job *j, int *pidfd) {
  void *stack = mmap(NULL, CHILD_STACK, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK | MAP_NORESERVE, -1, 0);
  if (stack == MAP_FAILED) return -errno;
  int fd = -1;
  j->err = 0;
  j->errpipe = -1;
  pid_t pid = clone(child_main, (char *)stack + CHILD_STACK,
                    CLONE_VM | CLONE_VFORK | CLONE_PIDFD | SIGCHLD, j, &fd);
  int e = errno;
  munmap(stack, CHILD_STACK);
  if (pid < 0) return -e;
  if (j->err) {
    int code;
    mt__sys_reap_pidfd_blocking(fd, &code);
    close(fd);
    return -j->err;
  }
  *pidfd = fd;
  return pid;
}

static pid_t spawn_fork(struct job *j, int *pidfd) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0) return -errno;
  int r = j->sp->fork_enter ? j->sp->fork_enter() : 0;
  if (r < 0) {
    close(p[0]);
    close(p[1]);
    return r;
  }
  pid_t pid = fork();
  if (pid == 0) {
    close(p[0]);
    j->errpipe = p[1];
    child_fail(j, child_setup(j));
  }
  int e = errno;
  if (j->sp->fork_leave) j->sp->fork_leave();
  close(p[1]);
  if (pid < 0) {
    close(p[0]);
    return -e;
  }
  int cerr = 0;
  ssize_t n;
  do n = read(p[0], &cerr, sizeof cerr);
  while (n < 0 && errno == EINTR);
  close(p[0]);
  int fd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (fd < 0) {
    e = errno;
    mt__sys_kill_and_reap(pid);
    return -e;
  }
  if (n == (ssize_t)sizeof cerr) {
    int code;
    mt__sys_reap_pidfd_blocking(fd, &code);
    close(fd);
    return -cerr;
  }
  *pidfd = fd;
  return pid;
}

bool mt__sys_spawn_forks(const mt__spawn_t *sp) {
  return sp->preexec || MT__SPAWN_ALWAYS_FORK;
}

pid_t mt__sys_spawn(const mt__spawn_t *sp, int *pidfd) {
  int saved = errno;
  struct job j = {.sp = sp, .errpipe = -1};
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &j.parent_mask);
  pid_t r = mt__sys_spawn_forks(sp) ? spawn_fork(&j, pidfd) : spawn_vfork(&j, pidfd);
  pthread_sigmask(SIG_SETMASK, &j.parent_mask, NULL);
  errno = saved;
  return r;
}

int mt__sys_openpty(int *master, int *slave) {
  int saved = errno;
  char name[64];
  int r = 0;
  int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0 || ptsname_r(m, name, sizeof name) != 0) {
    r = -errno;
  } else {
    int s = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (s < 0) r = -errno;
    else {
      *master = m;
      *slave = s;
    }
  }
  if (r < 0 && m >= 0) close(m);
  errno = saved;
  return r;
}

int mt__sys_dup_cloexec(int fd) {
  int saved = errno;
  int r = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  r = r < 0 ? -errno : r;
  errno = saved;
  return r;
}

int mt__sys_set_nonblock(int fd, bool on) {
  int saved = errno;
  int fl = fcntl(fd, F_GETFL);
  int r = fl < 0 ? -errno
                 : fcntl(fd, F_SETFL, on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK) < 0 ? -errno : 0;
  errno = saved;
  return r;
}

int mt__sys_open_devnull(void) {
  int saved = errno;
  int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
  int r = fd < 0 ? -errno : fd;
  errno = saved;
  return r;
}

ssize_t mt__sys_write_nosig(int fd, const void *buf, size_t n) {
  struct iovec iov = {.iov_base = (void *)buf, .iov_len = n};
  return mt__sys_writev_nosig(fd, false, &iov, 1);
}

int mt__sys_pipe_set_size(int fd, int n) {
  int saved = errno;
  int r = fcntl(fd, F_SETPIPE_SZ, n);
  r = r < 0 ? -errno : r;
  errno = saved;
  return r;
}

int mt__sys_reap_pidfd_blocking(int pidfd, int *exitcode) {
  siginfo_t info;
  int saved = errno;
  for (;;) {
    memset(&info, 0, sizeof info);
    int r = waitid((idtype_t)P_PIDFD, (id_t)pidfd, &info, WEXITED);
    int e = errno;
    if (r < 0 && e == EINTR) continue;
    errno = saved;
    if (r < 0) return -e;
    *exitcode = info.si_code == CLD_EXITED ? info.si_status : -info.si_status;
    return 0;
  }
}
