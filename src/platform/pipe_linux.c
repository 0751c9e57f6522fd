/* Linux backend of the descriptor part of platform/fd.h: the raw descriptor
 * system calls of src/pipe/ and src/queue/ (socketpair, pipe2, read,
 * writev/sendmsg, close, the SIGPIPE mask, eventfd, small file writes) wrapped so that callers
 * get a count or a negative MT_E* code and errno is left untouched.
 *
 * Pipe descriptors stay blocking; the caller (pipe.c) decides per call whether
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
#include "platform/platform.h"
#include "multitask/error.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/eventfd.h>
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

static void register_fork(void) { pthread_atfork(NULL, NULL, restore_in_child); }

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

int mt__sys_pipe_make(bool duplex, int fds[2]) {
  int saved = errno;
  int r = duplex ? socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds)
                 : pipe2(fds, O_CLOEXEC);
  int e = errno;
  errno = saved;
  return r < 0 ? -e : 0;
}

ssize_t mt__sys_read(int fd, void *buf, size_t n) {
  int saved = errno;
  ssize_t r;
  do r = read(fd, buf, n);
  while (r < 0 && errno == EINTR);
  int e = errno;
  errno = saved;
  return r < 0 ? -e : r;
}

ssize_t mt__sys_writev_nosig(int fd, bool is_sock, struct iovec *iov, int n) {
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

int mt__sys_close(int fd) {
  int saved = errno;
  int r = close(fd);
  int e = errno;
  errno = saved;
  return r < 0 && e != EINTR ? -e : 0;
}

/* ---- eventfd: the wake-up descriptor mt_wait polls for a queue -------- */

int mt__sys_eventfd(void) {
  int saved = errno;
  int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  int e = errno;
  errno = saved;
  return fd < 0 ? -e : fd;
}

void mt__sys_eventfd_signal(int fd) {
  int saved = errno;
  uint64_t one = 1;
  ssize_t r;
  do r = write(fd, &one, sizeof one);
  while (r < 0 && errno == EINTR);
  errno = saved; /* EAGAIN: the counter is saturated, i.e. readable anyway */
}

void mt__sys_eventfd_drain(int fd) {
  int saved = errno;
  uint64_t v;
  ssize_t r;
  do r = read(fd, &v, sizeof v);
  while (r < 0 && errno == EINTR);
  errno = saved; /* EAGAIN: already zero */
}

ssize_t mt__sys_write_file(const char *path, const void *data, size_t n) {
  int saved = errno;
  ssize_t r;
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    r = -errno;
  } else {
    do r = write(fd, data, n);
    while (r < 0 && errno == EINTR);
    if (r < 0) r = -errno;
    close(fd);
  }
  errno = saved;
  return r;
}
