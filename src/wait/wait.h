/* wait.h - the ONE internal wait/wake layer.  Every blocking point of the
 * library parks here: on a futex word (private or shared) or on file
 * descriptors.  A coroutine scheduler installs a per-thread parker so that a
 * coroutine that blocks parks itself instead of stalling its thread.  See
 * docs/design.md. */
#ifndef MT_WAIT_H
#define MT_WAIT_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MT__NO_DEADLINE INT64_MAX

/* Converts a relative timeout (seconds, MT_FOREVER or >= 0) to an absolute
 * monotonic deadline in ns, computed ONCE per call so spurious wakeups never
 * stretch it.  MT_EINVAL for NaN or a negative value other than MT_FOREVER. */
int mt__deadline_slow(double timeout, int64_t *deadline_ns);
static inline int mt__deadline(double timeout, int64_t *deadline_ns) {
  if (timeout == -1.0) { /* MT_FOREVER: every blocking call's common case, inline */
    *deadline_ns = MT__NO_DEADLINE;
    return 0;
  }
  return mt__deadline_slow(timeout, deadline_ns);
}
/* Seconds left until the deadline (0 when passed, MT_FOREVER when none). */
double mt__deadline_left(int64_t deadline_ns);
bool mt__deadline_passed(int64_t deadline_ns);

/* Park until *word != expected, a wake, a spurious wakeup or the deadline.
 * Returns 0 (re-check your condition!) or MT_ETIMEDOUT.  EINTR is folded
 * into 0: callers loop on their condition anyway. */
int mt__wait_word(const uint32_t *word, uint32_t expected, bool shared,
                  int64_t deadline_ns);
/* mt__wait_word's thread path whatever parker is installed: the thread
 * sleeps in the kernel (a compact task that must not park).  Every kernel
 * sleep on a word that mt__wake_word wakes goes through wait.c's
 * kernel_wait (these two, and the interruptible wait of an opted-in
 * thread), which keeps the count of kernel sleepers. */
int mt__wait_word_kernel(const uint32_t *word, uint32_t expected, bool shared,
                         int64_t deadline_ns);
/* Wake up to n waiters (INT32_MAX = all) parked on word: n threads in the
 * kernel, and (private words) up to n coroutines parked by mt__word_park;
 * an extra wake is a spurious one, which every park loop tolerates.  A
 * private word's wake makes no system call while no thread of the process
 * sleeps in the kernel on a word of its bucket (wait.c, "kernel sleepers").
 * Never reads or writes *word, only uses its address (the futex wake, the
 * bucket and node lookups), so a waker may call it after the change that
 * let its waiter return and free the object: a stale or unmapped address
 * costs at most a spurious wakeup of whoever waits there now (sem.c). */
void mt__wake_word(uint32_t *word, int n, bool shared);
/* Tests: how many private-word wakes called the kernel so far. */
unsigned long mt__wake_word_syscalls(void);

/* Park until one of fds is ready or the deadline.  Returns the number of
 * ready fds (revents filled in), MT_ETIMEDOUT or a negative code, among
 * them MT_ECANCELLED: a descriptor wait is a cancellation point (the
 * calling coroutine cancelled or killed, before or while it waits), except
 * a look (the deadline already passed), which never consumes a cancel. */
int mt__wait_fds(struct pollfd *fds, int nfds, int64_t deadline_ns);
int mt__wait_fd(int fd, short events, int64_t deadline_ns);
/* The same, but never MT_ECANCELLED nor MT_EINTR: for a wait that must
 * finish what it started (a send past its first byte: a half frame would
 * tear the stream; reaping a child that leaves at once).  A one-shot cancel
 * or a thread's interrupt that arrives meanwhile stays pending for the next
 * wait. */
int mt__wait_fds_nocancel(struct pollfd *fds, int nfds, int64_t deadline_ns);

/* Bounded spin: returns true as soon as *word != expected, false after
 * `rounds` polls.  Spinning only pays when another core can change the word
 * (a cross-core wake costs ~55 us here, a spin round a few ns). */
bool mt__spin_until_changed(const uint32_t *word, uint32_t expected, int rounds);
/* Default spin budget for lock-like slow paths: 0 when spinning cannot pay,
 * i.e. on a single CPU or under a cgroup CPU quota below
 * MT__SPIN_MIN_QUOTA CPUs (a spinner there burns the quota its partner
 * needs to make progress); read once. */
int mt__spin_rounds(void);
#define MT__SPIN_MIN_QUOTA 1.9
/* The rule above: may a process with `cpus` CPUs in its affinity and a
 * cgroup quota of `quota` CPUs (0 = none) spin? */
bool mt__spin_pays(int cpus, double quota);

/* ---- how a wait ends ------------------------------------------------------
 * Every park below returns one of four results, and a primitive that gets a
 * negative one unwinds what it counted (waiter nodes, sleeper counts) and
 * returns it to its caller:
 *   0              woken, or spurious: re-check your condition;
 *   MT_ETIMEDOUT   the deadline passed;
 *   MT_ECANCELLED  the calling coroutine was killed or cancelled (sticky:
 *                  every later park of it returns this at once);
 *   MT_EINTR       a handled signal arrived and the calling thread opted in
 *                  to interrupts (below; one-shot). */

/* ---- waiter list: private memory, one node per waiter --------------------
 * For objects guarded by a lock of their own (queues).  A waiter
 * pushes its node under the object's lock, unlocks, parks on the node and
 * relocks; a waker pops nodes under the lock and wakes exactly them after
 * unlocking.  The node is what a coroutine scheduler resumes (see
 * mt__parker_t), so the node must outlive the park: on the waiting
 * function's frame for a thread and for a stackful coroutine; a coroutine
 * whose stack can be copied keeps it in its task instead: a waiter takes
 * its node from mt__waiter_node(&local), never &local directly. */
/* QUEUED -> PARKED (a thread sleeps on `state`) or PARKED_CORO (a
 * coroutine is suspended by `parker`) -> WOKEN (by a waker, under the lock) */
enum { MT__W_QUEUED = 0, MT__W_PARKED = 1, MT__W_WOKEN = 2, MT__W_PARKED_CORO = 3 };

typedef struct mt__waiter {
  struct mt__waiter *next, *prev;
  uint32_t state;                  /* MT__W_*: a parked thread sleeps on it */
  const struct mt__parker *parker; /* set when a coroutine parks: who resumes it */
} mt__waiter_t;

typedef struct mt__waitlist {
  mt__waiter_t *head, *tail;
} mt__waitlist_t;

/* The node to park on: `local` (on the caller's frame), or, while a
 * coroutine whose stack can be copied runs (mt__parker_t.nodes), its
 * task's list node.  One per task is enough: a coroutine parks once at a
 * time, and while its list node is queued it only parks again on a word
 * (retaking the object's lock), which has a node of its own. */
mt__waiter_t *mt__waiter_node(mt__waiter_t *local);

/* What a waker must do after it released the lock (a thread to wake, or a
 * coroutine to hand to its scheduler); {0} = nothing. */
typedef struct mt__wake {
  uint32_t *word;
  const struct mt__parker *parker;
  mt__waiter_t *w;
} mt__wake_t;

static inline bool mt__waitlist_empty(const mt__waitlist_t *l) { return l->head == NULL; }
/* Under the lock: queue w (FIFO). */
void mt__waitlist_push(mt__waitlist_t *l, mt__waiter_t *w);
/* Under the lock, after a park returned non-zero: takes w off the list.
 * false when a waker popped it first, i.e. the caller consumed a wake it
 * must use or pass on (wake another waiter) before giving up. */
bool mt__waitlist_remove(mt__waitlist_t *l, mt__waiter_t *w);
/* Under the lock: pops one waiter (the newest if it still spins, else the
 * oldest) and marks it woken; returns what
 * to do after unlocking ({0} when the list was empty).  The empty list and
 * the nothing-to-deliver cases are inline: they are a queue's every put
 * and get (two out-of-line calls there cost the MPMC row ~10%). */
mt__wake_t mt__waitlist_pop_wake(mt__waitlist_t *l);
static inline mt__wake_t mt__waitlist_wake_one(mt__waitlist_t *l) {
  if (l->head == NULL) return (mt__wake_t){0};
  return mt__waitlist_pop_wake(l);
}
/* After the unlock: delivers a wake from mt__waitlist_wake_one.  A thread's
 * node may already be gone (it saw WOKEN and returned): the futex wake of a
 * stale address is at worst a spurious wakeup, which every park loop
 * tolerates, never a write. */
void mt__wake_deliver_now(const mt__wake_t *k);
static inline void mt__wake_deliver(mt__wake_t k) {
  if (k.parker || k.word) mt__wake_deliver_now(&k);
}
/* Under the lock: wakes every waiter (delivered at once: rare paths such
 * as shutdown, join and completion). */
void mt__waitlist_wake_all(mt__waitlist_t *l);
/* Unlocked: parks on w until a waker pops it.  Spins first when that can
 * pay.  0 = woken (w->state is MT__W_WOKEN), else MT_ETIMEDOUT /
 * MT_ECANCELLED / MT_EINTR: then relock and mt__waitlist_remove(w). */
int mt__waiter_park(mt__waiter_t *w, int64_t deadline_ns);

/* ---- event count: pointer-free, private or MT_SHARED ----------------------
 * For objects with no lock, and for every MT_SHARED object (another
 * process cannot follow our pointers).  A waiter registers, reads the key,
 * re-checks its condition, then parks until the count moves; a notifier
 * changes the object's state first, then advances the count and calls the
 * kernel only when somebody registered.  All four steps are seq_cst, so a
 * registered waiter whose re-check missed the change always sees the count
 * move (Dekker).  Register -> read the key -> re-check -> wait -> unregister,
 * the key always read BEFORE the re-check (else a notify falling between
 * the two is missed):
 *
 *   mt__evc_prepare(&o->evc);
 *   for (;;) {
 *     uint32_t key = mt__evc_key(&o->evc);
 *     if (ready(o) || (r = mt__evc_wait(&o->evc, key, shared, dl)) != 0) break;
 *   }
 *   mt__evc_done(&o->evc);        // then unwind o's own counts if r < 0
 *
 * The notifier reads `sleepers` AFTER its state change, so it touches the
 * object after a waiter could see the change and return: only for objects
 * whose waiters cannot return before the notify is done (Condition: the
 * notify runs under the lock its waiters must retake).  An object whose
 * waiter may free it the moment it returns (Semaphore, Event; POSIX's
 * sem_post/sem_destroy promise) keeps a WAITERS bit in its state word,
 * parks with mt__word_park, and its waker learns from its own atomic on
 * that word whether to call mt__wake_word, which uses only the word's
 * address (sem.c, event.c).
 */
typedef struct mt__evc {
  uint32_t seq;      /* the futex word: bumped by every notify with waiters */
  uint32_t sleepers; /* registered waiters */
} mt__evc_t;

static inline void mt__evc_prepare(mt__evc_t *e) {
  __atomic_fetch_add(&e->sleepers, 1, __ATOMIC_SEQ_CST);
}
static inline uint32_t mt__evc_key(const mt__evc_t *e) {
  return __atomic_load_n(&e->seq, __ATOMIC_SEQ_CST);
}
static inline void mt__evc_done(mt__evc_t *e) {
  __atomic_fetch_sub(&e->sleepers, 1, __ATOMIC_SEQ_CST);
}
/* Parks until the count differs from key.  0 (re-check) or a negative
 * result (above); the caller still calls mt__evc_done. */
int mt__evc_wait(mt__evc_t *e, uint32_t key, bool shared, int64_t deadline_ns);

/* ---- a word that is its own event count ----------------------------------
 * For objects whose state word itself moves when a waiter should re-check
 * (the internal mutex and Lock/RLock, a barrier's sequence, a thread's
 * state, a once flag, a timer's flags), with a count or bit of their own
 * that tells the waker somebody waits.  Parks until *word != expected:
 * the four results above (0 = re-check).  A thread sleeps on the word (the
 * kernel's futex); a coroutine parks a waiter node on a list keyed by the
 * word's address (private words) or goes to its parker's wait_word
 * (MT_SHARED words); mt__wake_word reaches both. */
int mt__word_park(const uint32_t *word, uint32_t expected, bool shared, int64_t deadline_ns);
/* A park returned r, but the wait counts as woken after all (a waker popped
 * the node first, or the object completed): an MT_ECANCELLED that r
 * carried was consumed and not delivered, so the running coroutine's
 * one-shot cancel is armed again for its next wait (never lost); an
 * MT_EINTR likewise re-arms the thread's interrupt.  Every place that
 * turns a park's result into 0 calls it. */
void mt__wait_cancel_undelivered(int r);

/* ---- interrupts: MT_EINTR (docs/signals.md) --------------------------------
 * A thread that opted in (mt_signal_set_interruptible) installs a record;
 * after a handler ran, the signal dispatcher calls mt__intr_raise on every
 * record.  The thread's parks that are cancellation points (mt__waiter_park,
 * mt__word_park, mt__wait_fds) watch `pending` too (futex_waitv on both
 * words; the eventfd beside the polled descriptors) and consume it:
 * MT_EINTR.  One-shot and kept until a park consumes it, like asyncio's
 * cancel, so a signal that arrives while the thread runs interrupts its
 * next blocking wait (no window between "check the flag" and "block").  A
 * park that returned MT_EINTR but counts as woken after all re-arms it
 * (mt__wait_cancel_undelivered).  Not while a parker is installed: tasks
 * of a hub are never interrupted (docs/signals.md says why). */
typedef struct mt__intr {
  uint32_t pending; /* 1: raised, not yet delivered (a private futex word) */
  int efd;          /* readable after a raise (descriptor waits) */
} mt__intr_t;
/* Installs in (NULL: none) as the calling thread's record; returns the
 * previous one.  Internal waits that must not fail (reaping a child the
 * caller cannot get back later) run with NULL installed. */
mt__intr_t *mt__set_intr(mt__intr_t *in);
/* Any thread: marks in raised and wakes its thread wherever it parks. */
void mt__intr_raise(mt__intr_t *in);
/* May the calling code sleep in a blocking system call of its own (a
 * blocking read, pthread_join) instead of parking here?  Only when no
 * parker is installed and the thread has no interrupt record. */
bool mt__may_sleep_outside(void);
/* Stricter, for short paths that block in a system call without asking
 * more: no parker installed at all (not even one that lets this greenlet's
 * thread wait) and no interrupt record. */
bool mt__plain_thread(void);

/* ---- the park decision: threads or a coroutine scheduler ------------------
 * ONE place decides how to park (wait.c, `coro_parker`): on a thread where
 * a scheduler installed a parker, every park of the structures above, of
 * mt__wait_word and of mt__wait_fds goes to the parker, which suspends the
 * running coroutine and runs others; anywhere else the thread sleeps
 * (futex, poll).  A killed greenlet
 * gets MT_ECANCELLED from every park, with or without a scheduler. */
/* A word park's node (wait.c): a waiter node keyed by the word. */
typedef struct mt__word_node {
  mt__waiter_t w; /* first: the bucket's list holds &w */
  const uint32_t *word;
} mt__word_node_t;

/* The waiter nodes of a coroutine whose stack can be copied (hub.c's
 * compact tasks): in its task, since bytes on its stack are elsewhere
 * while it is switched out and another coroutine uses those addresses. */
typedef struct mt__task_nodes {
  mt__waiter_t list;     /* mt__waiter_node's */
  mt__word_node_t word;  /* mt__word_park's */
} mt__task_nodes_t;

typedef struct mt__parker {
  /* words and descriptors (same contract as mt__wait_word/mt__wait_fds) */
  int (*wait_word)(void *ctx, const uint32_t *word, uint32_t expected, bool shared,
                   int64_t deadline_ns);
  int (*wait_fds)(void *ctx, struct pollfd *fds, int nfds, int64_t deadline_ns);
  void *ctx;
  /* Suspends the running coroutine until unpark(w) or the deadline; the
   * results of mt__waiter_park.  May run other coroutines meanwhile. */
  int (*park)(void *ctx, mt__waiter_t *w, int64_t deadline_ns);
  /* Makes the coroutine parked on w runnable.  Called by the waker after it
   * released the object's lock, from ANY thread (a cross-thread unpark
   * posts to w's scheduler), at most once per park.  The scheduler keeps
   * the node's owner alive until it has delivered or dropped the post. */
  void (*unpark)(void *ctx, mt__waiter_t *w);
  /* Instead of sched_yield while a scheduler runs (NULL: nothing). */
  void (*yield)(void *ctx);
  /* Non-NULL when the running coroutine's stack can be copied: its waiter
   * nodes, which then never live on its stack.  Such a scheduler also
   * makes wait_fds keep the pollfd array it watches out of the stack. */
  mt__task_nodes_t *nodes;
  /* The greenlet the scheduler resumes after a park (NULL: any).  Code
   * running in another greenlet under this parker (a generator or a nested
   * greenlet inside a task) does not park through it: the scheduler would
   * resume the wrong greenlet, and a compact task's one waiter node would
   * be used twice.  Such a wait blocks the thread instead. */
  const void *greenlet;
} mt__parker_t;

/* true while the calling code runs on a stack that is copied out when it
 * parks (a compact task): memory on it must not be read by anyone else
 * while it waits, so a call that lends the caller's memory to another
 * thread for the length of its wait copies it first. */
bool mt__stack_copied(void);
/* true when a park of the calling code may return before its object is
 * ready even without a deadline: it runs in a greenlet (a cancel, a kill
 * or a timeout scope makes it MT_ECANCELLED) or the thread opted in to
 * interrupts (MT_EINTR).  A call that lends the caller's memory to another
 * thread for the length of its wait copies it first then too. */
bool mt__wait_may_end_early(void);
/* Installs (or with NULL removes) the parker of the calling thread. */
void mt__set_parker(const mt__parker_t *parker);
const mt__parker_t *mt__get_parker(void);
/* Spinning or sched_yield before a park only pays when the partner runs on
 * another core; under a scheduler it is on this thread and cannot run
 * while we spin.  So: false while a coroutine parks through a parker. */
bool mt__may_spin(void);
/* A yield: the scheduler's while a coroutine runs under one, else
 * sched_yield. */
void mt__yield(void);

#endif
