/* Lock and RLock.
 *
 * Both sit on mt__mutex_t (sync/mutex.h): one word holding the acquirer's
 * kernel tid, so uncontended acquire/release is one CAS and one XCHG, and a
 * waiter can tell whether the holder died.  Who owns it differs, as in
 * Python: a shared Lock belongs to the acquiring PROCESS (any of its
 * threads may release it or mark it consistent; the acquiring thread may
 * exit), an RLock to the acquiring THREAD (its exit is owner death).  The robust-state machine
 * (consistent -> inconsistent after MT_EOWNERDEAD -> consistent again via
 * mt_X_consistent, or not-recoverable when released without it) mirrors
 * robust pthread mutexes, for private and MT_SHARED locks alike; for private
 * locks a dead owner can only be seen in a child forked while the lock was
 * held by another thread.
 *
 * RLock adds an owner-only recursion count: only the owner ever reads or
 * writes `count`, so it needs no atomics.  Its owner is finer than a
 * thread: the acquiring CONTEXT (coro/context.h), so two greenlets of one
 * thread do not share it (gevent's RLock).  The word still holds the
 * thread's tid (owner death is a thread's or process's, never a
 * greenlet's: a greenlet that ends holding an RLock leaves it held, as in
 * gevent), and `ctx` names the context within that thread.  Identity is
 * then (tid + thread stamp, ctx): unique across processes for MT_SHARED
 * ones too, since the stamp pins the thread and ctx is unique within it.
 * `ctx` is written by the new owner right after it takes the word and read
 * only by a caller that found its own thread in the word, so by the
 * owner's thread itself: plain accesses suffice.
 *
 * Deferred wake (wait morphing, for Condition).  A notify is made with the
 * lock held; a waiter woken then only finds the lock taken and sleeps on
 * it again, and the notifier's release must wake it a second time (two
 * more system calls and context switches per hand-off; on one CPU the
 * woken waiter even preempts the notifier while it still holds the lock).
 * So a PRIVATE lock's notify leaves the wake in the lock (`wake_word`,
 * `wake_n` of its mutex: mt__lock_defer_wake) and the release that frees the word
 * delivers it as its last step BEFORE the unlock: a waiter on another CPU
 * takes far longer to wake than the unlock that follows, so it finds the
 * lock free (on the notifier's own CPU it may preempt the notifier first
 * and park on the lock: docs/benchmarks.md, "Correction after review").
 * Not after the unlock: a thread could then take the lock, wait on
 * the condition and park in between, and FUTEX_WAKE wakes the first
 * sleepers in the kernel's priority order, not the ones the notify meant:
 * a real-time late-comer took the wake and the earlier waiter slept on
 * (test cond_wake_rt_latecomer).  Only the holder writes the record (a
 * notify needs the lock), and a release clears it before it unlocks;
 * relaxed atomics, since Python lets any thread release a Lock.  Not for
 * MT_SHARED locks: a process dying between notify and release would leave
 * the waiter asleep, where an immediate wake lets it see the dead holder. */
#include "multitask/sync.h"
#include "coro/context.h"
#include "core/core.h"
#include "platform/platform.h"
#include "sync/mutex.h"
#include "wait/wait.h"

enum { CONSISTENT = 0, INCONSISTENT = 1, NOTRECOVERABLE = 2 };

struct mt_lock {
  mt__mutex_t m;
  uint32_t state;
  int flags;
  int64_t try_checked; /* last dead-holder check of a timeout-0 acquire */
};

struct mt_rlock {
  mt__mutex_t m;
  uint32_t state;
  uint32_t count;
  uint64_t ctx; /* the owner's context id (valid while the word is ours) */
  int flags;
  int64_t try_checked;
};

/* The deferred wake (top of the file) lives in a private mutex's unused
 * owner record (mutex.h). */
typedef struct deferred {
  uint32_t *word; /* NULL: none */
  int n;
} deferred_t;

/* Before the unlock of a PRIVATE mutex: takes the pending wake (if any). */
static inline deferred_t take_wake(mt__mutex_t *m) {
  deferred_t k = {__atomic_load_n(&m->wake_word, __ATOMIC_RELAXED), 0};
  if (__builtin_expect(k.word != NULL, 0)) {
    k.n = __atomic_load_n(&m->wake_n, __ATOMIC_RELAXED);
    __atomic_store_n(&m->wake_word, NULL, __ATOMIC_RELAXED);
  }
  return k;
}
/* Still holding the lock: delivers it (the word may be gone by now, e.g.
 * the condition was freed after its notify: a stale wake is a spurious one
 * at worst, wait.h). */
static inline void give_wake(deferred_t k) {
  if (__builtin_expect(k.word != NULL, 0)) mt__wake_word(k.word, k.n, false);
}

/* The holder of a private lock, in notify: adds a wake of n waiters on
 * word to the release.  Another word's pending wake is delivered now. */
static bool defer_wake(mt__mutex_t *m, int flags, uint32_t *word, int n) {
  if (flags & MT_SHARED) return false;
  uint32_t *w = __atomic_load_n(&m->wake_word, __ATOMIC_RELAXED);
  int had = w == word ? __atomic_load_n(&m->wake_n, __ATOMIC_RELAXED) : 0;
  if (w && w != word) mt__wake_word(w, __atomic_load_n(&m->wake_n, __ATOMIC_RELAXED), false);
  __atomic_store_n(&m->wake_n, had > INT32_MAX - n ? INT32_MAX : had + n, __ATOMIC_RELAXED);
  __atomic_store_n(&m->wake_word, word, __ATOMIC_RELAXED);
  return true;
}
/* The mutex mode (sync/mutex.h) of a Lock / an RLock. */
static int lock_mode(int flags) { return flags & MT_SHARED ? MT__M_SHARED_PROC : MT__M_PRIVATE; }
static int rlock_mode(int flags) { return flags & MT_SHARED ? MT__M_SHARED : MT__M_PRIVATE; }

/* Shared acquire path for both kinds: handles the robust-state machine.
 * `cancellable`: a killed coroutine's wait ends with MT_ECANCELLED (a
 * user's acquire); not for a Condition retaking its lock, which must hold
 * it again whatever ended the wait. */
static int robust_acquire(mt__mutex_t *m, uint32_t *state, int64_t *try_checked, int mode,
                          double timeout, bool cancellable) {
  int64_t deadline;
  int r = mt__deadline(timeout, &deadline);
  if (r < 0) return r;
  if (__atomic_load_n(state, __ATOMIC_ACQUIRE) == NOTRECOVERABLE) return MT_ENOTRECOVERABLE;
  if (timeout == 0) {
    /* a try only, but a dead holder is still noticed (rate-limited) */
    r = mt__mutex_trylock_mode(m, mode) == 0 ? 0 : mt__mutex_try_dead_holder(m, mode, try_checked);
    if (r == MT_EBUSY) r = MT_ETIMEDOUT;
  } else if (cancellable)
    r = mt__mutex_lock_cancellable(m, mode, deadline);
  else
    r = mt__mutex_lock(m, mode, deadline);
  if (r == MT_EOWNERDEAD) {
    __atomic_store_n(state, INCONSISTENT, __ATOMIC_RELEASE);
    return r;
  }
  if (r == 0 && __atomic_load_n(state, __ATOMIC_ACQUIRE) == NOTRECOVERABLE) {
    mt__mutex_unlock(m, mode);
    return MT_ENOTRECOVERABLE;
  }
  return r;
}

static int robust_release(mt__mutex_t *m, uint32_t *state, int mode) {
  if (__atomic_load_n(state, __ATOMIC_ACQUIRE) == INCONSISTENT)
    __atomic_store_n(state, NOTRECOVERABLE, __ATOMIC_RELEASE);
  if (mode == MT__M_PRIVATE) give_wake(take_wake(m)); /* before the unlock: top of file */
  return mt__mutex_unlock(m, mode);
}

static int mark_consistent(uint32_t *state) {
  if (__atomic_load_n(state, __ATOMIC_ACQUIRE) != INCONSISTENT) return MT_EINVAL;
  __atomic_store_n(state, CONSISTENT, __ATOMIC_RELEASE);
  return 0;
}

/* ---- Lock ---- */

mt_lock_t *mt_lock_new(int flags) {
  if (flags & ~MT_SHARED) return mt__fail_null(MT_EINVAL);
  mt_lock_t *l = mt__obj_alloc(sizeof *l, flags);
  if (!l) return mt__fail_null(MT_ENOMEM);
  mt__mutex_init(&l->m);
  l->flags = flags;
  return l;
}

void mt_lock_free(mt_lock_t *l) {
  if (l) mt__obj_free(l, sizeof *l, l->flags);
}

/* The uncontended private acquire is one CAS (a plain store while the
 * process has one thread, as mt__mutex_lock) and one load of `state`:
 * no deadline computed (mt__deadline was 12% of the loop), no owner
 * record.  A valid timeout is MT_FOREVER or >= 0 (NaN fails both tests);
 * anything else, a shared lock, a held one or a thread whose tid is not
 * cached yet takes robust_acquire, which validates and handles everything.
 * `state` is read AFTER the CAS, as robust_acquire's second check: a lock
 * released NOTRECOVERABLE is given straight back.  Everything off the fast
 * path is a tail call, so the fast path saves no register. */
static __attribute__((noinline)) int lock_acquire_slow(mt_lock_t *l, double timeout) {
  return robust_acquire(&l->m, &l->state, &l->try_checked, lock_mode(l->flags), timeout, true);
}

static __attribute__((noinline, cold)) int lock_give_back(mt_lock_t *l) {
  mt__mutex_unlock(&l->m, MT__M_PRIVATE);
  return MT_ENOTRECOVERABLE;
}

int mt_lock_acquire(mt_lock_t *l, double timeout) {
  if (!l) return MT_EINVAL;
  uint32_t tid = (uint32_t)mt__tid_cache;
  if ((l->flags & MT_SHARED) || !(timeout == MT_FOREVER || timeout >= 0) || tid == 0)
    return lock_acquire_slow(l, timeout);
  uint32_t expected = 0;
  if (__libc_single_threaded) { /* no other thread: no atomic needed (mutex.h) */
    if (l->m.word != 0) return lock_acquire_slow(l, timeout);
    l->m.word = tid;
  } else if (!__atomic_compare_exchange_n(&l->m.word, &expected, tid, false, __ATOMIC_ACQUIRE,
                                          __ATOMIC_RELAXED)) {
    return lock_acquire_slow(l, timeout);
  }
  if (__builtin_expect(__atomic_load_n(&l->state, __ATOMIC_ACQUIRE) == NOTRECOVERABLE, 0))
    return lock_give_back(l);
  return 0;
}

/* Shared, not consistent, or a notify's wake to deliver: robust_release. */
static __attribute__((noinline)) int lock_release_slow(mt_lock_t *l) {
  return robust_release(&l->m, &l->state, lock_mode(l->flags));
}

/* Private and consistent with no deferred wake (the common case): one
 * exchange, as mt__mutex_unlock; everything else is a tail call, so the
 * fast path saves no register. */
int mt_lock_release(mt_lock_t *l) {
  if (!l) return MT_EINVAL;
  if (!(l->flags & MT_SHARED) && __atomic_load_n(&l->state, __ATOMIC_ACQUIRE) == CONSISTENT &&
      __atomic_load_n(&l->m.wake_word, __ATOMIC_RELAXED) == NULL) {
    uint32_t old;
    if (__libc_single_threaded) {
      old = l->m.word;
      l->m.word = 0;
    } else {
      old = __atomic_exchange_n(&l->m.word, 0, __ATOMIC_RELEASE);
    }
    if (__builtin_expect(old == 0, 0)) return MT_EPERM;
    if (old & MT__M_WAITERS) mt__mutex_wake(&l->m, MT__M_PRIVATE);
    return 0;
  }
  return lock_release_slow(l);
}

int mt_lock_is_locked(const mt_lock_t *l) {
  if (!l) return MT_EINVAL;
  return mt__mutex_holder(&l->m) != 0;
}

/* Any thread of the owning process may repair it (the one that got
 * MT_EOWNERDEAD may have exited since). */
int mt_lock_consistent(mt_lock_t *l) {
  if (!l) return MT_EINVAL;
  int32_t holder = mt__mutex_holder(&l->m);
  bool ours = l->flags & MT_SHARED
                  ? mt__mutex_proc_is_mine(&l->m)
                  : holder != 0 && (holder == mt__gettid() || mt__thread_in_self(holder));
  if (!ours) return MT_EPERM;
  return mark_consistent(&l->state);
}

/* Scoped helper: the block runs with the lock held.  A dead previous owner
 * is accepted (the lock is marked consistent): use mt_lock_acquire directly
 * when the protected data can be left torn by a dying holder. */
mt_lock_t *mt_lock_scope_begin(mt_lock_t *l) {
  int r = mt_lock_acquire(l, MT_FOREVER);
  if (r == MT_EOWNERDEAD) {
    mt_lock_consistent(l);
    r = 0;
  }
  return r == 0 ? l : NULL;
}

void mt_lock_scope_end(mt_lock_t **lp) {
  if (!lp) return; /* NULL is bad input, never a crash (docs/api.md) */
  if (*lp) mt_lock_release(*lp);
  *lp = NULL;
}

/* ---- RLock ---- */

mt_rlock_t *mt_rlock_new(int flags) {
  if (flags & ~MT_SHARED) return mt__fail_null(MT_EINVAL);
  mt_rlock_t *l = mt__obj_alloc(sizeof *l, flags);
  if (!l) return mt__fail_null(MT_ENOMEM);
  mt__mutex_init(&l->m);
  l->flags = flags;
  return l;
}

void mt_rlock_free(mt_rlock_t *l) {
  if (l) mt__obj_free(l, sizeof *l, l->flags);
}

/* Ownership is the thread (and, when shared, its stamp: see
 * mt__mutex_is_mine), never the tid alone, or a new thread given a dead
 * owner's tid would re-enter, release or repair its lock; and within the
 * thread, the context (the top of this file). */
static inline bool rlock_is_mine(const mt_rlock_t *l) {
  return mt__mutex_is_mine(&l->m, rlock_mode(l->flags)) && l->ctx == mt__context_id();
}

int mt_rlock_is_owned(const mt_rlock_t *l) {
  if (!l) return MT_EINVAL;
  return rlock_is_mine(l);
}

int mt_rlock_acquire(mt_rlock_t *l, double timeout) {
  if (!l) return MT_EINVAL;
  if (rlock_is_mine(l)) {
    /* nested: never waits, so only validate the timeout (as mt__deadline:
     * MT_FOREVER or >= 0; NaN fails both) without computing a deadline */
    if (!(timeout == MT_FOREVER || timeout >= 0)) return MT_EINVAL;
    if (l->count == UINT32_MAX) return MT_EOVERFLOW;
    l->count++;
    return 0;
  }
  int r =
      robust_acquire(&l->m, &l->state, &l->try_checked, rlock_mode(l->flags), timeout, true);
  if (r == 0 || r == MT_EOWNERDEAD) l->count = 1, l->ctx = mt__context_id();
  return r;
}

int mt_rlock_release(mt_rlock_t *l) {
  if (!l) return MT_EINVAL;
  if (!rlock_is_mine(l)) return MT_EPERM;
  if (--l->count > 0) return 0;
  return robust_release(&l->m, &l->state, rlock_mode(l->flags));
}

int mt_rlock_consistent(mt_rlock_t *l) {
  if (!l) return MT_EINVAL;
  if (!rlock_is_mine(l)) return MT_EPERM;
  return mark_consistent(&l->state);
}

/* `with rlock:` as mt_lock_scope_begin (a dead owner accepted). */
mt_rlock_t *mt_rlock_scope_begin(mt_rlock_t *l) {
  int r = mt_rlock_acquire(l, MT_FOREVER);
  if (r == MT_EOWNERDEAD) {
    mt_rlock_consistent(l);
    r = 0;
  }
  return r == 0 ? l : NULL;
}

void mt_rlock_scope_end(mt_rlock_t **lp) {
  if (!lp) return; /* NULL is bad input, never a crash (docs/api.md) */
  if (*lp) mt_rlock_release(*lp);
  *lp = NULL;
}

/* For Condition: release an RLock completely / restore its depth. */
uint32_t mt__rlock_release_all(mt_rlock_t *l) {
  uint32_t depth = l->count;
  l->count = 1;
  mt_rlock_release(l);
  return depth;
}

/* Never cancelled: a Condition holds its lock again whatever ended the
 * wait (its caller was released all the way, so this is never nested). */
int mt__rlock_acquire_restore(mt_rlock_t *l, uint32_t depth) {
  int r = robust_acquire(&l->m, &l->state, &l->try_checked, rlock_mode(l->flags), MT_FOREVER,
                         false);
  if (r == 0 || r == MT_EOWNERDEAD) l->count = depth, l->ctx = mt__context_id();
  return r;
}

int mt__lock_retake(mt_lock_t *l) {
  return robust_acquire(&l->m, &l->state, &l->try_checked, lock_mode(l->flags), MT_FOREVER,
                        false);
}

/* Returns once the word is seen free or changed hands, or after `rounds`. */
static void spin_free(const mt__mutex_t *m, int rounds) {
  uint32_t v = __atomic_load_n(&m->word, __ATOMIC_RELAXED);
  if (v != 0) mt__spin_until_changed(&m->word, v, rounds);
}
/* Spins up to `rounds` for a private Lock to be free and takes it the
 * moment it is (a separate look-then-retake lost the race to a holder that
 * re-acquires at once, as a ping-pong partner does); false: not taken
 * (held all along, others parked on it, a shared lock or a not-recoverable
 * one), take it the usual way. */
bool mt__lock_spin_take(mt_lock_t *l, int rounds) {
  uint32_t tid = (uint32_t)mt__tid_cache;
  if ((l->flags & MT_SHARED) || tid == 0) {
    spin_free(&l->m, rounds);
    return false;
  }
  for (int i = 0;; i++) {
    uint32_t v = __atomic_load_n(&l->m.word, __ATOMIC_RELAXED);
    if (v == 0 && __atomic_compare_exchange_n(&l->m.word, &v, tid, false, __ATOMIC_ACQUIRE,
                                              __ATOMIC_RELAXED))
      break;
    if ((v & MT__M_WAITERS) || i >= rounds) return false; /* queue behind the parked */
    mt__spin_until_changed(&l->m.word, v, 1); /* one pause */
  }
  if (__atomic_load_n(&l->state, __ATOMIC_ACQUIRE) != NOTRECOVERABLE) return true;
  mt__mutex_unlock(&l->m, MT__M_PRIVATE); /* robust_acquire's answer: MT_ENOTRECOVERABLE */
  return false;
}
void mt__rlock_spin_free(const mt_rlock_t *l, int rounds) { spin_free(&l->m, rounds); }
bool mt__lock_defer_wake(mt_lock_t *l, uint32_t *word, int n) {
  return defer_wake(&l->m, l->flags, word, n);
}
bool mt__rlock_defer_wake(mt_rlock_t *l, uint32_t *word, int n) {
  return defer_wake(&l->m, l->flags, word, n);
}
bool mt__lock_is_mine(const mt_lock_t *l) { return mt__mutex_is_mine(&l->m, lock_mode(l->flags)); }
int mt__lock_flags(const mt_lock_t *l) { return l->flags; }
int mt__rlock_flags(const mt_rlock_t *l) { return l->flags; }
