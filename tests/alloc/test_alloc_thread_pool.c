/* Allocation failures in the thread pool: creation, submit and map return
 * MT_ENOMEM; every future that was handed out completes (never waits
 * forever); nothing leaks. */
#include <pthread.h>
#include <sched.h>
#include <stdint.h>

#include "failpoint.h"

#define N 40

static int twice(void *arg, mt_value_t *out) {
  out->ptr = (void *)((intptr_t)arg * 2);
  return 0;
}

static int scenario(void) {
  mt_thread_pool_opts_t o = MT_THREAD_POOL_OPTS_INIT;
  o.max_workers = 3;
  mt_executor_t *ex = mt_executor_new_thread_pool(&o);
  if (!ex) return fp_errno();
  int r = 0, got = 0;
  mt_future_t *fs[N] = {0};
  for (int i = 0; i < N && r == 0; i++) {
    r = mt_executor_submit(ex, twice, (void *)(intptr_t)i, &fs[i]);
    if (r == 0) got++;
  }
  for (int i = 0; i < got; i++) {
    mt_value_t v;
    int fr = mt_future_result(fs[i], 10, &v);
    FP_CHECK(fr == 0 || fr == MT_ENOMEM); /* ENOMEM: no worker could start */
    if (fr == 0) FP_CHECK((intptr_t)v.ptr == 2 * i);
    else if (r == 0) r = fr;
    mt_future_free(fs[i]);
  }
  if (r == 0) {
    void *args[N];
    mt_value_t res[N];
    size_t failed;
    for (int i = 0; i < N; i++) args[i] = (void *)(intptr_t)i;
    r = mt_executor_map(ex, twice, args, N, 10, 7, res, &failed);
    if (r == 0)
      for (int i = 0; i < N; i++) FP_CHECK((intptr_t)res[i].ptr == 2 * i);
  }
  int sr = mt_executor_shutdown(ex, true, false, MT_FOREVER);
  FP_CHECK(sr == 0);
  mt_executor_free(ex);
  return r;
}

static void thread_pool_under_failures(void **state) {
  (void)state;
  fp_run("thread pool", scenario);
}

/* A task ends its worker thread (pthread_exit) while no replacement can
 * start (the spawn's allocation fails) and no other worker is left: the
 * queued futures fail with MT_ENOMEM instead of waiting forever. */
static mt_future_t *gate;
static int wait_gate(void *arg, mt_value_t *out) {
  (void)out;
  __atomic_store_n((int *)arg, 1, __ATOMIC_SEQ_CST);
  return mt_future_result(gate, MT_FOREVER, NULL);
}
static int exits_after_arming(void *arg, mt_value_t *out) {
  (void)arg;
  (void)out;
  /* worker_died: 1 = the dead task's message, 2 = the replacement's spawn */
  mt__alloc_fail_at(2);
  pthread_exit(NULL);
}

static void no_replacement_fails_backlog(void **state) {
  (void)state;
  mt_thread_pool_opts_t o = MT_THREAD_POOL_OPTS_INIT;
  o.max_workers = 1;
  mt_executor_t *ex = mt_executor_new_thread_pool(&o);
  assert_non_null(ex);
  gate = mt_future_new();
  int started = 0;
  mt_future_t *a, *e, *g[5];
  assert_code(mt_executor_submit(ex, wait_gate, &started, &a), 0);
  while (!__atomic_load_n(&started, __ATOMIC_SEQ_CST)) sched_yield(); /* a runs alone */
  assert_code(mt_executor_submit(ex, exits_after_arming, NULL, &e), 0);
  for (int i = 0; i < 5; i++) assert_code(mt_executor_submit(ex, twice, NULL, &g[i]), 0);
  assert_code(mt_future_set_result(gate, (mt_value_t){0}), 0);
  assert_code(mt_future_result(e, 10, NULL), MT_EWORKERDIED);
  for (int i = 0; i < 5; i++) {
    /* bounded: before the fix these waited forever */
    assert_code(mt_future_result(g[i], 10, NULL), MT_ENOMEM);
    mt_future_free(g[i]);
  }
  assert_true(mt__alloc_injected());
  mt__alloc_fail_at(0);
  /* the pool still works: the next submit starts a worker */
  mt_future_t *f;
  assert_code(mt_executor_submit(ex, twice, (void *)(intptr_t)4, &f), 0);
  mt_value_t v;
  assert_code(mt_future_result(f, 10, &v), 0);
  assert_int_equal((intptr_t)v.ptr, 8);
  mt_future_free(f);
  mt_future_free(a);
  mt_future_free(e);
  mt_future_free(gate);
  mt_executor_free(ex);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(thread_pool_under_failures),
                                     cmocka_unit_test(no_replacement_fails_backlog)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
