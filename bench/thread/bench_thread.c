/* Thread start+join vs pthread_create+join and Python's Thread; 100,000
 * timers scheduled and cancelled vs Python's threading.Timer. */
#include <multitask.h>
#include "harness.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static long n_threads;
static long n_timers;

static void *empty(void *arg) { return arg; }

static double ours_start_join(void *arg) {
  (void)arg;
  double t0 = mtb_now();
  for (long i = 0; i < n_threads; i++) {
    mt_thread_t *t = mt_thread_spawn(empty, NULL, NULL);
    mt_thread_join(t, MT_FOREVER, NULL);
    mt_thread_free(t);
  }
  return (mtb_now() - t0) / (double)n_threads * 1e6;
}

static double pthread_start_join(void *arg) {
  (void)arg;
  double t0 = mtb_now();
  for (long i = 0; i < n_threads; i++) {
    pthread_t t;
    pthread_create(&t, NULL, empty, NULL);
    pthread_join(t, NULL);
  }
  return (mtb_now() - t0) / (double)n_threads * 1e6;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double median_of(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void never(void *arg) { (void)arg; }

static double ours_timers(void *arg) {
  (void)arg;
  mt_timer_t **v = malloc((size_t)n_timers * sizeof *v);
  double t0 = mtb_now();
  for (long i = 0; i < n_timers; i++) {
    v[i] = mt_timer_new(100.0 + (double)(i % 1000) / 100, never, NULL);
    mt_timer_start(v[i]);
  }
  for (long i = 0; i < n_timers; i++) {
    mt_timer_cancel(v[i]);
    mt_timer_free(v[i]);
  }
  double dt = mtb_now() - t0;
  free(v);
  return (double)n_timers / dt;
}

static long rss_kb(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  long pages = 0, res = 0;
  if (f) {
    if (fscanf(f, "%ld %ld", &pages, &res) != 2) res = 0;
    fclose(f);
  }
  return res * sysconf(_SC_PAGESIZE) / 1024;
}

/* The memory 100,000 pending timers take (shown, not compared). */
static void pending_footprint(void) {
  long n = 100000;
  mt_timer_t **v = malloc((size_t)n * sizeof *v);
  long before = rss_kb();
  double t0 = mtb_now();
  for (long i = 0; i < n; i++) {
    v[i] = mt_timer_new(100.0 + (double)(i % 1000) / 100, never, NULL);
    mt_timer_start(v[i]);
  }
  double t_sched = mtb_now() - t0;
  long after = rss_kb();
  t0 = mtb_now();
  for (long i = 0; i < n; i++) {
    mt_timer_cancel(v[i]);
    mt_timer_free(v[i]);
  }
  double t_cancel = mtb_now() - t0;
  printf("100,000 pending timers: %.1f MB resident (%.0f bytes each), "
         "scheduled in %.1f ms, cancelled in %.1f ms\n",
         (double)(after - before) / 1024, (double)(after - before) * 1024 / (double)n,
         t_sched * 1e3, t_cancel * 1e3);
  free(v);
}

int main(void) {
  double s = mtb_scale();
  n_threads = (long)(500 * s);
  n_timers = (long)(100000 * s);
  char args[32];

  ours_start_join(NULL); /* warm up: stacks cached by glibc */
  pthread_start_join(NULL);
  /* interleaved rounds: the machine is shared, load drifts over seconds */
  enum { ROUNDS = 3 * MTB_REPS };
  double o[ROUNDS], p[ROUNDS];
  for (int i = 0; i < ROUNDS; i++) {
    o[i] = ours_start_join(NULL);
    p[i] = pthread_start_join(NULL);
  }
  double ours = median_of(o, ROUNDS), theirs = median_of(p, ROUNDS);
  mtb_report("thread start+join", "us/thread", ours, "pthread_create+join", theirs, false);
  snprintf(args, sizeof args, "%ld", n_threads);
  double py = mtb_python("thread_start_join.py", args);
  mtb_report("thread start+join", "us/thread", ours, "python Thread", py, false);

  pending_footprint();
  double ours_t = mtb_median(ours_timers, NULL, MTB_REPS);
  snprintf(args, sizeof args, "%ld", (long)(2000 * s));
  double py_t = mtb_python("thread_timer.py", args);
  mtb_report("100k timers scheduled+cancelled", "timers/s", ours_t, "python threading.Timer",
             py_t, true);
  return 0;
}
