/* Helpers shared by the sync tests: run N pthreads, time checks. */
#ifndef SYNC_TEST_H
#define SYNC_TEST_H
#include <pthread.h>
#include <sched.h>
#include <time.h>

static inline double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Runs fn(arg) on n threads and joins them all. */
static inline void run_threads(int n, void *(*fn)(void *), void *arg) {
  pthread_t t[64];
  for (int i = 0; i < n; i++) assert_int_equal(pthread_create(&t[i], NULL, fn, arg), 0);
  for (int i = 0; i < n; i++) pthread_join(t[i], NULL);
}

/* The timeout contract: never return before the deadline. */
#define assert_not_early(t0, timeout) assert_true(now_s() - (t0) >= (timeout) - 1e-3)
#endif
