/* Event.
 *
 * The wait layer's event count `evc` (pointer-free, so it works MT_SHARED)
 * is the event itself: its word holds the flag in bit 0 and a generation,
 * bumped by every set(), in the bits above.  A waiter returns as soon as
 * the word differs from the clear value it saw, so a set() immediately
 * followed by clear() (the traffic light) still releases everyone who was
 * waiting, as Python's Event does.  set() wakes only when a waiter
 * registered (seq_cst on both words, as in sem.c). */
#include "multitask/sync.h"
#include "core/core.h"
#include "wait/wait.h"

struct mt_event {
  mt__evc_t evc; /* evc.seq: flag (bit 0) | generation << 1 */
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
  uint32_t w = __atomic_load_n(&e->evc.seq, __ATOMIC_RELAXED);
  do {
    if (w & 1) return 0;
  } while (!__atomic_compare_exchange_n(&e->evc.seq, &w, (w + 2) | 1, true, __ATOMIC_SEQ_CST,
                                        __ATOMIC_RELAXED));
  mt__evc_wake(&e->evc, INT32_MAX, e->flags & MT_SHARED);
  return 0;
}

int mt_event_clear(mt_event_t *e) {
  if (!e) return MT_EINVAL;
  __atomic_fetch_and(&e->evc.seq, ~1u, __ATOMIC_SEQ_CST);
  return 0;
}

int mt_event_is_set(const mt_event_t *e) {
  if (!e) return MT_EINVAL;
  return (int)(__atomic_load_n(&e->evc.seq, __ATOMIC_ACQUIRE) & 1);
}

int mt_event_wait(mt_event_t *e, double timeout) {
  if (!e) return MT_EINVAL;
  int64_t deadline;
  int r = mt__deadline(timeout, &deadline);
  if (r < 0) return r;
  uint32_t w = mt__evc_key(&e->evc);
  if (w & 1) return 0;
  if (timeout == 0) return MT_ETIMEDOUT;
  if (mt__spin_until_changed(&e->evc.seq, w, mt__spin_rounds() / 4)) return 0;
  mt__evc_prepare(&e->evc);
  r = 0;
  while (mt__evc_key(&e->evc) == w) {
    r = mt__evc_wait(&e->evc, w, e->flags & MT_SHARED, deadline);
    if (r == MT_ETIMEDOUT) {
      r = mt__evc_key(&e->evc) == w ? MT_ETIMEDOUT : 0;
      break;
    }
    if (r < 0) break; /* MT_ECANCELLED / MT_EINTR (a set wakes all: nothing to pass on) */
  }
  mt__evc_done(&e->evc);
  return r;
}

/* For tests: how many threads are parked in mt_event_wait. */
int mt__event_waiters(const mt_event_t *e) {
  return (int)__atomic_load_n(&e->evc.sleepers, __ATOMIC_SEQ_CST);
}
