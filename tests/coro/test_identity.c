/* Identity inside greenlets (coro/context.h): an RLock and a Condition
 * belong to the greenlet that acquired them, not to its thread; a
 * threading.local value to the greenlet that set it (destroyed when the
 * greenlet ends or is freed); a generator runs in its resumer's context; a
 * Lock has no owner (a plain thread may release what a greenlet acquired);
 * mt_thread_current() inside a greenlet is the real thread. */
#include "mt_test.h"

#include <pthread.h>

static const int FLAGS[] = {0, MT_SHARED};

/* ---- RLock ---- */

typedef struct {
  mt_rlock_t *l;
  mt_greenlet_t *main;
} rl_arg_t;

/* Takes the lock twice, then hands control back holding it; on the next
 * switch checks it still owns it and lets go of both levels. */
static void *rl_holder(void *arg, void *value) {
  (void)value;
  rl_arg_t *a = arg;
  assert_code(mt_rlock_acquire(a->l, 0), 0);
  assert_code(mt_rlock_acquire(a->l, MT_FOREVER), 0); /* re-entry: its own */
  assert_int_equal(mt_rlock_is_owned(a->l), 1);
  mt_greenlet_switch(a->main, NULL, NULL);
  assert_int_equal(mt_rlock_is_owned(a->l), 1);
  assert_code(mt_rlock_acquire(a->l, 0), 0); /* still re-enters after others tried */
  assert_code(mt_rlock_release(a->l), 0);
  assert_code(mt_rlock_release(a->l), 0);
  assert_code(mt_rlock_release(a->l), 0);
  assert_code(mt_rlock_release(a->l), MT_EPERM); /* no longer held */
  assert_int_equal(mt_rlock_is_owned(a->l), 0);
  return (void *)1;
}

/* Another greenlet of the same thread: not the owner. */
static void *rl_other(void *arg, void *value) {
  (void)value;
  rl_arg_t *a = arg;
  assert_int_equal(mt_rlock_is_owned(a->l), 0);
  assert_code(mt_rlock_acquire(a->l, 0), MT_ETIMEDOUT);
  assert_code(mt_rlock_release(a->l), MT_EPERM);
  assert_code(mt_rlock_consistent(a->l), MT_EPERM);
  /* a bounded wait ends at its deadline instead of re-entering (it blocks
   * the thread until then: the wait layer does not park greenlets yet) */
  assert_code(mt_rlock_acquire(a->l, 0.02), MT_ETIMEDOUT);
  return (void *)2;
}

static void *rl_taker(void *arg, void *value) {
  (void)value;
  rl_arg_t *a = arg;
  assert_code(mt_rlock_acquire(a->l, 0), 0);
  mt_greenlet_switch(a->main, NULL, NULL);
  assert_code(mt_rlock_release(a->l), 0);
  return NULL;
}

static void *rl_release_other(void *arg) {
  return (void *)(intptr_t)mt_rlock_release(arg);
}

static void rlock_per_greenlet(void **state) {
  (void)state;
  for (size_t f = 0; f < sizeof FLAGS / sizeof *FLAGS; f++) {
    rl_arg_t a = {mt_rlock_new(FLAGS[f]), mt_greenlet_current()};
    assert_non_null(a.l);
    mt_greenlet_t *holder = mt_greenlet_new(rl_holder, &a, NULL, NULL);
    mt_greenlet_t *other = mt_greenlet_new(rl_other, &a, NULL, NULL);
    assert_non_null(holder);
    assert_non_null(other);
    void *out = NULL;
    assert_code(mt_greenlet_switch(holder, NULL, &out), 0); /* holds it (depth 2) */
    assert_null(out);
    /* the thread's own context does not own it either */
    assert_int_equal(mt_rlock_is_owned(a.l), 0);
    assert_code(mt_rlock_acquire(a.l, 0), MT_ETIMEDOUT);
    assert_code(mt_rlock_release(a.l), MT_EPERM);
    /* nor does another thread */
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, rl_release_other, a.l), 0);
    assert_int_equal(pthread_join(th, &out), 0);
    assert_int_equal((int)(intptr_t)out, MT_EPERM);
    assert_code(mt_greenlet_switch(other, NULL, &out), 0);
    assert_ptr_equal(out, (void *)2);
    assert_code(mt_greenlet_switch(holder, NULL, &out), 0); /* releases all */
    assert_ptr_equal(out, (void *)1);
    /* free now: the thread's own context takes it, a greenlet cannot */
    assert_code(mt_rlock_acquire(a.l, 0), 0);
    mt_greenlet_t *taker = mt_greenlet_new(rl_taker, &a, NULL, NULL);
    assert_non_null(taker);
    mt_greenlet_free(other);
    other = mt_greenlet_new(rl_other, &a, NULL, NULL); /* the root holds it now */
    assert_code(mt_greenlet_switch(other, NULL, &out), 0);
    assert_code(mt_rlock_release(a.l), 0);
    /* a greenlet takes it; the root cannot release it; it can */
    assert_code(mt_greenlet_switch(taker, NULL, NULL), 0);
    assert_code(mt_rlock_release(a.l), MT_EPERM);
    assert_code(mt_greenlet_switch(taker, NULL, NULL), 0);
    assert_int_equal(mt_greenlet_is_dead(taker), 1);
    assert_code(mt_rlock_acquire(a.l, 0), 0);
    assert_code(mt_rlock_release(a.l), 0);
    mt_greenlet_free(taker);
    mt_greenlet_free(other);
    mt_greenlet_free(holder);
    mt_rlock_free(a.l);
  }
}

/* ---- Condition ---- */

typedef struct {
  mt_cond_t *c;
  mt_greenlet_t *main;
} cv_arg_t;

static bool never(void *arg) {
  (void)arg;
  return false;
}

static void *cv_holder(void *arg, void *value) {
  (void)value;
  cv_arg_t *a = arg;
  assert_code(mt_cond_acquire(a->c, 0), 0);
  mt_greenlet_switch(a->main, NULL, NULL);
  /* the holder may notify and wait (and gets the lock back at the end) */
  assert_code(mt_cond_notify(a->c, 1), 0);
  assert_code(mt_cond_notify_all(a->c), 0);
  assert_code(mt_cond_wait(a->c, 0), MT_ETIMEDOUT);
  assert_code(mt_cond_wait_for(a->c, never, NULL, 0), MT_ETIMEDOUT);
  assert_code(mt_cond_release(a->c), 0);
  return NULL;
}

/* Not the holder: every call that needs the lock held is MT_EPERM. */
static void *cv_other(void *arg, void *value) {
  (void)value;
  cv_arg_t *a = arg;
  assert_code(mt_cond_wait(a->c, 0), MT_EPERM);
  assert_code(mt_cond_wait(a->c, MT_FOREVER), MT_EPERM);
  assert_code(mt_cond_wait_for(a->c, never, NULL, 0), MT_EPERM);
  assert_code(mt_cond_notify(a->c, 1), MT_EPERM);
  assert_code(mt_cond_notify_all(a->c), MT_EPERM);
  assert_code(mt_cond_release(a->c), MT_EPERM);
  return (void *)3;
}

static void cond_non_owner(void **state) {
  (void)state;
  for (size_t f = 0; f < sizeof FLAGS / sizeof *FLAGS; f++) {
    mt_rlock_t *rl = mt_rlock_new(FLAGS[f]);
    assert_non_null(rl);
    /* Condition() (its own RLock) and Condition(RLock) */
    mt_cond_t *conds[2] = {mt_cond_new(NULL, FLAGS[f]), mt_cond_new_rlock(rl, FLAGS[f])};
    for (int k = 0; k < 2; k++) {
      cv_arg_t a = {conds[k], mt_greenlet_current()};
      assert_non_null(a.c);
      mt_greenlet_t *holder = mt_greenlet_new(cv_holder, &a, NULL, NULL);
      mt_greenlet_t *other = mt_greenlet_new(cv_other, &a, NULL, NULL);
      assert_code(mt_greenlet_switch(holder, NULL, NULL), 0);
      void *out = NULL;
      assert_code(mt_greenlet_switch(other, NULL, &out), 0);
      assert_ptr_equal(out, (void *)3);
      assert_code(mt_cond_notify(a.c, 1), MT_EPERM); /* the thread's own context */
      assert_code(mt_greenlet_switch(holder, NULL, NULL), 0);
      assert_int_equal(mt_greenlet_is_dead(holder), 1);
      mt_greenlet_free(holder);
      mt_greenlet_free(other);
      mt_cond_free(a.c);
    }
    mt_rlock_free(rl);
  }
}

/* A Condition over a Lock: a Lock has no owning greenlet (nor in Python,
 * where Condition(Lock())._is_owned only asks whether it is locked), so the
 * check is by thread: another greenlet of the holding thread passes it,
 * another thread does not. */
static void *cv_notify_from_thread(void *arg) {
  return (void *)(intptr_t)mt_cond_notify(arg, 1);
}

static void cond_over_lock(void **state) {
  (void)state;
  mt_lock_t *l = mt_lock_new(0);
  mt_cond_t *c = mt_cond_new(l, 0);
  assert_non_null(c);
  cv_arg_t a = {c, mt_greenlet_current()};
  mt_greenlet_t *holder = mt_greenlet_new(cv_holder, &a, NULL, NULL);
  assert_code(mt_greenlet_switch(holder, NULL, NULL), 0);
  assert_code(mt_cond_notify(c, 1), 0); /* same thread */
  pthread_t th;
  void *out;
  assert_int_equal(pthread_create(&th, NULL, cv_notify_from_thread, c), 0);
  assert_int_equal(pthread_join(th, &out), 0);
  assert_int_equal((int)(intptr_t)out, MT_EPERM);
  assert_code(mt_greenlet_switch(holder, NULL, NULL), 0);
  assert_int_equal(mt_greenlet_is_dead(holder), 1);
  mt_greenlet_free(holder);
  mt_cond_free(c);
  mt_lock_free(l);
}

/* ---- threading.local ---- */

static int dtor_calls;
static intptr_t dtor_sum;
static void count_dtor(void *v) {
  dtor_calls++;
  dtor_sum += (intptr_t)v;
}

typedef struct {
  mt_local_t *loc;
  mt_greenlet_t *main;
  intptr_t mine;
} lc_arg_t;

/* Sets its own value, checks it on every resume, and finishes when the
 * switch passes a non-NULL value. */
static void *lc_body(void *arg, void *value) {
  lc_arg_t *a = arg;
  assert_null(mt_local_get(a->loc)); /* neither the thread's nor another's */
  assert_code(mt_local_set(a->loc, (void *)a->mine), 0);
  while (!value) {
    assert_ptr_equal(mt_local_get(a->loc), (void *)a->mine);
    if (mt_greenlet_switch(a->main, NULL, &value) == MT_ECANCELLED) break; /* killed */
    assert_ptr_equal(mt_local_get(a->loc), (void *)a->mine);
  }
  return NULL;
}

/* Ignores a kill: only mt_greenlet_free's forced release ends it. */
static void *lc_stubborn(void *arg, void *value) {
  (void)value;
  lc_arg_t *a = arg;
  assert_code(mt_local_set(a->loc, (void *)a->mine), 0);
  for (;;) mt_greenlet_switch(a->main, NULL, NULL);
  return NULL;
}

static void local_per_greenlet(void **state) {
  (void)state;
  dtor_calls = 0, dtor_sum = 0;
  mt_local_t *loc = mt_local_new(count_dtor);
  assert_non_null(loc);
  assert_code(mt_local_set(loc, (void *)1000), 0); /* the thread's */
  mt_greenlet_t *main = mt_greenlet_current();
  lc_arg_t a = {loc, main, 10}, b = {loc, main, 20}, c = {loc, main, 40};
  mt_greenlet_t *ga = mt_greenlet_new(lc_body, &a, NULL, NULL);
  mt_greenlet_t *gb = mt_greenlet_new(lc_body, &b, NULL, NULL);
  mt_greenlet_t *gc = mt_greenlet_new(lc_stubborn, &c, NULL, NULL);
  assert_code(mt_greenlet_switch(ga, NULL, NULL), 0);
  assert_ptr_equal(mt_local_get(loc), (void *)1000);
  assert_code(mt_greenlet_switch(gb, NULL, NULL), 0);
  assert_code(mt_greenlet_switch(ga, NULL, NULL), 0);
  assert_code(mt_greenlet_switch(gc, NULL, NULL), 0);
  assert_ptr_equal(mt_local_get(loc), (void *)1000);
  assert_int_equal(dtor_calls, 0);
  /* a ends: its value is destroyed as it ends, and only its */
  assert_code(mt_greenlet_switch(ga, (void *)1, NULL), 0);
  assert_int_equal(mt_greenlet_is_dead(ga), 1);
  assert_int_equal(dtor_calls, 1);
  assert_int_equal(dtor_sum, 10);
  /* b is killed at its switch (mt_greenlet_free): it unwinds and ends */
  mt_greenlet_free(gb);
  assert_int_equal(dtor_calls, 2);
  assert_int_equal(dtor_sum, 30);
  /* c cannot be unwound: free releases its values without it */
  mt_greenlet_free(gc);
  assert_int_equal(dtor_calls, 3);
  assert_int_equal(dtor_sum, 70);
  mt_greenlet_free(ga);
  assert_int_equal(dtor_calls, 3);
  assert_ptr_equal(mt_local_get(loc), (void *)1000);
  mt_local_free(loc); /* the thread's own value */
  assert_int_equal(dtor_calls, 4);
  assert_int_equal(dtor_sum, 1070);
}

/* Many greenlets, switched round-robin: each sees only its own value on
 * every resume; every value is destroyed exactly once. */
static void local_many(void **state) {
  (void)state;
  int n = (int)mt_test_scaled(2000, 20), rounds = 5;
  dtor_calls = 0, dtor_sum = 0;
  mt_local_t *loc = mt_local_new(count_dtor);
  mt_greenlet_t *main = mt_greenlet_current();
  lc_arg_t *args = calloc((size_t)n, sizeof *args);
  mt_greenlet_t **g = calloc((size_t)n, sizeof *g);
  assert_non_null(args);
  assert_non_null(g);
  intptr_t want = 0;
  for (int i = 0; i < n; i++) {
    args[i] = (lc_arg_t){loc, main, i + 1};
    want += i + 1;
    g[i] = mt_greenlet_new(lc_body, &args[i], NULL, NULL);
    assert_non_null(g[i]);
  }
  for (int r = 0; r < rounds; r++)
    for (int i = 0; i < n; i++) assert_code(mt_greenlet_switch(g[i], NULL, NULL), 0);
  assert_null(mt_local_get(loc));
  assert_int_equal(dtor_calls, 0);
  for (int i = 0; i < n; i++) {
    assert_code(mt_greenlet_switch(g[i], (void *)1, NULL), 0);
    assert_int_equal(mt_greenlet_is_dead(g[i]), 1);
    mt_greenlet_free(g[i]);
  }
  assert_int_equal(dtor_calls, n);
  assert_int_equal(dtor_sum, want);
  mt_local_free(loc);
  free(g);
  free(args);
}

/* A generator has no context of its own: its body sees and sets the values
 * of whoever resumes it, and an RLock it takes is its resumer's. */
typedef struct {
  mt_local_t *loc;
  mt_rlock_t *rl;
} gen_arg_t;

static void *gen_body(mt_generator_t *self, void *arg) {
  gen_arg_t *a = arg;
  mt_generator_yield(self, mt_local_get(a->loc), NULL);
  assert_code(mt_local_set(a->loc, (void *)7), 0);
  assert_code(mt_rlock_acquire(a->rl, 0), 0);
  mt_generator_yield(self, NULL, NULL);
  assert_code(mt_rlock_release(a->rl), 0); /* released by the same resumer */
  return NULL;
}

typedef struct {
  mt_generator_t *gen;
  mt_local_t *loc;
  mt_rlock_t *rl;
} gen_drive_t;

static void *gen_driver(void *arg, void *value) {
  (void)value;
  gen_drive_t *d = arg;
  assert_code(mt_local_set(d->loc, (void *)5), 0);
  void *out = NULL;
  assert_code(mt_generator_next(d->gen, &out), 0);
  assert_ptr_equal(out, (void *)5); /* the driver's value */
  assert_code(mt_generator_next(d->gen, &out), 0);
  assert_ptr_equal(mt_local_get(d->loc), (void *)7); /* set by the body: the driver's */
  assert_int_equal(mt_rlock_is_owned(d->rl), 1);
  assert_code(mt_generator_next(d->gen, &out), MT_ECLOSED);
  assert_int_equal(mt_rlock_is_owned(d->rl), 0);
  return NULL;
}

static void generator_runs_in_resumer(void **state) {
  (void)state;
  dtor_calls = 0, dtor_sum = 0;
  gen_drive_t d = {NULL, mt_local_new(count_dtor), mt_rlock_new(0)};
  gen_arg_t ga = {d.loc, d.rl};
  d.gen = mt_generator_new(gen_body, &ga, NULL);
  assert_non_null(d.gen);
  mt_greenlet_t *driver = mt_greenlet_new(gen_driver, &d, NULL, NULL);
  assert_code(mt_greenlet_switch(driver, NULL, NULL), 0);
  assert_int_equal(mt_greenlet_is_dead(driver), 1);
  /* the driver's value (7) went with the driver */
  assert_int_equal(dtor_calls, 1);
  assert_int_equal(dtor_sum, 7);
  assert_null(mt_local_get(d.loc));
  mt_greenlet_free(driver);
  mt_generator_free(d.gen);
  mt_local_free(d.loc);
  mt_rlock_free(d.rl);
}

/* ---- mt_thread_current ---- */

static void *who(void *arg, void *value) {
  (void)value;
  void **out = arg;
  out[0] = mt_thread_current();
  out[1] = mt_greenlet_current();
  out[2] = (void *)(uintptr_t)mt_thread_get_ident();
  return NULL;
}

static void thread_current_is_real(void **state) {
  (void)state;
  void *seen[3] = {0};
  mt_greenlet_t *g = mt_greenlet_new(who, seen, NULL, NULL);
  assert_code(mt_greenlet_switch(g, NULL, NULL), 0);
  assert_ptr_equal(seen[0], mt_thread_current());
  assert_ptr_equal(seen[1], g);
  assert_true((uintptr_t)seen[2] == (uintptr_t)mt_thread_get_ident());
  assert_ptr_not_equal(seen[1], mt_greenlet_current());
  mt_greenlet_free(g);
}

/* ---- Lock: no owner ---- */

typedef struct {
  mt_lock_t *l;
  mt_greenlet_t *main;
  long n;
  long counter; /* under l */
} lk_arg_t;

/* Takes the lock, counts, and switches back HOLDING it: the root context
 * releases it. */
static void *lk_greenlet(void *arg, void *value) {
  (void)value;
  lk_arg_t *a = arg;
  for (long i = 0; i < a->n; i++) {
    assert_code(mt_lock_acquire(a->l, MT_FOREVER), 0);
    a->counter++;
    mt_greenlet_switch(a->main, NULL, NULL);
  }
  return NULL;
}

static void *lk_thread(void *arg) {
  lk_arg_t *a = arg;
  for (long i = 0; i < a->n; i++) {
    if (mt_lock_acquire(a->l, MT_FOREVER) != 0) return (void *)1;
    a->counter++;
    if (mt_lock_release(a->l) != 0) return (void *)1;
  }
  return NULL;
}

static void *lk_release(void *arg) { return (void *)(intptr_t)mt_lock_release(arg); }

static void lock_greenlet_and_thread(void **state) {
  (void)state;
  for (size_t f = 0; f < sizeof FLAGS / sizeof *FLAGS; f++) {
    lk_arg_t a = {mt_lock_new(FLAGS[f]), mt_greenlet_current(), mt_test_scaled(20000, 200), 0};
    assert_non_null(a.l);
    mt_greenlet_t *g = mt_greenlet_new(lk_greenlet, &a, NULL, NULL);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, lk_thread, &a), 0);
    for (long i = 0; i < a.n; i++) {
      assert_code(mt_greenlet_switch(g, NULL, NULL), 0); /* g holds the lock now */
      assert_int_equal(mt_lock_is_locked(a.l), 1);
      assert_code(mt_lock_release(a.l), 0);
    }
    assert_code(mt_greenlet_switch(g, NULL, NULL), 0);
    assert_int_equal(mt_greenlet_is_dead(g), 1);
    void *out;
    assert_int_equal(pthread_join(th, &out), 0);
    assert_null(out);
    assert_int_equal(a.counter, 2 * a.n);
    /* what a greenlet acquired, another thread may release (Python's Lock) */
    mt_greenlet_free(g);
    a.n = 1;
    g = mt_greenlet_new(lk_greenlet, &a, NULL, NULL);
    assert_code(mt_greenlet_switch(g, NULL, NULL), 0);
    assert_code(mt_lock_acquire(a.l, 0), MT_ETIMEDOUT);
    assert_int_equal(pthread_create(&th, NULL, lk_release, a.l), 0);
    assert_int_equal(pthread_join(th, &out), 0);
    assert_int_equal((int)(intptr_t)out, 0);
    assert_int_equal(mt_lock_is_locked(a.l), 0);
    assert_code(mt_lock_release(a.l), MT_EPERM); /* not locked */
    mt_greenlet_free(g);
    mt_lock_free(a.l);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(rlock_per_greenlet),
      cmocka_unit_test(cond_non_owner),
      cmocka_unit_test(cond_over_lock),
      cmocka_unit_test(local_per_greenlet),
      cmocka_unit_test(local_many),
      cmocka_unit_test(generator_runs_in_resumer),
      cmocka_unit_test(thread_current_is_real),
      cmocka_unit_test(lock_greenlet_and_thread),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
