/* group.c - task groups (asyncio.TaskGroup; gevent's Group) and timeout
 * scopes (asyncio.timeout) on the hub.
 *
 * Design.  A group is a list of child tasks of ONE hub, made and used on
 * that hub's thread (its tasks complete there, so the group needs no lock).
 * Each child carries a done callback (mt_future_add_done_callback) that
 * counts the failure of a child that FAILED (cancelled children do not
 * count, as in asyncio), keeps the first failure's code and message, and on
 * the first failure cancels every sibling not done yet (asyncio's cancel:
 * delivered once, at the sibling's next wait) and closes the group to new
 * children.  mt_taskgroup_wait is asyncio's `async with` exit: it joins every
 * child, also those spawned while it waits, then reports.  The group holds
 * one reference on each child's future; it is released by mt_taskgroup_free,
 * and the group's memory by the last of {the owner, each child's pending
 * callback}, so a callback never sees freed memory.
 *
 * Differences from asyncio (documented in docs/coroutines.md): the parent is
 * not cancelled when a child fails (it learns it from the wait, which
 * returns at once after the children ended); the errors are not an
 * ExceptionGroup but a count plus the first failure. */
#include "multitask/coro.h"

#include <errno.h>

#include "core/core.h"
#include "coro/coro.h"
#include "coro/scope.h"
#include "future/future_internal.h"
#include "wait/wait.h"

struct mt_taskgroup {
  int refs;             /* the owner + children whose callback has not run (atomic) */
  mt_hub_t *hub;
  mt_future_t **kids;   /* one reference each, released by mt_taskgroup_free */
  int n, cap;
  int failed;           /* children that ended FAILED */
  int first_code;       /* the first failure */
  char *first_message;
  bool closed;          /* mt_taskgroup_wait returned, or a child failed */
  bool freed;
};

static void group_unref(mt_taskgroup_t *g) {
  if (__atomic_sub_fetch(&g->refs, 1, __ATOMIC_ACQ_REL) > 0) return;
  mt__free(g->first_message);
  mt__free(g->kids);
  mt__free(g);
}

mt_taskgroup_t *mt_taskgroup_new(void) {
  mt_hub_t *h = mt_hub_current();
  if (!h) return mt__fail_null(MT_EPERM);
  mt_taskgroup_t *g = mt__calloc(1, sizeof *g);
  if (!g) return mt__fail_null(MT_ENOMEM);
  g->refs = 1;
  g->hub = h;
  return g;
}

/* Cancels every child not done (asyncio's cancel: at its next wait).  A
 * cancel may run callbacks at once (a child that never started): the list
 * only grows, so index it afresh each time. */
static void cancel_children(mt_taskgroup_t *g) {
  for (int i = 0; i < g->n; i++)
    if (mt_future_is_done(g->kids[i]) == 0) (void)mt_coro_cancel(g->kids[i]);
}

static void child_done(mt_future_t *f, void *arg) {
  mt_taskgroup_t *g = arg;
  bool failed = (f->state & MT__F_STATE) == MT_FUTURE_FINISHED && f->err != 0;
  if (failed && !g->freed) {
    __atomic_store_n(&f->retrieved, true, __ATOMIC_RELAXED); /* the group reports it */
    if (g->failed++ == 0) {
      g->first_code = f->err;
      g->first_message = f->message ? mt__strdup(f->message) : NULL;
      g->closed = true;
      cancel_children(g);
    }
  }
  group_unref(g);
}

mt_future_t *mt_taskgroup_spawn(mt_taskgroup_t *g, mt_task_fn fn, void *arg,
                                const mt_coro_opts_t *opts) {
  if (!g || !fn || (opts && opts->size == 0)) return mt__fail_null(MT_EINVAL);
  if (g->hub != mt_hub_current()) return mt__fail_null(MT_EPERM);
  if (g->closed) return mt__fail_null(MT_ECLOSED);
  if (g->n == g->cap) {
    int cap = g->cap ? 2 * g->cap : 8;
    mt_future_t **k = mt__realloc(g->kids, (size_t)cap * sizeof *k);
    if (!k) return mt__fail_null(MT_ENOMEM);
    g->kids = k;
    g->cap = cap;
  }
  mt_future_t *f = mt_coro_spawn(fn, arg, opts);
  if (!f) return NULL;
  g->kids[g->n++] = f;
  __atomic_add_fetch(&g->refs, 1, __ATOMIC_RELAXED);
  /* a task starts at the hub's next round: it cannot be done here */
  if (mt_future_add_done_callback(f, child_done, g) < 0) {
    __atomic_sub_fetch(&g->refs, 1, __ATOMIC_RELAXED);
    (void)mt_coro_cancel(f); /* not started: never runs */
    g->n--;
    mt_future_free(f);
    return mt__fail_null(MT_ENOMEM);
  }
  return f;
}

int mt_taskgroup_wait(mt_taskgroup_t *g, double timeout) {
  if (!g) return MT_EINVAL;
  if (g->hub != mt_hub_current()) return MT_EPERM;
  int64_t deadline;
  int r = mt__deadline(timeout, &deadline);
  if (r < 0) return r;
  for (int i = 0; i < g->n; i++) { /* g->n may grow: children spawn siblings */
    r = mt_coro_join(g->kids[i], mt__deadline_left(deadline));
    if (r == MT_ETIMEDOUT) return r; /* still open: wait again later */
    if (r < 0) {                     /* the caller was cancelled or killed */
      g->closed = true;
      cancel_children(g);
      for (int j = 0; j < g->n; j++) /* as asyncio: wait for them to end */
        if (mt_coro_join(g->kids[j], MT_FOREVER) < 0) break; /* killed: cannot wait */
      return r;
    }
  }
  g->closed = true;
  return g->failed ? MT_ETASKFAILED : 0;
}

int mt_taskgroup_cancel(mt_taskgroup_t *g) {
  if (!g) return MT_EINVAL;
  if (g->hub != mt_hub_current()) return MT_EPERM;
  int k = 0;
  g->closed = true;
  for (int i = 0; i < g->n; i++)
    if (mt_future_is_done(g->kids[i]) == 0 && mt_coro_cancel(g->kids[i]) == 1) k++;
  return k;
}

int mt_taskgroup_exception(mt_taskgroup_t *g, mt_task_error_t *first) {
  if (!g) return MT_EINVAL;
  if (first)
    *first = (mt_task_error_t){g->first_code, g->first_message ? g->first_message : ""};
  return g->failed;
}

int mt_taskgroup_len(mt_taskgroup_t *g) {
  if (!g) return MT_EINVAL;
  return g->n;
}

mt_future_t *mt_taskgroup_task(mt_taskgroup_t *g, int i) {
  if (!g || i < 0 || i >= g->n) return NULL;
  return g->kids[i];
}

int mt_taskgroup_is_closed(mt_taskgroup_t *g) {
  if (!g) return MT_EINVAL;
  return g->closed;
}

void mt_taskgroup_free(mt_taskgroup_t *g) {
  if (!g) return;
  g->closed = true;
  g->freed = true; /* children failing from now on are reported as never retrieved */
  if (g->hub == mt_hub_current()) cancel_children(g);
  else /* another thread: the cancels are posted to the children's hub */
    for (int i = 0; i < g->n; i++) (void)mt_coro_cancel(g->kids[i]);
  for (int i = 0; i < g->n; i++) mt_future_free(g->kids[i]);
  g->n = 0;
  group_unref(g);
}

/* ---- timeout scopes --------------------------------------------------------
 * The scope only moves the running fiber's scope deadline (coro/scope.h):
 * the hub bounds each park by it and marks the greenlet `expired` when that
 * bound is what ended a park; mt__coro_cancelled then answers MT_ECANCELLED
 * at every later wait until the owning scope ends and clears the mark. */

int mt_timeout_scope_begin(mt_timeout_t *t, double seconds) {
  if (!t) return MT_EINVAL;
  int64_t deadline;
  if (mt__deadline(seconds, &deadline) < 0) return MT_EINVAL;
  mt__scopes_t *s = mt__hub_scopes();
  if (!s) return MT_EPERM;
  *t = (mt_timeout_t){.deadline_ns = deadline, .outer_ns = s->deadline,
                      .outer_scope = s->top, .owner = mt__coro_current(), .open = 1};
  if (deadline < s->deadline) s->deadline = deadline;
  s->top = t;
  return 0;
}

int mt_timeout_scope_end(mt_timeout_t *t) {
  if (!t || !t->open) return MT_EINVAL;
  mt__scopes_t *s = mt__hub_scopes();
  mt_greenlet_t *g = mt__coro_current();
  if (!s || s->top != t || t->owner != g) return MT_EINVAL;
  s->deadline = t->outer_ns;
  s->top = t->outer_scope;
  t->open = 0;
  if (!atomic_load_explicit(&g->expired, memory_order_relaxed)) return 0;
  /* the deadline that ran out is ours if we lowered the enclosing one */
  if (t->deadline_ns >= t->outer_ns) return MT_ECANCELLED;
  atomic_store_explicit(&g->expired, false, memory_order_relaxed);
  t->expired = 1;
  return MT_ETIMEDOUT;
}

void mt_timeout_scope_exit(mt_timeout_t **t) {
  if (t && *t) (void)mt_timeout_scope_end(*t);
}

int mt_timeout_is_expired(const mt_timeout_t *t) {
  if (!t) return MT_EINVAL;
  return t->expired;
}
