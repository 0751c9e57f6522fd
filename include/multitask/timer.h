/* multitask/timer.h - threading.Timer and the notes' repeating LoopTimer.
 *
 * All timers share ONE timer thread with a binary heap (100,000 pending
 * timers are cheap).  Callbacks run on that thread and must be short: hand
 * long work to a thread (mt_thread_spawn) or an executor from the callback. */
#ifndef MULTITASK_TIMER_H
#define MULTITASK_TIMER_H

#include <stdbool.h>
#include "multitask/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mt_timer mt_timer_t;

/* Runs fn(arg) once, `interval` seconds after mt_timer_start. */
mt_timer_t *mt_timer_new(double interval, void (*fn)(void *arg), void *arg);
/* Repeating (the notes' LoopTimer): runs at start, then every interval
 * until cancelled; ticks are start + k*interval (no drift); a tick missed
 * because a callback overran is skipped, not replayed. */
mt_timer_t *mt_loop_timer_new(double interval, void (*fn)(void *arg), void *arg);
int mt_timer_start(mt_timer_t *t);
/* Stops it if it has not fired (one-shot) / stops further ticks (loop).
 * After cancel returns, the callback is not running and will not run again
 * (unless cancel is called from the callback itself). */
int mt_timer_cancel(mt_timer_t *t);
/* Waits until a one-shot timer has fired or been cancelled, a loop timer
 * cancelled (Python's Timer.join).  0 or MT_ETIMEDOUT. */
int mt_timer_join(mt_timer_t *t, double timeout);
/* 1 if the callback has run (one-shot) / how many ticks ran (loop). */
int mt_timer_fired(const mt_timer_t *t);
/* Cancels if needed and frees. */
void mt_timer_free(mt_timer_t *t);

#ifdef __cplusplus
}
#endif
#endif
