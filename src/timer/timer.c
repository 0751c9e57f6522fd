/* Timers: threading.Timer and the notes' repeating LoopTimer.
 *
 * Design.  Python gives every Timer its own thread (a thread start per
 * timer, ~100 us and a stack each); here ALL timers share ONE timer thread
 * that sleeps, through the wait layer, until the earliest due time of a
 * binary min-heap of pending timers.  Each timer remembers its heap index,
 * so cancel removes it in O(log n) and 100,000 pending timers cost one
 * pointer each in the heap plus the timer record.  Ties on the due time fire
 * in start order (a sequence number breaks them).
 *
 * The timer thread is started lazily by the first mt_timer_start, has all
 * signals blocked and is a daemon: it is not registered as an mt_thread_t
 * and never holds the process at exit.  It sleeps on the futex word
 * `tq.seq` with the heap top's due time as deadline; mt_timer_start bumps
 * `seq` and wakes it only when the new timer becomes the earliest one and
 * the thread sleeps past it.  Cancelling the top needs no wake: the thread
 * wakes at the old deadline, finds nothing due and sleeps again.
 *
 * Callbacks run on the timer thread WITHOUT tq.lock held (so they may start,
 * cancel or free timers, including their own).  A loop timer's ticks are
 * start + k*interval: after a tick, the next one is the first tick not
 * already in the past, so a tick missed because a callback overran is
 * skipped, never replayed, and no drift accumulates.
 *
 * Cancel vs firing: the state of a timer (NEW, PENDING, RUNNING, DONE) only
 * changes under tq.lock, so exactly one of "cancel removed it from the heap"
 * and "the timer thread popped it" happens.  A cancel that finds the
 * callback RUNNING waits (on the `running` word) until it returns or the
 * caller's deadline passes, unless it is called from that callback.
 *
 * mt_timer_free never waits (docs/api.md, Life cycle): a timer whose
 * callback runs is marked free_pending and the timer thread frees it as
 * soon as the callback returns (run_top), as it does for a timer freed from
 * its own callback.
 *
 * Every access to a timer by the timer thread happens under tq.lock (or is
 * the call of fn(arg) with copies taken under it), and mt_timer_free takes
 * tq.lock before freeing (or hands the freeing to the timer thread): a
 * timer is never touched after free.
 *
 * Re-arming a loop timer never allocates, so it cannot fail: every start
 * grows the heap to hold one more timer than it then has (room for the one
 * whose callback may be running: there is one timer thread), and a cancel
 * only shrinks n.  Only mt_timer_start can meet MT_ENOMEM, and it says so.
 *
 * fork: the prepare handler takes tq.lock (so the heap is whole: no sift
 * in progress, n matches the array) and the parent handler releases it.
 * The timer thread does not exist in the child: the child handler resets
 * the lock, marks every pending (or running) timer DONE (it never fires in
 * the child, join returns at once) and the thread is started again lazily
 * by the next mt_timer_start.
 *
 * Lock order: tq.lock is a leaf; no callback runs under it.
 */
#include "multitask/timer.h"
#include "core/core.h"
#include "platform/platform.h"
#include "signal/signal_internal.h"
#include "sync/mutex.h"
#include "thread/thread.h"
#include "wait/wait.h"

#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>

enum { TM_NEW, TM_PENDING, TM_RUNNING, TM_DONE };

struct mt_timer {
  void (*fn)(void *arg);
  void *arg;
  int64_t interval_ns;
  bool loop;
  bool started;      /* under tq.lock */
  bool cancelled;    /* under tq.lock */
  bool free_pending; /* freed from its own callback: the thread frees it */
  int state;         /* under tq.lock */
  int heap_idx;      /* -1 when not in the heap; under tq.lock */
  uint64_t order;    /* tie-breaker: start order */
  int64_t start_ns, due_ns;
  uint32_t running;  /* futex word: 1 while the callback executes */
  uint32_t run_waiters;  /* under tq.lock */
  uint32_t done;     /* futex word: 1 once fired (one-shot) or cancelled */
  uint32_t done_waiters;
  int fired;         /* callbacks completed */
};

static struct {
  mt__mutex_t lock;
  mt_timer_t **heap;
  size_t n, cap;
  uint64_t next_order;
  uint32_t seq;          /* futex word the timer thread sleeps on */
  bool sleeping;         /* the thread sleeps until sleep_until */
  int64_t sleep_until;
  bool thread_started;
  mt_timer_t *current;   /* whose callback runs now */
} tq;

static _Thread_local bool tl_timer_thread;
static pthread_once_t fork_once = PTHREAD_ONCE_INIT;

static void tq_lock(void) { mt__mutex_lock(&tq.lock, false, MT__NO_DEADLINE); }
static void tq_unlock(void) { mt__mutex_unlock(&tq.lock, false); }

/* ---- the heap (under tq.lock) ------------------------------------------ */

static bool earlier(const mt_timer_t *a, const mt_timer_t *b) {
  return a->due_ns < b->due_ns || (a->due_ns == b->due_ns && a->order < b->order);
}

static void heap_set(size_t i, mt_timer_t *t) {
  tq.heap[i] = t;
  t->heap_idx = (int)i;
}

static void sift_up(size_t i) {
  mt_timer_t *t = tq.heap[i];
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (!earlier(t, tq.heap[parent])) break;
    heap_set(i, tq.heap[parent]);
    i = parent;
  }
  heap_set(i, t);
}

static void sift_down(size_t i) {
  mt_timer_t *t = tq.heap[i];
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= tq.n) break;
    if (c + 1 < tq.n && earlier(tq.heap[c + 1], tq.heap[c])) c++;
    if (!earlier(tq.heap[c], t)) break;
    heap_set(i, tq.heap[c]);
    i = c;
  }
  heap_set(i, t);
}

/* Room for `need` timers in the heap.  0 or MT_ENOMEM. */
static int heap_reserve(size_t need) {
  if (need <= tq.cap) return 0;
  size_t cap = tq.cap ? tq.cap : 64;
  while (cap < need) cap *= 2;
  mt_timer_t **h = mt__realloc(tq.heap, cap * sizeof *h);
  if (!h) return MT_ENOMEM;
  tq.heap = h;
  tq.cap = cap;
  return 0;
}

/* The caller made room (heap_reserve). */
static void heap_push(mt_timer_t *t) {
  heap_set(tq.n++, t);
  sift_up(tq.n - 1);
}

static void heap_remove(mt_timer_t *t) {
  size_t i = (size_t)t->heap_idx;
  t->heap_idx = -1;
  mt_timer_t *last = tq.heap[--tq.n];
  if (i == tq.n) return;
  heap_set(i, last);
  sift_up(i);
  sift_down((size_t)last->heap_idx);
}

/* ---- state changes (under tq.lock) ------------------------------------ */

static void finish(mt_timer_t *t) {
  t->state = TM_DONE;
  __atomic_store_n(&t->done, 1, __ATOMIC_SEQ_CST);
  if (__atomic_load_n(&t->done_waiters, __ATOMIC_SEQ_CST))
    mt__wake_word(&t->done, INT32_MAX, false);
}

/* First tick start + k*interval that is not in the past. */
static int64_t next_tick(const mt_timer_t *t, int64_t now) {
  int64_t next = t->due_ns + t->interval_ns;
  if (next >= now) return next;
  int64_t k = (now - t->start_ns + t->interval_ns - 1) / t->interval_ns;
  return t->start_ns + k * t->interval_ns;
}

/* Pops the top (due), runs its callback without the lock, reschedules a
 * loop timer.  Called and returns with tq.lock held. */
static void run_top(void) {
  mt_timer_t *t = tq.heap[0];
  heap_remove(t);
  t->state = TM_RUNNING;
  __atomic_store_n(&t->running, 1, __ATOMIC_RELAXED);
  tq.current = t;
  void (*fn)(void *) = t->fn;
  void *arg = t->arg;
  tq_unlock();
  fn(arg);
  tq_lock();
  tq.current = NULL;
  __atomic_add_fetch(&t->fired, 1, __ATOMIC_RELEASE);
  __atomic_store_n(&t->running, 0, __ATOMIC_RELEASE);
  if (t->run_waiters) mt__wake_word(&t->running, INT32_MAX, false);
  if (t->free_pending) {
    mt__free(t);
    return;
  }
  if (t->loop && !t->cancelled) { /* fits: see "Re-arming" at the top */
    t->due_ns = next_tick(t, mt__now_ns());
    t->state = TM_PENDING;
    heap_push(t);
    return;
  }
  finish(t);
}

static void *timer_main(void *unused) {
  (void)unused;
  tl_timer_thread = true;
  mt__signal_library_thread(); /* callbacks run here */
  pthread_setname_np(pthread_self(), "mt-timer");
  mt__thread_adopt_internal("mt-timer");
  tq_lock();
  for (;;) {
    if (tq.n && tq.heap[0]->due_ns <= mt__now_ns()) {
      run_top();
      continue;
    }
    int64_t until = tq.n ? tq.heap[0]->due_ns : MT__NO_DEADLINE;
    uint32_t seq = __atomic_load_n(&tq.seq, __ATOMIC_RELAXED);
    tq.sleeping = true;
    tq.sleep_until = until;
    tq_unlock();
    mt__wait_word(&tq.seq, seq, false, until);
    tq_lock();
    tq.sleeping = false;
  }
  return NULL;
}

static void before_fork(void) { tq_lock(); }
static void after_fork_parent(void) { tq_unlock(); }

static void after_fork_child(void) {
  mt__mutex_init(&tq.lock);
  for (size_t i = 0; i < tq.n; i++) {
    mt_timer_t *t = tq.heap[i];
    t->heap_idx = -1;
    t->cancelled = true;
    t->done_waiters = 0;
    finish(t);
  }
  if (tq.current && tq.current->free_pending) { /* freed while running */
    mt__free(tq.current);
    tq.current = NULL;
  }
  if (tq.current) {
    mt_timer_t *t = tq.current;
    t->running = 0;
    t->run_waiters = 0;
    t->cancelled = true;
    t->done_waiters = 0;
    finish(t);
    tq.current = NULL;
  }
  tq.n = 0;
  tq.thread_started = false;
  tq.sleeping = false;
}

static void register_fork(void) {
  mt__on_fork(MT__FORK_TIMERS, before_fork, after_fork_parent, after_fork_child);
}

/* Under tq.lock.  The thread blocks every signal: handlers run elsewhere. */
static int ensure_thread(void) {
  if (tq.thread_started) return 0;
  pthread_t th;
  int r = mt__thread_create(&th, 0, true, true, timer_main, NULL);
  if (r < 0) return r;
  tq.thread_started = true;
  return 0;
}

/* ---- public API -------------------------------------------------------- */

static mt_timer_t *timer_new(double interval, void (*fn)(void *), void *arg, bool loop) {
  if (!fn || isnan(interval) || interval < 0 || (loop && interval <= 0))
    return mt__fail_null(MT_EINVAL);
  if (interval > 1e9) interval = 1e9; /* ~31 years, avoids overflow */
  mt_timer_t *t = mt__calloc(1, sizeof *t);
  if (!t) return mt__fail_null(MT_ENOMEM);
  t->fn = fn;
  t->arg = arg;
  t->loop = loop;
  t->interval_ns = (int64_t)(interval * 1e9);
  if (loop && t->interval_ns == 0) t->interval_ns = 1;
  t->heap_idx = -1;
  t->state = TM_NEW;
  return t;
}

mt_timer_t *mt_timer_new(double interval, void (*fn)(void *arg), void *arg) {
  return timer_new(interval, fn, arg, false);
}

mt_timer_t *mt_timer_new_loop(double interval, void (*fn)(void *arg), void *arg) {
  return timer_new(interval, fn, arg, true);
}

int mt_timer_start(mt_timer_t *t) {
  if (!t) return MT_EINVAL;
  pthread_once(&fork_once, register_fork);
  tq_lock();
  if (t->started) {
    tq_unlock();
    return MT_ESTARTED;
  }
  if (t->cancelled) { /* cancelled before start: never fires (Python) */
    t->started = true;
    tq_unlock();
    return 0;
  }
  int r = ensure_thread();
  int64_t now = mt__now_ns();
  t->start_ns = now;
  t->due_ns = t->loop ? now : now + t->interval_ns;
  t->order = tq.next_order++;
  if (r == 0) r = heap_reserve(tq.n + 2); /* itself + a re-arm in flight */
  bool wake = false;
  if (r == 0) {
    heap_push(t);
    t->started = true;
    t->state = TM_PENDING;
    if (tq.sleeping && t->heap_idx == 0 && t->due_ns < tq.sleep_until) {
      __atomic_add_fetch(&tq.seq, 1, __ATOMIC_RELAXED);
      tq.sleeping = false;
      wake = true;
    }
  }
  tq_unlock();
  if (wake) mt__wake_word(&tq.seq, 1, false);
  return r;
}

/* Under tq.lock.  Returns 1 if it stopped the timer (it will start no more
 * callbacks), 0 if there was nothing left to stop, MT_ETIMEDOUT if its
 * callback still runs at the deadline (it is cancelled all the same). */
static int cancel_locked(mt_timer_t *t, int64_t deadline) {
  int r = 0;
  switch (t->state) {
  case TM_NEW:
    t->cancelled = true;
    finish(t);
    return 1;
  case TM_PENDING:
    heap_remove(t);
    t->cancelled = true;
    finish(t);
    return 1;
  case TM_RUNNING:
    r = t->loop && !t->cancelled;
    t->cancelled = true;
    if (tl_timer_thread && tq.current == t) return r; /* from its callback */
    while (__atomic_load_n(&t->running, __ATOMIC_ACQUIRE)) {
      if (mt__deadline_passed(deadline)) return MT_ETIMEDOUT;
      t->run_waiters++;
      tq_unlock();
      int w = mt__word_park(&t->running, 1, false, deadline);
      tq_lock();
      t->run_waiters--;
      /* a killed coroutine: the timer stays cancelled, only the wait ends */
      if (w < 0 && w != MT_ETIMEDOUT) return w;
    }
    return r;
  default:
    return 0;
  }
}

int mt_timer_cancel(mt_timer_t *t, double timeout) {
  if (!t) return MT_EINVAL;
  if (isnan(timeout) || (timeout < 0 && timeout != MT_FOREVER)) return MT_EINVAL;
  tq_lock();
  /* The deadline only matters when the callback runs now (cancel_locked
   * waits for it): reading the clock costs ~50 ns here, a quarter of a
   * whole schedule+cancel, so a cancel of a pending timer never reads it
   * (the deadline still counts from the call: the lock is a leaf, held
   * briefly, and no callback runs under it). */
  int64_t deadline = MT__NO_DEADLINE;
  if (t->state == TM_RUNNING) mt__deadline(timeout, &deadline);
  int r = cancel_locked(t, deadline);
  tq_unlock();
  return r;
}

int mt_timer_join(mt_timer_t *t, double timeout) {
  if (!t) return MT_EINVAL;
  int64_t deadline;
  if (mt__deadline(timeout, &deadline) < 0) return MT_EINVAL;
  if (__atomic_load_n(&t->done, __ATOMIC_ACQUIRE)) return 0;
  tq_lock();
  bool started = t->started;
  tq_unlock();
  if (!started) return MT_ENOTSTARTED;
  if (tl_timer_thread) return MT_EDEADLK; /* the timer thread would wait for itself */
  for (;;) {
    __atomic_add_fetch(&t->done_waiters, 1, __ATOMIC_SEQ_CST);
    int r = 0;
    if (!__atomic_load_n(&t->done, __ATOMIC_SEQ_CST))
      r = mt__word_park(&t->done, 0, false, deadline);
    __atomic_sub_fetch(&t->done_waiters, 1, __ATOMIC_RELAXED);
    if (__atomic_load_n(&t->done, __ATOMIC_ACQUIRE)) {
      mt__wait_cancel_undelivered(r); /* done after all: the next wait gets it */
      return 0;
    }
    if (r < 0) return r; /* MT_ETIMEDOUT, MT_ECANCELLED, MT_EINTR */
  }
}

int mt_timer_is_fired(const mt_timer_t *t) {
  if (!t) return MT_EINVAL;
  return __atomic_load_n(&t->fired, __ATOMIC_ACQUIRE);
}

void mt_timer_free(mt_timer_t *t) {
  if (!t) return;
  tq_lock();
  if (t->state == TM_RUNNING) {
    /* Never waits for the callback (docs/api.md, Life cycle): the timer
     * thread frees the timer when the callback returns (run_top). */
    t->cancelled = true;
    t->free_pending = true;
    tq_unlock();
    return;
  }
  cancel_locked(t, MT__NO_DEADLINE); /* NEW/PENDING leave the heap; DONE: nothing */
  tq_unlock();
  mt__free(t);
}
