/* In-process queue throughput: SPSC and MPMC (4 producers x 4 consumers)
 * moving pointers, ours vs GLib's GAsyncQueue (Python's queue.Queue as a
 * reference), alternating run by run; every run checks the sum of the items
 * its consumers took against the sum the producers put. */
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

static void run(void *arg, mtb_run_t *r) {
  cfg_t *c = arg;
  cur = c;
  if (c->glib)
    c->g = g_async_queue_new();
  else
    c->q = mt_queue_new(0);
  pthread_t t[8];
  uint64_t sum = 0;
  mtb_start(r);
  for (int i = 0; i < c->nc; i++) pthread_create(&t[i], NULL, cons, NULL);
  for (int i = 0; i < c->np; i++) pthread_create(&t[c->nc + i], NULL, prod, NULL);
  for (int i = 0; i < c->nc + c->np; i++) {
    void *part;
    pthread_join(t[i], &part);
    if (i < c->nc) sum += (uintptr_t)part;
  }
  mtb_stop(r);
  r->ops = c->n, r->sum = sum;
  if (c->glib)
    g_async_queue_unref(c->g);
  else
    mt_queue_free(c->q);
}

static void compare(const char *name, int np, int nc, long n, const char *pyargs) {
  cfg_t ours = {np, nc, n, false, NULL, NULL}, glib = {np, nc, n, true, NULL, NULL};
  char bench[64];
  snprintf(bench, sizeof bench, "queue %s", name);
  uint64_t per = (uint64_t)(n / np); /* each producer puts 1..per */
  mtb_row_t row = {bench, "items/s", true, 0, (uint64_t)np * per * (per + 1) / 2};
  mtb_side_t sides[] = {{"ours", run, &ours}, {"GAsyncQueue", run, &glib}};
  mtb_compare(&row, sides, 2);
  mtb_python_row(bench, "items/s", true, mtb_last_ours(), "python queue.SimpleQueue", "queue_thread.py",
                 pyargs);
}

int main(void) {
  long n = (long)(2000000 * mtb_scale());
  n -= n % 4; /* equal shares for 4 producers and 4 consumers */
  char py[64];
  snprintf(py, sizeof py, "spsc %ld", n / 10);
  compare("SPSC", 1, 1, n, py);
  snprintf(py, sizeof py, "mpmc %ld", n / 20);
  compare("MPMC 4x4", 4, 4, n, py);
  return 0;
}
