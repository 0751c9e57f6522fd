/* Pool.map of a trivial function over 10^5 items (chunksize 1 and Python's
 * default chunking), apply_async round trip, and ProcessPoolExecutor
 * submit->result: ours vs Python's multiprocessing (fork), 2 workers each. */
#include <multitask.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static mt_pool_t *g_pool;
static mt_executor_t *g_ex;
static size_t g_n, g_chunk;
static mt_bytes_t *g_items;
static int64_t *g_vals;
static mt_pool_item_t *g_res;
static int g_calls;

static int square(const void *in, size_t len, mt_value_t *out) {
  static int64_t r;
  int64_t x;
  (void)len;
  memcpy(&x, in, sizeof x);
  r = x * x + 1;
  out->ptr = &r;
  out->len = sizeof r;
  return 0;
}

static int square_value(void *arg, mt_value_t *out) {
  intptr_t x = (intptr_t)arg;
  out->ptr = (void *)(x * x + 1);
  return 0;
}

static double run_map(void *arg) {
  (void)arg;
  double t0 = mtb_now();
  if (mt_pool_map(g_pool, square, g_items, g_n, g_chunk, g_res) != 0) abort();
  double rate = (double)g_n / (mtb_now() - t0);
  mt_pool_items_release(g_res, g_n);
  return rate;
}

static double run_apply(void *arg) {
  (void)arg;
  double t0 = mtb_now();
  for (int i = 0; i < g_calls; i++) {
    mt_future_t *f;
    mt_value_t v;
    int64_t x = i;
    if (mt_pool_apply_async(g_pool, square, &x, sizeof x, NULL, &f) != 0) abort();
    if (mt_future_result(f, MT_FOREVER, &v) != 0) abort();
    mt_future_free(f);
  }
  return g_calls / (mtb_now() - t0);
}

static double run_submit(void *arg) {
  (void)arg;
  double t0 = mtb_now();
  for (int i = 0; i < g_calls; i++) {
    mt_future_t *f;
    mt_value_t v;
    if (mt_executor_submit(g_ex, square_value, (void *)(intptr_t)i, &f) != 0) abort();
    if (mt_future_result(f, MT_FOREVER, &v) != 0) abort();
    mt_future_free(f);
  }
  return g_calls / (mtb_now() - t0);
}

int main(void) {
  g_n = (size_t)(100000 * mtb_scale());
  g_vals = malloc(g_n * sizeof *g_vals);
  g_items = malloc(g_n * sizeof *g_items);
  g_res = calloc(g_n, sizeof *g_res);
  for (size_t i = 0; i < g_n; i++) {
    g_vals[i] = (int64_t)i;
    g_items[i] = (mt_bytes_t){&g_vals[i], sizeof g_vals[i]};
  }
  g_pool = mt_pool_new(&(mt_pool_opts_t){.processes = 2});
  char args[64];

  g_chunk = 1;
  double ours = mtb_median(run_map, NULL, MTB_REPS);
  /* Python needs ~5 s per 10^5 items at chunksize 1: it runs 2*10^4 (the
   * rate per item is what is compared) */
  snprintf(args, sizeof args, "%zu 1 3", g_n / 5);
  mtb_report("Pool.map 10^5 trivial, chunksize=1", "items/s", ours, "Python Pool.map",
             mtb_python("pool_map.py", args), true);

  g_chunk = 0;
  ours = mtb_median(run_map, NULL, MTB_REPS);
  snprintf(args, sizeof args, "%zu 0 5", g_n);
  mtb_report("Pool.map 10^5 trivial, default chunks", "items/s", ours, "Python Pool.map",
             mtb_python("pool_map.py", args), true);

  g_calls = (int)(2000 * mtb_scale());
  ours = mtb_median(run_apply, NULL, MTB_REPS);
  snprintf(args, sizeof args, "%d", g_calls / 2);
  mtb_report("Pool.apply_async round trip", "calls/s", ours, "Python apply_async().get()",
             mtb_python("pool_apply.py", args), true);
  mt_pool_free(g_pool);

  g_ex = mt_process_pool_new(&(mt_process_pool_opts_t){.max_workers = 2});
  ours = mtb_median(run_submit, NULL, MTB_REPS);
  mtb_report("ProcessPoolExecutor submit->result", "calls/s", ours,
             "Python ProcessPoolExecutor", mtb_python("pool_executor.py", args), true);
  mt_executor_free(g_ex);
  free(g_res);
  free(g_items);
  free(g_vals);
  return 0;
}
