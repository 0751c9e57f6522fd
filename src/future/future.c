/* Futures: Python's concurrent.futures.Future on one 32-bit word.
 *
 * Why one word: the common life of a future is submit -> run -> complete ->
 * result, millions of times a second.  Each step is one CAS on `state`; no
 * lock is taken and no system call made unless somebody actually parks
 * (MT__F_SLEEPERS) or listens (MT__F_LISTENERS: callbacks, wait() and
 * as_completed() watchers).
 *
 * Parking: a result()/exception() caller that must block sets SLEEPERS
 * (a CAS that fails if the future became done) and parks on the state word
 * itself through the wait layer (mt__word_park: the word is its own event
 * count); a completer whose final CAS saw SLEEPERS wakes the word, with no
 * lock.  A thread sleeps on the word in the kernel; a coroutine parks a
 * node that the wake reaches (wait.c), so the completer needs no list.
 * Before parking a thread spins (adaptive budget) and yields; it skips the
 * spin while the last future it waited for was completed on its own CPU
 * (the completer stamps `done_cpu`: see tl_near_cpu).
 *
 * Transitions (all CAS on `state`, flags preserved):
 *   PENDING -> RUNNING            set_running_or_notify_cancel
 *   PENDING -> CANCELLED          cancel (then notify)
 *   PENDING|RUNNING -> +BUSY      a completer claims the future; only the
 *                                 claimer writes value/err/message
 *   +BUSY -> FINISHED             publishes them (release), then notify
 *   PENDING -> RUNNING|BUSY       an executor runs its task (run_task): the
 *                                 start and the claim in one CAS
 * "Done" means CANCELLED or FINISHED without BUSY; readers use acquire
 * loads, so a done state makes value/err/message visible.
 *
 * The queue's reference.  A pool's queue holds its future by the QREF flag
 * in the state word, not in `refs`: the worker's completing CAS (FINISHED)
 * also clears QREF when no SLEEPERS/LISTENERS ask it to touch the future
 * afterwards, so a one-at-a-time call costs the worker two RMWs on the
 * future's line (start+claim, publish+release) instead of four (start,
 * claim, publish, refs drop), each an RFO while the caller polls that line.
 * If `refs` reaches 0 while QREF is set (the caller let go of a pending
 * future), mt_future_free sets ORPHAN instead of freeing, and the CAS that
 * clears QREF sees it and frees: both are CAS on the one word, so exactly
 * one side frees (mt_future_free, mt__future_release_qref).
 * A reference may still be taken after that (refs 0 -> 1), by whoever holds
 * QREF and runs the task or its callbacks: the task on mt_task_current(),
 * a callback on its f.  Refs and state being two words, QREF's holder then
 * turns QREF into a counted reference (QCOUNTED, mt_future_ref); at its
 * release, if the caller's free already marked ORPHAN it drops that
 * reference, else it marks HANDOFF and the caller's free, which is bound
 * to see QREF, drops it (no side ever waits for the other).
 *
 * Notify: if the old word had SLEEPERS, wake the word (threads and parked
 * coroutines); if it had LISTENERS, lock `lock`, detach the callback list, tell every watcher (still
 * under `lock`, so a watcher that unregisters under the same lock never sees
 * a notification after it left), unlock, then run callbacks in order with no
 * lock held (they may submit work or wait on other futures).
 *
 * Exactly-once callbacks: an adder takes `lock` and sets LISTENERS with a
 * CAS that fails if the future became done; in that case it runs the
 * callback itself, else it appends.  A completer that saw LISTENERS takes
 * `lock` after its final CAS, so it sees every append made before.
 *
 * fork.  A child gets a copy of each future.  Its state word, value and
 * error are written lock-free and stay usable there.  If another thread held
 * f->lock at fork (it was adding a callback, completing, or hanging a
 * wait()/as_completed() watcher), the callback and watcher lists may be
 * torn: the first locker in the child gets MT_EOWNERDEAD (after the
 * dead-owner check, sync/mutex.h, at most ~10 ms), marks the future broken,
 * and from then on the lists are never read again: callbacks added before
 * the fork never run in the child and are not freed (they may dangle),
 * add_done_callback, wait() and as_completed() over it return
 * MT_ENOTRECOVERABLE, and completing it stores the outcome (result() sees
 * it) but returns MT_ENOTRECOVERABLE, as its callbacks did not run.
 *
 * Lock order: future.lock -> collector.lock (wait.c).  No other lock is
 * taken under future.lock; callbacks run with none held.
 */
#include "future/future_internal.h"

#include "platform/platform.h"
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "future/collector.h"
#include "wait/wait.h"

static _Thread_local mt_future_t *tl_current;

/* After the pause spin, a few sched_yield rounds before parking: on a
 * loaded machine the thread we wait for is often runnable on OUR core;
 * yielding lets it run without the ~55 us park/wake round trip. */
int mt__yield_rounds(void) { return mt__spin_rounds() > 0 ? 16 : 0; }
static _Thread_local char *tl_message;

static uint32_t load_state(const mt_future_t *f) {
  return __atomic_load_n(&f->state, __ATOMIC_ACQUIRE);
}

static bool is_done(uint32_t s) {
  return !(s & MT__F_BUSY) && (s & MT__F_STATE) >= MT_FUTURE_CANCELLED;
}

static char *dup_message(const char *m) {
  return m && *m ? mt__strdup(m) : NULL;
}

/* ---- life cycle ------------------------------------------------------ */

mt_future_t *mt__future_task_new(mt_task_fn fn, void *arg, uint32_t refs) {
  mt_future_t *f = mt__future_alloc();
  if (!f) return NULL;
  memset(f, 0, sizeof *f);
  f->refs = refs;
  f->fn = fn;
  f->arg = arg;
  mt__mutex_init(&f->lock);
  return f;
}

mt_future_t *mt__future_queued_new(mt_task_fn fn, void *arg) {
  mt_future_t *f = mt__future_task_new(fn, arg, 1);
  if (f) f->state = MT__F_QREF; /* not yet shared: a plain store */
  return f;
}

mt_future_t *mt_future_new(void) {
  mt_future_t *f = mt__future_task_new(NULL, NULL, 1);
  return f ? f : mt__fail_null(MT_ENOMEM);
}

/* A reference taken from 0 can only come from QREF's holder (the worker
 * running the task or its callbacks, or a shutdown cancelling it): every
 * other holder let go, and the future lives on only through QREF.  That
 * holder then counts the queue's reference in refs too (QCOUNTED): a
 * caller's free that took refs to 0 cannot decide alone any more. */
mt_future_t *mt_future_ref(mt_future_t *f) {
  if (f && __atomic_fetch_add(&f->refs, 1, __ATOMIC_RELAXED) == 0 &&
      !(__atomic_load_n(&f->state, __ATOMIC_RELAXED) & MT__F_QCOUNTED)) {
    __atomic_fetch_add(&f->refs, 1, __ATOMIC_RELAXED);
    __atomic_fetch_or(&f->state, MT__F_QCOUNTED, __ATOMIC_RELAXED); /* read by us alone */
  }
  return f;
}

static void destroy(mt_future_t *f) {
  if (f->on_free) f->on_free(f);
  if (f->value.free_fn) f->value.free_fn(f->value.ptr);
  mt__free(f->message);
  if (__atomic_load_n(&f->broken, __ATOMIC_RELAXED)) f->cbs = NULL; /* may be torn */
  for (mt__cb_t *c = f->cbs, *n; c; c = n) {
    n = c->next;
    mt__free(c);
  }
  mt__future_dealloc(f);
}

void mt_future_free(mt_future_t *f) {
  if (f && __atomic_sub_fetch(&f->refs, 1, __ATOMIC_ACQ_REL) == 0) mt__future_last_ref_gone(f);
}

/* The last counted reference is gone.  If a queue still holds QREF, mark
 * the future ORPHAN for the queue's holder to free; QREF is cleared and
 * ORPHAN set only by CAS on the one word, so exactly one of the two frees
 * it: the CAS that clears QREF sees ORPHAN (the holder frees), or this CAS
 * fails on the cleared QREF and the next load sees it gone (we free).  The
 * acquire load pairs with the release of the CAS that cleared QREF: the
 * holder's last writes happen before destroy.  QREF can still be set on a
 * FINISHED future: with SLEEPERS or LISTENERS the worker publishes, wakes,
 * and only then drops QREF (run_task), so a caller woken by that publish
 * may get here first and leave the free to the worker. */
void mt__future_last_ref_gone(mt_future_t *f) {
  uint32_t s = __atomic_load_n(&f->state, __ATOMIC_ACQUIRE);
  while (s & MT__F_QREF) {
    /* HANDOFF: a reference was taken from 0 after our decrement and QREF's
     * holder is done: QREF is ours to clear, the queue's counted
     * reference ours to drop (mt__future_release_qref). */
    uint32_t want = (s & MT__F_HANDOFF) ? s & ~(MT__F_QREF | MT__F_QCOUNTED | MT__F_HANDOFF)
                                        : s | MT__F_ORPHAN;
    if (__atomic_compare_exchange_n(&f->state, &s, want, true, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE)) {
      if (s & MT__F_HANDOFF) mt_future_free(f);
      return;
    }
  }
  destroy(f);
}

void mt__future_release_qref(mt_future_t *f) {
  uint32_t s = __atomic_load_n(&f->state, __ATOMIC_ACQUIRE);
  while (s & MT__F_QCOUNTED) {
    /* A reference was taken from 0 (mt_future_ref): the caller's free that
     * took refs to 0 is done if it set ORPHAN (we clear QREF and drop the
     * queue's counted reference), else still in flight and bound to see
     * QREF: HANDOFF tells it to do both, so we never wait for it. */
    uint32_t want = (s & MT__F_ORPHAN) ? s & ~(MT__F_QREF | MT__F_ORPHAN | MT__F_QCOUNTED)
                                       : s | MT__F_HANDOFF;
    if (__atomic_compare_exchange_n(&f->state, &s, want, true, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE)) {
      if (s & MT__F_ORPHAN) mt_future_free(f);
      return;
    }
  }
  uint32_t old = __atomic_load_n(&f->state, __ATOMIC_RELAXED);
  while (!__atomic_compare_exchange_n(&f->state, &old, old & ~(MT__F_QREF | MT__F_ORPHAN), true,
                                      __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
    ;
  if (old & MT__F_ORPHAN) destroy(f);
}

/* ---- queries --------------------------------------------------------- */

int mt_future_state(const mt_future_t *f) {
  if (!f) return MT_EINVAL;
  return (int)(load_state(f) & MT__F_STATE);
}

int mt_future_is_cancelled(const mt_future_t *f) {
  if (!f) return MT_EINVAL;
  return mt_future_state(f) == MT_FUTURE_CANCELLED;
}

int mt_future_is_running(const mt_future_t *f) {
  if (!f) return MT_EINVAL;
  return mt_future_state(f) == MT_FUTURE_RUNNING;
}

int mt_future_is_done(const mt_future_t *f) {
  if (!f) return MT_EINVAL;
  return is_done(load_state(f));
}

int mt_future_is_cancel_requested(const mt_future_t *f) {
  if (!f) return MT_EINVAL;
  return (int)__atomic_load_n(&f->cancel_req, __ATOMIC_ACQUIRE);
}

/* ---- notification ---------------------------------------------------- */

static void run_callbacks(mt_future_t *f, mt__cb_t *c) {
  while (c) {
    mt__cb_t *n = c->next;
    c->fn(f, c->arg);
    mt__free(c);
    c = n;
  }
}

int mt__future_lock(mt_future_t *f) {
  if (mt__mutex_lock(&f->lock, false, MT__NO_DEADLINE) == MT_EOWNERDEAD)
    __atomic_store_n(&f->broken, true, __ATOMIC_RELAXED);
  if (!__atomic_load_n(&f->broken, __ATOMIC_RELAXED)) return 0;
  mt__mutex_unlock(&f->lock, false);
  return MT_ENOTRECOVERABLE;
}

void mt__future_hold_lock(mt_future_t *f, bool hold) {
  if (hold) (void)mt__mutex_lock(&f->lock, false, MT__NO_DEADLINE);
  else mt__mutex_unlock(&f->lock, false);
}

/* Called by whoever made the future done; `old` is the word before.
 * 0, or MT_ENOTRECOVERABLE when the lists were abandoned (see "fork"). */
static int notify(mt_future_t *f, uint32_t old) {
  if (old & MT__F_SLEEPERS) mt__wake_word(&f->state, INT32_MAX, false);
  if (!(old & MT__F_LISTENERS)) return 0;
  int r = mt__future_lock(f);
  if (r < 0) return r;
  mt__cb_t *cbs = f->cbs;
  f->cbs = f->cbs_last = NULL;
  mt__watch_notify_all(f);
  mt__mutex_unlock(&f->lock, false);
  run_callbacks(f, cbs);
  return 0;
}

/* The flags a completion keeps: LISTENERS, and the queue's reference. */
#define KEEP (MT__F_LISTENERS | MT__F_QREF | MT__F_ORPHAN | MT__F_QCOUNTED | MT__F_HANDOFF)

/* Moves a not-done future to `to` (CANCELLED, or FINISHED from BUSY).
 * Returns the old word. */
static uint32_t publish(mt_future_t *f, uint32_t to) {
  uint32_t old = __atomic_load_n(&f->state, __ATOMIC_RELAXED);
  uint32_t want;
  do {
    want = to | (old & KEEP);
  } while (!__atomic_compare_exchange_n(&f->state, &old, want, true, __ATOMIC_ACQ_REL,
                                        __ATOMIC_RELAXED));
  return old;
}

/* Claims the right to complete: PENDING|RUNNING -> +BUSY.  false if done or
 * claimed by somebody else. */
static bool claim(mt_future_t *f) {
  uint32_t old = __atomic_load_n(&f->state, __ATOMIC_RELAXED);
  for (;;) {
    if ((old & MT__F_BUSY) || (old & MT__F_STATE) >= MT_FUTURE_CANCELLED) return false;
    if (__atomic_compare_exchange_n(&f->state, &old, old | MT__F_BUSY, true,
                                    __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
      return true;
  }
}

/* A CPU number as the one byte a future keeps of it (done_cpu): 1..255,
 * 0 when unknown.  Two CPUs 255 apart share a byte: a hint only. */
static uint8_t cpu_byte(int cpu) { return cpu < 0 ? 0 : (uint8_t)(cpu % 255 + 1); }

/* The completing thread's CPU as a pool worker read it for its batch (a
 * CPU lookup costs ~5 ns here, a trivial task ~75 ns: once per batch, not
 * per task), or -1: then finish() looks it up. */
static _Thread_local int tl_stamp_cpu = -1;

void mt__future_set_stamp_cpu(int cpu) { tl_stamp_cpu = cpu; }

/* Only the claimer (BUSY) gets here: done_cpu is published with the state. */
static int finish(mt_future_t *f) {
  f->done_cpu = cpu_byte(tl_stamp_cpu >= 0 ? tl_stamp_cpu : mt__cpu_now());
  return notify(f, publish(f, MT_FUTURE_FINISHED));
}

/* ---- cancelling ------------------------------------------------------ */

int mt_future_cancel(mt_future_t *f) {
  if (!f) return MT_EINVAL;
  uint32_t old = __atomic_load_n(&f->state, __ATOMIC_RELAXED);
  for (;;) {
    if ((old & MT__F_STATE) == MT_FUTURE_CANCELLED) return 1;
    if ((old & MT__F_BUSY) || (old & MT__F_STATE) != MT_FUTURE_PENDING) return 0;
    uint32_t want = MT_FUTURE_CANCELLED | (old & KEEP);
    if (__atomic_compare_exchange_n(&f->state, &old, want, true, __ATOMIC_ACQ_REL,
                                    __ATOMIC_RELAXED))
      break;
  }
  (void)notify(f, old); /* cancelled either way; 1 says only that */
  return 1;
}

void mt__future_set_cancel_hook(mt_future_t *f, int (*hook)(mt_future_t *, void *),
                                void *ctx) {
  f->hook_ctx = ctx;
  __atomic_store_n(&f->cancel_hook, hook, __ATOMIC_RELEASE);
}

int mt_future_set_cancel_hook(mt_future_t *f, int (*hook)(mt_future_t *, void *),
                              void *ctx) {
  if (!f || !hook) return MT_EINVAL;
  mt__future_set_cancel_hook(f, hook, ctx);
  return 0;
}

int mt_future_cancel_running(mt_future_t *f) {
  if (!f) return MT_EINVAL;
  int r = mt_future_cancel(f);
  if (r != 0) return r;
  if (is_done(load_state(f))) return 0;
  __atomic_store_n(&f->cancel_req, 1, __ATOMIC_RELEASE);
  int (*hook)(mt_future_t *, void *) = __atomic_load_n(&f->cancel_hook, __ATOMIC_ACQUIRE);
  if (hook) hook(f, f->hook_ctx);
  return 0;
}

/* ---- waiting --------------------------------------------------------- */

/* The spin budget of this thread's future waits adapts, as a condition's
 * does (cond.c adapt_spin): it is mt__spin_rounds() >> tl_spin_shift.  A
 * wait whose spin saw the future complete lowers the shift; one that had
 * to park raises it unless the completion came within the time the full
 * budget would have spun (timed, so a short spin does not talk itself
 * down).  Under foreign load the thread we wait for is often not running,
 * and a full spin (plus sched_yield, which hands the core to whoever else
 * is runnable) is then only lost time: the budget shrinks to nothing and
 * the wait parks at once; on a quiet machine spins pay and it stays full. */
#define SPIN_SHIFT_MAX 5
static _Thread_local uint32_t tl_spin_shift;

static void adapt_spin(uint32_t shift, bool paid) {
  if (paid ? shift > 0 : shift < SPIN_SHIFT_MAX) tl_spin_shift = paid ? shift - 1 : shift + 1;
}

/* The partner on our own CPU.  When the scheduler keeps the waiter and the
 * completer on one core (it does under foreign load, and they stay there:
 * neither ever sleeps), a spin cannot see the result before we give the
 * core away, so every wait spun its budget for nothing before the
 * sched_yield that lets the partner run (measured: ~11 us a call, ~3 of
 * them spinning).  The completer stamps its CPU in the future (done_cpu);
 * a wait that ended with the future completed on the CPU this thread is on
 * remembers that CPU here, and the next wait, still on it, skips the spin
 * (and leaves the adaptive budget alone: the spin was not tried).  As soon
 * as the two run apart, the stamp differs and spinning resumes.  -1: none. */
static _Thread_local int tl_near_cpu = -1;

int mt__future_near_cpu(void) { return tl_near_cpu; }

static void note_partner(const mt_future_t *f) {
  int cpu = mt__cpu_now();
  tl_near_cpu = cpu >= 0 && f->done_cpu == cpu_byte(cpu) ? cpu : -1;
}

/* Waits until done: spin briefly, then park on the word with SLEEPERS set.
 * 0, MT_ETIMEDOUT, or MT_ECANCELLED / MT_EINTR from the wait layer. */
static int wait_done(mt_future_t *f, int64_t deadline) {
  uint32_t s = load_state(f);
  if (is_done(s)) return 0;
  uint32_t shift = tl_spin_shift;
  int64_t t0 = 0, parked = 0;
  bool spun = false, thread = false;
  if (!mt__deadline_passed(deadline) && mt__may_spin() && mt__spin_rounds() > 0) {
    thread = true;
    /* the partner on our CPU (tl_near_cpu): yield at once, no spin */
    spun = tl_near_cpu < 0 || mt__cpu_now() != tl_near_cpu;
    int rounds = spun ? mt__spin_rounds() >> shift : 0;
    if (spun && shift) t0 = mt__now_ns(); /* a short spin is timed */
    for (int i = 0; i < rounds && !is_done(s); i += 64) {
      mt__spin_until_changed(&f->state, s, 64);
      s = load_state(f);
    }
    if (is_done(s)) {
      adapt_spin(shift, true);
      note_partner(f);
      return 0;
    }
    if (t0) parked = mt__now_ns();
    /* The yields are not the spin: when one is what lets the future
     * complete, the partner runs on OUR core, where spinning cannot pay. */
    for (int i = 0; i < mt__yield_rounds() && !is_done(s); i++) {
      mt__yield();
      s = load_state(f);
    }
    if (is_done(s)) {
      if (spun) adapt_spin(shift, false);
      note_partner(f);
      return 0;
    }
  }
  while (!is_done(s)) {
    if (!(s & MT__F_SLEEPERS)) {
      if (!__atomic_compare_exchange_n(&f->state, &s, s | MT__F_SLEEPERS, true,
                                       __ATOMIC_ACQUIRE, __ATOMIC_ACQUIRE))
        continue;
      s |= MT__F_SLEEPERS;
    }
    int r = mt__word_park(&f->state, s, false, deadline);
    s = load_state(f);
    if (r < 0 && !is_done(s)) return r; /* nothing to unwind: SLEEPERS only costs a wake */
    mt__wait_cancel_undelivered(r);      /* done after all: the next wait gets it */
  }
  /* would the full budget have seen it?  (the spin lasted parked - t0) */
  if (spun) adapt_spin(shift, t0 && mt__now_ns() - t0 < (parked - t0) << shift);
  if (thread) note_partner(f);
  return 0;
}

static int wait_for(mt_future_t *f, double timeout) {
  if (!f) return MT_EINVAL;
  if (is_done(load_state(f))) return 0;
  int64_t deadline;
  int r = mt__deadline(timeout, &deadline);
  if (r < 0) return r;
  return wait_done(f, deadline);
}

/* The outcome of a done future as result() reports it. */
static int outcome(const mt_future_t *f) {
  if ((load_state(f) & MT__F_STATE) == MT_FUTURE_CANCELLED) return MT_ECANCELLED;
  if (f->err) return f->task_err ? MT_ETASKFAILED : f->err;
  return 0;
}

int mt__future_wait_done(mt_future_t *f, double timeout) { return wait_for(f, timeout); }

/* A done future's outcome was handed to a caller (never-retrieved report). */
static void mark_retrieved(mt_future_t *f) {
  if (!__atomic_load_n(&f->retrieved, __ATOMIC_RELAXED))
    __atomic_store_n(&f->retrieved, true, __ATOMIC_RELAXED);
}

int mt_future_result(mt_future_t *f, double timeout, mt_value_t *out) {
  int r = wait_for(f, timeout);
  if (r < 0) return r;
  mark_retrieved(f);
  r = outcome(f);
  if (r == 0 && out) *out = (mt_value_t){f->value.ptr, f->value.len, NULL};
  return r;
}

int mt_future_take_result(mt_future_t *f, double timeout, mt_value_t *out) {
  if (!out) return MT_EINVAL;
  int r = wait_for(f, timeout);
  if (r < 0) return r;
  mark_retrieved(f);
  r = outcome(f);
  if (r != 0) return r;
  /* The value is moved; a concurrent taker would race, as on any object
   * two threads consume at once: take it from one place. */
  *out = f->value;
  f->value = (mt_value_t){0};
  return 0;
}

int mt_future_exception(mt_future_t *f, double timeout, mt_task_error_t *out) {
  int r = wait_for(f, timeout);
  if (r < 0) return r;
  mark_retrieved(f);
  if ((load_state(f) & MT__F_STATE) == MT_FUTURE_CANCELLED) return MT_ECANCELLED;
  if (out) *out = (mt_task_error_t){f->err, f->message ? f->message : ""};
  return 0;
}

/* ---- completion by hand ---------------------------------------------- */

int mt_future_set_running_or_notify_cancel(mt_future_t *f) {
  if (!f) return MT_EINVAL;
  uint32_t old = __atomic_load_n(&f->state, __ATOMIC_RELAXED);
  for (;;) {
    if ((old & MT__F_STATE) == MT_FUTURE_CANCELLED) return 0;
    if ((old & MT__F_BUSY) || (old & MT__F_STATE) != MT_FUTURE_PENDING) return MT_EBUSY;
    if (__atomic_compare_exchange_n(&f->state, &old, old | MT_FUTURE_RUNNING, true,
                                    __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
      return 1;
  }
}

int mt_future_set_result(mt_future_t *f, mt_value_t value) {
  if (!f) return MT_EINVAL;
  if (!claim(f)) return MT_EBUSY;
  f->value = value;
  return finish(f);
}

static int set_error(mt_future_t *f, int code, const char *message, bool by_task) {
  if (!f || code >= 0) return MT_EINVAL;
  if (!claim(f)) return MT_EBUSY;
  f->err = code;
  f->task_err = by_task;
  f->message = dup_message(message);
  return finish(f);
}

int mt_future_set_exception(mt_future_t *f, int code, const char *message) {
  return set_error(f, code, message, true);
}

int mt_future_set_error(mt_future_t *f, int code, const char *message) {
  return set_error(f, code, message, false);
}

void mt__future_fail(mt_future_t *f, int code, const char *message) {
  set_error(f, code, message, false);
}

void mt__future_fail_running(mt_future_t *f, int code, const char *message) {
  uint32_t s = __atomic_load_n(&f->state, __ATOMIC_ACQUIRE);
  if (!(s & MT__F_BUSY) || (s & MT__F_STATE) != MT_FUTURE_RUNNING) {
    mt__future_fail(f, code, message);
    return;
  }
  /* claimed by this thread's run (run_task): only we write the outcome */
  f->err = code;
  f->task_err = false;
  f->message = dup_message(message);
  (void)finish(f);
}

/* ---- callbacks ------------------------------------------------------- */

/* Under f->lock: sets LISTENERS unless done.  true = registered. */
bool mt__future_listen_locked(mt_future_t *f) {
  uint32_t s = __atomic_load_n(&f->state, __ATOMIC_ACQUIRE);
  for (;;) {
    if (is_done(s)) return false;
    if (s & MT__F_LISTENERS) return true;
    if (__atomic_compare_exchange_n(&f->state, &s, s | MT__F_LISTENERS, true,
                                    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
      return true;
  }
}

int mt_future_add_done_callback(mt_future_t *f, mt_future_cb fn, void *arg) {
  if (!f || !fn) return MT_EINVAL;
  if (is_done(load_state(f))) {
    fn(f, arg);
    return 0;
  }
  mt__cb_t *c = mt__malloc(sizeof *c);
  if (!c) return MT_ENOMEM;
  *c = (mt__cb_t){fn, arg, NULL};
  int r = mt__future_lock(f);
  if (r < 0) {
    mt__free(c);
    return r;
  }
  bool listening = mt__future_listen_locked(f);
  if (listening) {
    if (f->cbs_last)
      f->cbs_last->next = c;
    else
      f->cbs = c;
    f->cbs_last = c;
  }
  mt__mutex_unlock(&f->lock, false);
  if (!listening) {
    mt__free(c);
    fn(f, arg);
  }
  return 0;
}

/* ---- inside a task --------------------------------------------------- */

int mt_task_fail(int code, const char *fmt, ...) {
  mt__free(tl_message);
  tl_message = NULL;
  if (fmt) {
    va_list ap;
    va_start(ap, fmt);
    if (!mt__alloc_ok() || vasprintf(&tl_message, fmt, ap) < 0) tl_message = NULL;
    va_end(ap);
  }
  return code;
}

int mt_task_is_cancelled(void) {
  mt_future_t *f = tl_current;
  return f ? (int)__atomic_load_n(&f->cancel_req, __ATOMIC_ACQUIRE) : 0;
}

mt_future_t *mt_task_current(void) { return tl_current; }

mt_future_t *mt__task_swap_current(mt_future_t *f) {
  mt_future_t *old = tl_current;
  tl_current = f;
  return old;
}

void mt__future_complete(mt_future_t *f, int r, mt_value_t v, bool as_cancelled) {
  if (!claim(f)) { /* completed by hand meanwhile (misuse): drop ours */
    if (v.free_fn) v.free_fn(v.ptr);
    return;
  }
  if (r < 0 || as_cancelled) {
    if (v.free_fn) v.free_fn(v.ptr);
    if (as_cancelled) {
      mt__free(tl_message);
      tl_message = NULL;
      (void)notify(f, publish(f, MT_FUTURE_CANCELLED));
      return;
    }
    f->err = r;
    f->task_err = true;
    f->message = tl_message; /* moved (NULL when none) */
    tl_message = NULL;
  } else {
    f->value = v;
    mt__free(tl_message);
    tl_message = NULL;
  }
  (void)finish(f);
}

/* Runs a task future.  One CAS starts AND claims it (PENDING ->
 * RUNNING|BUSY): the running task is the only one to complete it, so a
 * hand completion meanwhile gets MT_EBUSY (Python lets it win, and the
 * worker's own set_result then fails).  With qref, the queue's reference
 * goes in the publishing CAS when nobody sleeps on or listens to the
 * future (no notify then touches it afterwards); else after the notify.
 * Each CAS here was a separate RMW on the future's line while its caller
 * polls that line (issue 13: start, claim, publish, reference drop). */
static void run_task(mt_future_t *f, void (*before_finish)(void *ctx), void *ctx, bool qref) {
  /* CAS first on the usual state (a guess; a failed CAS loads the real
   * one): the line comes over once, for writing, not read and then
   * upgraded while the caller polls it. */
  uint32_t old = qref ? MT__F_QREF : (uint32_t)MT_FUTURE_PENDING;
  for (;;) {
    if ((old & MT__F_BUSY) || (old & MT__F_STATE) != MT_FUTURE_PENDING) { /* cancelled, or
                                                                   completed by hand */
      if (qref) mt__future_release_qref(f);
      return;
    }
    if (__atomic_compare_exchange_n(&f->state, &old,
                                    old | MT_FUTURE_RUNNING | MT__F_BUSY, true,
                                    __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
      break;
  }
  mt_value_t v = {0};
  mt_future_t *saved = tl_current;
  tl_current = f;
  int r = f->fn(f->arg, &v);
  tl_current = saved;
  /* before_finish first (it touches the pool's lines), so that the writes
   * into f (outcome, done_cpu, state) follow each other: the caller polls
   * f's line, and a poll between two of them costs another transfer. */
  if (before_finish) before_finish(ctx);
  if (r < 0) {
    f->err = r;
    f->task_err = true;
    f->message = tl_message; /* moved (NULL when none) */
    tl_message = NULL;
    if (v.free_fn) v.free_fn(v.ptr);
  } else {
    f->value = v;
    if (tl_message) {
      mt__free(tl_message);
      tl_message = NULL;
    }
  }
  if (!qref) {
    (void)finish(f); /* a broken future (fork) still holds the outcome */
    return;
  }
  f->done_cpu = cpu_byte(tl_stamp_cpu >= 0 ? tl_stamp_cpu : mt__cpu_now());
  uint32_t want;
  old = __atomic_load_n(&f->state, __ATOMIC_RELAXED);
  do { /* QCOUNTED: the task took a reference from 0, release_qref drops it */
    want = (old & (MT__F_SLEEPERS | MT__F_LISTENERS | MT__F_QCOUNTED))
               ? MT_FUTURE_FINISHED | (old & KEEP)
               : MT_FUTURE_FINISHED;
  } while (!__atomic_compare_exchange_n(&f->state, &old, want, true, __ATOMIC_ACQ_REL,
                                        __ATOMIC_RELAXED));
  if (want & MT__F_QREF) { /* notify still uses f: drop the reference after it */
    (void)notify(f, old);
    mt__future_release_qref(f);
  } else if (old & MT__F_ORPHAN) { /* every other reference went before: ours was the last */
    destroy(f);
  }
  /* else: f may be freed already (by its caller, who saw FINISHED) */
}

void mt__future_run(mt_future_t *f, void (*before_finish)(void *ctx), void *ctx) {
  run_task(f, before_finish, ctx, false);
}

void mt__future_run_queued(mt_future_t *f, void (*before_finish)(void *ctx), void *ctx) {
  run_task(f, before_finish, ctx, true);
}
