/* Object allocation (private or shared) and the fork generation. */
#include "core.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

#include "platform/platform.h"

/* MT_SHARED objects each get their own anonymous shared mapping: simple,
 * inherited by every later fork, and freed with munmap.  The cost is one
 * page per small object (documented in docs/design.md). */
void *mt__obj_alloc(size_t size, int flags) {
  if (!(flags & MT_SHARED)) return mt__calloc(1, size);
  if (!mt__alloc_ok()) return NULL;
  return mt__sys_map_shared(size);
}

void mt__obj_free(void *p, size_t size, int flags) {
  if (!p) return;
  if (flags & MT_SHARED)
    mt__sys_unmap(p, size);
  else
    mt__free(p);
}

void *mt__fail_null(int code) {
  errno = code < 0 ? -code : code;
  return NULL;
}

/* ---- fork handlers ------------------------------------------------------
 * One pthread_atfork registration for the whole library.  prepare takes
 * `reg` (so no registration is half done at fork) and then each part's
 * lock in mt__fork_part order; parent and child release / reset them in
 * the reverse order, the child after bumping the generation.  Child-only
 * handlers (mt__on_fork_child) run last, in registration order.  A handler
 * is written before it is published (release store of its count or flag),
 * so a fork at any moment sees it complete or not at all. */

#define MAX_CHILD_HANDLERS 16
typedef struct part_handlers {
  void (*prepare)(void), (*parent)(void), (*child)(void);
  _Atomic bool set;
} part_handlers_t;

/* The fork page (core.h): this file's lock and generation first, then the
 * pieces other parts take at load.  Page-aligned and smaller than a page,
 * so it is exactly one page. */
#define FORK_PAGE_SIZE 4096
static struct fork_page {
  pthread_mutex_t reg; /* written by prepare and parent on every fork */
  _Atomic uint32_t gen;
  _Atomic size_t used; /* of rest */
  _Alignas(64) unsigned char rest[FORK_PAGE_SIZE - 128];
} fork_page __attribute__((aligned(FORK_PAGE_SIZE))) = {.reg = PTHREAD_MUTEX_INITIALIZER};
_Static_assert(sizeof(struct fork_page) <= FORK_PAGE_SIZE, "the fork page is one page");

void *mt__fork_page_take(size_t size) {
  size = (size + 63) & ~(size_t)63;
  size_t at = atomic_fetch_add(&fork_page.used, size);
  if (at + size > sizeof fork_page.rest) abort(); /* a fixed set of parts: a build error */
  return fork_page.rest + at;
}

static part_handlers_t parts[MT__FORK_PARTS];
static void (*child_handlers[MAX_CHILD_HANDLERS])(void);
static _Atomic int n_child_handlers;
static pthread_once_t fork_once = PTHREAD_ONCE_INIT;

static bool part_set(int i) { return atomic_load_explicit(&parts[i].set, memory_order_acquire); }

static void atfork_prepare(void) {
  pthread_mutex_lock(&fork_page.reg);
  for (int i = 0; i < MT__FORK_PARTS; i++)
    if (part_set(i)) parts[i].prepare();
  mt__alloc_fork_prepare(); /* last: see core.h */
}

static void atfork_parent(void) {
  mt__alloc_fork_parent();
  for (int i = MT__FORK_PARTS - 1; i >= 0; i--)
    if (part_set(i)) parts[i].parent();
  pthread_mutex_unlock(&fork_page.reg);
}

static void atfork_child(void) {
  atomic_fetch_add(&fork_page.gen, 1);
  mt__alloc_fork_child();
  for (int i = MT__FORK_PARTS - 1; i >= 0; i--)
    if (part_set(i)) parts[i].child();
  int n = atomic_load_explicit(&n_child_handlers, memory_order_acquire);
  for (int i = 0; i < n; i++) child_handlers[i]();
  pthread_mutex_unlock(&fork_page.reg); /* locked by this same thread in prepare */
}

/* Without the handlers every fork could leave a child with torn internal
 * state: refuse to go on (the only failure is ENOMEM at first use). */
static void install_atfork(void) {
  if (pthread_atfork(atfork_prepare, atfork_parent, atfork_child) != 0) abort();
}

uint32_t mt__fork_generation(void) {
  pthread_once(&fork_once, install_atfork);
  return atomic_load_explicit(&fork_page.gen, memory_order_relaxed);
}

void mt__on_fork(enum mt__fork_part part, void (*prepare)(void), void (*parent)(void),
                 void (*child)(void)) {
  pthread_once(&fork_once, install_atfork);
  pthread_mutex_lock(&fork_page.reg);
  parts[part].prepare = prepare;
  parts[part].parent = parent;
  parts[part].child = child;
  atomic_store_explicit(&parts[part].set, true, memory_order_release);
  pthread_mutex_unlock(&fork_page.reg);
}

void mt__on_fork_child(void (*fn)(void)) {
  pthread_once(&fork_once, install_atfork);
  pthread_mutex_lock(&fork_page.reg);
  int i = atomic_load_explicit(&n_child_handlers, memory_order_relaxed);
  if (i >= MAX_CHILD_HANDLERS) abort(); /* internal misuse: a fixed number of parts register */
  child_handlers[i] = fn;
  atomic_store_explicit(&n_child_handlers, i + 1, memory_order_release);
  pthread_mutex_unlock(&fork_page.reg);
}
