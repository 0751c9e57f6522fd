/* ThreadPoolExecutor: Python's concurrent.futures.ThreadPoolExecutor.
 *
 * Why this shape: a trivial task must cost ~100 ns end to end, so neither
 * submit nor completion may enter the kernel while workers are busy, and a
 * worker that just went idle must catch the next task without a cross-core
 * wake (~55 us here).
 *
 * Queue: the futures themselves are the nodes of an intrusive Vyukov MPSC
 * queue.  Producers (submit) append with one XCHG on `tail`; consumers
 * (workers) serialise on `qlock` and take a small batch at a time (about
 * backlog / workers, at most BATCH), so the lock is taken once per batch.
 * A consumer taking the last node swings `tail` back to the stub by CAS
 * (q_pop) rather than pushing the stub behind it, so it never writes into
 * a popped future's line.  The queue's reference to a future is the QREF
 * flag of its state word (future.c), dropped by the CAS that publishes
 * the result.
 * `npushed` / `npopped` count the backlog for the idle checks.
 * Beside the queue, the idle spinner's mailbox: a submit that finds the
 * queue empty and a spinner waiting hands the future straight to it (one
 * CAS, one XCHG; "the mailbox" below).
 *
 * Parking: a worker with nothing to do spins (bounded, mt__spin_rounds,
 * scaled down while spins do not pay: adapt_spin; none while the last
 * submitter runs on its CPU: `sub_cpu`, spin_for_news, which then moves
 * the worker to a free CPU if there is one: near_move) on the backlog,
 * then yields a few times, then registers in `nsleepers` and waits for a token in
 * `wakeups` (a counting semaphore on one futex word).  submit wakes only
 * when it can CLAIM a registered sleeper (CAS nsleepers k -> k-1, then
 * token + futex wake): one system call per sleeping worker, none while
 * workers are awake, and none while one spins (as a rule one does: it takes
 * the task).  A worker that got a batch and still sees backlog with nobody
 * spinning claims the next sleeper (wake-ups propagate instead of one per
 * task).  A registered
 * worker that finds work before sleeping unregisters with the same CAS, or,
 * if it was claimed meanwhile, consumes its token.
 * Dekker pairs (all seq_cst): submit pushes, bumps npushed, then reads
 * nsleepers; a worker bumps nsleepers, then reads npushed.
 *
 * Workers start lazily as Python's: submit consumes an idle token if one is
 * available (a worker adds one when its queue ran dry, just before it
 * publishes the result of its last task, so whoever sees that result
 * reuses it; it withdraws the token when it gets work again), else starts
 * a worker while below max_workers.  A worker that never ran a task adds
 * no token (it is still starting up, not idle).
 *
 * Lock order: ctl -> qlock -> future.lock.  submit holds ctl while it
 * checks closed/broken and pushes, so after shutdown sets `closed` under
 * ctl no push can follow: the queue only drains.  Callbacks never run under
 * a pool lock: every path that completes futures it took from the queue
 * or a dead worker's batch (drain, worker_died) collects them under the
 * lock and completes them after releasing it.
 *
 * Lifetime: `refs` = 1 for the handle + 1 per live worker, so a pool shut
 * down without wait is freed by its last worker: that is how
 * mt_executor_free returns at once while the queued work still runs.
 * Workers are detached threads; shutdown(wait, timeout) waits on the
 * `nthreads` word.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "executor/pool_internal.h"
#include "future/future_internal.h"
#include "platform/platform.h"
#include "wait/wait.h"

#define BATCH 32

typedef struct pool {
  /* The round-trip line: submit's XCHG + add, the idle token it takes, and
   * the parking words it reads all live here, as does what a worker going
   * idle writes (idle token, nspinning), so that one task handed to an idle
   * worker moves this line once each way instead of one line per word. */
  _Alignas(64) union {
    /* The queue's stub node.  Only its qnext is ever used (q_pop never
     * returns the stub), which lies in this same line (offsetof(qnext) <
     * 64, future_internal.h): the fields below overlay the stub's unused
     * head, so the push that links behind the stub and the pop that
     * unlinks it touch no extra line. */
    mt_future_t stub;
    struct {
      mt_future_t *tail;    /* atomic: last node (XCHG) */
      uint64_t npushed;     /* atomic */
      uint32_t idle_tokens; /* RMW at idle transitions */
      uint32_t nsleepers;   /* registered, unclaimed sleepers */
      uint32_t wakeups;     /* futex word: tokens for claimed ones */
      uint32_t nspinning;   /* 1 while a worker spins for work */
      int32_t sub_cpu;      /* the last submitter's CPU, -1 unknown (a hint) */
      mt_future_t *mailbox; /* atomic: the spinner's hand-off slot (below) */
    };
  };
  /* submit's lock and what only it (and rare spawns) touch */
  _Alignas(64) mt__mutex_t ctl;   /* guards spawning and the flag writes */
  int next_index;
  uint64_t nhandoffs;             /* tasks handed through the mailbox (under ctl; tests) */
  uint32_t fork_gen;              /* mt__fork_generation() at creation */
  char prefix[48];
  int (*init)(void *arg);
  void *initarg;
  /* read-mostly: written on shutdown, resize, spawn/exit only */
  _Alignas(64) uint32_t closed, broken, cancel_pending; /* atomic flags */
  int max_workers;                /* atomic */
  uint32_t nthreads;              /* futex word: live workers */
  uint32_t refs;
  /* consumer side */
  _Alignas(64) mt__mutex_t qlock;
  mt_future_t *head;              /* under qlock */
  uint64_t npopped;               /* written under qlock, read atomically */
} pool_t;
_Static_assert(__builtin_offsetof(pool_t, mailbox) + sizeof(void *) <=
                   __builtin_offsetof(pool_t, stub.qnext),
               "the round-trip words overlay only the stub's unused head");

typedef struct worker {
  pool_t *p;
  bool idle;  /* this idle episode already added a token */
  int left;   /* tasks left in the local batch */
  mt_future_t **batch; /* the local batch and the index being run */
  int k, i;
} worker_t;

static _Thread_local pool_t *tl_pool; /* the pool the calling worker serves */
static int pool_counter;

static const mt_executor_ops_t pool_ops;

/* ---- the queue --------------------------------------------------------- */

/* Returns the node f was linked behind (the stub: the queue was empty). */
static mt_future_t *q_push(pool_t *p, mt_future_t *f) {
  __atomic_store_n(&f->qnext, NULL, __ATOMIC_RELAXED);
  mt_future_t *prev = __atomic_exchange_n(&p->tail, f, __ATOMIC_ACQ_REL);
  __atomic_store_n(&prev->qnext, f, __ATOMIC_RELEASE);
  return prev;
}

/* Under qlock.  NULL when empty or a push is half done. */
static mt_future_t *q_pop(pool_t *p) {
  mt_future_t *head = p->head;
  mt_future_t *next = __atomic_load_n(&head->qnext, __ATOMIC_ACQUIRE);
  if (head == &p->stub) {
    if (!next) return NULL;
    p->head = head = next;
    next = __atomic_load_n(&next->qnext, __ATOMIC_ACQUIRE);
  }
  if (next) {
    p->head = next;
    return head;
  }
  /* head is the last node: swing tail back to the stub with one CAS
   * instead of pushing the stub behind head (Vyukov's way), which wrote
   * head->qnext: a store into the future's line while its caller polls it.
   * The stub's link is cleared first; the CAS (release) publishes that to
   * the next producer, whose XCHG then returns the stub.  A failed CAS
   * means a push behind head is half done: NULL, as above. */
  __atomic_store_n(&p->stub.qnext, NULL, __ATOMIC_RELAXED);
  mt_future_t *expect = head;
  if (!__atomic_compare_exchange_n(&p->tail, &expect, &p->stub, false, __ATOMIC_ACQ_REL,
                                   __ATOMIC_ACQUIRE))
    return NULL;
  p->head = &p->stub;
  return head;
}

static int64_t backlog(pool_t *p) {
  return (int64_t)(__atomic_load_n(&p->npushed, __ATOMIC_SEQ_CST) -
                   __atomic_load_n(&p->npopped, __ATOMIC_SEQ_CST));
}

static uint32_t load32(const uint32_t *w) { return __atomic_load_n(w, __ATOMIC_SEQ_CST); }

/* Takes up to `max` futures; batch = backlog / workers, at least 1. */
static int pop_batch(pool_t *p, mt_future_t **out, int max) {
  int64_t avail = backlog(p);
  if (avail <= 0) return 0;
  int64_t want = avail / (int64_t)(load32(&p->nthreads) ? load32(&p->nthreads) : 1);
  if (want < 1) want = 1;
  if (want > max) want = max;
  if (mt__mutex_lock(&p->qlock, false, MT__NO_DEADLINE) < 0) return 0;
  int k = 0;
  while (k < want) {
    mt_future_t *f = q_pop(p);
    if (!f) break;
    out[k++] = f;
  }
  /* A release store, not an XCHG: npopped is in no Dekker pair (those are
   * npushed/nsleepers, above); a reader that sees it late sees MORE
   * backlog than there is (a spurious pop attempt under qlock, or a worker
   * not parking yet), never less, and the unlock publishes it anyway. */
  __atomic_store_n(&p->npopped, p->npopped + (uint64_t)k, __ATOMIC_RELEASE);
  mt__mutex_unlock(&p->qlock, false);
  return k;
}

/* Pops every queued future (under qlock) into a list linked by qnext, to
 * be completed by fail_list outside every pool lock. */
static mt_future_t *pop_all(pool_t *p) {
  mt_future_t *list = NULL, **last = &list;
  mt__mutex_lock(&p->qlock, false, MT__NO_DEADLINE);
  uint64_t k = 0;
  for (mt_future_t *f; (f = q_pop(p)) != NULL; k++) {
    *last = f;
    last = &f->qnext;
  }
  *last = NULL;
  __atomic_store_n(&p->npopped, p->npopped + k, __ATOMIC_SEQ_CST);
  mt__mutex_unlock(&p->qlock, false);
  return list;
}

/* Completes a list from pop_all: never under a pool lock (callbacks run). */
static void fail_list(mt_future_t *list, int code, const char *why) {
  for (mt_future_t *f = list, *n; f; f = n) {
    n = f->qnext;
    if (code == MT_ECANCELLED)
      mt_future_cancel(f);
    else
      mt__future_fail(f, code, why);
    mt__future_release_qref(f);
  }
}

/* ---- the mailbox --------------------------------------------------------
 *
 * A direct hand-off to the idle spinner (issue 13, one call at a time):
 * submit, finding the queue empty and the spinner's mailbox open, CASes
 * the future into the mailbox instead of pushing it (no queue link, no
 * push and pop counts, no qlock); the spinner sees it in the line it polls
 * anyway and takes it with the XCHG that closes the mailbox.
 *
 * The word: NULL closed, the stub's address open (never a task), else the
 * task handed in.  Only a spinner opens it (CAS NULL -> open; a second
 * spinner at the same time fails and does not own it), and the worker that
 * opened it closes it (XCHG -> NULL) before it leaves its spin, whichever
 * way it leaves, and runs what the XCHG returned.  A task goes in only by a
 * CAS from open, so it is always taken, by the owner's close if by nobody
 * before: the CAS and the XCHG are ordered on the one word, and no task can
 * stay in the mailbox of a worker that parks or leaves (no Dekker pair is
 * involved).
 * Another idle worker may take a handed task first (mailbox_take: a CAS
 * task -> open, which leaves the mailbox open for the owner to close), so
 * an owner that was preempted with a task in its mailbox does not hold it
 * up while a second worker goes idle and parks (it takes it instead).
 *
 * Order: submit hands off only when the queue is empty (backlog 0, read
 * under ctl, which orders every push), and the owner, spinning, holds no
 * batch and takes the mailbox before it pops again: with one worker, tasks
 * start in submission order as before.  (With more workers start order was
 * never FIFO: batches run in parallel.)
 *
 * Accounting is the queue's: the handed task holds the queue's reference
 * (QREF), submit took an idle token (or started a worker) first, and the
 * worker that took it (the owner, or another idle one) runs it as a batch of one (cancel/broken checks, done_cpu stamp,
 * worker_died).  After `closed` or `broken` (set under ctl) no hand-off can
 * follow; drain takes a task still in the mailbox back (mailbox_take) and
 * cancels or fails it with the queued ones. */
static mt_future_t *mailbox_open_mark(pool_t *p) { return &p->stub; }

/* A spinner opens the mailbox: true if it owns it.  Relaxed: opening
 * publishes nothing (a task's fields are published by submit's CAS). */
static bool mailbox_open(pool_t *p) {
  mt_future_t *expect = NULL;
  return __atomic_compare_exchange_n(&p->mailbox, &expect, mailbox_open_mark(p), false,
                                     __ATOMIC_RELAXED, __ATOMIC_RELAXED);
}

/* The owner polls: true when a task was handed in (or another worker or
 * drain took one: the close then finds the mailbox open, and the spin ends
 * a little early).  A task seen is fetched for writing at once (its start
 * CAS is next), so that transfer overlaps the close's upgrade of this line
 * instead of following it.  A prefetch never faults: the task may be
 * taken and freed meanwhile, and it is not read here. */
static bool mailbox_news(pool_t *p, bool owner) {
  if (!owner) return false;
  mt_future_t *x = __atomic_load_n(&p->mailbox, __ATOMIC_RELAXED);
  if (x == mailbox_open_mark(p)) return false;
  __builtin_prefetch(x, 1);
  return true;
}

/* The owner closes the mailbox; returns the task handed in, or NULL.
 * Acquire: pairs with submit's release CAS, so the task's fields (fn, arg,
 * state) written before it are visible to the run. */
static mt_future_t *mailbox_close(pool_t *p, bool owner) {
  if (!owner) return NULL;
  mt_future_t *x = __atomic_exchange_n(&p->mailbox, NULL, __ATOMIC_ACQUIRE);
  return x == mailbox_open_mark(p) ? NULL : x;
}

/* Under ctl, the queue empty: hands f to the spinner if its mailbox is
 * open.  Release on success: publishes f's fields to the owner's close
 * (or drain's take-back).  The relaxed load first avoids a locked
 * instruction (and a line transfer) when no mailbox is open. */
static bool mailbox_hand(pool_t *p, mt_future_t *f) {
  mt_future_t *open = mailbox_open_mark(p);
  if (__atomic_load_n(&p->mailbox, __ATOMIC_RELAXED) != open) return false;
  return __atomic_compare_exchange_n(&p->mailbox, &open, f, false, __ATOMIC_RELEASE,
                                     __ATOMIC_RELAXED);
}

/* Takes a task the owner has not taken yet (an idle worker that is not the
 * owner, or drain after closed/broken), and leaves the mailbox open for the
 * owner to close.  Whatever races it (the owner's XCHG, other takers, new
 * hand-offs), every change of the word is an RMW on it, and a word holding
 * neither NULL nor open holds a handed task: the CAS succeeds only if the
 * mailbox holds x at that moment, so x is then a handed task and ours alone
 * (if x was taken and its address came back as a later task, that later
 * task is what we take: an ABA that does no harm).  x is not touched
 * unless the CAS took it.  Acquire: as mailbox_close. */
static mt_future_t *mailbox_take(pool_t *p) {
  mt_future_t *open = mailbox_open_mark(p);
  mt_future_t *x = __atomic_load_n(&p->mailbox, __ATOMIC_RELAXED);
  if (!x || x == open) return NULL;
  return __atomic_compare_exchange_n(&p->mailbox, &x, open, false, __ATOMIC_ACQUIRE,
                                     __ATOMIC_RELAXED)
             ? x
             : NULL;
}

/* Pops everything (no push nor hand-off can follow: `closed` or `broken`
 * is set) and cancels or fails each future outside the lock, the one left
 * in the mailbox first (it came before anything queued: mailbox_hand). */
static void drain(pool_t *p, int code) {
  mt_future_t *list = pop_all(p), *x = mailbox_take(p);
  if (x) {
    x->qnext = list; /* ours alone now */
    list = x;
  }
  fail_list(list, code, "the pool is broken: a worker's initializer failed");
}

/* ---- parking ----------------------------------------------------------- */

static void wake_one(pool_t *p) {
  uint32_t k = load32(&p->nsleepers);
  while (k > 0) {
    if (__atomic_compare_exchange_n(&p->nsleepers, &k, k - 1, true, __ATOMIC_SEQ_CST,
                                    __ATOMIC_SEQ_CST)) {
      __atomic_fetch_add(&p->wakeups, 1, __ATOMIC_SEQ_CST);
      mt__wake_word(&p->wakeups, 1, false);
      return;
    }
  }
}

static void wake_all(pool_t *p) {
  uint32_t k = __atomic_exchange_n(&p->nsleepers, 0, __ATOMIC_SEQ_CST);
  if (!k) return;
  __atomic_fetch_add(&p->wakeups, k, __ATOMIC_SEQ_CST);
  mt__wake_word(&p->wakeups, (int)k, false);
}

static void take_token(pool_t *p) {
  for (;;) {
    uint32_t t = load32(&p->wakeups);
    if (t == 0) {
      (void)mt__word_park(&p->wakeups, 0, false, MT__NO_DEADLINE); /* a worker: loops on */
      continue;
    }
    if (__atomic_compare_exchange_n(&p->wakeups, &t, t - 1, true, __ATOMIC_SEQ_CST,
                                    __ATOMIC_SEQ_CST))
      return;
  }
}

static bool over_limit(pool_t *p) {
  return (int)load32(&p->nthreads) > __atomic_load_n(&p->max_workers, __ATOMIC_SEQ_CST);
}

static bool has_news(pool_t *p) {
  return backlog(p) > 0 || load32(&p->closed) || load32(&p->broken) || over_limit(p);
}

/* A task handed in that its owner has not taken (a hint: mailbox_take decides). */
static bool mailbox_full(pool_t *p) {
  mt_future_t *x = __atomic_load_n(&p->mailbox, __ATOMIC_RELAXED);
  return x && x != mailbox_open_mark(p);
}

/* A task sitting in another worker's mailbox counts as news too: we go back
 * and take it (spin_for_news) rather than sleep while its owner is
 * preempted.  Only a hint: no wake-up depends on it (a hand-off wakes
 * nobody; its owner runs it unless an idle worker took it first). */
static void park(pool_t *p) {
  __atomic_fetch_add(&p->nsleepers, 1, __ATOMIC_SEQ_CST);
  if (has_news(p) || mailbox_full(p)) {
    uint32_t k = load32(&p->nsleepers);
    while (k > 0)
      if (__atomic_compare_exchange_n(&p->nsleepers, &k, k - 1, true, __ATOMIC_SEQ_CST,
                                      __ATOMIC_SEQ_CST))
        return;
    /* A submitter claimed us meanwhile: its token is ours. */
  }
  take_token(p);
}

/* A worker's spin budget adapts as a future wait's does (future.c
 * adapt_spin): mt__spin_rounds() >> tl_spin_shift, lowered when a spin
 * found work, raised when the worker had to park and the work came later
 * than the full budget would have spun.  Under foreign load a full spin
 * mostly waits for a submitter that is not running. */
#define SPIN_SHIFT_MAX 5
static _Thread_local uint32_t tl_spin_shift;

static void adapt_spin(uint32_t shift, bool paid) {
  if (paid ? shift > 0 : shift < SPIN_SHIFT_MAX) tl_spin_shift = paid ? shift - 1 : shift + 1;
}

/* Moving off the submitter's CPU.  While the last submitter runs on the
 * worker's CPU (near), the two take turns on that core (sched_yield), a
 * few us a call.  Nothing in that ping-pong makes the scheduler part them:
 * a yield moves no thread, and the balancer seems to leave a thread that
 * ran a moment ago ("cache hot") where it is for several rounds: measured
 * with the other core free for us (our autogroup at nice -20), the pair
 * stayed on one core for 60 to over 75 ms.  (How a pair comes together,
 * e.g. a new worker placed on its creator's CPU, was not traced.)  So a
 * worker that finds itself near moves off that
 * CPU (mt__cpu_move_off: affinity without it, then the old mask back),
 * and the pair spins apart, if a CPU is free for it (near_move).  Each
 * attempt doubles the number of near idle episodes before the next one
 * (up to NEAR_GAP_MAX), and NEAR_GAP_MAX idle episodes in a row apart
 * reset it, so a busy machine pays a /proc/loadavg read and an affinity
 * read per NEAR_GAP_MAX near calls.  Only the pool's own threads ever move. */
#define NEAR_GAP_MAX 256
static _Thread_local uint32_t tl_near_gap = 1, tl_near_left = 1, tl_far_run;

static bool near_move_always; /* tests (pool_internal.h) */

/* Tests (pool_internal.h): while `hold_on`, a worker that just opened its
 * mailbox counts itself in `held` and waits there until released, as a
 * preempted owner would. */
static uint32_t hold_on, held;

void mt__pool_hold_owner(bool on) {
  __atomic_store_n(&hold_on, on, __ATOMIC_SEQ_CST);
  if (!on) mt__wake_word(&hold_on, INT32_MAX, false);
}

uint32_t *mt__pool_owners_held(void) { return &held; }

static void hold_owner(void) {
  if (__builtin_expect(!__atomic_load_n(&hold_on, __ATOMIC_RELAXED), 1)) return;
  __atomic_fetch_add(&held, 1, __ATOMIC_SEQ_CST);
  mt__wake_word(&held, INT32_MAX, false);
  while (__atomic_load_n(&hold_on, __ATOMIC_SEQ_CST))
    (void)mt__word_park(&hold_on, 1, false, MT__NO_DEADLINE);
}

void mt__pool_near_move_always(bool on) {
  __atomic_store_n(&near_move_always, on, __ATOMIC_RELAXED);
}

static bool near_move(int cpu) {
  tl_far_run = 0;
  if (--tl_near_left > 0) return false;
  if (tl_near_gap < NEAR_GAP_MAX) tl_near_gap *= 2;
  tl_near_left = tl_near_gap;
  /* Apart pays only if each of the two gets a CPU of its own: with more
   * runnable threads than CPUs each would wait for its turn alone, and a
   * call needs both at once (measured at load 6-8: calls apart took
   * 2.3-47 us on average against 4.5-9 us taking turns on one core). */
  int runnable = __atomic_load_n(&near_move_always, __ATOMIC_RELAXED) ? 0 : mt__sys_runnable();
  if (runnable < 0 || runnable > mt__cpu_count()) return false;
  return mt__cpu_move_off(cpu) == 1;
}

static void far_idle(void) {
  if (tl_far_run < NEAR_GAP_MAX && ++tl_far_run == NEAR_GAP_MAX) tl_near_gap = tl_near_left = 1;
}

/* Bounded spin on the backlog and the mailbox; true when there is news.
 * As a rule one worker spins at a time (as Go's scheduler limits spinning
 * threads): on a small machine more spinners only steal the submitter's
 * CPU.  *handed: the task handed through the mailbox, or NULL (the mailbox
 * is closed again when this returns).  *spun_ns: how long a spin that
 * found nothing lasted (0 when not timed, -1 when there was no spin). */
static bool spin_for_news(pool_t *p, int64_t *spun_ns, mt_future_t **handed) {
  *spun_ns = -1;
  *handed = NULL;
  /* Becoming the spinner: a load and a plain store, not a CAS (one locked
   * instruction less per idle episode).  Two workers may both see 0 and
   * spin at once, rarely: "one spinner" is a policy, not a safety rule.
   * What is needed is only that a submitter reading 1 (and so waking
   * nobody) finds a worker that sees its push: every spinner polls
   * npushed, and each leaves either with the work (news) or through the
   * seq_cst clear + has_news re-check below, a Dekker pair with submit's
   * push then nspinning load.  A submitter reading 0 although we spin only
   * wakes a sleeper needlessly. */
  /* A task handed to another worker's mailbox and not taken yet (its owner
   * may be preempted): take it, whether or not nspinning says someone
   * spins (two spinners at once leave it 0 while the owner holds the
   * mailbox; review of latency3).  mailbox_take's CAS decides. */
  if (mailbox_full(p) && (*handed = mailbox_take(p)) != NULL) return true;
  if (__atomic_load_n(&p->nspinning, __ATOMIC_RELAXED)) return has_news(p);
  __atomic_store_n(&p->nspinning, 1, __ATOMIC_RELAXED);
  /* Through the yields too: a submitter on our core hands off while we yield. */
  bool owner = mt__spin_rounds() > 0 && mailbox_open(p);
  if (owner) hold_owner();
  uint32_t shift = tl_spin_shift;
  /* The last submitter runs on our CPU (future.c tl_near_cpu says why):
   * move off it (above), or if we stay, no spin, straight to the yields
   * that let it run, no adaptation. */
  int cpu = mt__cpu_now();
  int32_t sub = __atomic_load_n(&p->sub_cpu, __ATOMIC_RELAXED);
  bool near = cpu >= 0 && cpu == sub;
  if (near && mt__spin_rounds() > 0 && near_move(cpu)) {
    cpu = mt__cpu_now();
    near = cpu < 0 || cpu == sub;
  } else if (!near) {
    far_idle();
  }
  int64_t t0 = shift && !near ? mt__now_ns() : 0; /* a short spin is timed */
  int rounds = near ? 0 : mt__spin_rounds() >> shift;
  bool news = false;
  uint64_t seen = __atomic_load_n(&p->npushed, __ATOMIC_RELAXED);
  uint32_t local = 0;
  for (int i = 0; i < rounds && !news; i++) {
    mt__spin_until_changed(&local, 0, 1);
    if (mailbox_news(p, owner))
      news = true;
    else if (__atomic_load_n(&p->npushed, __ATOMIC_RELAXED) != seen || (i & 511) == 0)
      news = has_news(p);
  }
  if (news) {
    *handed = mailbox_close(p, owner); /* before anything is popped: mailbox_hand */
    /* Without a handed task, a release store, not an XCHG: this worker
     * found work and goes to pop it (pop_batch's lock: its locked RMW is a
     * full barrier on x86 and AArch64 before worker_main reads the backlog
     * to pass a wake on; the C11 model alone does not promise that), and before it can
     * park it passes park()'s seq_cst Dekker (nsleepers then npushed), so
     * a submitter that still reads 1 here and skips its wake loses
     * nothing.  With a handed task it pops nothing: worker_main reads the
     * backlog right after this to pass a wake on, the Dekker pair with
     * submit's push then nspinning load, so the clear is seq_cst (a
     * release store may pass that load: a task pushed meanwhile then waited
     * with a worker parked until the handed one ended; review of the
     * mailbox: docs/futures.md).  The "no news" exit
     * below re-checks the backlog right after clearing too: seq_cst. */
    __atomic_store_n(&p->nspinning, 0, *handed ? __ATOMIC_SEQ_CST : __ATOMIC_RELEASE);
    if (!near) adapt_spin(shift, true);
    return true;
  }
  int64_t spun = t0 ? mt__now_ns() - t0 : 0;
  /* work found while yielding came from a submitter on OUR core: the
   * spin did not pay (future.c wait_done says the same) */
  for (int i = 0; i < mt__yield_rounds() && !news; i++) {
    mt__sys_yield();
    news = mailbox_news(p, owner) || has_news(p);
  }
  /* Closed before nspinning is cleared: a submitter that then still reads
   * nspinning 1 pushes (the mailbox is closed) and skips the wake, and the
   * seq_cst clear + has_news below is the Dekker pair that sees its push. */
  *handed = mailbox_close(p, owner);
  __atomic_store_n(&p->nspinning, 0, __ATOMIC_SEQ_CST);
  news = news || *handed || has_news(p);
  if (news && !near) adapt_spin(shift, false);
  else if (!news && !near) *spun_ns = spun;
  return news;
}

/* ---- workers ----------------------------------------------------------- */

static int start_worker_locked(pool_t *p);

static void pool_unref(pool_t *p) {
  if (__atomic_sub_fetch(&p->refs, 1, __ATOMIC_ACQ_REL) == 0) mt__free(p);
}

/* Takes one idle token if there is one.  Tokens are withdrawn without ctl
 * (take_back_idle_token), so every decrement is a CAS that stops at 0: a
 * plain "load, then subtract if > 0" could wrap the count to 2^32-1, and
 * submits would then reuse idle workers that do not exist (the pool never
 * grew again; seen with injected delays between a leaving worker and a
 * worker taking its token back). */
static bool take_idle_token(pool_t *p) {
  uint32_t t = load32(&p->idle_tokens);
  while (t > 0)
    if (__atomic_compare_exchange_n(&p->idle_tokens, &t, t - 1, true, __ATOMIC_SEQ_CST,
                                    __ATOMIC_SEQ_CST))
      return true;
  return false;
}

static void add_idle_token(worker_t *w) {
  if (w->idle) return;
  w->idle = true;
  uint32_t t = __atomic_load_n(&w->p->idle_tokens, __ATOMIC_RELAXED);
  if (t < load32(&w->p->nthreads)) __atomic_fetch_add(&w->p->idle_tokens, 1, __ATOMIC_SEQ_CST);
}

/* A worker that got work after going idle withdraws its token unless a
 * submitter consumed it already (then it may withdraw another idle
 * worker's: the next submit starts a worker early, bounded by
 * max_workers).  Keeps tokens from going stale while all are busy. */
static void take_back_idle_token(worker_t *w) {
  w->idle = false;
  (void)take_idle_token(w->p);
}

/* Runs just before a task's result is published: a worker about to be idle
 * says so first, so the submitter who sees the result reuses it. */
static void before_finish(void *ctx) {
  worker_t *w = ctx;
  if (w->left == 0 && backlog(w->p) <= 0) add_idle_token(w);
}

/* Under ctl: does this worker leave now?  Updates the counts if so. */
static bool leave_locked(pool_t *p) {
  bool done = (load32(&p->closed) || load32(&p->broken)) && backlog(p) <= 0;
  if (!done && !over_limit(p)) return false;
  __atomic_sub_fetch(&p->nthreads, 1, __ATOMIC_SEQ_CST);
  (void)take_idle_token(p);
  return true;
}

static bool should_leave(pool_t *p) {
  if (!load32(&p->closed) && !load32(&p->broken) && !over_limit(p)) return false;
  mt__mutex_lock(&p->ctl, false, MT__NO_DEADLINE);
  bool leave = leave_locked(p);
  mt__mutex_unlock(&p->ctl, false);
  return leave;
}

static void break_pool(pool_t *p) {
  mt__mutex_lock(&p->ctl, false, MT__NO_DEADLINE);
  __atomic_store_n(&p->broken, 1, __ATOMIC_SEQ_CST);
  mt__mutex_unlock(&p->ctl, false);
  drain(p, MT_EBROKEN);
  wake_all(p);
}

static void run_batch(worker_t *w, mt_future_t **batch, int k) {
  pool_t *p = w->p;
  w->batch = batch;
  w->k = k;
  for (int i = 0; i < k; i++) {
    mt_future_t *f = batch[i];
    w->i = i;
    w->left = k - 1 - i;
    if (load32(&p->broken)) {
      mt__future_fail(f, MT_EBROKEN, "the pool is broken: a worker's initializer failed");
      mt__future_release_qref(f);
    } else if (load32(&p->cancel_pending)) {
      mt_future_cancel(f);
      mt__future_release_qref(f);
    } else {
      mt__future_run_queued(f, before_finish, w); /* drops the queue's reference */
    }
  }
  w->k = 0;
}

/* Cleanup handler: the thread is ending inside a task or the initializer
 * (pthread_exit).  Every way a task can end must post a result (Python's
 * pools hang here): the running task fails with MT_EWORKERDIED, the rest
 * of the local batch goes back to the queue (or, after shutdown, fails the
 * same way), and a replacement worker starts if work is waiting. */
static void worker_died(void *arg) {
  worker_t *w = arg;
  pool_t *p = w->p;
  mt_future_t *cur = w->k > 0 ? w->batch[w->i] : NULL;
  if (cur) {
    mt__future_fail_running(cur, MT_EWORKERDIED, "the task ended its worker thread (pthread_exit)");
    mt__future_release_qref(cur);
  }
  mt_future_t *orphans = NULL; /* failed after ctl is released */
  mt__mutex_lock(&p->ctl, false, MT__NO_DEADLINE);
  bool closed = load32(&p->closed) || load32(&p->broken);
  for (int j = w->i + 1; cur && j < w->k && !closed; j++) {
    q_push(p, w->batch[j]);
    __atomic_fetch_add(&p->npushed, 1, __ATOMIC_SEQ_CST);
  }
  __atomic_sub_fetch(&p->nthreads, 1, __ATOMIC_SEQ_CST);
  /* A replacement runs the backlog (after shutdown too: the queue drains).
   * If none can start (out of memory or threads) and nobody is left, the
   * backlog fails rather than wait forever.  Under ctl, so no submit pushes
   * meanwhile; a later submit tries to start a worker again. */
  if (backlog(p) > 0 && start_worker_locked(p) < 0 && load32(&p->nthreads) == 0)
    orphans = pop_all(p);
  mt__mutex_unlock(&p->ctl, false);
  for (int j = w->i + 1; cur && j < w->k && closed; j++) {
    mt__future_fail(w->batch[j], MT_EWORKERDIED, "its worker thread ended before it ran");
    mt__future_release_qref(w->batch[j]);
  }
  fail_list(orphans, MT_ENOMEM, "no worker thread could be started to run it");
  wake_one(p);
  mt__wake_word(&p->nthreads, INT32_MAX, false);
  pool_unref(p);
}

static void worker_main(void *arg) {
  worker_t w = {.p = arg};
  pool_t *p = w.p;
  tl_pool = p;
  pthread_cleanup_push(worker_died, &w);
  if (p->init && p->init(p->initarg) != 0) break_pool(p);
  mt_future_t *batch[BATCH];
  for (;;) {
    int k = pop_batch(p, batch, BATCH);
    if (k == 0) {
      if (should_leave(p)) break;
      uint32_t shift = tl_spin_shift;
      int64_t spun;
      mt_future_t *handed;
      bool news = spin_for_news(p, &spun, &handed);
      if (handed) { /* a batch of one, run as a popped one */
        batch[0] = handed;
        k = 1;
      } else if (news) {
        continue;
      } else {
        int64_t parked = spun > 0 ? mt__now_ns() : 0;
        park(p);
        /* would the full budget have caught the work?  (the spin began at
         * parked - spun) */
        if (spun >= 0)
          adapt_spin(shift, spun > 0 && mt__now_ns() - (parked - spun) < spun << shift);
        continue;
      }
    }
    mt__future_set_stamp_cpu(mt__cpu_now()); /* once per batch */
    if (w.idle) take_back_idle_token(&w);
    /* Still backlog and nobody spinning: pass the wake-up on. */
    if (backlog(p) > 0 && !load32(&p->nspinning)) wake_one(p);
    run_batch(&w, batch, k);
  }
  pthread_cleanup_pop(0);
  tl_pool = NULL;
  mt__wake_word(&p->nthreads, INT32_MAX, false);
  pool_unref(p);
}

/* Under ctl.  0 or a negative code. */
static int start_worker_locked(pool_t *p) {
  char name[64];
  snprintf(name, sizeof name, "%s_%d", p->prefix, p->next_index++);
  __atomic_fetch_add(&p->nthreads, 1, __ATOMIC_SEQ_CST);
  __atomic_fetch_add(&p->refs, 1, __ATOMIC_SEQ_CST);
  int r = mt__exec_spawn(worker_main, p, name);
  if (r < 0) {
    __atomic_fetch_sub(&p->nthreads, 1, __ATOMIC_SEQ_CST);
    __atomic_fetch_sub(&p->refs, 1, __ATOMIC_SEQ_CST);
  }
  return r;
}

/* ---- the executor interface -------------------------------------------- */

/* Under ctl: reuse an idle worker, else start one if below the limit. */
static int adjust_locked(pool_t *p) {
  if (take_idle_token(p)) return 0;
  if ((int)load32(&p->nthreads) >= p->max_workers) return 0;
  int r = start_worker_locked(p);
  return (r < 0 && load32(&p->nthreads) > 0) ? 0 : r;
}

/* A pool made before fork has no workers in the child (threads do not
 * survive fork): it refuses everything there with MT_EFORKED. */
static bool forked(const pool_t *p) { return p->fork_gen != mt__fork_generation(); }

static int pool_submit(void *self, mt_task_fn fn, void *arg, mt_future_t **out) {
  pool_t *p = self;
  /* The round-trip line is with the idle worker (it reopened its mailbox
   * there): ask for it for writing now, so that its transfer overlaps the
   * allocation and the caller's own upgrade of its last future's line
   * (reused) rather than following them (issue 13; docs/futures.md). */
  __builtin_prefetch(&p->tail, 1);
  if (forked(p)) return MT_EFORKED;
  mt_future_t *f = mt__future_queued_new(fn, arg); /* the caller's; the queue's is QREF */
  if (!f) return MT_ENOMEM;
  mt__mutex_lock(&p->ctl, false, MT__NO_DEADLINE);
  int r = load32(&p->broken) ? MT_EBROKEN : load32(&p->closed) ? MT_ECLOSED : 0;
  if (r == 0) r = adjust_locked(p);
  bool handed = false;
  if (r == 0) {
    /* The queue empty and a spinner's mailbox open: hand it over (the
     * mailbox, above).  Into an empty queue either way: an idle worker
     * takes it, and its next idle spin asks where we run (sub_cpu).  A
     * submitter filling a backlog skips the lookup (~5 ns). */
    handed = backlog(p) <= 0 && mailbox_hand(p, f);
    if (handed) {
      __atomic_store_n(&p->nhandoffs, p->nhandoffs + 1, __ATOMIC_RELAXED); /* read by tests */
      __atomic_store_n(&p->sub_cpu, mt__cpu_now(), __ATOMIC_RELAXED);
    } else {
      if (q_push(p, f) == &p->stub)
        __atomic_store_n(&p->sub_cpu, mt__cpu_now(), __ATOMIC_RELAXED); /* the line is ours now */
      __atomic_fetch_add(&p->npushed, 1, __ATOMIC_SEQ_CST);
    }
  }
  mt__mutex_unlock(&p->ctl, false);
  if (r < 0) {
    mt__future_release_qref(f);
    mt_future_free(f);
    return r;
  }
  /* Handed over: its owner (or an idle worker that takes it) runs it, no wake.  Else a spinning worker will
   * take it: no system call then. */
  if (!handed && !load32(&p->nspinning) && load32(&p->nsleepers)) wake_one(p);
  *out = f;
  return 0;
}

static int pool_shutdown(void *self, bool wait, bool cancel_futures, double timeout) {
  pool_t *p = self;
  if (forked(p)) return MT_EFORKED;
  mt__mutex_lock(&p->ctl, false, MT__NO_DEADLINE);
  __atomic_store_n(&p->closed, 1, __ATOMIC_SEQ_CST);
  if (cancel_futures) __atomic_store_n(&p->cancel_pending, 1, __ATOMIC_SEQ_CST);
  mt__mutex_unlock(&p->ctl, false);
  if (cancel_futures) drain(p, MT_ECANCELLED);
  wake_all(p);
  if (!wait) return 0;
  int64_t deadline;
  if (mt__deadline(timeout, &deadline) < 0) return MT_EINVAL;
  uint32_t self_count = tl_pool == p ? 1 : 0; /* never wait for ourselves */
  for (;;) {
    uint32_t n = load32(&p->nthreads);
    if (n <= self_count) return 0;
    int r = mt__word_park(&p->nthreads, n, false, deadline);
    if (r < 0 && load32(&p->nthreads) > self_count)
      return r; /* MT_ETIMEDOUT, or MT_ECANCELLED / MT_EINTR: the pool is shut down all the same */
    mt__wait_cancel_undelivered(r); /* the workers ended after all: the next wait gets it */
  }
}

static int pool_resize(void *self, int max_workers) {
  pool_t *p = self;
  if (forked(p)) return MT_EFORKED;
  if (max_workers < 1) return MT_EINVAL;
  mt__mutex_lock(&p->ctl, false, MT__NO_DEADLINE);
  int r = load32(&p->closed) ? MT_ECLOSED : 0;
  if (r == 0) {
    __atomic_store_n(&p->max_workers, max_workers, __ATOMIC_SEQ_CST);
    /* Growing with a backlog: start the workers it can use now. */
    int64_t want = backlog(p);
    while (want-- > 0 && (int)load32(&p->nthreads) < max_workers)
      if (start_worker_locked(p) < 0) break;
  }
  mt__mutex_unlock(&p->ctl, false);
  wake_all(p); /* idle workers above the limit leave */
  return r;
}

static int pool_max_workers(void *self) {
  return __atomic_load_n(&((pool_t *)self)->max_workers, __ATOMIC_SEQ_CST);
}

/* Drops the handle's reference: the workers (each holds one) finish the
 * queue after shutdown and the last one to leave frees the pool. */
static void pool_destroy(void *self) {
  pool_t *p = self;
  if (forked(p)) return; /* the parent's workers hold references: leave it */
  pool_unref(p);
}

static const mt_executor_ops_t pool_ops = {
    .kind = "thread",
    .submit = pool_submit,
    .shutdown = pool_shutdown,
    .resize = pool_resize,
    .max_workers = pool_max_workers,
    .destroy = pool_destroy,
};

mt_executor_t *mt_executor_new_thread_pool(const mt_thread_pool_opts_t *opts) {
  if (opts && !mt__opts_size_ok(opts->size, sizeof(mt_thread_pool_opts_t)))
    return mt__fail_null(MT_EINVAL);
  mt_thread_pool_opts_t o = opts ? *opts : (mt_thread_pool_opts_t)MT_THREAD_POOL_OPTS_INIT;
  if (o.max_workers <= 0) {
    int n = mt__cpu_count() + 4;
    o.max_workers = n < 32 ? n : 32;
  }
  pool_t *p = mt__aligned_alloc(64, sizeof *p);
  if (!p) return mt__fail_null(MT_ENOMEM);
  memset(p, 0, sizeof *p);
  mt__mutex_init(&p->ctl);
  mt__mutex_init(&p->qlock);
  p->tail = p->head = &p->stub;
  p->sub_cpu = -1;
  p->max_workers = o.max_workers;
  p->refs = 1;
  p->fork_gen = mt__fork_generation();
  p->init = o.initializer;
  p->initarg = o.initarg;
  if (o.thread_name_prefix)
    snprintf(p->prefix, sizeof p->prefix, "%s", o.thread_name_prefix);
  else
    snprintf(p->prefix, sizeof p->prefix, "ThreadPoolExecutor-%d",
             __atomic_fetch_add(&pool_counter, 1, __ATOMIC_RELAXED));
  mt_executor_t *ex = mt_executor_new(&pool_ops, p);
  if (!ex) mt__free(p);
  return ex;
}

uint64_t mt__pool_handoffs(mt_executor_t *ex) {
  return __atomic_load_n(&((pool_t *)ex->self)->nhandoffs, __ATOMIC_RELAXED);
}

int mt_executor_thread_count(mt_executor_t *ex) {
  if (!ex) return MT_EINVAL;
  if (ex->ops != &pool_ops) return MT_ENOTSUP;
  return (int)load32(&((pool_t *)ex->self)->nthreads);
}
