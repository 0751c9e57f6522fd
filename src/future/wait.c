/* wait() and as_completed(): a collector watches a set of futures.
 *
 * Why a collector and not polling: wait(FIRST_COMPLETED) over 10^4 futures
 * must wake once, when the first one completes, and as_completed must yield
 * in completion order.  So the collector hangs one watch node on each
 * future (under the future's lock, setting MT__F_LISTENERS); the completing
 * thread appends the future to the collector's `order` array (under the
 * collector's lock, while it still holds the future's lock), bumps `seq`
 * and wakes the one waiter if it sleeps.  Futures already done at
 * registration are appended right away, in input order.
 *
 * Lock order: future.lock -> collector.lock.  Detaching takes each future's
 * lock and unlinks the node if it is still there; after that no future can
 * reach the collector, so it can be freed.
 * fork: a future whose lock another thread held at fork is abandoned in
 * the child (future.c, "fork"): wait() and as_completed() over it return
 * MT_ENOTRECOVERABLE.  Likewise an as_completed iterator whose collector
 * lock was held at fork (another thread was in next(), or completing one
 * of its futures): the first locker in the child gets MT_EOWNERDEAD, marks
 * it broken, and next() returns MT_ENOTRECOVERABLE from then on (free still
 * works: it reads only the iterator's own arrays).
 * Invariant: every watched future is appended to `order` at most once
 * (its node is unlinked when notified), so count <= n.
 */
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "future/collector.h"
#include "wait/wait.h"

struct mt__watch {
  struct mt__collector *c;
  struct mt__watch *next;
  bool linked;
};

typedef struct mt__collector {
  mt__mutex_t lock;     /* guards order/count/nfailed */
  bool broken;          /* a holder of lock died (fork): order abandoned */
  uint32_t seq;         /* futex word: bumped on each append */
  uint32_t sleeping;    /* the waiter parked at least once */
  int n;                /* unique futures watched */
  mt_future_t **fs;     /* the unique futures, first-occurrence order */
  struct mt__watch *nodes;
  mt_future_t **order;  /* done futures in completion order */
  int count, nfailed;
  int next;             /* as_completed cursor into order */
  int64_t deadline;
} mt__collector_t;

struct mt_as_completed {
  mt__collector_t c;
};

static bool failed(const mt_future_t *f) {
  return (__atomic_load_n(&f->state, __ATOMIC_ACQUIRE) & MT__F_STATE) ==
             MT_FUTURE_FINISHED && f->err != 0;
}

/* 0 with c->lock held, or MT_ENOTRECOVERABLE (not held): see "fork". */
static int collector_lock(mt__collector_t *c) {
  if (mt__mutex_lock(&c->lock, false, MT__NO_DEADLINE) == MT_EOWNERDEAD)
    __atomic_store_n(&c->broken, true, __ATOMIC_RELAXED);
  if (!__atomic_load_n(&c->broken, __ATOMIC_RELAXED)) return 0;
  mt__mutex_unlock(&c->lock, false);
  return MT_ENOTRECOVERABLE;
}

void mt__as_completed_hold_lock(mt_as_completed_t *it, bool hold) {
  if (hold) (void)mt__mutex_lock(&it->c.lock, false, MT__NO_DEADLINE);
  else mt__mutex_unlock(&it->c.lock, false);
}

static void append(mt__collector_t *c, mt_future_t *f) {
  if (collector_lock(c) == 0) { /* broken: the waiter learns it on its check */
    c->order[c->count++] = f;
    if (failed(f)) c->nfailed++;
    mt__mutex_unlock(&c->lock, false);
  }
  __atomic_fetch_add(&c->seq, 1, __ATOMIC_SEQ_CST);
  if (__atomic_load_n(&c->sleeping, __ATOMIC_SEQ_CST))
    mt__wake_word(&c->seq, INT32_MAX, false);
}

void mt__watch_notify_all(mt_future_t *f) {
  struct mt__watch *w = f->watchers;
  f->watchers = NULL;
  while (w) {
    struct mt__watch *next = w->next;
    w->linked = false;
    w->next = NULL;
    append(w->c, f);
    w = next;
  }
}

/* ---- building and tearing down --------------------------------------- */

typedef struct {
  mt_future_t *f;
  int idx;
} pair_t;

static int cmp_pair(const void *a, const void *b) {
  const pair_t *x = a, *y = b;
  if (x->f != y->f) return (uintptr_t)x->f < (uintptr_t)y->f ? -1 : 1;
  return x->idx - y->idx;
}

/* Unique futures of fs in first-occurrence order into c->fs. */
static int dedup(mt__collector_t *c, mt_future_t *const *fs, int n) {
  pair_t *p = mt__malloc(sizeof *p * (size_t)(n ? n : 1));
  bool *keep = mt__calloc((size_t)(n ? n : 1), 1);
  if (!p || !keep) {
    mt__free(p);
    mt__free(keep);
    return MT_ENOMEM;
  }
  for (int i = 0; i < n; i++) p[i] = (pair_t){fs[i], i};
  qsort(p, (size_t)n, sizeof *p, cmp_pair);
  for (int i = 0; i < n; i++)
    if (i == 0 || p[i].f != p[i - 1].f) keep[p[i].idx] = true;
  c->n = 0;
  for (int i = 0; i < n; i++)
    if (keep[i]) c->fs[c->n++] = fs[i];
  mt__free(p);
  mt__free(keep);
  return 0;
}

/* 0, or MT_ENOTRECOVERABLE when a future is broken (the caller detaches). */
static int attach(mt__collector_t *c) {
  for (int i = 0; i < c->n; i++) {
    mt_future_t *f = c->fs[i];
    struct mt__watch *w = &c->nodes[i];
    w->c = c;
    int r = mt__future_lock(f);
    if (r < 0) return r;
    if (mt__future_listen_locked(f)) {
      w->next = f->watchers;
      f->watchers = w;
      w->linked = true;
    } else {
      append(c, f);
    }
    mt__mutex_unlock(&f->lock, false);
  }
  return 0;
}

static void detach(mt__collector_t *c) {
  for (int i = 0; i < c->n; i++) {
    mt_future_t *f = c->fs[i];
    struct mt__watch *w = &c->nodes[i];
    if (mt__future_lock(f) < 0) continue; /* broken: its list is never read */
    if (w->linked) {
      struct mt__watch **pp = &f->watchers;
      while (*pp && *pp != w) pp = &(*pp)->next;
      if (*pp) *pp = w->next;
      w->linked = false;
    }
    mt__mutex_unlock(&f->lock, false);
  }
}

static void collector_release(mt__collector_t *c) {
  mt__free(c->fs);
  mt__free(c->nodes);
  mt__free(c->order);
}

static int collector_init(mt__collector_t *c, mt_future_t *const *fs, int n,
                          double timeout) {
  if ((!fs && n > 0) || n < 0) return MT_EINVAL;
  for (int i = 0; i < n; i++)
    if (!fs[i]) return MT_EINVAL;
  memset(c, 0, sizeof *c);
  int r = mt__deadline(timeout, &c->deadline);
  if (r < 0) return r;
  mt__mutex_init(&c->lock);
  size_t m = (size_t)(n ? n : 1);
  c->fs = mt__malloc(m * sizeof *c->fs);
  c->nodes = mt__calloc(m, sizeof *c->nodes);
  c->order = mt__malloc(m * sizeof *c->order);
  if (!c->fs || !c->nodes || !c->order || dedup(c, fs, n) < 0) {
    collector_release(c);
    return MT_ENOMEM;
  }
  r = attach(c);
  if (r < 0) {
    detach(c);
    collector_release(c);
  }
  return r;
}

/* ---- waiting ---------------------------------------------------------- */

typedef bool (*pred_fn)(const mt__collector_t *c, int arg);

static bool at_least(const mt__collector_t *c, int k) { return c->count >= k; }
static bool first_exception(const mt__collector_t *c, int k) {
  (void)k;
  return c->nfailed > 0 || c->count >= c->n;
}

/* 1 when pred holds, 0 not yet, MT_ENOTRECOVERABLE (broken: see "fork"). */
static int check(mt__collector_t *c, pred_fn pred, int arg) {
  int r = collector_lock(c);
  if (r < 0) return r;
  bool ok = pred(c, arg);
  mt__mutex_unlock(&c->lock, false);
  return ok;
}

/* 0 once pred holds, MT_ETIMEDOUT at the deadline, MT_ENOTRECOVERABLE,
 * MT_ECANCELLED / MT_EINTR (the calling coroutine was killed). */
static int collector_wait(mt__collector_t *c, pred_fn pred, int arg) {
  int rounds = mt__spin_rounds();
  for (;;) {
    uint32_t s = __atomic_load_n(&c->seq, __ATOMIC_SEQ_CST);
    int ok = check(c, pred, arg);
    if (ok != 0) return ok < 0 ? ok : 0;
    if (rounds > 0 && !mt__deadline_passed(c->deadline)) {
      mt__spin_until_changed(&c->seq, s, rounds);
      rounds = 0;
      continue;
    }
    __atomic_store_n(&c->sleeping, 1, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&c->seq, __ATOMIC_SEQ_CST) != s) continue;
    int w = mt__word_park(&c->seq, s, false, c->deadline);
    if (w == MT_ETIMEDOUT) {
      ok = check(c, pred, arg);
      return ok < 0 ? ok : ok ? 0 : MT_ETIMEDOUT;
    }
    if (w < 0) return w; /* MT_ECANCELLED / MT_EINTR: `sleeping` only costs a wake */
  }
}

int mt_future_wait(mt_future_t *const *fs, int n, double timeout, int return_when,
                    mt_future_t **done, mt_future_t **not_done, int *n_not_done) {
  if (return_when < MT_FIRST_COMPLETED || return_when > MT_ALL_COMPLETED) return MT_EINVAL;
  /* On the heap, not the caller's frame: completing threads and tasks
   * write into it (append, the lock, seq) while the caller is parked, and
   * a compact task's stack is elsewhere then (docs/coroutines.md). */
  mt__collector_t *c = mt__malloc(sizeof *c);
  if (!c) return MT_ENOMEM;
  int r = collector_init(c, fs, n, timeout);
  if (r < 0) {
    mt__free(c);
    return r;
  }
  if (return_when == MT_FIRST_COMPLETED)
    r = collector_wait(c, at_least, c->n ? 1 : 0);
  else if (return_when == MT_FIRST_EXCEPTION)
    r = collector_wait(c, first_exception, 0);
  else
    r = collector_wait(c, at_least, c->n);
  detach(c);
  int nd = 0, nn = 0;
  if (r < 0 && r != MT_ETIMEDOUT) { /* MT_ENOTRECOVERABLE, MT_ECANCELLED, MT_EINTR */
    nd = r;
    goto out;
  }
  for (int i = 0; i < c->n; i++) {
    if (mt_future_is_done(c->fs[i]) == 1) {
      if (done) done[nd] = c->fs[i];
      nd++;
    } else {
      if (not_done) not_done[nn] = c->fs[i];
      nn++;
    }
  }
  if (n_not_done) *n_not_done = nn;
out:
  collector_release(c);
  mt__free(c);
  return nd;
}

/* ---- as_completed ----------------------------------------------------- */

mt_as_completed_t *mt_as_completed_new(mt_future_t *const *fs, int n, double timeout) {
  mt_as_completed_t *it = mt__malloc(sizeof *it);
  if (!it) return mt__fail_null(MT_ENOMEM);
  int r = collector_init(&it->c, fs, n, timeout);
  if (r < 0) {
    mt__free(it);
    return mt__fail_null(r);
  }
  return it;
}

int mt_as_completed_next(mt_as_completed_t *it, mt_future_t **out) {
  if (!it || !out) return MT_EINVAL;
  mt__collector_t *c = &it->c;
  if (c->next >= c->n) return 0;
  int r = collector_wait(c, at_least, c->next + 1);
  if (r < 0) return r;
  if ((r = collector_lock(c)) < 0) return r;
  *out = c->order[c->next++];
  mt__mutex_unlock(&c->lock, false);
  return 1;
}

void mt_as_completed_free(mt_as_completed_t *it) {
  if (!it) return;
  detach(&it->c);
  collector_release(&it->c);
  mt__free(it);
}
