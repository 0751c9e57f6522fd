/* Future allocation: a slab cache that keeps its memory.
 *
 * Why: submit-all-then-collect of 10^6 tasks makes 10^6 futures live at
 * once.  From malloc, on this kind of VM, first-touch page faults cost ~40
 * us per page (1.5 s for 10^6 futures, measured), and glibc trims the heap
 * after the collect, so every round pays again.  Slabs of 1 MB mapped with
 * MAP_POPULATE (one kernel call fills them, ~7x cheaper than faulting) are
 * carved into fixed slots and never returned: a free slot goes to the
 * freeing thread's cache (no lock); full batches of BATCH slots move to a
 * global stack of batches under g_lock (O(1): whole chains), and an empty
 * cache takes one batch back.  A thread's cache returns to the global
 * stack when the thread exits (a pthread key destructor, registered before
 * the thread first caches anything); a thread for which that cannot be
 * registered (pthread_key_create / pthread_setspecific failed) caches
 * nothing and moves single slots to and from the global stack.
 *
 * fork: the prepare handler (mt__on_fork) takes g_lock, so the global stack
 * is whole at fork; the child re-initialises the lock.  The forking
 * thread's cache is kept; the other threads' caches are lost in the child
 * (bounded: two batches per thread).  A dead holder of g_lock can thus not
 * happen; were it to (MT_EOWNERDEAD), the stack is dropped (its slots
 * leak) rather than read while possibly torn.
 *
 * Trim: memory is bounded by the peak number of live futures until
 * mt_future_trim() gives back every slab whose slots are all free on the
 * global stack (the caller's cache is flushed first; slots other threads
 * still cache, at most 2 x BATCH each, keep their slabs).  It counts the
 * free slots per slab (`slabs`, sorted by address, binary search), unmaps
 * the wholly free slabs and rebuilds the stack from the rest: O(free slots
 * x log slabs), under g_lock.
 *
 * Under ASan/TSan plain malloc/free is used so the tools keep seeing every
 * use after free (trim then has nothing to give back).
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include "core/core.h"
#include "platform/platform.h"

#include "core/core.h"
#include "future/future_internal.h"
#include "wait/wait.h"

#if defined(MT__ASAN) || defined(MT__TSAN) /* core.h */
#define MT__PLAIN_MALLOC 1
#endif

#ifdef MT__PLAIN_MALLOC
void *mt__future_alloc(void) { return mt__malloc(sizeof(mt_future_t)); }
void mt__future_dealloc(void *p) { mt__free(p); }
int mt_future_trim(void) { return 0; }
#else

#define SLOT (((sizeof(mt_future_t) + 63) / 64) * 64)
#define SLAB (1u << 20)
#define BATCH 512 /* slots moved between a thread and the global stack */

/* A free slot.  The first slot of a batch also links the next batch and
 * counts its own chain (only meaningful on the global stack). */
typedef struct slot {
  struct slot *next;
  struct slot *next_batch;
  int n;
} slot_t;

/* Per thread: `cur` (allocated from, freed to) and one spare full batch, so
 * alternating alloc/free at a batch boundary does not hit the lock. */
typedef struct cache {
  slot_t *cur;
  int ncur;
  slot_t *spare; /* NULL or a chain of BATCH slots */
  bool registered; /* flush_cache will run at thread exit */
} cache_t;

static mt__mutex_t g_lock;
static slot_t *g_batches; /* stack of batches, linked by next_batch */

/* Every slab, sorted by address (under g_lock); `nfree` is scratch for trim. */
typedef struct slab {
  char *base;
  size_t nfree;
} slab_t;
static slab_t *g_slabs;
static size_t g_nslabs, g_capslabs;
static pthread_key_t g_key;
static bool g_key_ok;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static _Thread_local cache_t tl_cache;

static void g_lock_take(void) {
  if (mt__mutex_lock(&g_lock, false, MT__NO_DEADLINE) == MT_EOWNERDEAD) g_batches = NULL;
}

static void push_batch(slot_t *head, int n) {
  head->n = n;
  g_lock_take();
  head->next_batch = g_batches;
  g_batches = head;
  mt__mutex_unlock(&g_lock, false);
}

static void flush_cache(void *unused) {
  (void)unused;
  cache_t *c = &tl_cache;
  if (c->cur) push_batch(c->cur, c->ncur);
  if (c->spare) push_batch(c->spare, BATCH);
  *c = (cache_t){0};
}

static void before_fork(void) { g_lock_take(); }
static void after_fork_parent(void) { mt__mutex_unlock(&g_lock, false); }
static void after_fork_child(void) { mt__mutex_init(&g_lock); }

static void init_once(void) {
  mt__mutex_init(&g_lock);
  g_key_ok = pthread_key_create(&g_key, flush_cache) == 0;
  mt__on_fork(MT__FORK_FUTURES, before_fork, after_fork_parent, after_fork_child);
}

/* Arranges for the calling thread's cache to be flushed at its exit;
 * false when that is impossible (then the thread must not cache). */
static bool register_thread(cache_t *c) {
  pthread_once(&g_once, init_once);
  c->registered = g_key_ok && pthread_setspecific(g_key, c) == 0;
  return c->registered;
}

/* Under g_lock: records a new slab in g_slabs (sorted).  false when out of
 * memory for the table. */
static bool add_slab_locked(char *m) {
  if (g_nslabs == g_capslabs) {
    size_t cap = g_capslabs ? 2 * g_capslabs : 64;
    slab_t *t = mt__realloc(g_slabs, cap * sizeof *t);
    if (!t) return false;
    g_slabs = t;
    g_capslabs = cap;
  }
  size_t i = g_nslabs;
  while (i > 0 && g_slabs[i - 1].base > m) {
    g_slabs[i] = g_slabs[i - 1];
    i--;
  }
  g_slabs[i] = (slab_t){m, 0};
  g_nslabs++;
  return true;
}

/* Under g_lock: a new slab, carved into batches on g_batches. */
static bool grow_locked(void) {
  char *m = mt__sys_map_populated(SLAB);
  if (!m) return false;
  if (!add_slab_locked(m)) {
    mt__sys_unmap(m, SLAB);
    return false;
  }
  size_t nslots = SLAB / SLOT;
  for (size_t i = 0; i < nslots; i += BATCH) {
    size_t end = i + BATCH < nslots ? i + BATCH : nslots;
    slot_t *head = (slot_t *)(m + i * SLOT);
    for (size_t j = i; j < end; j++)
      ((slot_t *)(m + j * SLOT))->next = j + 1 < end ? (slot_t *)(m + (j + 1) * SLOT) : NULL;
    head->n = (int)(end - i);
    head->next_batch = g_batches;
    g_batches = head;
  }
  return true;
}

/* Under g_lock: the top batch of the global stack (growing it if empty),
 * or NULL when out of memory. */
static slot_t *pop_batch_locked(void) {
  if (!g_batches) grow_locked();
  slot_t *b = g_batches;
  if (b) g_batches = b->next_batch;
  return b;
}

/* Fills an empty cache; false when the thread may not cache. */
static bool refill(cache_t *c) {
  if (c->spare) {
    c->cur = c->spare;
    c->ncur = BATCH;
    c->spare = NULL;
    return true;
  }
  if (!c->registered && !register_thread(c)) return false;
  g_lock_take();
  slot_t *b = pop_batch_locked();
  if (b) {
    c->cur = b;
    c->ncur = b->n;
  }
  mt__mutex_unlock(&g_lock, false);
  return true;
}

/* One slot straight from the global stack (a thread that may not cache). */
static slot_t *take_uncached(void) {
  g_lock_take();
  slot_t *b = pop_batch_locked();
  if (b && b->next) { /* the rest of the batch goes back */
    slot_t *rest = b->next;
    rest->n = b->n - 1;
    rest->next_batch = g_batches;
    g_batches = rest;
  }
  mt__mutex_unlock(&g_lock, false);
  return b;
}

void *mt__future_alloc(void) {
  if (!mt__alloc_ok()) return NULL;
  cache_t *c = &tl_cache;
  if (!c->cur && !refill(c)) return take_uncached();
  slot_t *s = c->cur;
  if (!s) return NULL;
  c->cur = s->next;
  c->ncur--;
  if (c->cur) __builtin_prefetch(c->cur, 1); /* next alloc: no dependent miss */
  return s;
}

void mt__future_dealloc(void *p) {
  cache_t *c = &tl_cache;
  slot_t *s = p;
  if (__builtin_expect(!c->registered, 0) && !register_thread(c)) {
    s->next = NULL;
    push_batch(s, 1);
    return;
  }
  if (c->ncur == BATCH) { /* cur is full: it becomes the spare */
    if (c->spare) push_batch(c->spare, BATCH);
    c->spare = c->cur;
    c->cur = NULL;
    c->ncur = 0;
  }
  s->next = c->cur;
  c->cur = s;
  c->ncur++;
}

/* Under g_lock: the slab holding slot s. */
static slab_t *slab_of(const void *s) {
  size_t lo = 0, hi = g_nslabs; /* the last slab with base <= s */
  while (hi - lo > 1) {
    size_t mid = (lo + hi) / 2;
    if (g_slabs[mid].base <= (const char *)s) lo = mid;
    else hi = mid;
  }
  return &g_slabs[lo];
}

int mt_future_trim(void) {
  flush_cache(NULL); /* the caller's cached slots count as free too */
  g_lock_take();
  size_t per_slab = SLAB / SLOT;
  for (size_t i = 0; i < g_nslabs; i++) g_slabs[i].nfree = 0;
  for (slot_t *b = g_batches; b; b = b->next_batch)
    for (slot_t *s = b; s; s = s->next) slab_of(s)->nfree++;
  /* Rebuild the stack from the slots of the slabs that stay. */
  slot_t *batches = NULL, *cur = NULL;
  int n = 0;
  for (slot_t *b = g_batches, *nb; b; b = nb) {
    nb = b->next_batch;
    for (slot_t *s = b, *ns; s; s = ns) {
      ns = s->next;
      if (slab_of(s)->nfree == per_slab) continue; /* its slab goes */
      s->next = cur;
      cur = s;
      if (++n == BATCH) {
        cur->n = n;
        cur->next_batch = batches;
        batches = cur;
        cur = NULL;
        n = 0;
      }
    }
  }
  if (cur) {
    cur->n = n;
    cur->next_batch = batches;
    batches = cur;
  }
  g_batches = batches;
  size_t kept = 0;
  int released = 0;
  for (size_t i = 0; i < g_nslabs; i++) {
    if (g_slabs[i].nfree == per_slab) {
      mt__sys_unmap(g_slabs[i].base, SLAB);
      released++;
    } else {
      g_slabs[kept++] = g_slabs[i];
    }
  }
  g_nslabs = kept;
  mt__mutex_unlock(&g_lock, false);
  return released;
}
#endif
