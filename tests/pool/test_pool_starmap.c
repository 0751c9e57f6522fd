/* Pool.starmap / starmap_async (issue 12): each item is an argument vector
 * of byte strings; results in input order; errors and dead workers as
 * map; bad input is MT_EINVAL and nothing runs. */
#include "tasks.h"

/* sum of int64 arguments; each must arrive 8-byte aligned */
static int s_sum(int argc, const mt_bytes_t *argv, mt_value_t *out) {
  int64_t s = 0;
  for (int k = 0; k < argc; k++) {
    if (argv[k].len != 8) return mt_task_fail(MT_EINVAL, "arg %d: %zu bytes", k, argv[k].len);
    if ((uintptr_t)argv[k].ptr % 8) return mt_task_fail(MT_EINVAL, "arg %d misaligned", k);
    s += *(const int64_t *)argv[k].ptr;
  }
  out->ptr = (void *)(intptr_t)s;
  return 0;
}

/* joins the arguments with '|' ("<argc>:" first; an empty argument must
 * come with ptr NULL) */
static int s_join(int argc, const mt_bytes_t *argv, mt_value_t *out) {
  static char buf[256];
  int n = snprintf(buf, sizeof buf, "%d:", argc);
  for (int k = 0; k < argc; k++) {
    if (argv[k].len == 0 && argv[k].ptr) return MT_EINVAL;
    n += snprintf(buf + n, sizeof buf - (size_t)n, "%s%.*s", k ? "|" : "",
                  (int)argv[k].len, argv[k].ptr ? (const char *)argv[k].ptr : "");
  }
  out->ptr = buf;
  out->len = (size_t)n;
  return 0;
}

/* (a, b): a / b; b == 0 fails; b == -1 kills the worker */
static int s_div(int argc, const mt_bytes_t *argv, mt_value_t *out) {
  if (argc != 2) return MT_EINVAL;
  int64_t a = as_i64(argv[0].ptr), b = as_i64(argv[1].ptr);
  if (b == 0) return mt_task_fail(MT_ERANGE, "division of %lld by zero", (long long)a);
  if (b == -1) exit(9);
  out->ptr = (void *)(intptr_t)(a / b);
  return 0;
}

static mt_pool_t *new_pool(int n) {
  mt_pool_opts_t o = MT_POOL_OPTS_INIT;
  o.processes = n;
  mt_pool_t *p = mt_pool_new(&o);
  assert_non_null(p);
  return p;
}

static void starmap_in_order(void **state) {
  (void)state;
  mt_pool_t *p = new_pool(2);
  enum { N = 300, A = 3 };
  static int64_t vals[N][A];
  static mt_bytes_t argv[N][A];
  static mt_pool_args_t items[N];
  for (int i = 0; i < N; i++) {
    vals[i][0] = i;
    vals[i][1] = i + 1;
    vals[i][2] = 2 * i;
    for (int k = 0; k < A; k++) argv[i][k] = (mt_bytes_t){&vals[i][k], 8};
    items[i] = (mt_pool_args_t){A, argv[i]};
  }
  static mt_pool_result_t res[N];
  size_t chunks[] = {0, 1, 7, 1000};
  for (size_t c = 0; c < sizeof chunks / sizeof *chunks; c++) {
    assert_code(mt_pool_starmap(p, s_sum, items, N, chunks[c], MT_FOREVER, res), 0);
    for (int i = 0; i < N; i++) {
      assert_code(res[i].code, 0);
      assert_int_equal((intptr_t)res[i].value.ptr, 4 * i + 1);
    }
    mt_pool_results_release(res, N);
  }
  /* many arguments (more than the worker keeps on its stack) */
  int64_t many[40];
  mt_bytes_t mv[40];
  for (int k = 0; k < 40; k++) {
    many[k] = k;
    mv[k] = (mt_bytes_t){&many[k], 8};
  }
  mt_pool_args_t big = {40, mv};
  assert_code(mt_pool_starmap(p, s_sum, &big, 1, 0, MT_FOREVER, res), 0);
  assert_int_equal((intptr_t)res[0].value.ptr, 40 * 39 / 2);
  /* byte strings of any length, empty ones, and an empty vector */
  mt_bytes_t a0[] = {{"a", 1}, {"bcd", 3}}, a1[] = {{"", 0}, {NULL, 0}, {"xyz!", 4}};
  mt_pool_args_t strs[] = {{2, a0}, {3, a1}, {0, NULL}};
  assert_code(mt_pool_starmap(p, s_join, strs, 3, 1, MT_FOREVER, res), 0);
  assert_int_equal(res[0].value.len, 7);
  assert_memory_equal(res[0].value.ptr, "2:a|bcd", 7);
  assert_int_equal(res[1].value.len, 8);
  assert_memory_equal(res[1].value.ptr, "3:||xyz!", 8);
  assert_int_equal(res[2].value.len, 2);
  assert_memory_equal(res[2].value.ptr, "0:", 2);
  mt_pool_results_release(res, 3);
  /* nothing to do */
  assert_code(mt_pool_starmap(p, s_sum, NULL, 0, 0, MT_FOREVER, NULL), 0);
  mt_pool_free(p);
}

static void starmap_errors_as_map(void **state) {
  (void)state;
  mt_pool_t *p = new_pool(2);
  enum { N = 12 };
  int64_t v[N][2];
  mt_bytes_t argv[N][2];
  mt_pool_args_t items[N];
  for (int i = 0; i < N; i++) {
    v[i][0] = 100 + i;
    v[i][1] = i == 3 ? 0 : i == 8 ? -1 : 2; /* item 3 fails, item 8 kills its worker */
    argv[i][0] = (mt_bytes_t){&v[i][0], 8};
    argv[i][1] = (mt_bytes_t){&v[i][1], 8};
    items[i] = (mt_pool_args_t){2, argv[i]};
  }
  mt_pool_result_t res[N];
  assert_code(mt_pool_starmap(p, s_div, items, N, 2, MT_FOREVER, res), MT_ERANGE); /* the first failure */
  for (int i = 0; i < N; i++) {
    if (i == 3) assert_code(res[i].code, MT_ERANGE);
    else if (i == 8) {
      assert_code(res[i].code, MT_EWORKERDIED);
      assert_int_equal(res[i].exitcode, 9);
    } else {
      assert_code(res[i].code, 0);
      assert_int_equal((intptr_t)res[i].value.ptr, (100 + i) / 2);
    }
  }
  mt_pool_results_release(res, N);

  /* starmap_async: the arguments are copied before it returns */
  mt_future_t *f;
  {
    int64_t tmp[2] = {7, 0};
    mt_bytes_t ta[2] = {{&tmp[0], 8}, {&tmp[1], 8}};
    mt_pool_args_t ti = {2, ta};
    assert_code(mt_pool_starmap_async(p, s_div, &ti, 1, 0, res, &f), 0);
    tmp[0] = tmp[1] = 99; /* too late to matter */
  }
  assert_code(mt_future_result(f, MT_FOREVER, NULL), MT_ETASKFAILED);
  mt_task_error_t e;
  assert_code(mt_future_exception(f, 0, &e), 0);
  assert_int_equal(e.code, MT_ERANGE);
  assert_code(res[0].code, MT_ERANGE);
  mt_future_free(f);

  for (int i = 0; i < N; i++) v[i][1] = 2;
  assert_code(mt_pool_starmap_async(p, s_div, items, N, 0, res, &f), 0);
  assert_code(mt_future_result(f, MT_FOREVER, NULL), 0);
  for (int i = 0; i < N; i++) assert_int_equal((intptr_t)res[i].value.ptr, (100 + i) / 2);
  mt_pool_results_release(res, N);
  mt_future_free(f);
  mt_pool_free(p);
}

static void starmap_bad_input(void **state) {
  (void)state;
  mt_pool_t *p = new_pool(1);
  int64_t x = 1;
  mt_bytes_t ok[] = {{&x, 8}}, nullptr_arg[] = {{NULL, 3}};
  mt_pool_args_t good = {1, ok};
  mt_pool_result_t res[2];
  mt_future_t *f = (mt_future_t *)&x;
  assert_code(mt_pool_starmap(NULL, s_sum, &good, 1, 0, MT_FOREVER, res), MT_EINVAL);
  assert_code(mt_pool_starmap(p, NULL, &good, 1, 0, MT_FOREVER, res), MT_EINVAL);
  assert_code(mt_pool_starmap(p, s_sum, &good, 1, 0, MT_FOREVER, NULL), MT_EINVAL);
  assert_code(mt_pool_starmap(p, s_sum, &good, 1, 0, -2, res), MT_EINVAL); /* bad timeout */
  assert_code(mt_pool_starmap(p, s_sum, NULL, 1, 0, MT_FOREVER, res), MT_EINVAL);
  mt_pool_args_t neg = {-1, ok}, noargv = {1, NULL}, nullptr_item = {1, nullptr_arg};
  assert_code(mt_pool_starmap(p, s_sum, &neg, 1, 0, MT_FOREVER, res), MT_EINVAL);
  assert_code(mt_pool_starmap(p, s_sum, &noargv, 1, 0, MT_FOREVER, res), MT_EINVAL);
  mt_pool_args_t two[] = {good, nullptr_item};
  assert_code(mt_pool_starmap(p, s_sum, two, 2, 0, MT_FOREVER, res), MT_EINVAL);
  assert_code(mt_pool_starmap_async(p, s_sum, &good, 1, 0, res, NULL), MT_EINVAL);
  assert_code(mt_pool_starmap_async(p, s_sum, &neg, 1, 0, res, &f), MT_EINVAL);
  assert_null(f);
  assert_code(mt_pool_starmap_async(NULL, s_sum, &good, 1, 0, res, &f), MT_EINVAL);
  assert_code(mt_pool_starmap_async(p, s_sum, &good, 1, 0, NULL, &f), MT_EINVAL);
  /* nothing ran: the pool still works, then refuses once closed */
  assert_code(mt_pool_starmap(p, s_sum, &good, 1, 0, MT_FOREVER, res), 0);
  assert_int_equal((intptr_t)res[0].value.ptr, 1);
  assert_code(mt_pool_close(p), 0);
  assert_code(mt_pool_starmap(p, s_sum, &good, 1, 0, MT_FOREVER, res), MT_ECLOSED);
  assert_code(mt_pool_starmap_async(p, s_sum, &good, 1, 0, res, &f), MT_ECLOSED);
  assert_null(f);
  assert_code(mt_pool_join(p, MT_FOREVER), 0);
  mt_pool_free(p);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(starmap_in_order),
      cmocka_unit_test(starmap_errors_as_map),
      cmocka_unit_test(starmap_bad_input),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
