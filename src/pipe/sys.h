/* sys.h - descriptor system calls of the pipe part (see sys.c). */
#ifndef MT_PIPE_SYS_H
#define MT_PIPE_SYS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

/* socketpair (duplex) or pipe2 (fds[0] reads, fds[1] writes), O_CLOEXEC,
 * blocking.  0 or a negative code. */
int mt__pipe_make(bool duplex, int fds[2]);
/* read(): bytes (0 = EOF) or a negative code. */
ssize_t mt__fd_read(int fd, void *buf, size_t n);
/* writev() that never raises SIGPIPE: bytes or a negative code (MT_EPIPE
 * when the reader is gone). */
ssize_t mt__fd_writev(int fd, bool is_sock, struct iovec *iov, int n);
int mt__fd_close(int fd);

#endif
