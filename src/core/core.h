/* core.h - internals every part uses: allocation of private or MT_SHARED
 * objects, the fork generation, and small helpers. */
#ifndef MT_CORE_H
#define MT_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

/* Incremented in every child right after fork (pthread_atfork), so objects
 * can tell cheaply, on slow paths only, that they were made before a fork. */
uint32_t mt__fork_generation(void);

/* Registers a function run in the child after fork, after the library's
 * own reset (used by the thread registry, timer thread, executors). */
void mt__on_fork_child(void (*fn)(void));

/* Sets errno to -code and returns NULL: the constructor error convention. */
void *mt__fail_null(int code);

#endif
