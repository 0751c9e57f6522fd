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
#include "platform/proc.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef MT_ALLOC_FAILPOINTS
#include <execinfo.h>

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

/* ---- the fork gate (see core.h) ------------------------------------- */
#ifdef MT__ASAN
#include <pthread.h>

/* A pthread rwlock, not a wait-layer object: it sits beneath everything
 * that allocates (the wait layer and the library's own locks included) and
 * inside the fork handlers, as core.c's `reg` mutex does.  A coroutine that
 * allocates during a fork blocks its thread for that fork only, and only in
 * ASan builds.  Writer-preferring, or a steady stream of allocations could
 * hold a fork back for ever. */
static pthread_rwlock_t gate;
static pthread_once_t gate_once = PTHREAD_ONCE_INIT;

static void gate_init(void) {
  pthread_rwlockattr_t a;
  pthread_rwlockattr_init(&a);
  pthread_rwlockattr_setkind_np(&a, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
  pthread_rwlock_init(&gate, &a);
  pthread_rwlockattr_destroy(&a);
}

/* false when not taken: the forking thread itself allocating inside a fork
 * handler (EDEADLK) goes on without the gate it already holds exclusive */
static bool gate_enter(void) {
  pthread_once(&gate_once, gate_init);
  return pthread_rwlock_rdlock(&gate) == 0;
}

static void gate_leave(bool held) {
  if (held) pthread_rwlock_unlock(&gate);
}

void mt__alloc_fork_prepare(void) {
  pthread_once(&gate_once, gate_init);
  pthread_rwlock_wrlock(&gate);
}

void mt__alloc_fork_parent(void) { pthread_rwlock_unlock(&gate); }

/* The child's thread has a new tid, which glibc's rwlock unlock would not
 * recognise as the writer's: start the gate afresh instead. */
void mt__alloc_fork_child(void) { gate_init(); }

/* In a child forked from a threaded parent the other threads' stacks are
 * gone, so LeakSanitizer at exit() reports what they held as leaked (and
 * turns the exit status into its own).  Only the first process is checked.
 * Weak: a program's own definition wins. */
static pid_t first_pid;
__attribute__((constructor)) static void note_first_pid(void) { first_pid = getpid(); }
__attribute__((weak, visibility("default"))) int __lsan_is_turned_off(void);
__attribute__((weak, visibility("default"))) int __lsan_is_turned_off(void) {
  return getpid() != first_pid;
}
#else
static bool gate_enter(void) { return false; }
static void gate_leave(bool held) { (void)held; }
void mt__alloc_fork_prepare(void) {}
void mt__alloc_fork_parent(void) {}
void mt__alloc_fork_child(void) {}
#endif

int mt__thread_create(pthread_t *th, size_t stack_size, bool detached, bool block_signals,
                      void *(*fn)(void *arg), void *arg) {
  bool g = gate_enter();
  int r = mt__sys_thread_create(th, stack_size, detached, block_signals, fn, arg);
  gate_leave(g);
  return r;
}

void *mt__malloc(size_t n) {
  if (!mt__alloc_ok()) return NULL;
  bool g = gate_enter();
  void *p = malloc(n);
  gate_leave(g);
  return p;
}

void *mt__calloc(size_t n, size_t size) {
  if (!mt__alloc_ok()) return NULL;
  bool g = gate_enter();
  void *p = calloc(n, size);
  gate_leave(g);
  return p;
}

void *mt__realloc(void *p, size_t n) {
  if (!mt__alloc_ok()) return NULL;
  bool g = gate_enter();
  void *q = realloc(p, n);
  gate_leave(g);
  return q;
}

void *mt__aligned_alloc(size_t align, size_t n) {
  if (!mt__alloc_ok()) return NULL;
  bool g = gate_enter();
  void *p = aligned_alloc(align, n);
  gate_leave(g);
  return p;
}

char *mt__strdup(const char *s) {
  if (!mt__alloc_ok()) return NULL;
  bool g = gate_enter();
  char *p = strdup(s);
  gate_leave(g);
  return p;
}

char *mt__strndup(const char *s, size_t n) {
  if (!mt__alloc_ok()) return NULL;
  bool g = gate_enter();
  char *p = strndup(s, n);
  gate_leave(g);
  return p;
}

void mt__free(void *p) {
  bool g = gate_enter();
  free(p);
  gate_leave(g);
}
