/* Internal futex mutex; see mutex.h for the word layout, the modes and
 * owner death. */
#include "sync/mutex.h"
#include "core/core.h"
#include "platform/platform.h"
#include "wait/wait.h"

void mt__mutex_init(mt__mutex_t *m) {
  __atomic_store_n(&m->word, 0, __ATOMIC_RELAXED);
  __atomic_store_n(&m->owner_tid, 0, __ATOMIC_RELAXED);
  __atomic_store_n(&m->owner_pid, 0, __ATOMIC_RELAXED); /* and so wake_word = NULL */
  m->fork_gen = mt__fork_generation();
}

void mt__mutex_note_owner(mt__mutex_t *m, int mode) {
  bool proc = mode == MT__M_SHARED_PROC;
  __atomic_store_n(&m->owner_pid, mt__getpid(), __ATOMIC_RELAXED);
  __atomic_store_n(&m->owner_stamp, mt__self_stamp(!proc), __ATOMIC_RELAXED);
  __atomic_store_n(&m->owner_tid, (uint32_t)mt__gettid(), __ATOMIC_RELEASE);
}

/* Is the holder gone?  Only asked on slow paths, after a whole slice with
 * the word unchanged. */
static bool holder_dead(const mt__mutex_t *m, uint32_t v, int mode) {
  int32_t holder = (int32_t)(v & MT__M_TID);
  if (holder == 0) return false;
  if (!mode) return !mt__thread_in_self(holder);
  if (__atomic_load_n(&m->owner_tid, __ATOMIC_ACQUIRE) != (uint32_t)holder)
    /* The holder took the word but has not recorded itself (it does so
     * right away): if its thread is already gone, it died in between. */
    return mt__task_alive(holder, true, 0) == 0;
  uint64_t stamp = __atomic_load_n(&m->owner_stamp, __ATOMIC_RELAXED);
  if (mode == MT__M_SHARED_PROC)
    return mt__task_alive(__atomic_load_n(&m->owner_pid, __ATOMIC_RELAXED), false, stamp) == 0;
  return mt__task_alive(holder, true, stamp) == 0;
}

/* A caller polling with timeout 0 never parks, so the slow path's slice
 * check never runs for it: without this, a lock whose holder died could
 * not be taken by polling at all.  Rate-limited per lock (the check opens
 * a pidfd), so a busy poll on a live holder stays a failed CAS plus a
 * clock read. */
int mt__mutex_try_dead_holder(mt__mutex_t *m, int mode, int64_t *last_check_ns) {
  if (mode == MT__M_PRIVATE && m->fork_gen == mt__fork_generation()) return MT_EBUSY;
  int64_t now = mt__now_ns();
  int64_t last = __atomic_load_n(last_check_ns, __ATOMIC_RELAXED);
  if (last != 0 && now - last < MT__M_SLICE_NS) return MT_EBUSY;
  /* one checker per slice; a loser just reports busy */
  if (!__atomic_compare_exchange_n(last_check_ns, &last, now, false, __ATOMIC_RELAXED,
                                   __ATOMIC_RELAXED))
    return MT_EBUSY;
  uint32_t v = __atomic_load_n(&m->word, __ATOMIC_ACQUIRE); /* see lock_slow */
  if (!holder_dead(m, v, mode)) return MT_EBUSY;
  /* keep WAITERS: parked waiters must still be woken by our unlock */
  uint32_t mine = (uint32_t)mt__gettid() | (v & MT__M_WAITERS);
  if (!__atomic_compare_exchange_n(&m->word, &v, mine, false, __ATOMIC_ACQUIRE,
                                   __ATOMIC_RELAXED))
    return MT_EBUSY; /* somebody else took it (over) first */
  if (mode) mt__mutex_note_owner(m, mode);
  return MT_EOWNERDEAD;
}

/* The wait: mt__word_park (a thread sleeps on the word, a coroutine parks
 * a node: wait.h).  A user's Lock/RLock (`cancellable`) passes
 * MT_ECANCELLED / MT_EINTR on, with nothing to unwind: a waiter that leaves
 * took no wake (a coroutine's node was not popped, a thread woken by an
 * unlock re-tries first), and the WAITERS bit it may leave set costs the
 * next unlock one spurious wake at worst.  The internal mutex cannot fail
 * (callers hold it for a few instructions and never park while holding it,
 * so its holder is another thread): a cancelled coroutine waits on. */
static int lock_wait(mt__mutex_t *m, int mode, int64_t deadline_ns, bool cancellable) {
  uint32_t tid = (uint32_t)mt__gettid();

  /* No spin here: the critical sections behind this mutex are short, and a
   * spinning loser makes two contending threads trade the cache line on
   * every operation.  Measured (bench_sync, 2 threads): parking at once,
   * as glibc does, is 2x faster than a 100-round spin, and the in-process
   * queues gain 20-40%.  Waiting for an EVENT (condition, semaphore, event,
   * future) is where spinning pays, and those spin on their own words. */
  bool shared = mode != MT__M_PRIVATE;
  bool check_owner = shared || m->fork_gen != mt__fork_generation();
  for (;;) {
    uint32_t v = __atomic_load_n(&m->word, __ATOMIC_RELAXED);
    if (v == 0) {
      /* We may not be the only waiter: keep the WAITERS bit so the next
       * unlock wakes the others (Drepper's "mutex 2"). */
      if (__atomic_compare_exchange_n(&m->word, &v, tid | MT__M_WAITERS, false,
                                      __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
        if (shared) mt__mutex_note_owner(m, mode);
        return 0;
      }
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
    int r = mt__word_park(&m->word, v, shared, until);
    if (r < 0 && r != MT_ETIMEDOUT) {
      if (cancellable) return r;
      /* killed or interrupted: park without the check (a thread sleeps, a
       * coroutine goes to its parker's wait_word); re-check either way.
       * A one-shot cancel or interrupt stays armed for the next wait. */
      mt__wait_cancel_undelivered(r);
      r = mt__wait_word(&m->word, v, shared, until);
    }
    if (r == MT_ETIMEDOUT) {
      if (mt__deadline_passed(deadline_ns)) return MT_ETIMEDOUT;
      /* acquire: the holder's owner_* record is then visible (its CAS
       * continues the release sequence of the previous unlock) */
      if (check_owner && __atomic_load_n(&m->word, __ATOMIC_ACQUIRE) == v &&
          holder_dead(m, v, mode)) {
        if (__atomic_compare_exchange_n(&m->word, &v, tid | MT__M_WAITERS, false,
                                        __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
          if (shared) mt__mutex_note_owner(m, mode);
          return MT_EOWNERDEAD;
        }
      }
    }
  }
}

int mt__mutex_lock_slow(mt__mutex_t *m, int mode, int64_t deadline_ns) {
  return lock_wait(m, mode, deadline_ns, false);
}

int mt__mutex_lock_slow_cancellable(mt__mutex_t *m, int mode, int64_t deadline_ns) {
  return lock_wait(m, mode, deadline_ns, true);
}

void mt__mutex_wake(mt__mutex_t *m, int mode) { mt__wake_word(&m->word, 1, mode != 0); }
