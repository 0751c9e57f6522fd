/* stack.c - coroutine stacks: sizes and a per-thread pool.
 *
 * A stack is a private mapping with a guard page below it
 * (platform/stack.h).  Mapping one costs two or three system calls and its
 * first touched pages fault in, so a finished greenlet's stack goes back to
 * a small pool of its thread (POOL_MAX stacks of any size) and the next
 * greenlet of that size reuses it.  The pool is per thread, touched only by
 * its thread: no lock.  A thread's pool is unmapped when the thread exits.
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
#define DEFAULT_SIZE (256 * 1024)

static _Thread_local mt__stack_t pool[POOL_MAX];
static _Thread_local int pool_n;

size_t mt__stack_page(void) {
  static size_t page;
  if (!page) page = (size_t)sysconf(_SC_PAGESIZE);
  return page;
}

size_t mt__stack_default_size(void) { return DEFAULT_SIZE; }

int mt__stack_get(size_t size, mt__stack_t *s) {
  for (int i = pool_n - 1; i >= 0; i--) {
    if (pool[i].size != size) continue;
    *s = pool[i];
    pool[i] = pool[--pool_n];
    return 0;
  }
  size_t guard = mt__stack_page();
  void *base;
  int r = mt__sys_stack_map(guard, size, &base);
  if (r < 0) return r;
  s->base = base, s->guard = guard, s->size = size;
  return 0;
}

static void unmap(mt__stack_t *s) { mt__sys_stack_unmap(s->base, s->guard + s->size); }

void mt__stack_put(mt__stack_t *s) {
  if (!s->base) return;
#ifdef MT__ASAN
  __asan_unpoison_memory_region((char *)s->base + s->guard, s->size);
#endif
  if (pool_n < POOL_MAX) pool[pool_n++] = *s;
  else unmap(s);
  s->base = NULL;
}

void mt__stack_pool_drain(void) {
  while (pool_n > 0) unmap(&pool[--pool_n]);
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
