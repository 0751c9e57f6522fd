/* The shared dict and list (Manager().dict() / .list() without a server). */
#include "mt_test.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sync/mutex.h"
#include "wait/wait.h"

/* The notes' example: 100 processes each decrement a shared count under a
 * lock -> exactly 0 left. */
struct shared {
  mt_shdict_t *d;
  mt_lock_t *lock;
};

static int decrement(void *arg) {
  struct shared *s = arg;
  if (mt_lock_acquire(s->lock, MT_FOREVER) != 0) return 1;
  int64_t c;
  if (mt_shdict_get_int(s->d, "count", &c) != 0) return 2;
  if (mt_shdict_set_int(s->d, "count", c - 1) != 0) return 3;
  mt_lock_release(s->lock);
  char key[32];
  snprintf(key, sizeof key, "pid-%d", (int)getpid());
  return mt_shdict_set_int(s->d, key, 1) != 0;
}

static void test_hundred_processes(void **state) {
  (void)state;
  struct shared s = {mt_shdict_new(0, 0), mt_lock_new(MT_SHARED)};
  assert_non_null(s.d);
  assert_code(mt_shdict_set_int(s.d, "count", 100), 0);
  mt_process_t *ps[100];
  for (int i = 0; i < 100; i++) {
    ps[i] = mt_process_new(decrement, &s, NULL);
    assert_code(mt_process_start(ps[i]), 0);
  }
  for (int i = 0; i < 100; i++) {
    int code;
    assert_code(mt_process_join(ps[i], MT_FOREVER), 0);
    assert_code(mt_process_exitcode(ps[i], &code), 0);
    assert_int_equal(code, 0);
    mt_process_free(ps[i]);
  }
  int64_t c;
  assert_code(mt_shdict_get_int(s.d, "count", &c), 0);
  assert_int_equal(c, 0);
  assert_int_equal(mt_shdict_len(s.d), 101);
  mt_lock_free(s.lock);
  mt_shdict_free(s.d);
}

static int incr_many(void *arg) {
  long n = mt_test_scaled(20000, 200);
  for (long i = 0; i < n; i++)
    if (mt_shdict_incr(arg, "hits", 1, NULL) != 0) return 1;
  return 0;
}

static void test_atomic_incr(void **state) {
  (void)state;
  mt_shdict_t *d = mt_shdict_new(16, 1 << 16);
  mt_process_t *ps[4];
  for (int i = 0; i < 4; i++) {
    ps[i] = mt_process_new(incr_many, d, NULL);
    assert_code(mt_process_start(ps[i]), 0);
  }
  for (int i = 0; i < 4; i++) {
    assert_code(mt_process_join(ps[i], MT_FOREVER), 0);
    mt_process_free(ps[i]);
  }
  int64_t v;
  assert_code(mt_shdict_get_int(d, "hits", &v), 0);
  assert_int_equal(v, 4 * mt_test_scaled(20000, 200));
  assert_code(mt_shdict_set_int(d, "big", INT64_MAX), 0);
  assert_code(mt_shdict_incr(d, "big", 1, NULL), MT_ERANGE);
  assert_code(mt_shdict_set_double(d, "f", 1.5), 0);
  assert_code(mt_shdict_incr(d, "f", 1, NULL), MT_EINVAL);
  mt_shdict_free(d);
}

static int sum_items(const char *key, const mt_shitem_t *v, void *arg) {
  (void)key;
  int64_t *sum = arg;
  if (v->type == MT_SHITEM_INT) *sum += v->i;
  return 0;
}

static int count_keys(const char *key, void *arg) {
  (void)key;
  (*(long *)arg)++;
  return 0;
}

static void test_dict_ops(void **state) {
  (void)state;
  mt_shdict_t *d = mt_shdict_new(64, 1 << 20);
  assert_non_null(d);
  assert_code(mt_shdict_set_int(d, "a", 1), 0);
  assert_code(mt_shdict_set_double(d, "b", 2.5), 0);
  assert_code(mt_shdict_set_bytes(d, "c", "xyz", 3), 0);
  assert_code(mt_shdict_set_bytes(d, "", "", 0), 0);
  assert_int_equal(mt_shdict_len(d), 4);
  int64_t i;
  double x;
  char buf[16];
  assert_code(mt_shdict_get_int(d, "a", &i), 0);
  assert_int_equal(i, 1);
  assert_code(mt_shdict_get_double(d, "a", &x), 0);
  assert_true(x == 1.0);
  assert_code(mt_shdict_get_double(d, "b", &x), 0);
  assert_true(x == 2.5);
  assert_code(mt_shdict_get_int(d, "b", &i), MT_EINVAL);
  assert_code(mt_shdict_get_bytes(d, "c", NULL, 0), MT_EMSGSIZE);
  assert_code(mt_shdict_get_bytes(d, "c", buf, 2), MT_EMSGSIZE);
  assert_code(mt_shdict_get_bytes(d, "c", buf, sizeof buf), 3);
  assert_memory_equal(buf, "xyz", 3);
  assert_code(mt_shdict_get_bytes(d, "", buf, sizeof buf), 0);
  assert_code(mt_shdict_type(d, "c"), MT_SHITEM_BYTES);
  assert_code(mt_shdict_type(d, "zz"), MT_ENOENT);
  assert_code(mt_shdict_get_int(d, "zz", &i), MT_ENOENT);
  assert_code(mt_shdict_contains(d, "a"), 1);
  assert_code(mt_shdict_contains(d, "zz"), 0);
  /* overwrite with another type */
  assert_code(mt_shdict_set_bytes(d, "a", "long value here", 15), 0);
  assert_code(mt_shdict_get_bytes(d, "a", buf, sizeof buf), 15);
  assert_code(mt_shdict_set_int(d, "a", 5), 0);
  assert_code(mt_shdict_del(d, "a"), 0);
  assert_code(mt_shdict_del(d, "a"), MT_ENOENT);
  assert_int_equal(mt_shdict_len(d), 3);
  /* capacity */
  char key[32];
  for (int k = 0; k < 61; k++) {
    snprintf(key, sizeof key, "k%d", k);
    assert_code(mt_shdict_set_int(d, key, k), 0);
  }
  assert_int_equal(mt_shdict_len(d), 64);
  assert_code(mt_shdict_set_int(d, "one-too-many", 1), MT_EFULL);
  assert_code(mt_shdict_set_int(d, "k3", 33), 0); /* overwriting is fine */
  int64_t sum = 0;
  assert_int_equal(mt_shdict_items(d, sum_items, &sum), 64);
  assert_int_equal(sum, 61 * 60 / 2 - 3 + 33);
  long nk = 0;
  assert_int_equal(mt_shdict_keys(d, count_keys, &nk), 64);
  assert_int_equal(nk, 64);
  /* churn: tombstones force rehashes; contents stay exact */
  for (int round = 0; round < 50; round++) {
    for (int k = 0; k < 61; k++) {
      snprintf(key, sizeof key, "k%d", k);
      assert_code(mt_shdict_del(d, key), 0);
    }
    for (int k = 0; k < 61; k++) {
      snprintf(key, sizeof key, "k%d.%d", k, round);
      assert_code(mt_shdict_set_bytes(d, key, key, strlen(key)), 0);
    }
    for (int k = 0; k < 61; k++) {
      char key2[32];
      snprintf(key2, sizeof key2, "k%d.%d", k, round);
      snprintf(key, sizeof key, "k%d", k);
      assert_code(mt_shdict_del(d, key2), 0);
      assert_code(mt_shdict_set_int(d, key, k), 0);
    }
  }
  assert_int_equal(mt_shdict_len(d), 64);
  /* errors */
  char huge[MT_SHDICT_KEY_MAX + 2];
  memset(huge, 'k', sizeof huge - 1);
  huge[sizeof huge - 1] = 0;
  assert_code(mt_shdict_set_int(d, huge, 1), MT_EINVAL);
  assert_code(mt_shdict_set_int(NULL, "a", 1), MT_EINVAL);
  assert_code(mt_shdict_set_int(d, NULL, 1), MT_EINVAL);
  assert_code(mt_shdict_get_int(d, "k1", NULL), MT_EINVAL);
  mt_shdict_free(d);
}

/* Growth to 10^6 entries (scaled) in the default-capacity dict. */
static void test_million(void **state) {
  (void)state;
  long n = mt_test_scaled(1000000, 20000);
  mt_shdict_t *d = mt_shdict_new(0, 0);
  char key[32];
  for (long k = 0; k < n; k++) {
    snprintf(key, sizeof key, "key-%ld", k);
    assert_code(mt_shdict_set_int(d, key, k), 0);
  }
  assert_int_equal(mt_shdict_len(d), n);
  for (long k = 0; k < n; k += 997) {
    int64_t v;
    snprintf(key, sizeof key, "key-%ld", k);
    assert_code(mt_shdict_get_int(d, key, &v), 0);
    assert_int_equal(v, k);
  }
  mt_shdict_free(d);
}

/* ---- robustness: processes die while using the dict ----------------------- */

static int hold_and_die(void *arg) {
  mt__mutex_lock((mt__mutex_t *)arg, true, MT__NO_DEADLINE); /* the dict's lock */
  raise(SIGKILL);
  return 0;
}

static int churn_forever(void *arg) {
  mt_shdict_t *d = arg;
  char key[32];
  for (unsigned long i = 0;; i++) {
    snprintf(key, sizeof key, "churn-%lu", i % 50);
    if (i % 3 == 2) mt_shdict_del(d, key);
    else if (i % 3 == 1) mt_shdict_set_bytes(d, key, key, strlen(key));
    else mt_shdict_incr(d, "progress", 1, NULL);
  }
  return 0;
}

static int check_entry(const char *key, const mt_shitem_t *v, void *arg) {
  (void)arg;
  if (!strncmp(key, "churn-", 6)) {
    if (v->type != MT_SHITEM_BYTES || v->len != strlen(key) || memcmp(v->bytes, key, v->len))
      return 1;
  }
  return 0;
}

static void test_owner_death(void **state) {
  (void)state;
  mt_shdict_t *d = mt_shdict_new(1000, 1 << 20);
  assert_code(mt_shdict_set_int(d, "kept", 42), 0);
  /* 1: a process dies holding the lock: the next caller goes on. */
  mt_process_t *p = mt_process_new(hold_and_die, d, NULL);
  assert_code(mt_process_start(p), 0);
  assert_code(mt_process_join(p, MT_FOREVER), 0);
  mt_process_free(p);
  int64_t v;
  assert_code(mt_shdict_get_int(d, "kept", &v), 0);
  assert_int_equal(v, 42);
  /* 2: processes killed at arbitrary points of set/del/incr. */
  int rounds = (int)mt_test_scaled(20, 3);
  for (int r = 0; r < rounds; r++) {
    int64_t before = 0;
    mt_shdict_get_int(d, "progress", &before);
    p = mt_process_new(churn_forever, d, NULL);
    assert_code(mt_process_start(p), 0);
    int64_t now = before;
    while (now < before + 200 + r * 37) mt_shdict_get_int(d, "progress", &now);
    assert_code(mt_process_kill(p), 0);
    assert_code(mt_process_join(p, MT_FOREVER), 0);
    mt_process_free(p);
    long n = mt_shdict_items(d, check_entry, NULL);
    assert_true(n >= 2);
    assert_int_equal(n, mt_shdict_len(d));
    assert_code(mt_shdict_get_int(d, "kept", &v), 0);
    assert_int_equal(v, 42);
    assert_code(mt_shdict_set_bytes(d, "after", "ok", 2), 0);
  }
  mt_shdict_free(d);
}

/* ---- list ---------------------------------------------------------------- */

static int list_child(void *arg) {
  mt_shlist_t *l = arg;
  for (int i = 0; i < 10; i++)
    if (mt_shlist_incr(l, 0, 1, NULL) != 0) return 1;
  return mt_shlist_append_bytes(l, "child", 5) != 0;
}

static void test_list(void **state) {
  (void)state;
  mt_shlist_t *l = mt_shlist_new(8, 1 << 16);
  assert_non_null(l);
  assert_code(mt_shlist_append_int(l, 0), 0);
  assert_code(mt_shlist_append_double(l, 0.5), 0);
  mt_process_t *ps[3];
  for (int i = 0; i < 3; i++) {
    ps[i] = mt_process_new(list_child, l, NULL);
    assert_code(mt_process_start(ps[i]), 0);
  }
  for (int i = 0; i < 3; i++) {
    int code;
    assert_code(mt_process_join(ps[i], MT_FOREVER), 0);
    assert_code(mt_process_exitcode(ps[i], &code), 0);
    assert_int_equal(code, 0);
    mt_process_free(ps[i]);
  }
  assert_int_equal(mt_shlist_len(l), 5);
  int64_t i;
  double x;
  char buf[8];
  assert_code(mt_shlist_get_int(l, 0, &i), 0);
  assert_int_equal(i, 30);
  assert_code(mt_shlist_get_double(l, 1, &x), 0);
  assert_true(x == 0.5);
  assert_code(mt_shlist_get_bytes(l, -1, buf, sizeof buf), 5);
  assert_memory_equal(buf, "child", 5);
  assert_code(mt_shlist_type(l, 2), MT_SHITEM_BYTES);
  assert_code(mt_shlist_get_int(l, 5, &i), MT_ERANGE);
  assert_code(mt_shlist_get_int(l, -6, &i), MT_ERANGE);
  assert_code(mt_shlist_get_int(l, 1, &i), MT_EINVAL);
  assert_code(mt_shlist_set_bytes(l, 0, "abc", 3), 0);
  assert_code(mt_shlist_set_int(l, 2, 7), 0);
  assert_code(mt_shlist_get_int(l, 2, &i), 0);
  assert_int_equal(i, 7);
  for (int k = 5; k < 8; k++) assert_code(mt_shlist_append_int(l, k), 0);
  assert_code(mt_shlist_append_int(l, 9), MT_EFULL);
  for (int k = 0; k < 8; k++) assert_code(mt_shlist_pop(l), 0);
  assert_code(mt_shlist_pop(l), MT_ERANGE);
  assert_int_equal(mt_shlist_len(l), 0);
  assert_code(mt_shlist_set_int(l, 0, 1), MT_ERANGE);
  mt_shlist_free(l);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_hundred_processes),
      cmocka_unit_test(test_atomic_incr),
      cmocka_unit_test(test_dict_ops),
      cmocka_unit_test(test_million),
      cmocka_unit_test(test_owner_death),
      cmocka_unit_test(test_list),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
