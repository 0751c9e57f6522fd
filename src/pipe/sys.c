/* Platform layer of the pipe part: the raw descriptor system calls
 * (socketpair, pipe2, read, writev/sendmsg, close) wrapped so that callers
 * get a count or a negative MT_E* code and errno is left untouched.  Kept
 * beside the pipe code because nothing else uses them. */
#include "pipe/sys.h"
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

int mt__pipe_make(bool duplex, int fds[2]) {
  int saved = errno, r;
  if (duplex)
    r = socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, fds);
  else
    r = pipe2(fds, O_CLOEXEC | O_NONBLOCK);
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

static ssize_t sock_write(int fd, struct iovec *iov, int n) {
  struct msghdr m;
  memset(&m, 0, sizeof m);
  m.msg_iov = iov;
  m.msg_iovlen = (size_t)n;
  ssize_t r;
  do r = sendmsg(fd, &m, MSG_NOSIGNAL);
  while (r < 0 && errno == EINTR);
  return r < 0 ? -errno : r;
}

/* A pipe has no MSG_NOSIGNAL: block SIGPIPE in THIS thread for the write,
 * and if the write raised it, take the pending signal back before the old
 * mask returns (unless one was already pending before us). */
static ssize_t pipe_write(int fd, struct iovec *iov, int n) {
  sigset_t pipe_set, old, pending;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
  sigpending(&pending);
  bool was_pending = sigismember(&pending, SIGPIPE);
  ssize_t r;
  do r = writev(fd, iov, n);
  while (r < 0 && errno == EINTR);
  ssize_t out = r < 0 ? -errno : r;
  if (out == -EPIPE && !was_pending) {
    struct timespec zero = {0, 0};
    while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR) {
    }
  }
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  return out;
}

ssize_t mt__fd_writev(int fd, bool is_sock, struct iovec *iov, int n) {
  int saved = errno;
  ssize_t r = is_sock ? sock_write(fd, iov, n) : pipe_write(fd, iov, n);
  errno = saved;
  return r;
}

int mt__fd_close(int fd) {
  int saved = errno;
  int r = close(fd);
  int e = errno;
  errno = saved;
  return r < 0 && e != EINTR ? -e : 0;
}
