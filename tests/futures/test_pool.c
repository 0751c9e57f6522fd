/* ThreadPoolExecutor: throughput with exact totals, map order, shutdown
 * with cancel_futures, broken pools, idle reuse, resize, cancel_running,
 * the scoped form, callbacks that submit, and every error path. */
#include "mt_test.h"

#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static mt_executor_t *pool(int n, const char *prefix) {
  mt_thread_pool_opts_t o = MT_THREAD_POOL_OPTS_INIT;
  o.max_workers = n;
  o.thread_name_prefix = prefix;
  mt_executor_t *ex = mt_executor_new_thread_pool(&o);
  assert_non_null(ex);
  return ex;
}

static int twice(void *arg, mt_value_t *out) {
  out->ptr = (void *)((intptr_t)arg * 2);
  return 0;
}

static void million_trivial_tasks(void **state) {
  (void)state;
  long n = mt_test_scaled(1000000, 2000);
  mt_executor_t *ex = pool(4, NULL);
  mt_future_t **fs = malloc(sizeof *fs * (size_t)n);
  for (long i = 0; i < n; i++)
    assert_code(mt_executor_submit(ex, twice, (void *)(intptr_t)i, &fs[i]), 0);
  for (long i = 0; i < n; i++) {
    mt_value_t v;
    assert_code(mt_future_result(fs[i], MT_FOREVER, &v), 0);
    assert_int_equal((intptr_t)v.ptr, 2 * i);
    mt_future_free(fs[i]);
  }
  assert_true(mt_executor_thread_count(ex) <= 4);
  mt_executor_free(ex);
  free(fs);
}

/* A gate: tasks block on a hand-made future until the test opens it. */
static mt_future_t *gate;
static int wait_gate(void *arg, mt_value_t *out) {
  (void)out;
  if (arg) __atomic_fetch_add((int *)arg, 1, __ATOMIC_SEQ_CST);
  return mt_future_result(gate, MT_FOREVER, NULL);
}
static void open_gate(void) { assert_code(mt_future_set_result(gate, (mt_value_t){0}), 0); }

static int counter;
static int count_task(void *arg, mt_value_t *out) {
  (void)arg;
  (void)out;
  __atomic_fetch_add(&counter, 1, __ATOMIC_SEQ_CST);
  return 0;
}

static void shutdown_cancel_futures(void **state) {
  (void)state;
  long n = mt_test_scaled(10000, 200);
  gate = mt_future_new();
  counter = 0;
  int started = 0;
  mt_executor_t *ex = pool(1, NULL);
  mt_future_t *blocker;
  assert_code(mt_executor_submit(ex, wait_gate, &started, &blocker), 0);
  while (!__atomic_load_n(&started, __ATOMIC_SEQ_CST)) sched_yield();
  mt_future_t **fs = malloc(sizeof *fs * (size_t)n);
  for (long i = 0; i < n; i++) assert_code(mt_executor_submit(ex, count_task, NULL, &fs[i]), 0);
  assert_code(mt_executor_shutdown(ex, false, true, MT_FOREVER), 0);
  mt_future_t *late;
  assert_code(mt_executor_submit(ex, count_task, NULL, &late), MT_ECLOSED);
  open_gate();
  assert_code(mt_executor_shutdown(ex, true, false, MT_FOREVER), 0);
  long cancelled = 0;
  for (long i = 0; i < n; i++) {
    assert_int_equal(mt_future_is_done(fs[i]), 1);
    if (mt_future_is_cancelled(fs[i])) cancelled++;
    mt_future_free(fs[i]);
  }
  assert_int_equal(cancelled, n);
  assert_int_equal(counter, 0);
  assert_code(mt_future_result(blocker, 0, NULL), 0);
  mt_future_free(blocker);
  mt_future_free(gate);
  mt_executor_free(ex);
  free(fs);
}

/* The sleeps below are task DURATIONS (the issue asks for map under random
 * durations, and for a map whose deadline expires while work still runs);
 * no test synchronises on them. */
static int sleepy_square(void *arg, mt_value_t *out) {
  intptr_t i = (intptr_t)arg;
  struct timespec ts = {0, (long)((i * 7919) % 13) * 20000};
  nanosleep(&ts, NULL);
  out->ptr = (void *)(i * i);
  return 0;
}

static void map_keeps_input_order(void **state) {
  (void)state;
  size_t n = 300;
  void **args = malloc(n * sizeof *args);
  mt_value_t *res = malloc(n * sizeof *res);
  for (size_t i = 0; i < n; i++) args[i] = (void *)(intptr_t)i;
  mt_executor_t *ex = pool(4, NULL);
  size_t sizes[] = {1, 0, 7, 1000};
  for (int k = 0; k < 4; k++) {
    assert_code(mt_executor_map(ex, sleepy_square, args, n, MT_FOREVER, sizes[k], res, NULL), 0);
    for (size_t i = 0; i < n; i++) assert_int_equal((intptr_t)res[i].ptr, (intptr_t)(i * i));
  }
  assert_code(mt_executor_map(ex, sleepy_square, args, 0, 0, 0, res, NULL), 0);
  mt_executor_free(ex);
  free(args);
  free(res);
}

static int fail_at_7(void *arg, mt_value_t *out) {
  intptr_t i = (intptr_t)arg;
  if (i == 7) return mt_task_fail(MT_ERANGE, "item %d is bad", (int)i);
  out->ptr = (void *)(i + 1);
  return 0;
}

static int slow(void *arg, mt_value_t *out) {
  (void)arg;
  (void)out;
  struct timespec ts = {0, 100 * 1000 * 1000};
  nanosleep(&ts, NULL);
  return 0;
}

static void map_failure_and_timeout(void **state) {
  (void)state;
  void *args[20];
  mt_value_t res[20];
  for (int i = 0; i < 20; i++) args[i] = (void *)(intptr_t)i;
  mt_executor_t *ex = pool(2, NULL);
  size_t bad = 99;
  assert_code(mt_executor_map(ex, fail_at_7, args, 20, MT_FOREVER, 3, res, &bad), MT_ETASKFAILED);
  assert_int_equal(bad, 7);
  for (int i = 0; i < 7; i++) assert_int_equal((intptr_t)res[i].ptr, i + 1);
  for (int i = 7; i < 20; i++) assert_null(res[i].ptr);
  double t0 = now();
  assert_code(mt_executor_map(ex, slow, args, 6, 0.05, 1, res, NULL), MT_ETIMEDOUT);
  assert_true(now() - t0 >= 0.05);
  assert_code(mt_executor_map(ex, slow, args, 6, -3, 1, res, NULL), MT_EINVAL);
  assert_code(mt_executor_map(NULL, slow, args, 6, 0, 1, res, NULL), MT_EINVAL);
  assert_code(mt_executor_map(ex, NULL, args, 6, 0, 1, res, NULL), MT_EINVAL);
  assert_code(mt_executor_map(ex, slow, NULL, 6, 0, 1, res, NULL), MT_EINVAL);
  mt_executor_free(ex);
}

static int init_calls;
static int bad_init(void *arg) {
  (void)arg;
  __atomic_fetch_add(&init_calls, 1, __ATOMIC_SEQ_CST);
  return -1;
}
static int good_init(void *arg) {
  __atomic_fetch_add((int *)arg, 1, __ATOMIC_SEQ_CST);
  return 0;
}

static void initializer_failure_breaks_pool(void **state) {
  (void)state;
  mt_thread_pool_opts_t o = MT_THREAD_POOL_OPTS_INIT;
  o.max_workers = 2;
  o.initializer = bad_init;
  mt_executor_t *ex = mt_executor_new_thread_pool(&o);
  mt_future_t *fs[5];
  int submitted = 0;
  for (int i = 0; i < 5; i++) {
    int r = mt_executor_submit(ex, count_task, NULL, &fs[submitted]);
    if (r == MT_EBROKEN) break;
    assert_code(r, 0);
    submitted++;
  }
  assert_true(submitted >= 1);
  for (int i = 0; i < submitted; i++) {
    assert_code(mt_future_result(fs[i], MT_FOREVER, NULL), MT_EBROKEN);
    mt_task_error_t e;
    assert_code(mt_future_exception(fs[i], 0, &e), 0);
    assert_int_equal(e.code, MT_EBROKEN);
    assert_true(strlen(e.message) > 0);
    mt_future_free(fs[i]);
  }
  mt_future_t *f;
  assert_code(mt_executor_submit(ex, count_task, NULL, &f), MT_EBROKEN);
  mt_executor_free(ex); /* does not wait: the second worker may still be in bad_init */
  assert_true(__atomic_load_n(&init_calls, __ATOMIC_SEQ_CST) >= 1);

  int inits = 0;
  o = (mt_thread_pool_opts_t)MT_THREAD_POOL_OPTS_INIT;
  o.max_workers = 2;
  o.initializer = good_init;
  o.initarg = &inits;
  ex = mt_executor_new_thread_pool(&o);
  assert_code(mt_executor_submit(ex, count_task, NULL, &f), 0);
  assert_code(mt_future_result(f, MT_FOREVER, NULL), 0);
  mt_future_free(f);
  mt_executor_free(ex);
  assert_int_equal(inits, 1);
}

static void idle_workers_are_reused(void **state) {
  (void)state;
  mt_executor_t *ex = pool(4, NULL);
  assert_int_equal(mt_executor_thread_count(ex), 0); /* lazy */
  for (int i = 0; i < 50; i++) {
    mt_future_t *f;
    assert_code(mt_executor_submit(ex, twice, (void *)1, &f), 0);
    assert_code(mt_future_result(f, MT_FOREVER, NULL), 0);
    mt_future_free(f);
  }
  assert_int_equal(mt_executor_thread_count(ex), 1);
  mt_executor_free(ex);
}

static void wait_threads(mt_executor_t *ex, int n) {
  double t0 = now();
  while (mt_executor_thread_count(ex) != n) {
    assert_true(now() - t0 < 10);
    sched_yield();
  }
}

static void resize_at_run_time(void **state) {
  (void)state;
  gate = mt_future_new();
  int started = 0;
  mt_executor_t *ex = pool(4, NULL);
  assert_int_equal(mt_executor_max_workers(ex), 4);
  mt_future_t *fs[4];
  for (int i = 0; i < 4; i++) assert_code(mt_executor_submit(ex, wait_gate, &started, &fs[i]), 0);
  while (__atomic_load_n(&started, __ATOMIC_SEQ_CST) < 4) sched_yield();
  assert_int_equal(mt_executor_thread_count(ex), 4);
  assert_code(mt_executor_resize(ex, 1), 0);
  assert_int_equal(mt_executor_max_workers(ex), 1);
  assert_int_equal(mt_executor_thread_count(ex), 4); /* busy ones stay */
  open_gate();
  for (int i = 0; i < 4; i++) {
    assert_code(mt_future_result(fs[i], MT_FOREVER, NULL), 0);
    mt_future_free(fs[i]);
  }
  wait_threads(ex, 1);
  assert_code(mt_executor_resize(ex, 0), MT_EINVAL);
  assert_code(mt_executor_resize(ex, 3), 0);
  mt_future_free(gate);
  gate = mt_future_new();
  started = 0;
  for (int i = 0; i < 3; i++) assert_code(mt_executor_submit(ex, wait_gate, &started, &fs[i]), 0);
  while (__atomic_load_n(&started, __ATOMIC_SEQ_CST) < 3) sched_yield();
  assert_int_equal(mt_executor_thread_count(ex), 3);
  open_gate();
  for (int i = 0; i < 3; i++) {
    assert_code(mt_future_result(fs[i], MT_FOREVER, NULL), 0);
    mt_future_free(fs[i]);
  }
  mt_future_free(gate);
  assert_code(mt_executor_shutdown(ex, true, false, MT_FOREVER), 0);
  assert_int_equal(mt_executor_thread_count(ex), 0);
  assert_code(mt_executor_resize(ex, 2), MT_ECLOSED);
  mt_executor_free(ex);
}

static int until_cancelled(void *arg, mt_value_t *out) {
  (void)out;
  __atomic_store_n((int *)arg, 1, __ATOMIC_SEQ_CST);
  while (!mt_task_is_cancelled()) sched_yield();
  assert_non_null(mt_task_current());
  return mt_task_fail(MT_ECANCELLED, "stopped on request");
}

static void cancel_running_sets_the_flag(void **state) {
  (void)state;
  int started = 0;
  mt_executor_t *ex = pool(1, NULL);
  mt_future_t *f, *g;
  assert_code(mt_executor_submit(ex, until_cancelled, &started, &f), 0);
  assert_code(mt_executor_submit(ex, count_task, NULL, &g), 0);
  while (!__atomic_load_n(&started, __ATOMIC_SEQ_CST)) sched_yield();
  assert_code(mt_future_cancel(f), 0); /* Python's cancel: not when running */
  assert_code(mt_future_cancel_running(g), 1); /* pending: plain cancel */
  assert_code(mt_future_cancel_running(f), 0);
  assert_int_equal(mt_future_is_cancel_requested(f), 1);
  assert_code(mt_future_result(f, MT_FOREVER, NULL), MT_ETASKFAILED);
  mt_task_error_t e;
  assert_code(mt_future_exception(f, 0, &e), 0);
  assert_int_equal(e.code, MT_ECANCELLED);
  assert_string_equal(e.message, "stopped on request");
  assert_code(mt_future_result(g, MT_FOREVER, NULL), MT_ECANCELLED);
  assert_code(mt_future_cancel_running(f), 0); /* finished */
  mt_future_free(f);
  mt_future_free(g);
  mt_executor_free(ex);
}

static void scoped_executor_waits(void **state) {
  (void)state;
  counter = 0;
  {
    mt_executor_t *ex MT_WITH_EXECUTOR = pool(3, NULL);
    for (int i = 0; i < 100; i++) {
      mt_future_t *f;
      assert_code(mt_executor_submit(ex, count_task, NULL, &f), 0);
      mt_future_free(f); /* dropping the future does not drop the work */
    }
  }
  assert_int_equal(__atomic_load_n(&counter, __ATOMIC_SEQ_CST), 100);
}

static mt_executor_t *cb_ex;
static mt_future_t *cb_future;
static void submit_more(mt_future_t *f, void *arg) {
  (void)f;
  (void)arg;
  mt_future_t *g;
  assert_code(mt_executor_submit(cb_ex, twice, (void *)21, &g), 0);
  __atomic_store_n(&cb_future, g, __ATOMIC_SEQ_CST);
}

static void callback_may_submit(void **state) {
  (void)state;
  cb_ex = pool(1, NULL);
  mt_future_t *f;
  gate = mt_future_new();
  assert_code(mt_executor_submit(cb_ex, wait_gate, NULL, &f), 0);
  assert_code(mt_future_add_done_callback(f, submit_more, NULL), 0);
  open_gate();
  assert_code(mt_future_result(f, MT_FOREVER, NULL), 0);
  /* the callback ran in the worker before it published... wait on it */
  while (!__atomic_load_n(&cb_future, __ATOMIC_SEQ_CST)) sched_yield();
  mt_value_t v;
  assert_code(mt_future_result(cb_future, MT_FOREVER, &v), 0);
  assert_int_equal((intptr_t)v.ptr, 42);
  mt_future_free(cb_future);
  mt_future_free(f);
  mt_future_free(gate);
  mt_executor_free(cb_ex);
}

static int ran_flag(void *arg, mt_value_t *out) {
  (void)out;
  __atomic_store_n((int *)arg, 1, __ATOMIC_SEQ_CST);
  return 0;
}

static void cancel_race_never_both(void **state) {
  (void)state;
  long n = mt_test_scaled(20000, 300);
  int *ran = calloc((size_t)n, sizeof *ran);
  mt_future_t **fs = malloc(sizeof *fs * (size_t)n);
  mt_executor_t *ex = pool(2, NULL);
  long cancelled = 0;
  for (long i = 0; i < n; i++) {
    assert_code(mt_executor_submit(ex, ran_flag, &ran[i], &fs[i]), 0);
    if (i % 2) cancelled += mt_future_cancel(fs[i]);
  }
  assert_code(mt_executor_shutdown(ex, true, false, MT_FOREVER), 0);
  long c2 = 0, r2 = 0;
  for (long i = 0; i < n; i++) {
    int c = mt_future_is_cancelled(fs[i]);
    assert_int_equal(c + ran[i], 1); /* exactly one of the two */
    c2 += c;
    r2 += ran[i];
    mt_future_free(fs[i]);
  }
  assert_int_equal(c2, cancelled);
  assert_int_equal(c2 + r2, n);
  mt_executor_free(ex);
  free(ran);
  free(fs);
}

static int get_name(void *arg, mt_value_t *out) {
  (void)out;
  pthread_getname_np(pthread_self(), arg, 16);
  return 0;
}

static void names_and_errors(void **state) {
  (void)state;
  char name[16] = "";
  mt_executor_t *ex = pool(1, "fetch");
  assert_string_equal(mt_executor_kind(ex), "thread");
  mt_future_t *f;
  assert_code(mt_executor_submit(ex, get_name, name, &f), 0);
  assert_code(mt_future_result(f, MT_FOREVER, NULL), 0);
  assert_string_equal(name, "fetch_0");
  mt_future_free(f);
  assert_code(mt_executor_submit(NULL, twice, NULL, &f), MT_EINVAL);
  assert_code(mt_executor_submit(ex, NULL, NULL, &f), MT_EINVAL);
  assert_code(mt_executor_submit(ex, twice, NULL, NULL), MT_EINVAL);
  assert_code(mt_executor_shutdown(NULL, true, false, MT_FOREVER), MT_EINVAL);
  assert_code(mt_executor_resize(NULL, 2), MT_EINVAL);
  assert_code(mt_executor_max_workers(NULL), MT_EINVAL);
  assert_code(mt_executor_thread_count(NULL), MT_EINVAL);
  assert_code(mt_executor_shutdown(ex, true, false, MT_FOREVER), 0);
  assert_code(mt_executor_shutdown(ex, true, true, MT_FOREVER), 0); /* twice is fine */
  assert_code(mt_executor_submit(ex, twice, NULL, &f), MT_ECLOSED);
  mt_executor_free(ex);
  mt_executor_free(NULL);
  assert_null(mt_executor_new(NULL, NULL));
  ex = mt_executor_new_thread_pool(NULL);
  int ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN);
  int want = ncpu + 4 < 32 ? ncpu + 4 : 32;
  assert_true(mt_executor_max_workers(ex) >= 5 && mt_executor_max_workers(ex) <= want);
  mt_executor_free(ex);
}

static int failing(void *arg, mt_value_t *out) {
  (void)arg;
  (void)out;
  return mt_task_fail(MT_EIO, "disk %s", "gone");
}

static void task_failure_keeps_its_error(void **state) {
  (void)state;
  mt_executor_t *ex = pool(2, NULL);
  mt_future_t *f;
  assert_code(mt_executor_submit(ex, failing, NULL, &f), 0);
  assert_code(mt_future_result(f, MT_FOREVER, NULL), MT_ETASKFAILED);
  mt_task_error_t e;
  assert_code(mt_future_exception(f, MT_FOREVER, &e), 0);
  assert_int_equal(e.code, MT_EIO);
  assert_string_equal(e.message, "disk gone");
  mt_future_free(f);
  mt_executor_free(ex);
}

/* A plug-in executor through the public interface: runs work inline. */
static int inline_shut;
static int inline_submit(void *self, mt_task_fn fn, void *arg, mt_future_t **out) {
  (void)self;
  if (inline_shut) return MT_ECLOSED;
  mt_future_t *f = mt_future_new();
  if (!f) return MT_ENOMEM;
  assert_code(mt_future_set_running_or_notify_cancel(f), 1);
  mt_value_t v = {0};
  int r = fn(arg, &v);
  if (r < 0)
    mt_future_set_exception(f, r, NULL);
  else
    mt_future_set_result(f, v);
  *out = f;
  return 0;
}
static int inline_shutdown(void *self, bool wait, bool cancel, double timeout) {
  (void)self;
  (void)wait;
  (void)cancel;
  (void)timeout;
  inline_shut = 1;
  return 0;
}
static int inline_max(void *self) {
  (void)self;
  return 1;
}
static void inline_destroy(void *self) { (void)self; }
static const mt_executor_ops_t inline_ops = {"inline", inline_submit, inline_shutdown, NULL,
                                             inline_max, inline_destroy, NULL};

static void custom_executor_behind_the_same_api(void **state) {
  (void)state;
  void *args[10];
  mt_value_t res[10];
  for (int i = 0; i < 10; i++) args[i] = (void *)(intptr_t)i;
  {
    mt_executor_t *ex MT_WITH_EXECUTOR = mt_executor_new(&inline_ops, NULL);
    assert_non_null(ex);
    assert_string_equal(mt_executor_kind(ex), "inline");
    assert_code(mt_executor_map(ex, twice, args, 10, 1.0, 3, res, NULL), 0);
    for (int i = 0; i < 10; i++) assert_int_equal((intptr_t)res[i].ptr, 2 * i);
    assert_code(mt_executor_resize(ex, 4), MT_ENOTSUP);
    assert_code(mt_executor_thread_count(ex), MT_ENOTSUP);
  }
  assert_int_equal(inline_shut, 1);
}

/* shutdown(wait) from a callback running in one of the pool's own
 * workers returns (it does not wait for itself), and the pool still
 * finishes the queued work. */
static int shutdown_rc = 1;
static void shut_from_worker(mt_future_t *f, void *arg) {
  (void)f;
  __atomic_store_n(&shutdown_rc, mt_executor_shutdown(arg, true, false, MT_FOREVER), __ATOMIC_SEQ_CST);
}

static void shutdown_from_own_worker(void **state) {
  (void)state;
  counter = 0;
  mt_executor_t *ex = pool(2, NULL);
  gate = mt_future_new();
  mt_future_t *f, *g[10];
  assert_code(mt_executor_submit(ex, wait_gate, NULL, &f), 0);
  assert_code(mt_future_add_done_callback(f, shut_from_worker, ex), 0);
  for (int i = 0; i < 10; i++) assert_code(mt_executor_submit(ex, count_task, NULL, &g[i]), 0);
  open_gate();
  assert_code(mt_future_result(f, MT_FOREVER, NULL), 0);
  for (int i = 0; i < 10; i++) {
    assert_code(mt_future_result(g[i], MT_FOREVER, NULL), 0);
    mt_future_free(g[i]);
  }
  /* waits for the worker that ran the callback (free would not wait) */
  assert_code(mt_executor_shutdown(ex, true, false, MT_FOREVER), 0);
  mt_executor_free(ex);
  assert_int_equal(shutdown_rc, 0);
  assert_int_equal(counter, 10);
  mt_future_free(f);
  mt_future_free(gate);
}

/* A task that ends its thread (pthread_exit) still posts a result:
 * MT_EWORKERDIED; the pool replaces the worker and keeps going. */
static int exits_thread(void *arg, mt_value_t *out) {
  (void)arg;
  (void)out;
  pthread_exit(NULL);
}

static void task_that_exits_its_thread(void **state) {
  (void)state;
  counter = 0;
  mt_executor_t *ex = pool(1, NULL);
  mt_future_t *f, *g[20];
  assert_code(mt_executor_submit(ex, exits_thread, NULL, &f), 0);
  for (int i = 0; i < 20; i++) assert_code(mt_executor_submit(ex, count_task, NULL, &g[i]), 0);
  assert_code(mt_future_result(f, MT_FOREVER, NULL), MT_EWORKERDIED);
  mt_task_error_t e;
  assert_code(mt_future_exception(f, 0, &e), 0);
  assert_int_equal(e.code, MT_EWORKERDIED);
  for (int i = 0; i < 20; i++) {
    assert_code(mt_future_result(g[i], MT_FOREVER, NULL), 0);
    mt_future_free(g[i]);
  }
  assert_int_equal(counter, 20);
  assert_true(mt_executor_thread_count(ex) <= 1);
  assert_code(mt_executor_shutdown(ex, true, false, MT_FOREVER), 0);
  assert_int_equal(mt_executor_thread_count(ex), 0);
  mt_future_free(f);
  mt_executor_free(ex);
}

/* Issue 10 item 4: when a worker dies after shutdown, the rest of its
 * batch fails with MT_EWORKERDIED; their done-callbacks must not run under
 * the pool's lock, so a callback that submits to the same pool gets
 * MT_ECLOSED instead of deadlocking the dying worker. */
static mt_executor_t *died_ex;
static int died_submit_rc[8];
static int died_cb_runs;
static void submit_from_callback(mt_future_t *f, void *arg) {
  (void)f;
  mt_future_t *g = NULL;
  int r = mt_executor_submit(died_ex, count_task, NULL, &g);
  if (r == 0) mt_future_free(g);
  died_submit_rc[(intptr_t)arg] = r;
  __atomic_fetch_add(&died_cb_runs, 1, __ATOMIC_SEQ_CST);
}

static void worker_death_callbacks_outside_lock(void **state) {
  (void)state;
  died_ex = pool(1, NULL);
  gate = mt_future_new();
  int started = 0;
  mt_future_t *a, *e, *g[8];
  assert_code(mt_executor_submit(died_ex, wait_gate, &started, &a), 0);
  while (!__atomic_load_n(&started, __ATOMIC_SEQ_CST)) sched_yield(); /* a runs alone */
  assert_code(mt_executor_submit(died_ex, exits_thread, NULL, &e), 0);
  for (intptr_t i = 0; i < 8; i++) {
    assert_code(mt_executor_submit(died_ex, count_task, NULL, &g[i]), 0);
    assert_code(mt_future_add_done_callback(g[i], submit_from_callback, (void *)i), 0);
  }
  assert_code(mt_executor_shutdown(died_ex, false, false, MT_FOREVER), 0);
  open_gate(); /* the worker takes e + g[] in one batch and dies in e */
  assert_code(mt_future_result(e, 10, NULL), MT_EWORKERDIED);
  for (int i = 0; i < 8; i++) {
    /* a bounded wait: before the fix the worker deadlocks in the callback */
    assert_code(mt_future_result(g[i], 10, NULL), MT_EWORKERDIED);
    mt_future_free(g[i]);
  }
  /* a result is published before its callbacks run: wait for the last */
  double until = now() + 10;
  while (__atomic_load_n(&died_cb_runs, __ATOMIC_SEQ_CST) < 8 && now() < until) sched_yield();
  assert_int_equal(__atomic_load_n(&died_cb_runs, __ATOMIC_SEQ_CST), 8);
  for (int i = 0; i < 8; i++) assert_int_equal(died_submit_rc[i], MT_ECLOSED);
  mt_future_free(a);
  mt_future_free(e);
  mt_future_free(gate);
  mt_executor_free(died_ex);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(million_trivial_tasks),
      cmocka_unit_test(shutdown_cancel_futures),
      cmocka_unit_test(map_keeps_input_order),
      cmocka_unit_test(map_failure_and_timeout),
      cmocka_unit_test(initializer_failure_breaks_pool),
      cmocka_unit_test(idle_workers_are_reused),
      cmocka_unit_test(resize_at_run_time),
      cmocka_unit_test(cancel_running_sets_the_flag),
      cmocka_unit_test(scoped_executor_waits),
      cmocka_unit_test(callback_may_submit),
      cmocka_unit_test(cancel_race_never_both),
      cmocka_unit_test(names_and_errors),
      cmocka_unit_test(task_failure_keeps_its_error),
      cmocka_unit_test(custom_executor_behind_the_same_api),
      cmocka_unit_test(shutdown_from_own_worker),
      cmocka_unit_test(task_that_exits_its_thread),
      cmocka_unit_test(worker_death_callbacks_outside_lock),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
