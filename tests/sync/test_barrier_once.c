/* Barrier (indices, action, timeout, abort, reset) and once. */
#include "mt_test.h"
#include "sync_test.h"

#include <sched.h>

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
  assert_int_equal(mt_barrier_is_broken(r.b), 0);
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
  /* a shared barrier records its arrivals: its parties are capped */
  assert_null(mt_barrier_new(MT_BARRIER_SHARED_MAX + 1, NULL, NULL, MT_FOREVER, MT_SHARED));
  mt_barrier_t *big = mt_barrier_new(MT_BARRIER_SHARED_MAX, NULL, NULL, MT_FOREVER, MT_SHARED);
  assert_non_null(big);
  assert_int_equal(mt_barrier_parties(big), MT_BARRIER_SHARED_MAX);
  mt_barrier_free(big);
  double t0 = now_s();
  assert_code(mt_barrier_wait(b, 0.05), MT_EBROKEN); /* timeout breaks it */
  assert_not_early(t0, 0.05);
  assert_int_equal(mt_barrier_is_broken(b), 1);
  assert_code(mt_barrier_wait(b, 1), MT_EBROKEN);
  assert_code(mt_barrier_reset(b), 0);
  assert_int_equal(mt_barrier_is_broken(b), 0);
  assert_code(mt_barrier_abort(b), 0);
  assert_int_equal(mt_barrier_is_broken(b), 1);
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
  assert_int_equal(mt_barrier_is_broken(b), 1);
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


/* The last party runs a slow action; a wait that arrives meanwhile must
 * still return by its deadline (it breaks the barrier, as a timed-out wait
 * does in Python), while the round whose action ran completes. */
static mt_event_t *action_started, *action_go;
static int slow_action(void *arg) {
  (void)arg;
  mt_event_set(action_started);
  mt_event_wait(action_go, 20);
  return 0;
}

static void *wait_store(void *arg) {
  void **a = arg;
  *(int *)a[1] = mt_barrier_wait(a[0], 30);
  return NULL;
}

static void barrier_wait_during_action_honours_timeout(void **state) {
  (void)state;
  action_started = mt_event_new(0);
  action_go = mt_event_new(0);
  mt_barrier_t *b = mt_barrier_new(2, slow_action, NULL, MT_FOREVER, 0);
  int res[2] = {-100, -100};
  void *args[2][2] = {{b, &res[0]}, {b, &res[1]}};
  pthread_t t[2];
  for (int i = 0; i < 2; i++) pthread_create(&t[i], NULL, wait_store, args[i]);
  assert_code(mt_event_wait(action_started, 30), 0);
  double t0 = now_s();
  int r = mt_barrier_wait(b, 0.1);
  double dt = now_s() - t0;
  mt_event_set(action_go);
  for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
  if (dt >= 2.0) fail_msg("wait(0.1) during the action returned after %.3f s", dt);
  assert_not_early(t0, 0.1);
  assert_code(r, MT_EBROKEN);
  /* the round whose action ran completed: indices 0 and 1 */
  assert_true((res[0] == 0 && res[1] == 1) || (res[0] == 1 && res[1] == 0));
  assert_int_equal(mt_barrier_is_broken(b), 1);
  assert_code(mt_barrier_reset(b), 0);
  mt_event_set(action_started); /* the next action must not block */
  res[0] = res[1] = -100;
  for (int i = 0; i < 2; i++) pthread_create(&t[i], NULL, wait_store, args[i]);
  for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
  assert_true(res[0] >= 0 && res[1] >= 0 && res[0] != res[1]);
  mt_barrier_free(b);
  mt_event_free(action_go);
  mt_event_free(action_started);
}

/* reset() while parties wait: they get MT_EBROKEN and the barrier is at
 * once usable for a full round (Python's reset). Repeated many times. */
static void barrier_reset_wakes_then_usable(void **state) {
  (void)state;
  mt_barrier_t *b = mt_barrier_new(3, NULL, NULL, MT_FOREVER, 0);
  long rounds = mt_test_scaled(200, 10);
  for (long i = 0; i < rounds; i++) {
    pthread_t t[2];
    for (int k = 0; k < 2; k++) pthread_create(&t[k], NULL, abort_victim, b);
    while (mt_barrier_n_waiting(b) < 2) sched_yield();
    assert_code(mt_barrier_reset(b), 0);
    for (int k = 0; k < 2; k++) pthread_join(t[k], NULL);
    assert_int_equal(mt_barrier_is_broken(b), 0);
    int res[3];
    void *args[3][2] = {{b, &res[0]}, {b, &res[1]}, {b, &res[2]}};
    pthread_t u[3];
    for (int k = 0; k < 3; k++) pthread_create(&u[k], NULL, wait_store, args[k]);
    for (int k = 0; k < 3; k++) pthread_join(u[k], NULL);
    for (int k = 0; k < 3; k++) assert_true(res[k] >= 0 && res[k] < 3);
    assert_int_equal((1 << res[0]) | (1 << res[1]) | (1 << res[2]), 7);
  }
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
  assert_code(mt_once_call(&the_once, once_init, NULL), 0);
  assert_int_equal(__atomic_load_n(&once_runs, __ATOMIC_RELAXED), 1);
  return NULL;
}

static void once_exactly_once(void **state) {
  (void)state;
  run_threads(8, once_worker, NULL);
  assert_int_equal(once_runs, 1);
  assert_code(mt_once_call(NULL, once_init, NULL), MT_EINVAL);
  assert_code(mt_once_call(&the_once, NULL, NULL), MT_EINVAL);
}

/* Issue 12: MT_FOREVER waits forever, also on a barrier made with a
 * default timeout; MT_BARRIER_DEFAULT_TIMEOUT asks for that default.  The
 * default here is 0 (never wait), so a wait that used it would break the
 * barrier at once instead of meeting the second party. */
static void *forever_waiter(void *arg) {
  return (void *)(intptr_t)mt_barrier_wait(arg, MT_FOREVER);
}

static void barrier_forever_is_forever(void **state) {
  (void)state;
  mt_barrier_t *b = mt_barrier_new(2, NULL, NULL, 0, 0);
  assert_non_null(b);
  mt_thread_t *t = mt_thread_spawn(forever_waiter, b, NULL);
  assert_non_null(t);
  /* until it waits inside the barrier (or already returned) */
  while (mt_barrier_n_waiting(b) == 0 && mt_barrier_is_broken(b) == 0) sched_yield();
  int mine = mt_barrier_wait(b, MT_FOREVER);
  void *theirs = NULL;
  assert_code(mt_thread_join(t, MT_FOREVER, &theirs), 0);
  mt_thread_free(t);
  if ((int)(intptr_t)theirs < 0)
    fail_msg("mt_barrier_wait(b, MT_FOREVER) returned %s: it used the barrier's default "
             "timeout (0) instead of waiting", mt_err_name((int)(intptr_t)theirs));
  assert_int_equal(mine + (int)(intptr_t)theirs, 1); /* indices 0 and 1 */
  /* the named sentinel uses the default: 0, alone, breaks it at once */
  assert_code(mt_barrier_wait(b, MT_BARRIER_DEFAULT_TIMEOUT), MT_EBROKEN);
  mt_barrier_free(b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(barrier_rounds),
      cmocka_unit_test(barrier_errors_and_timeout),
      cmocka_unit_test(barrier_action_failure_breaks),
      cmocka_unit_test(barrier_abort_wakes_waiters),
      cmocka_unit_test(barrier_wait_during_action_honours_timeout),
      cmocka_unit_test(barrier_reset_wakes_then_usable),
      cmocka_unit_test(barrier_forever_is_forever),
      cmocka_unit_test(once_exactly_once),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
