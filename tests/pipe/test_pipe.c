/* Pipe connections: framing, errors that lose nothing, EOF, no SIGPIPE,
 * typed values, poll and mt_conn_wait, a 256 MB message, and a framing fuzz with
 * random sizes, random split writes and a peer closing mid-message. */
#include "mt_test.h"
#include "pipe/pipe_internal.h"
#include "queue/queue_internal.h"
#include "wait/wait.h"

#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void wait_child(pid_t pid) {
  int st;
  assert_int_equal(waitpid(pid, &st, 0), pid);
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 0);
}

static void duplex_basics(void **state) {
  (void)state;
  mt_conn_t *a, *b;
  assert_code(mt_pipe_new(true, &a, &b), 0);
  assert_true(mt_conn_fileno(a) >= 0 && mt_conn_fileno(b) >= 0);
  assert_int_equal(mt_conn_is_readable(a) && mt_conn_is_writable(a), 1);
  assert_int_equal(mt_conn_poll(b, 0), 0);
  assert_code(mt_conn_send_bytes(a, "hello", 5, MT_FOREVER), 0);
  assert_code(mt_conn_send_bytes(a, "", 0, MT_FOREVER), 0);
  assert_code(mt_conn_send_bytes(b, "back", 4, MT_FOREVER), 0);
  assert_int_equal(mt_conn_poll(b, 1.0), 1);
  char buf[16];
  size_t n = 0;
  /* too small: the size is reported, the message stays */
  assert_code(mt_conn_recv_bytes_into(b, buf, 2, &n, 0), MT_EMSGSIZE);
  assert_int_equal(n, 5);
  assert_code(mt_conn_peek_size(b, &n, 0), 0);
  assert_int_equal(n, 5);
  assert_code(mt_conn_recv_bytes_into(b, buf + 3, sizeof buf - 3, &n, 0), 0); /* offset 3 */
  assert_int_equal(n, 5);
  assert_memory_equal(buf + 3, "hello", 5);
  void *p;
  assert_code(mt_conn_recv_bytes(b, &p, &n, 0), 0);
  assert_int_equal(n, 0);
  free(p);
  assert_code(mt_conn_recv_bytes(a, &p, &n, 0), 0);
  assert_int_equal(n, 4);
  assert_string_equal(p, "back");
  free(p);
  /* nothing more: a timeout is not early and loses nothing */
  double t0 = now_s();
  assert_code(mt_conn_recv_bytes(b, &p, &n, 0.05), MT_ETIMEDOUT);
  assert_true(now_s() - t0 >= 0.05);
  assert_code(mt_conn_recv_bytes(b, &p, &n, 0), MT_ETIMEDOUT);
  /* bad arguments */
  assert_code(mt_conn_send_bytes(NULL, "x", 1, 0), MT_EINVAL);
  assert_code(mt_conn_send_bytes(a, NULL, 1, 0), MT_EINVAL);
  assert_code(mt_conn_send_bytes(a, "x", 1, NAN), MT_EINVAL);
  assert_code(mt_conn_recv_bytes(b, NULL, &n, 0), MT_EINVAL);
  assert_code(mt_conn_poll(b, -2), MT_EINVAL);
  assert_code(mt_pipe_new(true, NULL, &b), MT_EINVAL);
  /* typed values; a wrong type is refused and the message kept */
  assert_code(mt_conn_send_i64(a, -42, 1), 0);
  assert_code(mt_conn_send_f64(a, 2.5, 1), 0);
  assert_code(mt_conn_send_str(a, "text", 1), 0);
  double d;
  int64_t i;
  char *s;
  assert_code(mt_conn_recv_f64(b, &d, 1), MT_EINVAL);
  assert_code(mt_conn_recv_str(b, &s, 1), MT_EINVAL);
  assert_code(mt_conn_recv_i64(b, &i, 1), 0);
  assert_int_equal(i, -42);
  assert_code(mt_conn_recv_f64(b, &d, 1), 0);
  assert_true(d == 2.5);
  assert_code(mt_conn_recv_str(b, &s, 1), 0);
  assert_string_equal(s, "text");
  free(s);
  /* the long header form (0xffffffff + 8-byte length) is understood */
  unsigned char frame[12 + 5];
  uint32_t esc = 0xffffffffu;
  uint64_t five = 5;
  memcpy(frame, &esc, 4);
  memcpy(frame + 4, &five, 8);
  memcpy(frame + 12, "hello", 5);
  assert_int_equal(write(mt__conn_send_fd(a), frame, sizeof frame), (ssize_t)sizeof frame);
  assert_code(mt_conn_recv_bytes_into(b, buf, sizeof buf, &n, 1), 0);
  assert_int_equal(n, 5);
  assert_memory_equal(buf, "hello", 5);
  /* EOF: the peer closes; what it sent is still delivered first */
  assert_code(mt_conn_send_bytes(a, "last", 4, 1), 0);
  assert_code(mt_conn_close(a), 0);
  assert_code(mt_conn_close(a), 0);
  assert_code(mt_conn_send_bytes(a, "x", 1, 0), MT_EBADF);
  assert_code(mt_conn_fileno(a), MT_EBADF);
  assert_code(mt_conn_recv_bytes_into(b, buf, sizeof buf, &n, 1), 0);
  assert_int_equal(mt_conn_poll(b, 1), 1); /* EOF is "ready" */
  assert_code(mt_conn_recv_bytes_into(b, buf, sizeof buf, &n, 1), MT_ECLOSED);
  /* writing to a closed peer: MT_ECLOSED, never SIGPIPE */
  assert_code(mt_conn_send_bytes(b, "x", 1, 1), MT_ECLOSED);
  mt_conn_free(a);
  mt_conn_free(b);
}

static void simplex_basics(void **state) {
  (void)state;
  mt_conn_t *r, *w;
  assert_code(mt_pipe_new(false, &r, &w), 0);
  assert_int_equal(mt_conn_is_writable(r), 0);
  assert_int_equal(mt_conn_is_readable(w), 0);
  assert_code(mt_conn_send_bytes(r, "x", 1, 0), MT_EPERM);
  char c;
  size_t n;
  assert_code(mt_conn_recv_bytes_into(w, &c, 1, &n, 0), MT_EPERM);
  assert_code(mt_conn_send_str(w, "abc", 1), 0);
  char *s;
  assert_code(mt_conn_recv_str(r, &s, 1), 0);
  assert_string_equal(s, "abc");
  free(s);
  mt_conn_free(r);
  /* the reader is gone: a pipe write must not raise SIGPIPE */
  assert_code(mt_conn_send_bytes(w, "x", 1, 1), MT_ECLOSED);
  sigset_t pend;
  sigpending(&pend);
  assert_false(sigismember(&pend, SIGPIPE));
  mt_conn_free(w);
  /* a child forked from this thread starts with SIGPIPE unblocked again */
  pid_t pid = fork();
  if (pid == 0) {
    sigset_t cur;
    pthread_sigmask(SIG_BLOCK, NULL, &cur);
    _exit(sigismember(&cur, SIGPIPE) ? 1 : 0);
  }
  wait_child(pid);
}

/* ---- parent/child -------------------------------------------------------------- */

static void fork_ping_pong(void **state) {
  (void)state;
  mt_conn_t *a, *b;
  assert_code(mt_pipe_new(true, &a, &b), 0);
  long rounds = mt_test_scaled(10000, 200);
  pid_t pid = fork();
  if (pid == 0) {
    mt_conn_close(a);
    int64_t v;
    while (mt_conn_recv_i64(b, &v, MT_FOREVER) == 0)
      if (mt_conn_send_i64(b, v * 2, MT_FOREVER)) _exit(2);
    _exit(0); /* EOF: the parent closed */
  }
  mt_conn_close(b);
  for (int64_t i = 0; i < rounds; i++) {
    int64_t v;
    assert_code(mt_conn_send_i64(a, i, MT_FOREVER), 0);
    assert_code(mt_conn_recv_i64(a, &v, MT_FOREVER), 0);
    assert_int_equal(v, 2 * i);
  }
  mt_conn_close(a);
  wait_child(pid);
  mt_conn_free(a);
  mt_conn_free(b);
}

static unsigned char pattern(uint64_t i, uint64_t seed) { return (unsigned char)((i * 131) ^ seed); }

static void huge_message(void **state) {
  (void)state;
  size_t size = (size_t)mt_test_scaled(256L << 20, 16L << 20);
  mt_conn_t *r, *w;
  assert_code(mt_pipe_new(false, &r, &w), 0);
  pid_t pid = fork();
  if (pid == 0) {
    mt_conn_close(r);
    unsigned char *big = malloc(size);
    for (size_t i = 0; i < size; i++) big[i] = pattern(i, 7);
    _exit(mt_conn_send_bytes(w, big, size, MT_FOREVER) == 0 ? 0 : 3);
  }
  mt_conn_close(w);
  void *p;
  size_t n;
  assert_code(mt_conn_recv_bytes(r, &p, &n, 60), 0);
  assert_int_equal(n, size);
  unsigned char *u = p;
  for (size_t i = 0; i < size; i++)
    if (u[i] != pattern(i, 7)) fail_msg("byte %zu wrong", i);
  free(p);
  wait_child(pid);
  mt_conn_free(r);
  mt_conn_free(w);
}

/* ---- framing fuzz -------------------------------------------------------------- */

static size_t fuzz_size(unsigned *seed) {
  int kind = rand_r(seed) % 4;
  if (kind == 0) return (size_t)(rand_r(seed) % 16);
  if (kind == 1) return (size_t)(rand_r(seed) % 70000);
  if (kind == 2) return (size_t)(rand_r(seed) % (1 << 20));
  return (size_t)(rand_r(seed) % (16 << 20));
}

/* The child writes raw frames (4-byte length + bytes) in random chunks. */
static void fuzz_writer(int fd, long count, unsigned seed, bool cut) {
  unsigned char *buf = malloc((16 << 20) + 8);
  unsigned cseed = seed * 3 + 1;
  for (long m = 0; m < count + cut; m++) {
    unsigned ms = seed + (unsigned)m * 7919u;
    uint32_t len = (uint32_t)fuzz_size(&ms);
    if (m == count && len < 2) len = 2; /* the cut frame must have a body to cut */
    memcpy(buf, &len, 4);
    for (uint64_t i = 0; i < len; i++) buf[4 + i] = pattern(i, (uint64_t)m);
    size_t total = 4 + (size_t)len, off = 0;
    if (m == count) total = 4 + len / 2; /* the peer dies mid-message */
    while (off < total) {
      size_t lim = rand_r(&cseed) % 2 ? 7 : 200000;
      size_t chunk = 1 + (size_t)rand_r(&cseed) % lim;
      if (chunk > total - off) chunk = total - off;
      ssize_t k = write(fd, buf + off, chunk);
      if (k <= 0) {
        struct pollfd p = {fd, POLLOUT, 0};
        poll(&p, 1, -1);
        continue;
      }
      off += (size_t)k;
    }
  }
  _exit(0);
}

static void framing_fuzz(void **state) {
  (void)state;
  long count = mt_test_scaled(60, 12);
  const char *env = getenv("MT_FUZZ_SEED"); /* to replay a failing run */
  unsigned seed = env ? (unsigned)atol(env) : (unsigned)time(NULL);
  print_message("framing_fuzz seed %u\n", seed);
  mt_conn_t *a, *b;
  assert_code(mt_pipe_new(true, &a, &b), 0);
  pid_t pid = fork();
  if (pid == 0) {
    mt_conn_close(b);
    fuzz_writer(mt__conn_send_fd(a), count, seed, true);
  }
  mt_conn_close(a);
  unsigned rs = seed ^ 0x5555;
  unsigned char *buf = malloc(16 << 20);
  for (long m = 0; m < count; m++) {
    unsigned ms = seed + (unsigned)m * 7919u;
    size_t want = fuzz_size(&ms);
    size_t n = 0;
    int mode = rand_r(&rs) % 4;
    if (mode == 0 && want > 0) { /* too small first: nothing lost */
      assert_code(mt_conn_recv_bytes_into(b, buf, want - 1, &n, MT_FOREVER), MT_EMSGSIZE);
      assert_int_equal(n, want);
    }
    if (mode == 1) { /* a very short timeout may hit mid-message: nothing lost */
      int r = mt_conn_recv_bytes_into(b, buf, 16 << 20, &n, 0.0005);
      if (r == 0) goto check;
      assert_code(r, MT_ETIMEDOUT);
    }
    if (mode == 2) {
      void *p;
      assert_code(mt_conn_recv_bytes(b, &p, &n, MT_FOREVER), 0);
      memcpy(buf, p, n);
      free(p);
      goto check;
    }
    assert_code(mt_conn_recv_bytes_into(b, buf, 16 << 20, &n, MT_FOREVER), 0);
  check:
    assert_int_equal(n, want);
    for (size_t i = 0; i < n; i++)
      if (buf[i] != pattern(i, (uint64_t)m)) fail_msg("message %ld byte %zu wrong", m, i);
  }
  size_t n;
  /* the last frame was cut by the peer's exit: a clear error, then EOF */
  assert_code(mt_conn_recv_bytes_into(b, buf, 16 << 20, &n, MT_FOREVER), MT_EIO);
  assert_code(mt_conn_recv_bytes_into(b, buf, 16 << 20, &n, MT_FOREVER), MT_ECLOSED);
  free(buf);
  wait_child(pid);
  mt_conn_free(a);
  mt_conn_free(b);
}

static int fd_readable(int fd) {
  struct pollfd p = {.fd = fd, .events = POLLIN};
  return poll(&p, 1, 0);
}

/* ---- receive deadlines (issue 10 item 3) ---------------------------------------- */

/* A frame of `size` body bytes with a 4-byte header, body pattern(i, seed). */
static unsigned char *make_frame(size_t size, uint64_t seed) {
  unsigned char *f = malloc(4 + size);
  uint32_t n = (uint32_t)size;
  memcpy(f, &n, 4);
  for (size_t i = 0; i < size; i++) f[4 + i] = pattern(i, seed);
  return f;
}

static void check_body(const unsigned char *p, size_t size, uint64_t seed) {
  for (size_t i = 0; i < size; i++)
    if (p[i] != pattern(i, seed)) fail_msg("byte %zu of %zu wrong", i, size);
}

/* The sender is played by the thread's parker (the wait layer's hook): each
 * time the receiver would wait, it writes the next chunk of the frame and
 * reports the descriptor ready, which is what poll does after the deadline
 * when bytes are there.  So the sender is always mid-frame and never late. */
typedef struct {
  int fd;
  const unsigned char *frame;
  size_t total, off, chunk;
  int waits;
} pump_t;

static int pump_wait_fds(void *ctx, struct pollfd *fds, int nfds, int64_t deadline) {
  (void)deadline;
  pump_t *p = ctx;
  p->waits++;
  size_t k = p->total - p->off < p->chunk ? p->total - p->off : p->chunk;
  if (k == 0) return MT_ETIMEDOUT; /* the whole frame is out: nothing comes */
  ssize_t w = write(p->fd, p->frame + p->off, k);
  if (w <= 0) return MT_EIO;
  p->off += (size_t)w;
  for (int i = 0; i < nfds; i++) fds[i].revents = POLLIN;
  return nfds;
}

/* Teardown: a failed assertion must not leave the parker installed. */
static int remove_parker(void **state) {
  (void)state;
  mt__set_parker(NULL);
  return 0;
}

/* Timeout 0: the deadline has passed after the first read, so each call
 * reads one chunk and returns MT_ETIMEDOUT mid-frame, whatever buffer it
 * is given; the receive buffer never exceeds the frame + 64 KiB; the
 * message arrives intact.  Both paths: a small frame (kept in the receive
 * buffer) and a large one (read straight into the caller's memory). */
static void recv_deadline_mid_frame(void **state) {
  (void)state;
  const size_t sizes[2] = {5000, 256 * 1024};
  for (int s = 0; s < 2; s++) {
    size_t size = sizes[s];
    mt_conn_t *r, *w;
    assert_code(mt_pipe_new(false, &r, &w), 0);
    unsigned char *frame = make_frame(size, 11 + (uint64_t)s);
    pump_t p = {mt_conn_fileno(w), frame, 4 + size, 0, size / 8, 0};
    mt__parker_t parker = {.wait_fds = pump_wait_fds, .ctx = &p};
    unsigned char *bufs[2] = {malloc(size), malloc(size)};
    mt__set_parker(&parker);
    int calls = 0, rc;
    size_t n = 0;
    do {
      int waits = p.waits;
      rc = mt_conn_recv_bytes_into(r, bufs[calls % 2], size, &n, 0);
      calls++;
      if (p.waits != waits + 1) /* one read, then the deadline */
        fail_msg("call %d (%s) waited %d times (%zu of %zu bytes sent)", calls,
                 mt_err_name(rc), p.waits - waits, p.off, p.total);
      if (rc == MT_ETIMEDOUT) assert_true(p.off < p.total); /* sender mid-frame */
      assert_true(mt__conn_rbuf_cap(r) <= size + 64 * 1024);
    } while (rc == MT_ETIMEDOUT && calls < 100);
    mt__set_parker(NULL);
    assert_code(rc, 0);
    assert_int_equal(n, size);
    assert_true(calls >= 8); /* one chunk per call */
    check_body(bufs[(calls - 1) % 2], size, 11 + (uint64_t)s);
    free(bufs[0]);
    free(bufs[1]);
    free(frame);
    mt_conn_free(r);
    mt_conn_free(w);
  }
}

/* The other side of the deadline rule: bytes already queued in the kernel
 * are still taken after the deadline (a bounded copy, no waiting), so a
 * timeout of 0 receives a large message that is there in full, in one call
 * (the process pool drains a dead worker's socket so). */
static void recv_zero_timeout_queued(void **state) {
  (void)state;
  size_t size = 512 * 1024;
  mt_conn_t *r, *w;
  assert_code(mt_pipe_new(false, &r, &w), 0);
  if (fcntl(mt_conn_fileno(w), F_SETPIPE_SZ, 1 << 20) < (1 << 20)) {
    print_message("cannot grow the pipe to 1 MiB: skipped\n");
    mt_conn_free(r);
    mt_conn_free(w);
    return;
  }
  unsigned char *frame = make_frame(size, 3), *buf = malloc(size);
  assert_int_equal(write(mt_conn_fileno(w), frame, 4 + size), (ssize_t)(4 + size));
  size_t n = 0;
  assert_code(mt_conn_recv_bytes_into(r, buf, size, &n, 0), 0);
  assert_int_equal(n, size);
  check_body(buf, size, 3);
  assert_code(mt_conn_recv_bytes_into(r, buf, size, &n, 0), MT_ETIMEDOUT);
  free(frame);
  free(buf);
  mt_conn_free(r);
  mt_conn_free(w);
}

/* A real sender thread writes all but the last 4 KiB of a 1.5 MB frame
 * through the raw descriptor, then stops until the test lets it go on.
 * The receiver calls with short timeouts and alternating buffers: while
 * the sender is stopped (and the pipe drained) every call times out, the
 * receive buffer stays within frame + 64 KiB; then the message is intact. */
typedef struct {
  int fd, go_fd;
  const unsigned char *frame;
  size_t total;
  atomic_int stopped;
} stall_t;

static bool write_all(int fd, const unsigned char *p, size_t n) {
  while (n > 0) {
    ssize_t k = write(fd, p, n);
    if (k <= 0) return false;
    p += k;
    n -= (size_t)k;
  }
  return true;
}

static void *stall_sender(void *arg) {
  stall_t *t = arg;
  size_t first = t->total - 4096;
  if (!write_all(t->fd, t->frame, first)) return (void *)1;
  atomic_store(&t->stopped, 1);
  char go;
  if (read(t->go_fd, &go, 1) != 1) return (void *)2;
  return write_all(t->fd, t->frame + first, t->total - first) ? NULL : (void *)3;
}

static void recv_timeouts_resume(void **state) {
  (void)state;
  size_t size = (3u << 19) + 12345; /* 1.5 MiB + a bit: not a power of two */
  mt_conn_t *r, *w;
  assert_code(mt_pipe_new(false, &r, &w), 0);
  int go[2];
  assert_int_equal(pipe(go), 0);
  unsigned char *frame = make_frame(size, 5);
  stall_t t = {mt_conn_fileno(w), go[0], frame, 4 + size, 0};
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, stall_sender, &t), 0);
  unsigned char *bufs[2] = {malloc(size), malloc(size)};
  int calls = 0, stalled_timeouts = 0, rc;
  size_t n = 0;
  for (;;) {
    double timeout = calls % 3 == 0 ? 0 : 0.001 * (calls % 3);
    rc = mt_conn_recv_bytes_into(r, bufs[calls % 2], size, &n, timeout);
    calls++;
    if (mt__conn_rbuf_cap(r) > size + 64 * 1024)
      fail_msg("call %d: receive buffer %zu bytes for a %zu-byte frame", calls,
               mt__conn_rbuf_cap(r), size);
    if (rc != MT_ETIMEDOUT) break;
    /* Stopped and drained: the frame cannot be complete yet. */
    if (stalled_timeouts >= 0 && atomic_load(&t.stopped) && !fd_readable(mt_conn_fileno(r)) &&
        ++stalled_timeouts == 20) {
      assert_int_equal(write(go[1], "g", 1), 1);
      stalled_timeouts = -1; /* released */
    }
  }
  assert_code(rc, 0);
  assert_int_equal(stalled_timeouts, -1);
  assert_int_equal(n, size);
  check_body(bufs[(calls - 1) % 2], size, 5);
  void *res;
  assert_int_equal(pthread_join(th, &res), 0);
  assert_null(res);
  print_message("1.5 MB frame received in %d calls\n", calls);
  free(bufs[0]);
  free(bufs[1]);
  free(frame);
  close(go[0]);
  close(go[1]);
  mt_conn_free(r);
  mt_conn_free(w);
}

/* A non-timeout error in the middle of a body read straight into the
 * caller's memory (review finding 6): here the wait layer's hook fails the
 * second wait with MT_ECANCELLED (as a coroutine scheduler may).  The
 * partial body must not be lost: the error is returned, the next call
 * (whatever buffer it passes) gets the whole message, and the frame behind
 * it follows; the stream stays in step.  Both receive calls. */
typedef struct {
  int ready_left, waits, code;
} failer_t;

static int fail_wait_fds(void *ctx, struct pollfd *fds, int nfds, int64_t deadline) {
  (void)deadline;
  failer_t *f = ctx;
  f->waits++;
  if (f->ready_left-- <= 0) return f->code;
  for (int i = 0; i < nfds; i++) fds[i].revents = POLLIN; /* the bytes are there */
  return nfds;
}

typedef struct {
  mt_conn_t *w;
  const unsigned char *rest;
  size_t n;
} rest_t;

static void *send_rest(void *arg) {
  rest_t *t = arg;
  if (!write_all(mt_conn_fileno(t->w), t->rest, t->n)) return (void *)1;
  return mt_conn_send_bytes(t->w, "after", 5, 30) == 0 ? NULL : (void *)2;
}

static void recv_error_mid_direct_body(void **state) {
  (void)state;
  size_t size = 256 * 1024, first = 16 * 1024;
  for (int variant = 0; variant < 2; variant++) {
    mt_conn_t *r, *w;
    assert_code(mt_pipe_new(false, &r, &w), 0);
    unsigned char *frame = make_frame(size, 21 + (uint64_t)variant), *buf = malloc(size);
    assert_true(write_all(mt_conn_fileno(w), frame, 4 + first));
    failer_t f = {1, 0, MT_ECANCELLED};
    mt__parker_t parker = {.wait_fds = fail_wait_fds, .ctx = &f};
    mt__set_parker(&parker);
    size_t n = 0;
    void *p = NULL;
    int rc = variant ? mt_conn_recv_bytes(r, &p, &n, 10)
                     : mt_conn_recv_bytes_into(r, buf, size, &n, 10);
    mt__set_parker(NULL);
    assert_code(rc, MT_ECANCELLED);
    assert_null(p);
    assert_int_equal(f.waits, 2); /* the header and 16 KiB, then the failed wait */
    rest_t t = {w, frame + 4 + first, size - first};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, send_rest, &t), 0);
    unsigned char *other = malloc(size);
    rc = variant ? mt_conn_recv_bytes(r, &p, &n, 10)
                 : mt_conn_recv_bytes_into(r, other, size, &n, 10);
    assert_code(rc, 0);
    assert_int_equal(n, size);
    check_body(variant ? p : other, size, 21 + (uint64_t)variant);
    char small[8];
    assert_code(mt_conn_recv_bytes_into(r, small, sizeof small, &n, 10), 0);
    assert_int_equal(n, 5);
    assert_memory_equal(small, "after", 5);
    void *res;
    assert_int_equal(pthread_join(th, &res), 0);
    assert_null(res);
    free(p);
    free(other);
    free(buf);
    free(frame);
    mt_conn_free(r);
    mt_conn_free(w);
  }
}

/* ---- a blocked receive is not woken by its own send being consumed (issue 13) ----
 * A duplex end used to be ONE socket for both directions.  When the peer
 * read what this end had sent, the kernel reported "room to write" on this
 * end's socket, waking a thread blocked there in a receive for nothing: in a
 * round trip every blocked receive slept twice (two context switches per
 * hop; bench_queue_pipe rt, 4 instead of 2 per round trip).  The peer here
 * consumes the message while the main thread is asleep in mt_conn_recv on
 * `a`, then waits until that thread sleeps again before replying; the main
 * thread counts its own voluntary context switches (one per round when
 * only the reply wakes it).  Sleeping is read from /proc (the state of the
 * thread itself), never guessed with a sleep. */
typedef struct {
  mt_conn_t *b;
  pid_t tid;          /* the main thread, which receives on a */
  atomic_int round;   /* set by the main thread just before its receive */
  long rounds;
} nowake_t;

/* Whether thread `tid` of this process is asleep ('S') right now. */
static bool thread_sleeping(pid_t tid) {
  char path[64], st[512];
  snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)tid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  ssize_t n = read(fd, st, sizeof st - 1);
  close(fd);
  if (n <= 0) return false;
  st[n] = 0;
  const char *p = strrchr(st, ')'); /* "pid (comm) S ..." */
  return p && p[1] == ' ' && p[2] == 'S';
}

static void *nowake_peer(void *arg) {
  nowake_t *t = arg;
  char buf[8];
  size_t n;
  for (long i = 1; i <= t->rounds; i++) {
    while (atomic_load(&t->round) != i) sched_yield();
    while (!thread_sleeping(t->tid)) sched_yield();
    if (mt_conn_recv_bytes_into(t->b, buf, sizeof buf, &n, MT_FOREVER)) return (void *)1;
    while (!thread_sleeping(t->tid)) sched_yield(); /* back asleep if woken */
    if (mt_conn_send_bytes(t->b, "pong", 4, MT_FOREVER)) return (void *)1;
  }
  return NULL;
}

static void duplex_recv_no_spurious_wake(void **state) {
  (void)state;
  mt_conn_t *a, *b;
  assert_code(mt_pipe_new(true, &a, &b), 0);
  nowake_t t = {b, (pid_t)syscall(SYS_gettid), 0, mt_test_scaled(40, 10)};
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, nowake_peer, &t), 0);
  long switches = 0;
  char buf[8];
  size_t n;
  for (long i = 1; i <= t.rounds; i++) {
    assert_code(mt_conn_send_bytes(a, "ping", 4, MT_FOREVER), 0);
    struct rusage r0, r1;
    getrusage(RUSAGE_THREAD, &r0);
    atomic_store(&t.round, i);
    assert_code(mt_conn_recv_bytes_into(a, buf, sizeof buf, &n, MT_FOREVER), 0);
    getrusage(RUSAGE_THREAD, &r1);
    switches += r1.ru_nvcsw - r0.ru_nvcsw;
  }
  void *ret;
  assert_int_equal(pthread_join(th, &ret), 0);
  assert_null(ret);
  print_message("%ld rounds: %ld voluntary context switches in the receive\n", t.rounds,
                switches);
  /* one per round (the reply); the spurious wake made it two */
  assert_true(switches < t.rounds + t.rounds / 2);
  mt_conn_free(a);
  mt_conn_free(b);
}

/* ---- what the ends are (issue 13) -------------------------------------------------- */

/* Does this kernel take pwritev2(RWF_NOSIGNAL | RWF_NOWAIT) on a pipe?  The
 * test's own probe, to know which kind of end mt_pipe_new must make. */
static bool kernel_rwf_nosignal(void) {
  int p[2];
  assert_int_equal(pipe2(p, O_CLOEXEC), 0);
  char c = 0;
  struct iovec v = {&c, 1};
  bool ok = pwritev2(p[1], &v, 1, -1, 0x100 /* RWF_NOSIGNAL */ | RWF_NOWAIT) == 1;
  close(p[0]);
  close(p[1]);
  return ok;
}

/* pipe(2)s when the kernel lets a pipe write refuse SIGPIPE, unless
 * MT_NO_RWF_NOSIGNAL=1 (test pipe_conn_sock) asks for the socketpair
 * fallback; every descriptor of both kinds of pipe is the same kind. */
static void end_kind(void **state) {
  (void)state;
  const char *e = getenv("MT_NO_RWF_NOSIGNAL");
  bool want_fifo = !(e && *e && strcmp(e, "0") != 0) && kernel_rwf_nosignal();
  print_message("connection ends are %s\n", want_fifo ? "pipes" : "sockets");
  for (int duplex = 0; duplex < 2; duplex++) {
    mt_conn_t *a, *b;
    assert_code(mt_pipe_new(duplex, &a, &b), 0);
    int fds[4] = {mt_conn_fileno(a), mt_conn_fileno(b), mt__conn_send_fd(a), mt__conn_send_fd(b)};
    for (int i = 0; i < 4; i++) {
      if (fds[i] < 0) continue; /* the receive-only end sends on nothing */
      struct stat st;
      assert_int_equal(fstat(fds[i], &st), 0);
      if (want_fifo ? !S_ISFIFO(st.st_mode) : !S_ISSOCK(st.st_mode))
        fail_msg("duplex %d fd %d: mode %o, expected a %s", duplex, i, (unsigned)st.st_mode,
                 want_fifo ? "pipe" : "socket");
      assert_true(fcntl(fds[i], F_GETFD) & FD_CLOEXEC);
    }
    mt_conn_free(a);
    mt_conn_free(b);
  }
}

static atomic_int sigpipe_seen;
static void on_sigpipe(int sig) {
  (void)sig;
  atomic_fetch_add(&sigpipe_seen, 1);
}

static int ready_wait_fds(void *ctx, struct pollfd *fds, int nfds, int64_t deadline) {
  (void)deadline;
  ++*(int *)ctx;
  return poll(fds, (nfds_t)nfds, -1);
}

/* A send to a closed peer is MT_ECLOSED with SIGPIPE handled (not blocked,
 * not ignored): the handler never runs and the thread's mask is the same
 * before and after.  Each way a send writes: blocking (MT_FOREVER), after a
 * wait (a deadline), and never blocking (a coroutine parker installed). */
static void send_closed_no_sigpipe(void **state) {
  (void)state;
  struct sigaction sa, old;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_sigpipe;
  assert_int_equal(sigaction(SIGPIPE, &sa, &old), 0);
  sigset_t unblock, m0, m1;
  sigemptyset(&unblock);
  sigaddset(&unblock, SIGPIPE);
  pthread_sigmask(SIG_UNBLOCK, &unblock, &m0);
  int waits = 0;
  mt__parker_t parker = {.wait_fds = ready_wait_fds, .ctx = &waits};
  for (int duplex = 0; duplex < 2; duplex++) {
    for (int how = 0; how < 3; how++) {
      mt_conn_t *a, *b;
      assert_code(mt_pipe_new(duplex, &a, &b), 0);
      mt_conn_t *rd = a, *wr = b; /* simplex: a receives, b sends */
      mt_conn_free(rd);
      pthread_sigmask(SIG_SETMASK, NULL, &m0);
      if (how == 2) mt__set_parker(&parker);
      int rc = mt_conn_send_bytes(wr, "x", 1, how == 0 ? MT_FOREVER : 1.0);
      mt__set_parker(NULL);
      pthread_sigmask(SIG_SETMASK, NULL, &m1);
      assert_code(rc, MT_ECLOSED);
      assert_int_equal(atomic_load(&sigpipe_seen), 0);
      assert_int_equal(sigismember(&m1, SIGPIPE), sigismember(&m0, SIGPIPE));
      mt_conn_free(wr);
    }
  }
  assert_true(waits >= 2); /* the parker saw the simplex and duplex sends */
  sigaction(SIGPIPE, &old, NULL);
}

/* The drain-while-parked parker: the first wait (room before the first
 * byte) is real; every later one stands for the peer task running on this
 * same thread: it reads what the kernel holds, then says "room again". */
typedef struct {
  int rfd, waits;
  unsigned char *sink;
  size_t got, cap;
} drain_t;

static int drain_wait_fds(void *ctx, struct pollfd *fds, int nfds, int64_t deadline) {
  (void)deadline;
  drain_t *d = ctx;
  d->waits++;
  struct pollfd pr = {.fd = d->rfd, .events = POLLIN};
  while (poll(&pr, 1, 0) == 1 && d->got < d->cap) {
    ssize_t k = read(d->rfd, d->sink + d->got, d->cap - d->got);
    if (k <= 0) break;
    d->got += (size_t)k;
  }
  return poll(fds, (nfds_t)nfds, 0) > 0 ? 1 : MT_ETIMEDOUT;
}

/* Under a coroutine scheduler a send never blocks the thread in the system
 * call: a 4 MiB message (more than a pipe, even grown to 1 MiB, or a
 * socket buffer holds) goes out
 * between parks while its reader runs on the same thread.  A blocking
 * write would hang here (the test's timeout). */
static void send_parked_never_blocks(void **state) {
  (void)state;
  size_t size = 4 << 20;
  mt_conn_t *r, *w;
  assert_code(mt_pipe_new(false, &r, &w), 0);
  unsigned char *msg = malloc(size);
  for (size_t i = 0; i < size; i++) msg[i] = (unsigned char)(i * 7 + 3);
  drain_t d = {mt_conn_fileno(r), 0, malloc(size + 4), 0, size + 4};
  mt__parker_t parker = {.wait_fds = drain_wait_fds, .ctx = &d};
  mt__set_parker(&parker);
  int rc = mt_conn_send_bytes(w, msg, size, 10);
  mt__set_parker(NULL);
  assert_code(rc, 0);
  struct pollfd pr = {.fd = d.rfd, .events = POLLIN};
  while (d.got < d.cap && poll(&pr, 1, 0) == 1) {
    ssize_t k = read(d.rfd, d.sink + d.got, d.cap - d.got);
    assert_true(k > 0);
    d.got += (size_t)k;
  }
  print_message("4 MiB sent in %d parks\n", d.waits);
  assert_true(d.waits >= 3); /* room first, then at least two drains */
  assert_int_equal(d.got, size + 4);
  uint32_t hdr;
  memcpy(&hdr, d.sink, 4);
  assert_int_equal(hdr, size);
  assert_memory_equal(d.sink + 4, msg, size);
  free(msg);
  free(d.sink);
  mt_conn_free(r);
  mt_conn_free(w);
}

/* A receive reads about one frame per system call (the rest of the frame
 * and the next header), not all the kernel holds: a reader that drained
 * the pipe at each read got ahead of its writer, slept, and each write
 * after that paid a wake-up (issue 13, docs/pipes.md).  So after one
 * receive of ten queued small frames, eight are still in the kernel; the
 * other nine arrive intact. */
static void recv_reads_one_frame(void **state) {
  (void)state;
  mt_conn_t *r, *w;
  assert_code(mt_pipe_new(false, &r, &w), 0);
  for (int i = 0; i < 10; i++) assert_code(mt_conn_send_bytes(w, "0123456789", 10, 0), 0);
  char buf[16];
  size_t n;
  for (int i = 0; i < 10; i++) {
    assert_code(mt_conn_recv_bytes_into(r, buf, sizeof buf, &n, 0), 0);
    assert_int_equal(n, 10);
    assert_memory_equal(buf, "0123456789", 10);
    int queued = -1;
    assert_int_equal(ioctl(mt_conn_fileno(r), FIONREAD, &queued), 0);
    if (i == 0) print_message("after one receive the kernel holds %d of 140 bytes\n", queued);
    assert_true(queued >= (8 - i) * 14);
  }
  assert_code(mt_conn_recv_bytes_into(r, buf, sizeof buf, &n, 0), MT_ETIMEDOUT);
  mt_conn_free(r);
  mt_conn_free(w);
}

/* Small frames take the receive fast path (no deadline, below 8 KiB) and
 * the sender's one-piece copy (up to 512 bytes): sizes around both limits
 * and the 64 KiB buffer, written as raw frames in random split chunks by a
 * thread (so a receive often finds half a header or half a body), received
 * with MT_FOREVER through every call: into a buffer, too small a buffer
 * first (MT_EMSGSIZE, nothing lost), malloc'd, peek_size, typed values sent
 * by mt_conn_send_* between them.  Then a header above max_recv breaks the
 * stream (MT_EMSGSIZE, then MT_EBROKEN), and on a second pipe a peer gone
 * mid-frame gives MT_EIO, then MT_ECLOSED. */
typedef struct {
  int fd;
  long count;
  unsigned seed;
} split_writer_t;

static size_t small_size(long m, unsigned seed) {
  static const size_t edge[] = {0, 1, 3, 4, 5, 8, 500, 507, 508, 509, 512, 8187, 8188, 8191, 8192};
  unsigned s = seed + (unsigned)m * 7919u;
  int k = rand_r(&s) % 8;
  if (k == 0) return edge[(size_t)rand_r(&s) % (sizeof edge / sizeof *edge)];
  if (k == 1) return (size_t)rand_r(&s) % 9000;
  return (size_t)rand_r(&s) % 700;
}

static void *split_writer(void *arg) {
  split_writer_t *w = arg;
  unsigned cs = w->seed ^ 0x1234;
  unsigned char *buf = malloc(4 + 9000);
  for (long m = 0; m < w->count; m++) {
    uint32_t len = (uint32_t)small_size(m, w->seed);
    memcpy(buf, &len, 4);
    for (uint32_t i = 0; i < len; i++) buf[4 + i] = pattern(i, (uint64_t)m);
    for (size_t off = 0, total = 4 + (size_t)len; off < total;) {
      size_t chunk = 1 + (size_t)rand_r(&cs) % (rand_r(&cs) % 2 ? 6 : 3000);
      if (chunk > total - off) chunk = total - off;
      if (!write_all(w->fd, buf + off, chunk)) abort(); /* no cmocka assert off the main thread */
      off += chunk;
    }
  }
  free(buf);
  return NULL;
}

static void small_frames_split(void **state) {
  (void)state;
  const char *env = getenv("MT_FUZZ_SEED");
  unsigned seed = env ? (unsigned)atol(env) : (unsigned)time(NULL);
  print_message("small_frames_split seed %u\n", seed);
  mt_conn_t *r, *w;
  assert_code(mt_pipe_new(false, &r, &w), 0);
  split_writer_t sw = {mt__conn_send_fd(w), mt_test_scaled(20000, 2000), seed};
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, split_writer, &sw), 0);
  unsigned rs = seed ^ 0x9999;
  unsigned char *buf = malloc(9000);
  for (long m = 0; m < sw.count; m++) {
    size_t want = small_size(m, seed), n = 0;
    int mode = rand_r(&rs) % 5;
    if (mode == 0 && want > 0) { /* too small first: the frame stays */
      assert_code(mt_conn_recv_bytes_into(r, buf, want - 1, &n, MT_FOREVER), MT_EMSGSIZE);
      assert_int_equal(n, want);
    }
    if (mode == 1) {
      assert_code(mt_conn_peek_size(r, &n, MT_FOREVER), 0);
      assert_int_equal(n, want);
    }
    if (mode == 2) {
      void *p;
      assert_code(mt_conn_recv_bytes(r, &p, &n, MT_FOREVER), 0);
      assert_int_equal(n, want);
      memcpy(buf, p, n);
      free(p);
    } else {
      assert_code(mt_conn_recv_bytes_into(r, buf, mode == 3 ? want : 9000, &n, MT_FOREVER), 0);
      assert_int_equal(n, want);
    }
    for (size_t i = 0; i < n; i++)
      if (buf[i] != pattern(i, (uint64_t)m)) fail_msg("message %ld (%zu B) byte %zu wrong", m, n, i);
  }
  assert_int_equal(pthread_join(t, NULL), 0);
  /* typed values and sizes around the sender's one-piece limit, then a header above max_recv */
  for (size_t len = 500; len <= 520; len++) {
    memset(buf, (int)len, len);
    assert_code(mt_conn_send_bytes(w, buf, len, MT_FOREVER), 0);
    assert_code(mt_conn_send_i64(w, -(int64_t)len, MT_FOREVER), 0);
  }
  for (size_t len = 500; len <= 520; len++) {
    size_t n = 0;
    int64_t v = 0;
    assert_code(mt_conn_recv_bytes_into(r, buf + 1000, 1000, &n, MT_FOREVER), 0);
    assert_int_equal(n, len);
    for (size_t i = 0; i < len; i++) assert_int_equal(buf[1000 + i], (unsigned char)len);
    assert_code(mt_conn_recv_i64(r, &v, MT_FOREVER), 0);
    assert_int_equal(v, -(int64_t)len);
  }
  assert_code(mt_conn_set_max_recv(r, 100), 0);
  assert_code(mt_conn_send_bytes(w, buf, 101, MT_FOREVER), 0);
  size_t n = 0;
  assert_code(mt_conn_recv_bytes_into(r, buf, 9000, &n, MT_FOREVER), MT_EMSGSIZE);
  assert_int_equal(n, 101);
  assert_code(mt_conn_recv_bytes_into(r, buf, 9000, &n, MT_FOREVER), MT_EBROKEN);
  mt_conn_free(r);
  mt_conn_free(w);
  /* the peer gone mid-frame: half a body, then EOF */
  assert_code(mt_pipe_new(false, &r, &w), 0);
  assert_code(mt_conn_send_bytes(w, "abc", 3, MT_FOREVER), 0);
  uint32_t len = 40;
  unsigned char half[4 + 20];
  memcpy(half, &len, 4);
  memset(half + 4, 7, 20);
  assert_true(write_all(mt__conn_send_fd(w), half, sizeof half));
  mt_conn_free(w);
  assert_code(mt_conn_recv_bytes_into(r, buf, 9000, &n, MT_FOREVER), 0);
  assert_int_equal(n, 3);
  assert_memory_equal(buf, "abc", 3);
  assert_code(mt_conn_recv_bytes_into(r, buf, 9000, &n, MT_FOREVER), MT_EIO);
  assert_code(mt_conn_recv_bytes_into(r, buf, 9000, &n, MT_FOREVER), MT_ECLOSED);
  mt_conn_free(r);
  free(buf);
}

/* A pipe end that sends a frame above 64 KiB grows its pipe to 1 MiB once
 * (F_SETPIPE_SZ), so such frames do not stall the writer at each 64 KiB;
 * a socket end (the fallback) keeps its buffer. */
static void big_frame_grows_pipe(void **state) {
  (void)state;
  mt_conn_t *r, *w;
  assert_code(mt_pipe_new(false, &r, &w), 0);
  int fd = mt_conn_fileno(w);
  struct stat st;
  assert_int_equal(fstat(fd, &st), 0);
  if (!S_ISFIFO(st.st_mode)) {
    mt_conn_free(r);
    mt_conn_free(w);
    skip();
  }
  assert_int_equal(fcntl(fd, F_GETPIPE_SZ), 65536);
  assert_code(mt_conn_send_bytes(w, "small", 5, 0), 0);
  assert_int_equal(fcntl(fd, F_GETPIPE_SZ), 65536); /* small frames: untouched */
  size_t size = 100 * 1000;
  unsigned char *big = calloc(1, size);
  assert_code(mt_conn_send_bytes(w, big, size, 0), 0); /* fits once grown */
  assert_int_equal(fcntl(fd, F_GETPIPE_SZ), 1 << 20);
  size_t n;
  assert_code(mt_conn_recv_bytes_into(r, big, size, &n, 0), 0);
  assert_int_equal(n, 5);
  assert_code(mt_conn_recv_bytes_into(r, big, size, &n, 0), 0);
  assert_int_equal(n, size);
  free(big);
  mt_conn_free(r);
  mt_conn_free(w);
}

/* ---- frame length limit (issue 10 item 10) --------------------------------------- */

/* A bogus header (a length far above the connection's maximum) cannot be
 * skipped: MT_EMSGSIZE, and the receive side is broken for good. */
static void bogus_header(void **state) {
  (void)state;
  for (int form = 0; form < 2; form++) {
    mt_conn_t *a, *b;
    assert_code(mt_pipe_new(true, &a, &b), 0);
    unsigned char hdr[12];
    uint32_t esc = 0xffffffffu, big = 0xfffffff0u;
    uint64_t huge = (uint64_t)1 << 39;
    memcpy(hdr, form ? &esc : &big, 4);
    memcpy(hdr + 4, &huge, 8);
    size_t hlen = form ? 12 : 4;
    assert_int_equal(write(mt__conn_send_fd(a), hdr, hlen), (ssize_t)hlen);
    void *p = NULL;
    size_t n = 0;
    assert_code(mt_conn_recv_bytes(b, &p, &n, 0.05), MT_EMSGSIZE);
    assert_int_equal(n, form ? huge : big);
    assert_null(p);
    assert_code(mt_conn_send_bytes(a, "ok", 2, 1), 0); /* a good frame behind it */
    assert_code(mt_conn_recv_bytes(b, &p, &n, 0.05), MT_EBROKEN);
    char buf[8];
    assert_code(mt_conn_recv_bytes_into(b, buf, sizeof buf, &n, 0), MT_EBROKEN);
    assert_code(mt_conn_peek_size(b, &n, 0), MT_EBROKEN);
    int64_t v;
    assert_code(mt_conn_recv_i64(b, &v, 0), MT_EBROKEN);
    assert_code(mt_conn_poll(b, 0), MT_EBROKEN);
    mt_waitable_t wl = {MT_WAIT_CONN, b, -1, 0};
    assert_int_equal(mt_conn_wait(&wl, 1, 0), 1); /* a receive returns at once */
    /* The other direction is a separate stream: still fine. */
    assert_code(mt_conn_send_bytes(b, "back", 4, 1), 0);
    assert_code(mt_conn_recv_bytes_into(a, buf, sizeof buf, &n, 1), 0);
    assert_memory_equal(buf, "back", 4);
    mt_conn_free(a);
    mt_conn_free(b);
  }
}

/* The per-connection maximum: default, validation, the exact boundary. */
static void max_recv_limit(void **state) {
  (void)state;
  mt_conn_t *a, *b;
  assert_code(mt_pipe_new(true, &a, &b), 0);
  size_t max = 0;
  assert_code(mt_conn_get_max_recv(b, &max), 0);
  assert_int_equal(max, MT_CONN_DEFAULT_MAX_RECV);
  assert_code(mt_conn_set_max_recv(NULL, 100), MT_EINVAL);
  assert_code(mt_conn_set_max_recv(b, 0), MT_EINVAL);
  if (SIZE_MAX > MT_CONN_MAX_MSG)
    assert_code(mt_conn_set_max_recv(b, (size_t)MT_CONN_MAX_MSG + 1), MT_EINVAL);
  assert_code(mt_conn_get_max_recv(NULL, &max), MT_EINVAL);
  assert_code(mt_conn_get_max_recv(b, NULL), MT_EINVAL);
  assert_code(mt_conn_get_max_recv(b, &max), 0);
  assert_int_equal(max, MT_CONN_DEFAULT_MAX_RECV); /* bad values changed nothing */
  assert_code(mt_conn_set_max_recv(b, (size_t)MT_CONN_MAX_MSG), 0);
  assert_code(mt_conn_set_max_recv(b, 100), 0);
  assert_code(mt_conn_get_max_recv(b, &max), 0);
  assert_int_equal(max, 100);
  char buf[256] = {0};
  size_t n = 0;
  assert_code(mt_conn_send_bytes(a, buf, 100, 1), 0); /* exactly the maximum */
  assert_code(mt_conn_recv_bytes_into(b, buf, sizeof buf, &n, 1), 0);
  assert_int_equal(n, 100);
  assert_code(mt_conn_send_bytes(a, buf, 101, 1), 0); /* one more */
  assert_code(mt_conn_peek_size(b, &n, 1), MT_EMSGSIZE);
  assert_int_equal(n, 101);
  assert_code(mt_conn_recv_bytes_into(b, buf, sizeof buf, &n, 1), MT_EBROKEN);
  mt_conn_free(a);
  mt_conn_free(b);
  /* A typed receive meets the same check; a small limit on the other end
   * leaves this direction alone. */
  assert_code(mt_pipe_new(true, &a, &b), 0);
  assert_code(mt_conn_set_max_recv(b, 8), 0);
  assert_code(mt_conn_send_i64(a, 7, 1), 0); /* tag + 8 bytes = 9 */
  int64_t v;
  assert_code(mt_conn_recv_i64(b, &v, 1), MT_EMSGSIZE);
  assert_code(mt_conn_recv_i64(b, &v, 1), MT_EBROKEN);
  assert_code(mt_conn_send_i64(b, 8, 1), 0);
  assert_code(mt_conn_recv_i64(a, &v, 1), 0);
  assert_int_equal(v, 8);
  mt_conn_free(a);
  mt_conn_free(b);
}

/* ---- connection.wait ----------------------------------------------------------- */

static void wait_many(void **state) {
  (void)state;
  mt_conn_t *a, *b, *c, *d;
  assert_code(mt_pipe_new(true, &a, &b), 0);
  assert_code(mt_pipe_new(false, &c, &d), 0);
  mt_queue_t *q = mt_queue_new(0);
  mt_mpqueue_t *mq = mt_mpqueue_new(4, 8);
  mt_waitable_t w[4] = {{MT_WAIT_CONN, b, -1, 0},
                        {MT_WAIT_CONN, c, -1, 0},
                        {MT_WAIT_QUEUE, q, -1, 0},
                        {MT_WAIT_MPQUEUE, mq, -1, 0}};
  double t0 = now_s();
  assert_int_equal(mt_conn_wait(w, 4, 0.03), 0);
  assert_true(now_s() - t0 >= 0.03);
  assert_code(mt_conn_send_bytes(d, "x", 1, 0), 0);
  assert_int_equal(mt_conn_wait(w, 4, MT_FOREVER), 1);
  assert_int_equal(w[1].ready, 1);
  assert_int_equal(w[0].ready + w[2].ready + w[3].ready, 0);
  mt_queue_put(q, NULL, 0);
  mt_mpqueue_put(mq, "y", 1, 0);
  assert_code(mt_conn_send_bytes(a, "z", 1, 0), 0);
  assert_int_equal(mt_conn_wait(w, 4, 1), 4);
  mt_waitable_t bad = {MT_WAIT_CONN, NULL, -1, 0};
  assert_code(mt_conn_wait(&bad, 1, 0), MT_EINVAL);
  assert_code(mt_conn_wait(w, 4, -5), MT_EINVAL);
  mt_conn_free(a);
  mt_conn_free(b);
  mt_conn_free(c);
  mt_conn_free(d);
  mt_queue_free(q);
  mt_mpqueue_free(mq);
}

/* mt_conn_wait on queues wakes on the put itself (an eventfd), not on a timed
 * re-check: every round below waits until the waiter is registered (the
 * fd-waiter count, no sleep), then puts; the waiter must report exactly
 * that queue.  The mean wake latency is printed, never asserted. */

typedef struct {
  mt_queue_t *q;
  mt_conn_t *idle; /* a connection nobody writes to: mixed fd + queue wait */
  int rounds;
  atomic_int consumed;
} qwait_t;

static void *qwait_thread(void *arg) {
  qwait_t *t = arg;
  for (int i = 0; i < t->rounds; i++) {
    mt_waitable_t w[2] = {{MT_WAIT_CONN, t->idle, -1, 0}, {MT_WAIT_QUEUE, t->q, -1, 0}};
    if (mt_conn_wait(w, 2, MT_FOREVER) != 1 || !w[1].ready || w[0].ready) return (void *)1;
    void *it;
    if (mt_queue_get_nowait(t->q, &it) != 0 || it != (void *)(intptr_t)(i + 1))
      return (void *)2;
    atomic_fetch_add(&t->consumed, 1);
  }
  return NULL;
}

static void wait_queue_thread_put(void **state) {
  (void)state;
  mt_conn_t *a, *b;
  assert_code(mt_pipe_new(true, &a, &b), 0);
  qwait_t t = {mt_queue_new(0), b, (int)mt_test_scaled(300, 20), 0};
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, qwait_thread, &t), 0);
  double total = 0;
  for (int i = 0; i < t.rounds; i++) {
    while (atomic_load(&t.consumed) < i || mt__queue_fd_waiters(t.q) != 1) sched_yield();
    double t0 = now_s();
    assert_code(mt_queue_put(t.q, (void *)(intptr_t)(i + 1), 0), 0);
    while (atomic_load(&t.consumed) <= i) sched_yield();
    total += now_s() - t0;
  }
  void *res;
  assert_int_equal(pthread_join(th, &res), 0);
  assert_null(res);
  assert_int_equal(mt__queue_fd_waiters(t.q), 0);
  print_message("mt_conn_wait on a queue: mean put -> wake %.1f us over %d rounds\n",
                total / t.rounds * 1e6, t.rounds);
  mt_queue_free(t.q);
  mt_conn_free(a);
  mt_conn_free(b);
}

static void *shutdown_waiter(void *arg) {
  mt_waitable_t w = {MT_WAIT_QUEUE, arg, -1, 0};
  return (void *)(intptr_t)(mt_conn_wait(&w, 1, MT_FOREVER) == 1 && w.ready);
}

static void wait_queue_shutdown(void **state) {
  (void)state;
  mt_queue_t *q = mt_queue_new(0);
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, shutdown_waiter, q), 0);
  while (mt__queue_fd_waiters(q) != 1) sched_yield();
  assert_code(mt_queue_shutdown(q, false), 0);
  void *res;
  assert_int_equal(pthread_join(th, &res), 0);
  assert_int_equal((intptr_t)res, 1);
  mt_queue_free(q);
}

/* The registration protocol itself: an event whose item is gone again
 * leaves no readable descriptor behind (no busy loop), the next put does. */

static void wait_queue_stale_event(void **state) {
  (void)state;
  mt_queue_t *q = mt_queue_new(0);
  int fd = mt__queue_wait_begin(q);
  assert_true(fd >= 0);
  assert_int_equal(mt__queue_wait_check(q), 0);
  assert_int_equal(fd_readable(fd), 0);
  void *it;
  assert_code(mt_queue_put(q, q, 0), 0);
  assert_code(mt_queue_put(q, q, 0), 0);
  assert_int_equal(fd_readable(fd), 1);
  assert_code(mt_queue_get(q, &it, 0), 0);
  assert_code(mt_queue_get(q, &it, 0), 0);
  assert_int_equal(mt__queue_wait_check(q), 0); /* empty again: drained */
  assert_int_equal(fd_readable(fd), 0);
  assert_code(mt_queue_put(q, q, 0), 0);
  assert_int_equal(fd_readable(fd), 1);
  assert_int_equal(mt__queue_wait_check(q), 1);
  mt__queue_wait_end(q);
  assert_int_equal(mt__queue_fd_waiters(q), 0);
  /* Unregistered: a timed mt_conn_wait on an emptied queue times out, not early. */
  assert_code(mt_queue_get(q, &it, 0), 0);
  mt_waitable_t w = {MT_WAIT_QUEUE, q, -1, 0};
  double t0 = now_s();
  assert_int_equal(mt_conn_wait(&w, 1, 0.02), 0);
  assert_true(now_s() - t0 >= 0.02);
  mt_queue_free(q);
}

/* Cross-process: parent and child ping-pong through two mpqueues, each
 * side blocking in mt_conn_wait; each put waits until the peer is registered,
 * so every round exercises the shared eventfd wake-up. */
static void wait_mpqueue_fork(void **state) {
  (void)state;
  mt_mpqueue_t *to_child = mt_mpqueue_new(4, 8), *to_parent = mt_mpqueue_new(4, 8);
  assert_non_null(to_child);
  assert_non_null(to_parent);
  int rounds = (int)mt_test_scaled(200, 20);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    for (int i = 0; i < rounds; i++) {
      mt_waitable_t w = {MT_WAIT_MPQUEUE, to_child, -1, 0};
      if (mt_conn_wait(&w, 1, 30) != 1) _exit(1);
      int v;
      if (mt_mpqueue_get(to_child, &v, sizeof v, NULL, 0) != (int)sizeof v || v != i) _exit(2);
      while (mt__mpqueue_fd_waiters(to_parent) != 1) sched_yield();
      if (mt_mpqueue_put(to_parent, &v, sizeof v, 0) != 0) _exit(3);
    }
    _exit(0);
  }
  double t0 = now_s();
  for (int i = 0; i < rounds; i++) {
    while (mt__mpqueue_fd_waiters(to_child) != 1) sched_yield();
    assert_code(mt_mpqueue_put(to_child, &i, sizeof i, 0), 0);
    mt_waitable_t w = {MT_WAIT_MPQUEUE, to_parent, -1, 0};
    assert_int_equal(mt_conn_wait(&w, 1, 30), 1);
    int v = -1;
    assert_int_equal(mt_mpqueue_get(to_parent, &v, sizeof v, NULL, 0), (int)sizeof v);
    assert_int_equal(v, i);
  }
  wait_child(pid);
  print_message("mt_conn_wait across processes: mean round trip %.1f us over %d rounds\n",
                (now_s() - t0) / rounds * 1e6, rounds);
  mt_mpqueue_free(to_child);
  mt_mpqueue_free(to_parent);
}

int main(void) {
#ifdef MT_PIPE_LOCAL_ONLY /* the subset without fork, for the TSan run */
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(duplex_basics),
      cmocka_unit_test(end_kind),
      cmocka_unit_test_teardown(send_closed_no_sigpipe, remove_parker),
      cmocka_unit_test_teardown(send_parked_never_blocks, remove_parker),
      cmocka_unit_test(recv_reads_one_frame), cmocka_unit_test(big_frame_grows_pipe),
      cmocka_unit_test(small_frames_split),
      cmocka_unit_test(duplex_recv_no_spurious_wake),
      cmocka_unit_test(wait_many),
      cmocka_unit_test(wait_queue_thread_put),
      cmocka_unit_test(wait_queue_shutdown),
      cmocka_unit_test(wait_queue_stale_event),
      cmocka_unit_test_teardown(recv_deadline_mid_frame, remove_parker),
      cmocka_unit_test(recv_zero_timeout_queued), cmocka_unit_test(recv_timeouts_resume),
      cmocka_unit_test_teardown(recv_error_mid_direct_body, remove_parker),
      cmocka_unit_test(bogus_header),      cmocka_unit_test(max_recv_limit),
  };
#else
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(duplex_basics),   cmocka_unit_test(simplex_basics),
      cmocka_unit_test(end_kind),
      cmocka_unit_test_teardown(send_closed_no_sigpipe, remove_parker),
      cmocka_unit_test_teardown(send_parked_never_blocks, remove_parker),
      cmocka_unit_test(recv_reads_one_frame), cmocka_unit_test(big_frame_grows_pipe),
      cmocka_unit_test(small_frames_split),
      cmocka_unit_test(duplex_recv_no_spurious_wake),
      cmocka_unit_test(fork_ping_pong),  cmocka_unit_test(huge_message),
      cmocka_unit_test(framing_fuzz),    cmocka_unit_test(wait_many),
      cmocka_unit_test(wait_queue_thread_put), cmocka_unit_test(wait_queue_shutdown),
      cmocka_unit_test(wait_queue_stale_event), cmocka_unit_test(wait_mpqueue_fork),
      cmocka_unit_test_teardown(recv_deadline_mid_frame, remove_parker),
      cmocka_unit_test(recv_zero_timeout_queued), cmocka_unit_test(recv_timeouts_resume),
      cmocka_unit_test_teardown(recv_error_mid_direct_body, remove_parker),
      cmocka_unit_test(bogus_header),      cmocka_unit_test(max_recv_limit),
  };
#endif
  return cmocka_run_group_tests(tests, NULL, NULL);
}
