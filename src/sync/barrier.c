/* Barrier: Python's threading.Barrier semantics (action, arrival index,
 * abort, reset, broken) on a ROUND counter instead of Python's
 * filling/draining states, so that no party has to leave for the next
 * round to start: a party that dies after its round ended cannot wedge the
 * barrier.
 *
 *   round        number of the current round; it ends (round++, count = 0)
 *                when its last party arrives and its action returned, or
 *                when it is broken (abort, reset, a timed-out wait, a dead
 *                party).  broken_hist keeps how the last 64 rounds ended,
 *                so a party that wakes late still learns ITS round's
 *                outcome (it never needs to be there when the round ends).
 *   running      the last party runs the action WITHOUT the internal mutex
 *                (a long action must not stop waits from timing out); the
 *                round is complete, so it ends with the action's result,
 *                whatever happens meanwhile.  Newcomers wait for it to
 *                finish before joining the next round.
 *   broken       every wait fails with MT_EBROKEN until reset.
 *
 * Deadlines: every park carries the caller's deadline.  A party whose
 * deadline passes while its round fills breaks the barrier (as Python); one
 * whose deadline passes while the action runs (a member of that round or a
 * newcomer) returns MT_EBROKEN and marks the barrier broken, and the round
 * still ends with its action's result.
 *
 * MT_SHARED: each party records who it is (tid and stamp, platform.h) in
 * `arrived`, and the runner in `runner`.  Parked parties wake every
 * MT__M_SLICE_NS and check one other: party i its predecessor in the round
 * (cyclically, so some live party always checks a dead one), and everyone
 * the runner while the action runs.  A dead party breaks the barrier;
 * a dead runner ends its round broken.  Detection delay: one slice (10 ms)
 * plus the check, for a party that died before the round completed (a
 * round that completes first counts the dead party as arrived).  A holder
 * of the internal mutex that dies (MT_EOWNERDEAD) breaks it too.  All
 * fields are guarded by the internal mutex; parties park on `seq`, which
 * notify_all() bumps. */
#include "multitask/sync.h"
#include "core/core.h"
#include "platform/platform.h"
#include "sync/mutex.h"
#include "wait/wait.h"

struct party {
  int32_t tid;
  uint64_t stamp;
};

struct mt_barrier {
  mt__mutex_t m;
  uint32_t seq;
  uint32_t parties;
  uint32_t count;     /* arrived in the current round */
  uint32_t round;
  uint64_t broken_hist; /* bit k: round `round - 1 - k` ended broken */
  bool broken;
  bool running;
  uint32_t runner_round;
  struct party runner;
  int (*action)(void *arg);
  void *arg;
  double timeout;
  int flags;
  struct party arrived[]; /* MT_SHARED: `parties` entries, else none */
};

static size_t barrier_size(unsigned parties, int flags) {
  return sizeof(mt_barrier_t) + (flags & MT_SHARED ? parties * sizeof(struct party) : 0);
}

mt_barrier_t *mt_barrier_new(unsigned parties, int (*action)(void *arg), void *arg,
                             double timeout, int flags) {
  int64_t d;
  unsigned max = flags & MT_SHARED ? MT_BARRIER_SHARED_MAX : INT32_MAX;
  if (parties == 0 || parties > max || (flags & ~MT_SHARED) || mt__deadline(timeout, &d) < 0)
    return mt__fail_null(MT_EINVAL);
  mt_barrier_t *b = mt__obj_alloc(barrier_size(parties, flags), flags);
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
  if (b) mt__obj_free(b, barrier_size(b->parties, b->flags), b->flags);
}

static bool shared(const mt_barrier_t *b) { return b->flags & MT_SHARED; }

static void notify_all(mt_barrier_t *b) {
  __atomic_fetch_add(&b->seq, 1, __ATOMIC_RELEASE);
  mt__wake_word(&b->seq, INT32_MAX, shared(b));
}

static void end_round(mt_barrier_t *b, bool broken) {
  b->broken_hist = b->broken_hist << 1 | broken;
  b->round++;
  b->count = 0;
  notify_all(b);
}

/* abort(), a timed-out wait, a dead party: the filling round ends broken
 * and so does every later wait until reset. */
static void break_barrier(mt_barrier_t *b) {
  b->broken = true;
  if (b->count > 0 && !b->running) end_round(b, true);
  notify_all(b);
}

/* The mutex is held only for a few instructions (or one liveness check),
 * never across a park or the action. */
static void lock(mt_barrier_t *b) {
  if (mt__mutex_lock(&b->m, shared(b), MT__NO_DEADLINE) == MT_EOWNERDEAD)
    break_barrier(b); /* a process died inside: its data cannot be trusted */
}

static void unlock(mt_barrier_t *b) { mt__mutex_unlock(&b->m, shared(b)); }

static bool party_dead(const struct party *p) {
  return p->tid != 0 && mt__task_alive(p->tid, true, p->stamp) == 0;
}

static struct party me(void) {
  return (struct party){.tid = mt__gettid(), .stamp = mt__self_stamp(true)};
}

/* Shared barrier, a slice has passed: look for a dead party (see top).
 * my_round / index: the caller's round and index, or index < 0 for a
 * newcomer waiting for the action to finish. */
static void check_parties(mt_barrier_t *b, uint32_t my_round, int index) {
  if (b->running && party_dead(&b->runner)) {
    b->running = false;
    b->broken = true;
    if (b->round == b->runner_round) end_round(b, true);
    notify_all(b);
    return;
  }
  if (index >= 0 && !b->running && b->round == my_round && b->count > 1) {
    uint32_t pred = ((uint32_t)index + b->count - 1) % b->count;
    if (party_dead(&b->arrived[pred])) break_barrier(b);
  }
}

/* Releases the mutex, parks until notified, the deadline or (shared) the
 * end of a slice, relocks.  1 when the deadline has passed, else 0, or
 * MT_ECANCELLED / MT_EINTR (the calling coroutine was killed: the caller
 * unwinds; the mutex is held again in every case). */
static int park(mt_barrier_t *b, int64_t deadline, uint32_t my_round, int index) {
  uint32_t seq = __atomic_load_n(&b->seq, __ATOMIC_RELAXED);
  int64_t until = deadline;
  if (shared(b)) {
    int64_t slice = mt__now_ns() + MT__M_SLICE_NS;
    if (slice < until) until = slice;
  }
  unlock(b);
  int r = mt__word_park(&b->seq, seq, shared(b), until);
  lock(b);
  if (r < 0 && r != MT_ETIMEDOUT) return r;
  if (r == MT_ETIMEDOUT && shared(b)) check_parties(b, my_round, index);
  return mt__deadline_passed(deadline);
}

/* The outcome of round r, which has ended. */
static int outcome(const mt_barrier_t *b, uint32_t r, int index) {
  uint32_t k = b->round - r - 1;
  /* more than 64 rounds ended since: cannot tell, say broken */
  bool broken = k >= 64 || ((b->broken_hist >> k) & 1);
  return broken ? MT_EBROKEN : index;
}

int mt_barrier_wait(mt_barrier_t *b, double timeout) {
  if (!b) return MT_EINVAL;
  /* Python's wait(timeout=None) uses the barrier's default: that is the
   * named sentinel, never MT_FOREVER (which waits without limit) */
  if (timeout == MT_BARRIER_DEFAULT_TIMEOUT) timeout = b->timeout;
  int64_t deadline;
  int r = mt__deadline(timeout, &deadline);
  if (r < 0) return r;

  lock(b);
  /* the previous round's action still runs: wait to join the next one */
  while (b->running && !b->broken) {
    int p = park(b, deadline, 0, -1);
    if (p < 0) { /* cancelled before joining a round: nothing counted */
      unlock(b);
      return p;
    }
    if (p && b->running && !b->broken) {
      b->broken = true;
      notify_all(b);
    }
  }
  if (b->broken) {
    unlock(b);
    return MT_EBROKEN;
  }
  uint32_t my_round = b->round;
  int index = (int)b->count++;
  if (shared(b)) b->arrived[index] = me();
  if ((uint32_t)index + 1 == b->parties) {
    b->running = true;
    b->runner_round = my_round;
    if (shared(b)) b->runner = me();
    unlock(b);
    int failed = b->action ? b->action(b->arg) != 0 : 0;
    lock(b);
    b->running = false;
    if (b->round == my_round) {
      end_round(b, failed);
      if (failed) b->broken = true; /* Python: the action raised */
    }
    notify_all(b);
    r = outcome(b, my_round, index);
  } else {
    mt__intr_t *hidden = NULL;
    for (;;) {
      if (b->round != my_round) {
        r = outcome(b, my_round, index);
        break;
      }
      int p = park(b, deadline, my_round, index);
      if (p == MT_EINTR && (b->round != my_round || b->running)) {
        /* Interrupted once the round was complete: this party was
         * counted, so it waits (uninterrupted; the action bounds it) for
         * the round's outcome, and the interrupt goes to its next wait. */
        hidden = mt__set_intr(NULL);
        continue;
      }
      if (p < 0) {
        /* Cancelled (a killed coroutine): a round still filling forgets
         * this party, as Python's wait() does on an exception (count -= 1),
         * so the others wait for a new one; a MT_SHARED record moves the
         * last arrival into the slot (liveness checks cover the dense
         * records).  A complete round keeps it: its action decides. */
        if (b->round == my_round && !b->running) {
          b->count--;
          if (shared(b)) b->arrived[index] = b->arrived[b->count];
        }
        r = p;
        break;
      }
      if (p && b->round == my_round) {
        if (b->running) { /* our round is complete; its action decides */
          b->broken = true;
          notify_all(b);
        } else {
          break_barrier(b); /* Python: a timed-out wait breaks the barrier */
        }
        r = MT_EBROKEN;
        break;
      }
    }
    if (hidden) {
      mt__set_intr(hidden);
      mt__wait_cancel_undelivered(MT_EINTR); /* armed again */
    }
  }
  unlock(b);
  return r;
}

/* Python: waiting parties get MT_EBROKEN, the barrier is usable at once.
 * A round whose action is running is complete: it ends by the action. */
int mt_barrier_reset(mt_barrier_t *b) {
  if (!b) return MT_EINVAL;
  lock(b);
  if (b->count > 0 && !b->running) end_round(b, true);
  b->broken = false;
  notify_all(b);
  unlock(b);
  return 0;
}

int mt_barrier_abort(mt_barrier_t *b) {
  if (!b) return MT_EINVAL;
  lock(b);
  break_barrier(b);
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
  int n = b->running ? 0 : (int)b->count;
  unlock(b);
  return n;
}

int mt_barrier_is_broken(const mt_barrier_t *cb) {
  if (!cb) return MT_EINVAL;
  mt_barrier_t *b = (mt_barrier_t *)cb;
  lock(b);
  int broken = b->broken;
  unlock(b);
  return broken;
}
