/* Allocation failures in the cross-process queue: creation returns
 * MT_ENOMEM; a queue that exists carries every message intact. */
#include <string.h>

#include "failpoint.h"

static int scenario(void) {
  mt_mpqueue_t *q = mt_mpqueue_new(0, 64);
  if (!q) return fp_errno();
  mt_mpqueue_t *jq = mt_mpqueue_new_joinable(4, 32);
  if (!jq) {
    mt_mpqueue_free(q);
    return fp_errno();
  }
  int r = 0;
  for (int i = 0; i < 20 && r == 0; i++) {
    char m[32];
    int len = snprintf(m, sizeof m, "message %d", i);
    r = mt_mpqueue_put(q, m, (size_t)len, 0);
  }
  for (int i = 0; i < 20 && r == 0; i++) {
    char m[64], want[32];
    size_t len;
    r = mt_mpqueue_get(q, m, sizeof m, &len, 0);
    if (r < 0) break;
    int wl = snprintf(want, sizeof want, "message %d", i);
    FP_CHECK(len == (size_t)wl && memcmp(m, want, len) == 0);
  }
  if (r == 0) r = mt_mpqueue_put(jq, "x", 1, 0);
  if (r == 0) {
    char b[8];
    size_t len;
    r = mt_mpqueue_get(jq, b, sizeof b, &len, 0);
    if (r == 0) r = mt_mpqueue_task_done(jq);
    if (r == 0) r = mt_mpqueue_join(jq, 0);
  }
  mt_mpqueue_free(jq);
  mt_mpqueue_free(q);
  return r < 0 ? r : 0;
}

static void mpqueue_under_failures(void **state) {
  (void)state;
  fp_run("mpqueue", scenario);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(mpqueue_under_failures)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
