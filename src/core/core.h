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

/* Incremented in every child right after fork (pthread_atfork), so objects
 * can tell cheaply, on slow paths only, that they were made before a fork. */
uint32_t mt__fork_generation(void);

/* Registers a function run in the child after fork, after the library's
 * own reset (used by the thread registry, timer thread, executors). */
void mt__on_fork_child(void (*fn)(void));

/* Sets errno to -code and returns NULL: the constructor error convention. */
void *mt__fail_null(int code);

#endif
