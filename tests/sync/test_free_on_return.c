/* "The waiter frees the object as soon as its wait returns": the completion
 * pattern POSIX promises for sem_post/sem_destroy and mutexes, and natural
 * to Python code ported to C (Python's objects are garbage-collected).
 *
 * Each round the waiter (the test's main thread) makes a fresh object on the
 * heap (or, MT_SHARED, in its own mapping, which free unmaps), hands it to
 * the releaser thread, waits on it and frees it the moment the wait
 * returns.  The releaser releases / unlocks / sets / notifies it and must
 * not touch it after the step that lets the waiter return.  A releaser that
 * still reads or writes the object after that is a use after free: ASan
 * (when the free came first) and TSan (free and access not ordered) report
 * it; an MT_SHARED object may crash outright on the unmapped page.
 *
 * Condition: the waiter frees it (and its RLock) after releasing the lock
 * it returned with.  Queues: the getter frees the queue its item came
 * through while the put may still be running.  once: a second caller
 * waits for the runner and frees the mt_once_t.
 *
 * The waiter varies how it waits (a blocking wait, which spins then parks;
 * a loop of short timed waits, which may see the release on a timeout),
 * and the releaser yields before releasing every other round so that the
 * waiter is parked more often. */
#include "mt_test.h"
#include "sync_test.h"
#include <sched.h>

enum kind { K_SEM, K_BSEM, K_EVENT, K_LOCK, K_RLOCK, K_COND, K_QUEUE, K_MPQUEUE, K_ONCE };

struct run {
  enum kind kind;
  int flags;
  long rounds;
  void *slot;     /* the current round's object, taken by the releaser */
  int held;       /* K_RLOCK: the releaser holds the round's RLock */
  int ready;      /* K_COND: the predicate, under the condition's lock;
                   * K_ONCE: 1 the runner runs fn, 2 the waiter calls too */
  long released;  /* releases / sets / notifies that returned 0 */
};

static bool is_ready(void *arg) { return __atomic_load_n((int *)arg, __ATOMIC_RELAXED); }

/* K_ONCE's fn in the releaser: runs until the waiter is about to wait. */
static void once_fn(void *arg) {
  int *ready = arg;
  __atomic_store_n(ready, 1, __ATOMIC_RELEASE);
  while (__atomic_load_n(ready, __ATOMIC_ACQUIRE) != 2) sched_yield();
}
static void once_never(void *arg) { (void)arg; fail_msg("fn ran twice"); }

static void *releaser(void *arg) {
  struct run *r = arg;
  for (long i = 0; i < r->rounds; i++) {
    void *o;
    while (!(o = __atomic_exchange_n(&r->slot, NULL, __ATOMIC_ACQUIRE))) sched_yield();
    if (r->kind == K_RLOCK) { /* an RLock is released by its owner only */
      assert_code(mt_rlock_acquire(o, MT_FOREVER), 0);
      __atomic_store_n(&r->held, 1, __ATOMIC_RELEASE);
    }
    if (i % 2) sched_yield(); /* let the waiter park */
    int rc = 0;
    switch (r->kind) {
    case K_SEM: case K_BSEM: rc = mt_sem_release(o, 1); break;
    case K_EVENT: rc = mt_event_set(o); break;
    case K_LOCK: rc = mt_lock_release(o); break;
    case K_RLOCK: rc = mt_rlock_release(o); break;
    case K_COND:
      assert_code(mt_cond_acquire(o, MT_FOREVER), 0);
      __atomic_store_n(&r->ready, 1, __ATOMIC_RELAXED);
      rc = mt_cond_notify(o, 1);
      if (rc == 0) rc = mt_cond_release(o);
      break;
    case K_QUEUE: rc = mt_queue_put(o, r, MT_FOREVER); break;
    case K_MPQUEUE: rc = mt_mpqueue_put(o, "x", 1, MT_FOREVER); break;
    case K_ONCE: rc = mt_once_call(o, once_fn, &r->ready); break;
    }
    /* `o` may be freed from here on: not touched again */
    assert_code(rc, 0);
    r->released++;
  }
  return NULL;
}

static void publish(struct run *r, void *o) {
  assert_null(__atomic_exchange_n(&r->slot, o, __ATOMIC_RELEASE));
}

/* One round on the waiter's side; `timed`: short timed waits in a loop. */
static void wait_and_free(struct run *r, bool timed) {
  double t = timed ? 1e-4 : MT_FOREVER;
  int rc;
  switch (r->kind) {
  case K_SEM: case K_BSEM: {
    mt_sem_t *s = r->kind == K_SEM ? mt_sem_new(0, r->flags) : mt_sem_new_bounded(1, r->flags);
    assert_non_null(s);
    if (r->kind == K_BSEM) assert_code(mt_sem_acquire(s, 0), 0); /* 0 of 1 */
    publish(r, s);
    while ((rc = mt_sem_acquire(s, t)) == MT_ETIMEDOUT && timed) {
    }
    assert_code(rc, 0);
    mt_sem_free(s);
    break;
  }
  case K_EVENT: {
    mt_event_t *e = mt_event_new(r->flags);
    assert_non_null(e);
    publish(r, e);
    while ((rc = mt_event_wait(e, t)) == MT_ETIMEDOUT && timed) {
    }
    assert_code(rc, 0);
    mt_event_free(e);
    break;
  }
  case K_LOCK: {
    mt_lock_t *l = mt_lock_new(r->flags);
    assert_non_null(l);
    assert_code(mt_lock_acquire(l, 0), 0); /* the releaser releases it (any thread may) */
    publish(r, l);
    while ((rc = mt_lock_acquire(l, t)) == MT_ETIMEDOUT && timed) {
    }
    assert_code(rc, 0);
    assert_code(mt_lock_release(l), 0);
    mt_lock_free(l);
    break;
  }
  case K_RLOCK: {
    mt_rlock_t *l = mt_rlock_new(r->flags);
    assert_non_null(l);
    __atomic_store_n(&r->held, 0, __ATOMIC_RELAXED);
    publish(r, l);
    while (!__atomic_load_n(&r->held, __ATOMIC_ACQUIRE)) sched_yield();
    while ((rc = mt_rlock_acquire(l, t)) == MT_ETIMEDOUT && timed) {
    }
    assert_code(rc, 0);
    assert_code(mt_rlock_release(l), 0);
    mt_rlock_free(l);
    break;
  }
  case K_COND: {
    mt_cond_t *c = mt_cond_new(NULL, r->flags); /* its own RLock, freed with it */
    assert_non_null(c);
    __atomic_store_n(&r->ready, 0, __ATOMIC_RELAXED);
    assert_code(mt_cond_acquire(c, MT_FOREVER), 0);
    publish(r, c);
    while ((rc = mt_cond_wait_for(c, is_ready, &r->ready, t)) == MT_ETIMEDOUT && timed) {
    }
    assert_code(rc, 0);
    assert_code(mt_cond_release(c), 0);
    mt_cond_free(c);
    break;
  }
  case K_QUEUE: { /* queue.Queue: the getter frees it (its put has not returned yet) */
    mt_queue_t *q = mt_queue_new(0);
    assert_non_null(q);
    publish(r, q);
    void *item = NULL;
    while ((rc = mt_queue_get(q, &item, t)) == MT_EEMPTY && timed) {
    }
    assert_code(rc, 0);
    assert_ptr_equal(item, r);
    mt_queue_free(q);
    break;
  }
  case K_MPQUEUE: { /* multiprocessing.Queue: free unmaps it */
    mt_mpqueue_t *q = mt_mpqueue_new(1, 8);
    assert_non_null(q);
    publish(r, q);
    char buf[8];
    while ((rc = mt_mpqueue_get(q, buf, sizeof buf, NULL, t)) == MT_EEMPTY && timed) {
    }
    assert_code(rc, 1);
    mt_mpqueue_free(q);
    break;
  }
  case K_ONCE: { /* a second caller waits for the runner, then frees the flag */
    mt_once_t *once = malloc(sizeof *once);
    assert_non_null(once);
    *once = (mt_once_t)MT_ONCE_INIT;
    __atomic_store_n(&r->ready, 0, __ATOMIC_RELAXED);
    publish(r, once);
    while (__atomic_load_n(&r->ready, __ATOMIC_ACQUIRE) != 1) sched_yield();
    __atomic_store_n(&r->ready, 2, __ATOMIC_RELEASE);
    assert_code(mt_once_call(once, once_never, NULL), 0);
    free(once);
    break;
  }
  }
}

static void run_kind(enum kind kind, int flags) {
  struct run r = {.kind = kind, .flags = flags, .rounds = mt_test_scaled(4000, 200)};
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, releaser, &r), 0);
  for (long i = 0; i < r.rounds; i++) wait_and_free(&r, i % 3 == 2);
  pthread_join(t, NULL);
  assert_int_equal(r.released, r.rounds);
}

static void sem_freed_by_waiter(void **state) {
  (void)state;
  run_kind(K_SEM, 0);
  run_kind(K_SEM, MT_SHARED);
}

static void bounded_sem_freed_by_waiter(void **state) {
  (void)state;
  run_kind(K_BSEM, 0);
  run_kind(K_BSEM, MT_SHARED);
}

static void event_freed_by_waiter(void **state) {
  (void)state;
  run_kind(K_EVENT, 0);
  run_kind(K_EVENT, MT_SHARED);
}

static void lock_freed_by_waiter(void **state) {
  (void)state;
  run_kind(K_LOCK, 0);
  run_kind(K_LOCK, MT_SHARED);
}

static void rlock_freed_by_waiter(void **state) {
  (void)state;
  run_kind(K_RLOCK, 0);
  run_kind(K_RLOCK, MT_SHARED);
}

static void cond_freed_by_waiter(void **state) {
  (void)state;
  run_kind(K_COND, 0);
  run_kind(K_COND, MT_SHARED);
}

static void queues_freed_by_getter(void **state) {
  (void)state;
  run_kind(K_QUEUE, 0);
  run_kind(K_MPQUEUE, MT_SHARED);
}

static void once_freed_by_waiter(void **state) {
  (void)state;
  run_kind(K_ONCE, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(sem_freed_by_waiter),   cmocka_unit_test(bounded_sem_freed_by_waiter),
      cmocka_unit_test(event_freed_by_waiter), cmocka_unit_test(lock_freed_by_waiter),
      cmocka_unit_test(rlock_freed_by_waiter), cmocka_unit_test(cond_freed_by_waiter),
      cmocka_unit_test(queues_freed_by_getter), cmocka_unit_test(once_freed_by_waiter),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
