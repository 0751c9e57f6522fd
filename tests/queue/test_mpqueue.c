/* Cross-process queues: API and error paths, 3 producer + 3 consumer
 * processes moving 10^5 messages exactly once in per-producer order,
 * JoinableQueue across processes, and SIGKILL of producers and consumers
 * at random points (no torn message, none twice, the queue stays usable). */
#include "mt_test.h"
#include "queue/queue_internal.h"

#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void *shared_alloc(size_t n) {
  void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  assert_true(p != MAP_FAILED);
  return p;
}

static void wait_child(pid_t pid, int want_status) {
  int st;
  assert_int_equal(waitpid(pid, &st, 0), pid);
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), want_status);
}

static void basic_api(void **state) {
  (void)state;
  mt_mpqueue_t *q = mt_mpqueue_new(2, 16);
  assert_non_null(q);
  char buf[64];
  size_t need = 0;
  assert_int_equal(mt_mpqueue_max_msg(q), 16);
  assert_code(mt_mpqueue_put(q, "0123456789abcdefX", 17, 0), MT_EMSGSIZE);
  assert_code(mt_mpqueue_get(q, buf, sizeof buf, &need, 0), MT_EEMPTY);
  assert_code(mt_mpqueue_get(q, buf, sizeof buf, &need, 0.02), MT_EEMPTY); /* expiry */
  assert_code(mt_mpqueue_put(q, "hello", 5, 0), 0);
  assert_code(mt_mpqueue_put(q, "", 0, 0), 0);
  assert_int_equal(mt_mpqueue_qsize(q), 2);
  assert_int_equal(mt_mpqueue_is_full(q), 1);
  assert_code(mt_mpqueue_put(q, "x", 1, 0), MT_EFULL);
  assert_code(mt_mpqueue_put(q, "x", 1, 0.02), MT_EFULL); /* expiry = Full, as Python */
  assert_code(mt_mpqueue_put(NULL, "x", 1, 0), MT_EINVAL);
  assert_code(mt_mpqueue_put(q, NULL, 1, 0), MT_EINVAL);
  assert_code(mt_mpqueue_get(q, buf, sizeof buf, NULL, -3), MT_EINVAL);
  /* too small: the size is reported and the message stays */
  assert_code(mt_mpqueue_get(q, buf, 3, &need, 0), MT_EMSGSIZE);
  assert_int_equal(need, 5);
  assert_int_equal(mt_mpqueue_qsize(q), 2);
  assert_int_equal(mt_mpqueue_get(q, buf, sizeof buf, &need, MT_FOREVER), 5);
  assert_memory_equal(buf, "hello", 5);
  assert_int_equal(mt_mpqueue_get(q, buf, 0, &need, 0), 0);
  assert_int_equal(mt_mpqueue_is_empty(q), 1);
  assert_code(mt_mpqueue_task_done(q), MT_ENOTSUP);
  assert_code(mt_mpqueue_join(q, 0), MT_ENOTSUP);
  assert_code(mt_mpqueue_shutdown(q, false), 0);
  assert_code(mt_mpqueue_put(q, "x", 1, 0), MT_ECLOSED);
  assert_code(mt_mpqueue_get(q, buf, sizeof buf, NULL, MT_FOREVER), MT_ECLOSED);
  mt_mpqueue_free(q);

  errno = 0;
  assert_null(mt_mpqueue_new(4, (size_t)MT_MPQUEUE_MAX_MSG + 1));
  assert_int_equal(errno, EINVAL);

  mt_mpqueue_t *j = mt_mpqueue_new_joinable(0, 0);
  assert_int_equal(mt_mpqueue_max_msg(j), MT_MPQUEUE_DEFAULT_MSG);
  assert_code(mt_mpqueue_put(j, "a", 1, 0), 0);
  assert_code(mt_mpqueue_join(j, 0), MT_ETIMEDOUT);
  assert_code(mt_mpqueue_task_done(j), 0);
  assert_code(mt_mpqueue_task_done(j), MT_EOVERFLOW);
  assert_code(mt_mpqueue_join(j, 0), 0);
  /* immediate shutdown discards and releases join */
  mt_mpqueue_put(j, "b", 1, 0);
  mt_mpqueue_put(j, "c", 1, 0);
  assert_code(mt_mpqueue_shutdown(j, true), 0);
  assert_int_equal(mt_mpqueue_qsize(j), 0);
  assert_code(mt_mpqueue_join(j, 0), 0);
  mt_mpqueue_free(j);
}

/* put_nowait / get_nowait (Python's names): timeout 0, MT_EFULL /
 * MT_EEMPTY at once, every other code as put / get. */
static void nowait_names(void **state) {
  (void)state;
  mt_mpqueue_t *q = mt_mpqueue_new(2, 8);
  assert_non_null(q);
  char buf[16];
  size_t need = 0;
  assert_code(mt_mpqueue_get_nowait(q, buf, sizeof buf, &need), MT_EEMPTY);
  assert_code(mt_mpqueue_put_nowait(q, "first", 5), 0);
  assert_code(mt_mpqueue_put_nowait(q, "second", 6), 0);
  assert_code(mt_mpqueue_put_nowait(q, "third", 5), MT_EFULL);
  assert_code(mt_mpqueue_put_nowait(q, "123456789", 9), MT_EMSGSIZE);
  assert_code(mt_mpqueue_put_nowait(NULL, "x", 1), MT_EINVAL);
  assert_code(mt_mpqueue_get_nowait(NULL, buf, sizeof buf, NULL), MT_EINVAL);
  assert_code(mt_mpqueue_get_nowait(q, buf, 2, &need), MT_EMSGSIZE);
  assert_int_equal(need, 5);
  assert_int_equal(mt_mpqueue_get_nowait(q, buf, sizeof buf, NULL), 5);
  assert_memory_equal(buf, "first", 5);
  assert_int_equal(mt_mpqueue_get_nowait(q, buf, sizeof buf, NULL), 6);
  assert_memory_equal(buf, "second", 6);
  /* from another process */
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) _exit(mt_mpqueue_put_nowait(q, "child", 5) == 0 ? 0 : 1);
  wait_child(pid, 0);
  assert_int_equal(mt_mpqueue_get_nowait(q, buf, sizeof buf, NULL), 5);
  assert_memory_equal(buf, "child", 5);
  assert_code(mt_mpqueue_get_nowait(q, buf, sizeof buf, NULL), MT_EEMPTY);
  assert_code(mt_mpqueue_shutdown(q, false), 0);
  assert_code(mt_mpqueue_put_nowait(q, "x", 1), MT_ECLOSED);
  assert_code(mt_mpqueue_get_nowait(q, buf, sizeof buf, NULL), MT_ECLOSED);
  mt_mpqueue_free(q);
}

/* ---- messages: producer id, sequence, payload with a checksum --------------- */

typedef struct {
  uint32_t producer;
  uint32_t len; /* payload bytes after the header */
  uint64_t seq;
  uint64_t sum;
} msg_hdr_t;

static size_t make_msg(unsigned char *buf, uint32_t producer, uint64_t seq, size_t max) {
  msg_hdr_t h = {producer, (uint32_t)((seq * 2654435761u) % (max - sizeof h + 1)), seq, 0};
  for (uint32_t i = 0; i < h.len; i++) {
    buf[sizeof h + i] = (unsigned char)(seq + i * 31);
    h.sum += buf[sizeof h + i] * (i + 1);
  }
  memcpy(buf, &h, sizeof h);
  return sizeof h + h.len;
}

/* 1 if the message is intact. */
static int check_msg(const unsigned char *buf, size_t n, msg_hdr_t *out) {
  if (n < sizeof *out) return 0;
  memcpy(out, buf, sizeof *out);
  if (sizeof *out + out->len != n) return 0;
  uint64_t sum = 0;
  for (uint32_t i = 0; i < out->len; i++) {
    if (buf[sizeof *out + i] != (unsigned char)(out->seq + i * 31)) return 0;
    sum += buf[sizeof *out + i] * (i + 1);
  }
  return sum == out->sum;
}

/* ---- 3 producers x 3 consumers ------------------------------------------------ */

enum { NPROC = 3, MAXMSG = 256 };

static void run_processes(mt_mpqueue_t *q, bool joinable) {
  long per = mt_test_scaled(100000, 600) / NPROC;
  _Atomic unsigned char *seen = shared_alloc((size_t)(NPROC * per));
  _Atomic int *bad = shared_alloc(sizeof(int) * 2);
  pid_t cons[NPROC], prod[NPROC];
  for (int c = 0; c < NPROC; c++) {
    if ((cons[c] = fork()) == 0) {
      unsigned char buf[MAXMSG];
      uint64_t last[NPROC] = {0};
      for (;;) {
        int n = mt_mpqueue_get(q, buf, sizeof buf, NULL, MT_FOREVER);
        if (n == 0) { /* the sentinel */
          if (joinable) mt_mpqueue_task_done(q);
          _exit(0);
        }
        msg_hdr_t h;
        if (n < 0 || !check_msg(buf, (size_t)n, &h) || h.producer >= NPROC ||
            h.seq < 1 || h.seq > (uint64_t)per || h.seq <= last[h.producer])
          atomic_fetch_add(&bad[0], 1);
        else {
          last[h.producer] = h.seq;
          atomic_fetch_add(&seen[(long)h.producer * per + (long)h.seq - 1], 1);
        }
        if (joinable) mt_mpqueue_task_done(q);
      }
    }
  }
  for (int p = 0; p < NPROC; p++) {
    if ((prod[p] = fork()) == 0) {
      unsigned char buf[MAXMSG];
      for (long s = 1; s <= per; s++) {
        size_t n = make_msg(buf, (uint32_t)p, (uint64_t)s, MAXMSG);
        if (mt_mpqueue_put(q, buf, n, MT_FOREVER)) _exit(3);
      }
      _exit(0); /* put returned: the data is in the queue, nothing to flush */
    }
  }
  for (int p = 0; p < NPROC; p++) wait_child(prod[p], 0);
  for (int c = 0; c < NPROC; c++) assert_code(mt_mpqueue_put(q, "", 0, MT_FOREVER), 0);
  if (joinable) assert_code(mt_mpqueue_join(q, 60), 0);
  for (int c = 0; c < NPROC; c++) wait_child(cons[c], 0);
  assert_int_equal(atomic_load(&bad[0]), 0);
  for (long i = 0; i < NPROC * per; i++)
    if (seen[i] != 1) fail_msg("message %ld seen %d times", i, (int)seen[i]);
  assert_int_equal(mt_mpqueue_qsize(q), 0);
  munmap((void *)seen, (size_t)(NPROC * per));
  munmap((void *)bad, sizeof(int) * 2);
  mt_mpqueue_free(q);
}

static void processes_queue(void **state) {
  (void)state;
  run_processes(mt_mpqueue_new(64, MAXMSG), false);
}

static void processes_joinable(void **state) {
  (void)state;
  run_processes(mt_mpqueue_new_joinable(0, MAXMSG), true);
}

/* join across processes returns exactly at the last task_done */
static void join_across_processes(void **state) {
  (void)state;
  mt_mpqueue_t *q = mt_mpqueue_new_joinable(0, 8);
  _Atomic long *done = shared_alloc(sizeof(long));
  long n = mt_test_scaled(5000, 50);
  pid_t pid = fork();
  if (pid == 0) {
    long v;
    for (long i = 0; i < n; i++) {
      mt_mpqueue_get(q, &v, sizeof v, NULL, MT_FOREVER);
      atomic_fetch_add(done, 1);
      mt_mpqueue_task_done(q);
    }
    _exit(0);
  }
  for (long i = 0; i < n; i++) assert_code(mt_mpqueue_put(q, &i, sizeof i, MT_FOREVER), 0);
  assert_code(mt_mpqueue_join(q, MT_FOREVER), 0);
  assert_int_equal(atomic_load(done), n);
  wait_child(pid, 0);
  munmap((void *)done, sizeof(long));
  mt_mpqueue_free(q);
}

/* A dead consumer never calls task_done: join must time out, not hang. */
static void join_timeout_dead_consumer(void **state) {
  (void)state;
  mt_mpqueue_t *q = mt_mpqueue_new_joinable(0, 8);
  mt_mpqueue_put(q, "x", 1, 0);
  pid_t pid = fork();
  if (pid == 0) {
    char c;
    mt_mpqueue_get(q, &c, 1, NULL, MT_FOREVER);
    _exit(0); /* dies without task_done */
  }
  wait_child(pid, 0);
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  assert_code(mt_mpqueue_join(q, 0.05), MT_ETIMEDOUT);
  clock_gettime(CLOCK_MONOTONIC, &b);
  assert_true((double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9 >= 0.05);
  mt_mpqueue_free(q);
}

/* ---- SIGKILL at random points --------------------------------------------------- */

enum { KMSG = 16384 };

typedef struct {
  _Atomic long logged; /* consumer: messages received and logged */
  _Atomic int bad;     /* torn or out-of-order message seen */
  uint64_t log[];      /* sequence numbers the consumer received */
} klog_t;

static void kill_round(mt_mpqueue_t *q, klog_t *lg, long cap, uint64_t base, unsigned seed) {
  atomic_store(&lg->logged, 0);
  pid_t prod = fork();
  if (prod == 0) {
    static unsigned char buf[KMSG];
    for (uint64_t s = base;; s++) {
      size_t n = make_msg(buf, 0, s, KMSG);
      if (mt_mpqueue_put(q, buf, n, MT_FOREVER)) _exit(3);
    }
  }
  pid_t cons = fork();
  if (cons == 0) {
    static unsigned char buf[KMSG];
    uint64_t last = 0;
    for (;;) {
      int n = mt_mpqueue_get(q, buf, sizeof buf, NULL, MT_FOREVER);
      msg_hdr_t h = {0}; /* read even when check_msg failed (bad is counted) */
      if (n < 0 || !check_msg(buf, (size_t)n, &h) || h.seq < base || (last && h.seq <= last))
        atomic_fetch_add(&lg->bad, 1);
      last = h.seq;
      long i = atomic_load(&lg->logged);
      if (i < cap) lg->log[i] = h.seq;
      atomic_store(&lg->logged, i + 1);
    }
  }
  /* Let the two run a random number of messages, then kill them in a
   * random order (waiting on the consumer's progress, not on time). */
  long target = (long)(seed % 300);
  while (atomic_load(&lg->logged) < target) sched_yield();
  for (volatile unsigned spin = 0; spin < (seed >> 8) % 20000; spin++) {
  }
  pid_t first = seed & 1 ? prod : cons, second = seed & 1 ? cons : prod;
  kill(first, SIGKILL);
  if (seed & 2)
    for (volatile unsigned spin = 0; spin < (seed >> 4) % 50000; spin++) {
    }
  kill(second, SIGKILL);
  waitpid(prod, NULL, 0);
  waitpid(cons, NULL, 0);

  /* Drain: every message intact, in order, none also seen by the consumer,
   * at most one lost (the one the consumer took and died with). */
  long logged = atomic_load(&lg->logged);
  if (logged > cap) logged = cap;
  uint64_t next = base;
  long missing = 0;
  for (long i = 0; i < logged; i++) {
    if (lg->log[i] < next) fail_msg("duplicate %llu", (unsigned long long)lg->log[i]);
    missing += (long)(lg->log[i] - next);
    next = lg->log[i] + 1;
  }
  static unsigned char buf[KMSG];
  int n;
  while ((n = mt_mpqueue_get(q, buf, sizeof buf, NULL, 0)) >= 0) {
    msg_hdr_t h = {0}; /* read even when check_msg failed (bad is counted) */
    if (!check_msg(buf, (size_t)n, &h)) fail_msg("torn message");
    if (h.seq < next) fail_msg("message %llu delivered twice", (unsigned long long)h.seq);
    missing += (long)(h.seq - next);
    next = h.seq + 1;
  }
  assert_code(n, MT_EEMPTY);
  if (missing > 1) fail_msg("%ld messages lost", missing);
  assert_int_equal(atomic_load(&lg->bad), 0);
  /* still usable */
  assert_code(mt_mpqueue_put(q, "ok", 2, 1.0), 0);
  assert_int_equal(mt_mpqueue_get(q, buf, sizeof buf, NULL, 1.0), 2);
}

static void sigkill_producers_consumers(void **state) {
  (void)state;
  mt_mpqueue_t *q = mt_mpqueue_new(8, KMSG);
  long cap = 1 << 16;
  klog_t *lg = shared_alloc(sizeof *lg + (size_t)cap * sizeof(uint64_t));
  long rounds = mt_test_scaled(100, 10);
  srand((unsigned)time(NULL));
  for (long r = 0; r < rounds; r++)
    kill_round(q, lg, cap, (uint64_t)(r + 1) << 32, (unsigned)rand());
  munmap(lg, sizeof *lg + (size_t)cap * sizeof(uint64_t));
  mt_mpqueue_free(q);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(basic_api),
      cmocka_unit_test(nowait_names),
      cmocka_unit_test(processes_queue),
      cmocka_unit_test(processes_joinable),
      cmocka_unit_test(join_across_processes),
      cmocka_unit_test(join_timeout_dead_consumer),
      cmocka_unit_test(sigkill_producers_consumers),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
