/* multitask/sync.h - Python's threading synchronisation primitives
 * (Lock, RLock, Semaphore, BoundedSemaphore, Condition, Event, Barrier) and
 * a once-initialiser.  docs/threading.md maps each Python name to these.
 *
 * Every object is made by mt_X_new(flags) and freed by mt_X_free, which
 * never blocks (it releases the memory; no thread may still wait in the
 * object: freeing under a waiter is a use after free, not a wait).
 * Freeing right after a wait returns is allowed where said below ("free on
 * return"): the wait's own return is enough, even while the call that
 * released it (a release, set or notify in another thread) has not
 * returned yet, as POSIX promises for sem_post/sem_destroy and mutexes; no
 * other thread may still use the object, of course.  With
 * flags = MT_SHARED it lives in shared memory and works in every process
 * forked after it was made (plain fork() is enough).  Timeouts are relative
 * seconds: MT_FOREVER blocks, 0 never blocks; a timed-out wait returns
 * MT_ETIMEDOUT (where Python returns False).
 */
#ifndef MULTITASK_SYNC_H
#define MULTITASK_SYNC_H

#include <stdbool.h>
#include "multitask/error.h"

#ifdef __cplusplus
extern "C" {
#endif
#pragma GCC visibility push(default) /* the exported API (built -fvisibility=hidden) */

typedef struct mt_lock mt_lock_t;
typedef struct mt_rlock mt_rlock_t;
typedef struct mt_sem mt_sem_t;
typedef struct mt_cond mt_cond_t;
typedef struct mt_event mt_event_t;
typedef struct mt_barrier mt_barrier_t;

/* ---- Lock (threading.Lock / multiprocessing.Lock) ----------------------
 * Any thread may release it (as Python).  The acquiring thread is recorded
 * as the holder, but a Lock belongs to its PROCESS: that thread may exit and
 * another thread of the process release it.  MT_SHARED locks are robust:
 * if the holding process dies, the next acquirer gets MT_EOWNERDEAD WITH the
 * lock held; it (or any thread of its process) repairs the protected state
 * and calls mt_lock_consistent() before releasing, otherwise the lock
 * becomes permanently MT_ENOTRECOVERABLE.  Detection delay: <= 10 ms of
 * waiting plus one liveness check (a timeout-0 acquire that finds it held
 * checks too, at most once per 10 ms per lock); a new process that got the
 * dead holder's pid does not fool it (docs/design.md). */
mt_lock_t *mt_lock_new(int flags);
/* Free on return: a thread whose acquire returned may release and free
 * the lock at once, while the release that handed it over still runs. */
void mt_lock_free(mt_lock_t *lock);
/* 0 acquired, MT_ETIMEDOUT, MT_EOWNERDEAD (acquired), MT_ENOTRECOVERABLE,
 * MT_EINVAL (NULL / bad timeout). */
int mt_lock_acquire(mt_lock_t *lock, double timeout);
/* 0, or MT_EPERM when the lock is not locked (Python's RuntimeError). */
int mt_lock_release(mt_lock_t *lock);
/* 1 locked, 0 unlocked, MT_EINVAL. */
int mt_lock_is_locked(const mt_lock_t *lock);
/* After MT_EOWNERDEAD: the state is repaired.  MT_EINVAL if not needed,
 * MT_EPERM if the calling process does not hold the lock. */
int mt_lock_consistent(mt_lock_t *lock);

/* ---- RLock (owner + recursion count) -----------------------------------
 * Owned by the acquiring THREAD: when that thread exits (or its process
 * dies) holding an MT_SHARED RLock, the next acquirer gets MT_EOWNERDEAD.
 * A new thread that got the dead owner's tid is not the owner (it cannot
 * re-enter, release or repair the lock; it gets MT_EOWNERDEAD too).
 * Inside a greenlet the owner is the greenlet (as gevent's RLock): another
 * greenlet of the same thread does not re-enter it, and its release is
 * MT_EPERM; a greenlet that ends holding it leaves it held
 * (docs/coroutines.md). */
mt_rlock_t *mt_rlock_new(int flags);
/* Free on return, as a Lock. */
void mt_rlock_free(mt_rlock_t *rlock);
/* Re-acquiring by the owner only counts up.  Same codes as mt_lock_acquire. */
int mt_rlock_acquire(mt_rlock_t *rlock, double timeout);
/* MT_EPERM if the caller is not the owner (Python's RuntimeError). */
int mt_rlock_release(mt_rlock_t *rlock);
/* 1 if the calling thread owns it, else 0. */
int mt_rlock_is_owned(const mt_rlock_t *rlock);
int mt_rlock_consistent(mt_rlock_t *rlock);

/* ---- Semaphore / BoundedSemaphore --------------------------------------
 * The value is at most INT32_MAX: mt_sem_new with a larger value fails
 * (NULL, MT_EINVAL), and a release that would pass it returns
 * MT_EOVERFLOW and changes nothing.  An MT_SHARED semaphore's waiter
 * re-checks every 100 ms, so a process that dies inside acquire or release
 * delays the others by at most that, never for ever. */
mt_sem_t *mt_sem_new(unsigned value, int flags);
/* Bounded: releasing above `value` returns MT_EOVERFLOW (Python's ValueError). */
mt_sem_t *mt_sem_new_bounded(unsigned value, int flags);
/* Free on return: a thread whose acquire returned 0 may free the semaphore
 * at once, while the release that gave it the count still runs
 * (sem_post/sem_destroy); release touches nothing of the semaphore after
 * the atomic that adds the count. */
void mt_sem_free(mt_sem_t *sem);
int mt_sem_acquire(mt_sem_t *sem, double timeout);
/* Adds n (1 <= n <= INT32_MAX, else MT_EINVAL).  Bounded over-release, or a
 * value past INT32_MAX: MT_EOVERFLOW and nothing changes. */
int mt_sem_release(mt_sem_t *sem, unsigned n);
/* Current value (>= 0). */
int mt_sem_value(const mt_sem_t *sem);

/* ---- Condition --------------------------------------------------------
 * Over a Lock or an RLock (NULL: a new RLock of its own, as Python).  The
 * condition must be MT_SHARED if its lock is.  wait() may, rarely, return
 * without a notify (as POSIX allows): loop on your predicate or use
 * mt_cond_wait_for.  A waiter whose timeout runs out after a notify but
 * before the notifier releases the lock returns 0, as a notified one; that
 * notify may then wake one more waiter as well. */
mt_cond_t *mt_cond_new(mt_lock_t *lock, int flags);
mt_cond_t *mt_cond_new_rlock(mt_rlock_t *rlock, int flags);
/* Free on return: a waiter returned from mt_cond_wait may release the lock
 * and free the condition and its lock at once (the notifier is done with
 * both once its release let the waiter retake the lock). */
void mt_cond_free(mt_cond_t *cond);
int mt_cond_acquire(mt_cond_t *cond, double timeout);
int mt_cond_release(mt_cond_t *cond);
/* Releases the lock, waits for a notify, re-acquires.  MT_EPERM when the
 * caller does not hold the lock (RLock: does not own it).  0 when notified,
 * MT_ETIMEDOUT (the lock is held again in both cases).  Re-acquiring an
 * MT_SHARED lock can also return MT_EOWNERDEAD (held again; its previous
 * holder died: repair, then mt_lock_consistent / mt_rlock_consistent) or
 * MT_ENOTRECOVERABLE (not held). */
int mt_cond_wait(mt_cond_t *cond, double timeout);
/* Waits until pred(arg) is true (checked first).  0, or MT_ETIMEDOUT when
 * the deadline passed with pred still false; MT_EOWNERDEAD /
 * MT_ENOTRECOVERABLE as mt_cond_wait (pred not checked again). */
int mt_cond_wait_for(mt_cond_t *cond, bool (*pred)(void *arg), void *arg,
                     double timeout);
/* Wakes up to n waiters; the caller must hold the lock (else MT_EPERM). */
int mt_cond_notify(mt_cond_t *cond, int n);
int mt_cond_notify_all(mt_cond_t *cond);

/* ---- Event ------------------------------------------------------------- */
mt_event_t *mt_event_new(int flags);
/* Free on return: a thread whose wait returned 0 (or that saw
 * mt_event_is_set) may free the event at once, while the set() that
 * released it still runs; set touches nothing of the event after the
 * atomic that sets the flag. */
void mt_event_free(mt_event_t *ev);
int mt_event_set(mt_event_t *ev);
int mt_event_clear(mt_event_t *ev);
/* 1 set, 0 clear. */
int mt_event_is_set(const mt_event_t *ev);
/* 0 once set, MT_ETIMEDOUT. */
int mt_event_wait(mt_event_t *ev, double timeout);

/* ---- Barrier ----------------------------------------------------------
 * action (may be NULL) runs in the last party to arrive, once all arrived;
 * a non-zero return breaks the barrier.  A wait that times out breaks it
 * (as Python); every wait returns by its deadline, also while another
 * party runs the action (then the action still decides that round).
 * mt_barrier_wait returns the arrival index 0..parties-1, MT_EBROKEN or
 * MT_EINVAL.  reset() gives MT_EBROKEN to waiting parties and makes the
 * barrier usable at once, whatever happened before.
 * MT_SHARED: at most MT_BARRIER_SHARED_MAX parties (each arrival is
 * recorded); a party that dies inside mt_barrier_wait (SIGKILL) breaks the
 * barrier: the others get MT_EBROKEN within 10 ms of waiting plus one
 * liveness check, unless its round completed first. */
#define MT_BARRIER_SHARED_MAX 65536
/* mt_barrier_wait(b, MT_BARRIER_DEFAULT_TIMEOUT) waits as long as the
 * barrier's default timeout (the one given to mt_barrier_new): Python's
 * barrier.wait() / wait(timeout=None).  A value no real timeout can take
 * (a negative other than MT_FOREVER); accepted by mt_barrier_wait only. */
#define MT_BARRIER_DEFAULT_TIMEOUT (-2.0)
/* timeout: the default of every wait (MT_FOREVER: none). */
mt_barrier_t *mt_barrier_new(unsigned parties, int (*action)(void *arg), void *arg,
                             double timeout, int flags);
/* NOT free on return for one party: every party's mt_barrier_wait must
 * have returned (a released party still retakes the barrier's internal
 * lock before it returns; glibc's pthread_barrier_destroy waits for them,
 * this free never blocks). */
void mt_barrier_free(mt_barrier_t *b);
/* timeout: MT_FOREVER waits without limit, 0 never blocks (alone, that
 * breaks the barrier), t > 0 seconds, MT_BARRIER_DEFAULT_TIMEOUT the
 * barrier's default; other negatives MT_EINVAL. */
int mt_barrier_wait(mt_barrier_t *b, double timeout);
int mt_barrier_reset(mt_barrier_t *b);
int mt_barrier_abort(mt_barrier_t *b);
int mt_barrier_parties(const mt_barrier_t *b);
int mt_barrier_n_waiting(const mt_barrier_t *b);
/* 1 broken, 0 not. */
int mt_barrier_is_broken(const mt_barrier_t *b);

/* ---- once (module-level singletons) ----------------------------------
 * Runs fn(arg) exactly once across threads; others wait for it to finish.
 * Initialise with MT_ONCE_INIT.  No timeout: a caller must not go on
 * before what fn makes exists (as a second importer waits for a module's
 * import in Python), so the wait is as long as fn runs.  0, or
 * MT_ECANCELLED for a coroutine killed while it waits, MT_EINTR for a
 * thread that opted in to interrupts (mt_signal_set_interruptible) when a
 * handler ran while it waits (fn has not run for it; a later call of
 * another caller still works).  Free on return: the mt_once_t may go once
 * the caller's own mt_once_call returned (the runner touches only its
 * address after marking it done). */
typedef struct mt_once_call { unsigned state; } mt_once_t;
#define MT_ONCE_INIT {0}
int mt_once_call(mt_once_t *once, void (*fn)(void *arg), void *arg);

/* ---- "with" ------------------------------------------------------------
 * MT_WITH_LOCK(lock) { ... } holds `lock` for the block and releases it
 * however the block is left (break, return, goto): it uses the GCC/Clang
 * cleanup attribute.  If acquiring fails the block is skipped.  A lock whose
 * previous holder died is accepted and marked consistent: when a dying holder
 * can leave the protected data torn, call mt_lock_acquire and handle
 * MT_EOWNERDEAD yourself.
 * The same for the other objects Python's `with` takes:
 *   MT_WITH_RLOCK(rlock)  `with rlock:`  (re-entrant: nests in its owner)
 *   MT_WITH_COND(cond)    `with cond:`   (holds the condition's lock; call
 *                                         mt_cond_wait / notify inside)
 *   MT_WITH_SEM(sem)      `with sem:`    (acquire, then release(1))
 * The begin/end functions are what the macros expand to (public and
 * exported so the macros work against the shared library); call them
 * through the macros: begin returns the object held (a dead holder's lock
 * made consistent) or NULL (NULL handle, or the acquire failed), end
 * releases *p if it is not NULL and sets it to NULL.  Two MT_WITH_* on the
 * same source line clash (the variable is named after the line). */
mt_lock_t *mt_lock_scope_begin(mt_lock_t *lock);
void mt_lock_scope_end(mt_lock_t **lockp);
mt_rlock_t *mt_rlock_scope_begin(mt_rlock_t *rlock);
void mt_rlock_scope_end(mt_rlock_t **rlockp);
mt_cond_t *mt_cond_scope_begin(mt_cond_t *cond);
void mt_cond_scope_end(mt_cond_t **condp);
mt_sem_t *mt_sem_scope_begin(mt_sem_t *sem);
void mt_sem_scope_end(mt_sem_t **semp);
#define MT__CAT2(a, b) a##b
#define MT__CAT(a, b) MT__CAT2(a, b)
/* One pattern for every scope: a for loop that runs its body once with the
 * object held, and a cleanup that releases it on any exit. */
#define MT__WITH(type, begin, end, h)                                            \
  for (type *MT__CAT(mt__with_, __LINE__) __attribute__((cleanup(end))) =        \
           begin(h);                                                             \
       MT__CAT(mt__with_, __LINE__) != NULL; end(&MT__CAT(mt__with_, __LINE__)))
#define MT_WITH_LOCK(lock) MT__WITH(mt_lock_t, mt_lock_scope_begin, mt_lock_scope_end, lock)
#define MT_WITH_RLOCK(rlock) \
  MT__WITH(mt_rlock_t, mt_rlock_scope_begin, mt_rlock_scope_end, rlock)
#define MT_WITH_COND(cond) MT__WITH(mt_cond_t, mt_cond_scope_begin, mt_cond_scope_end, cond)
#define MT_WITH_SEM(sem) MT__WITH(mt_sem_t, mt_sem_scope_begin, mt_sem_scope_end, sem)

#pragma GCC visibility pop
#ifdef __cplusplus
}
#endif
#endif
