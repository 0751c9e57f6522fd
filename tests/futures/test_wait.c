/* wait() with each condition, as_completed in completion order with
 * timeouts, callbacks exactly once under concurrent add/complete, and the
 * cancel / set_running race on hand-made futures. */
#include "mt_test.h"

#include <sched.h>
#include <stdint.h>
#include <time.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static mt_executor_t *ex;
static int setup(void **state) {
  (void)state;
  mt_thread_pool_opts_t o = MT_THREAD_POOL_OPTS_INIT;
  o.max_workers = 2;
  ex = mt_executor_new_thread_pool(&o);
  return ex ? 0 : -1;
}
static int teardown(void **state) {
  (void)state;
  mt_executor_free(ex);
  return 0;
}

/* Completes the hand-made futures of a plan in order, from a worker. */
typedef struct {
  mt_future_t **fs;
  int *order; /* indices to complete in this order */
  int n;
  int fail_index; /* this one gets an exception (-1: none) */
} plan_t;

static int complete_plan(void *arg, mt_value_t *out) {
  (void)out;
  plan_t *p = arg;
  for (int k = 0; k < p->n; k++) {
    int i = p->order[k];
    if (i == p->fail_index)
      mt_future_set_exception(p->fs[i], MT_EIO, "boom");
    else
      mt_future_set_result(p->fs[i], (mt_value_t){(void *)(intptr_t)i, 0, NULL});
  }
  return 0;
}

static void make(mt_future_t **fs, int n) {
  for (int i = 0; i < n; i++) fs[i] = mt_future_new();
}
static void drop(mt_future_t **fs, int n) {
  for (int i = 0; i < n; i++) mt_future_free(fs[i]);
}

static void wait_first_completed(void **state) {
  (void)state;
  mt_future_t *fs[3], *done[3], *not_done[3];
  make(fs, 3);
  int nn = -1;
  double t0 = now();
  assert_int_equal(mt_future_wait(fs, 3, 0.05, MT_FIRST_COMPLETED, done, not_done, &nn), 0);
  assert_true(now() - t0 >= 0.05);
  assert_int_equal(nn, 3);
  int order[] = {1};
  plan_t p = {fs, order, 1, -1};
  mt_future_t *w;
  assert_code(mt_executor_submit(ex, complete_plan, &p, &w), 0);
  assert_int_equal(mt_future_wait(fs, 3, MT_FOREVER, MT_FIRST_COMPLETED, done, not_done, &nn), 1);
  assert_ptr_equal(done[0], fs[1]);
  assert_int_equal(nn, 2);
  assert_ptr_equal(not_done[0], fs[0]);
  assert_ptr_equal(not_done[1], fs[2]);
  mt_future_result(w, MT_FOREVER, NULL);
  mt_future_free(w);
  drop(fs, 3);
}

static void wait_first_exception(void **state) {
  (void)state;
  mt_future_t *fs[4], *done[4];
  make(fs, 4);
  int order[] = {0, 2};
  plan_t p = {fs, order, 2, 2};
  mt_future_t *w;
  assert_code(mt_executor_submit(ex, complete_plan, &p, &w), 0);
  int nn;
  int nd = mt_future_wait(fs, 4, MT_FOREVER, MT_FIRST_EXCEPTION, done, NULL, &nn);
  assert_int_equal(nd, 2);
  assert_int_equal(nn, 2);
  assert_code(mt_future_result(fs[2], 0, NULL), MT_ETASKFAILED);
  mt_future_result(w, MT_FOREVER, NULL);
  mt_future_free(w);
  /* no exception at all: FIRST_EXCEPTION waits for all */
  mt_future_set_result(fs[1], (mt_value_t){0});
  mt_future_cancel(fs[3]); /* a cancelled one is not an exception */
  assert_int_equal(mt_future_wait(fs, 4, 1, MT_FIRST_EXCEPTION, NULL, NULL, &nn), 4);
  drop(fs, 4);

  make(fs, 2);
  mt_future_set_result(fs[0], (mt_value_t){0});
  double t0 = now();
  assert_int_equal(mt_future_wait(fs, 2, 0.03, MT_FIRST_EXCEPTION, NULL, NULL, &nn), 1);
  assert_true(now() - t0 >= 0.03);
  drop(fs, 2);
}

static void wait_all_completed(void **state) {
  (void)state;
  enum { N = 50 };
  mt_future_t *fs[N + 1], *done[N + 1];
  make(fs, N);
  fs[N] = fs[0]; /* a duplicate counts once */
  int order[N];
  for (int i = 0; i < N; i++) order[i] = N - 1 - i;
  plan_t p = {fs, order, N, -1};
  mt_future_t *w;
  assert_code(mt_executor_submit(ex, complete_plan, &p, &w), 0);
  int nn = -1;
  assert_int_equal(mt_future_wait(fs, N + 1, MT_FOREVER, MT_ALL_COMPLETED, done, NULL, &nn), N);
  assert_int_equal(nn, 0);
  for (int i = 0; i < N; i++) assert_ptr_equal(done[i], fs[i]); /* input order */
  assert_int_equal(mt_future_wait(fs, 0, 0, MT_ALL_COMPLETED, NULL, NULL, NULL), 0);
  mt_future_result(w, MT_FOREVER, NULL);
  mt_future_free(w);
  drop(fs, N);
}

static void as_completed_in_completion_order(void **state) {
  (void)state;
  enum { N = 200, PRE = 3 };
  mt_future_t *fs[N + 2];
  make(fs, N);
  fs[N] = fs[5];
  fs[N + 1] = fs[7]; /* duplicates: yielded once */
  for (int i = 0; i < PRE; i++) mt_future_set_result(fs[10 + i], (mt_value_t){0});
  mt_as_completed_t *it = mt_as_completed_new(fs, N + 2, 10);
  assert_non_null(it);
  /* a random permutation of the rest */
  int order[N], m = 0;
  for (int i = 0; i < N; i++)
    if (i < 10 || i >= 10 + PRE) order[m++] = i;
  srand(7);
  for (int i = m - 1; i > 0; i--) {
    int j = rand() % (i + 1), t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  plan_t p = {fs, order, m, -1};
  mt_future_t *w;
  assert_code(mt_executor_submit(ex, complete_plan, &p, &w), 0);
  mt_future_t *f;
  for (int i = 0; i < PRE; i++) {
    assert_code(mt_as_completed_next(it, &f), 1);
    assert_ptr_equal(f, fs[10 + i]); /* already done: input order */
  }
  for (int k = 0; k < m; k++) {
    assert_code(mt_as_completed_next(it, &f), 1);
    assert_ptr_equal(f, fs[order[k]]);
  }
  assert_code(mt_as_completed_next(it, &f), 0);
  assert_code(mt_as_completed_next(it, &f), 0);
  mt_as_completed_free(it);
  mt_future_result(w, MT_FOREVER, NULL);
  mt_future_free(w);
  drop(fs, N);
}

static void as_completed_timeout(void **state) {
  (void)state;
  mt_future_t *fs[3];
  make(fs, 3);
  mt_future_set_result(fs[1], (mt_value_t){0});
  double t0 = now();
  mt_as_completed_t *it = mt_as_completed_new(fs, 3, 0.05);
  mt_future_t *f;
  assert_code(mt_as_completed_next(it, &f), 1);
  assert_ptr_equal(f, fs[1]);
  assert_code(mt_as_completed_next(it, &f), MT_ETIMEDOUT);
  assert_true(now() - t0 >= 0.05);
  mt_future_cancel(fs[2]); /* completes after the deadline: still yielded */
  assert_code(mt_as_completed_next(it, &f), 1);
  assert_ptr_equal(f, fs[2]);
  assert_code(mt_as_completed_next(it, &f), MT_ETIMEDOUT);
  mt_as_completed_free(it);
  it = mt_as_completed_new(fs, 0, 0);
  assert_code(mt_as_completed_next(it, &f), 0);
  mt_as_completed_free(it);
  drop(fs, 3);
}

/* Callbacks exactly once while a worker completes concurrently. */
enum { CBS = 8 };
static int fired;
static void bump(mt_future_t *f, void *arg) {
  (void)f;
  __atomic_fetch_add((int *)arg, 1, __ATOMIC_SEQ_CST);
  __atomic_fetch_add(&fired, 1, __ATOMIC_SEQ_CST);
}
static int complete_one(void *arg, mt_value_t *out) {
  (void)out;
  mt_future_set_result(arg, (mt_value_t){0});
  return 0;
}

static void callbacks_once_under_races(void **state) {
  (void)state;
  long rounds = mt_test_scaled(5000, 100);
  fired = 0;
  for (long r = 0; r < rounds; r++) {
    mt_future_t *f = mt_future_new(), *w;
    int hits = 0;
    assert_code(mt_executor_submit(ex, complete_one, f, &w), 0);
    for (int i = 0; i < CBS; i++) assert_code(mt_future_add_done_callback(f, bump, &hits), 0);
    assert_code(mt_future_result(w, MT_FOREVER, NULL), 0);
    /* the completer ran the registered ones before publishing w's result */
    assert_int_equal(__atomic_load_n(&hits, __ATOMIC_SEQ_CST), CBS);
    mt_future_free(w);
    mt_future_free(f);
  }
  assert_int_equal(fired, rounds * CBS);
}

/* cancel vs set_running_or_notify_cancel: exactly one wins. */
static int start_it(void *arg, mt_value_t *out) {
  out->ptr = (void *)(intptr_t)mt_future_set_running_or_notify_cancel(arg);
  return 0;
}

static void cancel_vs_start(void **state) {
  (void)state;
  long rounds = mt_test_scaled(20000, 200);
  long cancels = 0, starts = 0;
  for (long r = 0; r < rounds; r++) {
    mt_future_t *f = mt_future_new(), *w;
    assert_code(mt_executor_submit(ex, start_it, f, &w), 0);
    int c = mt_future_cancel(f);
    mt_value_t v;
    assert_code(mt_future_result(w, MT_FOREVER, &v), 0);
    int s = (int)(intptr_t)v.ptr;
    assert_int_equal(c + s, 1);
    assert_int_equal(mt_future_state(f), c ? MT_FUTURE_CANCELLED : MT_FUTURE_RUNNING);
    cancels += c;
    starts += s;
    mt_future_free(w);
    mt_future_free(f);
  }
  assert_int_equal(cancels + starts, rounds);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(wait_first_completed),
      cmocka_unit_test(wait_first_exception),
      cmocka_unit_test(wait_all_completed),
      cmocka_unit_test(as_completed_in_completion_order),
      cmocka_unit_test(as_completed_timeout),
      cmocka_unit_test(callbacks_once_under_races),
      cmocka_unit_test(cancel_vs_start),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
