/* Allocation failures in futures: creation, done-callbacks, wait and
 * as_completed return MT_ENOMEM; a callback that was accepted runs exactly
 * once; no future or node leaks. */
#include <string.h>

#include "failpoint.h"

#define N 6

static int cb_runs;
static void count_cb(mt_future_t *f, void *arg) {
  (void)f;
  (void)arg;
  cb_runs++;
}

static int scenario(void) {
  mt_future_t *fs[N] = {0};
  int r = 0, accepted = 0;
  cb_runs = 0;
  for (int i = 0; i < N && r == 0; i++)
    if (!(fs[i] = mt_future_new())) r = fp_errno();
  for (int i = 0; i < N && r == 0; i++) {
    r = mt_future_add_done_callback(fs[i], count_cb, NULL);
    if (r == 0) accepted++;
  }
  if (r == 0) {
    r = mt_future_wait(fs, N, 0, MT_ALL_COMPLETED, NULL, NULL, NULL);
    if (r >= 0) {
      FP_CHECK(r == 0);
      r = 0;
    }
  }
  mt_as_completed_t *it = NULL;
  if (r == 0 && !(it = mt_as_completed_new(fs, N, 5))) r = fp_errno();
  /* complete them all, half with an error carrying a message */
  for (int i = 0; i < N && fs[i]; i++) {
    if (i % 2)
      FP_CHECK(mt_future_set_exception(fs[i], MT_EINVAL, "odd one out") == 0);
    else
      FP_CHECK(mt_future_set_result(fs[i], (mt_value_t){.ptr = (void *)(intptr_t)i}) == 0);
  }
  FP_CHECK(cb_runs == accepted);
  if (r == 0) {
    mt_future_t *done[N];
    r = mt_future_wait(fs, N, 5, MT_FIRST_EXCEPTION, done, NULL, NULL);
    if (r >= 0) {
      FP_CHECK(r == N);
      r = 0;
    }
  }
  if (it) {
    int seen = 0;
    mt_future_t *f;
    int k;
    while ((k = mt_as_completed_next(it, &f)) == 1) seen++;
    FP_CHECK(k == 0 && seen == N);
    mt_as_completed_free(it);
  }
  for (int i = 0; i < N; i++) mt_future_free(fs[i]);
  return r;
}

static void future_under_failures(void **state) {
  (void)state;
  fp_run("future", scenario);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(future_under_failures)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
