/* greenlet.c - stackful coroutines switched by hand (Python's greenlet),
 * and the per-thread "current context" record.
 *
 * Design.  A greenlet is a context (platform/switch.h) on a pooled stack
 * (stack.c).  A switch stores what travels with it (a value, or a negative
 * code thrown into the target) in the thread's record, makes the target
 * current and calls mt__ctx_switch; whoever is resumed reads the record.
 * When fn returns, the greenlet is dead: it hands its return value to its
 * first live parent and switches there for good.  It cannot release the
 * stack it is still standing on, so it leaves itself in `t->dead` and the
 * greenlet it resumed releases the stack (after_switch) right away: a dead
 * greenlet keeps no stack, only its small struct until mt_greenlet_free.
 *
 * Life.  A greenlet is referenced by its user (until mt_greenlet_free) and
 * by each greenlet whose parent it is; it references its thread's record,
 * which the thread itself references until it exits (pthread key), so no
 * parent pointer or record pointer ever dangles.  Greenlets never move
 * between threads, which is also why a switch may keep using `t`.
 * What a greenlet costs to make is kept low for the hub's tasks (issue 15's
 * spawn+run+join benchmark): its struct comes from its thread's spare list,
 * its name is formatted only when asked (mt__name_t), its context id and its
 * reference on the thread's record come from per-thread batches, so making
 * and ending one takes no malloc, no printf and few locked instructions.
 *
 * Sanitizers.  Under ASan every switch is bracketed by
 * __sanitizer_start_switch_fiber / __sanitizer_finish_switch_fiber (a
 * dying greenlet passes NULL so its fake stack is freed; the root's stack
 * bounds are learnt on its first switch away).  Under TSan each greenlet is
 * a fiber (__tsan_create_fiber, __tsan_switch_to_fiber right before the
 * switch, destroyed with the stack).  Nothing of this is compiled otherwise.
 *
 * Compact greenlets (hub.c's compact tasks, issue 15): shared stacks
 * with copy-out, as libaco does.  They all run on ONE stack of their
 * thread (t->shared); t->owner is the one whose frames are on it.  A
 * switch INTO a compact greenlet that is not the owner first copies the
 * owner's used part (its saved stack pointer up to the top) to the owner's
 * heap buffer, sized exactly, then copies the target's saved bytes back to
 * the same addresses (or makes its first context there).  A switch AWAY
 * from one copies nothing: it stays the owner, so a task the hub resumes
 * next costs no copy.  The copy is made from whatever greenlet switches
 * (the hub's, on its own stack), never on the shared stack itself, which
 * is why one compact greenlet cannot switch straight to another (MT_EPERM;
 * tasks always go through the hub).  A parked compact greenlet costs its
 * structs and the bytes it used, not a page.  The price: no pointer into
 * its stack may be used while it is switched out (docs/coroutines.md,
 * "Compact tasks"); the wait layer keeps such a task's waiter nodes in
 * the task (wait.h, mt__parker_t.nodes).  Sanitizers: the copy routine is
 * not instrumented (it reads frames' redzones), ASan sees the shared stack
 * as the fiber's stack and it is unpoisoned before a greenlet's bytes go
 * back (its old redzones are lost: no false reports, fewer true ones).
 *
 * Context.  Every switch also sets the current context (coro/context.h):
 * the target's own, the thread's for its root, unchanged for a generator
 * (it runs in its resumer's).  A greenlet's locals are destroyed on its
 * own stack right after fn returns, or by mt_greenlet_free if it never
 * finishes.
 *
 * Overflow.  Every thread that uses greenlets gets an alternate signal
 * stack, and the process a SIGSEGV handler if it had none
 * (platform/stack.h); describe_fault names the running greenlet when the
 * fault is in or just below its guard page. */
#include "coro/coro.h"
#include "core/core.h"
#include "platform/clock.h"
#include "platform/stack.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef MT__ASAN /* core.h */
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif
#ifdef MT__TSAN
#include <sanitizer/tsan_interface.h>
#endif

#define MIN_STACK (16 * 1024)

/* initial-exec: one load off the thread pointer, not a __tls_get_addr call
 * on every switch (the library is built -fPIC); 8 bytes of static TLS. */
static _Thread_local mt__coro_thread_t *tls __attribute__((tls_model("initial-exec")));
static pthread_key_t tls_key;
static pthread_once_t tls_once = PTHREAD_ONCE_INIT;
static atomic_ulong name_counter;
static _Atomic uint64_t context_counter; /* context ids: never reused */

_Thread_local mt__context_t *mt__context_cur __attribute__((tls_model("initial-exec")));
_Thread_local uint64_t mt__context_cur_id __attribute__((tls_model("initial-exec")));

/* ---- references ---- */

static void thread_unref(mt__coro_thread_t *t) {
  if (atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel) == 1) mt__free(t);
}

/* A greenlet's reference on its thread's record, taken on that thread (make
 * runs there).  The thread takes REF_BATCH real references at a time
 * (`ref_pool`: held, not yet handed out; touched by the thread only, while
 * tls is set), so a greenlet made and freed on its own thread costs no
 * locked add/sub on the shared counter; one freed on another thread drops
 * its (real) reference with thread_unref.  thread_exit gives the pool back
 * before the thread's own reference, so the count cannot reach 0 early. */
#define REF_BATCH 256
static void thread_ref_local(mt__coro_thread_t *t) {
  if (t->ref_pool == 0) {
    atomic_fetch_add_explicit(&t->refs, REF_BATCH, memory_order_relaxed);
    t->ref_pool = REF_BATCH;
  }
  t->ref_pool--;
}

/* Drops a greenlet's reference; t == tls (the calling thread's own record,
 * which its thread still references) goes back to the pool. */
static void thread_unref_local(mt__coro_thread_t *t) {
  if (t != tls) {
    thread_unref(t);
    return;
  }
  if (++t->ref_pool > 2 * REF_BATCH) { /* never the last: the thread holds one */
    atomic_fetch_sub_explicit(&t->refs, REF_BATCH, memory_order_relaxed);
    t->ref_pool -= REF_BATCH;
  }
}

static void release_stack(mt_greenlet_t *g) {
  if (!g->stack.base) return;
  if (g->compact) { /* the shared stack stays; only its saved bytes go */
    mt__free(g->save);
    g->save = NULL;
    g->save_len = g->save_cap = 0;
    if (g->thread->owner == g) g->thread->owner = NULL;
    g->stack.base = NULL;
#ifdef MT__TSAN
    if (g->tsan_fiber) __tsan_destroy_fiber(g->tsan_fiber);
    g->tsan_fiber = NULL;
#endif
    return;
  }
  mt__stack_vg_deregister(g->vg_id);
#ifdef MT__TSAN
  if (g->tsan_fiber) __tsan_destroy_fiber(g->tsan_fiber);
  g->tsan_fiber = NULL;
#endif
  mt__stack_put(&g->stack);
}

/* Greenlet structs: a thread keeps up to SPARE_MAX of its freed ones for
 * its next greenlets (a task makes one: malloc's path for this size costs
 * ~400 instructions a pair).  Only the owning thread touches its list, and
 * only while it runs (tls set); plain malloc under the sanitizers, so they
 * see every use after free. */
#define SPARE_MAX 256

static mt_greenlet_t *greenlet_alloc(mt__coro_thread_t *t) {
  mt_greenlet_t *g = t->spare;
  if (!g) return mt__calloc(1, sizeof *g);
  t->spare = g->parent;
  t->nspare--;
  memset(g, 0, sizeof *g);
  return g;
}

static void greenlet_dealloc(mt_greenlet_t *g) {
  mt__coro_thread_t *t = g->thread;
#if !defined(MT__ASAN) && !defined(MT__TSAN)
  if (t == tls && t->nspare < SPARE_MAX) { /* tls: the thread holds its record */
    g->parent = t->spare;
    t->spare = g;
    t->nspare++;
    thread_unref_local(t);
    return;
  }
#endif
  thread_unref_local(t);
  mt__free(g);
}

static void greenlet_unref(mt_greenlet_t *g) {
  while (g && atomic_fetch_sub_explicit(&g->refs, 1, memory_order_acq_rel) == 1) {
    mt_greenlet_t *parent = g->parent;
    release_stack(g);
    greenlet_dealloc(g);
    g = parent; /* its reference on the parent goes too */
  }
}

/* ---- the thread's record ---- */

static void thread_exit(void *p) {
  mt__coro_thread_t *t = p;
  t->exited = true;
  tls = NULL;
  if (t->shared.base) {
    mt__stack_vg_deregister(t->shared_vg);
    mt__stack_put(&t->shared); /* unmapped by the drain below */
  }
  mt__stack_pool_drain();
  mt__sys_altstack_free(t->altstack);
  greenlet_unref(t->root); /* the thread's reference on its root */
  while (t->spare) { /* tls is NULL: nothing is added any more */
    mt_greenlet_t *g = t->spare;
    t->spare = g->parent;
    mt__free(g);
  }
  if (t->ref_pool) /* references taken for greenlets to come: never the last (below) */
    atomic_fetch_sub_explicit(&t->refs, t->ref_pool, memory_order_relaxed);
  t->ref_pool = 0;
  thread_unref(t);         /* and on its record */
}

static void make_key(void) {
  if (pthread_key_create(&tls_key, thread_exit) != 0) abort();
}

static size_t describe_fault(void *addr, char *buf, size_t n);

mt__coro_thread_t *mt__coro_thread(void) {
  if (tls) return tls;
  pthread_once(&tls_once, make_key);
  mt__coro_thread_t *t = mt__calloc(1, sizeof *t);
  mt_greenlet_t *root = mt__calloc(1, sizeof *root);
  if (!t || !root) {
    mt__free(t);
    mt__free(root);
    return NULL;
  }
  root->thread = t;
  root->state = MT__G_STARTED;
  root->started = true;
  atomic_init(&root->refs, 1); /* the thread's */
  mt__name_init(&root->name, "MainGreenlet", NULL, 0);
#ifdef MT__TSAN
  root->tsan_fiber = __tsan_get_current_fiber();
#endif
  atomic_init(&t->refs, 2); /* the thread's and the root's */
  t->root = t->current = root;
  t->altstack = mt__sys_altstack_new();
  mt__sys_segv_install(describe_fault);
  pthread_setspecific(tls_key, t);
  tls = t;
  return t;
}

mt_greenlet_t *mt__coro_current(void) { return tls ? tls->current : NULL; }

int mt__coro_cancelled(void) {
  mt_greenlet_t *g = mt__coro_current();
  if (!g) return 0;
  if (atomic_load_explicit(&g->killed, memory_order_relaxed)) return MT_ECANCELLED;
  /* before cancel_once: a cancel arriving inside an expired scope waits for
   * the first wait after the scope */
  if (atomic_load_explicit(&g->expired, memory_order_relaxed)) return MT_ECANCELLED;
  if (atomic_load_explicit(&g->cancel_once, memory_order_relaxed) &&
      atomic_exchange_explicit(&g->cancel_once, false, memory_order_relaxed))
    return MT_ECANCELLED;
  return 0;
}

void mt__coro_cancel_undelivered(int r) {
  mt_greenlet_t *g = mt__coro_current();
  /* an expired scope's MT_ECANCELLED consumed nothing (and stays: sticky) */
  if (g && r == MT_ECANCELLED && !atomic_load_explicit(&g->expired, memory_order_relaxed))
    atomic_store_explicit(&g->cancel_once, true, memory_order_relaxed);
}

/* ---- switching ---- */

static inline void san_before(mt__coro_thread_t *t, mt_greenlet_t *from, mt_greenlet_t *to,
                              int dying) {
  t->prev = from;
#ifdef MT__ASAN
  __sanitizer_start_switch_fiber(dying ? NULL : &from->asan_fake, to->asan_bottom, to->asan_size);
#else
  (void)dying;
#endif
#ifdef MT__TSAN
  __tsan_switch_to_fiber(to->tsan_fiber, 0);
#else
  (void)to;
#endif
}

static inline void san_after(mt__coro_thread_t *t, mt_greenlet_t *self) {
#ifdef MT__ASAN
  const void *bottom;
  size_t size;
  __sanitizer_finish_switch_fiber(self->asan_fake, &bottom, &size);
  mt_greenlet_t *p = t->prev;
  if (p && !p->asan_size) p->asan_bottom = bottom, p->asan_size = size;
#else
  (void)t, (void)self;
#endif
}

/* Runs right after every switch, on the resumed stack: the greenlet that
 * died to get here cannot free its own stack, so this does. */
static inline void after_switch(mt__coro_thread_t *t) {
  mt_greenlet_t *d = t->dead;
  if (!d) return;
  t->dead = NULL;
  release_stack(d);
  if (d->freed) greenlet_unref(d);
}

/* Makes `to`'s context the current one (right before switching to it). */
static inline void enter_context(mt_greenlet_t *to) {
  if (to->gen) return; /* a generator runs in the context of its resumer */
  mt__context_t *c = to->fn ? &to->context : NULL; /* the root: the thread's own */
  mt__context_cur = c;
  mt__context_cur_id = c ? c->id : 0;
}

static mt_greenlet_t *live_parent(mt_greenlet_t *g) {
  mt_greenlet_t *p = g->parent;
  while (p->state == MT__G_DEAD) p = p->parent; /* the root never dies */
  return p;
}

/* ---- compact greenlets: the copy (see the design note) ---- */

static void entry(void *arg);

/* Copies stack bytes.  Not instrumented: the source holds frames whose
 * redzones ASan poisoned, and TSan would attribute the bytes to the
 * greenlet that copies; under a sanitizer it is a plain loop, since a call
 * to memcpy would go to the sanitizer's interceptor, which checks. */
#if defined(MT__ASAN) || defined(MT__TSAN)
__attribute__((noinline, no_sanitize("address", "thread"))) static void
copy_stack(void *dst, const void *src, size_t n) {
  volatile unsigned char *d = dst; /* volatile: never turned into a memcpy call */
  const volatile unsigned char *s = src;
  for (size_t i = 0; i < n; i++) d[i] = s[i];
}
#else
static inline void copy_stack(void *dst, const void *src, size_t n) { memcpy(dst, src, n); }
#endif

static char *shared_top(mt__coro_thread_t *t) {
  return (char *)t->shared.base + t->shared.guard + t->shared.size;
}

/* The owner of the shared stack moves its used bytes to its buffer (it is
 * suspended: the caller runs on another stack).  false: out of memory (the
 * owner stays, nothing changed). */
static bool save_owner(mt__coro_thread_t *t) {
  mt_greenlet_t *o = t->owner;
  if (!o) return true;
  char *sp = mt__ctx_sp(&o->ctx);
  size_t len = (size_t)(shared_top(t) - sp);
  if (len != o->save_cap) { /* exactly sized: a parked task costs what it used */
    unsigned char *b = mt__realloc(o->save, len ? len : 1);
    if (!b) return false;
    o->save = b;
    o->save_cap = len;
  }
  copy_stack(o->save, sp, len);
  o->save_len = len;
  t->owner = NULL;
  return true;
}

bool mt__on_shared_stack(const void *p) {
  mt__coro_thread_t *t = tls;
  if (!t || !t->shared.base || !p) return false;
  const char *lo = (const char *)t->shared.base + t->shared.guard;
  return (const char *)p >= lo && (const char *)p < shared_top(t);
}

/* Before switching to compact `to`: its frames onto the shared stack.
 * false: out of memory for the owner's copy (no switch then). */
static bool compact_enter(mt__coro_thread_t *t, mt_greenlet_t *to) {
  if (t->owner == to) return true;
  if (!save_owner(t)) return false;
  char *lo = (char *)t->shared.base + t->shared.guard;
#ifdef MT__ASAN /* whoever ran here left its redzones poisoned */
  __asan_unpoison_memory_region(lo, t->shared.size);
#endif
  if (!to->started || to->state == MT__G_NEW) /* first run: its context is made here */
    mt__ctx_make(&to->ctx, lo, t->shared.size, entry, to);
  else
    copy_stack(shared_top(t) - to->save_len, to->save, to->save_len);
  t->owner = to;
  return true;
}

static int switch_to(mt__coro_thread_t *t, mt_greenlet_t *to, void *value, int code, void **out) {
  mt_greenlet_t *from = t->current;
  if (to->compact && !compact_enter(t, to)) {
    if (out) *out = NULL;
    return MT_ENOMEM;
  }
  t->xfer_value = value;
  t->xfer_code = code;
  if (to->state == MT__G_NEW) to->state = MT__G_STARTED, to->started = true;
  t->current = to;
  enter_context(to);
  san_before(t, from, to, 0);
  void *v = mt__ctx_switch(&from->ctx, &to->ctx, value);
  san_after(t, from);
  after_switch(t);
  if (out) *out = v;
  return t->xfer_code;
}

static _Noreturn void finish(mt__coro_thread_t *t, mt_greenlet_t *g, void *ret) {
  g->state = MT__G_DEAD;
  mt_greenlet_t *p = live_parent(g);
  /* A compact parent (g then is not compact: g runs on its own stack) may
   * be copied out: its bytes come back first, as switch_to does.  Out of
   * memory for the owner's copy: the next live ancestor gets the result
   * (a compact greenlet's parent is never compact). */
  if (!g->compact)
    while (p->compact && !compact_enter(t, p)) p = live_parent(p);
  t->dead = g;
  t->xfer_code = 0;
  t->current = p;
  enter_context(p);
  san_before(t, g, p, 1);
  mt__ctx_switch(&g->ctx, &p->ctx, ret);
  abort(); /* a dead greenlet is never resumed */
}

/* The first code on every greenlet's stack. */
static void entry(void *arg) {
  mt_greenlet_t *g = arg;
  mt__coro_thread_t *t = g->thread;
  san_after(t, g);
  after_switch(t);
  void *ret = NULL;
  if (t->xfer_code == 0) ret = g->fn(g->arg, t->xfer_value); /* thrown before start: never runs */
  if (g->context.locals.tab) /* as a thread's at exit, still as g (most have none) */
    mt__locals_release(&g->context.locals);
  finish(t, g, ret);
}

static int resume(mt_greenlet_t *g, void *value, int code, void **out) {
  if (out) *out = NULL;
  if (!g) return MT_EINVAL;
  mt__coro_thread_t *t = mt__coro_thread();
  if (!t) return MT_ENOMEM;
  if (g->thread != t) return MT_EPERM;
  if (g->state == MT__G_DEAD) g = live_parent(g);
  if (g == t->current) {
    if (out && code == 0) *out = value;
    return code;
  }
  if (g->compact && t->current->compact) return MT_EPERM; /* both on the shared stack */
  return switch_to(t, g, value, code, out);
}

/* ---- the API ---- */

/* Context ids are unique, never reused, and need no order: a thread takes
 * them in blocks of ID_BLOCK from the global counter (one atomic add per
 * block instead of one per greenlet: a locked add costs ~20 cycles). */
#define ID_BLOCK 1024
static uint64_t next_context_id(mt__coro_thread_t *t) {
  if (t->id_next == t->id_end) {
    t->id_next = atomic_fetch_add_explicit(&context_counter, ID_BLOCK, memory_order_relaxed) + 1;
    t->id_end = t->id_next + ID_BLOCK;
  }
  return t->id_next++;
}

static mt_greenlet_t *make(void *(*fn)(void *, void *), void *arg, mt_greenlet_t *parent,
                           const mt_greenlet_opts_t *opts, const char *prefix, bool compact) {
  size_t size = mt__stack_default_size();
  if (!fn || (opts && opts->size == 0)) goto einval;
  if (opts && opts->stack_size) {
    if (opts->stack_size < MIN_STACK) goto einval;
    size_t page = mt__stack_page();
    size = (opts->stack_size + page - 1) / page * page;
  }
  mt__coro_thread_t *t = mt__coro_thread();
  if (!t) goto enomem;
  if (!parent) parent = t->current;
  else if (parent->thread != t) {
    errno = EPERM;
    return NULL;
  }
  if (compact && (size > mt__stack_default_size() || parent->compact)) goto einval;
#ifndef MT__CTX_HAS_SP
  if (compact) {
    errno = ENOTSUP; /* the copy needs the saved stack pointer */
    return NULL;
  }
#endif
  mt_greenlet_t *g = greenlet_alloc(t);
  if (!g) goto enomem;
  if (compact) { /* the thread's shared stack, made by the first */
    if (!t->shared.base) {
      if (mt__stack_get(mt__stack_default_size(), &t->shared) < 0) {
        mt__free(g);
        goto enomem;
      }
      t->shared_vg = mt__stack_vg_register(&t->shared);
    }
    g->stack = t->shared;
    g->compact = true;
    size = t->shared.size; /* its context is made at its first switch in */
  } else {
    if (mt__stack_get(size, &g->stack) < 0) {
      mt__free(g);
      goto enomem;
    }
    g->vg_id = mt__stack_vg_register(&g->stack);
  }
  char *lo = (char *)g->stack.base + g->stack.guard;
  if (!compact) mt__ctx_make(&g->ctx, lo, size, entry, g);
  g->thread = t;
  thread_ref_local(t);
  g->parent = parent;
  atomic_fetch_add_explicit(&parent->refs, 1, memory_order_relaxed);
  atomic_init(&g->refs, 1);
  g->fn = fn;
  g->arg = arg;
  g->context.id = next_context_id(t);
  g->state = MT__G_NEW;
  g->asan_bottom = lo;
  g->asan_size = size;
  if (opts && opts->name) mt__name_init(&g->name, opts->name, NULL, 0);
  else if (prefix)
    mt__name_init(&g->name, NULL, prefix,
                  atomic_fetch_add_explicit(&name_counter, 1, memory_order_relaxed) + 1);
  else mt__name_init(&g->name, "", NULL, 0); /* the caller sets g->alias */
#ifdef MT__TSAN
  g->tsan_fiber = __tsan_create_fiber(0);
  __tsan_set_fiber_name(g->tsan_fiber, mt__name_get(&g->name));
#endif
  return g;
einval:
  errno = EINVAL;
  return NULL;
enomem:
  errno = ENOMEM;
  return NULL;
}

mt_greenlet_t *mt__greenlet_new(void *(*fn)(void *, void *), void *arg, mt_greenlet_t *parent,
                                const mt_greenlet_opts_t *opts, const char *prefix) {
  return make(fn, arg, parent, opts, prefix, false);
}

mt_greenlet_t *mt__greenlet_new_compact(void *(*fn)(void *, void *), void *arg,
                                        mt_greenlet_t *parent, const mt_greenlet_opts_t *opts,
                                        const char *prefix) {
  return make(fn, arg, parent, opts, prefix, true);
}

mt_greenlet_t *mt_greenlet_new(void *(*fn)(void *arg, void *value), void *arg,
                               mt_greenlet_t *parent, const mt_greenlet_opts_t *opts) {
  return mt__greenlet_new(fn, arg, parent, opts, "Greenlet");
}

int mt_greenlet_switch(mt_greenlet_t *g, void *value, void **out) {
  return resume(g, value, 0, out);
}

int mt_greenlet_throw(mt_greenlet_t *g, int code, void **out) {
  if (code >= 0) {
    if (out) *out = NULL;
    return MT_EINVAL;
  }
  return resume(g, NULL, code, out);
}

static int is_ancestor(mt_greenlet_t *a, mt_greenlet_t *g) {
  for (mt_greenlet_t *q = g; q; q = q->parent)
    if (q == a) return 1;
  return 0;
}

void mt__greenlet_reparent(mt_greenlet_t *g, mt_greenlet_t *parent) {
  if (g->parent == parent) return;
  atomic_fetch_add_explicit(&parent->refs, 1, memory_order_relaxed);
  mt_greenlet_t *old = g->parent;
  g->parent = parent;
  greenlet_unref(old);
}

int mt_greenlet_kill(mt_greenlet_t *g) {
  if (!g || !g->fn) return MT_EINVAL;
  mt__coro_thread_t *t = mt__coro_thread();
  if (!t) return MT_ENOMEM;
  if (g->thread != t) return MT_EPERM;
  atomic_store_explicit(&g->killed, true, memory_order_relaxed);
  if (g->state == MT__G_DEAD) return 0;
  if (g == t->current) return MT_ECANCELLED;
  if (g->state == MT__G_NEW) { /* dies without running: nothing to unwind */
    g->state = MT__G_DEAD;
    release_stack(g);
    return 0;
  }
  if (g->compact && t->current->compact) return MT_EPERM; /* both on the shared stack */
  /* Come back here when it finishes, unless that would make a cycle (g is
   * an ancestor of the caller): then it goes to its own parent. */
  if (!is_ancestor(g, t->current)) mt__greenlet_reparent(g, t->current);
  switch_to(t, g, NULL, MT_ECANCELLED, NULL);
  return g->state == MT__G_DEAD ? 0 : MT_EBUSY;
}

void mt_greenlet_free(mt_greenlet_t *g) {
  if (!g || !g->fn) return; /* the root belongs to its thread */
  mt__coro_thread_t *t = tls;
  if (g->state == MT__G_STARTED && t == g->thread) {
    if (g == t->current) { /* released when it finishes (after_switch) */
      g->freed = true;
      return;
    }
    mt_greenlet_kill(g);
  }
  if (g->state != MT__G_DEAD) { /* not started, or cannot be unwound */
    g->state = MT__G_DEAD;
    release_stack(g);
  }
  /* Values it set and could not destroy itself (it never finished): their
   * destructors run here, in the caller's context.  Empty otherwise. */
  mt__locals_release(&g->context.locals);
  g->freed = true;
  greenlet_unref(g);
}

mt_greenlet_t *mt_greenlet_current(void) {
  mt__coro_thread_t *t = mt__coro_thread();
  if (!t) {
    errno = ENOMEM;
    return NULL;
  }
  return t->current;
}

mt_greenlet_t *mt_greenlet_parent(mt_greenlet_t *g) { return g ? g->parent : NULL; }

int mt_greenlet_set_parent(mt_greenlet_t *g, mt_greenlet_t *parent) {
  if (!g || !parent || !g->fn) return MT_EINVAL;
  if (parent->thread != g->thread) return MT_EPERM;
  if (is_ancestor(g, parent)) return MT_EINVAL; /* a cycle */
  if (g->compact && parent->compact) return MT_EPERM; /* it could not end there */
  mt__greenlet_reparent(g, parent);
  return 0;
}

int mt_greenlet_is_started(mt_greenlet_t *g) {
  if (!g) return MT_EINVAL;
  return g->started;
}

int mt_greenlet_is_dead(mt_greenlet_t *g) {
  if (!g) return MT_EINVAL;
  return g->state == MT__G_DEAD;
}

const char *mt_greenlet_name(mt_greenlet_t *g) {
  return g ? mt__name_get(g->alias ? g->alias : &g->name) : NULL;
}

/* ---- the overflow report (async-signal context: no locks, no stdio) ---- */

static size_t put(char *buf, size_t at, size_t n, const char *s) {
  while (*s && at + 1 < n) buf[at++] = *s++;
  return at;
}

static size_t put_num(char *buf, size_t at, size_t n, unsigned long v) {
  char d[24];
  int k = 0;
  do d[k++] = (char)('0' + v % 10); while ((v /= 10) && k < 23);
  while (k > 0 && at + 1 < n) buf[at++] = d[--k];
  return at;
}

/* ---- lazily made names (coro.h) ---- */

void mt__name_init(mt__name_t *n, const char *given, const char *prefix, unsigned long num) {
  n->prefix = given ? NULL : prefix;
  n->num = num;
  if (given) n->text[put(n->text, 0, sizeof n->text, given)] = 0;
  __atomic_store_n(&n->state, given ? 2 : 0, __ATOMIC_RELAXED); /* published with its object */
}

const char *mt__name_get(mt__name_t *n) {
  uint32_t s = __atomic_load_n(&n->state, __ATOMIC_ACQUIRE);
  if (s == 2) return n->text;
  /* 0: the first asker formats (CAS to 1), then releases the text with 2;
   * another asker meanwhile waits for 2 (a few dozen instructions) */
  if (s == 0 && __atomic_compare_exchange_n(&n->state, &s, 1, false, __ATOMIC_ACQUIRE,
                                            __ATOMIC_ACQUIRE)) {
    size_t at = put(n->text, 0, sizeof n->text, n->prefix);
    at = put(n->text, at, sizeof n->text, "-");
    n->text[put_num(n->text, at, sizeof n->text, n->num)] = 0;
    __atomic_store_n(&n->state, 2, __ATOMIC_RELEASE);
    return n->text;
  }
  while (__atomic_load_n(&n->state, __ATOMIC_ACQUIRE) != 2) mt__sys_yield(); /* another thread */
  return n->text;
}

static size_t describe_fault(void *addr, char *buf, size_t n) {
  mt__coro_thread_t *t = tls;
  mt_greenlet_t *g = t ? t->current : NULL;
  if (!g || !g->stack.base) return 0;
  char *a = addr, *lo = g->stack.base, *hi = lo + g->stack.guard;
  /* the guard page, or a large frame that jumped just below it */
  if (a >= hi || a + 64 * 1024 < lo) return 0;
  size_t at = put(buf, 0, n, "multitask: stack overflow in greenlet \"");
  /* no waiting on the name's state here: its number is written out afresh */
  const mt__name_t *nm = g->alias ? g->alias : &g->name;
  if (nm->prefix) {
    at = put(buf, at, n, nm->prefix);
    at = put(buf, at, n, "-");
    at = put_num(buf, at, n, nm->num);
  } else {
    at = put(buf, at, n, nm->text);
  }
  at = put(buf, at, n, "\" (stack of ");
  at = put_num(buf, at, n, (unsigned long)g->stack.size);
  at = put(buf, at, n, " bytes; mt_greenlet_opts_t.stack_size sets it)\n");
  return at;
}
