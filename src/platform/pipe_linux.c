/* Linux backend of the descriptor part of platform/fd.h: the raw descriptor
 * system calls of src/pipe/ and src/queue/ (socketpair, pipe2, read,
 * writev/sendmsg, close, the SIGPIPE mask, eventfd, small file writes) wrapped so that callers
 * get a count or a negative MT_E* code and errno is left untouched.
 *
 * Pipe descriptors stay blocking; the caller (pipe.c) decides per call whether
 * to wait in the wait layer first (deadline or coroutine parker) or to let
 * the system call block (one call instead of try + poll + retry).
 *
 * SIGPIPE.  Every connection end is a socket (a simplex pair is a
 * socketpair shut down in the unused direction): sendmsg(MSG_NOSIGNAL)
 * never raises it and leaves the signal mask alone.  Simplex ends used to
 * be pipes (as Python), which have no such flag, so each send cost two
 * rt_sigprocmask calls (~1 us each on this VM; issue 13, docs/pipes.md).
 * The pipe branch of mt__sys_writev_nosig (is_sock false) is kept for
 * pipe descriptors: it blocks SIGPIPE in the calling thread for the write
 * only, takes back a SIGPIPE the write raised (sigtimedwait) and restores
 * the mask; when the caller blocks SIGPIPE already, nothing is changed. */
#include "platform/platform.h"
#include "multitask/error.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

/* Blocks SIGPIPE in this thread; true when it was not blocked before (then
 * sigpipe_restore must follow). */
static bool sigpipe_block(void) {
  sigset_t set, old;
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &set, &old);
  return !sigismember(&old, SIGPIPE);
}

/* Takes back the SIGPIPE a failed write raised (if any), then unblocks. */
static void sigpipe_restore(bool raised) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  struct timespec zero = {0, 0};
  if (raised)
    while (sigtimedwait(&set, NULL, &zero) < 0 && errno == EINTR) {
    }
  pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

int mt__sys_pipe_make(bool duplex, int fds[2]) {
  int saved = errno;
  int r = socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds);
  int e = errno;
  if (r == 0 && !duplex) { /* one way: fds[0] only reads, fds[1] only writes */
    shutdown(fds[0], SHUT_WR);
    shutdown(fds[1], SHUT_RD);
  }
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

size_t mt__sys_pending(int fd) {
  int saved = errno;
  int n = 0;
  if (ioctl(fd, FIONREAD, &n) < 0 || n < 0) n = 0;
  errno = saved;
  return (size_t)n;
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
    bool ours = sigpipe_block();
    do r = writev(fd, iov, n);
    while (r < 0 && errno == EINTR);
    if (ours) {
      int e = errno;
      sigpipe_restore(r < 0 && e == EPIPE);
      errno = e;
    }
  }
  int e = errno;
  errno = saved;
  return r < 0 ? -e : r;
}

ssize_t mt__sys_sendv_nowait(int fd, struct iovec *iov, int n) {
  int saved = errno;
  struct msghdr m;
  memset(&m, 0, sizeof m);
  m.msg_iov = iov;
  m.msg_iovlen = (size_t)n;
  ssize_t r;
  do r = sendmsg(fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
  while (r < 0 && errno == EINTR);
  int e = errno;
  errno = saved;
  if (r < 0 && e == EWOULDBLOCK) return MT_EAGAIN;
  return r < 0 ? -e : r;
}

int mt__sys_close(int fd) {
  int saved = errno;
  int r = close(fd);
  int e = errno;
  errno = saved;
  return r < 0 && e != EINTR ? -e : 0;
}

/* ---- eventfd: the wake-up descriptor mt_conn_wait polls for a queue -------- */

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
