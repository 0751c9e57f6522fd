/* Barrier (indices, action, timeout, abort, reset) and once. */
#include "mt_test.h"
#include "sync_test.h"

struct rounds {
  mt_barrier_t *b;
  long rounds;
  int index_hits[4];
  long actions;
  int phase_errors;
  long phase;
};

static int count_action(void *arg) {
  struct rounds *r = arg;
  r->actions++;
  r->phase++;
  return 0;
}

static void *round_worker(void *arg) {
  struct rounds *r = arg;
  for (long i = 0; i < r->rounds; i++) {
    long before = __atomic_load_n(&r->phase, __ATOMIC_RELAXED);
    int idx = mt_barrier_wait(r->b, MT_FOREVER);
    assert_true(idx >= 0 && idx < 4);
    __atomic_fetch_add(&r->index_hits[idx], 1, __ATOMIC_RELAXED);
    /* nobody leaves round i before the action of round i ran */
    if (__atomic_load_n(&r->phase, __ATOMIC_RELAXED) < before + 1)
      __atomic_fetch_add(&r->phase_errors, 1, __ATOMIC_RELAXED);
  }
  return NULL;
}

static void barrier_rounds(void **state) {
  (void)state;
  struct rounds r = {.rounds = mt_test_scaled(1000, 50)};
  r.b = mt_barrier_new(4, count_action, &r, MT_FOREVER, 0);
  run_threads(4, round_worker, &r);
  assert_int_equal(r.actions, r.rounds);
  for (int i = 0; i < 4; i++) assert_int_equal(r.index_hits[i], r.rounds);
  assert_int_equal(r.phase_errors, 0);
  assert_int_equal(mt_barrier_broken(r.b), 0);
  mt_barrier_free(r.b);
}

static void barrier_errors_and_timeout(void **state) {
  (void)state;
  errno = 0;
  assert_null(mt_barrier_new(0, NULL, NULL, MT_FOREVER, 0));
  assert_int_equal(errno, EINVAL);
  assert_code(mt_barrier_wait(NULL, 1), MT_EINVAL);
  mt_barrier_t *b = mt_barrier_new(2, NULL, NULL, MT_FOREVER, 0);
  assert_int_equal(mt_barrier_parties(b), 2);
  assert_code(mt_barrier_wait(b, -3), MT_EINVAL);
  double t0 = now_s();
  assert_code(mt_barrier_wait(b, 0.05), MT_EBROKEN); /* timeout breaks it */
  assert_not_early(t0, 0.05);
  assert_int_equal(mt_barrier_broken(b), 1);
  assert_code(mt_barrier_wait(b, 1), MT_EBROKEN);
  assert_code(mt_barrier_reset(b), 0);
  assert_int_equal(mt_barrier_broken(b), 0);
  assert_code(mt_barrier_abort(b), 0);
  assert_int_equal(mt_barrier_broken(b), 1);
  mt_barrier_free(b);
}

static int failing_action(void *arg) {
  (void)arg;
  return -1;
}

static void *one_wait(void *arg) {
  assert_code(mt_barrier_wait(arg, MT_FOREVER), MT_EBROKEN);
  return NULL;
}

static void barrier_action_failure_breaks(void **state) {
  (void)state;
  mt_barrier_t *b = mt_barrier_new(3, failing_action, NULL, MT_FOREVER, 0);
  run_threads(3, one_wait, b);
  assert_int_equal(mt_barrier_broken(b), 1);
  mt_barrier_free(b);
}

static void *abort_victim(void *arg) {
  assert_code(mt_barrier_wait(arg, MT_FOREVER), MT_EBROKEN);
  return NULL;
}

static void barrier_abort_wakes_waiters(void **state) {
  (void)state;
  mt_barrier_t *b = mt_barrier_new(3, NULL, NULL, MT_FOREVER, 0);
  pthread_t t[2];
  for (int i = 0; i < 2; i++) pthread_create(&t[i], NULL, abort_victim, b);
  while (mt_barrier_n_waiting(b) < 2) sched_yield();
  mt_barrier_abort(b);
  for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
  assert_code(mt_barrier_reset(b), 0);
  assert_int_equal(mt_barrier_n_waiting(b), 0);
  mt_barrier_free(b);
}

static int once_runs;
static void once_init(void *arg) {
  (void)arg;
  __atomic_fetch_add(&once_runs, 1, __ATOMIC_RELAXED);
}
static mt_once_t the_once = MT_ONCE_INIT;
static void *once_worker(void *arg) {
  (void)arg;
  assert_code(mt_once(&the_once, once_init, NULL), 0);
  assert_int_equal(__atomic_load_n(&once_runs, __ATOMIC_RELAXED), 1);
  return NULL;
}

static void once_exactly_once(void **state) {
  (void)state;
  run_threads(8, once_worker, NULL);
  assert_int_equal(once_runs, 1);
  assert_code(mt_once(NULL, once_init, NULL), MT_EINVAL);
  assert_code(mt_once(&the_once, NULL, NULL), MT_EINVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(barrier_rounds),
      cmocka_unit_test(barrier_errors_and_timeout),
      cmocka_unit_test(barrier_action_failure_breaks),
      cmocka_unit_test(barrier_abort_wakes_waiters),
      cmocka_unit_test(once_exactly_once),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
