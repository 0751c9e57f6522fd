/* Review finding 1: mt_pool_free from a pool callback (on the manager
 * thread) while ANOTHER thread is inside mt_pool_join or mt_pool_terminate
 * on the same pool.  The manager used to free the pool (and drop its own
 * thread handle) as soon as it stopped, under the parked joiner: a use
 * after free in the joiner (ASan: heap-use-after-free in load_state under
 * mt_thread_join, then the write of p->joined).  Now every thread inside a
 * pool call holds a reference on the pool, and the deferred free runs when
 * the last one leaves.
 *
 * The order is made deterministic without sleeping: the callback waits
 * until the main thread announced the call (phase 1) and is asleep in it
 * (its state in /proc is 'S'), and only then calls mt_pool_free.  The
 * manager cannot stop before that, because it is running the callback. */
#include "tasks.h"
#include "platform/platform.h"
#include "wait/wait.h"

#include <fcntl.h>
#include <sched.h>
#include <stdio.h>

enum { M_JOIN, M_JOIN_TIMED, M_TERMINATE };

static struct {
  mt_pool_t *pool;
  int32_t main_tid;
  uint32_t phase;        /* 1: main is about to call; 2: it returned */
  int saw_sleep;         /* the callback saw main asleep in the call */
  int calls;
  uint32_t manager_gone; /* futex word: the manager thread exited */
  uint32_t in_cb;        /* futex word: the callback runs */
} g;

static void on_manager_exit(void *v) {
  (void)v;
  __atomic_store_n(&g.manager_gone, 1, __ATOMIC_SEQ_CST);
  mt__wake_word(&g.manager_gone, INT32_MAX, false);
}

static mt_local_t *local;

static void free_cb(const mt_value_t *r, void *arg) {
  (void)r, (void)arg;
  g.calls++;
  __atomic_store_n(&g.in_cb, 1, __ATOMIC_SEQ_CST);
  mt__wake_word(&g.in_cb, INT32_MAX, false);
  mt_local_set(local, &g); /* its destructor runs when the manager exits */
  int64_t give_up = mt__now_ns() + 20 * (int64_t)1000000000;
  while (mt__now_ns() < give_up) {
    if (__atomic_load_n(&g.phase, __ATOMIC_ACQUIRE) == 1 && mt_test_task_state(g.main_tid) == 'S') {
      g.saw_sleep = 1;
      break;
    }
    sched_yield();
  }
  mt_pool_free(g.pool);
}

static int t_quick(const void *in, size_t len, mt_value_t *out) {
  (void)in, (void)len;
  out->ptr = (void *)9;
  return 0;
}

static void run(int mode) {
  memset(&g, 0, sizeof g);
  g.main_tid = mt__gettid();
  local = mt_local_new(on_manager_exit);
  assert_non_null(local);
  mt_pool_opts_t popts = MT_POOL_OPTS_INIT;
  popts.processes = 1;
  popts.grace = 0.2;
  g.pool = mt_pool_new(&popts);
  assert_non_null(g.pool);
  mt_future_t *f = NULL;
  mt_pool_task_opts_t o = MT_POOL_TASK_OPTS_INIT;
  o.callback = free_cb;
  assert_code(mt_pool_apply_async(g.pool, t_quick, NULL, 0, &o, &f), 0);
  if (mode != M_TERMINATE) {
    assert_code(mt_pool_close(g.pool), 0);
  } else { /* terminate only once the task's result is being delivered */
    int64_t dl;
    mt__deadline(30, &dl);
    while (!__atomic_load_n(&g.in_cb, __ATOMIC_SEQ_CST))
      if (mt__wait_word(&g.in_cb, 0, false, dl) == MT_ETIMEDOUT) break;
    assert_int_equal(__atomic_load_n(&g.in_cb, __ATOMIC_SEQ_CST), 1);
  }
  __atomic_store_n(&g.phase, 1, __ATOMIC_RELEASE);
  int r;
  switch (mode) {
  case M_JOIN: r = mt_pool_join(g.pool, MT_FOREVER); break;
  case M_JOIN_TIMED: r = mt_pool_join(g.pool, 30); break;
  default: r = mt_pool_terminate(g.pool, MT_FOREVER); break;
  }
  __atomic_store_n(&g.phase, 2, __ATOMIC_RELEASE);
  /* the pool is gone (or going) from here on: only the future is used */
  assert_code(r, 0);
  mt_value_t v;
  assert_code(mt_future_result(f, 30, &v), 0);
  assert_ptr_equal(v.ptr, (void *)9);
  int64_t deadline;
  mt__deadline(30, &deadline);
  while (!__atomic_load_n(&g.manager_gone, __ATOMIC_SEQ_CST))
    if (mt__wait_word(&g.manager_gone, 0, false, deadline) == MT_ETIMEDOUT) break;
  assert_int_equal(__atomic_load_n(&g.manager_gone, __ATOMIC_SEQ_CST), 1);
  assert_int_equal(g.calls, 1);
  assert_true(g.saw_sleep); /* else the test did not test the race */
  mt_future_free(f);
  mt_local_free(local);
}

static void free_during_join(void **state) {
  (void)state;
  for (long k = mt_test_scaled(3, 1); k > 0; k--) run(M_JOIN);
}
static void free_during_timed_join(void **state) {
  (void)state;
  for (long k = mt_test_scaled(3, 1); k > 0; k--) run(M_JOIN_TIMED);
}
static void free_during_terminate(void **state) {
  (void)state;
  for (long k = mt_test_scaled(3, 1); k > 0; k--) run(M_TERMINATE);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(free_during_join),
      cmocka_unit_test(free_during_timed_join),
      cmocka_unit_test(free_during_terminate),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
