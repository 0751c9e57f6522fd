/* Thread start+join vs pthread_create+join (Python's Thread as a reference),
 * alternating run by run: each thread returns its index + 1 and every run
 * checks the sum.  Also prints the memory of 100,000 pending timers; timers
 * against libuv and GLib are in bench_timers.c. */
#include <multitask.h>
#include "harness.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static long n_threads;

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
  char args[32];

  mtb_run_t warm = {0}; /* stacks cached by glibc */
  ours_start_join(NULL, &warm);
  pthread_start_join(NULL, &warm);
  mtb_row_t row = {"thread start+join", "us/thread", false, 1e6,
                   (uint64_t)n_threads * (uint64_t)(n_threads + 1) / 2};
  mtb_side_t th[] = {{"ours", ours_start_join, NULL},
                     {"pthread_create+join", pthread_start_join, NULL}};
  mtb_min_reps(11); /* a goal row within a few % of its bar: >= 11 alternating runs, as the lock's */
  mtb_compare(&row, th, 2);
  mtb_min_reps(0);
  snprintf(args, sizeof args, "%ld", n_threads);
  mtb_python_row(row.bench, row.unit, false, mtb_last_ours(), "python Thread",
                 "thread_start_join.py", args);

  pending_footprint();
  return 0;
}
