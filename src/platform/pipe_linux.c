/* Linux backend of the descriptor part of platform/fd.h: the raw descriptor
 * system calls of src/pipe/, src/queue/, src/process/ and src/subprocess/
 * (pipe2, socketpair, read, writev/pwritev2/sendmsg, close, the SIGPIPE
 * mask, eventfd, small file writes) wrapped so that callers get a count or
 * a negative MT_E* code and errno is left untouched.
 *
 * Pipe descriptors stay blocking; the caller (pipe.c) decides per call whether
 * to wait in the wait layer first (deadline or coroutine parker) or to let
 * the system call block (one call instead of try + poll + retry).
 *
 * SIGPIPE.  A write to a pipe whose reader is gone raises SIGPIPE unless
 * the write says otherwise.  Kernels from 6.18 on take RWF_NOSIGNAL in
 * pwritev2 (EPIPE, no signal; older ones refuse the flag with EOPNOTSUPP),
 * probed once (mt__sys_pipe_nosignal).  With it, connection ends are
 * pipe(2)s and a send is one pwritev2 (issue 13: a pipe write is cheaper
 * than a socket send, no skb per message; docs/pipes.md).  Without it they
 * are AF_UNIX socketpairs shut down in the unused direction, sent to with
 * sendmsg(MSG_NOSIGNAL) (send for one buffer): a pipe write would then
 * need SIGPIPE blocked around it (two rt_sigprocmask calls per send, ~1 us
 * each on this VM).  That masked write is still the last resort of mt__sys_writev_nosig on a
 * pipe (the report pipe of a double fork, a subprocess's stdin): it blocks
 * SIGPIPE in the calling thread for the write only, takes back a SIGPIPE
 * the write raised (sigtimedwait) and restores the mask; when the caller
 * blocks SIGPIPE already, nothing is changed.  MT_NO_RWF_NOSIGNAL=1 in the
 * environment (read once) forces the socket fallback, so tests cover it on
 * new kernels too. */
#include "platform/platform.h"
#include "multitask/error.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#ifndef RWF_NOSIGNAL
#define RWF_NOSIGNAL 0x00000100 /* Linux 6.18 uapi/linux/fs.h; older headers lack it */
#endif

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

/* 1: pwritev2 takes RWF_NOSIGNAL | RWF_NOWAIT on pipes, -1: not (or
 * MT_NO_RWF_NOSIGNAL is set), 0: not probed yet.  Racing probes agree. */
static int nosig_mode;

static int nosig_probe(void) {
  const char *e = getenv("MT_NO_RWF_NOSIGNAL");
  if (e && *e && strcmp(e, "0") != 0) return -1;
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0) return -1;
  char b = 0;
  struct iovec v = {&b, 1};
  /* both flags on a fresh pipe with its reader open (so an old kernel that
   * ignored a flag could not raise SIGPIPE here), and a non-blocking read */
  ssize_t r = pwritev2(p[1], &v, 1, -1, RWF_NOSIGNAL | RWF_NOWAIT);
  if (r == 1) r = preadv2(p[0], &v, 1, -1, RWF_NOWAIT);
  close(p[0]);
  close(p[1]);
  return r == 1 ? 1 : -1;
}

bool mt__sys_pipe_nosignal(void) {
  int m = __atomic_load_n(&nosig_mode, __ATOMIC_RELAXED);
  if (m == 0) {
    int saved = errno;
    m = nosig_probe();
    errno = saved;
    __atomic_store_n(&nosig_mode, m, __ATOMIC_RELAXED);
  }
  return m > 0;
}

int mt__sys_pipe_make(bool duplex, int fds[2]) {
  int saved = errno;
  int r = duplex ? socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) : pipe2(fds, O_CLOEXEC);
  int e = errno;
  errno = saved;
  return r < 0 ? -e : 0;
}

int mt__sys_conn_pair(int fds[2]) {
  if (mt__sys_pipe_nosignal()) {
    int r = mt__sys_pipe_make(false, fds);
    return r < 0 ? r : 0;
  }
  int r = mt__sys_pipe_make(true, fds);
  if (r < 0) return r;
  shutdown(fds[0], SHUT_WR); /* one way: fds[0] only reads, fds[1] only writes */
  shutdown(fds[1], SHUT_RD);
  return 1;
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

/* One send of iov on a connection end or pipe, never raising SIGPIPE:
 * sendmsg(MSG_NOSIGNAL) on a socket, pwritev2(RWF_NOSIGNAL) on a pipe where
 * the kernel has it, else writev with SIGPIPE blocked around it.  `nowait`
 * (a coroutine's send: never block the hub's thread) adds MSG_DONTWAIT /
 * RWF_NOWAIT; the masked writev has no such flag, but no pipe end is made
 * on that path (only internal report pipes, which are never sent to
 * under a parker).  Retries EINTR; -errno on failure, MT_EAGAIN for a
 * nowait send that would block. */
static ssize_t send_iov(int fd, bool is_sock, struct iovec *iov, int n, bool nowait) {
  int saved = errno;
  ssize_t r;
  if (is_sock) {
    struct msghdr m;
    memset(&m, 0, sizeof m);
    m.msg_iov = iov;
    m.msg_iovlen = (size_t)n;
    int flags = MSG_NOSIGNAL | (nowait ? MSG_DONTWAIT : 0);
    do r = sendmsg(fd, &m, flags);
    while (r < 0 && errno == EINTR);
  } else if (mt__sys_pipe_nosignal()) {
    int flags = RWF_NOSIGNAL | (nowait ? RWF_NOWAIT : 0);
    do r = pwritev2(fd, iov, n, -1, flags);
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
  if (r < 0 && nowait && e == EWOULDBLOCK) return MT_EAGAIN;
  return r < 0 ? -e : r;
}

ssize_t mt__sys_writev_nosig(int fd, bool is_sock, struct iovec *iov, int n) {
  return send_iov(fd, is_sock, iov, n, false);
}

/* The common small send, kept short: one buffer, one blocking call, errno
 * read once and written back only on a failure.  (The kernel's vectored
 * write path, which pwritev2 takes, costs ~95-135 ns more per call than
 * write(2) here, and only pwritev2 takes RWF_NOSIGNAL: issue 13,
 * docs/pipes.md.) */
ssize_t mt__sys_write1_nosig(int fd, bool is_sock, void *buf, size_t n) {
  int m = __atomic_load_n(&nosig_mode, __ATOMIC_RELAXED);
  if (!is_sock && m <= 0 && !mt__sys_pipe_nosignal()) {
    struct iovec v = {buf, n};
    return send_iov(fd, false, &v, 1, false);
  }
  int *err = &errno, saved = *err;
  ssize_t r;
  for (;;) {
    if (is_sock) {
      r = send(fd, buf, n, MSG_NOSIGNAL);
    } else {
      struct iovec v = {buf, n};
      r = pwritev2(fd, &v, 1, -1, RWF_NOSIGNAL);
    }
    if (r >= 0) return r;
    int e = *err;
    *err = saved;
    if (e != EINTR) return -e;
  }
}

ssize_t mt__sys_sendv_nowait(int fd, bool is_sock, struct iovec *iov, int n) {
  return send_iov(fd, is_sock, iov, n, true);
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
