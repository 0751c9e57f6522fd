/* A thread-pool worker in its yield phase is not the pool's spinner
 * (thread_pool.c spin_for_news).  A yield gives the CPU to another runnable
 * thread until its slice ends (ms later: the submitter when the worker runs
 * on its CPU, a foreign thread); a worker that kept `nspinning` set meanwhile
 * made submit skip the wake of the parked worker, and a task waited in the
 * queue for as long as the yielding worker was off its CPU (docs/benchmarks.md,
 * "open loop").  Here a test hook holds the first worker that reaches the
 * yield phase there (as a long slice given away would), the other worker
 * parks, and a task submitted then must run: submit wakes the parked worker.
 * No timing: the hook holds the worker until the task's result is checked,
 * and the result's 10 s timeout only turns a hang into a failure. */
#include "mt_test.h"

#include <pthread.h>
#include <sched.h>

#include "executor/pool_internal.h"
#include "platform/clock.h"
#include "wait/wait.h"

static pthread_mutex_t hold_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t hold_cond = PTHREAD_COND_INITIALIZER;
static int held, released; /* under hold_lock */

/* The first worker to yield stays here until released; the others pass. */
static void hold_first(void) {
  pthread_mutex_lock(&hold_lock);
  if (!held) {
    held = 1;
    pthread_cond_broadcast(&hold_cond);
    while (!released) pthread_cond_wait(&hold_cond, &hold_lock);
  }
  pthread_mutex_unlock(&hold_lock);
}

static int started, go;
static int meet(void *arg, mt_value_t *out) { /* both workers busy at once */
  (void)arg, (void)out;
  __atomic_add_fetch(&started, 1, __ATOMIC_SEQ_CST);
  while (!__atomic_load_n(&go, __ATOMIC_SEQ_CST)) sched_yield();
  return 0;
}

static int twice(void *arg, mt_value_t *out) {
  out->ptr = (void *)((intptr_t)arg * 2);
  return 0;
}

static void test_task_runs_while_a_worker_yields(void **state) {
  (void)state;
  if (mt__spin_rounds() == 0) skip(); /* one CPU: no spin, no yield phase */
  mt_thread_pool_opts_t o = MT_THREAD_POOL_OPTS_INIT;
  o.max_workers = 2;
  mt_executor_t *ex = mt_executor_new_thread_pool(&o);
  assert_non_null(ex);
  /* Two workers, both busy (a busy worker offers no idle token, so the
   * second submit starts the second worker); the hook is set while they
   * are, so it holds a worker only in an idle episode after a task. */
  mt_future_t *f[2];
  for (int i = 0; i < 2; i++) assert_int_equal(mt_executor_submit(ex, meet, NULL, &f[i]), 0);
  int64_t deadline = mt__now_ns() + 10 * (int64_t)1000000000;
  while (__atomic_load_n(&started, __ATOMIC_SEQ_CST) < 2 && mt__now_ns() < deadline) sched_yield();
  assert_int_equal(__atomic_load_n(&started, __ATOMIC_SEQ_CST), 2);
  mt__pool_yield_hook(hold_first);
  __atomic_store_n(&go, 1, __ATOMIC_SEQ_CST);
  for (int i = 0; i < 2; i++) {
    assert_int_equal(mt_future_result(f[i], 10.0, NULL), 0);
    mt_future_free(f[i]);
  }
  assert_int_equal(mt_executor_thread_count(ex), 2);
  /* Both go idle: one reaches the yield phase and is held there, the
   * other parks (it found no news, and the held one no longer spins). */
  pthread_mutex_lock(&hold_lock);
  while (!held) pthread_cond_wait(&hold_cond, &hold_lock);
  pthread_mutex_unlock(&hold_lock);
  deadline = mt__now_ns() + 10 * (int64_t)1000000000;
  while (mt__pool_sleepers(ex) < 1 && mt__now_ns() < deadline) sched_yield();
  assert_int_equal(mt__pool_sleepers(ex), 1);
  /* The task must run on the parked worker while the other is held. */
  mt_future_t *t;
  assert_int_equal(mt_executor_submit(ex, twice, (void *)(intptr_t)21, &t), 0);
  mt_value_t v = {0};
  int r = mt_future_result(t, 10.0, &v);
  pthread_mutex_lock(&hold_lock);
  released = 1;
  pthread_cond_broadcast(&hold_cond);
  pthread_mutex_unlock(&hold_lock);
  assert_int_equal(r, 0);
  assert_int_equal((intptr_t)v.ptr, 42);
  mt_future_free(t);
  mt__pool_yield_hook(NULL);
  mt_executor_free(ex);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_task_runs_while_a_worker_yields),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
