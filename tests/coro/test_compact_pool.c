/* Compact tasks and the process Pool (issue 15, compact mode): a compact
 * task's mt_pool_map whose items (and their bytes) are on its own stack,
 * while another compact task scribbles over the shared stack the whole
 * time.  The pool's manager thread reads the items while the caller is
 * parked, so the pool copies them for a compact caller (pool.c,
 * mt__stack_copied).  Exact results.  Forks (workers): label fork. */
#include "mt_test.h"

#include <pthread.h>
#include <stdint.h>
#include <string.h>

enum { ITEMS = 16, LEN = 64 };

static mt_pool_t *pool;
static volatile int finished; /* the mapper's map returned */

static int byte_sum(const void *in, size_t len, mt_value_t *out) {
  const unsigned char *b = in;
  uintptr_t s = 0;
  for (size_t i = 0; i < len; i++) s += b[i];
  out->ptr = (void *)s;
  return 0;
}

static int mapper(void *arg, mt_value_t *out) {
  (void)arg;
  unsigned char bytes[ITEMS][LEN]; /* on this compact task's stack */
  mt_bytes_t items[ITEMS];
  for (int i = 0; i < ITEMS; i++) {
    memset(bytes[i], i + 1, LEN);
    items[i] = (mt_bytes_t){bytes[i], LEN};
  }
  mt_pool_result_t res[ITEMS];
  int r = mt_pool_map(pool, byte_sum, items, ITEMS, 1, MT_FOREVER, res);
  finished = 1;
  if (r < 0) return r;
  uintptr_t bad = 0;
  for (int i = 0; i < ITEMS; i++)
    if (res[i].code != 0 || (uintptr_t)res[i].value.ptr != (uintptr_t)(i + 1) * LEN) bad++;
  mt_pool_results_release(res, ITEMS);
  out->ptr = (void *)bad;
  return 0;
}

static __attribute__((noinline)) int scribble(int depth, uint64_t v) {
  volatile uint64_t junk[64];
  for (int i = 0; i < 64; i++) junk[i] = v ^ (uint64_t)i;
  return depth > 0 ? scribble(depth - 1, v + 1) + (int)(junk[3] & 1) : (int)(junk[5] & 1);
}

static int scribbler(void *arg, mt_value_t *out) {
  (void)arg;
  (void)out;
  while (!finished) { /* runs while the mapper is parked in its map */
    scribble(30, 0x5555555555555555ull);
    mt_coro_sleep(0.0005);
  }
  return 0;
}

static void map_from_a_compact_task(void **state) {
  (void)state;
  /* the workers first, then the hub: a child forked while a hub runs on the
   * thread would park in its copy of the hub (docs/coroutines.md, "Fork
   * inside a hub") */
  mt_pool_opts_t po = MT_POOL_OPTS_INIT;
  po.processes = 2;
  assert_non_null(pool = mt_pool_new(&po));
  mt_hub_t *hub = mt_hub_new();
  assert_non_null(hub);
  mt_coro_opts_t o = MT_CORO_OPTS_INIT;
  o.compact = 1;
  int rounds = (int)mt_test_scaled(10, 2);
  for (int k = 0; k < rounds; k++) {
    finished = 0;
    mt_future_t *m = mt_coro_spawn(mapper, NULL, &o), *s = mt_coro_spawn(scribbler, NULL, &o);
    assert_non_null(m);
    assert_non_null(s);
    mt_value_t v = {0};
    assert_code(mt_future_result(m, 60.0, &v), 0);
    assert_int_equal((uintptr_t)v.ptr, 0); /* every item's sum exact */
    assert_code(mt_future_result(s, 60.0, NULL), 0);
    mt_future_free(m);
    mt_future_free(s);
  }
  assert_code(mt_pool_close(pool), 0);
  assert_code(mt_pool_join(pool, 30.0), 0);
  mt_pool_free(pool);
  mt_hub_free(hub);
}

/* mt_executor_map on a process-pool executor: ppe_map points the job's
 * items at &args[i], the caller's array, which is on the compact task's
 * stack: the same copy in the pool covers it (review finding 1). */
static mt_executor_t *ex;

static int twice(void *arg, mt_value_t *out) {
  out->ptr = (void *)(2 * (uintptr_t)arg);
  return 0;
}

static int ex_mapper(void *arg, mt_value_t *out) {
  (void)arg;
  void *args[ITEMS * 8]; /* on this compact task's stack */
  mt_value_t res[ITEMS * 8];
  for (int i = 0; i < ITEMS * 8; i++) args[i] = (void *)(uintptr_t)(i + 1);
  size_t fi = 0;
  int r = mt_executor_map(ex, twice, args, ITEMS * 8, MT_FOREVER, 1, res, &fi);
  finished = 1;
  if (r < 0) return r;
  uintptr_t bad = 0;
  for (int i = 0; i < ITEMS * 8; i++)
    if ((uintptr_t)res[i].ptr != 2 * (uintptr_t)(i + 1)) bad++;
  out->ptr = (void *)bad;
  return 0;
}

static void executor_map_from_a_compact_task(void **state) {
  (void)state;
  mt_process_pool_opts_t po = MT_PROCESS_POOL_OPTS_INIT; /* before the hub, as above */
  po.max_workers = 2;
  assert_non_null(ex = mt_executor_new_process_pool(&po));
  mt_hub_t *hub = mt_hub_new();
  assert_non_null(hub);
  mt_coro_opts_t o = MT_CORO_OPTS_INIT;
  o.compact = 1;
  int rounds = (int)mt_test_scaled(10, 2);
  for (int k = 0; k < rounds; k++) {
    finished = 0;
    mt_future_t *m = mt_coro_spawn(ex_mapper, NULL, &o), *s = mt_coro_spawn(scribbler, NULL, &o);
    assert_non_null(m);
    assert_non_null(s);
    mt_value_t v = {0};
    assert_code(mt_future_result(m, 60.0, &v), 0);
    assert_int_equal((uintptr_t)v.ptr, 0); /* every result exact */
    assert_code(mt_future_result(s, 60.0, NULL), 0);
    mt_future_free(m);
    mt_future_free(s);
  }
  assert_code(mt_executor_shutdown(ex, true, false, 30.0), 0);
  mt_executor_free(ex);
  mt_hub_free(hub);
}

/* A daemon mt_process_start from a compact task on a hub that is not on
 * the main thread (review finding 2): the forker thread forks while the
 * caller waits, so the caller's stack must be in place in the child
 * (its arg points at a local): a compact caller waits without parking. */
static volatile int starter_done;

static int daemon_target(void *arg) { return (int)(*(long *)arg & 0x7f); }

static int daemon_scribbler(void *arg, mt_value_t *out) {
  (void)arg;
  (void)out;
  while (!starter_done) {
    scribble(60, 0x1111111111111111ull);
    mt_coro_sleep(0);
  }
  return 0;
}

static int daemon_starter(void *arg, mt_value_t *out) {
  long n = (long)(intptr_t)arg, bad = 0;
  for (long i = 0; i < n; i++) {
    long val = 42; /* on this compact task's stack */
    mt_process_opts_t po = MT_PROCESS_OPTS_INIT;
    po.daemon = true;
    mt_process_t *p = mt_process_new(daemon_target, &val, &po);
    int code = -1;
    if (!p || mt_process_start(p) < 0 || mt_process_join(p, 30.0) < 0 ||
        mt_process_exitcode(p, &code) < 0 || code != 42)
      bad++;
    mt_process_free(p);
  }
  starter_done = 1;
  out->ptr = (void *)(intptr_t)bad;
  return 0;
}

static void *daemon_hub_thread(void *arg) {
  (void)arg;
  mt_hub_t *h = mt_hub_new();
  if (!h) return (void *)-1;
  mt_coro_opts_t o = MT_CORO_OPTS_INIT;
  o.compact = 1;
  starter_done = 0;
  mt_future_t *a = mt_coro_spawn(daemon_starter, (void *)(intptr_t)mt_test_scaled(20, 5), &o);
  mt_future_t *b = mt_coro_spawn(daemon_scribbler, NULL, &o);
  mt_value_t v = {0};
  v.ptr = (void *)-1;
  if (!a || !b || mt_future_result(a, 60.0, &v) < 0 || mt_future_result(b, 60.0, NULL) < 0)
    v.ptr = (void *)-1;
  mt_future_free(a);
  mt_future_free(b);
  mt_hub_free(h);
  return v.ptr;
}

static void daemon_start_from_a_compact_task(void **state) {
  (void)state;
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, daemon_hub_thread, NULL), 0);
  void *bad = (void *)-1;
  assert_int_equal(pthread_join(t, &bad), 0);
  assert_int_equal((intptr_t)bad, 0); /* every child saw 42 */
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(executor_map_from_a_compact_task),
                                     cmocka_unit_test(map_from_a_compact_task),
                                     cmocka_unit_test(daemon_start_from_a_compact_task)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
