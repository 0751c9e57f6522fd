/* stack.c - coroutine stacks: sizes and a per-thread pool.
 *
 * A stack is a private mapping with a guard page below it
 * (platform/stack.h).  Mapping one costs two or three system calls and its
 * first touched pages fault in (~40 us a stack on this virtual machine), so
 * a finished greenlet's stack goes back to a pool of its thread and the next
 * greenlet of that size reuses it.  The pool is per thread, touched only by
 * its thread: no lock.  A thread's pool is unmapped when the thread exits.
 *
 * Pool policy (adaptive, see docs/coroutines.md "Stack pool").  The pool
 * keeps up to `limit()` stacks: the most stacks this thread had in use at
 * once (its high-water mark) over the current and the previous PERIOD, at
 * least POOL_MIN, and never more than POOL_CAP_BYTES of mappings.  So a
 * steady workload with N tasks alive maps nothing after its first N (as
 * Boost's pooled_fixedsize_stack, which keeps every stack it made), and
 * after a burst ends the excess goes within two periods:
 *  - a period ends every PERIOD_GETS stacks taken (a busy thread), or
 *  - when the thread's hub is about to sleep and the period is older than
 *    IDLE_NS (mt__stack_pool_idle: the hub then sleeps at most until that
 *    deadline while the pool holds an excess, so an idle hub gives the
 *    excess back within 2 * IDLE_NS).
 * A pooled stack keeps the pages its last task touched (a tiny task: one or
 * two pages), so the resident bound of the pool is its mapped bytes in the
 * worst case (every pooled stack touched to its full depth): POOL_CAP_BYTES.
 *
 * Stacks past the limit are not unmapped at once: they join a batch of
 * UNMAP_BATCH (still usable by mt__stack_get), and a full batch is unmapped
 * in as few munmap calls as it has runs of adjacent stacks (consecutive
 * mmaps land next to each other).  Each munmap of a multi-threaded process
 * costs a TLB shootdown (an IPI, tens of us on this virtual machine), so
 * batches of tasks ending at once paid ~100 us per task; one munmap per run
 * of adjacent stacks divides that by up to 64 while keeping at most 64
 * stacks more mapped than the limit.
 *
 * Running out of mappings (vm.max_map_count) or address space (RLIMIT_AS)
 * is MT_ENOMEM from mt__stack_get, never a crash; so is running out of
 * memory for the pool's array (the stack is then unmapped, not pooled).
 *
 * Under AddressSanitizer a reused stack is unpoisoned first (a greenlet
 * released without unwinding leaves its frames' redzones poisoned); under
 * Valgrind every stack is registered so it does not take a switch for a
 * huge stack frame. */
#include "coro/coro.h"
#include "core/core.h"
#include "platform/stack.h"
#include "wait/wait.h"

#include <stdlib.h>
#include <unistd.h>

#ifdef MT__ASAN /* core.h */
#include <sanitizer/asan_interface.h>
#endif
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define MT__VALGRIND 1
#endif
#endif

#define POOL_MIN 16                        /* always kept (the old fixed pool) */
#define POOL_CAP_BYTES ((size_t)512 << 20) /* mapped bytes the pool may keep */
#define PERIOD_GETS 16384                  /* a busy thread's period, in stacks taken */
#define IDLE_NS 1000000000LL               /* an idle hub's period */
#define UNMAP_BATCH 64
#define DEFAULT_SIZE (256 * 1024)

static _Thread_local struct {
  mt__stack_t *v; /* pooled stacks v[0..n) */
  int n, cap;
  size_t bytes;   /* their mappings */
  int live;       /* stacks this thread handed out and did not get back */
  int hw, hw_prev; /* high-water of `live`: this period, the previous one */
  unsigned gets;  /* stacks taken in this period */
  int64_t t0;     /* start of this period for mt__stack_pool_idle (0: not read yet) */
  bool drained;   /* the thread exits: nothing is pooled any more */
} P;
static _Thread_local mt__stack_t doomed[UNMAP_BATCH]; /* to unmap, still mapped */
static _Thread_local int doomed_n;
static atomic_long maps_made; /* mt__stack_maps(): tests count mappings */

/* Threads may race to fill the cache: relaxed atomics make that race
 * well-defined (every racer stores the same value). */
size_t mt__stack_page(void) {
  static size_t page;
  size_t p = __atomic_load_n(&page, __ATOMIC_RELAXED);
  if (!p) {
    p = (size_t)sysconf(_SC_PAGESIZE);
    __atomic_store_n(&page, p, __ATOMIC_RELAXED);
  }
  return p;
}

size_t mt__stack_default_size(void) { return DEFAULT_SIZE; }

long mt__stack_maps(void) { return atomic_load_explicit(&maps_made, memory_order_relaxed); }
int mt__stack_pooled(void) { return P.n; }

static void unmap_doomed(void);

/* How many stacks the pool keeps now (see the design note). */
static int limit(void) {
  int k = P.hw > P.hw_prev ? P.hw : P.hw_prev;
  return k > POOL_MIN ? k : POOL_MIN;
}

static void doom(const mt__stack_t *s) {
  doomed[doomed_n++] = *s;
  if (doomed_n == UNMAP_BATCH) unmap_doomed();
}

/* Ends a period: the previous high-water is forgotten, and the stacks past
 * the new limit go to the unmap batch. */
static void rotate(void) {
  P.hw_prev = P.hw;
  P.hw = P.live;
  P.gets = 0;
  P.t0 = 0;
  for (int k = limit(); P.n > k;) {
    mt__stack_t *s = &P.v[--P.n];
    P.bytes -= s->guard + s->size;
    doom(s);
  }
}

/* Takes a stack of `size` from list[0..*n) (the pool, then the batch). */
static bool take(mt__stack_t *list, int *n, size_t size, mt__stack_t *s) {
  for (int i = *n - 1; i >= 0; i--) {
    if (list[i].size != size) continue;
    *s = list[i];
    list[i] = list[--*n];
    return true;
  }
  return false;
}

/* Room for `n` pooled stacks (false: no memory for the array).  Grown
 * when a stack is mapped, never when one is put back: out of address space
 * (RLIMIT_AS) a put that allocated could take the room of stacks. */
static bool pool_room(int n) {
  if (n <= P.cap || P.drained) return n <= P.cap;
  int cap = P.cap ? 2 * P.cap : 64;
  while (cap < n) cap *= 2;
  mt__stack_t *v = mt__realloc(P.v, (size_t)cap * sizeof *v);
  if (!v) return false;
  P.v = v, P.cap = cap;
  return true;
}

int mt__stack_get(size_t size, mt__stack_t *s) {
  if (take(P.v, &P.n, size, s)) P.bytes -= s->guard + s->size;
  else if (!take(doomed, &doomed_n, size, s)) {
    size_t guard = mt__stack_page();
    void *base;
    int r = mt__sys_stack_map(guard, size, &base);
    if (r < 0 && doomed_n > 0) { /* out of mappings: the batch goes first */
      unmap_doomed();
      r = mt__sys_stack_map(guard, size, &base);
    }
    if (r < 0) return r;
    atomic_fetch_add_explicit(&maps_made, 1, memory_order_relaxed);
    s->base = base, s->guard = guard, s->size = size;
    /* room to pool it later (a put never allocates), as far as the cap allows */
    size_t most = POOL_CAP_BYTES / (guard + size);
    (void)pool_room((size_t)P.live + 1 < most ? P.live + 1 : (int)most);
  }
  if (++P.live > P.hw) P.hw = P.live;
  if (++P.gets == PERIOD_GETS) rotate();
  return 0;
}

static void unmap(mt__stack_t *s) { mt__sys_stack_unmap(s->base, s->guard + s->size); }

static int by_base(const void *a, const void *b) {
  uintptr_t x = (uintptr_t)((const mt__stack_t *)a)->base;
  uintptr_t y = (uintptr_t)((const mt__stack_t *)b)->base;
  return x < y ? -1 : x > y;
}

/* Unmaps the batch: one munmap per run of adjacent stacks. */
static void unmap_doomed(void) {
  qsort(doomed, (size_t)doomed_n, sizeof doomed[0], by_base);
  for (int i = 0; i < doomed_n;) {
    char *lo = doomed[i].base, *hi = lo + doomed[i].guard + doomed[i].size;
    int j = i + 1;
    for (; j < doomed_n && (char *)doomed[j].base == hi; j++)
      hi += doomed[j].guard + doomed[j].size;
    mt__sys_stack_unmap(lo, (size_t)(hi - lo));
    i = j;
  }
  doomed_n = 0;
}

void mt__stack_put(mt__stack_t *s) {
  if (!s->base) return;
#ifdef MT__ASAN
  __asan_unpoison_memory_region((char *)s->base + s->guard, s->size);
#endif
  if (P.live > 0) P.live--; /* (a stack made on another thread: not counted) */
  size_t bytes = s->guard + s->size;
  if (P.drained) unmap(s);
  else if (P.n < limit() && P.n < P.cap && P.bytes + bytes <= POOL_CAP_BYTES) {
    P.v[P.n++] = *s;
    P.bytes += bytes;
  } else {
    doom(s);
  }
  s->base = NULL;
}

static bool excess(void) { return P.n > POOL_MIN && P.n > P.live; }

int64_t mt__stack_pool_idle(int64_t now) {
  if (!excess()) return MT__NO_DEADLINE;
  if (!P.t0) P.t0 = now;
  if (now - P.t0 >= IDLE_NS) {
    rotate();
    unmap_doomed(); /* idle: no reason to keep the batch mapped */
    P.t0 = now;
    if (!excess()) return MT__NO_DEADLINE;
  }
  return P.t0 + IDLE_NS;
}

void mt__stack_pool_drain(void) {
  while (P.n > 0) unmap(&P.v[--P.n]);
  mt__free(P.v);
  P.v = NULL;
  P.cap = 0;
  P.bytes = 0;
  P.drained = true;
  unmap_doomed();
}

unsigned mt__stack_vg_register(mt__stack_t *s) {
#ifdef MT__VALGRIND
  char *lo = (char *)s->base + s->guard;
  return VALGRIND_STACK_REGISTER(lo, lo + s->size);
#else
  (void)s;
  return 0;
#endif
}
void mt__stack_vg_deregister(unsigned id) {
#ifdef MT__VALGRIND
  VALGRIND_STACK_DEREGISTER(id);
#else
  (void)id;
#endif
}
