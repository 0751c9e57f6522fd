/* Platform layer of the pipe part: the raw descriptor system calls
 * (socketpair, pipe2, read, writev/sendmsg, poll-free close) wrapped so
 * that callers get a count or a negative MT_E* code and errno is left
 * untouched.  Kept beside the pipe code because nothing else uses them.
 *
 * Descriptors stay blocking; the caller (pipe.c) decides per call whether
 * to wait in the wait layer first (deadline or coroutine parker) or to let
 * the system call block (one call instead of try + poll + retry).
 *
 * SIGPIPE.  A duplex end is a socket: sendmsg(MSG_NOSIGNAL) never raises it.
 * A simplex end is a pipe(2) (faster than a socket for small messages, and
 * what Python uses), which has no such flag.  The first pipe write of a
 * thread blocks SIGPIPE in THAT thread only (one system call per thread
 * lifetime, never a process-wide handler); a write that fails with EPIPE
 * then takes the pending SIGPIPE it caused back with sigtimedwait.  In a
 * child forked from such a thread the mask is restored at once (fork
 * handler), so exec'd programs start with SIGPIPE as their parent had it. */
#include "pipe/sys.h"
#include "core/core.h"
#include "multitask/error.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

static _Thread_local bool sigpipe_checked; /* this thread's mask handled */
static _Thread_local bool sigpipe_ours;    /* we blocked it (restore in child) */
static pthread_once_t fork_once = PTHREAD_ONCE_INIT;

static void sigpipe_set(int how) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  pthread_sigmask(how, &set, NULL);
}

static void restore_in_child(void) {
  if (sigpipe_ours) sigpipe_set(SIG_UNBLOCK);
  sigpipe_checked = sigpipe_ours = false;
}

static void register_fork(void) { mt__on_fork_child(restore_in_child); }

static void block_sigpipe_once(void) {
  if (sigpipe_checked) return;
  pthread_once(&fork_once, register_fork);
  sigset_t set, old;
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &set, &old);
  sigpipe_ours = !sigismember(&old, SIGPIPE);
  sigpipe_checked = true;
}

static void take_back_sigpipe(void) {
  if (!sigpipe_ours) return; /* the caller blocked it: theirs to handle */
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  struct timespec zero = {0, 0};
  while (sigtimedwait(&set, NULL, &zero) < 0 && errno == EINTR) {
  }
}

int mt__pipe_make(bool duplex, int fds[2]) {
  int saved = errno;
  int r = duplex ? socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds)
                 : pipe2(fds, O_CLOEXEC);
  int e = errno;
  errno = saved;
  return r < 0 ? -e : 0;
}

ssize_t mt__fd_read(int fd, void *buf, size_t n) {
  int saved = errno;
  ssize_t r;
  do r = read(fd, buf, n);
  while (r < 0 && errno == EINTR);
  int e = errno;
  errno = saved;
  return r < 0 ? -e : r;
}

ssize_t mt__fd_writev(int fd, bool is_sock, struct iovec *iov, int n) {
  int saved = errno;
  ssize_t r;
  if (is_sock) {
    struct msghdr m;
    memset(&m, 0, sizeof m);
    m.msg_iov = iov;
    m.msg_iovlen = (size_t)n;
    do r = sendmsg(fd, &m, MSG_NOSIGNAL);
    while (r < 0 && errno == EINTR);
  } else {
    block_sigpipe_once();
    do r = writev(fd, iov, n);
    while (r < 0 && errno == EINTR);
    if (r < 0 && errno == EPIPE) take_back_sigpipe();
  }
  int e = errno;
  errno = saved;
  return r < 0 ? -e : r;
}

int mt__fd_close(int fd) {
  int saved = errno;
  int r = close(fd);
  int e = errno;
  errno = saved;
  return r < 0 && e != EINTR ? -e : 0;
}
