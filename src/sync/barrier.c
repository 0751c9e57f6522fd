/* Barrier, following Python's algorithm (threading.Barrier):
 *
 *   state  0 filling: threads arrive, the last one runs the action and
 *            switches to draining;
 *          1 draining: arrived threads leave; newcomers wait for the
 *            barrier to refill (the last to leave sets state 0);
 *         -1 resetting: waiters leave with MT_EBROKEN, then state 0;
 *         -2 broken: every wait fails with MT_EBROKEN until reset.
 *
 * All fields are guarded by the internal mutex; threads park on `seq`,
 * which notify_all() bumps (a condition variable built on the wait layer).
 * A dead holder of the internal mutex (MT_SHARED barrier, process killed)
 * breaks the barrier instead of hanging the others. */
#include "multitask/sync.h"
#include "core/core.h"
#include "sync/mutex.h"
#include "wait/wait.h"

enum { FILLING = 0, DRAINING = 1, RESETTING = -1, BROKEN = -2 };

struct mt_barrier {
  mt__mutex_t m;
  uint32_t seq;
  uint32_t parties;
  uint32_t count;
  int32_t state;
  int (*action)(void *arg);
  void *arg;
  double timeout;
  int flags;
};

mt_barrier_t *mt_barrier_new(unsigned parties, int (*action)(void *arg), void *arg,
                             double timeout, int flags) {
  int64_t d;
  if (parties == 0 || parties > INT32_MAX || (flags & ~MT_SHARED) ||
      mt__deadline(timeout, &d) < 0)
    return mt__fail_null(MT_EINVAL);
  mt_barrier_t *b = mt__obj_alloc(sizeof *b, flags);
  if (!b) return mt__fail_null(MT_ENOMEM);
  mt__mutex_init(&b->m);
  b->parties = parties;
  b->action = action;
  b->arg = arg;
  b->timeout = timeout;
  b->flags = flags;
  return b;
}

void mt_barrier_free(mt_barrier_t *b) {
  if (b) mt__obj_free(b, sizeof *b, b->flags);
}

static bool shared(const mt_barrier_t *b) { return b->flags & MT_SHARED; }

static void lock(mt_barrier_t *b) {
  if (mt__mutex_lock(&b->m, shared(b), MT__NO_DEADLINE) == MT_EOWNERDEAD)
    b->state = BROKEN; /* a process died inside: its data cannot be trusted */
}

static void unlock(mt_barrier_t *b) { mt__mutex_unlock(&b->m, shared(b)); }

static void notify_all(mt_barrier_t *b) {
  __atomic_fetch_add(&b->seq, 1, __ATOMIC_RELEASE);
  mt__wake_word(&b->seq, INT32_MAX, shared(b));
}

/* Releases the mutex, parks until notified or the deadline, relocks. */
static int park(mt_barrier_t *b, int64_t deadline) {
  uint32_t seq = __atomic_load_n(&b->seq, __ATOMIC_RELAXED);
  unlock(b);
  int r = mt__wait_word(&b->seq, seq, shared(b), deadline);
  lock(b);
  return r;
}

int mt_barrier_wait(mt_barrier_t *b, double timeout) {
  if (!b) return MT_EINVAL;
  if (timeout == MT_FOREVER) timeout = b->timeout; /* Python's timeout=None */
  int64_t deadline;
  int r = mt__deadline(timeout, &deadline);
  if (r < 0) return r;

  lock(b);
  while (b->state == DRAINING || b->state == RESETTING) park(b, MT__NO_DEADLINE);
  if (b->state < 0) {
    unlock(b);
    return MT_EBROKEN;
  }
  int index = (int)b->count++;
  if ((uint32_t)index + 1 == b->parties) {
    if (b->action && b->action(b->arg) != 0) {
      b->state = BROKEN;
      r = MT_EBROKEN;
    } else {
      b->state = DRAINING;
      r = index;
    }
    notify_all(b);
  } else {
    while (b->state == FILLING) {
      if (park(b, deadline) == MT_ETIMEDOUT && b->state == FILLING) {
        b->state = BROKEN; /* Python: a timed-out wait breaks the barrier */
        notify_all(b);
      }
    }
    r = b->state < 0 ? MT_EBROKEN : index;
  }
  /* leave: the last thread out of a draining/resetting barrier refills it */
  if (--b->count == 0 && (b->state == DRAINING || b->state == RESETTING)) {
    b->state = FILLING;
    notify_all(b);
  }
  unlock(b);
  return r;
}

int mt_barrier_reset(mt_barrier_t *b) {
  if (!b) return MT_EINVAL;
  lock(b);
  if (b->count > 0) {
    if (b->state == FILLING || b->state == BROKEN) b->state = RESETTING;
  } else {
    b->state = FILLING;
  }
  notify_all(b);
  unlock(b);
  return 0;
}

int mt_barrier_abort(mt_barrier_t *b) {
  if (!b) return MT_EINVAL;
  lock(b);
  b->state = BROKEN;
  notify_all(b);
  unlock(b);
  return 0;
}

int mt_barrier_parties(const mt_barrier_t *b) {
  return b ? (int)b->parties : MT_EINVAL;
}

/* The queries take the mutex: they are rare, and it keeps every field under
 * one rule. */
int mt_barrier_n_waiting(const mt_barrier_t *cb) {
  if (!cb) return MT_EINVAL;
  mt_barrier_t *b = (mt_barrier_t *)cb;
  lock(b);
  int n = b->state == FILLING ? (int)b->count : 0;
  unlock(b);
  return n;
}

int mt_barrier_broken(const mt_barrier_t *cb) {
  if (!cb) return MT_EINVAL;
  mt_barrier_t *b = (mt_barrier_t *)cb;
  lock(b);
  int broken = b->state == BROKEN;
  unlock(b);
  return broken;
}
