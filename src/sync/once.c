/* once: state 0 = not run, 1 = running, 2 = done; 3 = running with
 * waiters parked (so the runner knows to wake them).  The state word is its
 * own event count (mt__word_park): a killed coroutine waiting for the
 * runner returns MT_ECANCELLED, and fn has not run for it. */
#include "multitask/sync.h"
#include "wait/wait.h"

enum { NOT_RUN = 0, RUNNING = 1, DONE = 2, RUNNING_WAITED = 3 };

int mt_once_call(mt_once_t *once, void (*fn)(void *arg), void *arg) {
  if (!once || !fn) return MT_EINVAL;
  uint32_t *w = (uint32_t *)&once->state;
  uint32_t s = __atomic_load_n(w, __ATOMIC_ACQUIRE);
  if (s == DONE) return 0;
  s = NOT_RUN;
  if (__atomic_compare_exchange_n(w, &s, RUNNING, false, __ATOMIC_ACQUIRE, __ATOMIC_ACQUIRE)) {
    fn(arg);
    if (__atomic_exchange_n(w, DONE, __ATOMIC_RELEASE) == RUNNING_WAITED)
      mt__wake_word(w, INT32_MAX, false);
    return 0;
  }
  for (;;) {
    s = __atomic_load_n(w, __ATOMIC_ACQUIRE);
    if (s == DONE) return 0;
    if (s == RUNNING &&
        !__atomic_compare_exchange_n(w, &s, RUNNING_WAITED, false, __ATOMIC_ACQUIRE,
                                     __ATOMIC_ACQUIRE))
      continue;
    int r = mt__word_park(w, RUNNING_WAITED, false, MT__NO_DEADLINE);
    if (r < 0) return r; /* MT_ECANCELLED / MT_EINTR: nothing counted (the
                          * runner wakes whoever set RUNNING_WAITED) */
  }
}
