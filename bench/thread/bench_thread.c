/* Thread start+join vs pthread_create+join (Python's Thread as a reference),
 * alternating run by run: each thread returns its index + 1 and every run
 * checks the sum.  100,000 timers scheduled and cancelled, with Python's
 * threading.Timer as the only (reference) baseline: a timer-heap C peer
 * (libuv, GLib timeout sources) is still to come (issue 13). */
#include <multitask.h>
#include "harness.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static long n_threads;
static long n_timers;

static void *empty(void *arg) { return arg; }

static void ours_start_join(void *arg, mtb_run_t *r) {
  (void)arg;
  uint64_t sum = 0;
  mtb_start(r);
  for (long i = 0; i < n_threads; i++) {
    mt_thread_t *t = mt_thread_spawn(empty, (void *)(intptr_t)(i + 1), NULL);
    void *ret = NULL;
    mt_thread_join(t, MT_FOREVER, &ret);
    sum += (uint64_t)(intptr_t)ret;
    mt_thread_free(t);
  }
  mtb_stop(r);
  r->ops = n_threads, r->sum = sum;
}

static void pthread_start_join(void *arg, mtb_run_t *r) {
  (void)arg;
  uint64_t sum = 0;
  mtb_start(r);
  for (long i = 0; i < n_threads; i++) {
    pthread_t t;
    void *ret = NULL;
    pthread_create(&t, NULL, empty, (void *)(intptr_t)(i + 1));
    pthread_join(t, &ret);
    sum += (uint64_t)(intptr_t)ret;
  }
  mtb_stop(r);
  r->ops = n_threads, r->sum = sum;
}

static void never(void *arg) { (void)arg; }

static void ours_timers(void *arg, mtb_run_t *r) {
  (void)arg;
  mt_timer_t **v = malloc((size_t)n_timers * sizeof *v);
  long cancelled = 0;
  mtb_start(r);
  for (long i = 0; i < n_timers; i++) {
    v[i] = mt_timer_new(100.0 + (double)(i % 1000) / 100, never, NULL);
    mt_timer_start(v[i]);
  }
  for (long i = 0; i < n_timers; i++) {
    cancelled += mt_timer_cancel(v[i], MT_FOREVER) == 1; /* 1: this call stopped it */
    mt_timer_free(v[i]);
  }
  mtb_stop(r);
  free(v);
  r->ops = n_timers, r->sum = (uint64_t)cancelled;
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
    mt_timer_cancel(v[i], MT_FOREVER);
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
  if (n_threads < 20) n_threads = 20;
  n_timers = (long)(100000 * s);
  char args[32];

  mtb_run_t warm = {0}; /* stacks cached by glibc */
  ours_start_join(NULL, &warm);
  pthread_start_join(NULL, &warm);
  mtb_row_t row = {"thread start+join", "us/thread", false, 1e6,
                   (uint64_t)n_threads * (uint64_t)(n_threads + 1) / 2};
  mtb_side_t th[] = {{"ours", ours_start_join, NULL},
                     {"pthread_create+join", pthread_start_join, NULL}};
  mtb_compare(&row, th, 2);
  snprintf(args, sizeof args, "%ld", n_threads);
  mtb_python_row(row.bench, row.unit, false, mtb_last_ours(), "python Thread",
                 "thread_start_join.py", args);

  pending_footprint();
  /* ours only: no C peer yet, so no compared row; Python as a reference */
  mtb_run_t tr = {0};
  ours_timers(NULL, &tr);
  if (tr.sum != (uint64_t)n_timers) {
    fprintf(stderr, "*** BENCH NOT VALID: timers cancelled %llu of %ld\n",
            (unsigned long long)tr.sum, n_timers);
    return 1;
  }
  snprintf(args, sizeof args, "%ld", (long)(2000 * s) > 0 ? (long)(2000 * s) : 1);
  mtb_python_row("100k timers scheduled+cancelled", "timers/s", true,
                 (double)tr.ops / tr.wall, "python threading.Timer", "thread_timer.py", args);
  return 0;
}
