/* The shared dict, list and Value used by threads of one process (the
 * TSan run covers these; the fork tests are skipped there). */
#include "mt_test.h"

#include <pthread.h>
#include <stdio.h>

enum { THREADS = 4 };
static long n_ops;
static mt_shdict_t *dict;
static mt_shlist_t *list;
static mt_shvalue_t *value;

static void *worker(void *arg) {
  long id = (long)arg;
  char key[32];
  for (long i = 0; i < n_ops; i++) {
    mt_shdict_incr(dict, "total", 1, NULL);
    snprintf(key, sizeof key, "t%ld-%ld", id, i % 64);
    mt_shdict_set_bytes(dict, key, key, 8);
    if (i % 2) mt_shdict_del(dict, key);
    mt_shlist_incr(list, 0, 1, NULL);
    mt_shvalue_add(value, 1, NULL);
    mt_lock_acquire(mt_shvalue_get_lock(value), MT_FOREVER);
    mt_lock_release(mt_shvalue_get_lock(value));
  }
  return NULL;
}

static void test_threads_share(void **state) {
  (void)state;
  n_ops = mt_test_scaled(50000, 500);
  dict = mt_shdict_new(4096, 1 << 20);
  list = mt_shlist_new(4, 4096);
  value = mt_shvalue_new('l', 0, true);
  assert_code(mt_shlist_append_int(list, 0), 0);
  pthread_t t[THREADS];
  for (long i = 0; i < THREADS; i++) pthread_create(&t[i], NULL, worker, (void *)i);
  for (int i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
  int64_t v;
  assert_code(mt_shdict_get_int(dict, "total", &v), 0);
  assert_int_equal(v, THREADS * n_ops);
  assert_code(mt_shlist_get_int(list, 0, &v), 0);
  assert_int_equal(v, THREADS * n_ops);
  assert_code(mt_shvalue_get_i64(value, &v), 0);
  assert_int_equal(v, THREADS * n_ops);
  mt_shdict_free(dict);
  mt_shlist_free(list);
  mt_shvalue_free(value);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_threads_share)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
