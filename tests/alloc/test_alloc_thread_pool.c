/* Allocation failures in the thread pool: creation, submit and map return
 * MT_ENOMEM; every future that was handed out completes (never waits
 * forever); nothing leaks. */
#include <stdint.h>

#include "failpoint.h"

#define N 40

static int twice(void *arg, mt_value_t *out) {
  out->ptr = (void *)((intptr_t)arg * 2);
  return 0;
}

static int scenario(void) {
  mt_thread_pool_opts_t o = {.max_workers = 3};
  mt_executor_t *ex = mt_thread_pool_new(&o);
  if (!ex) return fp_errno();
  int r = 0, got = 0;
  mt_future_t *fs[N] = {0};
  for (int i = 0; i < N && r == 0; i++) {
    r = mt_executor_submit(ex, twice, (void *)(intptr_t)i, &fs[i]);
    if (r == 0) got++;
  }
  for (int i = 0; i < got; i++) {
    mt_value_t v;
    int fr = mt_future_result(fs[i], 10, &v);
    FP_CHECK(fr == 0 || fr == MT_ENOMEM); /* ENOMEM: no worker could start */
    if (fr == 0) FP_CHECK((intptr_t)v.ptr == 2 * i);
    else if (r == 0) r = fr;
    mt_future_free(fs[i]);
  }
  if (r == 0) {
    void *args[N];
    mt_value_t res[N];
    size_t failed;
    for (int i = 0; i < N; i++) args[i] = (void *)(intptr_t)i;
    r = mt_executor_map(ex, twice, args, N, 10, 7, res, &failed);
    if (r == 0)
      for (int i = 0; i < N; i++) FP_CHECK((intptr_t)res[i].ptr == 2 * i);
  }
  int sr = mt_executor_shutdown(ex, true, false);
  FP_CHECK(sr == 0);
  mt_executor_free(ex);
  return r;
}

static void thread_pool_under_failures(void **state) {
  (void)state;
  fp_run("thread pool", scenario);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(thread_pool_under_failures)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
