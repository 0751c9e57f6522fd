/* mutex.h - the internal lock every part uses (and the core of mt_lock /
 * mt_rlock).  One 32-bit word: 0 when free, else the holder's kernel tid
 * with MT__M_WAITERS set once somebody parks.  Works in MT_SHARED memory.
 *
 * Owner death: a waiter on a SHARED mutex wakes every MT__M_SLICE_NS to ask
 * whether the holder thread is still alive (pidfd); if not, it takes the
 * lock over and gets MT_EOWNERDEAD.  A waiter on a PRIVATE mutex does the
 * same only in a process forked after the mutex was made (the holder may be
 * a thread that does not exist in the child).  Plain in-process waits never
 * wake early: their cost is one CAS to lock and one XCHG to unlock. */
#ifndef MT_SYNC_MUTEX_H
#define MT_SYNC_MUTEX_H

#include <stdbool.h>
#include <stdint.h>

#include "multitask/error.h"
#include "platform/platform.h"

#define MT__M_WAITERS 0x80000000u
#define MT__M_TID 0x7fffffffu
#define MT__M_SLICE_NS (10 * 1000 * 1000) /* owner-death detection delay */

typedef struct mt__mutex {
  uint32_t word;
  uint32_t fork_gen; /* mt__fork_generation() when initialised */
} mt__mutex_t;

void mt__mutex_init(mt__mutex_t *m);
int mt__mutex_lock_slow(mt__mutex_t *m, bool shared, int64_t deadline_ns);
void mt__mutex_wake(mt__mutex_t *m, bool shared);

/* glibc's flag: true while the process has never had a second thread.  A
 * PRIVATE mutex then needs no atomic instruction (glibc's own mutexes take
 * the same shortcut); MT_SHARED ones always use atomics (other processes). */
extern char __libc_single_threaded;

/* 0 or MT_EBUSY; never blocks. */
static inline int mt__mutex_trylock(mt__mutex_t *m) {
  uint32_t expected = 0;
  return __atomic_compare_exchange_n(&m->word, &expected, (uint32_t)mt__gettid(), false,
                                     __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)
             ? 0
             : MT_EBUSY;
}

/* 0 when acquired, MT_EOWNERDEAD when acquired from a dead holder,
 * MT_ETIMEDOUT at the deadline (absolute ns, MT__NO_DEADLINE for none).
 * The uncontended path is one CAS, inline. */
static inline int mt__mutex_lock(mt__mutex_t *m, bool shared, int64_t deadline_ns) {
  if (!shared && __libc_single_threaded && m->word == 0) {
    m->word = (uint32_t)mt__gettid();
    return 0;
  }
  if (__builtin_expect(mt__mutex_trylock(m) == 0, 1)) return 0;
  return mt__mutex_lock_slow(m, shared, deadline_ns);
}

/* Releases; wakes one waiter if any parked.  Returns MT_EPERM if free. */
static inline int mt__mutex_unlock(mt__mutex_t *m, bool shared) {
  uint32_t old;
  if (!shared && __libc_single_threaded) {
    old = m->word;
    m->word = 0;
  } else {
    old = __atomic_exchange_n(&m->word, 0, __ATOMIC_RELEASE);
  }
  if (__builtin_expect(old == 0, 0)) return MT_EPERM;
  if (old & MT__M_WAITERS) mt__mutex_wake(m, shared);
  return 0;
}

/* Holder's tid, 0 when free. */
static inline int32_t mt__mutex_holder(const mt__mutex_t *m) {
  return (int32_t)(__atomic_load_n(&m->word, __ATOMIC_RELAXED) & MT__M_TID);
}

#endif
