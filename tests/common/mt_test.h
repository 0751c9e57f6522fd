/* mt_test.h - what every cmocka test of multitask includes. */
#ifndef MT_TEST_H
#define MT_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include <multitask.h>

/* Stress sizes are multiplied by MT_TEST_SCALE (1 plain, ~0.02 under the
 * sanitizers, larger in `make stress`).  Never returns less than `min`. */
static inline long mt_test_scaled(long n, long min) {
  const char *s = getenv("MT_TEST_SCALE");
  double f = s ? atof(s) : 1.0;
  if (f <= 0) f = 1.0;
  long v = (long)((double)n * f);
  return v < min ? min : v;
}

/* Asserts that an int call returned the expected code, naming both. */
#define assert_code(expr, code)                                                \
  do {                                                                         \
    int mt__got = (expr);                                                      \
    if (mt__got != (code))                                                     \
      fail_msg("%s returned %s (%d), expected %s", #expr,                      \
               mt_err_name(mt__got), mt__got, mt_err_name(code));              \
  } while (0)

#endif
