/* Issue 12: mt_executor_free (thread pool) and mt_timer_free never block.
 * Each frees an object whose work is parked on the event `go`, which the
 * test sets only after free returned (free_bg.h); then the work must still
 * complete, and the object must be released in the background: the worker
 * thread's exit is observed through a threading.local destructor (it runs
 * after the pool's last reference was dropped), the timer's through a
 * second timer that the one timer thread runs after the first one's
 * release; ASan/LSan check the memory. */
#include "free_bg.h"
#include "wait/wait.h"

static mt_event_t *go;
static mt_local_t *gone_local;
static uint32_t gone; /* worker threads that have exited */

static void on_thread_exit(void *v) {
  (void)v;
  __atomic_add_fetch(&gone, 1, __ATOMIC_SEQ_CST);
  mt__wake_word(&gone, INT32_MAX, false);
}

static void wait_gone(uint32_t n) {
  for (uint32_t g; (g = __atomic_load_n(&gone, __ATOMIC_SEQ_CST)) < n;)
    mt__wait_word(&gone, g, false, MT__NO_DEADLINE);
}

static int t_wait_go(void *arg, mt_value_t *out) {
  mt_local_set(gone_local, arg); /* destructor: when this worker exits */
  assert_code(mt_event_wait(go, MT_FOREVER), 0);
  out->ptr = arg;
  return 0;
}

static void ex_free(void *ex) { mt_executor_free(ex); }

static void executor_free_with_work_pending(void **state) {
  (void)state;
  go = mt_event_new(0);
  gone_local = mt_local_new(on_thread_exit);
  __atomic_store_n(&gone, 0, __ATOMIC_SEQ_CST);
  mt_thread_pool_opts_t o = MT_THREAD_POOL_OPTS_INIT;
  o.max_workers = 1; /* one task runs (parked on go), the others queue */
  mt_executor_t *ex = mt_executor_new_thread_pool(&o);
  assert_non_null(ex);
  enum { N = 4 };
  mt_future_t *fs[N];
  for (intptr_t i = 0; i < N; i++)
    assert_code(mt_executor_submit(ex, t_wait_go, (void *)(i + 1), &fs[i]), 0);
  free_bg_returns("mt_executor_free (thread pool)", ex_free, ex, go);
  for (intptr_t i = 0; i < N; i++) { /* the queued work still ran */
    mt_value_t v;
    assert_code(mt_future_result(fs[i], MT_FOREVER, &v), 0);
    assert_ptr_equal(v.ptr, (void *)(i + 1));
    mt_future_free(fs[i]);
  }
  wait_gone(1); /* the worker left after dropping the pool's last reference */
  mt_local_free(gone_local);
  mt_event_free(go);
}

/* ---- timer --------------------------------------------------------------- */

static mt_event_t *entered;
static int cb_done;

static void cb_wait_go(void *arg) {
  (void)arg;
  mt_event_set(entered);
  mt_event_wait(go, MT_FOREVER);
  __atomic_store_n(&cb_done, 1, __ATOMIC_SEQ_CST);
}

static void cb_nothing(void *arg) { (void)arg; }

static void tm_free(void *t) { mt_timer_free(t); }

static void timer_free_while_callback_runs(void **state) {
  (void)state;
  go = mt_event_new(0);
  entered = mt_event_new(0);
  mt_timer_t *t = mt_timer_new(0, cb_wait_go, NULL);
  assert_non_null(t);
  assert_code(mt_timer_start(t), 0);
  assert_code(mt_event_wait(entered, MT_FOREVER), 0); /* the callback runs */
  free_bg_returns("mt_timer_free (callback running)", tm_free, t, go);
  /* The one timer thread runs the next timer only after the first
   * callback returned and its timer was released. */
  mt_timer_t *next = mt_timer_new(0, cb_nothing, NULL);
  assert_code(mt_timer_start(next), 0);
  assert_code(mt_timer_join(next, MT_FOREVER), 0);
  assert_int_equal(__atomic_load_n(&cb_done, __ATOMIC_SEQ_CST), 1);
  mt_timer_free(next);
  mt_event_free(entered);
  mt_event_free(go);
}

/* ---- shutdown(wait) takes a timeout (issue 12) ---------------------------- */

static void executor_shutdown_takes_a_timeout(void **state) {
  (void)state;
  go = mt_event_new(0);
  gone_local = mt_local_new(NULL);
  mt_executor_t *ex = mt_executor_new_thread_pool(NULL);
  mt_future_t *f;
  assert_code(mt_executor_submit(ex, t_wait_go, (void *)1, &f), 0);
  assert_code(mt_executor_shutdown(ex, true, false, -2), MT_EINVAL);
  assert_code(mt_executor_shutdown(ex, true, false, 0), MT_ETIMEDOUT); /* task parked */
  assert_code(mt_executor_shutdown(ex, true, false, 0.01), MT_ETIMEDOUT);
  mt_event_set(go);
  assert_code(mt_executor_shutdown(ex, true, false, MT_FOREVER), 0);
  assert_code(mt_future_result(f, 0, NULL), 0);
  mt_future_free(f);
  mt_executor_free(ex);
  mt_local_free(gone_local);
  mt_event_free(go);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(executor_free_with_work_pending),
      cmocka_unit_test(timer_free_while_callback_runs),
      cmocka_unit_test(executor_shutdown_takes_a_timeout),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
