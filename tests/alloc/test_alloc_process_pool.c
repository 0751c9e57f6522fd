/* Allocation failures in the process pool (Pool and ProcessPoolExecutor):
 * creation, apply, map and imap return MT_ENOMEM or succeed with every
 * result right; a map never waits forever for items that could not be
 * queued.  Only the parent injects (src/core/mem.c): the workers allocate
 * normally. */
#include <stdint.h>
#include <string.h>

#include "failpoint.h"

#define N 24

static int square(const void *in, size_t len, mt_value_t *out) {
  static int64_t r;
  FP_CHECK(len == sizeof r);
  int64_t x;
  memcpy(&x, in, sizeof x);
  r = x * x;
  out->ptr = &r;
  out->len = sizeof r;
  return 0;
}

static int check_item(const mt_pool_result_t *it, int64_t x) {
  if (it->code < 0) return it->code;
  int64_t v;
  FP_CHECK(it->value.len == sizeof v);
  memcpy(&v, it->value.ptr, sizeof v);
  FP_CHECK(v == x * x);
  return 0;
}

static int pool_scenario(void) {
  mt_pool_opts_t o = MT_POOL_OPTS_INIT;
  o.processes = 2;
  mt_pool_t *p = mt_pool_new(&o);
  if (!p) return fp_errno();
  int64_t vals[N];
  mt_bytes_t items[N];
  for (int i = 0; i < N; i++) {
    vals[i] = i;
    items[i] = (mt_bytes_t){&vals[i], sizeof vals[i]};
  }
  int r = 0;
  {
    mt_value_t v;
    int64_t x = 7;
    r = mt_pool_apply(p, square, &x, sizeof x, MT_FOREVER, &v);
    if (r == 0) {
      FP_CHECK(v.len == sizeof x && *(int64_t *)v.ptr == 49);
      v.free_fn(v.ptr);
    }
  }
  if (r == 0) {
    mt_pool_result_t res[N];
    memset(res, 0, sizeof res);
    r = mt_pool_map(p, square, items, N, 3, MT_FOREVER, res);
    int first = 0;
    for (int i = 0; i < N; i++) {
      if (!res[i].value.ptr && !res[i].code) { /* not filled: map failed before it began */
        FP_CHECK(r == MT_ENOMEM);
        continue;
      }
      int c = check_item(&res[i], i);
      FP_CHECK(c == 0 || c == MT_ENOMEM);
      if (c < 0 && !first) first = c;
    }
    FP_CHECK(r == first || (first == 0 && r == MT_ENOMEM));
    mt_pool_results_release(res, N);
  }
  if (r == 0) {
    mt_pool_imap_t *it = mt_pool_imap_new(p, square, items, N, 5, false);
    if (!it) r = fp_errno();
    for (int i = 0; it && i < N; i++) {
      mt_pool_result_t x;
      size_t idx;
      FP_CHECK(mt_pool_imap_next(it, 10, &x, &idx) == 1 && idx == (size_t)i);
      int c = check_item(&x, i);
      FP_CHECK(c == 0 || c == MT_ENOMEM);
      if (c < 0 && r == 0) r = c;
      mt_pool_results_release(&x, 1);
    }
    mt_pool_imap_free(it);
  }
  FP_CHECK(mt_pool_close(p) == 0);
  FP_CHECK(mt_pool_join(p, 30) == 0);
  mt_pool_free(p);
  return r;
}

static int sq_task(void *arg, mt_value_t *out) {
  out->ptr = (void *)((intptr_t)arg * (intptr_t)arg);
  return 0;
}

static int executor_scenario(void) {
  mt_process_pool_opts_t o = MT_PROCESS_POOL_OPTS_INIT;
  o.max_workers = 1;
  mt_executor_t *ex = mt_executor_new_process_pool(&o);
  if (!ex) return fp_errno();
  int r = 0;
  mt_future_t *f = NULL;
  r = mt_executor_submit(ex, sq_task, (void *)(intptr_t)9, &f);
  if (r == 0) {
    mt_value_t v;
    r = mt_future_result(f, 30, &v);
    if (r == 0) FP_CHECK((intptr_t)v.ptr == 81);
    FP_CHECK(r == 0 || r == MT_ENOMEM);
    mt_future_free(f);
  }
  if (r == 0) {
    void *args[N];
    mt_value_t res[N];
    for (int i = 0; i < N; i++) args[i] = (void *)(intptr_t)i;
    r = mt_executor_map(ex, sq_task, args, N, 30, 4, res, NULL);
    if (r == 0)
      for (int i = 0; i < N; i++) FP_CHECK((intptr_t)res[i].ptr == i * i);
  }
  FP_CHECK(mt_executor_shutdown(ex, true, false, MT_FOREVER) == 0);
  mt_executor_free(ex);
  return r;
}

/* starmap: (a, b) -> a * b */
static int mul2(int argc, const mt_bytes_t *argv, mt_value_t *out) {
  FP_CHECK(argc == 2 && argv[0].len == 8 && argv[1].len == 8);
  out->ptr = (void *)(intptr_t)(*(const int64_t *)argv[0].ptr * *(const int64_t *)argv[1].ptr);
  return 0;
}

/* Every filled item is right or MT_ENOMEM; r is the first failure. */
static int check_star(int r, mt_pool_result_t *res) {
  int first = 0;
  for (int i = 0; i < N; i++) {
    if (res[i].code == 0 && (intptr_t)res[i].value.ptr == 0 && i != 0) { /* not filled */
      FP_CHECK(r == MT_ENOMEM);
      continue;
    }
    FP_CHECK(res[i].code == 0 || res[i].code == MT_ENOMEM);
    if (res[i].code == 0) FP_CHECK((intptr_t)res[i].value.ptr == i * (i + 1));
    else if (!first) first = res[i].code;
  }
  FP_CHECK(r == first || (first == 0 && r == MT_ENOMEM));
  return r;
}

static int starmap_scenario(void) {
  mt_pool_opts_t o = MT_POOL_OPTS_INIT;
  o.processes = 2;
  mt_pool_t *p = mt_pool_new(&o);
  if (!p) return fp_errno();
  int64_t vals[N][2];
  mt_bytes_t argv[N][2];
  mt_pool_args_t items[N];
  for (int i = 0; i < N; i++) {
    vals[i][0] = i;
    vals[i][1] = i + 1;
    argv[i][0] = (mt_bytes_t){&vals[i][0], 8};
    argv[i][1] = (mt_bytes_t){&vals[i][1], 8};
    items[i] = (mt_pool_args_t){2, argv[i]};
  }
  mt_pool_result_t res[N];
  memset(res, 0, sizeof res);
  int r = check_star(mt_pool_starmap(p, mul2, items, N, 3, MT_FOREVER, res), res);
  if (r == 0) {
    mt_future_t *f = NULL;
    memset(res, 0, sizeof res);
    r = mt_pool_starmap_async(p, mul2, items, N, 0, res, &f);
    if (r == 0) {
      int fr = mt_future_result(f, 30, NULL);
      FP_CHECK(fr == 0 || fr == MT_ETASKFAILED || fr == MT_ENOMEM);
      r = check_star(fr == 0 ? 0 : res[0].code ? res[0].code : MT_ENOMEM, res);
      mt_future_free(f);
    } else {
      FP_CHECK(r == MT_ENOMEM && f == NULL);
    }
  }
  FP_CHECK(mt_pool_close(p) == 0);
  FP_CHECK(mt_pool_join(p, 30) == 0);
  mt_pool_free(p);
  return r;
}

static void pool_under_failures(void **state) {
  (void)state;
  fp_run("process pool (Pool)", pool_scenario);
}

static void starmap_under_failures(void **state) {
  (void)state;
  fp_run("process pool (starmap)", starmap_scenario);
}

static void executor_under_failures(void **state) {
  (void)state;
  fp_run("process pool (ProcessPoolExecutor)", executor_scenario);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(pool_under_failures),
                                     cmocka_unit_test(starmap_under_failures),
                                     cmocka_unit_test(executor_under_failures)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
