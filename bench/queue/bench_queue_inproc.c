/* In-process queue throughput: SPSC and MPMC (4 producers x 4 consumers)
 * moving pointers, ours vs GLib's GAsyncQueue and Python's queue.Queue. */
#include "harness.h"

#include <glib.h>
#include <multitask.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct {
  int np, nc;
  long n; /* items in total */
  bool glib;
  mt_queue_t *q;
  GAsyncQueue *g;
} cfg_t;

static cfg_t *cur;

static void *prod(void *arg) {
  long per = cur->n / cur->np;
  (void)arg;
  for (long i = 1; i <= per; i++) {
    if (cur->glib)
      g_async_queue_push(cur->g, (void *)(uintptr_t)i);
    else
      mt_queue_put(cur->q, (void *)(uintptr_t)i, MT_FOREVER);
  }
  return NULL;
}

static void *cons(void *arg) {
  long per = cur->n / cur->nc;
  uintptr_t sum = 0;
  void *it;
  (void)arg;
  for (long i = 0; i < per; i++) {
    if (cur->glib)
      it = g_async_queue_pop(cur->g);
    else
      mt_queue_get(cur->q, &it, MT_FOREVER);
    sum += (uintptr_t)it;
  }
  return (void *)sum;
}

static double run(void *arg) {
  cfg_t *c = arg;
  cur = c;
  if (c->glib)
    c->g = g_async_queue_new();
  else
    c->q = mt_queue_new(0);
  pthread_t t[8];
  double t0 = mtb_now();
  for (int i = 0; i < c->nc; i++) pthread_create(&t[i], NULL, cons, NULL);
  for (int i = 0; i < c->np; i++) pthread_create(&t[c->nc + i], NULL, prod, NULL);
  for (int i = 0; i < c->nc + c->np; i++) pthread_join(t[i], NULL);
  double rate = (double)c->n / (mtb_now() - t0);
  if (c->glib)
    g_async_queue_unref(c->g);
  else
    mt_queue_free(c->q);
  return rate;
}

static void compare(const char *name, int np, int nc, long n, const char *pyargs) {
  cfg_t ours = {np, nc, n, false, NULL, NULL}, glib = {np, nc, n, true, NULL, NULL};
  double o = mtb_median(run, &ours, MTB_REPS);
  double g = mtb_median(run, &glib, MTB_REPS);
  char bench[64];
  snprintf(bench, sizeof bench, "queue %s", name);
  mtb_report(bench, "items/s", o, "GAsyncQueue", g, true);
  mtb_report(bench, "items/s", o, "python queue.Queue", mtb_python("queue_thread.py", pyargs),
             true);
}

int main(void) {
  long n = (long)(2000000 * mtb_scale());
  char py[64];
  snprintf(py, sizeof py, "spsc %ld", n / 10);
  compare("SPSC", 1, 1, n, py);
  snprintf(py, sizeof py, "mpmc %ld", n / 20);
  compare("MPMC 4x4", 4, 4, n, py);
  return 0;
}
