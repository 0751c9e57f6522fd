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
 * stack when the thread exits.
 *
 * Under ASan/TSan plain malloc/free is used so the tools keep seeing every
 * use after free.  Memory is bounded by the peak number of live futures.
 */
#include <pthread.h>
#include <stdlib.h>
#include "core/core.h"
#include "platform/platform.h"

#include "future/future_internal.h"
#include "wait/wait.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define MT__PLAIN_MALLOC 1
#endif

#ifdef MT__PLAIN_MALLOC
void *mt__future_alloc(void) { return mt__malloc(sizeof(mt_future_t)); }
void mt__future_dealloc(void *p) { mt__free(p); }
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
} cache_t;

static mt__mutex_t g_lock;
static slot_t *g_batches; /* stack of batches, linked by next_batch */
static pthread_key_t g_key;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static _Thread_local cache_t tl_cache;

static void push_batch(slot_t *head, int n) {
  head->n = n;
  mt__mutex_lock(&g_lock, false, MT__NO_DEADLINE);
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

static void init_once(void) {
  mt__mutex_init(&g_lock);
  pthread_key_create(&g_key, flush_cache);
}

/* Under g_lock: a new slab, carved into batches on g_batches. */
static bool grow_locked(void) {
  char *m = mt__sys_map_populated(SLAB);
  if (!m) return false;
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

static void refill(cache_t *c) {
  if (c->spare) {
    c->cur = c->spare;
    c->ncur = BATCH;
    c->spare = NULL;
    return;
  }
  pthread_once(&g_once, init_once);
  pthread_setspecific(g_key, c); /* so the cache is flushed at thread exit */
  mt__mutex_lock(&g_lock, false, MT__NO_DEADLINE);
  if (!g_batches) grow_locked();
  slot_t *b = g_batches;
  if (b) {
    g_batches = b->next_batch;
    c->cur = b;
    c->ncur = b->n;
  }
  mt__mutex_unlock(&g_lock, false);
}

void *mt__future_alloc(void) {
  if (!mt__alloc_ok()) return NULL;
  cache_t *c = &tl_cache;
  if (!c->cur) refill(c);
  slot_t *s = c->cur;
  if (!s) return NULL;
  c->cur = s->next;
  c->ncur--;
  if (c->cur) __builtin_prefetch(c->cur, 1); /* next alloc: no dependent miss */
  return s;
}

void mt__future_dealloc(void *p) {
  cache_t *c = &tl_cache;
  if (c->ncur == BATCH) { /* cur is full: it becomes the spare */
    if (c->spare) {
      pthread_once(&g_once, init_once);
      pthread_setspecific(g_key, c);
      push_batch(c->spare, BATCH);
    }
    c->spare = c->cur;
    c->cur = NULL;
    c->ncur = 0;
  }
  slot_t *s = p;
  s->next = c->cur;
  c->cur = s;
  c->ncur++;
}
#endif
