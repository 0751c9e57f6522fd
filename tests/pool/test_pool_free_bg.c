/* Issue 12: mt_pool_free and mt_executor_free (process pool) never block.
 * The tasks wait on an MT_SHARED event that the test sets only after free
 * returned (free_bg.h).  A closed pool then still runs its queued work to
 * the end in the background; an open pool is terminated (Python's `with
 * Pool()` exit) in the background.  The pool's release is observed through
 * a threading.local destructor set in a callback, which runs on the pool's
 * manager thread: it fires when that thread exits, after the manager has
 * released the pool (ASan/LSan check the memory). */
#include "free_bg.h"
#include "tasks.h"
#include "wait/wait.h"

static mt_event_t *go; /* MT_SHARED: the workers wait on it */
static mt_local_t *gone_local;
static uint32_t gone;

static void on_thread_exit(void *v) {
  (void)v;
  __atomic_add_fetch(&gone, 1, __ATOMIC_SEQ_CST);
  mt__wake_word(&gone, INT32_MAX, false);
}

static void wait_gone(void) {
  while (!__atomic_load_n(&gone, __ATOMIC_SEQ_CST))
    mt__wait_word(&gone, 0, false, MT__NO_DEADLINE);
}

static void mark_manager(const mt_value_t *r, void *arg) {
  (void)r, (void)arg;
  mt_local_set(gone_local, &gone); /* runs on the manager thread */
}

static int t_nothing(const void *in, size_t len, mt_value_t *out) {
  (void)in, (void)len, (void)out;
  return 0;
}

static int t_wait_go(const void *in, size_t len, mt_value_t *out) {
  (void)len;
  if (mt_event_wait(go, MT_FOREVER) != 0) return MT_EINVAL;
  out->ptr = (void *)(intptr_t)as_i64(in);
  return 0;
}

static void setup_events(void) {
  go = mt_event_new(MT_SHARED);
  assert_non_null(go);
  gone_local = mt_local_new(on_thread_exit);
  __atomic_store_n(&gone, 0, __ATOMIC_SEQ_CST);
}

static void teardown_events(void) {
  mt_local_free(gone_local);
  mt_event_free(go);
}

static void pool_free(void *p) { mt_pool_free(p); }

enum { N = 4 };

/* Marks the manager thread (a quick task's callback), then submits N tasks
 * parked on go. */
static void submit_all(mt_pool_t *p, mt_future_t **fs, int64_t *vals) {
  mt_pool_task_opts_t o = MT_POOL_TASK_OPTS_INIT;
  o.callback = mark_manager;
  mt_future_t *mark;
  assert_code(mt_pool_apply_async(p, t_nothing, NULL, 0, &o, &mark), 0);
  assert_code(mt_future_result(mark, MT_FOREVER, NULL), 0);
  mt_future_free(mark);
  for (int i = 0; i < N; i++) {
    vals[i] = i + 1;
    assert_code(mt_pool_apply_async(p, t_wait_go, &vals[i], sizeof vals[i], NULL, &fs[i]), 0);
  }
}

static void closed_pool_free_with_work_pending(void **state) {
  (void)state;
  setup_events();
  mt_pool_opts_t po = MT_POOL_OPTS_INIT;
  po.processes = 1; /* one task runs (parked on go), the others queue */
  mt_pool_t *p = mt_pool_new(&po);
  assert_non_null(p);
  mt_future_t *fs[N];
  int64_t vals[N];
  submit_all(p, fs, vals);
  assert_code(mt_pool_close(p), 0);
  free_bg_returns("mt_pool_free (closed, work queued)", pool_free, p, go);
  for (int i = 0; i < N; i++) { /* the queued work still ran to its end */
    mt_value_t v;
    assert_code(mt_future_result(fs[i], MT_FOREVER, &v), 0);
    assert_ptr_equal(v.ptr, (void *)(intptr_t)(i + 1));
    mt_future_free(fs[i]);
  }
  wait_gone(); /* the manager released the pool and left */
  teardown_events();
}

static void open_pool_free_terminates_in_background(void **state) {
  (void)state;
  setup_events();
  mt_pool_opts_t po = MT_POOL_OPTS_INIT;
  po.processes = 1;
  po.grace = MT_FOREVER; /* SIGTERM only: the terminate takes what it takes */
  mt_pool_t *p = mt_pool_new(&po);
  assert_non_null(p);
  mt_future_t *fs[N];
  int64_t vals[N];
  submit_all(p, fs, vals);
  free_bg_returns("mt_pool_free (open, work queued)", pool_free, p, go);
  /* Python's `with Pool()` exit terminates: nothing queued runs; the
   * running task either finished (go was set) or was cancelled. */
  for (int i = 0; i < N; i++) {
    int r = mt_future_result(fs[i], MT_FOREVER, NULL);
    if (r != 0) assert_code(r, MT_ECANCELLED);
    if (i > 0) assert_code(r, MT_ECANCELLED);
    mt_future_free(fs[i]);
  }
  wait_gone();
  teardown_events();
}

/* ---- ProcessPoolExecutor ------------------------------------------------ */

static int t_exec_wait_go(void *arg, mt_value_t *out) {
  if (mt_event_wait(go, MT_FOREVER) != 0) return MT_EINVAL;
  out->ptr = arg;
  return 0;
}

static void ex_free(void *ex) { mt_executor_free(ex); }

static void process_executor_free_with_work_pending(void **state) {
  (void)state;
  setup_events();
  mt_process_pool_opts_t o = MT_PROCESS_POOL_OPTS_INIT;
  o.max_workers = 1;
  mt_executor_t *ex = mt_executor_new_process_pool(&o);
  assert_non_null(ex);
  mt_future_t *fs[N];
  for (intptr_t i = 0; i < N; i++)
    assert_code(mt_executor_submit(ex, t_exec_wait_go, (void *)(i + 1), &fs[i]), 0);
  free_bg_returns("mt_executor_free (process pool)", ex_free, ex, go);
  for (intptr_t i = 0; i < N; i++) {
    mt_value_t v;
    assert_code(mt_future_result(fs[i], MT_FOREVER, &v), 0);
    assert_ptr_equal(v.ptr, (void *)(i + 1));
    mt_future_free(fs[i]);
  }
  teardown_events();
}

/* ---- every blocking pool call takes a timeout (issue 12) ---------------- */

static void pool_calls_take_a_timeout(void **state) {
  (void)state;
  setup_events();
  mt_pool_opts_t po = MT_POOL_OPTS_INIT;
  po.processes = 1;
  mt_pool_t *p = mt_pool_new(&po);
  assert_non_null(p);
  int64_t x = 7;
  mt_bytes_t item = {&x, sizeof x};
  mt_pool_result_t res[1];
  mt_value_t v;
  /* other negatives are bad input */
  assert_code(mt_pool_apply(p, t_wait_go, &x, sizeof x, -2, &v), MT_EINVAL);
  assert_code(mt_pool_map(p, t_wait_go, &item, 1, 1, -2, res), MT_EINVAL);
  assert_code(mt_pool_terminate(p, -2), MT_EINVAL);
  assert_code(mt_pool_join(p, -2), MT_EINVAL);
  /* the task waits for go: apply and map give up at their deadline */
  assert_code(mt_pool_apply(p, t_wait_go, &x, sizeof x, 0, &v), MT_ETIMEDOUT);
  assert_code(mt_pool_map(p, t_wait_go, &item, 1, 1, 0.05, res), MT_ETIMEDOUT);
  assert_null(res[0].value.ptr);
  assert_code(mt_event_set(go), 0);
  assert_code(mt_pool_close(p), 0);
  assert_code(mt_pool_join(p, MT_FOREVER), 0);
  mt_pool_free(p);

  /* terminate(timeout): a task that ignores SIGTERM lives until the
   * grace's SIGKILL, so terminate(0) returns before the workers are gone */
  started_pipe();
  po.grace = 1.0;
  p = mt_pool_new(&po);
  assert_non_null(p);
  char ignore_term = 1;
  mt_future_t *f;
  assert_code(mt_pool_apply_async(p, t_block, &ignore_term, 1, NULL, &f), 0);
  wait_started();
  assert_code(mt_pool_terminate(p, 0), MT_ETIMEDOUT);
  assert_code(mt_pool_join(p, 0), MT_ETIMEDOUT);
  assert_code(mt_pool_terminate(p, MT_FOREVER), 0); /* SIGKILL after the grace */
  assert_code(mt_future_result(f, MT_FOREVER, NULL), MT_ECANCELLED);
  mt_future_free(f);
  mt_pool_free(p);
  teardown_events();
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(closed_pool_free_with_work_pending),
      cmocka_unit_test(open_pool_free_terminates_in_background),
      cmocka_unit_test(process_executor_free_with_work_pending),
      cmocka_unit_test(pool_calls_take_a_timeout),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
