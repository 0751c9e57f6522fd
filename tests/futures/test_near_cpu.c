/* The partner on the waiter's own CPU (future.c tl_near_cpu, thread_pool.c
 * spin_for_news): when the caller and the worker share one CPU, a wait
 * skips its spin and yields at once.  Checked here: the detection turns on
 * with both threads pinned to one CPU and off again once they run on two;
 * every one-at-a-time call in either placement returns its own result (no
 * lost wake-up on the no-spin path); a timed wait on that path still
 * returns MT_ETIMEDOUT by its deadline; and the completer's CPU stamp.
 * Affinity (pthread_setaffinity_np) places the threads: no timing. */
#include "mt_test.h"

#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <time.h>

#include "executor/pool_internal.h"
#include "future/future_internal.h"
#include "platform/clock.h"

static int cpu_a = -1, cpu_b = -1; /* two CPUs of our affinity (b: -1 if one) */

static void find_cpus(void) {
  /* The spin decision is read once per process, from the affinity of the
   * thread that reads it first: read it before any pinning. */
  (void)mt__spin_rounds();
  cpu_set_t s;
  assert_int_equal(sched_getaffinity(0, sizeof s, &s), 0);
  for (int c = 0; c < CPU_SETSIZE; c++) {
    if (!CPU_ISSET(c, &s)) continue;
    if (cpu_a < 0) cpu_a = c;
    else if (cpu_b < 0) cpu_b = c;
  }
  assert_true(cpu_a >= 0);
}

static void pin_self(int cpu) {
  cpu_set_t s;
  CPU_ZERO(&s);
  CPU_SET(cpu, &s);
  assert_int_equal(pthread_setaffinity_np(pthread_self(), sizeof s, &s), 0);
}

static int pin_task(void *arg, mt_value_t *out) {
  (void)out;
  pin_self((int)(intptr_t)arg);
  return 0;
}

static int twice(void *arg, mt_value_t *out) {
  out->ptr = (void *)((intptr_t)arg * 2);
  return 0;
}

static mt_future_t *gate;
static int wait_gate(void *arg, mt_value_t *out) {
  (void)arg, (void)out;
  return mt_future_result(gate, MT_FOREVER, NULL);
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void call(mt_executor_t *ex, mt_task_fn fn, intptr_t arg, intptr_t want) {
  mt_future_t *f;
  mt_value_t v;
  assert_code(mt_executor_submit(ex, fn, (void *)arg, &f), 0);
  assert_code(mt_future_result(f, MT_FOREVER, &v), 0);
  if (fn == twice) assert_int_equal((intptr_t)v.ptr, want);
  mt_future_free(f);
}

/* Calls one at a time until the caller's hint reads `want` (at most `cap`
 * calls; a wait whose future was done before it began leaves the hint
 * alone, so one call is not enough); returns the calls made. */
static long calls_until(mt_executor_t *ex, int want, long cap, long *next) {
  long k = 0;
  while (k < cap && (k == 0 || mt__future_near_cpu() != want)) {
    call(ex, twice, *next, 2 * *next);
    ++*next, ++k;
  }
  return k;
}

static void test_near_cpu_detection(void **state) {
  (void)state;
  find_cpus();
  mt_thread_pool_opts_t o = MT_THREAD_POOL_OPTS_INIT;
  o.max_workers = 1; /* the one worker runs every call */
  mt_executor_t *ex = mt_executor_new_thread_pool(&o);
  assert_non_null(ex);
  long next = 0, n = mt_test_scaled(20000, 200);

  /* both on cpu_a: the caller's waits see the completer on their CPU */
  pin_self(cpu_a);
  call(ex, pin_task, cpu_a, 0);
  calls_until(ex, cpu_a, 100000, &next);
  /* (one CPU: nobody spins, there is nothing to skip) */
  assert_int_equal(mt__future_near_cpu(), mt__spin_rounds() > 0 ? cpu_a : -1);
  for (long i = 0; i < n; i++, next++) call(ex, twice, next, 2 * next); /* exact results */

  /* a timed wait on the no-spin path still ends by its deadline, not
   * before, and the task then completes as usual */
  gate = mt_future_new();
  assert_non_null(gate);
  mt_future_t *f;
  assert_code(mt_executor_submit(ex, wait_gate, NULL, &f), 0);
  double t0 = now();
  assert_code(mt_future_result(f, 0.05, NULL), MT_ETIMEDOUT);
  assert_true(now() - t0 >= 0.05);
  assert_code(mt_future_set_result(gate, (mt_value_t){0}), 0);
  assert_code(mt_future_result(f, MT_FOREVER, NULL), 0);
  mt_future_free(f);
  mt_future_free(gate);

  if (cpu_b >= 0) { /* apart: the hint goes off and the spin is back */
    call(ex, pin_task, cpu_b, 0);
    calls_until(ex, -1, 100000, &next);
    assert_int_equal(mt__future_near_cpu(), -1);
    for (long i = 0; i < n; i++, next++) call(ex, twice, next, 2 * next);
  }
  assert_code(mt_executor_shutdown(ex, true, false, MT_FOREVER), 0);
  mt_executor_free(ex);
}

static int affinity_count(void *arg, mt_value_t *out) {
  (void)arg;
  cpu_set_t s;
  if (sched_getaffinity(0, sizeof s, &s) != 0) return MT_EINVAL;
  out->ptr = (void *)(intptr_t)CPU_COUNT(&s);
  return 0;
}

static int unpin_task(void *arg, mt_value_t *out) {
  (void)arg, (void)out;
  cpu_set_t s;
  CPU_ZERO(&s);
  CPU_SET(cpu_a, &s);
  CPU_SET(cpu_b, &s);
  assert_int_equal(pthread_setaffinity_np(pthread_self(), sizeof s, &s), 0);
  return 0;
}

/* A worker on its submitter's CPU that may run elsewhere moves off it
 * (thread_pool.c near_move): the caller stays pinned to cpu_a, the worker
 * starts pinned there too, then is allowed both CPUs.  Nothing else in
 * the yield ping-pong on cpu_a parts the two (the balancer leaves such a
 * pair together for tens of ms), so the hint must turn off within a
 * bounded number of calls (moves back off to one per 1024 near calls at
 * most), and the worker's mask must be the one it had (both CPUs). */
static void test_near_worker_moves_off(void **state) {
  (void)state;
  find_cpus();
  if (cpu_b < 0 || mt__spin_rounds() == 0) skip();
  /* the load rule (a move only with a CPU free for it) is left out here:
   * this machine may be busy; the move itself is what is checked */
  mt__pool_near_move_always(true);
  mt_thread_pool_opts_t o = MT_THREAD_POOL_OPTS_INIT;
  o.max_workers = 1;
  mt_executor_t *ex = mt_executor_new_thread_pool(&o);
  assert_non_null(ex);
  long next = 0;
  pin_self(cpu_a);
  call(ex, pin_task, cpu_a, 0);
  calls_until(ex, cpu_a, 100000, &next);
  assert_int_equal(mt__future_near_cpu(), cpu_a);
  call(ex, unpin_task, 0, 0);
  long k = calls_until(ex, -1, 4 * 256 + 100, &next);
  assert_int_equal(mt__future_near_cpu(), -1);
  assert_true(k <= 4 * 256 + 100);
  mt_future_t *f;
  mt_value_t v;
  assert_code(mt_executor_submit(ex, affinity_count, NULL, &f), 0);
  assert_code(mt_future_result(f, MT_FOREVER, &v), 0);
  assert_int_equal((intptr_t)v.ptr, 2);
  mt_future_free(f);
  for (long i = 0; i < 1000; i++, next++) call(ex, twice, next, 2 * next);
  assert_code(mt_executor_shutdown(ex, true, false, MT_FOREVER), 0);
  mt_executor_free(ex);
  mt__pool_near_move_always(false);
  cpu_set_t s; /* the caller back to both CPUs for the next test */
  CPU_ZERO(&s);
  CPU_SET(cpu_a, &s);
  CPU_SET(cpu_b, &s);
  assert_int_equal(pthread_setaffinity_np(pthread_self(), sizeof s, &s), 0);
}

/* mt__cpu_move_off: the thread leaves the CPU and keeps its mask; with
 * no other CPU allowed it stays (0).  mt__sys_runnable counts the caller. */
static void test_cpu_move_off(void **state) {
  (void)state;
  find_cpus();
  assert_true(mt__sys_runnable() >= 1);
  assert_code(mt__cpu_move_off(-1), MT_EINVAL);
  pin_self(cpu_a);
  assert_int_equal(mt__cpu_move_off(cpu_a), 0);
  assert_int_equal(mt__cpu_now(), cpu_a);
  if (cpu_b < 0) return;
  cpu_set_t s;
  CPU_ZERO(&s);
  CPU_SET(cpu_a, &s);
  CPU_SET(cpu_b, &s);
  assert_int_equal(pthread_setaffinity_np(pthread_self(), sizeof s, &s), 0);
  int moved = 0;
  for (int i = 0; i < 100; i++) {
    int cpu = mt__cpu_now();
    assert_int_equal(mt__cpu_move_off(cpu), 1);
    moved += mt__cpu_now() != cpu;
    cpu_set_t now; /* the mask is the old one again */
    assert_int_equal(sched_getaffinity(0, sizeof now, &now), 0);
    assert_true(CPU_EQUAL(&now, &s));
  }
  /* the migration is done when the call returns; the scheduler may move
   * us back at any time after, so a rare miss is allowed */
  assert_true(moved >= 95);
}

/* The completer stamps its CPU (one byte: cpu % 255 + 1) before it
 * publishes; a cancelled future carries none. */
static void test_done_cpu_stamp(void **state) {
  (void)state;
  find_cpus();
  pin_self(cpu_a);
  mt_future_t *f = mt_future_new();
  assert_non_null(f);
  assert_int_equal(f->done_cpu, 0);
  assert_code(mt_future_set_result(f, (mt_value_t){0}), 0);
  assert_int_equal(f->done_cpu, cpu_a % 255 + 1);
  mt_future_free(f);
  f = mt_future_new();
  assert_non_null(f);
  assert_int_equal(mt_future_cancel(f), 1);
  assert_int_equal(f->done_cpu, 0);
  mt_future_free(f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_done_cpu_stamp),
      cmocka_unit_test(test_near_cpu_detection),
      cmocka_unit_test(test_near_worker_moves_off),
      cmocka_unit_test(test_cpu_move_off),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
