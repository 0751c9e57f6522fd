/* In-process queues: API and error paths, exact orders, 4x4 threads moving
 * 10^6 items exactly once, sentinels cp(2,3), join exactness, shutdown
 * with blocked getters and putters. */
#include "mt_test.h"
#include "queue/queue_internal.h"

#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#define P(x) ((void *)(uintptr_t)(x))
#define U(p) ((uintptr_t)(p))

static void basic_api(void **state) {
  (void)state;
  mt_queue_t *q = mt_queue_new(2);
  assert_non_null(q);
  void *it = NULL;
  assert_int_equal(mt_queue_qsize(q), 0);
  assert_int_equal(mt_queue_is_empty(q), 1);
  assert_int_equal(mt_queue_is_full(q), 0);
  assert_int_equal(mt_queue_maxsize(q), 2);
  assert_code(mt_queue_get_nowait(q, &it), MT_EEMPTY);
  assert_code(mt_queue_put_nowait(q, P(1)), 0);
  assert_code(mt_queue_put(q, P(2), MT_FOREVER), 0);
  assert_int_equal(mt_queue_is_full(q), 1);
  assert_int_equal(mt_queue_qsize(q), 2);
  assert_code(mt_queue_put_nowait(q, P(3)), MT_EFULL);
  assert_code(mt_queue_put(q, P(3), NAN), MT_EINVAL);
  assert_code(mt_queue_put(q, P(3), -2), MT_EINVAL);
  assert_code(mt_queue_get(q, &it, -0.5), MT_EINVAL);
  assert_code(mt_queue_get(q, NULL, 0), MT_EINVAL);
  assert_code(mt_queue_put(NULL, P(1), 0), MT_EINVAL);
  assert_code(mt_queue_get(NULL, &it, 0), MT_EINVAL);
  assert_code(mt_queue_qsize(NULL), MT_EINVAL);
  assert_code(mt_queue_task_done(NULL), MT_EINVAL);
  assert_code(mt_queue_shutdown(NULL, false), MT_EINVAL);
  assert_int_equal(mt_queue_qsize(q), 2); /* nothing lost by bad calls */
  assert_code(mt_queue_get(q, &it, 0), 0);
  assert_int_equal(U(it), 1);
  assert_code(mt_queue_get(q, &it, 1.0), 0);
  assert_int_equal(U(it), 2);
  /* task_done: two puts, two task_done, the third is too many */
  assert_code(mt_queue_join(q, 0), MT_ETIMEDOUT);
  assert_code(mt_queue_task_done(q), 0);
  assert_code(mt_queue_task_done(q), 0);
  assert_code(mt_queue_task_done(q), MT_EOVERFLOW);
  assert_code(mt_queue_join(q, 0), 0);
  mt_queue_free(q);
  mt_queue_free(NULL);

  mt_queue_t *s = mt_queue_new_simple();
  assert_code(mt_queue_put(s, P(5), 0), 0);
  assert_code(mt_queue_task_done(s), MT_ENOTSUP);
  assert_code(mt_queue_join(s, 0), MT_ENOTSUP);
  assert_int_equal(mt_queue_is_full(s), 0);
  mt_queue_free(s);
}

static void timeouts_not_early(void **state) {
  (void)state;
  mt_queue_t *q = mt_queue_new(1);
  void *it;
  double t0 = now_s();
  /* expiry raises Empty / Full as at timeout 0 (Python; docs/api.md) */
  assert_code(mt_queue_get(q, &it, 0.05), MT_EEMPTY);
  assert_true(now_s() - t0 >= 0.05);
  assert_code(mt_queue_put(q, P(1), 0), 0);
  t0 = now_s();
  assert_code(mt_queue_put(q, P(2), 0.05), MT_EFULL);
  assert_true(now_s() - t0 >= 0.05);
  t0 = now_s();
  assert_code(mt_queue_join(q, 0.03), MT_ETIMEDOUT);
  assert_true(now_s() - t0 >= 0.03);
  mt_queue_free(q);
}

static void lifo_order(void **state) {
  (void)state;
  mt_queue_t *q = mt_queue_new_lifo(0);
  for (uintptr_t i = 1; i <= 1000; i++) assert_code(mt_queue_put(q, P(i), 0), 0);
  void *it;
  for (uintptr_t i = 1000; i >= 1; i--) {
    assert_code(mt_queue_get(q, &it, 0), 0);
    assert_int_equal(U(it), i);
  }
  assert_code(mt_queue_get(q, &it, 0), MT_EEMPTY);
  /* interleaved */
  mt_queue_put(q, P(1), 0);
  mt_queue_put(q, P(2), 0);
  mt_queue_get(q, &it, 0);
  assert_int_equal(U(it), 2);
  mt_queue_put(q, P(3), 0);
  mt_queue_get(q, &it, 0);
  assert_int_equal(U(it), 3);
  mt_queue_get(q, &it, 0);
  assert_int_equal(U(it), 1);
  mt_queue_free(q);
}

typedef struct {
  int64_t key;
  uintptr_t id;
} kv_t;

static int kv_cmp(const void *a, const void *b) {
  const kv_t *x = a, *y = b;
  if (x->key != y->key) return x->key < y->key ? -1 : 1;
  return x->id < y->id ? -1 : x->id > y->id; /* id = insertion order */
}

static void priority_order_stable(void **state) {
  (void)state;
  mt_queue_t *q = mt_queue_new_priority(0);
  enum { N = 5000 };
  static kv_t want[N];
  srand(7);
  for (int i = 0; i < N; i++) {
    want[i].key = rand() % 50 - 25; /* many equal keys */
    want[i].id = (uintptr_t)i + 1;
    assert_code(mt_queue_put_prio(q, want[i].key, P(want[i].id), 0), 0);
  }
  qsort(want, N, sizeof want[0], kv_cmp);
  for (int i = 0; i < N; i++) {
    int64_t k;
    void *it;
    assert_code(mt_queue_get_prio(q, &k, &it, 0), 0);
    assert_int_equal(k, want[i].key);
    assert_int_equal(U(it), want[i].id);
  }
  /* plain put = key 0, FIFO among themselves */
  mt_queue_put(q, P(1), 0);
  mt_queue_put_prio(q, -1, P(2), 0);
  mt_queue_put(q, P(3), 0);
  void *it;
  mt_queue_get(q, &it, 0);
  assert_int_equal(U(it), 2);
  mt_queue_get(q, &it, 0);
  assert_int_equal(U(it), 1);
  mt_queue_get(q, &it, 0);
  assert_int_equal(U(it), 3);
  mt_queue_free(q);
}

/* ---- 4 producers x 4 consumers --------------------------------------------- */

enum { NP = 4, NC = 4 };
typedef struct {
  mt_queue_t *q;
  long per_producer;
  int id;
  bool fifo;
  _Atomic unsigned char *seen; /* NP * per_producer counters */
  long got;
  bool order_ok;
} mpmc_t;

static void *producer(void *arg) {
  mpmc_t *a = arg;
  for (long i = 0; i < a->per_producer; i++) {
    uintptr_t v = ((uintptr_t)a->id << 40) | (uintptr_t)(i + 1);
    int r = mt_queue_put_prio(a->q, (int64_t)(i % 7), P(v), MT_FOREVER);
    if (r) abort();
  }
  return NULL;
}

static void *consumer(void *arg) {
  mpmc_t *a = arg;
  long last[NP] = {0};
  a->order_ok = true;
  void *it;
  while (mt_queue_get(a->q, &it, MT_FOREVER) == 0) {
    uintptr_t v = U(it);
    int p = (int)(v >> 40);
    long seq = (long)(v & ((1ull << 40) - 1));
    if (p >= NP || seq < 1 || seq > a->per_producer) abort();
    if (a->fifo) {
      if (seq <= last[p]) a->order_ok = false;
      last[p] = seq;
    }
    atomic_fetch_add(&a->seen[(long)p * a->per_producer + seq - 1], 1);
    a->got++;
  }
  return NULL;
}

static void run_mpmc(mt_queue_t *q, bool fifo) {
  long per = mt_test_scaled(1000000, 4000) / NP;
  _Atomic unsigned char *seen = calloc((size_t)(NP * per), 1);
  mpmc_t pa[NP], ca[NC];
  pthread_t pt[NP], ct[NC];
  for (int i = 0; i < NC; i++) {
    ca[i] = (mpmc_t){.q = q, .per_producer = per, .id = i, .fifo = fifo, .seen = seen};
    pthread_create(&ct[i], NULL, consumer, &ca[i]);
  }
  for (int i = 0; i < NP; i++) {
    pa[i] = (mpmc_t){.q = q, .per_producer = per, .id = i, .fifo = fifo, .seen = seen};
    pthread_create(&pt[i], NULL, producer, &pa[i]);
  }
  for (int i = 0; i < NP; i++) pthread_join(pt[i], NULL);
  /* consumers drain what is left, then see MT_ECLOSED */
  assert_code(mt_queue_shutdown(q, false), 0);
  long total = 0;
  for (int i = 0; i < NC; i++) {
    pthread_join(ct[i], NULL);
    total += ca[i].got;
    assert_true(ca[i].order_ok);
  }
  assert_int_equal(total, NP * per);
  for (long i = 0; i < NP * per; i++)
    if (seen[i] != 1) fail_msg("item %ld seen %d times", i, (int)seen[i]);
  free((void *)seen);
  mt_queue_free(q);
}

static void mpmc_fifo(void **state) {
  (void)state;
  run_mpmc(mt_queue_new(64), true);
}
static void mpmc_fifo_unbounded(void **state) {
  (void)state;
  run_mpmc(mt_queue_new(0), true);
}
static void mpmc_lifo(void **state) {
  (void)state;
  run_mpmc(mt_queue_new_lifo(64), false);
}
static void mpmc_priority(void **state) {
  (void)state;
  run_mpmc(mt_queue_new_priority(64), false);
}
static void mpmc_simple(void **state) {
  (void)state;
  run_mpmc(mt_queue_new_simple(), true);
}

/* ---- cp(2,3): producers, then one None sentinel per consumer ----------------- */

typedef struct {
  mt_queue_t *q;
  long n;
  long got;
} cp_t;

static void *cp_producer(void *arg) {
  cp_t *a = arg;
  for (long i = 1; i <= a->n; i++) mt_queue_put(a->q, P(i), MT_FOREVER);
  return NULL;
}

static void *cp_consumer(void *arg) {
  cp_t *a = arg;
  void *it;
  for (;;) {
    if (mt_queue_get(a->q, &it, MT_FOREVER)) abort();
    if (it == NULL) break; /* the sentinel */
    a->got += (long)U(it);
  }
  return NULL;
}

static void sentinels_cp_2_3(void **state) {
  (void)state;
  /* the notes' cp(c_count=2, p_count=3): 2 consumers, 3 producers, Queue(10)
   * (threads here; the process version is examples/queue/queue_cp.c, run by
   * tests/scenarios) */
  mt_queue_t *q = mt_queue_new(10);
  long n = mt_test_scaled(100000, 500);
  cp_t p[3] = {{q, n, 0}, {q, n, 0}, {q, n, 0}}, c[2] = {{q, 0, 0}, {q, 0, 0}};
  pthread_t pt[3], ct[2];
  for (int i = 0; i < 2; i++) pthread_create(&ct[i], NULL, cp_consumer, &c[i]);
  for (int i = 0; i < 3; i++) pthread_create(&pt[i], NULL, cp_producer, &p[i]);
  for (int i = 0; i < 3; i++) pthread_join(pt[i], NULL);
  for (int i = 0; i < 2; i++) mt_queue_put(q, NULL, MT_FOREVER);
  long sum = 0;
  for (int i = 0; i < 2; i++) {
    pthread_join(ct[i], NULL);
    sum += c[i].got;
  }
  assert_int_equal(sum, 3 * (n * (n + 1) / 2));
  assert_int_equal(mt_queue_qsize(q), 0);
  mt_queue_free(q);
}

/* ---- JoinableQueue semantics --------------------------------------------------- */

typedef struct {
  mt_queue_t *q;
  long n;
  atomic_long done;
} join_t;

static void *join_worker(void *arg) {
  join_t *a = arg;
  void *it;
  for (long i = 0; i < a->n; i++) {
    mt_queue_get(a->q, &it, MT_FOREVER);
    atomic_fetch_add(&a->done, 1); /* counted BEFORE task_done */
    mt_queue_task_done(a->q);
  }
  return NULL;
}

static void join_exact(void **state) {
  (void)state;
  for (int round = 0; round < 20; round++) {
    join_t a = {.q = mt_queue_new(0), .n = mt_test_scaled(2000, 50)};
    for (long i = 0; i < a.n; i++) mt_queue_put(a.q, P(i + 1), 0);
    pthread_t t;
    pthread_create(&t, NULL, join_worker, &a);
    assert_code(mt_queue_join(a.q, MT_FOREVER), 0);
    /* join may not return before the last task_done was called */
    assert_int_equal(atomic_load(&a.done), a.n);
    pthread_join(t, NULL);
    assert_code(mt_queue_task_done(a.q), MT_EOVERFLOW);
    mt_queue_free(a.q);
  }
}

/* ---- shutdown with 10 blocked getters and 10 blocked putters ------------------- */

typedef struct {
  mt_queue_t *q;
  int rc;
  void *item;
} blk_t;

static void *blocked_get(void *arg) {
  blk_t *b = arg;
  b->rc = mt_queue_get(b->q, &b->item, MT_FOREVER);
  return NULL;
}

static void *blocked_put(void *arg) {
  blk_t *b = arg;
  b->rc = mt_queue_put(b->q, P(99), MT_FOREVER);
  return NULL;
}

static void wait_blocked(mt_queue_t *q, int getters, int putters) {
  for (;;) {
    int g, p, j;
    mt__queue_waiting(q, &g, &p, &j);
    if (g == getters && p == putters) return;
    sched_yield();
  }
}

static int freed_items;
static void count_free(void *it) {
  (void)it;
  freed_items++;
}

static void shutdown_wakes_everyone(void **state) {
  (void)state;
  mt_queue_t *empty = mt_queue_new(0), *full = mt_queue_new(1);
  mt_queue_set_item_free(full, count_free);
  assert_code(mt_queue_put(full, P(7), 0), 0);
  blk_t g[10], p[10];
  pthread_t gt[10], ptt[10];
  for (int i = 0; i < 10; i++) {
    g[i] = (blk_t){.q = empty, .rc = 1};
    p[i] = (blk_t){.q = full, .rc = 1};
    pthread_create(&gt[i], NULL, blocked_get, &g[i]);
    pthread_create(&ptt[i], NULL, blocked_put, &p[i]);
  }
  wait_blocked(empty, 10, 0);
  wait_blocked(full, 0, 10);
  assert_code(mt_queue_shutdown(empty, false), 0);
  assert_code(mt_queue_shutdown(full, false), 0);
  for (int i = 0; i < 10; i++) {
    pthread_join(gt[i], NULL);
    pthread_join(ptt[i], NULL);
    assert_code(g[i].rc, MT_ECLOSED);
    assert_code(p[i].rc, MT_ECLOSED);
  }
  assert_int_equal(mt_queue_is_shutdown(full), 1);
  /* non-immediate: what was queued still drains, then MT_ECLOSED */
  void *it;
  assert_code(mt_queue_put(full, P(8), 0), MT_ECLOSED);
  assert_code(mt_queue_get(full, &it, MT_FOREVER), 0);
  assert_int_equal(U(it), 7);
  assert_code(mt_queue_get(full, &it, MT_FOREVER), MT_ECLOSED);
  assert_code(mt_queue_get(full, &it, 0), MT_ECLOSED);
  freed_items = 0;
  mt_queue_free(full);
  assert_int_equal(freed_items, 0);
  mt_queue_free(empty);
}

static void shutdown_immediate(void **state) {
  (void)state;
  mt_queue_t *q = mt_queue_new(0);
  mt_queue_set_item_free(q, count_free);
  for (int i = 1; i <= 5; i++) mt_queue_put(q, P(i), 0);
  void *it;
  mt_queue_get(q, &it, 0); /* one fetched, not task_done'd yet */
  freed_items = 0;
  assert_code(mt_queue_shutdown(q, true), 0);
  assert_int_equal(freed_items, 4);
  assert_int_equal(mt_queue_qsize(q), 0);
  assert_code(mt_queue_get(q, &it, MT_FOREVER), MT_ECLOSED);
  assert_code(mt_queue_join(q, 0), MT_ETIMEDOUT); /* one still unfinished */
  assert_code(mt_queue_task_done(q), 0);
  assert_code(mt_queue_join(q, MT_FOREVER), 0);
  mt_queue_free(q);
  /* free calls the destructor on what is left */
  q = mt_queue_new_lifo(0);
  mt_queue_set_item_free(q, count_free);
  mt_queue_put(q, P(1), 0);
  mt_queue_put(q, P(2), 0);
  freed_items = 0;
  mt_queue_free(q);
  assert_int_equal(freed_items, 2);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(basic_api),
      cmocka_unit_test(timeouts_not_early),
      cmocka_unit_test(lifo_order),
      cmocka_unit_test(priority_order_stable),
      cmocka_unit_test(mpmc_fifo),
      cmocka_unit_test(mpmc_fifo_unbounded),
      cmocka_unit_test(mpmc_lifo),
      cmocka_unit_test(mpmc_priority),
      cmocka_unit_test(mpmc_simple),
      cmocka_unit_test(sentinels_cp_2_3),
      cmocka_unit_test(join_exact),
      cmocka_unit_test(shutdown_wakes_everyone),
      cmocka_unit_test(shutdown_immediate),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
