/* Semaphore, BoundedSemaphore and Event. */
#include "mt_test.h"
#include "sync_test.h"
#include "platform/platform.h"
#include "sync/sync_internal.h"
#include <sched.h>

static void sem_basics(void **state) {
  (void)state;
  mt_sem_t *s = mt_sem_new(2, 0);
  assert_int_equal(mt_sem_value(s), 2);
  assert_code(mt_sem_acquire(s, 0), 0);
  assert_code(mt_sem_acquire(s, MT_FOREVER), 0);
  assert_code(mt_sem_acquire(s, 0), MT_ETIMEDOUT);
  double t0 = now_s();
  assert_code(mt_sem_acquire(s, 0.05), MT_ETIMEDOUT);
  assert_not_early(t0, 0.05);
  assert_code(mt_sem_release(s, 3), 0); /* unbounded may exceed initial */
  assert_int_equal(mt_sem_value(s), 3);
  assert_code(mt_sem_release(s, 0), MT_EINVAL);
  assert_code(mt_sem_acquire(s, -3), MT_EINVAL);
  assert_code(mt_sem_acquire(NULL, 1), MT_EINVAL);
  assert_code(mt_sem_release(NULL, 1), MT_EINVAL);
  assert_int_equal(mt_sem_value(s), 3);
  mt_sem_free(s);
}

static void bounded_sem(void **state) {
  (void)state;
  mt_sem_t *s = mt_sem_new_bounded(5, 0); /* "five stalls, five keys" */
  assert_code(mt_sem_release(s, 1), MT_EOVERFLOW);
  assert_int_equal(mt_sem_value(s), 5); /* nothing changed */
  assert_code(mt_sem_acquire(s, 0), 0);
  assert_code(mt_sem_acquire(s, 0), 0);
  assert_code(mt_sem_release(s, 3), MT_EOVERFLOW);
  assert_code(mt_sem_release(s, 2), 0);
  assert_code(mt_sem_release(s, 1), MT_EOVERFLOW);
  assert_int_equal(mt_sem_value(s), 5);
  mt_sem_free(s);
  errno = 0;
  assert_null(mt_sem_new_bounded(0, 0));
  assert_int_equal(errno, EINVAL);
}

/* The value's limit is INT32_MAX (its top bit is the waiters flag): refused
 * with an error, never wrapped into the flag. */
static void *take_one(void *arg) {
  return (void *)(intptr_t)mt_sem_acquire(arg, MT_FOREVER);
}

static void sem_value_limit(void **state) {
  (void)state;
  errno = 0;
  assert_null(mt_sem_new((unsigned)INT32_MAX + 1u, 0));
  assert_int_equal(errno, EINVAL);
  mt_sem_t *s = mt_sem_new(0, 0);
  pthread_t t; /* a waiter, so the waiters flag is likely set below */
  assert_int_equal(pthread_create(&t, NULL, take_one, s), 0);
  assert_code(mt_sem_release(s, (unsigned)INT32_MAX + 1u), MT_EINVAL);
  assert_code(mt_sem_release(s, INT32_MAX), 0);
  void *r;
  assert_int_equal(pthread_join(t, &r), 0);
  assert_int_equal((intptr_t)r, 0);
  assert_int_equal(mt_sem_value(s), INT32_MAX - 1);
  assert_code(mt_sem_release(s, 2), MT_EOVERFLOW);
  assert_int_equal(mt_sem_value(s), INT32_MAX - 1); /* nothing changed */
  assert_code(mt_sem_release(s, 1), 0);
  assert_int_equal(mt_sem_value(s), INT32_MAX);
  assert_code(mt_sem_release(s, 1), MT_EOVERFLOW);
  assert_code(mt_sem_acquire(s, 0), 0);
  assert_int_equal(mt_sem_value(s), INT32_MAX - 1);
  mt_sem_free(s);
}

/* Regression: a process that dies as the last leaving waiter, after it
 * cleared WAITERS and before its re-check, must not strand a waiter of
 * another process (sem.c, MT_SHARED slices).  Played here by clearing the
 * bit by hand while the waiter sleeps in the kernel: before the slices the
 * release woke nobody (hang); with slices whose expiry left the timeout in
 * the result, the waiter took the count and returned MT_ETIMEDOUT. */
struct stranded {
  mt_sem_t *s;
  int tid, rc;
};

static void *stranded_waiter(void *arg) {
  struct stranded *x = arg;
  __atomic_store_n(&x->tid, mt__gettid(), __ATOMIC_RELEASE);
  x->rc = mt_sem_acquire(x->s, MT_FOREVER);
  return NULL;
}

static void sem_shared_waiter_not_stranded(void **state) {
  (void)state;
  struct stranded x = {.s = mt_sem_new(0, MT_SHARED), .rc = -1};
  uint32_t *word = mt__sem_word(x.s);
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, stranded_waiter, &x), 0);
  int tid;
  while (!(tid = __atomic_load_n(&x.tid, __ATOMIC_ACQUIRE)) ||
         !(__atomic_load_n(word, __ATOMIC_SEQ_CST) & 0x80000000u) ||
         mt_test_task_state(tid) != 'S')
    sched_yield();
  __atomic_fetch_and(word, ~0x80000000u, __ATOMIC_SEQ_CST); /* the dead leaver's clear */
  assert_code(mt_sem_release(x.s, 1), 0);
  struct timespec until; /* 10 s: the hang guard, not a speed (a slice is 0.1 s) */
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += 10;
  assert_int_equal(pthread_timedjoin_np(t, NULL, &until), 0);
  assert_code(x.rc, 0);
  assert_int_equal(mt_sem_value(x.s), 0); /* the count went to the waiter */
  mt_sem_free(x.s);
}

struct admit {
  mt_sem_t *sem;
  int inside, max_inside;
  long rounds;
};

static void *admit_worker(void *arg) {
  struct admit *a = arg;
  for (long i = 0; i < a->rounds; i++) {
    mt_sem_acquire(a->sem, MT_FOREVER);
    int now = __atomic_add_fetch(&a->inside, 1, __ATOMIC_SEQ_CST);
    int m = __atomic_load_n(&a->max_inside, __ATOMIC_RELAXED);
    while (now > m && !__atomic_compare_exchange_n(&a->max_inside, &m, now, 0,
                                                   __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
    }
    __atomic_sub_fetch(&a->inside, 1, __ATOMIC_SEQ_CST);
    mt_sem_release(a->sem, 1);
  }
  return NULL;
}

/* Semaphore(3) never admits 4: the count is observed under the semaphore. */
static void sem_admits_at_most_three(void **state) {
  (void)state;
  struct admit a = {.sem = mt_sem_new(3, 0), .rounds = mt_test_scaled(200000, 1000)};
  run_threads(8, admit_worker, &a);
  assert_true(a.max_inside <= 3);
  assert_true(a.max_inside >= 1);
  assert_int_equal(mt_sem_value(a.sem), 3);
  mt_sem_free(a.sem);
}

static void event_basics(void **state) {
  (void)state;
  mt_event_t *e = mt_event_new(0);
  assert_int_equal(mt_event_is_set(e), 0);
  assert_code(mt_event_wait(e, 0), MT_ETIMEDOUT);
  double t0 = now_s();
  assert_code(mt_event_wait(e, 0.05), MT_ETIMEDOUT);
  assert_not_early(t0, 0.05);
  assert_code(mt_event_set(e), 0);
  assert_int_equal(mt_event_is_set(e), 1);
  assert_code(mt_event_wait(e, MT_FOREVER), 0);
  assert_code(mt_event_set(e), 0); /* idempotent */
  assert_code(mt_event_clear(e), 0);
  assert_int_equal(mt_event_is_set(e), 0);
  assert_code(mt_event_wait(e, -0.5), MT_EINVAL);
  assert_code(mt_event_wait(NULL, 0), MT_EINVAL);
  assert_code(mt_event_set(NULL), MT_EINVAL);
  mt_event_free(e);
}

struct gate {
  mt_event_t *go;
  int released;
};

static void *gate_waiter(void *arg) {
  struct gate *g = arg;
  assert_code(mt_event_wait(g->go, MT_FOREVER), 0);
  __atomic_fetch_add(&g->released, 1, __ATOMIC_SEQ_CST);
  return NULL;
}

/* set() immediately followed by clear() still releases every thread that
 * was waiting (the traffic light's green pulse), as Python's Event. */
static void event_pulse_releases_all(void **state) {
  (void)state;
  long rounds = mt_test_scaled(200, 10);
  for (long r = 0; r < rounds; r++) {
    struct gate g = {.go = mt_event_new(0)};
    pthread_t t[4];
    for (int i = 0; i < 4; i++) pthread_create(&t[i], NULL, gate_waiter, &g);
    while (mt__event_waiters(g.go) < 4) sched_yield(); /* all parked */
    mt_event_set(g.go);
    mt_event_clear(g.go);
    for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
    assert_int_equal(g.released, 4);
    mt_event_free(g.go);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(sem_basics),
      cmocka_unit_test(bounded_sem),
      cmocka_unit_test(sem_value_limit),
      cmocka_unit_test(sem_shared_waiter_not_stranded),
      cmocka_unit_test(sem_admits_at_most_three),
      cmocka_unit_test(event_basics),
      cmocka_unit_test(event_pulse_releases_all),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
