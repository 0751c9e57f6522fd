/* Internal futex mutex; see mutex.h for the word layout and owner death. */
#include "sync/mutex.h"
#include "core/core.h"
#include "platform/platform.h"
#include "wait/wait.h"

void mt__mutex_init(mt__mutex_t *m) {
  __atomic_store_n(&m->word, 0, __ATOMIC_RELAXED);
  m->fork_gen = mt__fork_generation();
}

/* Is the holder gone?  Only asked on slow paths. */
static bool holder_dead(uint32_t v, bool shared) {
  int32_t holder = (int32_t)(v & MT__M_TID);
  if (holder == 0) return false;
  if (shared) return mt__thread_alive(holder) == 0;
  return !mt__thread_in_self(holder);
}

int mt__mutex_lock_slow(mt__mutex_t *m, bool shared, int64_t deadline_ns) {
  uint32_t tid = (uint32_t)mt__gettid();
  uint32_t expected;

  /* Bounded spin: the holder usually releases within a few hundred ns. */
  /* A short spin only: a long one makes two contending threads hand the
   * cache line back and forth on every operation (measured: 4x slower than
   * letting the loser park), while a short one still catches a holder that
   * is about to release. */
  int rounds = mt__spin_rounds() > 0 ? 100 : 0;
  for (int i = 0; i < rounds; i += 50) {
    uint32_t v = __atomic_load_n(&m->word, __ATOMIC_RELAXED);
    if (v & MT__M_WAITERS) break; /* others already park: join them */
    if (v == 0) {
      expected = 0;
      if (__atomic_compare_exchange_n(&m->word, &expected, tid, false, __ATOMIC_ACQUIRE,
                                      __ATOMIC_RELAXED))
        return 0;
    }
    mt__spin_until_changed(&m->word, v, 50);
  }

  bool check_owner = shared || m->fork_gen != mt__fork_generation();
  for (;;) {
    uint32_t v = __atomic_load_n(&m->word, __ATOMIC_RELAXED);
    if (v == 0) {
      /* We may not be the only waiter: keep the WAITERS bit so the next
       * unlock wakes the others (Drepper's "mutex 2"). */
      if (__atomic_compare_exchange_n(&m->word, &v, tid | MT__M_WAITERS, false,
                                      __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
        return 0;
      continue;
    }
    if (!(v & MT__M_WAITERS)) {
      if (!__atomic_compare_exchange_n(&m->word, &v, v | MT__M_WAITERS, false,
                                       __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        continue;
      v |= MT__M_WAITERS;
    }
    int64_t until = deadline_ns;
    if (check_owner) {
      int64_t slice = mt__now_ns() + MT__M_SLICE_NS;
      if (slice < until) until = slice;
    }
    int r = mt__wait_word(&m->word, v, shared, until);
    if (r == MT_ETIMEDOUT) {
      if (mt__deadline_passed(deadline_ns)) return MT_ETIMEDOUT;
      if (check_owner && __atomic_load_n(&m->word, __ATOMIC_RELAXED) == v &&
          holder_dead(v, shared)) {
        if (__atomic_compare_exchange_n(&m->word, &v, tid | MT__M_WAITERS, false,
                                        __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
          return MT_EOWNERDEAD;
      }
    }
  }
}

void mt__mutex_wake(mt__mutex_t *m, bool shared) { mt__wake_word(&m->word, 1, shared); }
