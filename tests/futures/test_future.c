/* Future by hand: states, cancel, set_*, result/exception, callbacks,
 * timeouts and every error path. */
#include "mt_test.h"

#include <math.h>
#include <string.h>
#include <time.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int freed;
static void count_free(void *p) {
  (void)p;
  freed++;
}

static void states_and_result(void **state) {
  (void)state;
  mt_future_t *f = mt_future_new();
  assert_non_null(f);
  assert_int_equal(mt_future_state(f), MT_FUTURE_PENDING);
  assert_int_equal(mt_future_is_done(f), 0);
  assert_int_equal(mt_future_is_running(f), 0);
  assert_code(mt_future_result(f, 0, NULL), MT_ETIMEDOUT);
  assert_code(mt_future_set_running_or_notify_cancel(f), 1);
  assert_int_equal(mt_future_is_running(f), 1);
  assert_code(mt_future_set_running_or_notify_cancel(f), MT_EBUSY);
  assert_code(mt_future_cancel(f), 0); /* running: cannot cancel */
  static int x = 42;
  freed = 0;
  assert_code(mt_future_set_result(f, (mt_value_t){&x, sizeof x, count_free}), 0);
  assert_int_equal(mt_future_state(f), MT_FUTURE_FINISHED);
  assert_int_equal(mt_future_is_done(f), 1);
  mt_value_t v;
  assert_code(mt_future_result(f, MT_FOREVER, &v), 0);
  assert_ptr_equal(v.ptr, &x);
  assert_int_equal(v.len, sizeof x);
  assert_null(v.free_fn); /* lent */
  mt_task_error_t e;
  assert_code(mt_future_exception(f, 0, &e), 0);
  assert_int_equal(e.code, 0);
  assert_code(mt_future_set_result(f, (mt_value_t){0}), MT_EBUSY);
  assert_code(mt_future_set_exception(f, MT_EIO, "x"), MT_EBUSY);
  assert_int_equal(freed, 0);
  mt_future_free(f);
  assert_int_equal(freed, 1);
}

static void take_result_moves(void **state) {
  (void)state;
  mt_future_t *f = mt_future_new();
  freed = 0;
  assert_code(mt_future_set_result(f, (mt_value_t){&freed, 0, count_free}), 0);
  mt_value_t v;
  assert_code(mt_future_take_result(f, 0, &v), 0);
  assert_ptr_equal(v.free_fn, count_free);
  mt_future_free(f);
  assert_int_equal(freed, 0); /* moved: ours to free */
  v.free_fn(v.ptr);
  assert_int_equal(freed, 1);
}

static void cancel_pending(void **state) {
  (void)state;
  mt_future_t *f = mt_future_new();
  assert_code(mt_future_cancel(f), 1);
  assert_code(mt_future_cancel(f), 1);
  assert_int_equal(mt_future_is_cancelled(f), 1);
  assert_int_equal(mt_future_is_done(f), 1);
  assert_code(mt_future_result(f, MT_FOREVER, NULL), MT_ECANCELLED);
  assert_code(mt_future_exception(f, MT_FOREVER, NULL), MT_ECANCELLED);
  assert_code(mt_future_set_running_or_notify_cancel(f), 0);
  assert_code(mt_future_set_result(f, (mt_value_t){0}), MT_EBUSY);
  mt_future_free(f);
}

static void exception_is_not_a_timeout(void **state) {
  (void)state;
  mt_future_t *f = mt_future_new();
  /* the task's own error may be MT_ETIMEDOUT: result says ETASKFAILED */
  assert_code(mt_future_set_exception(f, MT_ETIMEDOUT, "upstream timed out"), 0);
  assert_code(mt_future_result(f, 0, NULL), MT_ETASKFAILED);
  mt_task_error_t e;
  assert_code(mt_future_exception(f, 0, &e), 0);
  assert_int_equal(e.code, MT_ETIMEDOUT);
  assert_string_equal(e.message, "upstream timed out");
  mt_future_free(f);

  f = mt_future_new();
  assert_code(mt_future_set_error(f, MT_EBROKEN, NULL), 0);
  assert_code(mt_future_result(f, 0, NULL), MT_EBROKEN);
  assert_code(mt_future_exception(f, 0, &e), 0);
  assert_int_equal(e.code, MT_EBROKEN);
  assert_string_equal(e.message, "");
  mt_future_free(f);
}

static void result_timeout_not_before_deadline(void **state) {
  (void)state;
  mt_future_t *f = mt_future_new();
  double t0 = now();
  assert_code(mt_future_result(f, 0.05, NULL), MT_ETIMEDOUT);
  assert_true(now() - t0 >= 0.05);
  t0 = now();
  assert_code(mt_future_exception(f, 0.02, NULL), MT_ETIMEDOUT);
  assert_true(now() - t0 >= 0.02);
  mt_future_free(f);
}

static void error_paths(void **state) {
  (void)state;
  mt_future_t *f = mt_future_new();
  assert_code(mt_future_result(NULL, 0, NULL), MT_EINVAL);
  assert_code(mt_future_result(f, -2, NULL), MT_EINVAL);
  assert_code(mt_future_result(f, NAN, NULL), MT_EINVAL);
  assert_code(mt_future_take_result(f, 0, NULL), MT_EINVAL);
  assert_code(mt_future_exception(NULL, 0, NULL), MT_EINVAL);
  assert_code(mt_future_state(NULL), MT_EINVAL);
  assert_code(mt_future_is_done(NULL), MT_EINVAL);
  assert_code(mt_future_cancel(NULL), MT_EINVAL);
  assert_code(mt_future_cancel_running(NULL), MT_EINVAL);
  assert_code(mt_future_set_result(NULL, (mt_value_t){0}), MT_EINVAL);
  assert_code(mt_future_set_exception(f, 0, "no"), MT_EINVAL);
  assert_code(mt_future_set_exception(f, 5, "no"), MT_EINVAL);
  assert_code(mt_future_add_done_callback(NULL, NULL, NULL), MT_EINVAL);
  assert_code(mt_future_add_done_callback(f, NULL, NULL), MT_EINVAL);
  assert_code(mt_future_set_running_or_notify_cancel(NULL), MT_EINVAL);
  assert_code(mt_future_wait(NULL, 1, 0, MT_ALL_COMPLETED, NULL, NULL, NULL), MT_EINVAL);
  assert_code(mt_future_wait(&f, -1, 0, MT_ALL_COMPLETED, NULL, NULL, NULL), MT_EINVAL);
  assert_code(mt_future_wait(&f, 1, 0, 99, NULL, NULL, NULL), MT_EINVAL);
  assert_code(mt_future_wait(&f, 1, -5, MT_ALL_COMPLETED, NULL, NULL, NULL), MT_EINVAL);
  mt_future_t *nul = NULL;
  assert_code(mt_future_wait(&nul, 1, 0, MT_ALL_COMPLETED, NULL, NULL, NULL), MT_EINVAL);
  assert_null(mt_as_completed_new(&f, 1, -3));
  assert_int_equal(errno, EINVAL);
  assert_code(mt_as_completed_next(NULL, &f), MT_EINVAL);
  assert_int_equal(mt_task_is_cancelled(), 0);
  assert_null(mt_task_current());
  mt_future_free(NULL);
  mt_as_completed_free(NULL);
  mt_future_free(f);
}

typedef struct {
  int order[8];
  int n;
} log_t;
static void log_cb(mt_future_t *f, void *arg) {
  log_t *l = arg;
  assert_int_equal(mt_future_is_done(f), 1);
  l->order[l->n] = l->n;
  l->n++;
}

static void callbacks_in_order_and_immediate(void **state) {
  (void)state;
  log_t l = {0};
  mt_future_t *f = mt_future_new();
  for (int i = 0; i < 3; i++) assert_code(mt_future_add_done_callback(f, log_cb, &l), 0);
  assert_int_equal(l.n, 0);
  assert_code(mt_future_set_result(f, (mt_value_t){0}), 0);
  assert_int_equal(l.n, 3);
  assert_code(mt_future_add_done_callback(f, log_cb, &l), 0); /* at once */
  assert_int_equal(l.n, 4);
  mt_future_free(f);

  /* cancel notifies callbacks too */
  l.n = 0;
  f = mt_future_new();
  assert_code(mt_future_add_done_callback(f, log_cb, &l), 0);
  assert_code(mt_future_cancel(f), 1);
  assert_int_equal(l.n, 1);
  mt_future_free(f);
}

static void refs(void **state) {
  (void)state;
  mt_future_t *f = mt_future_new();
  assert_ptr_equal(mt_future_ref(f), f);
  mt_future_free(f);
  assert_int_equal(mt_future_state(f), MT_FUTURE_PENDING); /* still alive */
  mt_future_free(f);
}

static int hook_calls;
static int kill_hook(mt_future_t *f, void *ctx) {
  assert_ptr_equal(ctx, &hook_calls);
  hook_calls++;
  /* a process executor would kill the worker; the future then fails */
  return mt_future_set_error(f, MT_EWORKERDIED, "worker killed on request");
}

static void cancel_running_calls_the_executor_hook(void **state) {
  (void)state;
  mt_future_t *f = mt_future_new();
  assert_code(mt_future_set_cancel_hook(NULL, kill_hook, NULL), MT_EINVAL);
  assert_code(mt_future_set_cancel_hook(f, NULL, NULL), MT_EINVAL);
  assert_code(mt_future_set_cancel_hook(f, kill_hook, &hook_calls), 0);
  assert_code(mt_future_set_running_or_notify_cancel(f), 1);
  assert_int_equal(mt_future_is_cancel_requested(f), 0);
  assert_code(mt_future_cancel_running(f), 0);
  assert_int_equal(hook_calls, 1);
  assert_int_equal(mt_future_is_cancel_requested(f), 1);
  assert_code(mt_future_result(f, 0, NULL), MT_EWORKERDIED);
  assert_code(mt_future_cancel_running(f), 0); /* done: no second call */
  assert_int_equal(hook_calls, 1);
  mt_future_free(f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(states_and_result),
      cmocka_unit_test(take_result_moves),
      cmocka_unit_test(cancel_pending),
      cmocka_unit_test(exception_is_not_a_timeout),
      cmocka_unit_test(result_timeout_not_before_deadline),
      cmocka_unit_test(error_paths),
      cmocka_unit_test(callbacks_in_order_and_immediate),
      cmocka_unit_test(refs),
      cmocka_unit_test(cancel_running_calls_the_executor_hook),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
