/* Cross-process queues: multiprocessing.Queue / JoinableQueue.
 *
 * Design.  One anonymous MAP_SHARED mapping holds a header and a ring of
 * `nslots` fixed-size slots (a 4-byte length + up to max_msg bytes).  Every
 * operation runs under a robust mt__mutex_t (shared mode: a waiter notices a
 * dead holder within MT__M_SLICE_NS and takes the lock over with
 * MT_EOWNERDEAD).  Fixed slots were chosen over a byte ring because they make
 * the crash analysis trivial and a message never wraps.
 *
 * Commit-style writes: a producer copies the message into the slot at
 * `tail`, THEN publishes it with one 64-bit store of tail_unf = {tail + 1,
 * unfinished + 1}; a consumer copies the slot out, THEN retires it with one
 * 32-bit store of head + 1.  A process killed at any instruction therefore
 * leaves either the old state (the half-written slot is invisible and will
 * be overwritten; the half-read message is still queued) or the new one.  So
 * after MT_EOWNERDEAD there is nothing to repair: no torn message, no
 * duplicate, at most once.  The packed tail/unfinished word is what makes
 * JoinableQueue's count crash-consistent with the ring.
 *
 * Blocking mirrors queue.c: per direction an event word `seq` bumped under
 * the lock, and counts of sleepers and of kernel wakes in flight (also under
 * the lock), so a burst of puts toward a sleeping consumer costs one wake
 * call.  Because a process can die between publishing and waking, sleepers
 * park in slices of SLICE_NS and re-check; a process killed while counted as
 * a sleeper leaves the counts off by one, which costs a spare wake call,
 * never a lost wake.  join() sleeps without the lock on join_seq, with a
 * sleeper count as the Dekker partner of task_done.
 *
 * Each event word is its own event count in the wait layer's sense: waiters
 * park with mt__word_park (shared: a thread sleeps on the futex, a coroutine
 * goes to its parker's word wait, a bounded re-check that also sees a put
 * by another process).  So get, put and join are cancellation points: a
 * killed coroutine gets MT_ECANCELLED (MT_EINTR is passed on the same way),
 * takes itself off the sleeper counts, and a get or put passes on the wake
 * it may have consumed when the next waiter could go on (an item queued, a
 * slot free): a spare wake costs a re-check, a lost one a stuck waiter.
 *
 * mt_conn_wait (connection.wait) needs a descriptor: an eventfd made with the
 * queue (so every process forked later shares it), written by put and
 * shutdown under the lock while some mt_conn_wait is registered (see the
 * mt_conn_wait section at the end).

 * Invariants (under lock): 0 <= tail - head <= nslots (uint32 arithmetic);
 * slots in [head, tail) hold complete messages; unfinished >= 0.
 * Lock order: the queue's one lock, nothing else.
 */
#include "multitask/queue.h"
#include "core/core.h"
#include "platform/platform.h"
#include "sync/mutex.h"
#include "queue/queue_internal.h"
#include "wait/wait.h"

#include <string.h>

#define SLICE_NS (50 * 1000 * 1000)
#define HDR_SIZE 192
#define SLOT_HDR 8

/* One direction of waiting, in the shared header; changed under the lock. */
typedef struct waitq {
  uint32_t seq;      /* event word */
  uint32_t sleepers; /* processes/threads parked in the kernel */
  uint32_t wakes;    /* kernel wakes sent, not yet consumed */
} waitq_t;

struct mt_mpqueue {
  mt__mutex_t lock;
  uint32_t nslots;
  uint32_t slot_size;
  uint32_t max_msg;
  uint32_t joinable;
  uint32_t closed;
  uint32_t head;     /* consumer commit word */
  uint64_t tail_unf; /* low 32: tail, high 32: unfinished tasks */
  waitq_t getq, putq;
  uint32_t join_seq, join_sleepers;
  size_t map_size;
  /* mt_conn_wait support, under the lock (see mt__mpqueue_wait_begin): */
  int32_t efd;           /* eventfd made with the queue, inherited by fork */
  uint32_t fd_waiters;   /* registered mt_conn_wait calls, all processes */
  uint32_t efd_signalled;
};

_Static_assert(sizeof(struct mt_mpqueue) <= HDR_SIZE, "header too big");

static unsigned char *slot(mt_mpqueue_t *q, uint32_t idx) {
  return (unsigned char *)q + HDR_SIZE + (size_t)(idx % q->nslots) * q->slot_size;
}

static uint32_t tail_of(uint64_t tu) { return (uint32_t)tu; }
static uint32_t unf_of(uint64_t tu) { return (uint32_t)(tu >> 32); }
static uint64_t pack(uint32_t tail, uint32_t unf) { return (uint64_t)unf << 32 | tail; }

static uint64_t load_tu(const mt_mpqueue_t *q) {
  return __atomic_load_n(&q->tail_unf, __ATOMIC_ACQUIRE);
}
static uint32_t load_head(const mt_mpqueue_t *q) {
  return __atomic_load_n(&q->head, __ATOMIC_ACQUIRE);
}

/* ---- creation ----------------------------------------------------------- */

static mt_mpqueue_t *make(size_t maxsize, size_t max_msg, bool joinable) {
  if (maxsize == 0) maxsize = MT_MPQUEUE_DEFAULT_SLOTS;
  if (max_msg == 0) max_msg = MT_MPQUEUE_DEFAULT_MSG;
  if (max_msg > MT_MPQUEUE_MAX_MSG || maxsize > (1u << 30)) return mt__fail_null(MT_EINVAL);
  size_t slot_size = (max_msg + SLOT_HDR + 7) & ~(size_t)7;
  if (maxsize > ((size_t)1 << 40) / slot_size) return mt__fail_null(MT_EINVAL);
  size_t size = HDR_SIZE + maxsize * slot_size;
  int efd = mt__sys_eventfd();
  if (efd < 0) return mt__fail_null(efd);
  mt_mpqueue_t *q = mt__obj_alloc(size, MT_SHARED);
  if (!q) {
    mt__sys_close(efd);
    return mt__fail_null(MT_ENOMEM);
  }
  mt__mutex_init(&q->lock);
  q->efd = efd;
  q->nslots = (uint32_t)maxsize;
  q->slot_size = (uint32_t)slot_size;
  q->max_msg = (uint32_t)max_msg;
  q->joinable = joinable;
  q->map_size = size;
  return q;
}

mt_mpqueue_t *mt_mpqueue_new(size_t maxsize, size_t max_msg) {
  return make(maxsize, max_msg, false);
}

mt_mpqueue_t *mt_mpqueue_new_joinable(size_t maxsize, size_t max_msg) {
  return make(maxsize, max_msg, true);
}

void mt_mpqueue_free(mt_mpqueue_t *q) {
  if (!q) return;
  mt__sys_close(q->efd);
  mt__obj_free(q, q->map_size, MT_SHARED);
}

/* ---- locking and parking ------------------------------------------------- */

/* 0 with the lock held (a dead holder's state needs no repair, see the
 * essay), or MT_ETIMEDOUT without it. */
static int lock(mt_mpqueue_t *q, int64_t deadline) {
  int r = mt__mutex_lock(&q->lock, true, deadline);
  return r == MT_EOWNERDEAD ? 0 : r;
}
static void unlock(mt_mpqueue_t *q) { mt__mutex_unlock(&q->lock, true); }

/* Under lock: one event; returns whether a kernel wake is needed. */
static bool signal_one(waitq_t *w) {
  __atomic_store_n(&w->seq, w->seq + 1, __ATOMIC_RELEASE);
  if (w->sleepers <= w->wakes) return false;
  w->wakes++;
  return true;
}

/* Under lock: makes the eventfd readable for mt_conn_wait callers (one write
 * per empty -> ready episode). */
static void signal_fd(mt_mpqueue_t *q) {
  if (q->fd_waiters == 0 || q->efd_signalled) return;
  q->efd_signalled = 1;
  mt__sys_eventfd_signal(q->efd);
}

static void signal_all(waitq_t *w) {
  __atomic_store_n(&w->seq, w->seq + 1, __ATOMIC_RELEASE);
  w->wakes = w->sleepers;
}

/* Waits without the lock for *word to move from `seen` (a slice at most);
 * used by join, whose partner task_done bumps the word (and wakes all).
 * 0 (re-check; also at the slice's end) or MT_ECANCELLED / MT_EINTR. */
static int sleep_on(uint32_t *word, uint32_t seen, uint32_t *sleepers, int64_t deadline) {
  if (mt__spin_until_changed(word, seen, mt__spin_rounds())) return 0;
  int64_t until = mt__now_ns() + SLICE_NS;
  if (until > deadline) until = deadline;
  __atomic_fetch_add(sleepers, 1, __ATOMIC_SEQ_CST);
  int r = mt__word_park(word, seen, true, until);
  __atomic_fetch_sub(sleepers, 1, __ATOMIC_SEQ_CST);
  return r == MT_ETIMEDOUT ? 0 : r;
}

/* Called with the lock held: spin unlocked, then park for a slice at most;
 * returns with the lock held again (relocking has no deadline and is no
 * cancellation point: a holder keeps it for a copy, a dead holder is
 * detected within ~10 ms) and the sleeper counts unwound.  0 (re-check;
 * also at the slice's end: the caller checks its deadline) or
 * MT_ECANCELLED / MT_EINTR. */
static int park(mt_mpqueue_t *q, waitq_t *w, int64_t deadline) {
  uint32_t seen = w->seq;
  unlock(q);
  bool moved = mt__spin_until_changed(&w->seq, seen, mt__spin_rounds());
  lock(q, MT__NO_DEADLINE);
  if (moved || w->seq != seen) return 0;
  w->sleepers++;
  unlock(q);
  int64_t until = mt__now_ns() + SLICE_NS;
  if (until > deadline) until = deadline;
  int r = mt__word_park(&w->seq, seen, true, until);
  lock(q, MT__NO_DEADLINE);
  if (w->sleepers > 0) w->sleepers--;
  if (w->wakes > 0) w->wakes--;
  return r == MT_ETIMEDOUT ? 0 : r;
}

static int start(mt_mpqueue_t *q, double timeout, int64_t *deadline) {
  *deadline = MT__NO_DEADLINE;
  if (!q) return MT_EINVAL;
  if (timeout != 0 && mt__deadline(timeout, deadline)) return MT_EINVAL;
  if (timeout == 0) *deadline = MT__NO_DEADLINE; /* never parks anyway */
  return lock(q, *deadline);
}

/* ---- put / get ------------------------------------------------------------ */

int mt_mpqueue_put(mt_mpqueue_t *q, const void *data, size_t len, double timeout) {
  int64_t deadline;
  if (q && len > q->max_msg) return MT_EMSGSIZE;
  if (q && len > 0 && !data) return MT_EINVAL;
  int r = start(q, timeout, &deadline);
  if (r) return r;
  bool wake = false, pass = false;
  for (;;) {
    if (__atomic_load_n(&q->closed, __ATOMIC_RELAXED)) {
      r = MT_ECLOSED;
      break;
    }
    uint64_t tu = load_tu(q);
    uint32_t tail = tail_of(tu);
    if (tail - load_head(q) < q->nslots) {
      unsigned char *s = slot(q, tail);
      uint32_t n = (uint32_t)len;
      memcpy(s, &n, sizeof n);
      if (len) memcpy(s + SLOT_HDR, data, len);
      /* THE commit: one store publishes the slot (and counts the task). */
      __atomic_store_n(&q->tail_unf, pack(tail + 1, unf_of(tu) + q->joinable),
                       __ATOMIC_RELEASE);
      wake = signal_one(&q->getq);
      signal_fd(q);
      r = 0;
      break;
    }
    if (timeout == 0 || mt__deadline_passed(deadline)) {
      r = MT_EFULL; /* Python raises Full at expiry as at timeout 0 */
      break;
    }
    r = park(q, &q->putq, deadline);
    if (r < 0) { /* MT_ECANCELLED / MT_EINTR: a free slot goes to the next putter */
      pass = tail_of(load_tu(q)) - load_head(q) < q->nslots && signal_one(&q->putq);
      break;
    }
  }
  unlock(q);
  if (wake) mt__wake_word(&q->getq.seq, 1, true);
  if (pass) mt__wake_word(&q->putq.seq, 1, true);
  return r;
}

int mt_mpqueue_get(mt_mpqueue_t *q, void *buf, size_t cap, size_t *needed, double timeout) {
  int64_t deadline;
  if (q && cap > 0 && !buf) return MT_EINVAL;
  int r = start(q, timeout, &deadline);
  if (r) return r;
  bool wake = false, pass = false;
  for (;;) {
    uint32_t head = load_head(q);
    if (tail_of(load_tu(q)) != head) {
      unsigned char *s = slot(q, head);
      uint32_t n;
      memcpy(&n, s, sizeof n);
      if (n > cap) {
        if (needed) *needed = n;
        r = MT_EMSGSIZE; /* the message stays queued */
        break;
      }
      if (n) memcpy(buf, s + SLOT_HDR, n);
      /* THE commit: the message leaves the queue only now. */
      __atomic_store_n(&q->head, head + 1, __ATOMIC_RELEASE);
      wake = signal_one(&q->putq);
      if (needed) *needed = n;
      r = (int)n;
      break;
    }
    if (__atomic_load_n(&q->closed, __ATOMIC_RELAXED)) {
      r = MT_ECLOSED;
      break;
    }
    if (timeout == 0 || mt__deadline_passed(deadline)) {
      r = MT_EEMPTY; /* Python raises Empty at expiry as at timeout 0 */
      break;
    }
    r = park(q, &q->getq, deadline);
    if (r < 0) { /* MT_ECANCELLED / MT_EINTR: a queued item goes to the next getter */
      pass = tail_of(load_tu(q)) != load_head(q) && signal_one(&q->getq);
      break;
    }
  }
  unlock(q);
  if (wake) mt__wake_word(&q->putq.seq, 1, true);
  if (pass) mt__wake_word(&q->getq.seq, 1, true);
  return r;
}

/* ---- inspection ---------------------------------------------------------- */

int mt_mpqueue_qsize(const mt_mpqueue_t *q) {
  if (!q) return MT_EINVAL;
  uint32_t head = load_head(q);
  uint32_t n = tail_of(load_tu(q)) - head;
  return n > q->nslots ? (int)q->nslots : (int)n; /* a racing read: clamp */
}

int mt_mpqueue_is_empty(const mt_mpqueue_t *q) {
  int n = mt_mpqueue_qsize(q);
  return n < 0 ? n : n == 0;
}

int mt_mpqueue_is_full(const mt_mpqueue_t *q) {
  int n = mt_mpqueue_qsize(q);
  return n < 0 ? n : (uint32_t)n >= q->nslots;
}

size_t mt_mpqueue_max_msg(const mt_mpqueue_t *q) { return q ? q->max_msg : 0; }

/* ---- JoinableQueue --------------------------------------------------------- */

int mt_mpqueue_task_done(mt_mpqueue_t *q) {
  if (!q) return MT_EINVAL;
  if (!q->joinable) return MT_ENOTSUP;
  lock(q, MT__NO_DEADLINE);
  uint64_t tu = load_tu(q);
  if (unf_of(tu) == 0) {
    unlock(q);
    return MT_EOVERFLOW;
  }
  __atomic_store_n(&q->tail_unf, pack(tail_of(tu), unf_of(tu) - 1), __ATOMIC_SEQ_CST);
  bool wake = false;
  if (unf_of(tu) == 1) {
    __atomic_fetch_add(&q->join_seq, 1, __ATOMIC_SEQ_CST);
    wake = __atomic_load_n(&q->join_sleepers, __ATOMIC_SEQ_CST) > 0;
  }
  unlock(q);
  if (wake) mt__wake_word(&q->join_seq, INT32_MAX, true);
  return 0;
}

int mt_mpqueue_join(mt_mpqueue_t *q, double timeout) {
  int64_t deadline = MT__NO_DEADLINE;
  if (!q) return MT_EINVAL;
  if (!q->joinable) return MT_ENOTSUP;
  if (timeout != 0 && mt__deadline(timeout, &deadline)) return MT_EINVAL;
  for (;;) {
    uint32_t seen = __atomic_load_n(&q->join_seq, __ATOMIC_SEQ_CST);
    if (unf_of(__atomic_load_n(&q->tail_unf, __ATOMIC_SEQ_CST)) == 0) return 0;
    if (timeout == 0 || mt__deadline_passed(deadline)) return MT_ETIMEDOUT;
    /* killed: nothing to pass on (task_done and shutdown wake every joiner) */
    int r = sleep_on(&q->join_seq, seen, &q->join_sleepers, deadline);
    if (r < 0) return r;
  }
}

/* ---- shutdown ---------------------------------------------------------------- */

int mt_mpqueue_shutdown(mt_mpqueue_t *q, bool immediate) {
  if (!q) return MT_EINVAL;
  lock(q, MT__NO_DEADLINE);
  __atomic_store_n(&q->closed, 1, __ATOMIC_SEQ_CST);
  if (immediate) {
    uint64_t tu = load_tu(q);
    uint32_t queued = tail_of(tu) - load_head(q);
    uint32_t unf = unf_of(tu) > queued ? unf_of(tu) - queued : 0;
    __atomic_store_n(&q->tail_unf, pack(tail_of(tu), unf), __ATOMIC_SEQ_CST);
    __atomic_store_n(&q->head, tail_of(tu), __ATOMIC_SEQ_CST);
  }
  signal_all(&q->getq);
  signal_all(&q->putq);
  __atomic_fetch_add(&q->join_seq, 1, __ATOMIC_SEQ_CST);
  signal_fd(q);
  unlock(q);
  mt__wake_word(&q->getq.seq, INT32_MAX, true);
  mt__wake_word(&q->putq.seq, INT32_MAX, true);
  mt__wake_word(&q->join_seq, INT32_MAX, true);
  return 0;
}

int mt_mpqueue_is_shutdown(const mt_mpqueue_t *q) {
  if (!q) return MT_EINVAL;
  return __atomic_load_n(&q->closed, __ATOMIC_RELAXED) ? 1 : 0;
}

/* ---- mt_conn_wait support (queue_internal.h) --------------------------------------
 * As in queue.c, but the eventfd is made with the queue (a descriptor
 * created later would not exist in processes forked before), and check
 * drains it whenever the queue is empty rather than trusting the flag: a
 * process killed between setting efd_signalled and writing leaves the flag
 * set with the counter at 0, which the next check repairs.  A process
 * killed while registered leaves fd_waiters raised: puts then make one
 * spare write per episode, never a missed one. */

int mt__mpqueue_wait_begin(mt_mpqueue_t *q) {
  lock(q, MT__NO_DEADLINE);
  q->fd_waiters++;
  int fd = q->efd;
  unlock(q);
  return fd;
}

int mt__mpqueue_wait_check(mt_mpqueue_t *q) {
  lock(q, MT__NO_DEADLINE);
  bool ready = tail_of(load_tu(q)) != load_head(q) || q->closed;
  if (!ready) {
    mt__sys_eventfd_drain(q->efd);
    q->efd_signalled = 0;
  }
  unlock(q);
  return ready;
}

void mt__mpqueue_wait_end(mt_mpqueue_t *q) {
  lock(q, MT__NO_DEADLINE);
  if (q->fd_waiters > 0) q->fd_waiters--;
  unlock(q);
}

/* ---- test hook (queue_internal.h) -------------------------------------------- */

void mt__mpqueue_sleeping(const mt_mpqueue_t *q, int *getters, int *putters) {
  *getters = (int)__atomic_load_n(&q->getq.sleepers, __ATOMIC_SEQ_CST);
  *putters = (int)__atomic_load_n(&q->putq.sleepers, __ATOMIC_SEQ_CST);
}

int mt__mpqueue_fd_waiters(mt_mpqueue_t *q) {
  lock(q, MT__NO_DEADLINE);
  int n = (int)q->fd_waiters;
  unlock(q);
  return n;
}

int mt_mpqueue_put_nowait(mt_mpqueue_t *q, const void *data, size_t len) {
  return mt_mpqueue_put(q, data, len, 0);
}

int mt_mpqueue_get_nowait(mt_mpqueue_t *q, void *buf, size_t cap, size_t *needed) {
  return mt_mpqueue_get(q, buf, cap, needed, 0);
}
