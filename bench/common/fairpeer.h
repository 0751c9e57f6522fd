/* fairpeer.h - fair C peers: pthread primitives given the SAME spin-then-park
 * policy as ours (src/wait/wait.c mt__spin_rounds: 2000 pause rounds when
 * spinning pays, else 0; src/sync/sem.c spins the full budget, event.c a
 * quarter of it, cond.c an adaptive part of it, copied below) before they
 * sleep in the kernel.  The budget is not copied: fp_spin_rounds() calls
 * the library's own mt__spin_rounds() (the benches link the static library
 * and see src/), so the peer takes the same decision as ours in the same
 * process, cgroup CPU-quota rule included (no spinning with one CPU in the
 * affinity mask or a quota below MT__SPIN_MIN_QUOTA CPUs), and follows any
 * later change to that rule.
 * Without this, a row compares our spin with a baseline that goes straight to
 * a futex sleep (tens of us per cross-core wake), which measures the policy,
 * not the implementation.  Same policy, same budget, plain pthread otherwise. */
#ifndef MT_BENCH_FAIRPEER_H
#define MT_BENCH_FAIRPEER_H

#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include "wait/wait.h" /* mt__spin_rounds: internal, linked from multitask_static */

static inline void fp_pause(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

/* Our budget: the library's decision itself (read once per process, as the
 * library reads it, so ours and the peer can never disagree in a run). */
static inline int fp_spin_rounds(void) { return mt__spin_rounds(); }

/* Spin up to `rounds` polls until *w != old. */
static inline bool fp_spin_changed(const uint32_t *w, uint32_t old, int rounds) {
  for (int i = 0; i < rounds; i++) {
    if (__atomic_load_n(w, __ATOMIC_RELAXED) != old) return true;
    fp_pause();
  }
  return __atomic_load_n(w, __ATOMIC_RELAXED) != old;
}

static inline int64_t fp_now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* Condition: a sequence word bumped by notify (under the mutex), spun on
 * with the mutex released, then pthread_cond_wait.  The budget adapts as
 * src/sync/cond.c's (adapt_spin): rounds >> shift, shift 0..4, +1 after a
 * failed full spin or when the notify came later than the full budget's
 * span from the spin's start (woken_ns, stamped by a notify that signals),
 * -1 after a spin that succeeded or when it came within that span.  And,
 * as cond.c (colocated, touch), no spin and no verdict when the latest
 * other thread that waited on the condition (waits stamp tid << 32 | CPU on
 * entry and after a sleep) was on the caller's CPU. */
typedef struct {
  pthread_cond_t c;
  uint32_t seq;
  int waiters;      /* protected by the mutex */
  uint32_t shift;   /* protected by the mutex */
  int64_t woken_ns; /* protected by the mutex */
  uint64_t who, other; /* protected by the mutex: the latest user, the latest other */
} fp_cond_t;

static inline uint32_t fp_tid(void) { /* glibc's gettid() is a system call each time */
  static _Thread_local uint32_t tid;
  if (!tid) tid = (uint32_t)gettid();
  return tid;
}
static inline uint64_t fp_cond_touch(fp_cond_t *c) { /* caller holds the mutex */
  int cpu = sched_getcpu();
  if (cpu < 0) return 0;
  uint64_t me = (uint64_t)fp_tid() << 32 | (uint32_t)cpu;
  if (c->who >> 32 != me >> 32) c->other = c->who;
  c->who = me;
  return me;
}

static inline void fp_cond_init(fp_cond_t *c) {
  pthread_cond_init(&c->c, NULL);
  c->seq = 0;
  c->waiters = 0;
  c->shift = 0;
  c->woken_ns = 0;
  c->who = c->other = 0;
}
static inline void fp_cond_adapt(fp_cond_t *c, uint32_t shift, bool paid) {
  if (paid ? shift > 0 : shift < 4) c->shift = paid ? shift - 1 : shift + 1;
}
static inline void fp_cond_wait(fp_cond_t *c, pthread_mutex_t *m, int rounds) {
  uint32_t s = __atomic_load_n(&c->seq, __ATOMIC_RELAXED);
  uint32_t shift = c->shift;
  if (rounds) {
    uint64_t me = fp_cond_touch(c), o = c->other;
    if (me && o && (uint32_t)o == (uint32_t)me && o >> 32 != me >> 32) rounds = 0;
  }
  pthread_mutex_unlock(m);
  int64_t t0 = shift && rounds ? fp_now_ns() : 0;
  bool spun = fp_spin_changed(&c->seq, s, rounds >> shift);
  int64_t parked = t0 && !spun ? fp_now_ns() : 0;
  pthread_mutex_lock(m);
  if (spun) {
    if (rounds) fp_cond_adapt(c, shift, true);
    return;
  }
  if (__atomic_load_n(&c->seq, __ATOMIC_RELAXED) == s) {
    c->waiters++; /* a notify needs the mutex we hold: no lost wake-up */
    pthread_cond_wait(&c->c, m);
    c->waiters--;
    if (fp_spin_rounds()) fp_cond_touch(c); /* where it woke */
  }
  if (rounds) fp_cond_adapt(c, shift, t0 && c->woken_ns - t0 < (parked - t0) << shift);
}
static inline void fp_cond_notify(fp_cond_t *c) { /* caller holds the mutex */
  __atomic_add_fetch(&c->seq, 1, __ATOMIC_RELAXED);
  if (c->waiters) {
    c->woken_ns = fp_now_ns();
    pthread_cond_signal(&c->c);
  }
}

/* Event: a flag word; set is one store unless somebody sleeps. */
typedef struct {
  pthread_mutex_t m;
  pthread_cond_t c;
  uint32_t flag;
  int waiters;
} fp_event_t;

static inline void fp_event_init(fp_event_t *e) {
  pthread_mutex_init(&e->m, NULL);
  pthread_cond_init(&e->c, NULL);
  e->flag = 0;
  e->waiters = 0;
}
static inline void fp_event_set(fp_event_t *e) {
  __atomic_store_n(&e->flag, 1, __ATOMIC_SEQ_CST);
  if (__atomic_load_n(&e->waiters, __ATOMIC_SEQ_CST)) { /* Dekker with fp_event_wait */
    pthread_mutex_lock(&e->m);
    pthread_cond_broadcast(&e->c);
    pthread_mutex_unlock(&e->m);
  }
}
static inline void fp_event_clear(fp_event_t *e) { __atomic_store_n(&e->flag, 0, __ATOMIC_SEQ_CST); }
static inline void fp_event_wait(fp_event_t *e, int rounds) {
  if (fp_spin_changed(&e->flag, 0, rounds)) return;
  pthread_mutex_lock(&e->m);
  __atomic_add_fetch(&e->waiters, 1, __ATOMIC_SEQ_CST);
  while (!__atomic_load_n(&e->flag, __ATOMIC_SEQ_CST)) pthread_cond_wait(&e->c, &e->m);
  __atomic_sub_fetch(&e->waiters, 1, __ATOMIC_SEQ_CST);
  pthread_mutex_unlock(&e->m);
}

/* Semaphore: sem_t, spinning on its value before sem_wait. */
static inline void fp_sem_wait(sem_t *s, int rounds) {
  if (sem_trywait(s) == 0) return;
  for (int i = 0; i < rounds; i++) {
    int v;
    sem_getvalue(s, &v);
    if (v > 0 && sem_trywait(s) == 0) return;
    fp_pause();
  }
  sem_wait(s);
}

#endif
