/* Pool: map/imap/apply results, chunking, maxtasksperchild, callbacks,
 * initializer, task errors, error paths. */
#include <sys/types.h>

#include "tasks.h"

static void check_map(mt_pool_t *p, size_t n, size_t chunksize) {
  int64_t *vals = malloc(n * sizeof *vals);
  mt_bytes_t *items = make_items(vals, n);
  mt_pool_result_t *res = calloc(n, sizeof *res);
  assert_code(mt_pool_map(p, t_square, items, n, chunksize, MT_FOREVER, res), 0);
  for (size_t i = 0; i < n; i++) {
    assert_int_equal(res[i].code, 0);
    assert_int_equal(res[i].value.len, 8);
    assert_int_equal(as_i64(res[i].value.ptr), (int64_t)i * (int64_t)i + 1);
  }
  mt_pool_results_release(res, n);
  free(res);
  free(items);
  free(vals);
}

static void test_map_equals_serial(void **state) {
  (void)state;
  mt_pool_opts_t popts = MT_POOL_OPTS_INIT;
  popts.processes = 2;
  mt_pool_t *p = mt_pool_new(&popts);
  assert_non_null(p);
  size_t n = (size_t)mt_test_scaled(100000, 2000);
  check_map(p, n, 0);
  check_map(p, n, 1);
  check_map(p, n / 10 + 3, 7);
  check_map(p, 1, 0);
  assert_code(mt_pool_map(p, t_square, NULL, 0, 0, MT_FOREVER, NULL), 0);
  assert_code(mt_pool_close(p), 0);
  assert_code(mt_pool_join(p, MT_FOREVER), 0);
  mt_pool_free(p);
}

static void test_imap(void **state) {
  (void)state;
  started_pipe(); /* before the workers fork */
  mt_pool_opts_t popts2 = MT_POOL_OPTS_INIT;
  popts2.processes = 3;
  mt_pool_t *p = mt_pool_new(&popts2);
  size_t n = (size_t)mt_test_scaled(5000, 300);
  int64_t *vals = malloc(n * sizeof *vals);
  mt_bytes_t *items = make_items(vals, n);
  for (int unordered = 0; unordered < 2; unordered++) {
    mt_pool_imap_t *it = mt_pool_imap_new(p, t_square, items, n, unordered ? 3 : 1, unordered);
    assert_non_null(it);
    char *seen = calloc(n, 1);
    mt_pool_result_t r;
    size_t idx, count = 0;
    while (mt_pool_imap_next(it, MT_FOREVER, &r, &idx) == 1) {
      if (!unordered) assert_int_equal(idx, count);
      assert_int_equal(r.code, 0);
      assert_int_equal(as_i64(r.value.ptr), (int64_t)idx * (int64_t)idx + 1);
      assert_int_equal(seen[idx], 0);
      seen[idx] = 1;
      mt_pool_results_release(&r, 1);
      count++;
    }
    assert_int_equal(count, n);
    assert_code(mt_pool_imap_next(it, 0, &r, &idx), 0);
    mt_pool_imap_free(it);
    free(seen);
  }
  /* next with a timeout while the only item blocks */
  int64_t blk = BLOCK_ITEM;
  mt_bytes_t bitem = {&blk, sizeof blk};
  mt_pool_imap_t *it = mt_pool_imap_new(p, t_square_or_block, &bitem, 1, 1, false);
  pid_t pid = wait_started();
  mt_pool_result_t r;
  assert_code(mt_pool_imap_next(it, 0.05, &r, NULL), MT_ETIMEDOUT);
  kill(pid, SIGKILL);
  assert_code(mt_pool_imap_next(it, MT_FOREVER, &r, NULL), 1);
  assert_int_equal(r.code, MT_EWORKERDIED);
  assert_int_equal(r.exitcode, -SIGKILL);
  mt_pool_imap_free(it);
  /* dropping an iterator early loses nothing of the pool */
  it = mt_pool_imap_new(p, t_square, items, n, 1, false);
  assert_code(mt_pool_imap_next(it, MT_FOREVER, &r, NULL), 1);
  mt_pool_results_release(&r, 1);
  mt_pool_imap_free(it);
  check_map(p, 100, 0);
  mt_pool_free(p);
  free(items);
  free(vals);
}

static void test_maxtasksperchild(void **state) {
  (void)state;
  mt_pool_opts_t popts3 = MT_POOL_OPTS_INIT;
  popts3.processes = 2;
  popts3.maxtasksperchild = 2;
  mt_pool_t *p = mt_pool_new(&popts3);
  int first[2];
  assert_int_equal(mt_pool_pids(p, first, 2), 2);
  enum { N = 12 };
  pid_t pids[N];
  for (int i = 0; i < N; i++) {
    mt_value_t v;
    assert_code(mt_pool_apply(p, t_pid, NULL, 0, MT_FOREVER, &v), 0);
    pids[i] = (pid_t)(intptr_t)v.ptr;
  }
  /* every worker ran at most 2 tasks: at least N/2 distinct pids */
  int distinct = 0;
  for (int i = 0; i < N; i++) {
    int dup = 0;
    for (int k = 0; k < i; k++) dup |= pids[k] == pids[i];
    distinct += !dup;
  }
  assert_true(distinct >= N / 2);
  assert_true(mt_pool_workers_started(p) >= N / 2);
  /* a map counts items too and still completes */
  check_map(p, 101, 5);
  mt_pool_close(p);
  assert_code(mt_pool_join(p, MT_FOREVER), 0);
  mt_pool_free(p);
}

static int g_cb_ok, g_cb_err;
static int64_t g_cb_value;
static void on_ok(const mt_value_t *v, void *arg) {
  (void)arg;
  g_cb_value = as_i64(v->ptr);
  __atomic_add_fetch(&g_cb_ok, 1, __ATOMIC_SEQ_CST);
}
static void on_err(const mt_task_error_t *e, void *arg) {
  (void)arg;
  if (e->code == MT_ERANGE && strstr(e->message, "odd item 3"))
    __atomic_add_fetch(&g_cb_err, 1, __ATOMIC_SEQ_CST);
}

static void test_apply_and_callbacks(void **state) {
  (void)state;
  mt_pool_opts_t popts4 = MT_POOL_OPTS_INIT;
  popts4.processes = 2;
  mt_pool_t *p = mt_pool_new(&popts4);
  int64_t x = 12;
  mt_value_t v;
  assert_code(mt_pool_apply(p, t_square, &x, sizeof x, MT_FOREVER, &v), 0);
  assert_int_equal(v.len, 8);
  assert_int_equal(as_i64(v.ptr), 145);
  v.free_fn(v.ptr);
  mt_pool_task_opts_t o = MT_POOL_TASK_OPTS_INIT;
  o.callback = on_ok;
  o.error_callback = on_err;
  mt_future_t *f;
  assert_code(mt_pool_apply_async(p, t_square, &x, sizeof x, &o, &f), 0);
  assert_code(mt_future_result(f, MT_FOREVER, &v), 0);
  assert_int_equal(as_i64(v.ptr), 145);
  assert_int_equal(__atomic_load_n(&g_cb_ok, __ATOMIC_SEQ_CST), 1);
  assert_int_equal(g_cb_value, 145);
  mt_future_free(f);
  x = 3;
  assert_code(mt_pool_apply_async(p, t_odd_fails, &x, sizeof x, &o, &f), 0);
  assert_code(mt_future_result(f, MT_FOREVER, NULL), MT_ETASKFAILED);
  mt_task_error_t e;
  assert_code(mt_future_exception(f, 0, &e), 0);
  assert_int_equal(e.code, MT_ERANGE);
  assert_string_equal(e.message, "odd item 3");
  assert_int_equal(__atomic_load_n(&g_cb_err, __ATOMIC_SEQ_CST), 1);
  mt_future_free(f);
  /* a task failing inside a map fails only its item */
  enum { N = 50 };
  int64_t vals[N];
  mt_bytes_t *items = make_items(vals, N);
  mt_pool_result_t res[N];
  assert_code(mt_pool_map(p, t_odd_fails, items, N, 4, MT_FOREVER, res), MT_ERANGE);
  for (int i = 0; i < N; i++) {
    assert_int_equal(res[i].code, i % 2 ? MT_ERANGE : 0);
    if (i % 2 == 0) assert_int_equal((intptr_t)res[i].value.ptr, i * 10);
  }
  /* map_async */
  assert_code(mt_pool_map_async(p, t_square, items, N, 0, res, &f), 0);
  assert_code(mt_future_result(f, MT_FOREVER, NULL), 0);
  for (int i = 0; i < N; i++) assert_int_equal(as_i64(res[i].value.ptr), i * i + 1);
  mt_pool_results_release(res, N);
  mt_future_free(f);
  /* a result larger than the worker's arena */
  assert_code(mt_pool_apply(p, t_big, NULL, 0, MT_FOREVER, &v), 0);
  assert_int_equal(v.len, 1 << 20);
  for (size_t i = 0; i < v.len; i += 4099) assert_int_equal(((unsigned char *)v.ptr)[i], i & 0xff);
  v.free_fn(v.ptr);
  free(items);
  mt_pool_free(p);
}

static int64_t g_init_value;
static int init_ok(void *arg) {
  g_init_value = *(int64_t *)arg;
  return 0;
}
static int init_bad(void *arg) {
  (void)arg;
  return 1;
}
static int t_init_value(const void *in, size_t len, mt_value_t *out) {
  (void)in, (void)len;
  out->ptr = (void *)(intptr_t)g_init_value;
  return 0;
}

static void test_initializer(void **state) {
  (void)state;
  static int64_t arg = 4242;
  mt_pool_opts_t popts4b = MT_POOL_OPTS_INIT;
  popts4b.processes = 2;
  popts4b.initializer = init_ok;
  popts4b.initarg = &arg;
  mt_pool_t *p = mt_pool_new(&popts4b);
  mt_value_t v;
  assert_code(mt_pool_apply(p, t_init_value, NULL, 0, MT_FOREVER, &v), 0);
  assert_int_equal((intptr_t)v.ptr, 4242);
  assert_int_equal(g_init_value, 0); /* the parent's copy is untouched */
  mt_pool_free(p);
  mt_pool_opts_t popts5 = MT_POOL_OPTS_INIT;
  popts5.processes = 2;
  popts5.initializer = init_bad;
  p = mt_pool_new(&popts5);
  assert_non_null(p);
  int r = mt_pool_apply(p, t_init_value, NULL, 0, MT_FOREVER, &v);
  assert_true(r == MT_EBROKEN);
  mt_pool_free(p);
}

static void test_errors(void **state) {
  (void)state;
  errno = 0;
  mt_pool_opts_t popts6 = MT_POOL_OPTS_INIT;
  popts6.processes = 5000;
  assert_null(mt_pool_new(&popts6));
  assert_int_equal(errno, EINVAL);
  mt_pool_opts_t popts7 = MT_POOL_OPTS_INIT;
  popts7.maxtasksperchild = -1;
  assert_null(mt_pool_new(&popts7));
  mt_pool_opts_t unsized = {.processes = 1}; /* written without MT_POOL_OPTS_INIT */
  errno = 0;
  assert_null(mt_pool_new(&unsized));
  assert_int_equal(errno, EINVAL);
  mt_pool_opts_t popts8 = MT_POOL_OPTS_INIT;
  popts8.processes = 1;
  mt_pool_t *p = mt_pool_new(&popts8);
  mt_future_t *f = (mt_future_t *)1;
  mt_value_t v;
  int64_t x = 1;
  assert_code(mt_pool_apply_async(NULL, t_square, &x, 8, NULL, &f), MT_EINVAL);
  assert_null(f);
  assert_code(mt_pool_apply_async(p, NULL, &x, 8, NULL, &f), MT_EINVAL);
  assert_code(mt_pool_apply_async(p, t_square, NULL, 8, NULL, &f), MT_EINVAL);
  mt_pool_task_opts_t task_opts = MT_POOL_TASK_OPTS_INIT;
  task_opts.timeout = -2; /* MT_FOREVER (-1) is valid */
  assert_code(mt_pool_apply_async(p, t_square, &x, 8, &task_opts,
                                  &f),
              MT_EINVAL);
  assert_code(mt_pool_apply(p, t_square, &x, 8, MT_FOREVER, NULL), MT_EINVAL);
  mt_bytes_t bad = {NULL, 3};
  mt_pool_result_t res[1];
  assert_code(mt_pool_map(p, t_square, &bad, 1, 0, MT_FOREVER, res), MT_EINVAL);
  assert_code(mt_pool_map(p, t_square, NULL, 1, 0, MT_FOREVER, res), MT_EINVAL);
  assert_null(mt_pool_imap_new(p, NULL, &bad, 0, 0, false));
  assert_code(mt_pool_imap_next(NULL, 0, res, NULL), MT_EINVAL);
  assert_code(mt_pool_join(p, 0), MT_EBUSY);
  assert_code(mt_pool_join(NULL, 0), MT_EINVAL);
  assert_code(mt_pool_close(NULL), MT_EINVAL);
  assert_code(mt_pool_apply(p, t_square, &x, 8, MT_FOREVER, &v), 0);
  v.free_fn(v.ptr);
  assert_code(mt_pool_close(p), 0);
  assert_code(mt_pool_apply_async(p, t_square, &x, 8, NULL, &f), MT_ECLOSED);
  assert_code(mt_pool_map(p, t_square, NULL, 0, 0, MT_FOREVER, NULL), MT_ECLOSED);
  assert_code(mt_pool_join(p, MT_FOREVER), 0);
  assert_code(mt_pool_join(p, 0), 0);
  assert_code(mt_pool_terminate(p, MT_FOREVER), 0);
  mt_pool_free(p);
  mt_pool_free(NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_map_equals_serial), cmocka_unit_test(test_imap),
      cmocka_unit_test(test_maxtasksperchild), cmocka_unit_test(test_apply_and_callbacks),
      cmocka_unit_test(test_initializer),       cmocka_unit_test(test_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
