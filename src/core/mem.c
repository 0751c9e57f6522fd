/* The library's one allocation wrapper, and allocation-failure injection.
 *
 * Why: an out-of-memory path that never runs is a path that hangs or leaks
 * (as Lua and SQLite found).  Every library allocation (mt__malloc & co.,
 * mt__obj_alloc, the future slabs) calls mt__alloc_ok() first.  In a build
 * with MT_ALLOC_FAILPOINTS (CMake option, on in the ASan run of `make
 * check`) a test arms a countdown with mt__alloc_fail_at(k): the k-th
 * allocation after that, counted across all threads, fails once (NULL, as
 * malloc does), the later ones succeed.  Without the option mt__alloc_ok()
 * is a constant and the wrappers are plain calls to the C library.
 *
 * Across fork: only the process that armed the countdown injects.  A child
 * (a process-pool worker, a started process) allocates normally, so a run
 * fails exactly one allocation of the caller's own process, and the
 * caller sees the result through its own API (MT_ENOMEM or success).
 * Failures in children are a different scenario (their own exit paths)
 * and are not injected.
 *
 * Debugging: with MT_FAILPOINT_TRACE set in the environment, each injected
 * failure prints its stack to stderr (tests/alloc/failpoint.h also takes
 * MT_FAILPOINT_FROM=k to start at run k). */
#include "core/core.h"

#include <stdlib.h>
#include <string.h>

#ifdef MT_ALLOC_FAILPOINTS
#include <execinfo.h>
#include <unistd.h>

static long countdown;    /* atomic: > 0 armed; the allocation taking it to 0 fails */
static pid_t armed_pid;   /* atomic: the process that armed it */
static int injected;      /* atomic: 1 once the armed failure happened */

void mt__alloc_fail_at(long k) {
  __atomic_store_n(&injected, 0, __ATOMIC_SEQ_CST);
  __atomic_store_n(&armed_pid, getpid(), __ATOMIC_SEQ_CST);
  __atomic_store_n(&countdown, k > 0 ? k : 0, __ATOMIC_SEQ_CST);
}

bool mt__alloc_injected(void) { return __atomic_load_n(&injected, __ATOMIC_SEQ_CST); }

bool mt__alloc_ok(void) {
  if (__atomic_load_n(&countdown, __ATOMIC_RELAXED) <= 0) return true;
  if (__atomic_load_n(&armed_pid, __ATOMIC_RELAXED) != getpid()) return true;
  if (__atomic_sub_fetch(&countdown, 1, __ATOMIC_SEQ_CST) != 0) return true;
  __atomic_store_n(&injected, 1, __ATOMIC_SEQ_CST);
  if (getenv("MT_FAILPOINT_TRACE")) { /* debugging: where did it fail? */
    void *pc[24];
    backtrace_symbols_fd(pc, backtrace(pc, 24), 2);
  }
  return false;
}
#endif

void *mt__malloc(size_t n) { return mt__alloc_ok() ? malloc(n) : NULL; }

void *mt__calloc(size_t n, size_t size) { return mt__alloc_ok() ? calloc(n, size) : NULL; }

void *mt__realloc(void *p, size_t n) { return mt__alloc_ok() ? realloc(p, n) : NULL; }

void *mt__aligned_alloc(size_t align, size_t n) {
  return mt__alloc_ok() ? aligned_alloc(align, n) : NULL;
}

char *mt__strdup(const char *s) { return mt__alloc_ok() ? strdup(s) : NULL; }

char *mt__strndup(const char *s, size_t n) { return mt__alloc_ok() ? strndup(s, n) : NULL; }

void mt__free(void *p) { free(p); }
