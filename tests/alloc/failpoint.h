/* failpoint.h - runs a scenario under allocation-failure injection.
 *
 * fp_run(name, scenario): run k (k = 1, 2, ...) fails the k-th library
 * allocation of this process (mt__alloc_fail_at, src/core/mem.c), until a
 * run finishes without reaching the k-th allocation.  Every run must
 * return 0 (it succeeded, its results checked) or MT_ENOMEM (the failure
 * reached the caller); anything else fails the test.  A hang is caught by
 * the test's timeout, a leak by LeakSanitizer at exit (these tests run in
 * the ASan build). */
#ifndef MT_TEST_FAILPOINT_H
#define MT_TEST_FAILPOINT_H

#include <errno.h>
#include <stdio.h>

#include "core/core.h"
#include "mt_test.h"

/* Asserts inside a scenario: a wrong value is a test failure, not OOM. */
#define FP_CHECK(cond)                                                         \
  do {                                                                         \
    if (!(cond)) fail_msg("scenario check failed: %s", #cond);                 \
  } while (0)

static void fp_run(const char *name, int (*scenario)(void)) {
  long k;
  int nomem = 0, absorbed = 0;
  const char *from = getenv("MT_FAILPOINT_FROM"); /* debugging: start at run k */
  for (k = from ? atol(from) : 1;; k++) {
    mt__alloc_fail_at(k);
    int r = scenario();
    bool hit = mt__alloc_injected();
    mt__alloc_fail_at(0);
    if (r == MT_ENOMEM && hit)
      nomem++;
    else if (r == 0 && hit)
      absorbed++;
    else if (r != 0)
      fail_msg("%s run %ld (%s): returned %s (%d)", name, k,
               hit ? "allocation failed" : "no injection", mt_err_name(r), r);
    if (getenv("MT_FAILPOINT_TRACE")) fprintf(stderr, "run %ld: %d\n", k, r);
    if (!hit) break;
  }
  printf("%s: %ld runs: %d returned MT_ENOMEM, %d succeeded despite the failure\n", name,
         k, nomem, absorbed);
  fflush(stdout);
  assert_true(k > 1);
}

/* errno after a constructor returned NULL, as a negative code. */
static inline int fp_errno(void) { return errno ? -errno : MT_ENOMEM; }

#endif
