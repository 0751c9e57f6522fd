/* multitask/timer.h - threading.Timer and the notes' repeating LoopTimer.
 *
 * All timers share ONE timer thread with a binary heap (100,000 pending
 * timers are cheap: ~110 bytes each, O(log n) start and cancel).  It is
 * started by the first mt_timer_start, blocks every signal, is internal (not
 * in mt_thread_enumerate) and never holds the process at exit.  Callbacks
 * run on that thread one at a time and must be short: a slow callback
 * delays every other timer.  Hand long work to a thread (mt_thread_spawn)
 * or an executor from the callback (threads started there are non-daemon by
 * default, as from Python's Timer thread; on that thread mt_thread_current()
 * is an unlisted "mt-timer" object).  A callback may start, cancel and free
 * timers, its own included; it must not join a timer (MT_EDEADLK).
 *
 * fork: the timer thread is not inherited.  In the child every timer that
 * was pending (or running) reads as finished and never fires there; new
 * timers work (the thread is started again on demand).  Do not fork from
 * a callback unless the child execs or _exits. */
#ifndef MULTITASK_TIMER_H
#define MULTITASK_TIMER_H

#include <stdbool.h>
#include "multitask/error.h"

#ifdef __cplusplus
extern "C" {
#endif
#pragma GCC visibility push(default) /* the exported API (built -fvisibility=hidden) */

typedef struct mt_timer mt_timer_t;

/* Runs fn(arg) once, `interval` (>= 0) seconds after mt_timer_start.
 * NULL with errno EINVAL (fn NULL, interval negative or NaN), ENOMEM. */
mt_timer_t *mt_timer_new(double interval, void (*fn)(void *arg), void *arg);
/* Repeating (the notes' LoopTimer): runs at start, then every interval
 * (> 0) until cancelled; ticks are start + k*interval (no drift); a tick
 * missed because a callback overran is skipped, not replayed: the next
 * call is at the first tick not in the past.  Once started it keeps ticking
 * until cancelled: the re-arm after each tick allocates nothing (its place
 * in the heap is reserved by mt_timer_start), so it cannot fail. */
mt_timer_t *mt_timer_new_loop(double interval, void (*fn)(void *arg), void *arg);
/* 0, MT_ESTARTED (started before), MT_EAGAIN (no timer thread), MT_ENOMEM
 * (the heap could not grow: not started, may be started again), MT_EINVAL.
 * A timer cancelled before start starts fine and never fires (Python). */
int mt_timer_start(mt_timer_t *t);
/* Python's cancel(): stops it if it has not fired (one-shot) / stops
 * further ticks (loop); then waits up to `timeout` for a callback that is
 * running right now to return (0: never waits, as Python's cancel; a
 * callback that cancels its own timer never waits for itself).  Returns 1
 * if this call stopped the timer (a one-shot will never fire; a loop will
 * start no more ticks), 0 if there was nothing left to stop (a one-shot
 * already fired, or it was cancelled before); in both cases the callback is
 * not running any more.  MT_ETIMEDOUT: the callback still runs at the
 * deadline (the timer is cancelled all the same: nothing new starts; wait
 * with mt_timer_join); MT_ECANCELLED likewise when the calling coroutine
 * was killed while it waited.  MT_EINVAL for NULL or a bad timeout.  For a
 * one-shot, exactly one of "cancel returned 1" and "the callback ran" is
 * true. */
int mt_timer_cancel(mt_timer_t *t, double timeout);
/* Waits until a one-shot timer has fired or been cancelled, a loop timer
 * cancelled (Python's Timer.join).  0, MT_ETIMEDOUT, MT_ENOTSTARTED,
 * MT_EDEADLK (called from a timer callback), MT_EINVAL, MT_ECANCELLED (the
 * calling coroutine was killed while it waited). */
int mt_timer_join(mt_timer_t *t, double timeout);
/* How many callbacks completed: 0/1 (one-shot), ticks run (loop). */
int mt_timer_is_fired(const mt_timer_t *t);
/* Cancels and frees; never blocks (docs/api.md, Life cycle).  A pending
 * timer never fires; if its callback is running right now (on the timer
 * thread, or this is called from it), that call finishes and the timer
 * thread frees the timer when it returns.  To wait for it first, call
 * mt_timer_cancel(t, timeout) or mt_timer_join(t, timeout) before. */
void mt_timer_free(mt_timer_t *t);

#pragma GCC visibility pop
#ifdef __cplusplus
}
#endif
#endif
