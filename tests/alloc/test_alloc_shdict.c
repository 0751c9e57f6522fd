/* Allocation failures in the shared dict (and list): creation returns
 * MT_ENOMEM; a set whose key or value cannot be allocated returns MT_ENOMEM
 * and leaves the entry as it was (absent, or its old value). */
#include <string.h>

#include "failpoint.h"

#define N 12

static int dict_scenario(void) {
  mt_shdict_t *d = mt_shdict_new(64, 1 << 16);
  if (!d) return fp_errno();
  int r = 0, nomem = 0;
  for (int i = 0; i < N; i++) {
    char key[16], val[32];
    snprintf(key, sizeof key, "k%d", i);
    int len = snprintf(val, sizeof val, "value number %d", i);
    int s = (i % 3 == 0)   ? mt_shdict_set_int(d, key, i)
            : (i % 3 == 1) ? mt_shdict_set_double(d, key, i + 0.5)
                           : mt_shdict_set_bytes(d, key, val, (size_t)len);
    if (s == MT_ENOMEM) {
      nomem++;
      FP_CHECK(mt_shdict_contains(d, key) == 0);
      continue;
    }
    FP_CHECK(s == 0);
    if (i % 3 == 2) { /* overwrite: old value survives a failure */
      s = mt_shdict_set_bytes(d, key, "replacement value", 17);
      if (s == MT_ENOMEM) {
        nomem++;
        char b[32];
        FP_CHECK(mt_shdict_get_bytes(d, key, b, sizeof b) == len && memcmp(b, val, len) == 0);
      } else {
        FP_CHECK(s == 0);
      }
    }
  }
  int64_t v;
  int s = mt_shdict_incr(d, "counter", 5, &v);
  if (s == MT_ENOMEM) nomem++;
  else FP_CHECK(s == 0 && v == 5);
  FP_CHECK(mt_shdict_del(d, "k0") == 0 || mt_shdict_contains(d, "k0") == 0);
  mt_shdict_free(d);

  mt_shlist_t *l = mt_shlist_new(16, 1 << 12);
  if (!l) return fp_errno();
  for (int i = 0; i < N; i++) {
    long before = mt_shlist_len(l);
    s = mt_shlist_append_bytes(l, "abcdefgh", 8);
    if (s == MT_ENOMEM) {
      nomem++;
      FP_CHECK(mt_shlist_len(l) == before);
    } else {
      FP_CHECK(s == 0 && mt_shlist_len(l) == before + 1);
    }
  }
  mt_shlist_free(l);
  if (r == 0 && nomem) r = MT_ENOMEM;
  return r;
}

static void shdict_under_failures(void **state) {
  (void)state;
  fp_run("shared dict", dict_scenario);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(shdict_under_failures)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
