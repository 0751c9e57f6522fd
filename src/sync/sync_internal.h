/* Internal glue between Condition and its Lock/RLock. */
#ifndef MT_SYNC_INTERNAL_H
#define MT_SYNC_INTERNAL_H
#include <stdbool.h>
#include <stdint.h>
#include "multitask/sync.h"

uint32_t mt__rlock_release_all(mt_rlock_t *l);
int mt__rlock_acquire_restore(mt_rlock_t *l, uint32_t depth);
/* For Condition: acquire(MT_FOREVER) that a killed coroutine cannot end. */
int mt__lock_retake(mt_lock_t *l);
/* For Condition: spin up to `rounds` until the holder (anyone) lets go;
 * a private Lock is then taken at once (true: the caller holds it). */
bool mt__lock_spin_take(mt_lock_t *l, int rounds);
void mt__rlock_spin_free(const mt_rlock_t *l, int rounds);
/* For Condition's notify, with the lock held: leave a wake of n waiters on
 * word to the release that frees the lock (lock.c, "Deferred wake").
 * false: not deferred (an MT_SHARED lock), wake now. */
bool mt__lock_defer_wake(mt_lock_t *l, uint32_t *word, int n);
bool mt__rlock_defer_wake(mt_rlock_t *l, uint32_t *word, int n);
bool mt__lock_is_mine(const mt_lock_t *l); /* acquired by the calling thread */
int mt__lock_flags(const mt_lock_t *l);
int mt__rlock_flags(const mt_rlock_t *l);

/* Tests: the semaphore's word (value bits 0-30, WAITERS bit 31). */
uint32_t *mt__sem_word(mt_sem_t *s);

struct mt_event;
int mt__event_waiters(const struct mt_event *e);

#endif
