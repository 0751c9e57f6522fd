/* platform.h - the platform boundary: the only place raw system calls live
 * (docs/design.md, "The platform boundary"; scripts/check-boundary.sh keeps
 * the deny-listed calls out of the rest of src/).  Small internal functions
 * per area, each header one screen:
 *   clock.h  monotonic clock, thread ids, futex, CPUs, yield
 *   fd.h     poll, pipes and sockets, eventfd, small files
 *   proc.h   pidfds, fork, reaping, thread join, signal masks
 *   mem.h    anonymous and POSIX shared-memory mappings
 * Linux backend: platform_linux.c, pipe_linux.c, proc_linux.c, mem_linux.c.
 * Everything returns 0 / a non-negative value or a negative MT_E* code and
 * leaves the caller's errno alone, except where a header says otherwise. */
#ifndef MT_PLATFORM_H
#define MT_PLATFORM_H

#include "platform/clock.h"
#include "platform/fd.h"
#include "platform/mem.h"
#include "platform/proc.h"

#endif
