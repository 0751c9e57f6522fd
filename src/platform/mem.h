/* platform/mem.h - mappings: shared and private anonymous memory, POSIX
 * shared-memory segments (Linux: platform_linux.c, mem_linux.c). */
#ifndef MT_PLATFORM_MEM_H
#define MT_PLATFORM_MEM_H

#include <stdbool.h>
#include <stddef.h>

/* Zeroed MAP_SHARED anonymous memory (inherited by every later fork).
 * NULL on failure (errno set). */
void *mt__sys_map_shared(size_t bytes);
/* Reserves `bytes` of zeroed MAP_SHARED anonymous memory with
 * MAP_NORESERVE (pages cost memory only once touched).  NULL on failure. */
void *mt__sys_map_reserve(size_t bytes);
void mt__sys_unmap(void *p, size_t bytes);
/* Gives the pages of a range of such a mapping back: it reads as zeros
 * again, in every process sharing it (MADV_REMOVE; memset as fallback).
 * p and bytes must be page multiples. */
void mt__sys_zero_shared(void *p, size_t bytes);
/* Private anonymous memory with its pages already faulted in (first touch
 * of a page costs ~40 us on this VM).  NULL on failure. */
void *mt__sys_map_populated(size_t bytes);

/* Maps the POSIX shared-memory segment `name` ("/..."), read-write.
 * create: a new segment (O_EXCL) of *size bytes, unlinked again if it
 * cannot be mapped.  Otherwise an existing one: *size 0 takes the
 * segment's size; a *size of 0 or beyond the segment is MT_EINVAL.
 * 0 and *out set, or a negative code (MT_EEXIST, MT_ENOENT, ...). */
int mt__sys_shm_map(const char *name, bool create, size_t *size, void **out);
/* shm_unlink(name): 0 or a negative code. */
int mt__sys_shm_unlink(const char *name);

#endif
