/* The one wait/wake layer.
 *
 * Design note.  Every blocking point of the library parks here, in one of
 * three ways:
 *
 * 1. A waiter list (mt__waitlist_t, private memory only): for objects that
 *    have a lock of their own.  Each waiter brings a node; a waker pops
 *    exactly the nodes it wakes under the object's lock and wakes them after
 *    unlocking.  A thread's node is its futex word (QUEUED -> PARKED when it
 *    goes to sleep; the waker's XCHG to WOKEN says whether a system call is
 *    needed), so an uncontended hand-off costs no system call and a wake
 *    reaches one chosen waiter, never a herd.  A coroutine's node is what its
 *    scheduler resumes: the waker calls the node's parker->unpark, from any
 *    thread, after the object's lock is released.
 * 2. An event count (mt__evc_t, pointer-free): for lock-free objects and
 *    for everything MT_SHARED, whose memory other processes map and whose
 *    waiter lists they could not follow.  A 32-bit sequence the waiters
 *    futex-wait on and a count of registered waiters; notify bumps the
 *    sequence and calls the kernel only when someone registered (after
 *    the state change: not for an object whose waiter may free it the
 *    moment it returns; wait.h).
 *    An object whose own state word moves when its waiters should re-check
 *    (a mutex, a barrier, a thread's state, a future) is its own event
 *    count: mt__word_park (bottom of this file), where a coroutine parks a
 *    node on a list keyed by the word's address.
 * 3. Words and descriptors (mt__wait_word, mt__wait_fds): the older
 *    primitive on which 1 and 2 stand.  mt__wait_word is called directly
 *    only by internal hand-shakes of library threads (docs/design.md lists
 *    them); mt__wait_fds is what pipes, pidfds and signalfds wait with, and
 *    a cancellation point (mt__wait_fds_nocancel: for a wait that must
 *    finish, e.g. a send past its first byte).
 *
 * Nodes live on the waiting function's frame, except while a coroutine
 * whose stack can be copied runs (its parker has `nodes`: hub.c's compact
 * tasks): then mt__waiter_node and park_word_node use the task's nodes, so
 * no waker writes into a stack that was copied out.
 *
 * The park decision is made in ONE place, `coro_parker` below: on a thread
 * where a coroutine scheduler (issue 15) installed a parker, every park goes
 * to the parker, which suspends the running coroutine and runs others;
 * otherwise the thread sleeps (so does code running in another greenlet
 * than the one the scheduler resumes, a generator inside a task:
 * mt__parker_t.greenlet).  Cancellation is checked here too: a
 * killed greenlet gets MT_ECANCELLED from every park of 1 and 2 and from
 * every descriptor wait that is more than a look.
 *
 * A coroutine parked on an MT_SHARED object (an event count) is woken by a
 * notify from another process only through the parker's wait_word; the
 * scheduler implements it by a bounded re-check (it looks at the word every
 * few ms) or by futex_waitv/a helper thread: a choice left to issue 15, the
 * contract here is "same results as mt__wait_word".
 *
 * Interrupts (MT_EINTR, wait.h): a thread that opted in has a record whose
 * `pending` word its cancellation-point parks watch beside the word they
 * wait on (futex_waitv) or whose eventfd they poll beside the descriptors;
 * the thread path of the three parks below is the only place that looks.
 *
 * Both kinds of wait take an absolute monotonic deadline, so the relative
 * timeout a user passes is converted exactly once (mt__deadline).
 */
#include "wait.h"
#include "coro/coro.h"
#include "core/core.h"
#include "platform/platform.h"
#include "platform/sanitizer.h"
#include "multitask/error.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static _Thread_local const mt__parker_t *thread_parker;
static _Thread_local mt__intr_t *thread_intr;

/* THE decision: the parker that must handle a park of the calling code, or
 * NULL when the thread itself sleeps.  A scheduler installs its parker on
 * the thread it runs coroutines on, for as long as it runs them; every park
 * made there goes to it, the root greenlet's too (gevent's main greenlet
 * blocking switches to the hub).  The scheduler's own idle wait therefore
 * does not come back through this layer. */
static const mt__parker_t *coro_parker(void) {
  const mt__parker_t *p = thread_parker;
  /* a generator/nested greenlet inside the task: the thread waits (see
   * mt__parker_t.greenlet) */
  if (p && p->greenlet && p->greenlet != (const void *)mt__coro_current()) return NULL;
  return p;
}

int mt__deadline_slow(double timeout, int64_t *deadline_ns) {
  if (timeout == MT_FOREVER) {
    *deadline_ns = MT__NO_DEADLINE;
    return 0;
  }
  if (isnan(timeout) || timeout < 0) return MT_EINVAL;
  if (timeout > 1e9) { /* ~31 years: treat as forever, avoid overflow */
    *deadline_ns = MT__NO_DEADLINE;
    return 0;
  }
  *deadline_ns = mt__now_ns() + (int64_t)(timeout * 1e9);
  return 0;
}

double mt__deadline_left(int64_t deadline_ns) {
  if (deadline_ns == MT__NO_DEADLINE) return MT_FOREVER;
  int64_t left = deadline_ns - mt__now_ns();
  return left <= 0 ? 0.0 : (double)left / 1e9;
}

bool mt__deadline_passed(int64_t deadline_ns) {
  return deadline_ns != MT__NO_DEADLINE && mt__now_ns() >= deadline_ns;
}

/* ---- kernel sleepers on private words -------------------------------------
 * mt__wake_word is called by every completer, releaser and setter of the
 * library (a future's completion, an event's set, a thread's end...), most
 * often when nobody sleeps in the kernel on the word: the waiter, if any, is
 * a coroutine parked on a node (woken without a system call), or it looked
 * and found the word moved.  A futex_wake with nobody queued still costs a
 * system call (~0.2-1 us here).  So a thread that sleeps in the kernel on a
 * PRIVATE word counts itself in one of SLEEP_BUCKETS counters (keyed by the
 * word's address, like the kernel's futex hash) for the time of its
 * futex_wait, and mt__wake_word calls the kernel only when that counter is
 * not 0.  Shared (MT_SHARED) words always call the kernel: their sleepers
 * may live in another process, whose counts are not ours.
 *
 * Ordering (Dekker, both sides seq_cst):
 *   sleeper: count++ (seq_cst RMW); fence; kernel reads *word, sleeps if
 *            == expected;
 *   waker:   *word changed (the caller's store/RMW); fence; reads count.
 * By the total order of the two fences: either the sleeper's fence comes
 * first, so the waker's load sees the increment and wakes; or the waker's
 * fence comes first, so the kernel's read (after the sleeper's fence; the
 * futex call orders it after the user-space fence, futex_wait's own full
 * barrier before it reads the word) sees the changed word and does not
 * sleep.  A wake that finds nobody queued yet is the kernel's usual
 * futex guarantee.  The count drops after the futex call returns: a stale
 * count (or a collision in the bucket) only costs a wake with nobody to
 * wake, as before; a fork's child starts with every count at 0.  Every kernel
 * sleep on a word woken by mt__wake_word goes through kernel_wait (thread
 * waits below, wait_word_intr, mt__wait_word_kernel); the waiter nodes'
 * own futex words (mt__waiter_park) and the word buckets' locks are woken
 * directly, never through mt__wake_word.  Under TSan the fences are RMWs
 * (TSan does not model fences). */
enum { SLEEP_BUCKETS = 256 };
static uint32_t kernel_sleepers[SLEEP_BUCKETS];
static unsigned long kernel_wakes; /* private-word wakes that called the kernel (tests) */

/* A child of fork inherits the counts of threads that were asleep in the
 * parent and do not exist in it; they would never drop, and every wake of a
 * word of those buckets would call the kernel.  Only the forking thread
 * exists in the child, and it is not asleep: all counts are 0 there. */
static void sleepers_fork_child(void) { memset(kernel_sleepers, 0, sizeof kernel_sleepers); }
/* Registered at load, never lazily at a first sleep: that first sleep may
 * come inside a fork's prepare handler (a part's lock contended there),
 * where core.c holds the lock that registration takes: the fork deadlocked
 * on itself (process_fork_churn hung, 1 run in 30; found by a review). */
__attribute__((constructor)) static void sleepers_register(void) {
  mt__on_fork_child(sleepers_fork_child);
}

static uint32_t *sleep_count(const uint32_t *word) {
  uintptr_t a = (uintptr_t)word;
  return &kernel_sleepers[(a >> 2 ^ a >> 10) % SLEEP_BUCKETS];
}

static void full_fence(uint32_t *on) {
#ifdef MT__TSAN
  (void)__atomic_fetch_add(on, 0, __ATOMIC_SEQ_CST);
#else
  (void)on;
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
#endif
}

/* The thread sleeps in the kernel on word (and `also`, when not NULL:
 * futex_waitv) until a wake or the deadline; counted for mt__wake_word. */
static int kernel_wait(const uint32_t *word, uint32_t expected, bool shared, uint32_t *also,
                       int64_t deadline_ns) {
  uint32_t *c = shared ? NULL : sleep_count(word);
  if (c) {
    __atomic_fetch_add(c, 1, __ATOMIC_SEQ_CST);
    full_fence(c);
  }
  int r = also ? mt__sys_futex_wait2(word, expected, shared, also, deadline_ns)
               : mt__sys_futex_wait(word, expected, shared, deadline_ns);
  if (c) __atomic_fetch_sub(c, 1, __ATOMIC_RELEASE);
  return r;
}

int mt__wait_word_kernel(const uint32_t *word, uint32_t expected, bool shared,
                         int64_t deadline_ns) {
  if (deadline_ns != MT__NO_DEADLINE && mt__now_ns() >= deadline_ns)
    return MT_ETIMEDOUT;
  int r = kernel_wait(word, expected, shared, NULL, deadline_ns);
  return r == MT_ETIMEDOUT ? MT_ETIMEDOUT : 0;
}

int mt__wait_word(const uint32_t *word, uint32_t expected, bool shared,
                  int64_t deadline_ns) {
  const mt__parker_t *p = coro_parker();
  if (p && p->wait_word)
    return p->wait_word(p->ctx, word, expected, shared, deadline_ns);
  return mt__wait_word_kernel(word, expected, shared, deadline_ns);
}

static void wake_word_nodes(const uint32_t *word, int n);

/* ---- interrupts ---------------------------------------------------------- */

mt__intr_t *mt__set_intr(mt__intr_t *in) {
  mt__intr_t *old = thread_intr;
  thread_intr = in;
  return old;
}

void mt__intr_raise(mt__intr_t *in) {
  __atomic_store_n(&in->pending, 1, __ATOMIC_SEQ_CST);
  mt__sys_futex_wake(&in->pending, INT32_MAX, false);
  mt__sys_eventfd_signal(in->efd);
}

/* Consumes a raised interrupt: true = the park returns MT_EINTR.  The
 * eventfd may be written after this drain (the raiser sets the word
 * first): a later poll then sees it readable with nothing pending, drains
 * it and polls again (wait_fds_intr). */
static bool intr_take(mt__intr_t *in) {
  if (!__atomic_load_n(&in->pending, __ATOMIC_ACQUIRE) ||
      !__atomic_exchange_n(&in->pending, 0, __ATOMIC_ACQ_REL))
    return false;
  mt__sys_eventfd_drain(in->efd);
  return true;
}

/* A thread's word park with an interrupt record: 0 (re-check), MT_ETIMEDOUT
 * or MT_EINTR.  A word that moved wins over an interrupt, which then stays
 * raised for the next park. */
static int wait_word_intr(const uint32_t *word, uint32_t expected, bool shared,
                          int64_t deadline_ns, mt__intr_t *in) {
  if (mt__deadline_passed(deadline_ns)) return MT_ETIMEDOUT;
  if (intr_take(in)) return MT_EINTR;
  int r = kernel_wait(word, expected, shared, &in->pending, deadline_ns);
  if (__atomic_load_n(word, __ATOMIC_ACQUIRE) != expected) return 0;
  if (intr_take(in)) return MT_EINTR;
  return r;
}

/* A thread's descriptor wait with an interrupt record: the record's
 * eventfd is polled last, beside the caller's descriptors.  Ready
 * descriptors win over an interrupt (it stays raised).  The callers use
 * the poll itself as their readiness test, so a call that need not block
 * (deadline passed, or an interrupt pending) first polls its descriptors
 * with timeout 0: ready ones or a passed deadline end it normally and the
 * interrupt stays for the next wait that blocks. */
static int wait_fds_intr(struct pollfd *fds, int nfds, int64_t deadline_ns, mt__intr_t *in) {
  bool passed = mt__deadline_passed(deadline_ns);
  if (passed || __atomic_load_n(&in->pending, __ATOMIC_ACQUIRE)) {
    int r = mt__sys_poll(fds, (nfds_t)nfds, 0); /* deadline 0: one poll, no wait */
    if (r != MT_ETIMEDOUT || passed) return r;
  }
  struct pollfd small[8], *all = small;
  if (nfds + 1 > 8 && !(all = malloc(((size_t)nfds + 1) * sizeof *all)))
    return mt__sys_poll(fds, (nfds_t)nfds, deadline_ns); /* no memory: not interruptible */
  if (nfds > 0) memcpy(all, fds, (size_t)nfds * sizeof *all);
  all[nfds] = (struct pollfd){.fd = in->efd, .events = POLLIN};
  int r;
  for (;;) {
    if (intr_take(in)) {
      r = MT_EINTR;
      break;
    }
    r = mt__sys_poll(all, (nfds_t)nfds + 1, deadline_ns);
    if (r < 0) break;
    r -= all[nfds].revents != 0;
    if (r > 0) break;
    /* only the eventfd: a raise (taken at the top) or a stale write */
    if (!__atomic_load_n(&in->pending, __ATOMIC_ACQUIRE)) mt__sys_eventfd_drain(in->efd);
  }
  for (int i = 0; i < nfds; i++) fds[i].revents = r > 0 ? all[i].revents : 0;
  if (all != small) free(all);
  return r;
}

void mt__wake_word(uint32_t *word, int n, bool shared) {
  if (shared) { /* sleepers may be in other processes: always the kernel */
    mt__sys_futex_wake(word, n, true);
    return;
  }
  /* Dekker with kernel_wait and park_word_node (see both): the caller
   * changed *word; one fence orders that before both counters' loads */
#ifdef MT__TSAN /* the fence as an RMW on the count (static, never freed), not on
                 * *word: the word's object may be freed as soon as it changed
                 * (a Lock handed over, taken, released and freed by its new
                 * owner: TSan reported a heap-use-after-free here) */
  uint32_t sleepers = __atomic_fetch_add(sleep_count(word), 0, __ATOMIC_SEQ_CST);
#else
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
  uint32_t sleepers = __atomic_load_n(sleep_count(word), __ATOMIC_RELAXED);
#endif
  if (sleepers != 0) {
    __atomic_fetch_add(&kernel_wakes, 1, __ATOMIC_RELAXED);
    mt__sys_futex_wake(word, n, false);
  }
  wake_word_nodes(word, n);
}

unsigned long mt__wake_word_syscalls(void) {
  return __atomic_load_n(&kernel_wakes, __ATOMIC_RELAXED);
}

int mt__wait_fds(struct pollfd *fds, int nfds, int64_t deadline_ns) {
  if (!mt__deadline_passed(deadline_ns)) { /* a look is no cancellation point */
    int c = mt__coro_cancelled();
    if (c) return c;
  }
  const mt__parker_t *p = coro_parker();
  if (p && p->wait_fds) return p->wait_fds(p->ctx, fds, nfds, deadline_ns);
  if (!p && thread_intr) return wait_fds_intr(fds, nfds, deadline_ns, thread_intr);
  return mt__sys_poll(fds, (nfds_t)nfds, deadline_ns);
}

int mt__wait_fds_nocancel(struct pollfd *fds, int nfds, int64_t deadline_ns) {
  const mt__parker_t *p = coro_parker();
  if (!p || !p->wait_fds) return mt__sys_poll(fds, (nfds_t)nfds, deadline_ns);
  for (;;) { /* a scheduler may resume us with MT_ECANCELLED: park again */
    int r = p->wait_fds(p->ctx, fds, nfds, deadline_ns);
    if (r != MT_ECANCELLED) return r;
    mt__wait_cancel_undelivered(r); /* a one-shot cancel: for the next wait */
  }
}

int mt__wait_fd(int fd, short events, int64_t deadline_ns) {
  struct pollfd p = {.fd = fd, .events = events};
  return mt__wait_fds(&p, 1, deadline_ns);
}

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

bool mt__spin_until_changed(const uint32_t *word, uint32_t expected, int rounds) {
  if (rounds > 0 && coro_parker()) rounds = 0; /* the partner is on this thread */
  for (int i = 0; i < rounds; i++) {
    if (__atomic_load_n(word, __ATOMIC_RELAXED) != expected) return true;
    cpu_relax();
  }
  return __atomic_load_n(word, __ATOMIC_RELAXED) != expected;
}

bool mt__spin_pays(int cpus, double quota) {
  return cpus > 1 && (quota <= 0 || quota >= MT__SPIN_MIN_QUOTA);
}

int mt__spin_rounds(void) {
  static _Atomic int rounds = -1;
  int r = atomic_load_explicit(&rounds, memory_order_relaxed);
  if (r < 0) {
    r = mt__spin_pays(mt__cpu_count(), mt__cpu_quota()) ? 2000 : 0;
    atomic_store_explicit(&rounds, r, memory_order_relaxed);
  }
  return r;
}

void mt__set_parker(const mt__parker_t *parker) { thread_parker = parker; }
const mt__parker_t *mt__get_parker(void) { return thread_parker; }

bool mt__may_spin(void) { return coro_parker() == NULL; }

bool mt__may_sleep_outside(void) { return coro_parker() == NULL && thread_intr == NULL; }

bool mt__plain_thread(void) { return thread_parker == NULL && thread_intr == NULL; }

void mt__yield(void) {
  const mt__parker_t *p = coro_parker();
  if (!p) mt__sys_yield();
  else if (p->yield) p->yield(p->ctx);
}

/* ---- waiter lists ---------------------------------------------------------- */

bool mt__stack_copied(void) {
  const mt__parker_t *p = coro_parker();
  return p && p->nodes;
}

bool mt__wait_may_end_early(void) { return mt__coro_current() || thread_intr; }

mt__waiter_t *mt__waiter_node(mt__waiter_t *local) {
  const mt__parker_t *p = coro_parker();
  return p && p->nodes ? &p->nodes->list : local;
}

void mt__waitlist_push(mt__waitlist_t *l, mt__waiter_t *w) {
  w->state = MT__W_QUEUED;
  w->parker = NULL;
  w->next = NULL;
  w->prev = l->tail;
  if (l->tail) l->tail->next = w;
  else l->head = w;
  l->tail = w;
}

static void unlink_node(mt__waitlist_t *l, mt__waiter_t *w) {
  if (w->prev) w->prev->next = w->next;
  else l->head = w->next;
  if (w->next) w->next->prev = w->prev;
  else l->tail = w->prev;
  w->next = w->prev = NULL;
}

bool mt__waitlist_remove(mt__waitlist_t *l, mt__waiter_t *w) {
  /* only wakers (under the same lock) store WOKEN, and they unlink first */
  if (__atomic_load_n(&w->state, __ATOMIC_ACQUIRE) == MT__W_WOKEN) return false;
  unlink_node(l, w);
  return true;
}

mt__wake_t mt__waitlist_pop_wake(mt__waitlist_t *l) {
  mt__waiter_t *w = l->head;
  if (!w) return (mt__wake_t){0};
  /* The newest waiter if it is still spinning: it runs, so the hand-off
   * costs no system call (the oldest has most likely gone to sleep by
   * then).  Sleepers are woken oldest first. */
  if (l->tail != w && __atomic_load_n(&l->tail->state, __ATOMIC_RELAXED) == MT__W_QUEUED)
    w = l->tail;
  unlink_node(l, w);
  uint32_t old = __atomic_exchange_n(&w->state, MT__W_WOKEN, __ATOMIC_ACQ_REL);
  /* A thread may leave as soon as it sees WOKEN: only its address is kept.
   * A parked coroutine leaves only once resumed, and even a deadline resume
   * must retake the lock we hold to finish: its node is still there. */
  if (old == MT__W_PARKED_CORO) return (mt__wake_t){NULL, w->parker, w};
  if (old == MT__W_PARKED) return (mt__wake_t){&w->state, NULL, NULL};
  return (mt__wake_t){0}; /* not asleep yet: it sees WOKEN by itself */
}

void mt__wake_deliver_now(const mt__wake_t *k) {
  if (k->parker) k->parker->unpark(k->parker->ctx, k->w);
  else if (k->word) mt__sys_futex_wake(k->word, 1, false);
}

void mt__waitlist_wake_all(mt__waitlist_t *l) {
  while (l->head) mt__wake_deliver(mt__waitlist_wake_one(l));
}

int mt__waiter_park(mt__waiter_t *w, int64_t deadline_ns) {
  int c = mt__coro_cancelled();
  if (c) return c;
  if (mt__deadline_passed(deadline_ns)) return MT_ETIMEDOUT; /* no spin for nothing */
  const mt__parker_t *p = coro_parker();
  if (p && p->park) {
    /* A waker may pop the node any time after our caller unlocked: the CAS
     * decides who was first, and publishes `parker` to the waker. */
    uint32_t s = MT__W_QUEUED;
    w->parker = p;
    if (!__atomic_compare_exchange_n(&w->state, &s, MT__W_PARKED_CORO, false, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE))
      return 0; /* woken before we parked */
    return p->park(p->ctx, w, deadline_ns);
  }
  mt__intr_t *in = p ? NULL : thread_intr;
  if (in && intr_take(in)) return MT_EINTR;
  if (mt__spin_until_changed(&w->state, MT__W_QUEUED, mt__spin_rounds()) &&
      __atomic_load_n(&w->state, __ATOMIC_ACQUIRE) == MT__W_WOKEN)
    return 0; /* acquire: the waker's writes (the unlink) come before our return */
  uint32_t s = MT__W_QUEUED;
  if (!__atomic_compare_exchange_n(&w->state, &s, MT__W_PARKED, false, __ATOMIC_ACQ_REL,
                                   __ATOMIC_ACQUIRE))
    return 0; /* woken */
  for (;;) {
    if (deadline_ns != MT__NO_DEADLINE && mt__now_ns() >= deadline_ns) return MT_ETIMEDOUT;
    int r = in ? mt__sys_futex_wait2(&w->state, MT__W_PARKED, false, &in->pending, deadline_ns)
               : mt__sys_futex_wait(&w->state, MT__W_PARKED, false, deadline_ns);
    if (__atomic_load_n(&w->state, __ATOMIC_ACQUIRE) == MT__W_WOKEN) return 0;
    if (r == MT_ETIMEDOUT) return MT_ETIMEDOUT;
    if (in && intr_take(in)) return MT_EINTR; /* the caller's remove decides */
  }
}

/* ---- event counts -------------------------------------------------------- */

int mt__evc_wait(mt__evc_t *e, uint32_t key, bool shared, int64_t deadline_ns) {
  return mt__word_park(&e->seq, key, shared, deadline_ns);
}

/* ---- word waits: a coroutine parks a node -------------------------------
 * A private word (a mutex, a barrier's sequence, a thread's state, a
 * once flag) is its own event count: the waiter re-checks it against the
 * value it saw, the waker changes it and then calls mt__wake_word.  A
 * thread sleeps on the word in the kernel, as before.  A coroutine cannot
 * (it would stall its thread), so it parks a waiter node on a waiter list
 * keyed by the word's address: one of WORD_BUCKETS lists, each guarded by a
 * small lock of its own (the kernel's futex hash, in user space).  Its
 * waker reaches it through that node (parker->unpark, from any thread).
 * Waker's cost when no coroutine waits on any word: one fence and one load
 * (`word_nodes`), after the futex wake it made anyway. */
enum { WORD_BUCKETS = 64 };

typedef mt__word_node_t word_node_t; /* wait.h */

static struct word_bucket {
  uint32_t lock; /* 0 free, 1 held, 2 held with sleepers */
  mt__waitlist_t list;
} word_buckets[WORD_BUCKETS];
static uint32_t word_nodes; /* nodes on every list: wakers skip when 0 */

static struct word_bucket *bucket_of(const uint32_t *word) {
  uintptr_t a = (uintptr_t)word;
  return &word_buckets[(a >> 2 ^ a >> 9) % WORD_BUCKETS];
}

/* Held for a few list operations only, never across a park. */
static void bucket_lock(struct word_bucket *b) {
  uint32_t v = 0;
  if (__atomic_compare_exchange_n(&b->lock, &v, 1, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
    return;
  if (v != 2) v = __atomic_exchange_n(&b->lock, 2, __ATOMIC_ACQUIRE);
  while (v != 0) {
    mt__sys_futex_wait(&b->lock, 2, false, MT__NO_DEADLINE);
    v = __atomic_exchange_n(&b->lock, 2, __ATOMIC_ACQUIRE);
  }
}

static void bucket_unlock(struct word_bucket *b) {
  if (__atomic_exchange_n(&b->lock, 0, __ATOMIC_RELEASE) == 2)
    mt__sys_futex_wake(&b->lock, 1, false);
}

/* After mt__wake_word's fence. */
static void wake_word_nodes(const uint32_t *word, int n) {
  /* Dekker with park_word_node: the waker changed *word (then the fence in
   * mt__wake_word), the parker counted itself in word_nodes (seq_cst RMW)
   * before re-reading *word (seq_cst). */
#ifdef MT__TSAN /* no fences under TSan: a read-modify-write orders the same */
  if (__atomic_fetch_add(&word_nodes, 0, __ATOMIC_SEQ_CST) == 0) return;
#else /* a load keeps the counter's line shared among wakers */
  if (__atomic_load_n(&word_nodes, __ATOMIC_RELAXED) == 0) return;
#endif
  struct word_bucket *b = bucket_of(word);
  mt__wake_t todo[8];
  for (;;) {
    int k = 0;
    bool more = false;
    bucket_lock(b);
    for (mt__waiter_t *w = b->list.head; w && n > 0;) {
      mt__waiter_t *next = w->next;
      if (((word_node_t *)w)->word == word) {
        if (k == 8) {
          more = true;
          break;
        }
        mt__waitlist_t one = {w, w}; /* pop exactly this node */
        mt__waiter_t *prev = w->prev;
        w->prev = w->next = NULL;
        if (prev) prev->next = next;
        else b->list.head = next;
        if (next) next->prev = prev;
        else b->list.tail = prev;
        todo[k++] = mt__waitlist_wake_one(&one);
        n--;
      }
      w = next;
    }
    bucket_unlock(b);
    for (int i = 0; i < k; i++) mt__wake_deliver(todo[i]);
    if (!more) return;
  }
}

/* A coroutine under parker p parks on a private word.  Results of
 * mt__waiter_park; 0 also when the word had already moved. */
static int park_word_node(const mt__parker_t *p, const uint32_t *word, uint32_t expected,
                          int64_t deadline_ns) {
  word_node_t local, *np = p->nodes ? &p->nodes->word : &local; /* never on a copied stack */
  np->word = word;
  struct word_bucket *b = bucket_of(word);
  bucket_lock(b);
  __atomic_fetch_add(&word_nodes, 1, __ATOMIC_SEQ_CST);
  if (__atomic_load_n(word, __ATOMIC_SEQ_CST) != expected) {
    __atomic_fetch_sub(&word_nodes, 1, __ATOMIC_RELAXED);
    bucket_unlock(b);
    return 0;
  }
  mt__waitlist_push(&b->list, &np->w);
  bucket_unlock(b);
  int r = mt__waiter_park(&np->w, deadline_ns);
  /* Off the list whatever ended the park (a scheduler may also resume us
   * spuriously); popped by a waker = woken, whatever else happened. */
  bucket_lock(b);
  if (!mt__waitlist_remove(&b->list, &np->w)) {
    mt__wait_cancel_undelivered(r);
    r = 0;
  }
  bucket_unlock(b);
  __atomic_fetch_sub(&word_nodes, 1, __ATOMIC_RELAXED);
  return r;
}

void mt__wait_cancel_undelivered(int r) {
  if (r == MT_EINTR && thread_intr) __atomic_store_n(&thread_intr->pending, 1, __ATOMIC_SEQ_CST);
  else mt__coro_cancel_undelivered(r);
}

int mt__word_park(const uint32_t *word, uint32_t expected, bool shared, int64_t deadline_ns) {
  int c = mt__coro_cancelled();
  if (c) return c;
  const mt__parker_t *p = coro_parker();
  if (p && p->park && !shared) {
    if (mt__deadline_passed(deadline_ns)) return MT_ETIMEDOUT;
    return park_word_node(p, word, expected, deadline_ns);
  }
  if (!p && thread_intr) return wait_word_intr(word, expected, shared, deadline_ns, thread_intr);
  return mt__wait_word(word, expected, shared, deadline_ns);
}
