/* In-process queues: Queue, LifoQueue, PriorityQueue, SimpleQueue.
 *
 * Design.  One mt__mutex_t guards the storage (a growable ring of pointers
 * for FIFO/LIFO, a binary min-heap of {key, seq, item} for priority) and the
 * counters.  The critical sections are a handful of loads and stores, so a
 * plain lock beats lock-free designs on this machine (2 cores) and keeps
 * shutdown/task_done/maxsize trivially exact.
 *
 * Blocking.  Each direction (getters, putters, joiners) has a waiter list
 * of the wait layer (mt__waitlist_t, src/wait/wait.h) kept under the lock.
 * A getter that finds the queue empty pushes its node, unlocks and parks
 * on the node (spinning on it first when that can pay); a putter that
 * stored an item pops ONE getter's node under the lock and wakes it after
 * unlocking, with a system call only if that getter already sleeps in the
 * kernel.  No wake can be lost: the node is queued under the same lock the
 * putter holds, and a woken getter that lost the item to a faster one
 * simply queues again.  A wait that ends by deadline or cancellation takes
 * its node off the list; if a waker popped it first the wake is consumed
 * as a normal one (the loop re-checks).  Putters on a full queue mirror
 * getters; join() waits on its own list, woken all at once.  A coroutine
 * parks the same way: its node is resumed by its scheduler.
 *
 * mt_conn_wait (connection.wait) cannot park on a futex word among descriptors,
 * so a queue waited on gets an eventfd, written under the lock by put and
 * shutdown only while fd_waiters > 0 (see the mt_conn_wait section below).

 * fork.  A child gets a copy of the queue.  If another thread of the parent
 * held q->lock at fork (it was inside put or get), the copy may be torn: the
 * first call in the child takes the lock over after the dead-owner check
 * (sync/mutex.h, at most 10 ms) and gets MT_EOWNERDEAD; the queue is then
 * marked broken and every call on it returns MT_ENOTRECOVERABLE (free only
 * releases the object, reading nothing that may be torn).  A queue nobody
 * was inside is a usable copy.  No fork handler: the library does not list
 * the user's queues, and taking every queue's lock at fork would stall it.

 * Invariants (under lock): 0 <= count <= maxsize (if maxsize); unfinished
 * >= 0 counts puts minus task_done; closed never goes back to false.
 * Lock order: only q->lock; no callback (item_free) runs under it.
 */
#include "multitask/queue.h"
#include "core/core.h"
#include "sync/mutex.h"
#include "queue/queue_internal.h"
#include "platform/platform.h"
#include "wait/wait.h"

#include <stdlib.h>
#include <string.h>

enum kind { K_FIFO, K_LIFO, K_PRIO, K_SIMPLE };

typedef struct hent {
  int64_t key;
  uint64_t seq; /* insertion order breaks ties: stable */
  void *item;
} hent_t;

/* One direction of waiting, under the lock. */
typedef struct waitq {
  mt__waitlist_t list; /* parked waiters' nodes, oldest first */
  uint32_t waiters;    /* waiters blocked in this direction (test hook) */
} waitq_t;

struct mt_queue {
  mt__mutex_t lock;
  enum kind kind;
  size_t maxsize;  /* 0 = unbounded */
  size_t count;    /* items queued */
  size_t cap;      /* slots allocated */
  size_t head;     /* FIFO: index of the oldest item */
  void **ring;     /* FIFO / LIFO storage */
  hent_t *heap;    /* PRIO storage */
  uint64_t next_seq;
  size_t unfinished;
  bool closed;
  bool broken; /* a holder died inside (fork): never trust the state */
  void (*item_free)(void *);
  waitq_t getq, putq, joinq;
  /* mt_conn_wait (connection.wait) support, all under the lock: */
  int efd;             /* eventfd polled by mt_conn_wait; -1 until first needed */
  uint32_t fd_waiters; /* mt_conn_wait calls currently registered on q */
  bool efd_signalled;  /* efd's counter is non-zero */
};

/* ---- storage ------------------------------------------------------------ */

static int grow(mt_queue_t *q) {
  size_t ncap = q->cap ? q->cap * 2 : 16;
  if (q->kind == K_PRIO) {
    hent_t *h = mt__realloc(q->heap, ncap * sizeof *h);
    if (!h) return MT_ENOMEM;
    q->heap = h;
  } else {
    void **r = mt__malloc(ncap * sizeof *r);
    if (!r) return MT_ENOMEM;
    for (size_t i = 0; i < q->count; i++) r[i] = q->ring[(q->head + i) % q->cap];
    mt__free(q->ring);
    q->ring = r;
    q->head = 0;
  }
  q->cap = ncap;
  return 0;
}

static bool hless(const hent_t *a, const hent_t *b) {
  return a->key < b->key || (a->key == b->key && a->seq < b->seq);
}

static void heap_push(mt_queue_t *q, hent_t e) {
  size_t i = q->count;
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (!hless(&e, &q->heap[parent])) break;
    q->heap[i] = q->heap[parent];
    i = parent;
  }
  q->heap[i] = e;
}

static hent_t heap_pop(mt_queue_t *q) {
  hent_t top = q->heap[0];
  hent_t last = q->heap[q->count - 1];
  size_t n = q->count - 1, i = 0;
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= n) break;
    if (c + 1 < n && hless(&q->heap[c + 1], &q->heap[c])) c++;
    if (!hless(&q->heap[c], &last)) break;
    q->heap[i] = q->heap[c];
    i = c;
  }
  if (n > 0) q->heap[i] = last;
  return top;
}

/* Stores one item; the caller checked room.  0 or MT_ENOMEM. */
static int store(mt_queue_t *q, int64_t key, void *item) {
  if (q->count == q->cap) {
    int r = grow(q);
    if (r) return r;
  }
  if (q->kind == K_PRIO)
    heap_push(q, (hent_t){key, q->next_seq++, item});
  else
    q->ring[(q->head + q->count) % q->cap] = item;
  __atomic_store_n(&q->count, q->count + 1, __ATOMIC_RELAXED);
  return 0;
}

static void *take(mt_queue_t *q, int64_t *key) {
  void *item;
  *key = 0;
  if (q->kind == K_PRIO) {
    hent_t e = heap_pop(q);
    *key = e.key;
    item = e.item;
  } else if (q->kind == K_LIFO) {
    item = q->ring[(q->head + q->count - 1) % q->cap];
  } else {
    item = q->ring[q->head];
    q->head = (q->head + 1) % q->cap;
  }
  __atomic_store_n(&q->count, q->count - 1, __ATOMIC_RELAXED);
  return item;
}

/* ---- waiting -------------------------------------------------------------- */

static void unlock(mt_queue_t *q) { mt__mutex_unlock(&q->lock, false); }

static bool is_broken(const mt_queue_t *q) { return __atomic_load_n(&q->broken, __ATOMIC_RELAXED); }

/* Takes the lock whatever the state; a dead holder marks the queue broken. */
static void lock_raw(mt_queue_t *q) {
  if (mt__mutex_lock(&q->lock, false, MT__NO_DEADLINE) == MT_EOWNERDEAD)
    __atomic_store_n(&q->broken, true, __ATOMIC_RELAXED);
}

/* 0 with the lock held, or MT_ENOTRECOVERABLE (not held): see "fork". */
static int lock(mt_queue_t *q) {
  lock_raw(q);
  if (!is_broken(q)) return 0;
  unlock(q);
  return MT_ENOTRECOVERABLE;
}

/* Under lock, only when fd_waiters > 0: makes the eventfd readable (one
 * system call per empty -> ready episode, not per put). */
static void signal_fd(mt_queue_t *q) {
  if (q->efd_signalled || q->efd < 0) return;
  q->efd_signalled = true;
  mt__sys_eventfd_signal(q->efd);
}

/* Called with the lock held; returns with it held: 0 (woken, or the
 * deadline passed: re-check either way) or MT_ECANCELLED / MT_EINTR. */
static int park(mt_queue_t *q, waitq_t *w, int64_t deadline) {
  mt__waiter_t local, *node = mt__waiter_node(&local); /* never on a copied stack */
  mt__waitlist_push(&w->list, node);
  w->waiters++;
  unlock(q);
  int r = mt__waiter_park(node, deadline);
  lock_raw(q);
  w->waiters--;
  /* Off the list whatever ended the park (a scheduler may resume a
   * coroutine spuriously, its node still queued); not removed: a waker
   * popped us first, so this counts as a wake. */
  if (!mt__waitlist_remove(&w->list, node)) {
    mt__wait_cancel_undelivered(r);
    r = 0;
  }
  return r == MT_ETIMEDOUT ? 0 : r;
}

/* ---- construction ----------------------------------------------------------- */

static mt_queue_t *make(enum kind kind, size_t maxsize) {
  mt_queue_t *q = mt__calloc(1, sizeof *q);
  if (!q) return mt__fail_null(MT_ENOMEM);
  mt__mutex_init(&q->lock);
  q->efd = -1;
  q->kind = kind;
  q->maxsize = maxsize;
  return q;
}

mt_queue_t *mt_queue_new(size_t maxsize) { return make(K_FIFO, maxsize); }
mt_queue_t *mt_queue_new_lifo(size_t maxsize) { return make(K_LIFO, maxsize); }
mt_queue_t *mt_queue_new_priority(size_t maxsize) { return make(K_PRIO, maxsize); }
mt_queue_t *mt_queue_new_simple(void) { return make(K_SIMPLE, 0); }

int mt_queue_set_item_free(mt_queue_t *q, void (*item_free)(void *)) {
  if (!q) return MT_EINVAL;
  int r = lock(q);
  if (r < 0) return r;
  q->item_free = item_free;
  unlock(q);
  return 0;
}

/* The queued items, detached from the queue under its lock so the
 * destructor runs without the lock.  The storage itself moves out (no
 * allocation: an out-of-memory here would leak the items). */
typedef struct detached {
  void **ring;
  hent_t *heap;
  size_t head, count, cap;
} detached_t;

static detached_t detach_locked(mt_queue_t *q) {
  detached_t d = {q->ring, q->heap, q->head, q->count, q->cap};
  q->ring = NULL;
  q->heap = NULL;
  q->head = q->cap = 0;
  __atomic_store_n(&q->count, 0, __ATOMIC_RELAXED);
  return d;
}

/* Runs item_free (may be NULL) on each detached item, frees the storage. */
static void detached_free(detached_t *d, void (*item_free)(void *)) {
  for (size_t i = 0; item_free && i < d->count; i++)
    item_free(d->heap ? d->heap[i].item : d->ring[(d->head + i) % d->cap]);
  mt__free(d->ring);
  mt__free(d->heap);
}

void mt_queue_free(mt_queue_t *q) {
  if (!q) return;
  if (is_broken(q)) { /* ring/heap may be dangling (a grow was cut short) */
    if (q->efd >= 0) mt__sys_close(q->efd);
    mt__free(q);
    return;
  }
  detached_t d = detach_locked(q);
  detached_free(&d, q->item_free);
  if (q->efd >= 0) mt__sys_close(q->efd);
  mt__free(q);
}

/* ---- put / get -------------------------------------------------------------- */

int mt_queue_put_prio(mt_queue_t *q, int64_t key, void *item, double timeout) {
  int64_t deadline = 0;
  if (!q) return MT_EINVAL;
  if (timeout != 0 && mt__deadline(timeout, &deadline)) return MT_EINVAL;
  int r = lock(q);
  if (r < 0) return r;
  for (;;) {
    if (q->broken) {
      r = MT_ENOTRECOVERABLE;
      break;
    }
    if (q->closed) {
      r = MT_ECLOSED;
      break;
    }
    if (q->maxsize == 0 || q->count < q->maxsize) {
      r = store(q, key, item);
      if (r == 0) q->unfinished++;
      break;
    }
    if (timeout == 0 || mt__deadline_passed(deadline)) {
      r = MT_EFULL; /* Python raises Full at expiry as at timeout 0 */
      break;
    }
    r = park(q, &q->putq, deadline);
    if (r < 0) break;
  }
  mt__wake_t wake = {0};
  if (r == 0) wake = mt__waitlist_wake_one(&q->getq.list);
  if (r == 0 && q->fd_waiters) signal_fd(q);
  unlock(q);
  mt__wake_deliver(wake);
  return r;
}

int mt_queue_put(mt_queue_t *q, void *item, double timeout) {
  return mt_queue_put_prio(q, 0, item, timeout);
}

int mt_queue_put_nowait(mt_queue_t *q, void *item) { return mt_queue_put_prio(q, 0, item, 0); }

int mt_queue_get_prio(mt_queue_t *q, int64_t *key, void **item, double timeout) {
  int64_t deadline = 0, k;
  if (!q || !item) return MT_EINVAL;
  if (timeout != 0 && mt__deadline(timeout, &deadline)) return MT_EINVAL;
  int r = lock(q);
  if (r < 0) return r;
  for (;;) {
    if (q->broken) {
      r = MT_ENOTRECOVERABLE;
      break;
    }
    if (q->count > 0) {
      *item = take(q, &k);
      if (key) *key = k;
      r = 0;
      break;
    }
    if (q->closed) {
      r = MT_ECLOSED;
      break;
    }
    if (timeout == 0 || mt__deadline_passed(deadline)) {
      r = MT_EEMPTY; /* Python raises Empty at expiry as at timeout 0 */
      break;
    }
    r = park(q, &q->getq, deadline);
    if (r < 0) break;
  }
  mt__wake_t wake = {0};
  if (r == 0) wake = mt__waitlist_wake_one(&q->putq.list);
  unlock(q);
  mt__wake_deliver(wake);
  return r;
}

int mt_queue_get(mt_queue_t *q, void **item, double timeout) {
  return mt_queue_get_prio(q, NULL, item, timeout);
}

int mt_queue_get_nowait(mt_queue_t *q, void **item) {
  return mt_queue_get_prio(q, NULL, item, 0);
}

/* ---- inspection ---------------------------------------------------------- */

static size_t load_count(const mt_queue_t *q) {
  return __atomic_load_n(&q->count, __ATOMIC_RELAXED);
}

int mt_queue_qsize(const mt_queue_t *q) {
  if (!q) return MT_EINVAL;
  if (is_broken(q)) return MT_ENOTRECOVERABLE;
  size_t n = load_count(q);
  return n > INT32_MAX ? INT32_MAX : (int)n;
}

int mt_queue_is_empty(const mt_queue_t *q) {
  if (!q) return MT_EINVAL;
  if (is_broken(q)) return MT_ENOTRECOVERABLE;
  return load_count(q) == 0;
}

int mt_queue_is_full(const mt_queue_t *q) {
  if (!q) return MT_EINVAL;
  if (is_broken(q)) return MT_ENOTRECOVERABLE;
  return q->maxsize > 0 && load_count(q) >= q->maxsize;
}

size_t mt_queue_maxsize(const mt_queue_t *q) { return q ? q->maxsize : 0; }

/* ---- task_done / join ------------------------------------------------------ */

int mt_queue_task_done(mt_queue_t *q) {
  if (!q) return MT_EINVAL;
  if (q->kind == K_SIMPLE) return MT_ENOTSUP;
  int r = lock(q);
  if (r < 0) return r;
  if (q->unfinished == 0) {
    unlock(q);
    return MT_EOVERFLOW;
  }
  if (--q->unfinished == 0) mt__waitlist_wake_all(&q->joinq.list);
  unlock(q);
  return 0;
}

int mt_queue_join(mt_queue_t *q, double timeout) {
  int64_t deadline = 0;
  if (!q) return MT_EINVAL;
  if (q->kind == K_SIMPLE) return MT_ENOTSUP;
  if (timeout != 0 && mt__deadline(timeout, &deadline)) return MT_EINVAL;
  int r = lock(q);
  if (r < 0) return r;
  while (q->unfinished > 0) {
    if (q->broken) {
      r = MT_ENOTRECOVERABLE;
      break;
    }
    if (timeout == 0 || mt__deadline_passed(deadline)) {
      r = MT_ETIMEDOUT;
      break;
    }
    r = park(q, &q->joinq, deadline);
    if (r < 0) break;
  }
  unlock(q);
  return r;
}

/* ---- shutdown ---------------------------------------------------------------- */

int mt_queue_shutdown(mt_queue_t *q, bool immediate) {
  if (!q) return MT_EINVAL;
  detached_t d = {0};
  int r = lock(q);
  if (r < 0) return r;
  __atomic_store_n(&q->closed, true, __ATOMIC_RELAXED);
  if (immediate) {
    size_t queued = q->count;
    d = detach_locked(q);
    q->unfinished = q->unfinished > queued ? q->unfinished - queued : 0;
  }
  void (*item_free)(void *) = q->item_free;
  /* Everybody re-checks. */
  mt__waitlist_wake_all(&q->getq.list);
  mt__waitlist_wake_all(&q->putq.list);
  if (q->unfinished == 0) mt__waitlist_wake_all(&q->joinq.list);
  if (q->fd_waiters) signal_fd(q);
  unlock(q);
  detached_free(&d, item_free);
  return 0;
}

int mt_queue_is_shutdown(const mt_queue_t *q) {
  if (!q) return MT_EINVAL;
  if (is_broken(q)) return MT_ENOTRECOVERABLE;
  return __atomic_load_n(&q->closed, __ATOMIC_RELAXED) ? 1 : 0;
}

/* ---- mt_conn_wait support (queue_internal.h) --------------------------------------
 * An mt_conn_wait caller registers (fd_waiters++), then loops: check (ready, or
 * drain the eventfd while the queue is empty), poll the eventfd with the
 * other descriptors, check again.  A put or shutdown signals the eventfd
 * under the same lock whenever fd_waiters > 0, so between a check that saw
 * "empty" and the poll no event can slip by: the eventfd stays readable
 * until a later check finds the queue empty again.  efd_signalled mirrors
 * the eventfd's counter (both change only under the lock), so a burst of
 * puts costs one write.  The put fast path pays one load of fd_waiters. */

int mt__queue_wait_begin(mt_queue_t *q) {
  int r = lock(q);
  if (r < 0) return r;
  if (q->efd < 0) {
    int fd = mt__sys_eventfd();
    if (fd < 0) {
      unlock(q);
      return fd;
    }
    q->efd = fd;
  }
  q->fd_waiters++;
  int fd = q->efd;
  unlock(q);
  return fd;
}

int mt__queue_wait_check(mt_queue_t *q) {
  if (lock(q) < 0) return 1; /* "ready": the caller's get says why */
  bool ready = q->count > 0 || q->closed;
  if (!ready && q->efd_signalled) {
    mt__sys_eventfd_drain(q->efd);
    q->efd_signalled = false;
  }
  unlock(q);
  return ready;
}

void mt__queue_wait_end(mt_queue_t *q) {
  if (lock(q) < 0) return;
  q->fd_waiters--;
  unlock(q);
}

/* ---- test hook (queue_internal.h) -------------------------------------------- */

void mt__queue_waiting(mt_queue_t *q, int *getters, int *putters, int *joiners) {
  lock_raw(q);
  *getters = (int)q->getq.waiters;
  *putters = (int)q->putq.waiters;
  *joiners = (int)q->joinq.waiters;
  unlock(q);
}

int mt__queue_fd_waiters(mt_queue_t *q) {
  lock_raw(q);
  int n = (int)q->fd_waiters;
  unlock(q);
  return n;
}

void mt__queue_hold_lock(mt_queue_t *q, bool hold) {
  if (hold) lock_raw(q);
  else unlock(q);
}
