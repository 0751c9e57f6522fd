/* Event.
 *
 * One word, its own event count (wait.h, mt__word_park): the flag in bit
 * 0, WAITERS in bit 1 while a waiter may sleep on it, and a generation,
 * bumped by every set(), in the bits above.  A waiter returns as soon as
 * the word (WAITERS aside) differs from the clear value it saw, so a set()
 * immediately followed by clear() (the traffic light) still releases
 * everyone who was waiting, as Python's Event does.  A waiter sets WAITERS
 * before it parks; set() clears it in the same CAS that sets the flag and
 * wakes all only when that CAS saw it.  So set() learns whether anybody
 * waits from its own atomic and touches nothing of the event after it but
 * the word's address (the wake: a stale address is at worst a spurious
 * wakeup), and a waiter may free the event the moment its wait returns
 * (test sync_free_on_return).  A WAITERS left by a waiter that timed out
 * costs the next set() one wake call (no system call for a private event
 * while nobody sleeps in the kernel: wait.c, "kernel sleepers"). */
#include "multitask/sync.h"
#include "core/core.h"
#include "wait/wait.h"

#define EV_SET 1u
#define EV_WAITERS 2u
#define EV_GEN 4u /* one generation */

struct mt_event {
  uint32_t word;    /* generation | EV_WAITERS | EV_SET: the futex word */
  uint32_t waiters; /* in mt_event_wait's slow path (tests: mt__event_waiters) */
  int flags;
};

mt_event_t *mt_event_new(int flags) {
  if (flags & ~MT_SHARED) return mt__fail_null(MT_EINVAL);
  mt_event_t *e = mt__obj_alloc(sizeof *e, flags);
  if (!e) return mt__fail_null(MT_ENOMEM);
  e->flags = flags;
  return e;
}

void mt_event_free(mt_event_t *e) {
  if (e) mt__obj_free(e, sizeof *e, e->flags);
}

/* One CAS when not set yet.  What it needs of *e is read before it: once
 * the flag is set, a waiter may return and free e (top of the file). */
int mt_event_set(mt_event_t *e) {
  if (!e) return MT_EINVAL;
  bool shared = e->flags & MT_SHARED;
  uint32_t *word = &e->word;
  uint32_t w = __atomic_load_n(word, __ATOMIC_RELAXED);
  do {
    if (w & EV_SET) return 0;
  } while (!__atomic_compare_exchange_n(word, &w, ((w & ~EV_WAITERS) + EV_GEN) | EV_SET, true,
                                        __ATOMIC_SEQ_CST, __ATOMIC_RELAXED));
  /* e may be freed from here on: only the word's address is used */
  if (w & EV_WAITERS) mt__wake_word(word, INT32_MAX, shared);
  return 0;
}

int mt_event_clear(mt_event_t *e) {
  if (!e) return MT_EINVAL;
  __atomic_fetch_and(&e->word, ~EV_SET, __ATOMIC_SEQ_CST);
  return 0;
}

int mt_event_is_set(const mt_event_t *e) {
  if (!e) return MT_EINVAL;
  return (int)(__atomic_load_n(&e->word, __ATOMIC_ACQUIRE) & EV_SET);
}

int mt_event_wait(mt_event_t *e, double timeout) {
  if (!e) return MT_EINVAL;
  int64_t deadline;
  int r = mt__deadline(timeout, &deadline);
  if (r < 0) return r;
  uint32_t w = __atomic_load_n(&e->word, __ATOMIC_SEQ_CST);
  if (w & EV_SET) return 0;
  if (timeout == 0) return MT_ETIMEDOUT;
  if (mt__spin_until_changed(&e->word, w, mt__spin_rounds() / 4) &&
      ((__atomic_load_n(&e->word, __ATOMIC_ACQUIRE) ^ w) & ~EV_WAITERS))
    return 0;
  uint32_t clear = w & ~EV_WAITERS; /* returns once the word is not this (WAITERS aside) */
  bool shared = e->flags & MT_SHARED;
  __atomic_fetch_add(&e->waiters, 1, __ATOMIC_RELAXED);
  for (;;) {
    uint32_t v = __atomic_load_n(&e->word, __ATOMIC_SEQ_CST);
    if ((v & ~EV_WAITERS) != clear) {
      r = 0;
      break;
    }
    if (!(v & EV_WAITERS) &&
        !__atomic_compare_exchange_n(&e->word, &v, v | EV_WAITERS, false, __ATOMIC_SEQ_CST,
                                     __ATOMIC_RELAXED))
      continue;
    r = mt__word_park(&e->word, clear | EV_WAITERS, shared, deadline);
    if (r == MT_ETIMEDOUT) {
      r = (__atomic_load_n(&e->word, __ATOMIC_SEQ_CST) & ~EV_WAITERS) != clear ? 0 : MT_ETIMEDOUT;
      break;
    }
    if (r < 0) break; /* MT_ECANCELLED / MT_EINTR (a set wakes all: nothing to pass on) */
  }
  __atomic_fetch_sub(&e->waiters, 1, __ATOMIC_RELAXED);
  return r;
}

/* For tests: how many threads are parked in mt_event_wait. */
int mt__event_waiters(const mt_event_t *e) {
  return (int)__atomic_load_n(&e->waiters, __ATOMIC_SEQ_CST);
}
