/* multitask/future.h - Python's concurrent.futures.Future, wait() and
 * as_completed().  docs/futures.md maps each Python name.
 *
 * A future is the result of one piece of work, shared between whoever runs
 * the work (an executor's worker, a process pool's result reader, user code)
 * and whoever waits for it.  States, as Python:
 *
 *   PENDING --set_running_or_notify_cancel--> RUNNING --set_result/exception--> FINISHED
 *      \--cancel--> CANCELLED
 *
 * A value is a pointer + length + optional free function, so a thread task
 * can hand back any pointer and a process task a copied byte buffer through
 * the same type.  The future owns its value: the free function runs when
 * the last reference to the future is dropped (mt_future_result only lends
 * it; mt_future_take_result moves it out).
 *
 * Errors are kept apart: mt_future_result returns MT_ETIMEDOUT only when the
 * WAIT expired, MT_ECANCELLED for a cancelled future, MT_ETASKFAILED when the
 * task itself failed (its own code and message come from
 * mt_future_exception), and an executor-level code (MT_EBROKEN: the pool
 * broke; MT_EWORKERDIED: a process worker died) when the work never ran to
 * an end of its own. */
#ifndef MULTITASK_FUTURE_H
#define MULTITASK_FUTURE_H

#include <stdbool.h>
#include <stddef.h>
#include "multitask/error.h"

#ifdef __cplusplus
extern "C" {
#endif
#pragma GCC visibility push(default) /* the exported API (built -fvisibility=hidden) */

typedef struct mt_future mt_future_t;

typedef enum mt_future_state {
  MT_FUTURE_PENDING = 0,
  MT_FUTURE_RUNNING = 1,
  MT_FUTURE_CANCELLED = 2,
  MT_FUTURE_FINISHED = 3
} mt_future_state_t;

/* A result value: ptr/len as the task chose (len may be 0 for a plain
 * pointer or an integer stored in ptr); free_fn, if not NULL, is called on
 * ptr when the owner is done with it. */
typedef struct mt_value {
  void *ptr;
  size_t len;
  void (*free_fn)(void *ptr);
} mt_value_t;

/* A task's error (Python: the exception).  message is owned by the future
 * and valid until it is freed; never NULL ("" when none was given). */
typedef struct mt_task_error {
  int code;
  const char *message;
} mt_task_error_t;

/* The work an executor runs: fills *result (zeroed on entry) and returns 0,
 * or returns a negative code (the task failed; use mt_task_fail to attach
 * a message).  A positive return counts as success. */
typedef int (*mt_task_fn)(void *arg, mt_value_t *result);

/* ---- life cycle ----------------------------------------------------- */

/* A hand-made future (Python: Future()), PENDING, one reference. */
mt_future_t *mt_future_new(void);
/* Drops the caller's reference; never blocks.  The future (and its value)
 * is freed when the last holder (caller, executor, callbacks in flight)
 * lets go.  Safe to call while the task is still queued or running: the
 * task still runs, its result is dropped.  A pool's worker wakes the
 * waiters of a finished task before it lets go of the future, so the
 * value's free_fn may run on that worker a moment after this returns,
 * even if the caller already read the result.  NULL is ignored. */
void mt_future_free(mt_future_t *f);
/* Takes one more reference (each must be matched by mt_future_free). */
mt_future_t *mt_future_ref(mt_future_t *f);
/* Futures come from 1 MiB slabs that are kept for reuse: memory stays at
 * the peak number of futures alive at once (~192 bytes each) until this
 * call gives back to the system every slab none of whose futures is alive
 * or cached by another thread (each thread caches at most 1024 free
 * futures).  Returns the number of 1 MiB slabs given back (0 under
 * ASan/TSan builds, which use malloc). */
int mt_future_trim(void);

/* ---- queries -------------------------------------------------------- */

/* Current state, or MT_EINVAL for NULL. */
int mt_future_state(const mt_future_t *f);
int mt_future_is_cancelled(const mt_future_t *f); /* 1 / 0 (MT_EINVAL for NULL) */
int mt_future_is_running(const mt_future_t *f);   /* 1 / 0 */
int mt_future_is_done(const mt_future_t *f);      /* 1 when CANCELLED or FINISHED */

/* ---- cancelling ----------------------------------------------------- */

/* Python's cancel(): succeeds only while PENDING.  Returns 1 when the
 * future is (now or already) cancelled, 0 when it is running or finished.
 * Callbacks and waiters are notified. */
int mt_future_cancel(mt_future_t *f);
/* Cancels RUNNING work too (not in Python): a pending future is cancelled as
 * by mt_future_cancel (returns 1); for a running one the cancel request is
 * recorded and the executor's hook is called (thread pool: a flag the task
 * polls with mt_task_is_cancelled(); process pool: the worker is killed) and 0
 * is returned; the future then ends as the task (or executor) makes it end.
 * Returns 0 for a finished future too. */
int mt_future_cancel_running(mt_future_t *f);
/* 1 if mt_future_cancel_running asked this future to stop. */
int mt_future_is_cancel_requested(const mt_future_t *f);
/* For executor implementations: hook(f, ctx) is called by
 * mt_future_cancel_running on a RUNNING future (e.g. a process pool kills
 * the worker running it).  Set it before the future can run. */
int mt_future_set_cancel_hook(mt_future_t *f, int (*hook)(mt_future_t *f, void *ctx),
                              void *ctx);

/* ---- results -------------------------------------------------------- */

/* Waits up to timeout seconds (MT_FOREVER, 0 = poll) for the future and
 * returns: 0 with *out (may be NULL) lent the value (still owned by the
 * future); MT_ETIMEDOUT when the wait expired; MT_ECANCELLED;
 * MT_ETASKFAILED when the task failed (see mt_future_exception); or the
 * executor's code (MT_EBROKEN, MT_EWORKERDIED, ...) when the work could not
 * run; MT_EINVAL for NULL or a bad timeout. */
int mt_future_result(mt_future_t *f, double timeout, mt_value_t *out);
/* As mt_future_result, but on 0 the value is moved to *out (the caller now
 * frees it with out->free_fn); later result calls see a zero value. */
int mt_future_take_result(mt_future_t *f, double timeout, mt_value_t *out);
/* Python's exception(timeout): waits like mt_future_result and returns 0
 * when the future ended, with out->code = 0 on success or the error's code
 * and message (the task's own, or the executor's such as MT_EBROKEN);
 * MT_ETIMEDOUT, MT_ECANCELLED, MT_EINVAL otherwise. */
int mt_future_exception(mt_future_t *f, double timeout, mt_task_error_t *out);

/* ---- completion by hand (Python's set_* for executors and tests) ---- */

/* PENDING -> RUNNING: returns 1.  If cancelled: returns 0 (waiters were
 * already notified).  MT_EBUSY when already running or finished. */
int mt_future_set_running_or_notify_cancel(mt_future_t *f);
/* Finishes with a value (the future takes ownership on success).  Allowed
 * from PENDING or RUNNING; MT_EBUSY (Python's InvalidStateError) when the
 * future is already done, or while a thread pool runs its task (the run
 * alone completes it, even for the task itself on mt_task_current(): its
 * caller sees the result when the function returns; Python would let the
 * hand win); the value then stays the caller's. */
int mt_future_set_result(mt_future_t *f, mt_value_t value);
/* Finishes as "the task failed" with its code (< 0) and message (copied,
 * may be NULL).  result() then returns MT_ETASKFAILED. MT_EBUSY when done
 * or while a thread pool runs its task, MT_EINVAL for code >= 0. */
int mt_future_set_exception(mt_future_t *f, int code, const char *message);
/* Finishes as "the executor could not run it" (code < 0 such as MT_EBROKEN,
 * MT_EWORKERDIED): result() returns that code itself. */
int mt_future_set_error(mt_future_t *f, int code, const char *message);

/* fork: a child gets a copy of each future; its state, value and error stay
 * readable there.  If another thread was inside the future's internal lock
 * at fork (adding a callback, completing it, hanging a wait() or
 * as_completed() watcher on it), its callback and watcher lists may be torn:
 * in the child (the first call after at most ~10 ms, the owner check)
 * add_done_callback, mt_future_wait and mt_as_completed_new over it return
 * MT_ENOTRECOVERABLE, and set_result / set_exception / set_error store the
 * outcome (result() returns it) but return MT_ENOTRECOVERABLE: callbacks
 * added before the fork never run there.  The same holds for an
 * as_completed iterator another thread was inside: next() returns
 * MT_ENOTRECOVERABLE; free it as usual. */

/* ---- callbacks ------------------------------------------------------ */

typedef void (*mt_future_cb)(mt_future_t *f, void *arg);
/* Python's add_done_callback: fn(f, arg) runs once the future is done
 * (cancelled or finished), in the thread that completes it, in the order
 * added; at once in the caller when already done.  Each callback runs
 * exactly once, also when added while the future completes.  Callbacks run
 * with no lock held: they may submit more work, wait on other futures or
 * free f's extra references.  0, MT_EINVAL, MT_ENOMEM, MT_ENOTRECOVERABLE
 * (fork, above). */
int mt_future_add_done_callback(mt_future_t *f, mt_future_cb fn, void *arg);

/* ---- inside a task -------------------------------------------------- */

/* Attaches a message to the failure the running task is about to return:
 * `return mt_task_fail(MT_EINVAL, "bad page %d", n);` returns code. */
int mt_task_fail(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* 1 when the task running on this thread was asked to stop with
 * mt_future_cancel_running (0 outside a task). */
int mt_task_is_cancelled(void);
/* The future of the task running on this thread (NULL outside a task). */
mt_future_t *mt_task_current(void);

/* ---- wait() and as_completed() ------------------------------------- */

enum {
  MT_FIRST_COMPLETED = 1,
  MT_FIRST_EXCEPTION = 2, /* a future finished with an error (as Python, a
                             cancelled one does not count), else all done */
  MT_ALL_COMPLETED = 3
};

/* Python's wait(fs, timeout, return_when).  Waits until the condition holds
 * or the timeout, then fills done[] / not_done[] (each may be NULL, else has
 * room for n) keeping input order, and returns the number of done futures
 * (a timeout is not an error, as Python: compare with n).  *n_not_done
 * receives the other count if not NULL.  Duplicate entries are counted
 * once.  MT_EINVAL for NULL futures, n < 0, a bad timeout or return_when;
 * MT_ECANCELLED when the calling coroutine was killed while it waited. */
int mt_future_wait(mt_future_t *const *fs, int n, double timeout, int return_when,
                    mt_future_t **done, mt_future_t **not_done, int *n_not_done);

/* Python's as_completed(fs, timeout) as an iterator: already-done futures
 * first (input order), then each as it completes.  The timeout counts from
 * mt_as_completed_new, for the whole iteration.  Duplicates are yielded
 * once.  The iterator does not own the futures. */
typedef struct mt_as_completed mt_as_completed_t;
mt_as_completed_t *mt_as_completed_new(mt_future_t *const *fs, int n, double timeout);
/* 1 with *out set to the next done future; 0 when all were yielded;
 * MT_ETIMEDOUT when none is done at the deadline (later calls still yield
 * futures that completed meanwhile, without waiting); MT_EINVAL for NULL;
 * MT_ECANCELLED when the calling coroutine was killed while it waited. */
int mt_as_completed_next(mt_as_completed_t *it, mt_future_t **out);
/* Frees the iterator; never blocks.  The futures are untouched (they stay
 * the caller's and run on). */
void mt_as_completed_free(mt_as_completed_t *it);

#pragma GCC visibility pop
#ifdef __cplusplus
}
#endif
#endif
