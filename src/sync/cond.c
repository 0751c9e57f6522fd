/* Condition.
 *
 * An event count of the wait layer (`evc`, pointer-free: works MT_SHARED):
 * wait() reads its sequence and registers in `waiters` while holding the
 * user's lock, releases the lock, and parks until the sequence moves;
 * notify(n) (lock held, so it is ordered after every registered waiter)
 * bumps the sequence and wakes n parked waiters.  A waiter that had not parked
 * yet when the word moved also returns, which is the rare spurious wakeup
 * documented in sync.h; there are never lost wakeups.  The RLock variant
 * releases the whole recursion depth and restores it, as Python does.
 * Under a private lock the kernel wake of a parked waiter is left to the
 * lock's release (lock.c, "Deferred wake"): a waiter on another CPU wakes
 * to a free lock. */
#include "multitask/sync.h"
#include "core/core.h"
#include "platform/platform.h"
#include "sync/sync_internal.h"
#include "wait/wait.h"

struct mt_cond {
  mt__evc_t evc;     /* seq + sleepers (parked: notify must make a syscall) */
  uint32_t waiters;  /* registered in wait(): notify has someone to notify */
  uint32_t spin_shift; /* spin budget = mt__spin_rounds() >> spin_shift (adapt_spin) */
  int64_t woken_ns;  /* when notify last woke a sleeper (monotonic ns) */
  uint64_t who, other; /* tid << 32 | CPU: the latest user, the latest other (touch) */
  mt_lock_t *lock;   /* exactly one of lock / rlock */
  mt_rlock_t *rlock;
  bool owns_lock;    /* made by us (Condition() with no lock) */
  int flags;
};

static mt_cond_t *cond_new(mt_lock_t *lock, mt_rlock_t *rlock, int flags) {
  if (flags & ~MT_SHARED) return mt__fail_null(MT_EINVAL);
  int lflags = lock ? mt__lock_flags(lock) : rlock ? mt__rlock_flags(rlock) : flags;
  if ((lflags & MT_SHARED) != (flags & MT_SHARED)) return mt__fail_null(MT_EINVAL);
  mt_cond_t *c = mt__obj_alloc(sizeof *c, flags);
  if (!c) return mt__fail_null(MT_ENOMEM);
  c->flags = flags;
  c->lock = lock;
  c->rlock = rlock;
  if (!lock && !rlock) {
    c->rlock = mt_rlock_new(flags);
    if (!c->rlock) {
      mt__obj_free(c, sizeof *c, flags);
      return mt__fail_null(MT_ENOMEM);
    }
    c->owns_lock = true;
  }
  return c;
}

mt_cond_t *mt_cond_new(mt_lock_t *lock, int flags) { return cond_new(lock, NULL, flags); }
mt_cond_t *mt_cond_new_rlock(mt_rlock_t *rlock, int flags) {
  return cond_new(NULL, rlock, flags);
}

void mt_cond_free(mt_cond_t *c) {
  if (!c) return;
  /* No access to the lock here: it may be freed first.  A notify's wake
   * still pending in it becomes a harmless spurious one (lock.c). */
  if (c->owns_lock) mt_rlock_free(c->rlock);
  mt__obj_free(c, sizeof *c, c->flags);
}

int mt_cond_acquire(mt_cond_t *c, double timeout) {
  if (!c) return MT_EINVAL;
  return c->lock ? mt_lock_acquire(c->lock, timeout) : mt_rlock_acquire(c->rlock, timeout);
}

int mt_cond_release(mt_cond_t *c) {
  if (!c) return MT_EINVAL;
  return c->lock ? mt_lock_release(c->lock) : mt_rlock_release(c->rlock);
}

/* `with cond:` holds the condition's lock (a dead holder accepted, as
 * mt_lock_scope_begin). */
mt_cond_t *mt_cond_scope_begin(mt_cond_t *c) {
  int r = mt_cond_acquire(c, MT_FOREVER);
  if (r == MT_EOWNERDEAD) {
    if (c->lock) mt_lock_consistent(c->lock);
    else mt_rlock_consistent(c->rlock);
    r = 0;
  }
  return r == 0 ? c : NULL;
}

void mt_cond_scope_end(mt_cond_t **cp) {
  if (!cp) return; /* NULL is bad input, never a crash (docs/api.md) */
  if (*cp) mt_cond_release(*cp);
  *cp = NULL;
}

/* Python requires the lock to be held by the caller. For a Lock, the
 * recorded acquirer must be the caller (its tid and, when shared, its
 * process's stamp: a tid alone may be a dead holder's, recycled). */
static bool caller_holds(const mt_cond_t *c) {
  if (c->lock) return mt__lock_is_mine(c->lock);
  return mt_rlock_is_owned(c->rlock) == 1;
}

/* Adaptive spin.  Spinning pays only when the partner notifies within the
 * budget (2000 pause rounds, tens of us here); under load (more runnable
 * threads than cores) it rarely does, and each failed spin burns the CPU
 * the partner needs (bench_sync ping-pong at load 20 on 2 cores: 84 us CPU
 * per round trip, nearly all of it two failed spins).  So a failed full
 * spin halves the budget, down to 1/16; a spin that succeeds doubles it
 * back; and a parked waiter checks when the notify came (woken_ns, stamped
 * by notify only when it makes the wake call): within what the full budget
 * would have spun means spinning would have paid, and the budget doubles,
 * so a short budget never locks itself in.  Racy by design (a heuristic
 * per condition, relaxed atomics); no timing on the spin-only path. */
enum { SPIN_SHIFT_MAX = 4 };

/* Co-location.  A spin pays only while the thread that will notify runs on
 * ANOTHER CPU; on ours it cannot run until we stop, so the spin is pure
 * loss, and worse, the parked waiter's check above then sees a notify that
 * came soon after the spin (it came because we gave the CPU up) and keeps
 * the budget high.  Measured (condition ping-pong at a load of ~9 on 2
 * CPUs): both threads pinned to one CPU, 1.1-1.4e4 round trips/s with 66 us
 * CPU each, against 5e4/s and 15 us when neither spins; pinned to two CPUs
 * they kept spinning at ~1e5/s; unpinned, a run either spun or fell into
 * the first mode (1-2e4/s, 32-74 us; 5e4/s and 13-17 us with this rule).  The
 * thread we wait for is, in the common case, the other thread that waited
 * on the condition last (ping-pong: the one our notify released).  So
 * every wait (on entry, and after a park: the kernel may have moved us)
 * stamps `who` (tid << 32 | CPU), keeping in `other` the latest stamp of a
 * different thread, and a waiter does not spin when `other` says that
 * thread was last seen on its own CPU.  (Notify does not stamp: in the
 * spinning mode a store to this line costs the spinner a cache miss; CPU
 * per round trip went 1.0-1.2 -> 1.6-1.8 us when notify stamped too.)  A
 * stale stamp costs one spin too many or too few; relaxed atomics, a hint
 * like the budget (two words torn by a race are a wrong hint, no more). */
static uint64_t touch(mt_cond_t *c) {
  int cpu = mt__cpu_now();
  if (cpu < 0) return 0;
  uint64_t me = (uint64_t)(uint32_t)mt__gettid() << 32 | (uint32_t)cpu;
  uint64_t was = __atomic_load_n(&c->who, __ATOMIC_RELAXED);
  if (was >> 32 != me >> 32) __atomic_store_n(&c->other, was, __ATOMIC_RELAXED);
  if (was != me) __atomic_store_n(&c->who, me, __ATOMIC_RELAXED);
  return me;
}

static bool colocated(mt_cond_t *c, uint64_t me) {
  uint64_t o = __atomic_load_n(&c->other, __ATOMIC_RELAXED);
  return me && o && (uint32_t)o == (uint32_t)me && o >> 32 != me >> 32;
}

static void adapt_spin(mt_cond_t *c, uint32_t shift, bool paid) {
  if (paid ? shift > 0 : shift < SPIN_SHIFT_MAX)
    __atomic_store_n(&c->spin_shift, paid ? shift - 1 : shift + 1, __ATOMIC_RELAXED);
}

static int wait_until(mt_cond_t *c, int64_t deadline) {
  bool shared = c->flags & MT_SHARED;
  uint32_t seq = __atomic_load_n(&c->evc.seq, __ATOMIC_RELAXED);
  /* `waiters` changes only under the lock (here and after the retake
   * below), so a load and a store do: no locked instruction on the line the
   * notifier reads. */
  __atomic_store_n(&c->waiters, __atomic_load_n(&c->waiters, __ATOMIC_RELAXED) + 1,
                   __ATOMIC_RELAXED);
  uint32_t depth = 0;
  if (c->lock)
    mt_lock_release(c->lock);
  else
    depth = mt__rlock_release_all(c->rlock);

  /* Spin first: a partner running on the other core usually notifies
   * within microseconds, and a parked thread costs ~55 us to wake.  The
   * budget adapts (adapt_spin). */
  int r = 0;
  int full = mt__spin_rounds();
  bool shared_cpu = full && colocated(c, touch(c)); /* then no spin */
  if (shared_cpu) full = 0; /* and no verdict on the budget (adapt_spin) */
  uint32_t shift = __atomic_load_n(&c->spin_shift, __ATOMIC_RELAXED);
  int64_t t0 = shift && full ? mt__now_ns() : 0; /* a short spin is timed */
  bool spun = mt__spin_until_changed(&c->evc.seq, seq, full >> shift);
  if (spun) {
    if (full) adapt_spin(c, shift, true);
  } else {
    int64_t parked = t0 ? mt__now_ns() : 0;
    mt__evc_prepare(&c->evc);
    while (mt__evc_key(&c->evc) == seq) {
      r = mt__evc_wait(&c->evc, seq, shared, deadline);
      if (r == MT_ETIMEDOUT) {
        r = mt__evc_key(&c->evc) == seq ? MT_ETIMEDOUT : 0;
        break;
      }
      if (r < 0) break; /* MT_ECANCELLED / MT_EINTR */
    }
    mt__evc_done(&c->evc);
    if (mt__spin_rounds()) touch(c); /* where the kernel woke us */
    if (full && r == 0) {
      /* Would the full budget have caught the notify?  A full spin from
       * t0 lasts this short one's time scaled up.  (After a failed full
       * spin, shift 0: no.) */
      int64_t woken = __atomic_load_n(&c->woken_ns, __ATOMIC_RELAXED);
      adapt_spin(c, shift, t0 && woken - t0 < (parked - t0) << shift);
    }
  }
  /* Cancelled after a notify moved the sequence: that notify may have been
   * meant for us alone; hand it on (a spurious wakeup at worst). */
  bool pass_on = r < 0 && r != MT_ETIMEDOUT && mt__evc_key(&c->evc) != seq;

  /* After a spin that saw the bump, the notifier is running and still
   * holds the lock for a few instructions: wait for it to let go before
   * trying, briefly (1/16 of the budget).  A try that fails parks
   * (mutex.c: no spin in the mutex) and costs the notifier a wake call
   * too: two system calls where the hand-off needs none.  Not after a
   * park: the notifier may have been preempted since (measured: spinning
   * there cost ~20 us CPU per round trip under load).  Not under a
   * coroutine scheduler: the notifier may be on this thread. */
  bool taken = false;
  if (spun && mt__may_spin()) {
    if (c->lock) taken = mt__lock_spin_take(c->lock, full >> SPIN_SHIFT_MAX);
    else mt__rlock_spin_free(c->rlock, full >> SPIN_SHIFT_MAX);
  }

  /* the lock is retaken whatever ended the wait, as Python does */
  int a = taken   ? 0
          : c->lock ? mt__lock_retake(c->lock)
                    : mt__rlock_acquire_restore(c->rlock, depth);
  /* Unregistered with the lock held again.  (Not held only when the lock
   * became not recoverable: nobody holds it any more, and every waiter
   * leaving then uses the atomic.)  A notify between our wake-up and here
   * counts us and bumps the sequence for nobody, which is harmless. */
  if (a == 0 || a == MT_EOWNERDEAD)
    __atomic_store_n(&c->waiters, __atomic_load_n(&c->waiters, __ATOMIC_RELAXED) - 1,
                     __ATOMIC_RELAXED);
  else
    __atomic_fetch_sub(&c->waiters, 1, __ATOMIC_RELAXED);
  if (pass_on && a >= 0) mt_cond_notify(c, 1);
  return a < 0 ? a : r; /* MT_EOWNERDEAD / MT_ENOTRECOVERABLE win */
}

int mt_cond_wait(mt_cond_t *c, double timeout) {
  if (!c) return MT_EINVAL;
  int64_t deadline;
  int r = mt__deadline(timeout, &deadline);
  if (r < 0) return r;
  if (!caller_holds(c)) return MT_EPERM;
  return wait_until(c, deadline);
}

int mt_cond_wait_for(mt_cond_t *c, bool (*pred)(void *arg), void *arg, double timeout) {
  if (!c || !pred) return MT_EINVAL;
  int64_t deadline;
  int r = mt__deadline(timeout, &deadline);
  if (r < 0) return r;
  if (!caller_holds(c)) return MT_EPERM;
  while (!pred(arg)) {
    r = wait_until(c, deadline);
    if (r == MT_ETIMEDOUT) return pred(arg) ? 0 : MT_ETIMEDOUT;
    if (r < 0) return r;
  }
  return 0;
}

int mt_cond_notify(mt_cond_t *c, int n) {
  if (!c || n < 0) return MT_EINVAL;
  if (!caller_holds(c)) return MT_EPERM;
  if (n == 0 || __atomic_load_n(&c->waiters, __ATOMIC_RELAXED) == 0) return 0;
  /* always bumped: waiters still spinning watch the sequence too */
  __atomic_fetch_add(&c->evc.seq, 1, __ATOMIC_SEQ_CST);
  if (__atomic_load_n(&c->evc.sleepers, __ATOMIC_SEQ_CST) > 0) {
    __atomic_store_n(&c->woken_ns, mt__now_ns(), __ATOMIC_RELAXED); /* adapt_spin */
    /* Woken now, the waiter would find the lock held and sleep again on
     * it: the release delivers the wake instead (lock.c, "Deferred wake";
     * not for MT_SHARED ones). */
    bool deferred = c->lock ? mt__lock_defer_wake(c->lock, &c->evc.seq, n)
                            : mt__rlock_defer_wake(c->rlock, &c->evc.seq, n);
    if (!deferred) mt__wake_word(&c->evc.seq, n, c->flags & MT_SHARED);
  }
  return 0;
}

int mt_cond_notify_all(mt_cond_t *c) { return mt_cond_notify(c, INT32_MAX); }
