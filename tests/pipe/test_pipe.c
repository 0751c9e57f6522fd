/* Pipe connections: framing, errors that lose nothing, EOF, no SIGPIPE,
 * typed values, poll and mt_wait, a 256 MB message, and a framing fuzz with
 * random sizes, random split writes and a peer closing mid-message. */
#include "mt_test.h"

#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
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
  assert_code(mt_pipe(true, &a, &b), 0);
  assert_true(mt_conn_fileno(a) >= 0 && mt_conn_fileno(b) >= 0);
  assert_int_equal(mt_conn_readable(a) && mt_conn_writable(a), 1);
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
  assert_code(mt_pipe(true, NULL, &b), MT_EINVAL);
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
  assert_int_equal(write(mt_conn_fileno(a), frame, sizeof frame), (ssize_t)sizeof frame);
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
  assert_code(mt_pipe(false, &r, &w), 0);
  assert_int_equal(mt_conn_writable(r), 0);
  assert_int_equal(mt_conn_readable(w), 0);
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
  assert_code(mt_pipe(true, &a, &b), 0);
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
  assert_code(mt_pipe(false, &r, &w), 0);
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
  assert_code(mt_pipe(true, &a, &b), 0);
  pid_t pid = fork();
  if (pid == 0) {
    mt_conn_close(b);
    fuzz_writer(mt_conn_fileno(a), count, seed, true);
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

/* ---- connection.wait ----------------------------------------------------------- */

static void wait_many(void **state) {
  (void)state;
  mt_conn_t *a, *b, *c, *d;
  assert_code(mt_pipe(true, &a, &b), 0);
  assert_code(mt_pipe(false, &c, &d), 0);
  mt_queue_t *q = mt_queue_new(0);
  mt_mpqueue_t *mq = mt_mpqueue_new(4, 8);
  mt_waitable_t w[4] = {{MT_WAIT_CONN, b, -1, 0},
                        {MT_WAIT_CONN, c, -1, 0},
                        {MT_WAIT_QUEUE, q, -1, 0},
                        {MT_WAIT_MPQUEUE, mq, -1, 0}};
  double t0 = now_s();
  assert_int_equal(mt_wait(w, 4, 0.03), 0);
  assert_true(now_s() - t0 >= 0.03);
  assert_code(mt_conn_send_bytes(d, "x", 1, 0), 0);
  assert_int_equal(mt_wait(w, 4, MT_FOREVER), 1);
  assert_int_equal(w[1].ready, 1);
  assert_int_equal(w[0].ready + w[2].ready + w[3].ready, 0);
  mt_queue_put(q, NULL, 0);
  mt_mpqueue_put(mq, "y", 1, 0);
  assert_code(mt_conn_send_bytes(a, "z", 1, 0), 0);
  assert_int_equal(mt_wait(w, 4, 1), 4);
  mt_waitable_t bad = {MT_WAIT_CONN, NULL, -1, 0};
  assert_code(mt_wait(&bad, 1, 0), MT_EINVAL);
  assert_code(mt_wait(w, 4, -5), MT_EINVAL);
  mt_conn_free(a);
  mt_conn_free(b);
  mt_conn_free(c);
  mt_conn_free(d);
  mt_queue_free(q);
  mt_mpqueue_free(mq);
}

int main(void) {
#ifdef MT_PIPE_LOCAL_ONLY /* the subset without fork, for the TSan run */
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(duplex_basics),
      cmocka_unit_test(wait_many),
  };
#else
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(duplex_basics),   cmocka_unit_test(simplex_basics),
      cmocka_unit_test(fork_ping_pong),  cmocka_unit_test(huge_message),
      cmocka_unit_test(framing_fuzz),    cmocka_unit_test(wait_many),
  };
#endif
  return cmocka_run_group_tests(tests, NULL, NULL);
}
