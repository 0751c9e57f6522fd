/* Pool(6): apply blocks for each result; apply_async returns at once and a
 * callback collects the results (Python: apply_async(f, args, callback=...)).
 * Callbacks run in the pool's result thread. */
#include <multitask.h>
#include <stdio.h>
#include <string.h>

static int cube(const void *in, size_t len, mt_value_t *out) {
  static long r;
  long x;
  (void)len;
  memcpy(&x, in, sizeof x);
  r = x * x * x;
  out->ptr = &r;
  out->len = sizeof r;
  return 0;
}

static long g_sum;
static void collect(const mt_value_t *v, void *arg) {
  (void)arg;
  long r;
  memcpy(&r, v->ptr, sizeof r);
  __atomic_add_fetch(&g_sum, r, __ATOMIC_RELAXED);
}

int main(void) {
  mt_pool_opts_t popts = MT_POOL_OPTS_INIT;
  popts.processes = 6;
  mt_pool_t *p = mt_pool_new(&popts);
  long sum = 0;
  for (long i = 1; i <= 12; i++) { /* apply: one at a time */
    mt_value_t v;
    mt_pool_apply(p, cube, &i, sizeof i, MT_FOREVER, &v);
    sum += *(long *)v.ptr;
    v.free_fn(v.ptr);
  }
  printf("apply:       sum of cubes 1..12 = %ld\n", sum);
  mt_pool_task_opts_t o = MT_POOL_TASK_OPTS_INIT;
  o.callback = collect;
  mt_future_t *fs[12];
  for (long i = 1; i <= 12; i++) mt_pool_apply_async(p, cube, &i, sizeof i, &o, &fs[i - 1]);
  for (int i = 0; i < 12; i++) { /* wait; the callbacks ran before each result */
    mt_future_result(fs[i], MT_FOREVER, NULL);
    mt_future_free(fs[i]);
  }
  printf("apply_async: sum of cubes 1..12 = %ld (via callbacks)\n", g_sum);
  mt_pool_close(p);
  mt_pool_join(p, MT_FOREVER);
  mt_pool_free(p);
  return sum == g_sum ? 0 : 1;
}
