/* Futures and ThreadPoolExecutor against GLib's GThreadPool, a hand-written
 * pthread mutex/condvar work queue and Python's ThreadPoolExecutor, all
 * with the same number of workers (W = 2, the cores of this machine):
 *   1. throughput: submit N trivial tasks, then collect every result;
 *   2. latency: one task at a time, submit -> result (round trips/s);
 *   3. map over N items vs Python's executor.map.
 * Every run checks its results. */
#include <glib.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <multitask.h>

#include "harness.h"

#define W 2

static long N;        /* throughput / map items */
static long N_LAT;    /* latency round trips */

static void check(int ok, const char *what) {
  if (!ok) {
    fprintf(stderr, "bench_futures: wrong result in %s\n", what);
    exit(1);
  }
}

/* ---- ours -------------------------------------------------------------- */

static int twice(void *arg, mt_value_t *out) {
  out->ptr = (void *)((intptr_t)arg * 2);
  return 0;
}

static mt_executor_t *ours_pool(void) {
  mt_thread_pool_opts_t o = {.max_workers = W};
  return mt_thread_pool_new(&o);
}

static double ours_throughput(void *unused) {
  (void)unused;
  mt_executor_t *ex = ours_pool();
  mt_future_t **fs = malloc(sizeof *fs * (size_t)N);
  double t = mtb_now();
  for (long i = 0; i < N; i++) mt_executor_submit(ex, twice, (void *)(intptr_t)i, &fs[i]);
  for (long i = 0; i < N; i++) {
    mt_value_t v;
    check(mt_future_result(fs[i], MT_FOREVER, &v) == 0 && (intptr_t)v.ptr == 2 * i, "ours");
    mt_future_free(fs[i]);
  }
  double rate = (double)N / (mtb_now() - t);
  mt_executor_free(ex);
  free(fs);
  return rate;
}

static double ours_latency(void *unused) {
  (void)unused;
  mt_executor_t *ex = ours_pool();
  mt_future_t *f;
  mt_executor_submit(ex, twice, 0, &f); /* start the worker */
  mt_future_result(f, MT_FOREVER, NULL);
  mt_future_free(f);
  double t = mtb_now();
  for (long i = 0; i < N_LAT; i++) {
    mt_value_t v;
    mt_executor_submit(ex, twice, (void *)(intptr_t)i, &f);
    check(mt_future_result(f, MT_FOREVER, &v) == 0 && (intptr_t)v.ptr == 2 * i, "ours lat");
    mt_future_free(f);
  }
  double rate = (double)N_LAT / (mtb_now() - t);
  mt_executor_free(ex);
  return rate;
}

static double ours_map(void *unused) {
  (void)unused;
  mt_executor_t *ex = ours_pool();
  void **args = malloc(sizeof *args * (size_t)N);
  mt_value_t *res = malloc(sizeof *res * (size_t)N);
  for (long i = 0; i < N; i++) args[i] = (void *)(intptr_t)i;
  double t = mtb_now();
  check(mt_executor_map(ex, twice, args, (size_t)N, MT_FOREVER, 0, res, NULL) == 0, "map");
  double rate = (double)N / (mtb_now() - t);
  for (long i = 0; i < N; i++) check((intptr_t)res[i].ptr == 2 * i, "map order");
  mt_executor_free(ex);
  free(args);
  free(res);
  return rate;
}

/* ---- GLib GThreadPool -------------------------------------------------- */

typedef struct {
  intptr_t *results;
  GMutex lock; /* latency: completion signal */
  GCond cond;
  gint done;
} gstate_t;

static void g_task(gpointer data, gpointer user) {
  gstate_t *s = user;
  intptr_t i = (intptr_t)data - 1; /* GLib refuses NULL items */
  s->results[i] = 2 * i;
}

static double glib_throughput(void *unused) {
  (void)unused;
  gstate_t s = {.results = calloc((size_t)N, sizeof(intptr_t))};
  GThreadPool *p = g_thread_pool_new(g_task, &s, W, FALSE, NULL);
  double t = mtb_now();
  for (long i = 0; i < N; i++) g_thread_pool_push(p, (gpointer)(intptr_t)(i + 1), NULL);
  g_thread_pool_free(p, FALSE, TRUE); /* waits for every task */
  double rate = (double)N / (mtb_now() - t);
  for (long i = 0; i < N; i++) check(s.results[i] == 2 * i, "glib");
  free(s.results);
  return rate;
}

static void g_lat_task(gpointer data, gpointer user) {
  gstate_t *s = user;
  intptr_t i = (intptr_t)data - 1;
  g_mutex_lock(&s->lock);
  s->results[0] = 2 * i;
  s->done = 1;
  g_cond_signal(&s->cond);
  g_mutex_unlock(&s->lock);
}

static double glib_latency(void *unused) {
  (void)unused;
  gstate_t s = {.results = calloc(1, sizeof(intptr_t))};
  g_mutex_init(&s.lock);
  g_cond_init(&s.cond);
  GThreadPool *p = g_thread_pool_new(g_lat_task, &s, W, FALSE, NULL);
  double t = mtb_now();
  for (long i = 0; i < N_LAT; i++) {
    g_thread_pool_push(p, (gpointer)(intptr_t)(i + 1), NULL);
    g_mutex_lock(&s.lock);
    while (!s.done) g_cond_wait(&s.cond, &s.lock);
    s.done = 0;
    check(s.results[0] == 2 * i, "glib lat");
    g_mutex_unlock(&s.lock);
  }
  double rate = (double)N_LAT / (mtb_now() - t);
  g_thread_pool_free(p, FALSE, TRUE);
  g_mutex_clear(&s.lock);
  g_cond_clear(&s.cond);
  free(s.results);
  return rate;
}

/* ---- hand-written pthread mutex/condvar work queue --------------------- */

typedef struct job {
  intptr_t arg, result;
  int done;
  struct job *next;
} job_t;

typedef struct {
  pthread_mutex_t lock;
  pthread_cond_t work, finished;
  job_t *head, *tail;
  int waiting, stop;
  long completed;
  pthread_t th[W];
} pq_t;

static void *pq_worker(void *arg) {
  pq_t *q = arg;
  pthread_mutex_lock(&q->lock);
  for (;;) {
    while (!q->head && !q->stop) {
      q->waiting++;
      pthread_cond_wait(&q->work, &q->lock);
      q->waiting--;
    }
    if (!q->head) break;
    job_t *j = q->head;
    q->head = j->next;
    if (!q->head) q->tail = NULL;
    pthread_mutex_unlock(&q->lock);
    j->result = j->arg * 2;
    pthread_mutex_lock(&q->lock);
    j->done = 1;
    q->completed++;
    pthread_cond_broadcast(&q->finished);
  }
  pthread_mutex_unlock(&q->lock);
  return NULL;
}

static void pq_start(pq_t *q) {
  pthread_mutex_init(&q->lock, NULL);
  pthread_cond_init(&q->work, NULL);
  pthread_cond_init(&q->finished, NULL);
  for (int i = 0; i < W; i++) pthread_create(&q->th[i], NULL, pq_worker, q);
}

static void pq_push(pq_t *q, job_t *j) {
  pthread_mutex_lock(&q->lock);
  j->next = NULL;
  if (q->tail)
    q->tail->next = j;
  else
    q->head = j;
  q->tail = j;
  if (q->waiting) pthread_cond_signal(&q->work);
  pthread_mutex_unlock(&q->lock);
}

static void pq_wait(pq_t *q, job_t *j) {
  pthread_mutex_lock(&q->lock);
  while (!j->done) pthread_cond_wait(&q->finished, &q->lock);
  pthread_mutex_unlock(&q->lock);
}

static void pq_stop(pq_t *q) {
  pthread_mutex_lock(&q->lock);
  q->stop = 1;
  pthread_cond_broadcast(&q->work);
  pthread_mutex_unlock(&q->lock);
  for (int i = 0; i < W; i++) pthread_join(q->th[i], NULL);
}

static double pq_throughput(void *unused) {
  (void)unused;
  pq_t q = {0};
  pq_start(&q);
  job_t *jobs = calloc((size_t)N, sizeof *jobs);
  double t = mtb_now();
  for (long i = 0; i < N; i++) {
    jobs[i].arg = i;
    pq_push(&q, &jobs[i]);
  }
  for (long i = 0; i < N; i++) {
    pq_wait(&q, &jobs[i]);
    check(jobs[i].result == 2 * i, "pthread queue");
  }
  double rate = (double)N / (mtb_now() - t);
  pq_stop(&q);
  free(jobs);
  return rate;
}

static double pq_latency(void *unused) {
  (void)unused;
  pq_t q = {0};
  pq_start(&q);
  job_t j;
  double t = mtb_now();
  for (long i = 0; i < N_LAT; i++) {
    j = (job_t){.arg = i};
    pq_push(&q, &j);
    pq_wait(&q, &j);
    check(j.result == 2 * i, "pthread queue lat");
  }
  double rate = (double)N_LAT / (mtb_now() - t);
  pq_stop(&q);
  return rate;
}

int main(void) {
  N = (long)(1000000 * mtb_scale());
  N_LAT = (long)(100000 * mtb_scale());
  char args[64];

  double ours = mtb_median(ours_throughput, NULL, MTB_REPS);
  mtb_report("futures submit-all+collect 1e6", "tasks/s", ours, "GThreadPool(2)",
             mtb_median(glib_throughput, NULL, MTB_REPS), true);
  mtb_report("futures submit-all+collect 1e6", "tasks/s", ours, "pthread mutex/cond queue",
             mtb_median(pq_throughput, NULL, MTB_REPS), true);
  snprintf(args, sizeof args, "submit %ld %d", N / 20, W);
  mtb_report("futures submit-all+collect", "tasks/s", ours, "Python TPE(2) 5e4",
             mtb_python("futures_pool.py", args), true);

  ours = mtb_median(ours_latency, NULL, MTB_REPS);
  mtb_report("futures submit->result one at a time", "calls/s", ours, "GThreadPool(2)+GCond",
             mtb_median(glib_latency, NULL, MTB_REPS), true);
  mtb_report("futures submit->result one at a time", "calls/s", ours,
             "pthread mutex/cond queue", mtb_median(pq_latency, NULL, MTB_REPS), true);
  snprintf(args, sizeof args, "latency %ld %d", N_LAT / 10, W);
  mtb_report("futures submit->result one at a time", "calls/s", ours, "Python TPE(2) 1e4",
             mtb_python("futures_pool.py", args), true);

  ours = mtb_median(ours_map, NULL, MTB_REPS);
  snprintf(args, sizeof args, "map %ld %d", N / 20, W);
  mtb_report("futures map 1e6 items", "items/s", ours, "Python executor.map 5e4",
             mtb_python("futures_pool.py", args), true);
  return 0;
}
