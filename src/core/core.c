/* Object allocation (private or shared) and the fork generation. */
#include "core.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "platform/platform.h"

/* MT_SHARED objects each get their own anonymous shared mapping: simple,
 * inherited by every later fork, and freed with munmap.  The cost is one
 * page per small object (documented in docs/design.md). */
void *mt__obj_alloc(size_t size, int flags) {
  if (!(flags & MT_SHARED)) return calloc(1, size);
  return mt__sys_map_shared(size);
}

void mt__obj_free(void *p, size_t size, int flags) {
  if (!p) return;
  if (flags & MT_SHARED)
    mt__sys_unmap(p, size);
  else
    free(p);
}

void *mt__fail_null(int code) {
  errno = code < 0 ? -code : code;
  return NULL;
}

#define MAX_FORK_HANDLERS 16
static _Atomic uint32_t fork_gen;
static void (*fork_handlers[MAX_FORK_HANDLERS])(void);
static _Atomic int n_fork_handlers;
static pthread_once_t fork_once = PTHREAD_ONCE_INIT;

static void atfork_child(void) {
  atomic_fetch_add(&fork_gen, 1);
  int n = atomic_load(&n_fork_handlers);
  for (int i = 0; i < n; i++) fork_handlers[i]();
}

static void install_atfork(void) { pthread_atfork(NULL, NULL, atfork_child); }

uint32_t mt__fork_generation(void) {
  pthread_once(&fork_once, install_atfork);
  return atomic_load_explicit(&fork_gen, memory_order_relaxed);
}

void mt__on_fork_child(void (*fn)(void)) {
  pthread_once(&fork_once, install_atfork);
  int i = atomic_fetch_add(&n_fork_handlers, 1);
  if (i < MAX_FORK_HANDLERS) fork_handlers[i] = fn;
  else abort(); /* internal misuse: a fixed number of parts register */
}
