/* multitask/pipe.h - multiprocessing.Pipe and multiprocessing.connection.wait.
 * docs/pipes.md maps every Python name to these functions.
 *
 * mt_pipe_new(duplex) makes two connection ends over one-way channels:
 * pipe(2)s where the kernel has pwritev2(RWF_NOSIGNAL) (Linux 6.18), else
 * AF_UNIX socketpairs shut down in the unused direction (also when
 * MT_NO_RWF_NOSIGNAL=1 is set).  Both ends send and receive when duplex
 * (one channel per direction, so each duplex end holds two descriptors);
 * when not, a only receives and b only sends (as Python's Pipe(False)).  Descriptors are O_CLOEXEC; create the pipe before fork()
 * and close the end a process does not use (mt_conn_close) so that EOF is
 * seen.  Messages are framed with a 4-byte length (0xffffffff + an 8-byte
 * length from 4 GiB on, as Python), so any size up to MT_CONN_MAX_MSG (1 TiB,
 * i.e. far beyond Python's ~32 MB advice) can be sent; bytes are streamed,
 * never held twice by the sender.  A receiving end accepts messages up to
 * its own maximum, MT_CONN_DEFAULT_MAX_RECV (1 GiB) unless changed with
 * mt_conn_set_max_recv.
 *
 * SIGPIPE: sends use RWF_NOSIGNAL (pipes) or MSG_NOSIGNAL (sockets); no
 * signal is raised and the thread's signal mask is never touched.
 *
 * Error model (Python exception -> code): EOFError -> MT_ECLOSED (the peer
 * closed and everything it sent has been read), OSError on a closed end ->
 * MT_EBADF, writing to a closed peer -> MT_ECLOSED (never SIGPIPE, see
 * above), a peer
 * that closes in the middle of a message -> MT_EIO (the partial message is
 * dropped), recv_bytes_into with a too-small buffer -> MT_EMSGSIZE with the
 * needed size reported and the message kept for the next call.  A header
 * announcing more than the end's maximum (a bogus or hostile peer: the stream
 * cannot be resynchronised) -> MT_EMSGSIZE with the announced size in *len
 * where the call has one, and the receive side is broken: every later
 * receive, peek and poll on that end returns MT_EBROKEN (mt_conn_wait reports it
 * ready, since a receive returns at once).  Sending on a duplex end is not
 * affected; close it when done.
 *
 * Timeouts: a receive returns by its deadline even while the peer keeps
 * writing: it reads at least once when bytes are there and checks the
 * deadline before every further read; past the deadline it only takes the
 * bytes the kernel already holds (one pipe or socket buffer at most) and
 * never waits, so a timeout of 0 still receives a message that is there in
 * full.  A receive that times out (or fails otherwise, e.g. a coroutine
 * scheduler cancels its wait) loses nothing: a partly received message is kept
 * inside the connection (in a buffer grown once to that message's size,
 * freed when it is delivered) and the next call resumes it, whatever buffer
 * that call passes; the call that completes it copies it into that buffer
 * once (for hundreds of MB, that copy can take longer than a short timeout).  A send waits up to its timeout
 * for room before the first byte; once a message has started it is always
 * completed (a half-sent frame would corrupt the stream), unless the peer
 * closes.  One connection end must not be used by two threads at once (as
 * in Python); two processes must not read the same end.
 */
#ifndef MULTITASK_PIPE_H
#define MULTITASK_PIPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "multitask/error.h"
#include "multitask/queue.h"

#ifdef __cplusplus
extern "C" {
#endif
#pragma GCC visibility push(default) /* the exported API (built -fvisibility=hidden) */

typedef struct mt_conn mt_conn_t;

#define MT_CONN_MAX_MSG ((uint64_t)1 << 40)
/* Largest message a new connection end accepts. */
#define MT_CONN_DEFAULT_MAX_RECV ((size_t)1 << 30)

/* Pipe(duplex): 0 and *a, *b set, or MT_EMFILE / MT_ENOMEM / MT_EINVAL. */
int mt_pipe_new(bool duplex, mt_conn_t **a, mt_conn_t **b);

/* Connection.close(): closes the descriptor (idempotent).  The handle stays
 * valid (further calls return MT_EBADF) until mt_conn_free. */
int mt_conn_close(mt_conn_t *c);
/* Closes (if needed) and frees the handle; never blocks (bytes not read
 * yet are dropped; a message already sent stays in the peer's buffer). */
void mt_conn_free(mt_conn_t *c);
/* Connection.fileno(): the descriptor, or MT_EBADF when closed.  For a
 * receiving end (duplex or not) it is the one messages arrive on (poll it
 * for POLLIN, as mt_conn_wait does); a duplex end sends on a second
 * descriptor, so bytes written to this one do not reach the peer. */
int mt_conn_fileno(const mt_conn_t *c);
/* 1 if the end can send / receive, else 0; MT_EINVAL for NULL. */
int mt_conn_is_writable(const mt_conn_t *c);
int mt_conn_is_readable(const mt_conn_t *c);

/* send_bytes(buf): one message of len bytes.  0, MT_ECLOSED (peer gone),
 * MT_ETIMEDOUT (no byte sent), MT_EBADF, MT_EPERM (read-only end),
 * MT_EMSGSIZE (> MT_CONN_MAX_MSG), MT_EINVAL. */
int mt_conn_send_bytes(mt_conn_t *c, const void *buf, size_t len, double timeout);

/* recv_bytes_into(buffer[offset:]): pass buf + offset and the room left.
 * 0 with *len = message size; MT_EMSGSIZE with *len = needed size (the
 * message stays; if *len is above the end's maximum the end is broken
 * instead, see above); MT_ECLOSED at EOF; MT_EIO (peer closed
 * mid-message); MT_ETIMEDOUT; MT_EBROKEN; MT_EBADF; MT_EPERM (write-only
 * end); MT_EINVAL. */
int mt_conn_recv_bytes_into(mt_conn_t *c, void *buf, size_t cap, size_t *len,
                            double timeout);
/* recv_bytes(): *out is a malloc'd buffer of *len bytes (plus a NUL byte
 * after them for convenience) the caller frees.  Codes as above, and
 * MT_ENOMEM: the message stays, except when the receive buffer could not
 * grow to keep a message interrupted by a timeout or another error (part
 * of it was already read: the end is broken, MT_EBROKEN afterwards; any
 * receive call). */
int mt_conn_recv_bytes(mt_conn_t *c, void **out, size_t *len, double timeout);
/* Size of the next message without taking it (waits like recv). */
int mt_conn_peek_size(mt_conn_t *c, size_t *len, double timeout);

/* Largest message this end accepts (Python's recv_bytes(maxlength), but per
 * connection): 1 .. MT_CONN_MAX_MSG, else MT_EINVAL (also for c NULL).  A
 * larger header gives MT_EMSGSIZE and breaks the receive side (above). */
int mt_conn_set_max_recv(mt_conn_t *c, size_t max);
/* The current maximum in *max: 0, or MT_EINVAL. */
int mt_conn_get_max_recv(const mt_conn_t *c, size_t *max);

/* poll(timeout): 1 if a message (or EOF) can be received without blocking,
 * 0 on timeout (as Python's False), MT_EBROKEN, MT_EBADF, MT_EINVAL.  Like
 * Python's, it may say 1 when only part of a message has arrived. */
int mt_conn_poll(mt_conn_t *c, double timeout);

/* Typed send()/recv() for the values C programs pass most: a 1-byte tag
 * then the value, so the receiver checks the type.  recv_* on a message of
 * another type returns MT_EINVAL and leaves it queued (read it with
 * mt_conn_recv_bytes or the right recv_*).  Strings travel with their
 * length (no NUL needed on the wire) and come back NUL-terminated and
 * malloc'd. */
int mt_conn_send_i64(mt_conn_t *c, int64_t v, double timeout);
int mt_conn_send_f64(mt_conn_t *c, double v, double timeout);
int mt_conn_send_str(mt_conn_t *c, const char *s, double timeout);
int mt_conn_recv_i64(mt_conn_t *c, int64_t *v, double timeout);
int mt_conn_recv_f64(mt_conn_t *c, double *v, double timeout);
int mt_conn_recv_str(mt_conn_t *c, char **s, double timeout);

/* ---- multiprocessing.connection.wait ---------------------------------- */
enum mt_waitable_kind { MT_WAIT_CONN, MT_WAIT_QUEUE, MT_WAIT_MPQUEUE, MT_WAIT_FD };

typedef struct mt_waitable {
  int kind;  /* enum mt_waitable_kind */
  void *obj; /* mt_conn_t *, mt_queue_t *, mt_mpqueue_t * (unused for FD) */
  int fd;    /* MT_WAIT_FD: a descriptor waited on for POLLIN */
  int ready; /* out: 1 if ready, else 0 */
} mt_waitable_t;

/* Waits until at least one object is ready: a connection with a message or
 * EOF, a queue that is not empty (or shut down), a readable descriptor.
 * Returns the number of ready objects (their .ready set), 0 on timeout
 * (Python's empty list), MT_EINVAL, or a negative code when a queue's
 * wake-up descriptor cannot be made (MT_EMFILE).  Everything is waited on
 * in one poll: a queue is represented by an eventfd that put/shutdown make
 * readable while an mt_conn_wait is registered on it (made at the first mt_conn_wait
 * for an in-process queue, at creation for a cross-process one); no timed
 * re-check.  See docs/pipes.md. */
int mt_conn_wait(mt_waitable_t *list, int n, double timeout);

#pragma GCC visibility pop
#ifdef __cplusplus
}
#endif
#endif
