/* Python's `with` for RLock, Condition and Semaphore (MT_WITH_RLOCK,
 * MT_WITH_COND, MT_WITH_SEM; MT_WITH_LOCK is in test_lock.c): the object is
 * held inside the block and released however the block is left (end,
 * break, return); a NULL handle skips the block; a dead owner's lock is
 * accepted and made consistent. */
#include "mt_test.h"
#include "sync_test.h"

/* ---- RLock ---------------------------------------------------------------- */

static int rlock_leave_early(mt_rlock_t *r) {
  MT_WITH_RLOCK(r) {
    if (mt_rlock_is_owned(r) == 1) return 7; /* cleanup releases on return */
  }
  return 0;
}

static void *rlock_try_other(void *arg) {
  return (void *)(intptr_t)mt_rlock_acquire(arg, 0);
}

static void with_rlock(void **state) {
  (void)state;
  mt_rlock_t *r = mt_rlock_new(0);
  int ran = 0;
  MT_WITH_RLOCK(r) {
    ran++;
    assert_int_equal(mt_rlock_is_owned(r), 1);
    MT_WITH_RLOCK(r) { /* re-entered by its owner, as Python's RLock */
      ran++;
      pthread_t t;
      void *res;
      assert_int_equal(pthread_create(&t, NULL, rlock_try_other, r), 0);
      pthread_join(t, &res);
      assert_code((int)(intptr_t)res, MT_ETIMEDOUT); /* held for others */
    }
    assert_int_equal(mt_rlock_is_owned(r), 1); /* one level still held */
  }
  assert_int_equal(ran, 2);
  assert_int_equal(mt_rlock_is_owned(r), 0);
  assert_code(mt_rlock_release(r), MT_EPERM); /* fully released */
  assert_int_equal(rlock_leave_early(r), 7);
  assert_int_equal(mt_rlock_is_owned(r), 0);
  for (int i = 0; i < 3; i++) {
    MT_WITH_RLOCK(r) { break; }
  }
  assert_int_equal(mt_rlock_is_owned(r), 0);
  pthread_t t;
  void *res;
  assert_int_equal(pthread_create(&t, NULL, rlock_try_other, r), 0);
  pthread_join(t, &res);
  assert_code((int)(intptr_t)res, 0); /* free for others; that thread exited holding it */
  mt_rlock_free(r);

  int skipped = 1;
  MT_WITH_RLOCK(NULL) { skipped = 0; }
  assert_int_equal(skipped, 1);
}

static void *take_and_exit(void *arg) {
  return (void *)(intptr_t)mt_rlock_acquire(arg, MT_FOREVER);
}

/* A shared RLock whose owning thread exited: the block runs, and the lock
 * is consistent (usable) afterwards. */
static void with_rlock_dead_owner(void **state) {
  (void)state;
  mt_rlock_t *r = mt_rlock_new(MT_SHARED);
  pthread_t t;
  void *res;
  assert_int_equal(pthread_create(&t, NULL, take_and_exit, r), 0);
  pthread_join(t, &res);
  assert_code((int)(intptr_t)res, 0);
  int ran = 0;
  MT_WITH_RLOCK(r) {
    ran = 1;
    assert_int_equal(mt_rlock_is_owned(r), 1);
  }
  assert_int_equal(ran, 1);
  assert_code(mt_rlock_acquire(r, 0), 0); /* not MT_EOWNERDEAD nor MT_ENOTRECOVERABLE */
  assert_code(mt_rlock_release(r), 0);
  mt_rlock_free(r);
}

/* ---- Condition ------------------------------------------------------------ */

typedef struct {
  mt_cond_t *c;
  int items, taken, rounds;
} pc_t;

static void *producer(void *arg) {
  pc_t *pc = arg;
  for (int i = 0; i < pc->rounds; i++) {
    MT_WITH_COND(pc->c) {
      pc->items++;
      assert_code(mt_cond_notify(pc->c, 1), 0); /* we hold the lock */
    }
  }
  return NULL;
}

static void *consumer(void *arg) {
  pc_t *pc = arg;
  for (int i = 0; i < pc->rounds; i++) {
    MT_WITH_COND(pc->c) {
      while (pc->items == 0) assert_true(mt_cond_wait(pc->c, MT_FOREVER) == 0);
      pc->items--;
      pc->taken++;
    }
  }
  return NULL;
}

static int cond_leave_early(mt_cond_t *c) {
  MT_WITH_COND(c) {
    if (mt_cond_notify(c, 1) == 0) return 3;
  }
  return 0;
}

static void with_cond(void **state) {
  (void)state;
  /* over a Lock */
  mt_lock_t *l = mt_lock_new(0);
  mt_cond_t *c = mt_cond_new(l, 0);
  MT_WITH_COND(c) { assert_int_equal(mt_lock_is_locked(l), 1); }
  assert_int_equal(mt_lock_is_locked(l), 0);
  assert_int_equal(cond_leave_early(c), 3);
  assert_int_equal(mt_lock_is_locked(l), 0);
  assert_code(mt_cond_notify(c, 1), MT_EPERM); /* released */
  /* producer/consumer, every step under `with cond` */
  pc_t pc = {c, 0, 0, (int)mt_test_scaled(20000, 200)};
  pthread_t p, q;
  assert_int_equal(pthread_create(&q, NULL, consumer, &pc), 0);
  assert_int_equal(pthread_create(&p, NULL, producer, &pc), 0);
  pthread_join(p, NULL);
  pthread_join(q, NULL);
  assert_int_equal(pc.taken, pc.rounds);
  assert_int_equal(pc.items, 0);
  mt_cond_free(c);
  mt_lock_free(l);
  /* over its own RLock (Condition()): nests */
  c = mt_cond_new(NULL, 0);
  int depth = 0;
  MT_WITH_COND(c) {
    MT_WITH_COND(c) { depth = 2; }
    assert_code(mt_cond_notify_all(c), 0); /* still held */
  }
  assert_int_equal(depth, 2);
  assert_code(mt_cond_notify_all(c), MT_EPERM);
  mt_cond_free(c);
  int skipped = 1;
  MT_WITH_COND(NULL) { skipped = 0; }
  assert_int_equal(skipped, 1);
}

static void *cond_take_and_exit(void *arg) {
  return (void *)(intptr_t)mt_cond_acquire(arg, MT_FOREVER);
}

static void with_cond_dead_owner(void **state) {
  (void)state;
  mt_cond_t *c = mt_cond_new(NULL, MT_SHARED); /* its own shared RLock */
  pthread_t t;
  void *res;
  assert_int_equal(pthread_create(&t, NULL, cond_take_and_exit, c), 0);
  pthread_join(t, &res);
  assert_code((int)(intptr_t)res, 0);
  int ran = 0;
  MT_WITH_COND(c) { ran = 1; }
  assert_int_equal(ran, 1);
  assert_code(mt_cond_acquire(c, 0), 0); /* consistent again */
  assert_code(mt_cond_release(c), 0);
  mt_cond_free(c);
}

/* ---- Semaphore ------------------------------------------------------------ */

typedef struct {
  mt_sem_t *s;
  int inside, max_inside, rounds;
} gate_t;

static void *through_gate(void *arg) {
  gate_t *g = arg;
  for (int i = 0; i < g->rounds; i++) {
    MT_WITH_SEM(g->s) {
      int now = __atomic_add_fetch(&g->inside, 1, __ATOMIC_SEQ_CST);
      int m = __atomic_load_n(&g->max_inside, __ATOMIC_RELAXED);
      while (now > m && !__atomic_compare_exchange_n(&g->max_inside, &m, now, false,
                                                     __ATOMIC_SEQ_CST, __ATOMIC_RELAXED)) {}
      sched_yield();
      __atomic_sub_fetch(&g->inside, 1, __ATOMIC_SEQ_CST);
    }
  }
  return NULL;
}

static int sem_leave_early(mt_sem_t *s) {
  MT_WITH_SEM(s) { return mt_sem_value(s); }
  return -1;
}

static void with_sem(void **state) {
  (void)state;
  mt_sem_t *s = mt_sem_new(2, 0);
  MT_WITH_SEM(s) {
    assert_int_equal(mt_sem_value(s), 1);
    MT_WITH_SEM(s) { assert_int_equal(mt_sem_value(s), 0); }
    assert_int_equal(mt_sem_value(s), 1);
  }
  assert_int_equal(mt_sem_value(s), 2);
  assert_int_equal(sem_leave_early(s), 1);
  assert_int_equal(mt_sem_value(s), 2);
  for (int i = 0; i < 3; i++) {
    MT_WITH_SEM(s) { break; }
  }
  assert_int_equal(mt_sem_value(s), 2);
  /* never more than 2 inside, 6 threads */
  gate_t g = {s, 0, 0, (int)mt_test_scaled(2000, 50)};
  run_threads(6, through_gate, &g);
  assert_true(g.max_inside >= 1 && g.max_inside <= 2);
  assert_int_equal(g.inside, 0);
  assert_int_equal(mt_sem_value(s), 2);
  mt_sem_free(s);
  /* a bounded semaphore at its bound inside the block: release(1) fits */
  mt_sem_t *b = mt_sem_new_bounded(1, 0);
  MT_WITH_SEM(b) { assert_int_equal(mt_sem_value(b), 0); }
  assert_int_equal(mt_sem_value(b), 1);
  assert_code(mt_sem_release(b, 1), MT_EOVERFLOW);
  mt_sem_free(b);
  int skipped = 1;
  MT_WITH_SEM(NULL) { skipped = 0; }
  assert_int_equal(skipped, 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(with_rlock), cmocka_unit_test(with_rlock_dead_owner),
      cmocka_unit_test(with_cond),  cmocka_unit_test(with_cond_dead_owner),
      cmocka_unit_test(with_sem),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
