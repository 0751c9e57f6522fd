/* multitask/coro.h - the hub (gevent's hub, asyncio's event loop) and
 * coroutine tasks (gevent's Greenlet, asyncio's Task) on it.
 *
 * One hub per thread that wants one (mt_hub_new on that thread).  A task is
 * a coroutine run by the hub of the thread that spawned it; it never moves
 * to another thread.  mt_coro_spawn returns the task AS an mt_future_t, so
 * everything of <multitask/future.h> works on it unchanged: result(timeout),
 * exception, add_done_callback, mt_future_wait, mt_as_completed_new.  Every
 * blocking call of the library made inside a task (or by the thread's own
 * code once it has a hub) parks that coroutine and lets the hub run the
 * others; the hub sleeps when none is ready.  docs/coroutines.md maps the
 * gevent and asyncio names and says which calls are cancellation points.
 *
 * Two nouns share this header: mt_hub_* (the scheduler of a thread) and
 * mt_coro_* (the tasks it runs). */
#ifndef MULTITASK_CORO_H
#define MULTITASK_CORO_H

#include <stddef.h>
#include <stdint.h>
#include "multitask/future.h"

#ifdef __cplusplus
extern "C" {
#endif
#pragma GCC visibility push(default) /* the exported API (built -fvisibility=hidden) */

typedef struct mt_hub mt_hub_t;

/* ---- the hub ---------------------------------------------------------- */

/* Makes the calling thread's hub (gevent's get_hub(), asyncio's
 * new_event_loop + set_event_loop).  From then on a blocking call of the
 * thread's own code parks it and runs the tasks (gevent's main greenlet).
 * Free it with mt_hub_free before the thread ends (a hub left at thread
 * exit, and its tasks, leak).  NULL with errno: EBUSY (the thread has a
 * hub), EPERM (called inside a greenlet rather than on the thread's own
 * stack), ENOMEM. */
mt_hub_t *mt_hub_new(void);
/* Closes the hub (asyncio's loop.close()): every task still alive is killed
 * (mt_coro_kill semantics) and run until it ends, then the hub leaves its
 * thread.  A task parked where a kill cannot reach it (a Lock, a pipe: see
 * docs/coroutines.md) after 100 rounds with nothing else to run is abandoned
 * and its memory leaks.  Must be called by the thread's own code on the
 * thread that made it (else nothing happens).  NULL does nothing. */
void mt_hub_free(mt_hub_t *h);
/* The calling thread's hub, or NULL. */
mt_hub_t *mt_hub_current(void);
/* asyncio.run(main()) / loop.run_until_complete(main()): runs main(arg, out)
 * as a task on the calling thread's hub (made for the call and freed after
 * it when the thread has none; tasks main left behind are then killed) and
 * returns its outcome as mt_future_take_result does: 0 with *out (may be
 * NULL: the value is then freed) moved to the caller, MT_ETASKFAILED (the
 * failure's code and message are printed as a never-retrieved failure is),
 * MT_ECANCELLED.  MT_EINVAL for NULL main, MT_EPERM inside a task. */
int mt_hub_run(mt_task_fn main, void *arg, mt_value_t *out);

/* ---- tasks ------------------------------------------------------------ */

typedef struct mt_coro_opts {
  size_t size;       /* sizeof(mt_coro_opts_t): set by MT_CORO_OPTS_INIT */
  const char *name;  /* NULL: "Task-N"; at most 31 bytes are kept */
  size_t stack_size; /* 0: the greenlet default (256 KiB, MAP_NORESERVE) */
  /* 1: a compact task (docs/coroutines.md "Compact tasks"): it runs on its
   * thread's shared stack, and while it is switched out only the bytes of
   * stack it used are kept (copied out and back), so a parked task costs
   * about 1-2 KiB instead of a page.  Rule: nothing may use a pointer into
   * its stack while it is switched out (mt_coro_spawn, mt_hub_spawn and
   * mt_coro_to_thread refuse such an arg: MT_EINVAL).  stack_size must be 0 or at most
   * 256 KiB (the shared stack). */
  int compact;
} mt_coro_opts_t;
#define MT_CORO_OPTS_INIT {sizeof(mt_coro_opts_t), NULL, 0, 0}

/* gevent.spawn(fn, arg) / asyncio's create_task / ensure_future: a task
 * that runs fn(arg, result) on the calling thread's hub, from the hub's
 * next round on (never inside this call).  fn returns as an executor task
 * does: 0 with *result set, or a negative code (mt_task_fail attaches a
 * message) stored in the future; a task that returns MT_ECANCELLED after it
 * was cancelled or killed ends CANCELLED.  The future has one reference,
 * the caller's (mt_future_free; freeing it does not stop the task).  A
 * failure nobody retrieved (result / take_result / exception) is reported
 * when the future is freed (mt_coro_set_exception_handler).
 * NULL with errno: EINVAL (fn NULL, opts->size 0, stack too small), EPERM
 * (no hub on this thread), ENOMEM. */
mt_future_t *mt_coro_spawn(mt_task_fn fn, void *arg, const mt_coro_opts_t *opts);
/* Spawning onto a hub from ANY thread (asyncio's run_coroutine_threadsafe):
 * as mt_coro_spawn, but the task runs on h's thread.  From another thread
 * the request is posted to h (the coroutine is made there; if it cannot be,
 * the future fails with MT_ENOMEM).  The caller must keep h alive: a task
 * posted to a hub being freed may never run.  NULL with errno EINVAL for a
 * NULL h, as mt_coro_spawn otherwise. */
mt_future_t *mt_hub_spawn(mt_hub_t *h, mt_task_fn fn, void *arg, const mt_coro_opts_t *opts);
/* gevent's g.join(timeout): waits until the task is done (finished, failed
 * or cancelled) without retrieving its outcome.  0, MT_ETIMEDOUT,
 * MT_ECANCELLED (the CALLER was cancelled or killed), MT_EINVAL. */
int mt_coro_join(mt_future_t *task, double timeout);
/* gevent.joinall(tasks, timeout): waits for all, one deadline.  Returns how
 * many are done (a timeout is not an error: compare with n, as
 * mt_future_wait), or MT_ECANCELLED / MT_EINVAL. */
int mt_coro_joinall(mt_future_t *const *tasks, int n, double timeout);
/* asyncio.gather(*tasks): waits for all (one deadline) and lends out[i]
 * each value (out may be NULL).  0, or the outcome of the first task in
 * input order that did not succeed (MT_ETASKFAILED, MT_ECANCELLED, ...;
 * the others are left running, as Python), MT_ETIMEDOUT. */
int mt_coro_gather(mt_future_t *const *tasks, int n, double timeout, mt_value_t *out);
/* asyncio.wait_for(task, timeout): mt_future_result(task, timeout, out);
 * when the timeout expires first, the task is cancelled (mt_coro_cancel)
 * and waited for until it ends, then MT_ETIMEDOUT is returned (asyncio's
 * TimeoutError; the task may have caught the cancel and succeeded: its
 * future says so).  Other returns as mt_future_result; MT_EINVAL for a
 * future that is not a task. */
int mt_coro_wait_for(mt_future_t *task, double timeout, mt_value_t *out);
/* asyncio.to_thread(fn, arg) / loop.run_in_executor(None, fn, arg): runs
 * fn(arg) on the hub's default thread pool (made at the first call with
 * min(32, ncpu + 4) workers, as Python's; handed to the library by
 * mt_hub_free) and parks the caller until it ends, while the hub's other
 * tasks run.  Returns as mt_future_take_result (the value moved to out).
 * MT_ETIMEDOUT / MT_ECANCELLED (the caller was cancelled or killed): the
 * call is cancelled if it has not started; one already running goes on in
 * its thread (a thread cannot be stopped, as in Python) and its result is
 * dropped.  MT_EPERM: this thread has no hub. */
int mt_coro_to_thread(mt_task_fn fn, void *arg, double timeout, mt_value_t *out);
/* asyncio's task.cancel(): a task not started yet is cancelled and never
 * runs; a running one gets MT_ECANCELLED ONCE, from its next (or current)
 * wait that is a cancellation point: it may go on (and later succeed) or
 * return MT_ECANCELLED (the task then ends CANCELLED).  Returns 1 when the
 * cancellation was requested, 0 when the task is already done.  From
 * another thread it is posted to the task's hub.  MT_EINVAL for NULL or a
 * future that is not a task. */
int mt_coro_cancel(mt_future_t *task);
/* gevent's g.kill(block=True, timeout): the kill is sticky: the task gets
 * MT_ECANCELLED from its current wait and from every later one (gevent's
 * GreenletExit); a task not started never runs.  Then waits up to timeout
 * for it to end (0: gevent's block=False).  0 when done, MT_ETIMEDOUT,
 * MT_EPERM (another thread's task), MT_EINVAL; MT_ECANCELLED when the task
 * kills itself (it is marked; return to end). */
int mt_coro_kill(mt_future_t *task, double timeout);
/* gevent.sleep / asyncio.sleep: parks the calling task for `seconds` (the
 * hub's timer heap).  0 is a pure yield: every other ready task runs once
 * before this one goes on (the fairness call: a task that never waits
 * starves the others).  Outside a hub the thread sleeps.  0,
 * MT_ECANCELLED (cancelled or killed), MT_EINVAL (negative or NaN). */
int mt_coro_sleep(double seconds);
/* The task's name (NULL for NULL or a future that is not a task). */
const char *mt_coro_name(mt_future_t *task);
/* 1 if f is a coroutine task, 0 if not, MT_EINVAL for NULL. */
int mt_coro_is_task(mt_future_t *f);

/* What a failure nobody retrieved calls when its task is freed (asyncio's
 * "Task exception was never retrieved"): fn(task, error, arg), on the
 * thread that drops the last reference.  NULL restores the default, a line
 * on stderr naming the task, the code and the message. */
typedef void (*mt_coro_exception_fn)(mt_future_t *task, const mt_task_error_t *err, void *arg);
void mt_coro_set_exception_handler(mt_coro_exception_fn fn, void *arg);

/* ---- timeout scopes (asyncio.timeout(delay); gevent.Timeout as a `with`) -- */

/* A scope of the running task (or of the thread's own code, on a thread
 * with a hub) within which every blocking call ends by the scope's
 * deadline.  asyncio's semantics: when the deadline ends a blocking call
 * (any call that parks: queue get/put, Lock, Event, Condition, Semaphore,
 * future result, join, sleep, ...), that call returns MT_ECANCELLED
 * (asyncio's CancelledError inside the block), and so does every
 * cancellation point after it until the scope ends (the expiry is sticky
 * inside the scope; a call that need not wait still succeeds, as an await
 * that does not yield).  Waits on descriptors (pipes) end with
 * MT_ETIMEDOUT instead.  mt_timeout_scope_end then returns MT_ETIMEDOUT
 * (asyncio's TimeoutError at the scope's exit).  Nesting: the earliest
 * deadline wins; the scope whose deadline ran out reports MT_ETIMEDOUT, the
 * scopes inside it MT_ECANCELLED (the CancelledError going through them).
 * The deadline costs nothing while nothing waits: it is a bound on each
 * park, so a scope that ended leaves no timer behind.  The struct lives in
 * the caller (on its stack); its fields are private. */
typedef struct mt_timeout {
  int64_t deadline_ns, outer_ns; /* monotonic; the enclosing scopes' deadline */
  struct mt_timeout *outer_scope;
  void *owner; /* the coroutine that opened it */
  int open, expired;
} mt_timeout_t;
/* Opens a scope of `seconds` (MT_FOREVER: no deadline, asyncio.timeout(None);
 * 0: already expired at the first wait).  0; MT_EINVAL (NULL t, NaN or
 * other negative seconds); MT_EPERM (the thread has no hub). */
int mt_timeout_scope_begin(mt_timeout_t *t, double seconds);
/* Closes the innermost open scope t: 0 (no call was cut), MT_ETIMEDOUT (t's
 * deadline cut a blocking call), MT_ECANCELLED (an enclosing scope's
 * deadline did: that scope reports MT_ETIMEDOUT when it ends); MT_EINVAL
 * (NULL, not open, or not the innermost open scope of the caller). */
int mt_timeout_scope_end(mt_timeout_t *t);
/* asyncio's cm.expired(): 1 when t's deadline cut a blocking call (also
 * after the end), 0 if not, MT_EINVAL for NULL. */
int mt_timeout_is_expired(const mt_timeout_t *t);
/* asyncio's `async with asyncio.timeout(s):` / `with gevent.Timeout(s):`
 *   mt_timeout_t t;
 *   MT_WITH_TIMEOUT(&t, 0.5) { ... a `break` leaves the scope ... }
 *   if (mt_timeout_is_expired(&t)) ...
 * The block does not run when the scope cannot open (no hub). */
/* MT_WITH_TIMEOUT's cleanup: mt_timeout_scope_end(*t) unless *t is NULL. */
void mt_timeout_scope_exit(mt_timeout_t **t);
#define MT_WITH_TIMEOUT(t, seconds)                                                        \
  for (mt_timeout_t *MT__TO_CAT(mt__to_, __LINE__)                                        \
           __attribute__((cleanup(mt_timeout_scope_exit))) =                           \
           mt_timeout_scope_begin((t), (seconds)) == 0 ? (t) : NULL;                       \
       MT__TO_CAT(mt__to_, __LINE__) != NULL;                                              \
       mt_timeout_scope_exit(&MT__TO_CAT(mt__to_, __LINE__)),                          \
                          MT__TO_CAT(mt__to_, __LINE__) = NULL)
#define MT__TO_CAT2(a, b) a##b
#define MT__TO_CAT(a, b) MT__TO_CAT2(a, b)

/* ---- task groups (asyncio.TaskGroup; gevent's Group) -------------------- */

/* A group of child tasks on the calling thread's hub, used on that thread.
 * A child that FAILS (returns a negative code other than the MT_ECANCELLED
 * of a cancel it was asked for) closes the group and cancels every sibling
 * not done yet (asyncio's cancel: MT_ECANCELLED once, at its next wait); the
 * group's wait then reports the failure.  Unlike asyncio the parent (the
 * code that waits) is not cancelled: it learns of the failure when its
 * mt_taskgroup_wait returns.  NULL with errno EPERM (no hub on this
 * thread), ENOMEM. */
typedef struct mt_taskgroup mt_taskgroup_t;
mt_taskgroup_t *mt_taskgroup_new(void);
/* tg.create_task(fn(arg)) / gevent's group.spawn: mt_coro_spawn into the
 * group.  The future is BORROWED: the group holds it until mt_taskgroup_free
 * (mt_future_ref to keep it longer).  Children may spawn siblings, also
 * while the parent waits.  NULL with errno: EINVAL (g or fn NULL, bad opts),
 * EPERM (another thread than the group's), the code MT_ECLOSED as a
 * positive errno (the group's wait returned, a child failed, or
 * mt_taskgroup_cancel was called; asyncio's RuntimeError), ENOMEM. */
mt_future_t *mt_taskgroup_spawn(mt_taskgroup_t *g, mt_task_fn fn, void *arg,
                                const mt_coro_opts_t *opts);
/* The exit of `async with TaskGroup()` / gevent's group.join(timeout):
 * waits until every child ended (also those spawned meanwhile), then
 * closes the group.  0: none failed; MT_ETASKFAILED: at least one failed
 * (mt_taskgroup_exception says how many and the first failure);
 * MT_ETIMEDOUT: children still run (the group stays open: wait again);
 * MT_ECANCELLED: the CALLER was cancelled or killed: every child is
 * cancelled and (unless the caller was killed) waited for, as asyncio;
 * MT_EINVAL (NULL, bad timeout), MT_EPERM (another thread). */
int mt_taskgroup_wait(mt_taskgroup_t *g, double timeout);
/* Cancels every child not done (gevent's group.kill without the wait, and
 * asyncio's cancel of each task) and closes the group.  Returns how many
 * cancels were requested; MT_EINVAL, MT_EPERM. */
int mt_taskgroup_cancel(mt_taskgroup_t *g);
/* How many children failed (0 if none), with *first (may be NULL) the
 * first failure: its code and message, borrowed from the group.  Python's
 * ExceptionGroup.exceptions, reduced to its count and its first entry.
 * MT_EINVAL for NULL. */
int mt_taskgroup_exception(mt_taskgroup_t *g, mt_task_error_t *first);
/* Children spawned so far (len(group)); the i-th (borrowed; NULL when out
 * of range). */
int mt_taskgroup_len(mt_taskgroup_t *g);
mt_future_t *mt_taskgroup_task(mt_taskgroup_t *g, int i);
/* 1 when no child may be spawned any more, 0 if open, MT_EINVAL. */
int mt_taskgroup_is_closed(mt_taskgroup_t *g);
/* Never blocks: children still running are cancelled (asyncio's group
 * never leaves its children behind) and end on their own; the group's
 * references on the children's futures are dropped.  A child that fails
 * after the free is reported as a never-retrieved failure
 * (mt_coro_set_exception_handler); failures the group saw before are
 * counted as retrieved.  Call it on the group's thread, as every other
 * call of the group (the children's callbacks run there).  NULL does
 * nothing. */
void mt_taskgroup_free(mt_taskgroup_t *g);

#pragma GCC visibility pop
#ifdef __cplusplus
}
#endif
#endif
