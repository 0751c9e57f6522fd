/* platform/fd.h - descriptors: poll, pipes, eventfd, small files
 * (Linux: platform_linux.c, pipe_linux.c). */
#ifndef MT_PLATFORM_FD_H
#define MT_PLATFORM_FD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <poll.h>
#include <sys/types.h>
#include <sys/uio.h>

/* poll with an absolute deadline; returns count of ready fds, MT_ETIMEDOUT,
 * or a negative code. Retries on EINTR. */
int mt__sys_poll(struct pollfd *fds, nfds_t n, int64_t deadline_ns);

/* socketpair (duplex) or pipe2 (fds[0] reads, fds[1] writes), O_CLOEXEC,
 * blocking.  0 or a negative code. */
int mt__sys_pipe_make(bool duplex, int fds[2]);
/* Can a pipe write use pwritev2(RWF_NOSIGNAL) (and RWF_NOWAIT)?  Probed
 * once (Linux >= 6.18); false when MT_NO_RWF_NOSIGNAL=1 is set. */
bool mt__sys_pipe_nosignal(void);
/* A one-way pair for a connection (fds[0] reads, fds[1] writes), O_CLOEXEC,
 * blocking: a pipe when mt__sys_pipe_nosignal(), else an AF_UNIX
 * socketpair shut down in the unused direction (sends then use
 * MSG_NOSIGNAL).  0 = pipe, 1 = sockets, or a negative code. */
int mt__sys_conn_pair(int fds[2]);
/* read(), EINTR retried: bytes (0 = EOF) or a negative code. */
ssize_t mt__sys_read(int fd, void *buf, size_t n);
/* Bytes queued for reading now (FIONREAD on a pipe or socket); 0 on error. */
size_t mt__sys_pending(int fd);
/* A write that never raises SIGPIPE: bytes or a negative code (MT_EPIPE
 * when the reader is gone).  A socket: sendmsg(MSG_NOSIGNAL); a pipe:
 * pwritev2(RWF_NOSIGNAL), or on kernels without it writev with SIGPIPE
 * blocked for the write only (the caller's mask is unchanged). */
ssize_t mt__sys_writev_nosig(int fd, bool is_sock, struct iovec *iov, int n);
/* The same for one buffer, cheaper (send(2) on a socket; fewer steps): the
 * blocking small send of a connection. */
ssize_t mt__sys_write1_nosig(int fd, bool is_sock, void *buf, size_t n);
/* The same, never blocking (MSG_DONTWAIT, RWF_NOWAIT; the descriptor keeps
 * its flags): what fits, or MT_EAGAIN.  For a coroutine: a blocking send of
 * more than the kernel buffer holds would stall its scheduler's thread
 * until the peer read it all.  (A pipe without RWF_NOSIGNAL: blocks.) */
ssize_t mt__sys_sendv_nowait(int fd, bool is_sock, struct iovec *iov, int n);
/* close(); EINTR counts as closed.  0 or a negative code. */
int mt__sys_close(int fd);
/* A non-blocking, close-on-exec eventfd (counter 0): fd or a negative code.
 * signal adds 1 (readable until drained); drain resets it to 0.  Neither
 * blocks nor reports errors (a saturated or empty counter is fine). */
int mt__sys_eventfd(void);
void mt__sys_eventfd_signal(int fd);
void mt__sys_eventfd_drain(int fd);

/* Writes n bytes of data to the existing file `path` (open O_WRONLY, one
 * write, close), e.g. /proc/self/task/<tid>/comm.  Bytes written or a
 * negative code. */
ssize_t mt__sys_write_file(const char *path, const void *data, size_t n);

#endif
