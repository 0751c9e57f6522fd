/* Event.
 *
 * The futex word holds the flag in bit 0 and a generation, bumped by every
 * set(), in the bits above.  A waiter returns as soon as the word differs
 * from the clear value it saw, so a set() immediately followed by clear()
 * (the traffic light) still releases everyone who was waiting, as Python's
 * Event does.  set() wakes only when `waiters` says someone parked (seq_cst
 * on both words, as in sem.c). */
#include "multitask/sync.h"
#include "core/core.h"
#include "wait/wait.h"

struct mt_event {
  uint32_t word;
  uint32_t waiters;
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

int mt_event_set(mt_event_t *e) {
  if (!e) return MT_EINVAL;
  uint32_t w = __atomic_load_n(&e->word, __ATOMIC_RELAXED);
  do {
    if (w & 1) return 0;
  } while (!__atomic_compare_exchange_n(&e->word, &w, (w + 2) | 1, true, __ATOMIC_SEQ_CST,
                                        __ATOMIC_RELAXED));
  if (__atomic_load_n(&e->waiters, __ATOMIC_SEQ_CST) > 0)
    mt__wake_word(&e->word, INT32_MAX, e->flags & MT_SHARED);
  return 0;
}

int mt_event_clear(mt_event_t *e) {
  if (!e) return MT_EINVAL;
  __atomic_fetch_and(&e->word, ~1u, __ATOMIC_SEQ_CST);
  return 0;
}

int mt_event_is_set(const mt_event_t *e) {
  if (!e) return MT_EINVAL;
  return (int)(__atomic_load_n(&e->word, __ATOMIC_ACQUIRE) & 1);
}

int mt_event_wait(mt_event_t *e, double timeout) {
  if (!e) return MT_EINVAL;
  int64_t deadline;
  int r = mt__deadline(timeout, &deadline);
  if (r < 0) return r;
  uint32_t w = __atomic_load_n(&e->word, __ATOMIC_SEQ_CST);
  if (w & 1) return 0;
  if (timeout == 0) return MT_ETIMEDOUT;
  if (mt__spin_until_changed(&e->word, w, mt__spin_rounds() / 4)) return 0;
  __atomic_fetch_add(&e->waiters, 1, __ATOMIC_SEQ_CST);
  r = 0;
  while (__atomic_load_n(&e->word, __ATOMIC_SEQ_CST) == w) {
    if (mt__wait_word(&e->word, w, e->flags & MT_SHARED, deadline) == MT_ETIMEDOUT) {
      r = __atomic_load_n(&e->word, __ATOMIC_SEQ_CST) == w ? MT_ETIMEDOUT : 0;
      break;
    }
  }
  __atomic_fetch_sub(&e->waiters, 1, __ATOMIC_SEQ_CST);
  return r;
}

/* For tests: how many threads are parked in mt_event_wait. */
int mt__event_waiters(const mt_event_t *e) {
  return (int)__atomic_load_n(&e->waiters, __ATOMIC_SEQ_CST);
}
