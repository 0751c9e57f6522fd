/* threading.local: per-thread values with a destructor.
 *
 * Design.  Each local owns a slot index; each context has its own table of
 * entries indexed by slot (a plain array, touched only by its thread, so
 * get/set take no lock).  A context is a thread, or a greenlet while it
 * runs (coro/context.h): as in gevent, a value set inside a greenlet is
 * that greenlet's, and its destructor runs when the greenlet ends (or is
 * freed unfinished), as a thread's run when the thread exits.  The
 * thread's own table is in thread-local storage; a greenlet's is in its
 * context record.  Slots are reused after
 * mt_local_free, so every slot carries a generation: a local is (index,
 * gen) and an entry remembers the generation it was set under, so a new
 * local never sees a value left behind by a freed one.  An entry also
 * remembers the destructor it was set with: a value is destroyed exactly
 * once, with the destructor of the local it belonged to, whether its thread
 * exits (mt__locals_run_dtors, called by the thread's exit path, for
 * threads the library did not start too, through a pthread key), the
 * local is freed (the caller's value) or the slot is reused (a stale value
 * is destroyed when its thread next sets that slot).
 *
 * Lock: `slots.lock` guards the global slot table (generations and the free
 * list) only; it is a leaf and never held while a destructor runs.
 *
 * fork: the prepare handler (mt__on_fork) takes slots.lock, so the table is
 * whole at fork; the child re-initialises the lock.  The forking thread's
 * values are kept; the tables of the other threads are unreachable in the
 * child (their threads do not exist there) and their values are neither
 * returned nor destroyed.  A dead holder of slots.lock (MT_EOWNERDEAD) can
 * therefore not happen; were it to, the table may be torn: the slot table
 * is marked broken and mt_local_new fails with MT_ENOTRECOVERABLE.
 */
#include "thread/thread.h"
#include "coro/context.h"
#include "core/core.h"
#include "sync/mutex.h"
#include "wait/wait.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct mt_local {
  uint32_t index;
  uint32_t gen;
  void (*dtor)(void *value);
};

typedef struct mt__local_entry {
  void *value;
  void (*dtor)(void *value);
  uint32_t gen;
} entry_t;

static struct {
  mt__mutex_t lock;   /* zero-initialised word = unlocked */
  uint32_t *gen;      /* generation of each slot */
  uint32_t *free_idx; /* stack of free slot indexes */
  uint32_t n_slots, cap, n_free;
  bool broken; /* a holder died inside: never trust the table again */
} slots;

static pthread_once_t fork_once = PTHREAD_ONCE_INIT;

/* 0 with slots.lock held, or MT_ENOTRECOVERABLE (not held). */
static int slots_lock(void) {
  if (mt__mutex_lock(&slots.lock, false, MT__NO_DEADLINE) == MT_EOWNERDEAD) slots.broken = true;
  if (!slots.broken) return 0;
  mt__mutex_unlock(&slots.lock, false);
  return MT_ENOTRECOVERABLE;
}

static void before_fork(void) { mt__mutex_lock(&slots.lock, false, MT__NO_DEADLINE); }
static void after_fork_parent(void) { mt__mutex_unlock(&slots.lock, false); }
static void after_fork_child(void) { mt__mutex_init(&slots.lock); }
static void register_fork(void) {
  mt__on_fork(MT__FORK_LOCALS, before_fork, after_fork_parent, after_fork_child);
}

static _Thread_local mt__local_tab_t tl_own; /* the thread's own context */

/* The running context's table. */
static inline mt__local_tab_t *cur_tab(void) {
  mt__context_t *c = mt__context_cur;
  return c ? &c->locals : &tl_own;
}

static int alloc_slot(uint32_t *index, uint32_t *gen) {
  pthread_once(&fork_once, register_fork);
  int r = slots_lock();
  if (r < 0) return r;
  if (slots.n_free) {
    *index = slots.free_idx[--slots.n_free];
  } else {
    if (slots.n_slots == slots.cap) {
      uint32_t cap = slots.cap ? slots.cap * 2 : 64;
      uint32_t *g = mt__realloc(slots.gen, cap * sizeof *g);
      if (g) slots.gen = g;
      uint32_t *f = g ? mt__realloc(slots.free_idx, cap * sizeof *f) : NULL;
      if (f) slots.free_idx = f;
      if (!g || !f) r = MT_ENOMEM;
      else slots.cap = cap;
    }
    if (r == 0) {
      *index = slots.n_slots++;
      slots.gen[*index] = 0;
    }
  }
  if (r == 0) *gen = ++slots.gen[*index];
  mt__mutex_unlock(&slots.lock, false);
  return r;
}

static void release_slot(uint32_t index) {
  if (slots_lock() < 0) return; /* broken: the index is simply not reused */
  slots.free_idx[slots.n_free++] = index; /* cap >= n_slots >= n_free */
  mt__mutex_unlock(&slots.lock, false);
}

mt_local_t *mt_local_new(void (*dtor)(void *value)) {
  mt_local_t *l = mt__malloc(sizeof *l);
  if (!l) return mt__fail_null(MT_ENOMEM);
  int r = alloc_slot(&l->index, &l->gen);
  if (r < 0) {
    mt__free(l);
    return mt__fail_null(r);
  }
  l->dtor = dtor;
  return l;
}

static void destroy_entry(entry_t *e) {
  void *v = e->value;
  void (*d)(void *) = e->dtor;
  e->value = NULL;
  e->dtor = NULL;
  if (v && d) d(v);
}

void mt_local_free(mt_local_t *l) {
  if (!l) return;
  mt__local_tab_t *t = cur_tab();
  if (l->index < t->cap && t->tab[l->index].gen == l->gen) {
    destroy_entry(&t->tab[l->index]);
    t->tab[l->index].gen = 0;
  }
  release_slot(l->index);
  mt__free(l);
}

void *mt_local_get(mt_local_t *l) {
  if (!l) return NULL;
  mt__local_tab_t *t = cur_tab();
  if (l->index >= t->cap) return NULL;
  entry_t *e = &t->tab[l->index];
  return e->gen == l->gen ? e->value : NULL;
}

static int grow_table(mt__local_tab_t *t, uint32_t need) {
  uint32_t cap = t->cap ? t->cap : 8;
  while (cap <= need) cap *= 2;
  entry_t *tab = mt__realloc(t->tab, cap * sizeof *tab);
  if (!tab) return MT_ENOMEM;
  memset(tab + t->cap, 0, (cap - t->cap) * sizeof *tab);
  t->tab = tab;
  t->cap = cap;
  if (t == &tl_own) mt__thread_arm_exit_hook();
  return 0;
}

int mt_local_set(mt_local_t *l, void *value) {
  if (!l) return MT_EINVAL;
  mt__local_tab_t *t = cur_tab();
  if (l->index >= t->cap) {
    int r = grow_table(t, l->index);
    if (r < 0) return r;
  }
  entry_t *e = &t->tab[l->index];
  if (e->gen != l->gen) destroy_entry(e); /* left by a freed local */
  e->value = value;
  e->dtor = l->dtor;
  e->gen = l->gen;
  return 0;
}

/* Destructors may set values again (in the context that runs them, which
 * is t's own at a thread's or greenlet's end): repeat a few rounds, as
 * POSIX does for thread-specific data, then drop what is left. */
void mt__locals_release(mt__local_tab_t *t) {
  for (int round = 0; round < 4 && t->tab; round++) {
    bool any = false;
    for (uint32_t i = 0; i < t->cap; i++) {
      if (t->tab[i].value) {
        any = true;
        destroy_entry(&t->tab[i]);
      }
    }
    if (!any) break;
  }
  mt__free(t->tab);
  t->tab = NULL;
  t->cap = 0;
}

/* The thread's own values (a greenlet's go with the greenlet). */
void mt__locals_run_dtors(void) { mt__locals_release(&tl_own); }
