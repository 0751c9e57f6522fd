/* Pipe connections (multiprocessing.Pipe) and mt_conn_wait (connection.wait).
 *
 * Design.  A connection is a descriptor plus a receive buffer.  Every frame
 * is a 4-byte length in host order (or 0xffffffff and an 8-byte length for
 * 4 GiB and more, as Python does) followed by the bytes; the
 * sender gathers both with one writev (pwritev2 on a pipe; a frame up to
 * SMALL_FRAME bytes is copied into one piece first: send_small) so a small
 * message costs one system call, and the receiver reads one frame per
 * read: the rest of the frame it is on plus the next frame's header
 * (with no header yet, the size of the last frame), so a message costs one
 * read, as in a raw read/write loop.  It used to read all the kernel held
 * (up to 64 KiB): fewer reads, but such a reader gets ahead of its writer,
 * empties the pipe and sleeps, and every write after that pays a wake-up
 * (~5 us on this VM): 0.19 sleeps per 64 B message, the writer's CPU per
 * message 1.3 -> 2.2 us, 0.75 of the raw loop's rate (issue 13,
 * docs/pipes.md).  A frame above 64 KiB grows a pipe to PIPE_BIG once.
 * A receive of a small frame with no deadline on a plain thread takes a
 * short path (recv_small) that falls back to the general one for anything
 * unusual.
 *
 * Every channel is one-way: a pipe(2) where the kernel lets a pipe write
 * refuse SIGPIPE (pwritev2 RWF_NOSIGNAL, Linux 6.18), else an AF_UNIX
 * socketpair shut down in the unused direction, sent to with
 * MSG_NOSIGNAL (mt__sys_conn_pair, pipe_linux.c).  Both behave the same
 * here: read(2) and FIONREAD work on either, the reader sees EOF as a 0
 * read (and POLLHUP), the writer MT_EPIPE; a pipe send is cheaper (issue
 * 13, docs/pipes.md).  A duplex pipe is TWO one-way channels, one per
 * direction, never one two-way socketpair: when the peer reads what an end
 * sent, the kernel signals "room to write" on the socket that sent it, and
 * with one socket per end that wakes a thread of this end blocked there in
 * a receive, for nothing.  In a round trip every blocked receive then
 * slept twice (twice the context switches; test
 * duplex_recv_no_spurious_wake, issue 13).  So a duplex end receives on
 * `fd` (what mt_conn_fileno gives and poll watches) and sends on `wfd`.
 *
 * Large messages are not staged: once a frame's header says L bytes and L
 * does not fit the receive buffer, the body is read straight into the
 * caller's memory; on the sender side writev streams from the caller's
 * memory.  Nothing is limited by the pipe buffer or by Python's 32-bit
 * length, hence MT_CONN_MAX_MSG = 1 TiB; each end accepts frames up to its
 * own maximum (max_recv, default MT_CONN_DEFAULT_MAX_RECV).  A header above
 * it cannot be skipped (the stream has no resync point), so the receive
 * side is then broken for good: MT_EMSGSIZE once, MT_EBROKEN afterwards.
 *
 * Deadlines.  A call reads at least once when bytes are there, and checks
 * its deadline before every further read (rx_t): a poll whose deadline
 * has passed still reports "ready" while a sender keeps writing, so without
 * that check one call would read a whole 300 MB message past its deadline.
 * Once the deadline has passed, the call still takes the bytes the kernel
 * held at that moment (FIONREAD: one pipe or socket buffer at most, so the
 * overrun is one bounded copy) and never waits for more.  So a timeout of 0
 * still receives a message that is already there in full (the process
 * pool drains a dead worker's socket that way).
 *
 * Nothing is lost on a receive error: a too-small buffer only looks at the
 * header (MT_EMSGSIZE).  A timeout (or any other error but EOF) in the
 * middle of a large body moves what was read into the receive buffer,
 * grown ONCE to the frame's size, and marks the frame `staged`: later
 * calls read the rest into that buffer
 * (whatever buffer they pass) and copy the body out once, on completion;
 * then the big buffer is released.  So a message received with many short
 * timeouts costs two copies at most, not one per call.
 * A send, once its first byte is out, always finishes (or the peer closes),
 * since a half frame would corrupt the stream for good.
 *
 * Cancellation (a coroutine's task cancelled or killed while it waits
 * here): every descriptor wait is a cancellation point and ends the call
 * with MT_ECANCELLED, handled as a timeout: a receive keeps what it read
 * (buffered, or a staged frame), so the next receive gets the whole
 * message; a send takes a cancel only before its first byte (nothing
 * sent), never in the middle of a frame.
 *
 * Waiting goes through mt__wait_fd / mt__wait_fds only, so a coroutine
 * scheduler can park on a connection.  Invariant: rbuf[rpos, rlen) holds
 * received bytes not yet delivered and always starts at a frame boundary
 * (or inside the frame being delivered, never in a delivered one).
 */
#include "multitask/pipe.h"
#include "pipe/pipe_internal.h"
#include "core/core.h"
#include "platform/platform.h"
#include "platform/spawn.h"
#include "queue/queue_internal.h"
#include "wait/wait.h"

#include <stdlib.h>
#include <string.h>

#define HDR 4          /* length prefix of a frame below 4 GiB - 1 */
#define HDR_BIG 12     /* 0xffffffff + 8-byte length for bigger frames */
#define LEN_ESC 0xffffffffu
#define RBUF_MIN (64 * 1024)
#define DIRECT_MIN (8 * 1024) /* bodies from this size skip the buffer */
#define PIPE_BIG (1024 * 1024) /* the most an unprivileged process may ask (pipe-max-size) */
#define SMALL_FRAME 512 /* frames up to this size are sent from one stack copy */

struct mt_conn {
  int fd;  /* receives (a simplex sending end: sends); what mt_conn_fileno gives */
  int wfd; /* sends: fd itself, or a duplex end's second socket; -1 when receive-only */
  bool rd, wr, is_sock; /* is_sock: socketpair ends (no RWF_NOSIGNAL), else pipes */
  bool staged; /* the frame at rpos is being completed inside rbuf */
  bool broken; /* a header above max_recv: receives return MT_EBROKEN */
  bool grown;  /* a pipe end that sent a frame above 64 KiB grew its pipe */
  size_t max_recv;
  size_t last; /* the last header read: its frame's size, at most RBUF_MIN */
  unsigned char *rbuf;
  size_t rcap, rpos, rlen;
};

/* ---- creation ------------------------------------------------------------ */

static mt_conn_t *conn_new(int fd, int wfd, bool rd, bool wr, bool is_sock) {
  mt_conn_t *c = mt__calloc(1, sizeof *c);
  if (!c) return NULL;
  c->fd = fd;
  c->wfd = wfd;
  c->rd = rd;
  c->wr = wr;
  c->is_sock = is_sock;
  c->max_recv = MT_CONN_DEFAULT_MAX_RECV;
  return c;
}

/* A duplex pipe is two one-way channels, one per direction (see the
 * design note): `ab` carries a -> b, `ba` b -> a; [0] receives, [1] sends. */
int mt_pipe_new(bool duplex, mt_conn_t **a, mt_conn_t **b) {
  if (!a || !b) return MT_EINVAL;
  int ab[2] = {-1, -1}, ba[2] = {-1, -1};
  int r = mt__sys_conn_pair(ab); /* 1: sockets, 0: pipes */
  if (r >= 0 && duplex && (r = mt__sys_conn_pair(ba)) < 0) {
    mt__sys_close(ab[0]);
    mt__sys_close(ab[1]);
  }
  if (r < 0) return r;
  bool sock = r == 1;
  if (duplex) {
    *a = conn_new(ba[0], ab[1], true, true, sock);
    *b = conn_new(ab[0], ba[1], true, true, sock);
  } else { /* Python's Pipe(False): the first end receives, the second sends */
    *a = conn_new(ab[0], -1, true, false, sock);
    *b = conn_new(ab[1], ab[1], false, true, sock);
  }
  if (!*a || !*b) {
    mt__free(*a);
    mt__free(*b);
    for (int i = 0; i < 2; i++) {
      mt__sys_close(ab[i]);
      if (ba[i] >= 0) mt__sys_close(ba[i]);
    }
    *a = *b = NULL;
    return MT_ENOMEM;
  }
  return 0;
}

int mt_conn_close(mt_conn_t *c) {
  if (!c) return MT_EINVAL;
  if (c->wfd >= 0 && c->wfd != c->fd) mt__sys_close(c->wfd);
  if (c->fd >= 0) mt__sys_close(c->fd);
  c->fd = c->wfd = -1;
  mt__free(c->rbuf);
  c->rbuf = NULL;
  c->rcap = c->rpos = c->rlen = 0;
  c->staged = false;
  return 0;
}

void mt_conn_free(mt_conn_t *c) {
  if (!c) return;
  mt_conn_close(c);
  mt__free(c);
}

int mt_conn_fileno(const mt_conn_t *c) {
  if (!c) return MT_EINVAL;
  return c->fd >= 0 ? c->fd : MT_EBADF;
}

size_t mt__conn_rbuf_cap(const mt_conn_t *c) { return c ? c->rcap : 0; }
int mt__conn_send_fd(const mt_conn_t *c) { return c ? c->wfd : -1; }

int mt_conn_is_writable(const mt_conn_t *c) { return c ? c->wr : MT_EINVAL; }
int mt_conn_is_readable(const mt_conn_t *c) { return c ? c->rd : MT_EINVAL; }

static int check(const mt_conn_t *c, bool reading) {
  if (!c) return MT_EINVAL;
  if (c->fd < 0) return MT_EBADF;
  if (reading ? !c->rd : !c->wr) return MT_EPERM;
  if (reading && c->broken) return MT_EBROKEN;
  return 0;
}

int mt_conn_set_max_recv(mt_conn_t *c, size_t max) {
  if (!c || max == 0 || (uint64_t)max > MT_CONN_MAX_MSG) return MT_EINVAL;
  c->max_recv = max;
  return 0;
}

int mt_conn_get_max_recv(const mt_conn_t *c, size_t *max) {
  if (!c || !max) return MT_EINVAL;
  *max = c->max_recv;
  return 0;
}


/* Block inside the system call itself?  Only when nothing could be done
 * while waiting anyway: no deadline and no coroutine parker installed on
 * this thread.  Then one blocking call replaces poll + call.  Otherwise the
 * wait goes through mt__wait_fd first, and the call that follows finds the
 * descriptor ready. */
static bool may_block(int64_t deadline) {
  return deadline == MT__NO_DEADLINE && mt__may_sleep_outside();
}

/* ---- sending ----------------------------------------------------------------- */

/* Sends the iovecs completely.  Before the first byte, waits until the
 * deadline and is a cancellation point (MT_ECANCELLED: nothing sent) and
 * interruptible (MT_EINTR, docs/signals.md); afterwards without a deadline,
 * a cancel or an interrupt (both stay pending for the next wait), since a
 * half frame would tear the stream. */
static int send_all(mt_conn_t *c, struct iovec *iov, int n, int64_t deadline) {
  bool started = false;
  while (n > 0) {
    int64_t until = started ? MT__NO_DEADLINE : deadline;
    if (!may_block(until)) {
      struct pollfd pf = {.fd = c->wfd, .events = POLLOUT};
      int r = started ? mt__wait_fds_nocancel(&pf, 1, until) : mt__wait_fds(&pf, 1, until);
      if (r < 0) return r;
    }
    /* under a coroutine scheduler never block the thread in the call: a
     * message bigger than the kernel buffer goes out in parks */
    ssize_t w = mt__get_parker() ? mt__sys_sendv_nowait(c->wfd, c->is_sock, iov, n)
                                 : mt__sys_writev_nosig(c->wfd, c->is_sock, iov, n);
    if (w == MT_EPIPE || w == -ECONNRESET) return MT_ECLOSED;
    if (w == MT_EAGAIN) continue;
    if (w < 0) return (int)w;
    started = true;
    size_t left = (size_t)w;
    while (n > 0 && left >= iov->iov_len) {
      left -= iov->iov_len;
      iov++;
      n--;
    }
    if (n > 0) {
      iov->iov_base = (char *)iov->iov_base + left;
      iov->iov_len -= left;
    }
  }
  return 0;
}

/* Writes the length prefix; returns its size (HDR or HDR_BIG). */
static size_t encode_hdr(unsigned char *out, uint64_t len) {
  if (len < LEN_ESC) {
    uint32_t n = (uint32_t)len;
    memcpy(out, &n, HDR);
    return HDR;
  }
  uint32_t esc = LEN_ESC;
  memcpy(out, &esc, HDR);
  memcpy(out + HDR, &len, 8);
  return HDR_BIG;
}

/* A frame of at most SMALL_FRAME bytes goes out from one contiguous copy:
 * a one-piece write costs the kernel less than gathering pieces (no iovec
 * array to copy in and walk: ~30 ns of a ~1.3 us send here), and with no
 * deadline on a plain thread it is one blocking write of that one buffer
 * (mt__sys_write1_nosig) without send_all's loop; mt_conn_send_bytes with
 * MT_FOREVER comes here straight (issue 13, docs/pipes.md). */
static int send_small(mt_conn_t *c, const void *p1, size_t n1, const void *p2, size_t n2,
                      int64_t deadline) {
  unsigned char one[SMALL_FRAME];
  uint32_t hdr = (uint32_t)(n1 + n2); /* below LEN_ESC: a short header */
  memcpy(one, &hdr, HDR);
  size_t n = HDR;
  if (n1) memcpy(one + n, p1, n1), n += n1;
  if (n2) memcpy(one + n, p2, n2), n += n2;
  struct iovec iov = {one, n};
  if (deadline == MT__NO_DEADLINE && mt__plain_thread()) {
    ssize_t w = mt__sys_write1_nosig(c->wfd, c->is_sock, one, n);
    if (w == (ssize_t)n) return 0;
    if (w == MT_EPIPE || w == -ECONNRESET) return MT_ECLOSED;
    if (w >= 0) { /* a socket send cut short (a signal): send_all sends the rest */
      iov.iov_base = one + w;
      iov.iov_len = n - (size_t)w;
    } else if (w != MT_EAGAIN) {
      return (int)w;
    }
  }
  return send_all(c, &iov, 1, deadline);
}

/* One frame made of a header and up to two body pieces.  (Not inlined: the
 * short path of mt_conn_send_bytes then costs no register saves for it.) */
static __attribute__((noinline)) int send_frame(mt_conn_t *c, const void *p1, size_t n1,
                                                const void *p2, size_t n2, double timeout) {
  int r = check(c, false);
  if (r) return r;
  if ((n1 && !p1) || (n2 && !p2)) return MT_EINVAL;
  if ((uint64_t)n1 + n2 > MT_CONN_MAX_MSG) return MT_EMSGSIZE;
  int64_t deadline;
  if (mt__deadline(timeout, &deadline)) return MT_EINVAL;
  unsigned char hdr[HDR_BIG];
  size_t hlen = encode_hdr(hdr, (uint64_t)n1 + n2);
  /* The first frame bigger than a default pipe (64 KiB) grows the pipe,
   * once, to PIPE_BIG, so such a frame does not stall its writer halfway.
   * Refused (a per-user quota): only slower. */
  if (!c->is_sock && !c->grown && hlen + n1 + n2 > RBUF_MIN) {
    c->grown = true;
    mt__sys_pipe_set_size(c->wfd, PIPE_BIG);
  }
  if (hlen + n1 + n2 <= SMALL_FRAME) return send_small(c, p1, n1, p2, n2, deadline);
  struct iovec iov[3] = {{hdr, hlen}, {(void *)p1, n1}, {(void *)p2, n2}};
  return send_all(c, iov, n2 ? 3 : 2, deadline);
}

int mt_conn_send_bytes(mt_conn_t *c, const void *buf, size_t len, double timeout) {
  /* the common case without send_frame's steps: every check it makes
   * passes, and the frame is small (send_small) */
  if (timeout == MT_FOREVER && c && c->fd >= 0 && c->wr && len <= SMALL_FRAME - HDR &&
      (buf || !len))
    return send_small(c, buf, len, NULL, 0, MT__NO_DEADLINE);
  return send_frame(c, buf, len, NULL, 0, timeout);
}

/* ---- receiving --------------------------------------------------------------- */

static size_t buffered(const mt_conn_t *c) { return c->rlen - c->rpos; }

/* Makes room for `need` bytes from rpos on.  Grows to exactly `need` (at
 * least RBUF_MIN): only a staged frame grows it, once, to its own size. */
static int reserve(mt_conn_t *c, size_t need) {
  if (c->rpos > 0 && c->rcap - c->rpos < need) {
    memmove(c->rbuf, c->rbuf + c->rpos, buffered(c));
    c->rlen -= c->rpos;
    c->rpos = 0;
  }
  if (c->rcap >= need && c->rbuf) return 0;
  size_t ncap = need < RBUF_MIN ? RBUF_MIN : need;
  unsigned char *nb = mt__realloc(c->rbuf, ncap);
  if (!nb) return MT_ENOMEM;
  c->rbuf = nb;
  c->rcap = ncap;
  return 0;
}

/* Consumes n delivered bytes.  When at most a header's worth is left, it
 * moves to the front: the next read then lands in the same few cache lines
 * as the last one instead of walking the whole 64 KiB buffer, as a raw
 * loop's reads land in its one buffer (no gain was measurable on this VM;
 * docs/pipes.md). */
static void advance(mt_conn_t *c, size_t n) {
  c->rpos += n;
  size_t left = buffered(c);
  if (left <= HDR_BIG && c->rpos > 0) {
    memmove(c->rbuf, c->rbuf + c->rpos, left);
    c->rpos = 0;
    c->rlen = left;
  }
}

/* Forgets what is buffered; a buffer grown for a staged frame is freed. */
static void drop(mt_conn_t *c) {
  c->rpos = c->rlen = 0;
  c->staged = false;
  if (c->rcap > RBUF_MIN) {
    mt__free(c->rbuf);
    c->rbuf = NULL;
    c->rcap = 0;
  }
}

/* One receive call: its deadline, whether it has read yet, and once the
 * deadline has passed, how many queued bytes it may still take. */
typedef struct {
  int64_t deadline;
  bool has_read, late;
  size_t late_left;
} rx_t;

/* Reads into dst (at most n bytes), waiting until the deadline.  Bytes
 * read, 0 at EOF, or a negative code.  After the call's first read the
 * deadline is checked before reading again (see the note at the top). */
static ssize_t read_some(mt_conn_t *c, void *dst, size_t n, rx_t *x) {
  if (x->has_read && !x->late && mt__deadline_passed(x->deadline)) {
    x->late = true;
    x->late_left = mt__sys_pending(c->fd);
  }
  if (x->late) {
    if (x->late_left == 0) return MT_ETIMEDOUT;
    if (n > x->late_left) n = x->late_left; /* there: the read cannot block */
  } else if (!may_block(x->deadline)) {
    int r = mt__wait_fd(c->fd, POLLIN, x->deadline);
    if (r < 0) return r;
  }
  ssize_t got = mt__sys_read(c->fd, dst, n);
  x->has_read = true;
  if (x->late && got > 0) x->late_left -= (size_t)got;
  return got == -ECONNRESET ? 0 : got;
}

/* What the next read asks for while fewer than `need` bytes are buffered:
 * one frame per read (see the design note), i.e. the rest of this frame
 * and the next header; with no header yet, the last frame's size, or the
 * header alone when that frame's body was read straight into the caller's
 * memory (deliver).  Never more than the buffer's free tail. */
static size_t read_want(const mt_conn_t *c, size_t need) {
  size_t b = buffered(c);
  size_t want = b >= HDR ? need - b + HDR : c->last >= DIRECT_MIN ? need - b : c->last + HDR;
  return want > c->rcap - c->rlen ? c->rcap - c->rlen : want;
}

/* Ensures `need` buffered bytes.  At EOF: MT_ECLOSED if nothing is
 * buffered, else MT_EIO (a truncated frame, dropped). */
static int ensure(mt_conn_t *c, size_t need, rx_t *x) {
  while (buffered(c) < need) {
    int r = reserve(c, need);
    if (r) return r;
    ssize_t got = read_some(c, c->rbuf + c->rlen, read_want(c, need), x);
    if (got < 0) return (int)got;
    if (got == 0) {
      bool partial = buffered(c) > 0;
      drop(c);
      return partial ? MT_EIO : MT_ECLOSED;
    }
    c->rlen += (size_t)got;
  }
  return 0;
}

/* The stream cannot be resynchronised: the receive side is done. */
static int break_stream(mt_conn_t *c, int code) {
  drop(c);
  c->broken = true;
  return code;
}

/* Waits for the next frame's header: its body length and header size.
 * MT_EMSGSIZE (connection broken, *len set) above max_recv. */
static int read_header(mt_conn_t *c, rx_t *x, uint64_t *len, size_t *hlen) {
  int r = ensure(c, HDR, x);
  if (r) return r;
  uint32_t n;
  memcpy(&n, c->rbuf + c->rpos, HDR);
  *hlen = HDR;
  *len = n;
  if (n == LEN_ESC) {
    r = ensure(c, HDR_BIG, x);
    if (r) return r;
    memcpy(len, c->rbuf + c->rpos + HDR, 8);
    *hlen = HDR_BIG;
  }
  c->last = *len < RBUF_MIN ? *len + *hlen : RBUF_MIN;
  return *len > c->max_recv ? break_stream(c, MT_EMSGSIZE) : 0;
}

/* After a direct read stopped by `code` (a timeout or any other error,
 * e.g. a scheduler's parker cancelling the wait): the header and the `got`
 * body bytes already in dst go into the (empty) receive buffer, staged, so
 * the next call resumes the frame.  If that allocation fails those bytes
 * are gone: the stream is broken. */
static int stage_from(mt_conn_t *c, uint64_t len, const void *body, size_t got, int code) {
  unsigned char hdr[HDR_BIG];
  size_t hlen = encode_hdr(hdr, len);
  c->rpos = c->rlen = 0;
  if (reserve(c, hlen + len)) return break_stream(c, MT_ENOMEM);
  memcpy(c->rbuf, hdr, hlen);
  memcpy(c->rbuf + hlen, body, got);
  c->rlen = hlen + got;
  c->staged = true;
  return code;
}

/* Delivers the frame whose header (hlen bytes) is buffered and whose
 * length fits. */
static int deliver(mt_conn_t *c, unsigned char *dst, uint64_t len, size_t hlen, rx_t *x) {
  size_t avail = buffered(c) - hlen;
  if (c->staged || avail >= len || len < DIRECT_MIN) {
    int r = ensure(c, hlen + len, x);
    if (r) return r;
    memcpy(dst, c->rbuf + c->rpos + hlen, len);
    advance(c, hlen + len);
    if (c->staged && buffered(c) == 0) drop(c); /* frees a grown buffer */
    c->staged = false;
    return 0;
  }
  /* Large: copy what is buffered, read the rest straight into dst (one
   * copy less; measured ~15% faster for 64 KiB messages). */
  memcpy(dst, c->rbuf + c->rpos + hlen, avail);
  c->rpos = c->rlen = 0;
  size_t got = avail;
  while (got < len) {
    ssize_t n = read_some(c, dst + got, len - got, x);
    /* any error: rpos/rlen are already 0, so dropping these bytes would
     * make the next call read body bytes as a header */
    if (n < 0) return stage_from(c, len, dst, got, (int)n);
    if (n == 0) return MT_EIO; /* peer closed mid-message: dropped */
    got += (size_t)n;
  }
  return 0;
}

/* Starts a receive call: 0, or the code it returns at once. */
static int rx_begin(mt_conn_t *c, rx_t *x, bool args_ok, double timeout) {
  int r = check(c, true);
  if (r) return r;
  if (!args_ok) return MT_EINVAL;
  x->has_read = x->late = false;
  x->late_left = 0;
  return mt__deadline(timeout, &x->deadline) ? MT_EINVAL : 0;
}

int mt_conn_peek_size(mt_conn_t *c, size_t *len, double timeout) {
  rx_t x;
  int r = rx_begin(c, &x, len != NULL, timeout);
  if (r) return r;
  uint64_t n;
  size_t hlen;
  r = read_header(c, &x, &n, &hlen);
  if (r == 0 || r == MT_EMSGSIZE) *len = (size_t)n;
  return r;
}

/* The common receive in few steps: no deadline on a plain thread (reads
 * may block in the kernel: may_block), a frame below DIRECT_MIN that fits
 * `cap`, nothing staged.  It reads as ensure() does (one frame per read)
 * without the general path's deadline bookkeeping (318 -> 218 user-space
 * instructions per 64 B receive, callgrind; issue 13, docs/pipes.md).
 * 0: delivered; 1: anything else (a long header, too
 * small a buffer, a header above max_recv, EOF, an error, a buffer to
 * compact), and the general path goes on from the buffer as this left it
 * (every read here only appends, so the invariant holds). */
static int recv_small(mt_conn_t *c, void *buf, size_t cap, size_t *len) {
  if (!c->rbuf) return 1; /* the first receive allocates */
  for (;;) {
    size_t b = buffered(c), need = HDR;
    if (b >= HDR) {
      uint32_t n; /* LEN_ESC is above DIRECT_MIN: the long header goes on */
      memcpy(&n, c->rbuf + c->rpos, HDR);
      if (n >= DIRECT_MIN || n > cap || n > c->max_recv) return 1;
      need = HDR + n;
      if (b >= need) {
        memcpy(buf, c->rbuf + c->rpos + HDR, n);
        advance(c, need);
        c->last = need;
        *len = n;
        return 0;
      }
    }
    if (c->rcap - c->rpos < need) return 1; /* reserve() compacts */
    ssize_t got = mt__sys_read(c->fd, c->rbuf + c->rlen, read_want(c, need));
    if (got <= 0) return 1; /* EOF or an error: the general path reads again and says which */
    c->rlen += (size_t)got;
  }
}

int mt_conn_recv_bytes_into(mt_conn_t *c, void *buf, size_t cap, size_t *len,
                            double timeout) {
  if (timeout == MT_FOREVER && c && buf && len && c->fd >= 0 && c->rd && !c->broken &&
      !c->staged && mt__may_sleep_outside() && recv_small(c, buf, cap, len) == 0)
    return 0;
  rx_t x;
  int r = rx_begin(c, &x, len && (!cap || buf), timeout);
  if (r) return r;
  uint64_t n;
  size_t hlen;
  r = read_header(c, &x, &n, &hlen);
  if (r == 0 || r == MT_EMSGSIZE) *len = (size_t)n;
  if (r) return r;
  if (n > cap) return MT_EMSGSIZE;
  return deliver(c, buf, n, hlen, &x);
}

int mt_conn_recv_bytes(mt_conn_t *c, void **out, size_t *len, double timeout) {
  rx_t x;
  int r = rx_begin(c, &x, out && len, timeout);
  if (r) return r;
  uint64_t n;
  size_t hlen;
  r = read_header(c, &x, &n, &hlen);
  if (r == MT_EMSGSIZE) *len = (size_t)n;
  if (r) return r;
  unsigned char *p = n < SIZE_MAX ? mt__malloc(n + 1) : NULL;
  if (!p) return MT_ENOMEM;
  r = deliver(c, p, n, hlen, &x);
  if (r) {
    mt__free(p);
    return r;
  }
  p[n] = 0;
  *out = p;
  *len = (size_t)n;
  return 0;
}

/* A receive would return at once from the buffer: a whole frame (or a
 * header above the maximum) is there, or the receive side is broken. */
static bool frame_buffered(const mt_conn_t *c) {
  size_t b = buffered(c), hlen = HDR;
  if (c->broken) return true;
  if (b < HDR) return false;
  uint32_t n;
  memcpy(&n, c->rbuf + c->rpos, HDR);
  uint64_t len = n;
  if (n == LEN_ESC) {
    if (b < HDR_BIG) return false;
    memcpy(&len, c->rbuf + c->rpos + HDR, 8);
    hlen = HDR_BIG;
  }
  return len > c->max_recv || b - hlen >= len;
}

int mt_conn_poll(mt_conn_t *c, double timeout) {
  int r = check(c, true);
  if (r) return r;
  int64_t deadline;
  if (mt__deadline(timeout, &deadline)) return MT_EINVAL;
  if (frame_buffered(c)) return 1;
  r = mt__wait_fd(c->fd, POLLIN, deadline);
  if (r == MT_ETIMEDOUT) return 0;
  return r < 0 ? r : 1;
}

/* ---- typed messages ---------------------------------------------------------- */

enum { TAG_I64 = 'q', TAG_F64 = 'd', TAG_STR = 's' };

static int send_tagged(mt_conn_t *c, unsigned char tag, const void *p, size_t n,
                       double timeout) {
  return send_frame(c, &tag, 1, p, n, timeout);
}

int mt_conn_send_i64(mt_conn_t *c, int64_t v, double timeout) {
  return send_tagged(c, TAG_I64, &v, sizeof v, timeout);
}

int mt_conn_send_f64(mt_conn_t *c, double v, double timeout) {
  return send_tagged(c, TAG_F64, &v, sizeof v, timeout);
}

int mt_conn_send_str(mt_conn_t *c, const char *s, double timeout) {
  if (!s) return MT_EINVAL;
  return send_tagged(c, TAG_STR, s, strlen(s), timeout);
}

/* Waits for the next frame's header and tag; MT_EINVAL (frame kept) when
 * the tag differs or, for fixed sizes, the length is wrong. */
static int expect(mt_conn_t *c, unsigned char tag, uint64_t fixed_len, rx_t *x,
                  uint64_t *len, size_t *hlen) {
  int r = read_header(c, x, len, hlen);
  if (r) return r;
  if (*len < 1 || (fixed_len && *len != fixed_len)) return MT_EINVAL;
  r = ensure(c, *hlen + 1, x);
  if (r) return r;
  return c->rbuf[c->rpos + *hlen] == tag ? 0 : MT_EINVAL;
}

static int recv_fixed(mt_conn_t *c, unsigned char tag, void *v, double timeout) {
  rx_t x;
  int r = rx_begin(c, &x, v != NULL, timeout);
  if (r) return r;
  uint64_t len;
  size_t hlen;
  r = expect(c, tag, 9, &x, &len, &hlen);
  if (r) return r;
  r = ensure(c, hlen + 9, &x);
  if (r) return r;
  memcpy(v, c->rbuf + c->rpos + hlen + 1, 8);
  advance(c, hlen + 9);
  return 0;
}

int mt_conn_recv_i64(mt_conn_t *c, int64_t *v, double timeout) {
  return recv_fixed(c, TAG_I64, v, timeout);
}

int mt_conn_recv_f64(mt_conn_t *c, double *v, double timeout) {
  return recv_fixed(c, TAG_F64, v, timeout);
}

int mt_conn_recv_str(mt_conn_t *c, char **s, double timeout) {
  rx_t x;
  int r = rx_begin(c, &x, s != NULL, timeout);
  if (r) return r;
  uint64_t len;
  size_t hlen;
  r = expect(c, TAG_STR, 0, &x, &len, &hlen);
  if (r) return r;
  unsigned char *p = len < SIZE_MAX ? mt__malloc(len + 1) : NULL;
  if (!p) return MT_ENOMEM;
  r = deliver(c, p, len, hlen, &x);
  if (r) {
    mt__free(p);
    return r;
  }
  memmove(p, p + 1, len - 1); /* drop the tag */
  p[len - 1] = 0;
  *s = (char *)p;
  return 0;
}

/* ---- connection.wait -----------------------------------------------------------
 * Everything blocks in ONE mt__wait_fds call: connections and raw fds are
 * polled directly; a queue contributes its wake-up eventfd
 * (mt__queue_wait_begin, queue_internal.h), which a put or shutdown makes
 * readable while we are registered.  Each round checks the queues (which
 * also clears a stale eventfd of an empty queue), then polls; a woken round
 * re-checks.  No timed re-check anywhere. */

static bool is_queue(const mt_waitable_t *w) {
  return w->kind == MT_WAIT_QUEUE || w->kind == MT_WAIT_MPQUEUE;
}

static int queue_begin(mt_waitable_t *w) {
  return w->kind == MT_WAIT_QUEUE ? mt__queue_wait_begin(w->obj)
                                  : mt__mpqueue_wait_begin(w->obj);
}

static void queue_end(mt_waitable_t *w) {
  if (w->kind == MT_WAIT_QUEUE) mt__queue_wait_end(w->obj);
  else mt__mpqueue_wait_end(w->obj);
}

static int queue_check(mt_waitable_t *w) {
  return w->kind == MT_WAIT_QUEUE ? mt__queue_wait_check(w->obj)
                                  : mt__mpqueue_wait_check(w->obj);
}

/* Marks ready objects that need no kernel help; returns their count. */
static int check_direct(mt_waitable_t *list, int n) {
  int ready = 0;
  for (int i = 0; i < n; i++) {
    mt_waitable_t *w = &list[i];
    w->ready = 0;
    if (is_queue(w)) w->ready = queue_check(w);
    else if (w->kind == MT_WAIT_CONN) w->ready = frame_buffered(w->obj);
    ready += w->ready;
  }
  return ready;
}

static int validate(const mt_waitable_t *list, int n) {
  if (n < 0 || (n > 0 && !list)) return MT_EINVAL;
  for (int i = 0; i < n; i++) {
    const mt_waitable_t *w = &list[i];
    if (w->kind == MT_WAIT_FD) {
      if (w->fd < 0) return MT_EINVAL;
      continue;
    }
    if (!w->obj) return MT_EINVAL;
    if (!is_queue(w) && (w->kind != MT_WAIT_CONN || mt_conn_fileno(w->obj) < 0))
      return MT_EINVAL;
  }
  return 0;
}

/* Fills pfd[i].fd for every object: its descriptor (a queue's eventfd).
 * Registers the queues; on failure unregisters those done. */
static int begin_all(mt_waitable_t *list, int n, struct pollfd *pfd) {
  for (int i = 0; i < n; i++) {
    mt_waitable_t *w = &list[i];
    int fd = w->kind == MT_WAIT_FD     ? w->fd
             : w->kind == MT_WAIT_CONN ? ((const mt_conn_t *)w->obj)->fd
                                       : queue_begin(w);
    if (fd < 0) {
      for (int j = 0; j < i; j++)
        if (is_queue(&list[j])) queue_end(&list[j]);
      return fd;
    }
    pfd[i] = (struct pollfd){.fd = fd, .events = POLLIN};
  }
  return 0;
}

/* One round: check, then poll (only collecting what is ready now if
 * something already is).  Ready count, 0 to go on waiting, or a code. */
static int wait_round(mt_waitable_t *list, int n, const int *fds, struct pollfd *pfd,
                      int64_t deadline) {
  int ready = check_direct(list, n);
  for (int i = 0; i < n; i++)
    pfd[i] = (struct pollfd){.fd = list[i].ready ? -1 : fds[i], .events = POLLIN};
  int r = mt__wait_fds(pfd, n, ready ? 0 : deadline);
  if (r == MT_ETIMEDOUT) return ready;
  if (r < 0) return r;
  for (int i = 0; i < n; i++) {
    mt_waitable_t *w = &list[i];
    if (pfd[i].fd < 0 || !pfd[i].revents) continue;
    /* A queue's eventfd says "re-check"; its item may be gone already. */
    w->ready = is_queue(w) ? queue_check(w) : 1;
    ready += w->ready;
  }
  return ready;
}

int mt_conn_wait(mt_waitable_t *list, int n, double timeout) {
  int64_t deadline;
  if (validate(list, n) || mt__deadline(timeout, &deadline)) return MT_EINVAL;
  struct pollfd stack[16];
  int fstack[16];
  struct pollfd *pfd = n <= 16 ? stack : mt__malloc((size_t)n * sizeof *pfd);
  int *fds = n <= 16 ? fstack : mt__malloc((size_t)n * sizeof *fds);
  int ready = pfd && fds ? begin_all(list, n, pfd) : MT_ENOMEM;
  if (ready == 0) {
    for (int i = 0; i < n; i++) fds[i] = pfd[i].fd;
    while ((ready = wait_round(list, n, fds, pfd, deadline)) == 0) {
      if (mt__deadline_passed(deadline)) break;
    }
    for (int i = 0; i < n; i++)
      if (is_queue(&list[i])) queue_end(&list[i]);
  }
  if (pfd != stack) mt__free(pfd);
  if (fds != fstack) mt__free(fds);
  return ready;
}
