/* future_internal.h - the future's layout and the calls executors use.
 * See future.c for the design. */
#ifndef MT_FUTURE_INTERNAL_H
#define MT_FUTURE_INTERNAL_H

#include <stdint.h>

#include "multitask/future.h"
#include "sync/mutex.h"
#include "wait/wait.h"

/* state word: low 2 bits = mt_future_state_t, plus flags. */
#define MT__F_STATE 3u
#define MT__F_LISTENERS 4u /* callbacks or watchers are registered */
#define MT__F_SLEEPERS 8u  /* a waiter parks on the word: a completer wakes it */
#define MT__F_BUSY 16u     /* a completer claimed the future (transient) */
#define MT__F_QREF 32u     /* an executor's queue holds a reference (not in refs) */
#define MT__F_ORPHAN 64u   /* refs fell to 0 while QREF was held: QREF's holder frees */
#define MT__F_QCOUNTED 128u /* with QREF: a reference was taken from refs 0, and refs
                               counts the queue's reference too (future.c mt_future_ref) */
#define MT__F_HANDOFF 256u  /* with QCOUNTED: QREF's holder is done; the caller's free,
                               still in flight, drops the queue's counted reference */

typedef struct mt__cb {
  mt_future_cb fn;
  void *arg;
  struct mt__cb *next;
} mt__cb_t;

struct mt__watch;

/* Layout: the first 64 bytes hold everything a submit -> run -> result
 * round trip touches (state, refs, outcome, task, queue link), so that the
 * future crosses between the submitting and the running core as ONE cache
 * line each way; the slots are 64-byte aligned (alloc.c).  The rest
 * (callbacks, watchers, messages, cancel hooks) is touched only by the
 * thread that made the future unless somebody listens or cancels. */
struct mt_future {
  uint32_t state;      /* futex word, see the flags above */
  uint32_t refs;       /* atomic reference count */
  int err;             /* 0, or the error code once FINISHED with an error */
  bool task_err;       /* err came from the task (result -> MT_ETASKFAILED) */
  bool broken;         /* a holder of lock died (fork): cbs/watchers abandoned */
  bool retrieved;      /* result()/exception() reported the outcome (hub.c's report) */
  uint8_t done_cpu;    /* (CPU & 0xff) + 1 of the thread that completed it, 0 unknown:
                          a hint for the waiter's spin (future.c wait_done) */
  mt_value_t value;
  mt_task_fn fn;       /* executor's part */
  void *arg;
  struct mt_future *qnext; /* intrusive queue link (atomic) */
  /* ---- cold line ---- */
  uint32_t cancel_req; /* mt_future_cancel_running was called */
  char *message;       /* NULL or heap copy of the error message */
  mt__mutex_t lock;    /* guards cbs and watchers */
  mt__cb_t *cbs, *cbs_last;
  struct mt__watch *watchers;
  int (*cancel_hook)(mt_future_t *f, void *ctx);
  void *hook_ctx;
  void (*on_free)(mt_future_t *f); /* NULL, or called as the last reference goes (a
                                      coroutine task: src/coro/hub.c) */
};
_Static_assert(__builtin_offsetof(struct mt_future, done_cpu) < __builtin_offsetof(struct mt_future, value),
               "done_cpu takes the padding after the flags");
_Static_assert(__builtin_offsetof(struct mt_future, qnext) + sizeof(void *) <= 64,
               "the round-trip fields of a future fit one cache line");

/* sched_yield rounds after a spin, before parking (future.c). */
int mt__yield_rounds(void);

/* Slot allocation for futures (alloc.c). */
void *mt__future_alloc(void);
void mt__future_dealloc(void *p);

/* A task future: PENDING with fn/arg and `refs` references. */
mt_future_t *mt__future_task_new(mt_task_fn fn, void *arg, uint32_t refs);
/* A task future for an executor's queue: PENDING|QREF with refs = 1 (the
 * caller's).  The queue's reference is the QREF flag in the state word, so
 * that the completion that publishes the result also drops it, in the same
 * CAS (future.c "The queue's reference").  Whoever took it from the queue
 * ends with mt__future_run_queued or mt__future_release_qref, never
 * mt_future_free. */
mt_future_t *mt__future_queued_new(mt_task_fn fn, void *arg);
/* The second half of mt_future_free, after `refs` fell to 0 (tests call it
 * to stop a free half way). */
void mt__future_last_ref_gone(mt_future_t *f);
/* Drops the queue's reference (QREF); frees f if it was the last one. */
void mt__future_release_qref(mt_future_t *f);
/* mt__future_run for a queued future, and drops the queue's reference
 * (in the publishing CAS when nobody sleeps on or listens to f): f must not
 * be touched after it returns. */
void mt__future_run_queued(mt_future_t *f, void (*before_finish)(void *ctx), void *ctx);
/* mt__future_fail for the future this thread is running (a task that ended
 * its thread inside fn: the run holds the claim, BUSY); any other future
 * is failed as by mt__future_fail. */
void mt__future_fail_running(mt_future_t *f, int code, const char *message);
/* Runs the task if it was not cancelled (set running, call fn with the
 * thread's current task set, complete, notify).  before_finish (may be
 * NULL) runs after fn, before the outcome is written and published.
 * Does not drop a reference. */
void mt__future_run(mt_future_t *f, void (*before_finish)(void *ctx), void *ctx);
/* Completes a task future from its function's outcome, as mt__future_run
 * does (r < 0: failed, with the message of mt_task_fail); as_cancelled:
 * the task ended by a cancellation it was asked for, the future becomes
 * CANCELLED (a coroutine task: src/coro/hub.c).  f must be RUNNING. */
void mt__future_complete(mt_future_t *f, int r, mt_value_t v, bool as_cancelled);
/* Sets the thread's current task (mt_task_current) and returns the old
 * one: the hub switches it with the running coroutine. */
mt_future_t *mt__task_swap_current(mt_future_t *f);
/* Waits until f is done: 0, MT_ETIMEDOUT, MT_ECANCELLED (the waiter was
 * cancelled), MT_EINVAL.  Retrieves nothing (gevent's join). */
int mt__future_wait_done(mt_future_t *f, double timeout);
/* Completes f with an executor error if still pending/running. */
void mt__future_fail(mt_future_t *f, int code, const char *message);
/* Takes f->lock: 0 with it held, or MT_ENOTRECOVERABLE (not held) when a
 * holder died inside (another thread held it at fork): see future.c "fork". */
int mt__future_lock(mt_future_t *f);
/* Test hook: takes (hold) or releases f->lock as a caller would. */
void mt__future_hold_lock(mt_future_t *f, bool hold);
/* Test hook: the same for an as_completed iterator's collector lock. */
void mt__as_completed_hold_lock(mt_as_completed_t *it, bool hold);

/* A pool worker about to run a batch: the CPU its completions stamp in
 * done_cpu (-1: look it up per completion, the default). */
void mt__future_set_stamp_cpu(int cpu);
/* Test hook: the CPU on which this thread's last wait saw its future
 * completed by a thread on the same CPU (the waits that skip the spin,
 * future.c tl_near_cpu), or -1. */
int mt__future_near_cpu(void);

/* Hook used by mt_future_cancel_running for a running future. */
void mt__future_set_cancel_hook(mt_future_t *f, int (*hook)(mt_future_t *, void *),
                                void *ctx);

#endif
