/* Lock and RLock: behaviour, every error path, and exact-total stress. */
#include "mt_test.h"
#include "sync_test.h"

static void lock_basics(void **state) {
  (void)state;
  mt_lock_t *l = mt_lock_new(0);
  assert_non_null(l);
  assert_int_equal(mt_lock_is_locked(l), 0);
  assert_code(mt_lock_acquire(l, MT_FOREVER), 0);
  assert_int_equal(mt_lock_is_locked(l), 1);
  assert_code(mt_lock_acquire(l, 0), MT_ETIMEDOUT); /* not reentrant */
  double t0 = now_s();
  assert_code(mt_lock_acquire(l, 0.05), MT_ETIMEDOUT);
  assert_not_early(t0, 0.05);
  assert_code(mt_lock_release(l), 0);
  assert_code(mt_lock_release(l), MT_EPERM); /* releasing an unlocked lock */
  assert_int_equal(mt_lock_is_locked(l), 0);
  assert_code(mt_lock_consistent(l), MT_EPERM); /* not held */
  mt_lock_free(l);
}

static void lock_errors(void **state) {
  (void)state;
  assert_code(mt_lock_acquire(NULL, 1), MT_EINVAL);
  assert_code(mt_lock_release(NULL), MT_EINVAL);
  assert_code(mt_lock_is_locked(NULL), MT_EINVAL);
  mt_lock_t *l = mt_lock_new(0);
  assert_code(mt_lock_acquire(l, -2), MT_EINVAL);
  assert_code(mt_lock_acquire(l, 0.0 / 0.0), MT_EINVAL);
  assert_int_equal(mt_lock_is_locked(l), 0); /* nothing changed */
  mt_lock_free(l);
  errno = 0;
  assert_null(mt_lock_new(0x100));
  assert_int_equal(errno, EINVAL);
  mt_lock_free(NULL);
}

/* Python allows any thread to release a Lock. */
static void *release_other(void *arg) {
  assert_code(mt_lock_release(arg), 0);
  return NULL;
}

static void lock_released_by_other_thread(void **state) {
  (void)state;
  mt_lock_t *l = mt_lock_new(0);
  assert_code(mt_lock_acquire(l, MT_FOREVER), 0);
  run_threads(1, release_other, l);
  assert_int_equal(mt_lock_is_locked(l), 0);
  mt_lock_free(l);
}

struct counter {
  mt_lock_t *lock;
  mt_rlock_t *rlock;
  long n, per_thread;
};

static void *lock_inc(void *arg) {
  struct counter *c = arg;
  for (long i = 0; i < c->per_thread; i++) {
    mt_lock_acquire(c->lock, MT_FOREVER);
    c->n++;
    mt_lock_release(c->lock);
  }
  return NULL;
}

static void lock_stress(void **state) {
  (void)state;
  struct counter c = {.lock = mt_lock_new(0), .per_thread = mt_test_scaled(1000000, 2000)};
  run_threads(8, lock_inc, &c);
  assert_int_equal(c.n, 8 * c.per_thread);
  mt_lock_free(c.lock);
}

static void *rlock_inc(void *arg) {
  struct counter *c = arg;
  for (long i = 0; i < c->per_thread; i++) {
    mt_rlock_acquire(c->rlock, MT_FOREVER);
    mt_rlock_acquire(c->rlock, MT_FOREVER); /* nested */
    c->n++;
    mt_rlock_release(c->rlock);
    mt_rlock_release(c->rlock);
  }
  return NULL;
}

static void rlock_stress(void **state) {
  (void)state;
  struct counter c = {.rlock = mt_rlock_new(0), .per_thread = mt_test_scaled(500000, 2000)};
  run_threads(8, rlock_inc, &c);
  assert_int_equal(c.n, 8 * c.per_thread);
  mt_rlock_free(c.rlock);
}

static void *rlock_not_owner(void *arg) {
  mt_rlock_t *r = arg;
  assert_code(mt_rlock_release(r), MT_EPERM);
  assert_int_equal(mt_rlock_is_owned(r), 0);
  assert_code(mt_rlock_acquire(r, 0), MT_ETIMEDOUT);
  return NULL;
}

static void rlock_basics(void **state) {
  (void)state;
  mt_rlock_t *r = mt_rlock_new(0);
  assert_code(mt_rlock_release(r), MT_EPERM); /* not owned */
  for (int i = 0; i < 5; i++) assert_code(mt_rlock_acquire(r, MT_FOREVER), 0);
  assert_int_equal(mt_rlock_is_owned(r), 1);
  run_threads(1, rlock_not_owner, r);
  for (int i = 0; i < 5; i++) assert_code(mt_rlock_release(r), 0);
  assert_int_equal(mt_rlock_is_owned(r), 0);
  assert_code(mt_rlock_release(r), MT_EPERM);
  assert_code(mt_rlock_acquire(NULL, 1), MT_EINVAL);
  assert_code(mt_rlock_acquire(r, -5), MT_EINVAL);
  mt_rlock_free(r);
}

static int leave_early(mt_lock_t *l) {
  MT_WITH_LOCK(l) {
    if (mt_lock_is_locked(l)) return 7; /* cleanup releases on return */
  }
  return 0;
}

static void with_lock(void **state) {
  (void)state;
  mt_lock_t *l = mt_lock_new(0);
  int ran = 0;
  MT_WITH_LOCK(l) {
    ran++;
    assert_int_equal(mt_lock_is_locked(l), 1);
  }
  assert_int_equal(ran, 1);
  assert_int_equal(mt_lock_is_locked(l), 0);
  assert_int_equal(leave_early(l), 7);
  assert_int_equal(mt_lock_is_locked(l), 0);
  for (int i = 0; i < 3; i++) {
    MT_WITH_LOCK(l) { break; }
  }
  assert_int_equal(mt_lock_is_locked(l), 0);
  mt_lock_free(l);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(lock_basics),   cmocka_unit_test(lock_errors),
      cmocka_unit_test(lock_released_by_other_thread),
      cmocka_unit_test(lock_stress),   cmocka_unit_test(rlock_basics),
      cmocka_unit_test(rlock_stress),  cmocka_unit_test(with_lock),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
