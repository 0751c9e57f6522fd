/* Future API tour: cancel, cancelled, running, done, result(timeout),
 * exception, and cancel_running for work that already started. */
#include <multitask.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

static mt_future_t *gate; /* a hand-made Future used as a start signal */

static int slow_add(void *arg, mt_value_t *out) {
  mt_future_result(gate, MT_FOREVER, NULL);
  out->ptr = (void *)((intptr_t)arg + 1);
  return 0;
}

static int divide(void *arg, mt_value_t *out) {
  (void)out;
  if (arg == NULL) return mt_task_fail(MT_ERANGE, "division by zero");
  return 0;
}

static int loop_until_cancelled(void *arg, mt_value_t *out) {
  (void)out;
  __atomic_store_n((int *)arg, 1, __ATOMIC_SEQ_CST);
  while (!mt_task_is_cancelled()) sched_yield();
  return mt_task_fail(MT_ECANCELLED, "stopped politely");
}

int main(void) {
  mt_thread_pool_opts_t opts = MT_THREAD_POOL_OPTS_INIT;
  opts.max_workers = 1;
  mt_executor_t *ex = mt_executor_new_thread_pool(&opts);
  gate = mt_future_new();
  mt_future_t *a, *b;
  mt_executor_submit(ex, slow_add, (void *)41, &a);
  mt_executor_submit(ex, slow_add, (void *)1, &b); /* queued behind a */
  int c1 = mt_future_cancel(b);
  printf("b.cancel() -> %d, b.cancelled() -> %d, b.done() -> %d\n", c1,
         mt_future_is_cancelled(b), mt_future_is_done(b));
  int r = mt_future_result(a, 0.1, NULL);
  printf("a.result(timeout=0.1) -> %s (a.running() -> %d)\n", mt_err_name(r),
         mt_future_is_running(a));
  mt_future_set_result(gate, (mt_value_t){0}); /* let a finish */
  mt_value_t v;
  r = mt_future_result(a, MT_FOREVER, &v);
  printf("a.result() -> %s, value %ld, a.done() -> %d\n", mt_err_name(r),
         (long)(intptr_t)v.ptr, mt_future_is_done(a));

  mt_future_t *c;
  mt_executor_submit(ex, divide, NULL, &c);
  r = mt_future_result(c, MT_FOREVER, NULL);
  mt_task_error_t e;
  mt_future_exception(c, MT_FOREVER, &e);
  printf("c.result() -> %s; c.exception() -> %s \"%s\"\n", mt_err_name(r),
         mt_err_name(e.code), e.message);

  int started = 0;
  mt_future_t *d;
  mt_executor_submit(ex, loop_until_cancelled, &started, &d);
  while (!__atomic_load_n(&started, __ATOMIC_SEQ_CST)) sched_yield();
  int c2 = mt_future_cancel(d);
  printf("d.cancel() on running work -> %d; ", c2);
  printf("cancel_running(d) -> %d\n", mt_future_cancel_running(d));
  mt_future_exception(d, MT_FOREVER, &e);
  printf("d ended: %s \"%s\"\n", mt_err_name(e.code), e.message);

  mt_future_free(a);
  mt_future_free(b);
  mt_future_free(c);
  mt_future_free(d);
  mt_future_free(gate);
  mt_executor_free(ex);
  return 0;
}
