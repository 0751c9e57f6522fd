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

#define MT__M_WAITERS 0x80000000u
#define MT__M_TID 0x7fffffffu
#define MT__M_SLICE_NS (10 * 1000 * 1000) /* owner-death detection delay */

typedef struct mt__mutex {
  uint32_t word;
  uint32_t fork_gen; /* mt__fork_generation() when initialised */
} mt__mutex_t;

void mt__mutex_init(mt__mutex_t *m);
/* 0 when acquired, MT_EOWNERDEAD when acquired from a dead holder,
 * MT_ETIMEDOUT at the deadline (absolute ns, MT__NO_DEADLINE for none). */
int mt__mutex_lock(mt__mutex_t *m, bool shared, int64_t deadline_ns);
/* 0 or MT_EBUSY; never blocks. */
int mt__mutex_trylock(mt__mutex_t *m);
/* Releases; wakes one waiter if any parked.  Returns MT_EPERM if free. */
int mt__mutex_unlock(mt__mutex_t *m, bool shared);
/* Holder's tid, 0 when free. */
int32_t mt__mutex_holder(const mt__mutex_t *m);

#endif
