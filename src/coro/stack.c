/* stack.c - coroutine stacks: sizes and a per-thread pool.
 *
 * A stack is a private mapping with a guard page below it
 * (platform/stack.h).  Mapping one costs two or three system calls and its
 * first touched pages fault in, so a finished greenlet's stack goes back to
 * a small pool of its thread (POOL_MAX stacks of any size) and the next
 * greenlet of that size reuses it.  The pool is per thread, touched only by
 * its thread: no lock.  A thread's pool is unmapped when the thread exits.
 *
 * Past the pool, a finished stack is not unmapped at once: it joins a
 * batch of UNMAP_BATCH (still usable by mt__stack_get), and a full batch
 * is unmapped in as few munmap calls as it has runs of adjacent stacks
 * (consecutive mmaps land next to each other).  Each munmap of a
 * multi-threaded process costs a TLB shootdown (an IPI, tens of us on this
 * virtual machine), so batches of tasks ending at once paid ~100 us per
 * task; one munmap per run of adjacent stacks divides that by up to 64
 * while keeping at most 64 stacks more mapped than before.
 *
 * Running out of mappings (vm.max_map_count) or address space (RLIMIT_AS)
 * is MT_ENOMEM from mt__stack_get, never a crash.
 *
 * Under AddressSanitizer a reused stack is unpoisoned first (a greenlet
 * released without unwinding leaves its frames' redzones poisoned); under
 * Valgrind every stack is registered so it does not take a switch for a
 * huge stack frame. */
#include "coro/coro.h"
#include "core/core.h"
#include "platform/stack.h"

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

#define POOL_MAX 16
#define UNMAP_BATCH 64
#define DEFAULT_SIZE (256 * 1024)

static _Thread_local mt__stack_t pool[POOL_MAX];
static _Thread_local int pool_n;
static _Thread_local mt__stack_t doomed[UNMAP_BATCH]; /* to unmap, still mapped */
static _Thread_local int doomed_n;

size_t mt__stack_page(void) {
  static size_t page;
  if (!page) page = (size_t)sysconf(_SC_PAGESIZE);
  return page;
}

size_t mt__stack_default_size(void) { return DEFAULT_SIZE; }

static void unmap_doomed(void);

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

int mt__stack_get(size_t size, mt__stack_t *s) {
  if (take(pool, &pool_n, size, s) || take(doomed, &doomed_n, size, s)) return 0;
  size_t guard = mt__stack_page();
  void *base;
  int r = mt__sys_stack_map(guard, size, &base);
  if (r < 0 && doomed_n > 0) { /* out of mappings: the batch goes first */
    unmap_doomed();
    r = mt__sys_stack_map(guard, size, &base);
  }
  if (r < 0) return r;
  s->base = base, s->guard = guard, s->size = size;
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
  if (pool_n < POOL_MAX) pool[pool_n++] = *s;
  else {
    doomed[doomed_n++] = *s;
    if (doomed_n == UNMAP_BATCH) unmap_doomed();
  }
  s->base = NULL;
}

void mt__stack_pool_drain(void) {
  while (pool_n > 0) unmap(&pool[--pool_n]);
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
