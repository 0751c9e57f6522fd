/* Shared state: the shared dict's get/set vs Python's Manager().dict(), and
 * a Value incremented under its lock vs Python's Value. */
#include <multitask.h>
#include <stdio.h>

#include "harness.h"

static long n_ops;

static double dict_getset(void *arg) {
  mt_shdict_t *d = arg;
  char key[16];
  double t0 = mtb_now();
  for (long i = 0; i < n_ops; i++) {
    snprintf(key, sizeof key, "k%ld", i & 1023);
    int64_t v = 0;
    mt_shdict_get_int(d, key, &v);
    mt_shdict_set_int(d, key, v + 1);
  }
  return 2.0 * n_ops / (mtb_now() - t0);
}

static double value_incr(void *arg) {
  mt_value_t *v = arg;
  mt_lock_t *lock = mt_value_get_lock(v);
  double t0 = mtb_now();
  for (long i = 0; i < n_ops; i++) {
    mt_lock_acquire(lock, MT_FOREVER);
    int64_t x;
    mt_value_get_i64(v, &x);
    mt_value_set_i64(v, x + 1);
    mt_lock_release(lock);
  }
  return n_ops / (mtb_now() - t0);
}

int main(void) {
  n_ops = (long)(1000000 * mtb_scale());
  mt_shdict_t *d = mt_shdict_new(4096, 1 << 20);
  for (int i = 0; i < 1024; i++) {
    char key[16];
    snprintf(key, sizeof key, "k%d", i);
    mt_shdict_set_int(d, key, 0);
  }
  double ours = mtb_median(dict_getset, d, MTB_REPS);
  double py = mtb_python("proc_manager_dict.py", "20000");
  mtb_report("shared dict get/set", "ops/s", ours, "Python Manager dict", py, true);
  mt_shdict_free(d);

  mt_value_t *v = mt_value_new('i', 0, true);
  ours = mtb_median(value_incr, v, MTB_REPS);
  py = mtb_python("proc_value.py", "200000");
  mtb_report("Value += 1 under its lock", "ops/s", ours, "Python Value", py, true);
  mt_value_free(v);
  return 0;
}
