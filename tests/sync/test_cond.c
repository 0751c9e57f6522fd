/* Condition over Lock and RLock: errors, timeouts, wait_for, the wake a
 * notify leaves to the release of a private lock, and a
 * producer/consumer moving 10^6 items with none lost or duplicated. */
#include "mt_test.h"
#include "sync_test.h"
#include "platform/platform.h"
#include "wait/wait.h"

#include <stdio.h>
#include <string.h>

static void cond_errors(void **state) {
  (void)state;
  mt_lock_t *l = mt_lock_new(0);
  mt_cond_t *c = mt_cond_new(l, 0);
  assert_code(mt_cond_wait(c, 0.01), MT_EPERM); /* lock not held */
  assert_code(mt_cond_notify(c, 1), MT_EPERM);
  assert_code(mt_cond_notify_all(c), MT_EPERM);
  assert_code(mt_cond_wait(NULL, 1), MT_EINVAL);
  assert_code(mt_cond_acquire(c, MT_FOREVER), 0);
  assert_code(mt_cond_wait(c, -7), MT_EINVAL);
  assert_code(mt_cond_notify(c, -1), MT_EINVAL);
  assert_code(mt_cond_notify(c, 1), 0); /* nobody waits: fine */
  double t0 = now_s();
  assert_code(mt_cond_wait(c, 0.05), MT_ETIMEDOUT);
  assert_not_early(t0, 0.05);
  assert_int_equal(mt_lock_is_locked(l), 1); /* re-acquired after timeout */
  assert_code(mt_cond_release(c), 0);
  mt_cond_free(c);
  /* a shared condition over a private lock is refused */
  errno = 0;
  assert_null(mt_cond_new(l, MT_SHARED));
  assert_int_equal(errno, EINVAL);
  mt_lock_free(l);
}

static bool is_true(void *arg) { return *(int *)arg != 0; }

static void cond_rlock_default(void **state) {
  (void)state;
  mt_cond_t *c = mt_cond_new(NULL, 0); /* its own RLock, as Python */
  assert_code(mt_cond_acquire(c, MT_FOREVER), 0);
  assert_code(mt_cond_acquire(c, MT_FOREVER), 0); /* RLock: nested */
  int flag = 0;
  double t0 = now_s();
  assert_code(mt_cond_wait_for(c, is_true, &flag, 0.05), MT_ETIMEDOUT);
  assert_not_early(t0, 0.05);
  flag = 1;
  assert_code(mt_cond_wait_for(c, is_true, &flag, 0), 0);
  assert_code(mt_cond_release(c), 0);
  assert_code(mt_cond_release(c), 0); /* depth restored: two releases */
  assert_code(mt_cond_release(c), MT_EPERM);
  mt_cond_free(c);
}

#define CAP 16
struct pc {
  mt_lock_t *lock;
  mt_cond_t *not_empty, *not_full;
  long items[CAP];
  int head, count;
  long per_producer;
  int producers_done;
  long received, sum;
  unsigned char *seen;
};

static void *producer(void *arg) {
  struct pc *p = arg;
  static int next_id;
  long base = __atomic_fetch_add(&next_id, 1, __ATOMIC_RELAXED) * p->per_producer;
  for (long i = 0; i < p->per_producer; i++) {
    mt_lock_acquire(p->lock, MT_FOREVER);
    while (p->count == CAP) mt_cond_wait(p->not_full, MT_FOREVER);
    p->items[(p->head + p->count++) % CAP] = base + i;
    mt_cond_notify(p->not_empty, 1);
    mt_lock_release(p->lock);
  }
  return NULL;
}

static void *consumer(void *arg) {
  struct pc *p = arg;
  for (;;) {
    mt_lock_acquire(p->lock, MT_FOREVER);
    while (p->count == 0 && p->producers_done < 2) mt_cond_wait(p->not_empty, MT_FOREVER);
    if (p->count == 0) {
      mt_lock_release(p->lock);
      return NULL;
    }
    long v = p->items[p->head];
    p->head = (p->head + 1) % CAP;
    p->count--;
    p->received++;
    p->seen[v]++;
    mt_cond_notify(p->not_full, 1);
    mt_lock_release(p->lock);
  }
}

static void cond_producer_consumer(void **state) {
  (void)state;
  struct pc p = {.lock = mt_lock_new(0), .per_producer = mt_test_scaled(500000, 5000)};
  p.not_empty = mt_cond_new(p.lock, 0);
  p.not_full = mt_cond_new(p.lock, 0);
  p.seen = calloc((size_t)(2 * p.per_producer), 1);
  pthread_t prod[2], cons[2];
  for (int i = 0; i < 2; i++) pthread_create(&cons[i], NULL, consumer, &p);
  for (int i = 0; i < 2; i++) pthread_create(&prod[i], NULL, producer, &p);
  for (int i = 0; i < 2; i++) pthread_join(prod[i], NULL);
  mt_lock_acquire(p.lock, MT_FOREVER);
  p.producers_done = 2;
  mt_cond_notify_all(p.not_empty);
  mt_lock_release(p.lock);
  for (int i = 0; i < 2; i++) pthread_join(cons[i], NULL);
  assert_int_equal(p.received, 2 * p.per_producer);
  for (long i = 0; i < 2 * p.per_producer; i++)
    if (p.seen[i] != 1) fail_msg("item %ld seen %d times", i, p.seen[i]);
  free(p.seen);
  mt_cond_free(p.not_empty);
  mt_cond_free(p.not_full);
  mt_lock_free(p.lock);
}

struct crowd {
  mt_cond_t *c;
  int waiting, woken, go;
};

static void *crowd_waiter(void *arg) {
  struct crowd *w = arg;
  mt_cond_acquire(w->c, MT_FOREVER);
  w->waiting++;
  while (!w->go) mt_cond_wait(w->c, MT_FOREVER);
  w->woken++;
  mt_cond_release(w->c);
  return NULL;
}

static void cond_notify_all_wakes_everyone(void **state) {
  (void)state;
  struct crowd w = {.c = mt_cond_new(NULL, 0)};
  pthread_t t[6];
  for (int i = 0; i < 6; i++) pthread_create(&t[i], NULL, crowd_waiter, &w);
  for (;;) { /* wait on the thing itself: all six registered */
    mt_cond_acquire(w.c, MT_FOREVER);
    int n = w.waiting;
    if (n == 6) break;
    mt_cond_release(w.c);
    sched_yield();
  }
  w.go = 1;
  mt_cond_notify_all(w.c);
  mt_cond_release(w.c);
  for (int i = 0; i < 6; i++) pthread_join(t[i], NULL);
  assert_int_equal(w.woken, 6);
  mt_cond_free(w.c);
}

/* Ping-pong on one condition with both threads on ONE CPU (the waiter
 * finds its partner on its own CPU: cond.c's colocated path, no spin) and
 * on two: every turn taken exactly once, none lost. */
struct turns {
  mt_lock_t *l;
  mt_cond_t *c;
  long turn, rounds;
  int cpu[2];
  int bad; /* waits that returned non-zero (cmocka asserts only on the main thread) */
};

static void pin_to(int cpu) {
  if (cpu < 0) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

static void take_turns(struct turns *t, long parity) {
  for (long i = 0; i < t->rounds; i++) {
    mt_lock_acquire(t->l, MT_FOREVER);
    while (t->turn % 2 != parity)
      if (mt_cond_wait(t->c, MT_FOREVER) != 0) __atomic_add_fetch(&t->bad, 1, __ATOMIC_RELAXED);
    t->turn++;
    mt_cond_notify(t->c, 1);
    mt_lock_release(t->l);
  }
}

static void *odd_turns(void *arg) {
  struct turns *t = arg;
  pin_to(t->cpu[1]);
  take_turns(t, 1);
  return NULL;
}

static void cond_pingpong_same_and_other_cpu(void **state) {
  (void)state;
  cpu_set_t mine;
  assert_int_equal(pthread_getaffinity_np(pthread_self(), sizeof mine, &mine), 0);
  int cpus[2] = {-1, -1}, n = 0;
  for (int i = 0; i < CPU_SETSIZE && n < 2; i++)
    if (CPU_ISSET(i, &mine)) cpus[n++] = i;
  int layouts[2][2] = {{cpus[0], cpus[0]}, {cpus[0], n > 1 ? cpus[1] : cpus[0]}};
  for (int k = 0; k < 2; k++) {
    struct turns t = {.l = mt_lock_new(0), .rounds = mt_test_scaled(20000, 500)};
    t.c = mt_cond_new(t.l, 0);
    t.cpu[0] = layouts[k][0], t.cpu[1] = layouts[k][1];
    pthread_t th;
    pthread_create(&th, NULL, odd_turns, &t);
    pin_to(t.cpu[0]);
    take_turns(&t, 0);
    pthread_join(th, NULL);
    pthread_setaffinity_np(pthread_self(), sizeof mine, &mine);
    assert_int_equal(t.turn, 2 * t.rounds);
    assert_int_equal(t.bad, 0);
    mt_cond_free(t.c);
    mt_lock_free(t.l);
  }
}

/* Deferred wake (src/sync/lock.c): a notify made under a private lock
 * wakes its sleeping waiters when the lock is released, not before (woken
 * earlier, a waiter would only find the lock held and sleep on it again);
 * notifies add up (two notify(1) in one critical section wake two
 * waiters); a notify followed by a wait delivers through the wait's
 * release; a notify on a second condition of the same lock delivers the
 * first one's wake at once (one pending wake per lock).  Counted with mt__wake_word_syscalls (kernel wakes). */
struct sleeper {
  mt_cond_t *c;
  int waiting, go, woken;
  int tid[2];
};

static void *sleepy_waiter(void *arg) {
  struct sleeper *s = arg;
  mt_cond_acquire(s->c, MT_FOREVER);
  s->tid[s->waiting++] = mt__gettid();
  while (!s->go) mt_cond_wait(s->c, MT_FOREVER);
  s->woken++;
  mt_cond_release(s->c);
  return NULL;
}

/* Sleeping in the kernel ('S', mt_test.h). */
static bool task_sleeps(int tid) { return mt_test_task_state(tid) == 'S'; }

/* Returns with the condition's lock held and n waiters asleep on it. */
static void until_asleep(struct sleeper *s, int n) {
  for (;;) {
    mt_cond_acquire(s->c, MT_FOREVER);
    bool all = s->waiting == n;
    for (int i = 0; all && i < n; i++) all = task_sleeps(s->tid[i]);
    if (all) return;
    mt_cond_release(s->c);
    sched_yield();
  }
}

static void cond_wake_at_release(void **state) {
  (void)state;
  for (int kind = 0; kind < 2; kind++) { /* a Lock, then an RLock */
    mt_lock_t *l = kind == 0 ? mt_lock_new(0) : NULL;
    mt_rlock_t *rl = kind == 1 ? mt_rlock_new(0) : NULL;
    struct sleeper s = {.c = l ? mt_cond_new(l, 0) : mt_cond_new_rlock(rl, 0)};
    pthread_t t[2];
    for (int i = 0; i < 2; i++) pthread_create(&t[i], NULL, sleepy_waiter, &s);
    until_asleep(&s, 2);
    s.go = 1;
    unsigned long k0 = mt__wake_word_syscalls();
    assert_int_equal(mt_cond_notify(s.c, 1), 0);
    assert_int_equal(mt_cond_notify(s.c, 1), 0);
    assert_int_equal(mt__wake_word_syscalls(), k0); /* nobody woken under the lock */
    assert_true(task_sleeps(s.tid[0]) && task_sleeps(s.tid[1]));
    mt_cond_release(s.c);
    assert_true(mt__wake_word_syscalls() > k0); /* the release delivered it */
    for (int i = 0; i < 2; i++) pthread_join(t[i], NULL); /* both: the two notifies */
    assert_int_equal(s.woken, 2);

    /* notify, then wait: the wait's release delivers the wake */
    s.waiting = s.go = s.woken = 0;
    pthread_create(&t[0], NULL, sleepy_waiter, &s);
    until_asleep(&s, 1);
    s.go = 1;
    mt_cond_notify(s.c, 1);
    assert_int_equal(mt_cond_wait(s.c, 0.001), MT_ETIMEDOUT);
    mt_cond_release(s.c);
    pthread_join(t[0], NULL);
    assert_int_equal(s.woken, 1);

    /* two conditions on one lock: the second's notify delivers the first's
     * pending wake at once, the release the second's */
    struct sleeper s2 = {.c = rl ? mt_cond_new_rlock(rl, 0) : mt_cond_new(l, 0)};
    s.waiting = s.go = s.woken = 0;
    pthread_create(&t[0], NULL, sleepy_waiter, &s);
    pthread_create(&t[1], NULL, sleepy_waiter, &s2);
    until_asleep(&s, 1);
    mt_cond_release(s.c);
    until_asleep(&s2, 1); /* the same lock */
    assert_true(task_sleeps(s.tid[0]));
    s.go = s2.go = 1;
    mt_cond_notify(s.c, 1);
    k0 = mt__wake_word_syscalls();
    mt_cond_notify(s2.c, 1);
    assert_int_equal(mt__wake_word_syscalls(), k0 + 1);
    mt_cond_release(s.c);
    for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
    assert_int_equal(s.woken + s2.woken, 2);
    mt_cond_free(s2.c);
    mt_cond_free(s.c);
    mt_lock_free(l);
    mt_rlock_free(rl);
  }
}

/* Regression (review of the deferred wake): the release delivered a
 * notify's wake AFTER its unlock, so a real-time thread parked on the lock
 * took it, waited on the condition and parked first; FUTEX_WAKE wakes in
 * the kernel's priority order, so the notify's wake went to that
 * late-comer and the waiter it was meant for slept on (MT_FOREVER: for
 * ever).  All three threads on one CPU; skipped without the right to
 * SCHED_FIFO (CI runs as root). */
struct latecomer {
  mt_lock_t *l;
  mt_cond_t *c;
  int cpu, ready, tid, rc, rt_ok;
};

static void *early_waiter(void *arg) {
  struct latecomer *x = arg;
  pin_to(x->cpu);
  mt_lock_acquire(x->l, MT_FOREVER);
  __atomic_store_n(&x->tid, mt__gettid(), __ATOMIC_RELEASE);
  x->rc = mt_cond_wait(x->c, MT_FOREVER); /* one notify is meant for us */
  mt_lock_release(x->l);
  return NULL;
}

static void *rt_latecomer(void *arg) {
  struct latecomer *x = arg;
  pin_to(x->cpu);
  struct sched_param sp = {.sched_priority = 1};
  x->rt_ok = pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp) == 0;
  __atomic_store_n(&x->ready, mt__gettid(), __ATOMIC_RELEASE);
  if (!x->rt_ok) return NULL;
  mt_lock_acquire(x->l, MT_FOREVER); /* parked: the notifier holds it */
  mt_cond_wait(x->c, 0.2);           /* came after the notify: not for us */
  mt_lock_release(x->l);
  return NULL;
}

static void cond_wake_rt_latecomer(void **state) {
  (void)state;
  cpu_set_t mine;
  assert_int_equal(pthread_getaffinity_np(pthread_self(), sizeof mine, &mine), 0);
  int cpu = 0;
  while (!CPU_ISSET(cpu, &mine)) cpu++;
  int rounds = (int)mt_test_scaled(5, 2);
  for (int r = 0; r < rounds; r++) {
    struct latecomer x = {.l = mt_lock_new(0), .cpu = cpu, .rc = -1};
    x.c = mt_cond_new(x.l, 0);
    pin_to(cpu);
    pthread_t w1, w2;
    pthread_create(&w1, NULL, early_waiter, &x);
    int tid;
    while (!(tid = __atomic_load_n(&x.tid, __ATOMIC_ACQUIRE)) || !task_sleeps(tid)) sched_yield();
    mt_lock_acquire(x.l, MT_FOREVER); /* w1 is asleep in its wait, the lock free */
    pthread_create(&w2, NULL, rt_latecomer, &x);
    while (!(tid = __atomic_load_n(&x.ready, __ATOMIC_ACQUIRE))) sched_yield();
    bool rt = x.rt_ok;
    while (rt && !task_sleeps(tid)) sched_yield(); /* parked on the lock */
    mt_cond_notify(x.c, 1);
    mt_lock_release(x.l);
    pthread_setaffinity_np(pthread_self(), sizeof mine, &mine);
    /* w1 must be woken by that notify; 10 s is the hang guard, not a speed */
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 10;
    int j = pthread_timedjoin_np(w1, NULL, &until);
    assert_int_equal(j, 0);
    assert_int_equal(x.rc, 0);
    pthread_join(w2, NULL);
    mt_cond_free(x.c);
    mt_lock_free(x.l);
    if (!rt) {
      printf("cond_wake_rt_latecomer: no SCHED_FIFO here, the real-time part skipped\n");
      break;
    }
  }
}

/* Regression (same review): freeing a Lock before its Condition is allowed
 * (sync.h states no order); mt_cond_free read the freed lock. */
static void cond_free_after_its_lock(void **state) {
  (void)state;
  mt_lock_t *l = mt_lock_new(0);
  mt_cond_t *c = mt_cond_new(l, 0);
  mt_lock_free(l);
  mt_cond_free(c); /* ASan: no use of the freed lock */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(cond_errors),
      cmocka_unit_test(cond_rlock_default),
      cmocka_unit_test(cond_producer_consumer),
      cmocka_unit_test(cond_notify_all_wakes_everyone),
      cmocka_unit_test(cond_pingpong_same_and_other_cpu),
      cmocka_unit_test(cond_wake_at_release),
      cmocka_unit_test(cond_wake_rt_latecomer),
      cmocka_unit_test(cond_free_after_its_lock),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
