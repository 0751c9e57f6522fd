/* Future allocation: a slab cache that keeps its memory.
 *
 * Why: submit-all-then-collect of 10^6 tasks makes 10^6 futures live at
 * once.  From malloc, on this kind of VM, first-touch page faults cost ~40
 * us per page (1.5 s for 10^6 futures, measured), and glibc trims the heap
 * after the collect, so every round pays again.  Slabs of 1 MB mapped with
 * MAP_POPULATE (one kernel call fills them, ~7x cheaper than faulting) are
 * carved into fixed slots and never returned: a free slot goes to the
 * freeing thread's cache (no lock), overflow moves in batches to a global
 * list under g_lock, and an empty cache refills from it in batches.  A
 * thread's cache returns to the global list when the thread exits.
 *
 * Under ASan/TSan plain malloc/free is used so the tools keep seeing every
 * use after free.  Memory is bounded by the peak number of live futures.
 */
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "future/future_internal.h"
#include "wait/wait.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define MT__PLAIN_MALLOC 1
#endif

#ifdef MT__PLAIN_MALLOC
void *mt__future_alloc(void) { return malloc(sizeof(mt_future_t)); }
void mt__future_dealloc(void *p) { free(p); }
#else

#define SLOT (((sizeof(mt_future_t) + 63) / 64) * 64)
#define SLAB (1u << 20)
#define CACHE_MAX 2048 /* per thread; half moves out when exceeded */
#define REFILL 256

typedef struct slot {
  struct slot *next;
} slot_t;

typedef struct cache {
  slot_t *head;
  int n;
} cache_t;

static mt__mutex_t g_lock;
static slot_t *g_free;
static pthread_key_t g_key;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static _Thread_local cache_t tl_cache;

static void push_global(slot_t *first, slot_t *last) {
  mt__mutex_lock(&g_lock, false, MT__NO_DEADLINE);
  last->next = g_free;
  g_free = first;
  mt__mutex_unlock(&g_lock, false);
}

static void flush_cache(void *unused) {
  (void)unused;
  cache_t *c = &tl_cache;
  if (!c->head) return;
  slot_t *last = c->head;
  while (last->next) last = last->next;
  push_global(c->head, last);
  c->head = NULL;
  c->n = 0;
}

static void init_once(void) {
  mt__mutex_init(&g_lock);
  pthread_key_create(&g_key, flush_cache);
}

/* Under g_lock: a new slab, carved into g_free.  false when out of memory. */
static bool grow_locked(void) {
  char *m = mmap(NULL, SLAB, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  if (m == MAP_FAILED) return false;
  for (size_t off = 0; off + SLOT <= SLAB; off += SLOT) {
    slot_t *s = (slot_t *)(m + off);
    s->next = g_free;
    g_free = s;
  }
  return true;
}

static void refill(cache_t *c) {
  pthread_once(&g_once, init_once);
  pthread_setspecific(g_key, c); /* so the cache is flushed at thread exit */
  mt__mutex_lock(&g_lock, false, MT__NO_DEADLINE);
  if (!g_free) grow_locked();
  for (int i = 0; i < REFILL && g_free; i++) {
    slot_t *s = g_free;
    g_free = s->next;
    s->next = c->head;
    c->head = s;
    c->n++;
  }
  mt__mutex_unlock(&g_lock, false);
}

void *mt__future_alloc(void) {
  cache_t *c = &tl_cache;
  if (!c->head) refill(c);
  slot_t *s = c->head;
  if (!s) return NULL;
  c->head = s->next;
  c->n--;
  return s;
}

void mt__future_dealloc(void *p) {
  cache_t *c = &tl_cache;
  slot_t *s = p;
  s->next = c->head;
  c->head = s;
  if (++c->n <= CACHE_MAX) return;
  /* Move the older half out. */
  slot_t *keep = c->head;
  for (int i = 1; i < CACHE_MAX / 2; i++) keep = keep->next;
  slot_t *first = keep->next, *last = first;
  keep->next = NULL;
  while (last->next) last = last->next;
  c->n = CACHE_MAX / 2;
  pthread_once(&g_once, init_once);
  pthread_setspecific(g_key, c);
  push_global(first, last);
}
#endif
