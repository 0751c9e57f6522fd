/* examples/common/example.h - small helpers shared by the examples that show
 * the notes' scenarios (docs/scenarios.md).
 *
 * The notes sleep whole seconds; the examples scale those waits down (by 10
 * unless an example says otherwise) so `make demo` stays quick, and
 * MT_EXAMPLE_SCALE multiplies them again (default 1; e.g. MT_EXAMPLE_SCALE=10
 * gives the notes' own times back, 0.5 halves them).  Only waits are scaled,
 * never counts. */
#ifndef MT_EXAMPLE_H
#define MT_EXAMPLE_H
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static inline double ex_scale(void) {
  const char *s = getenv("MT_EXAMPLE_SCALE");
  double f = s ? atof(s) : 1.0;
  return f > 0 ? f : 1.0;
}

/* time.sleep(seconds * MT_EXAMPLE_SCALE) */
static inline void ex_sleep(double seconds) {
  double s = seconds * ex_scale();
  struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
  while (nanosleep(&ts, &ts) != 0) {
  }
}

/* time.time() on the monotonic clock, in seconds */
static inline double ex_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Line-buffered stdout, so the lines of several processes and threads
 * reach a pipe in the order they were printed (forked children inherit it,
 * and a child killed as a daemon loses no printed line). */
static inline void ex_init(void) { setvbuf(stdout, NULL, _IOLBF, 0); }

#endif
