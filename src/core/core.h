/* core.h - internals every part uses: allocation of private or MT_SHARED
 * objects, the fork generation, and small helpers. */
#ifndef MT_CORE_H
#define MT_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>

#include "multitask/error.h"

/* Allocates zeroed memory for an object: from the heap, or (flags &
 * MT_SHARED) from an anonymous MAP_SHARED mapping so processes forked later
 * see the same bytes.  NULL when out of memory. */
void *mt__obj_alloc(size_t size, int flags);
void mt__obj_free(void *p, size_t size, int flags);

/* Every heap allocation of the library goes through these (src/core/mem.c),
 * never straight to malloc: a build with MT_ALLOC_FAILPOINTS can then fail
 * the k-th one (see mt__alloc_fail_at).  Same contracts as the C library. */
void *mt__malloc(size_t n);
void *mt__calloc(size_t n, size_t size);
void *mt__realloc(void *p, size_t n);
void *mt__aligned_alloc(size_t align, size_t n);
char *mt__strdup(const char *s);
char *mt__strndup(const char *s, size_t n);
void mt__free(void *p);

/* MT__ASAN / MT__TSAN (platform/sanitizer.h): the fork gate below and the
 * coroutine annotations use them. */
#include "platform/sanitizer.h"

/* Fork and the allocator (src/core/mem.c).  The C library's malloc takes
 * its own locks around fork; the allocator of an AddressSanitizer build
 * (GCC 12's libasan) does not, so a child forked while another thread is
 * inside malloc can wait forever on a lock copied in its held state.  In
 * such a build the library's allocations hold a gate shared and the fork
 * handlers (core.c) hold it exclusive across fork; elsewhere these are
 * empty.  prepare runs after every part's prepare (an allocation made
 * under a part's lock must be able to finish first).  A thread that exits
 * gives its allocator cache back from a pthread key destructor, out of the
 * gate's reach: in such a build the threads part's prepare (thread.c) joins
 * the library threads that are exiting.  A thread that starts allocates in
 * the sanitizer before it runs any of our code: mt__thread_create holds
 * the gate until the new thread has entered its function. */
void mt__alloc_fork_prepare(void);
void mt__alloc_fork_parent(void);
void mt__alloc_fork_child(void);

/* The ONE way the library starts a thread (the timer thread, the process
 * forker, the signal dispatcher, the subprocess reaper; thread.c for every
 * mt_thread_t): mt__sys_thread_create (platform/proc.h: block_signals,
 * stack_size 0 = default) inside the fork gate.  0 or a negative code. */
int mt__thread_create(pthread_t *th, size_t stack_size, bool detached, bool block_signals,
                      void *(*fn)(void *arg), void *arg);

/* False when this allocation must fail (MT_ALLOC_FAILPOINTS builds only;
 * always true otherwise).  Allocators that do not use malloc (MT_SHARED
 * mappings, slabs) call it too. */
#ifdef MT_ALLOC_FAILPOINTS
bool mt__alloc_ok(void);
/* Arms the countdown: the k-th library allocation from now, in this process
 * only, fails; k <= 0 disarms.  Clears mt__alloc_injected(). */
void mt__alloc_fail_at(long k);
/* True once the armed failure has happened. */
bool mt__alloc_injected(void);
#else
static inline bool mt__alloc_ok(void) { return true; }
#endif

/* An option struct's size field (docs/api.md, "Options"): 0 means the
 * caller did not use the MT_<NOUN>_OPTS_INIT macro; smaller than the first
 * version of the struct cannot be ours.  A larger size is a newer caller:
 * the fields this library knows are read. */
static inline bool mt__opts_size_ok(size_t size, size_t v1_size) { return size >= v1_size; }

/* A time option: MT_FOREVER, or a finite number of seconds >= 0. */
static inline bool mt__time_opt_ok(double t) { return t == -1.0 || (t >= 0 && t < 1e12); }

/* Incremented in every child right after fork (pthread_atfork), so objects
 * can tell cheaply, on slow paths only, that they were made before a fork. */
uint32_t mt__fork_generation(void);

/* Parts whose fork handlers keep an internal lock quiescent across fork,
 * in LOCK ORDER: prepare handlers run first to last (each takes its part's
 * lock), parent and child handlers last to first.  Each of these locks is a
 * leaf (nothing else is locked while one is held), so the order only has
 * to be fixed, and nothing holding one of them may fork.  See the fork
 * section of docs/design.md. */
enum mt__fork_part {
  MT__FORK_THREADS, /* thread registry (thread.c reg.lock) */
  MT__FORK_TIMERS,  /* timer heap (timer.c tq.lock) */
  MT__FORK_LOCALS,  /* local slot table (local.c slots.lock) */
  MT__FORK_FUTURES, /* future slab stack (alloc.c g_lock) */
  MT__FORK_PARTS
};

/* Registers a part's handlers (once per part): prepare takes the part's
 * lock before fork, parent releases it, child resets the part (it runs
 * after the generation was bumped, so mt__mutex_init there gives a lock of
 * the child's generation).  A part must not call this with its lock held. */
void mt__on_fork(enum mt__fork_part part, void (*prepare)(void), void (*parent)(void),
                 void (*child)(void));

/* Registers a function run in the child after fork, after the parts' child
 * handlers, for state the forking path keeps consistent itself (the
 * process registry: process.c holds its lock across its own fork()). */
void mt__on_fork_child(void (*fn)(void));

/* The fork page.  A fork write-protects every private page of the parent,
 * and the first write to each page afterwards is a copy-on-write fault
 * (tens of microseconds on a virtualised machine: more than all system
 * calls of a Process start+join together).  The state the library writes
 * in the parent on EVERY fork (core.c's at-fork lock, the threads part's
 * registry lock) and on every Process new/start/join/free (process.c's
 * registry and its inline record) lives on this one page, so a fork+join
 * dirties one page of the library instead of one per part, and a library
 * start+join costs the parent no more such faults than a raw fork+waitpid
 * in the same program.  mt__fork_page_take hands out the next 64-byte
 * aligned piece of it; it is called from load-time constructors only, a
 * fixed set whose total fits (abort otherwise: internal misuse). */
void *mt__fork_page_take(size_t size);

/* Sets errno to -code and returns NULL: the constructor error convention. */
void *mt__fail_null(int code);

#endif
