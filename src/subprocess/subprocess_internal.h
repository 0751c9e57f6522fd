/* subprocess_internal.h - what src/process/fork.c asks of src/subprocess/. */
#ifndef MT_SUBPROCESS_INTERNAL_H
#define MT_SUBPROCESS_INTERNAL_H

#include <stdbool.h>
#include <sys/types.h>

/* true if pid is an unreaped child started by mt_popen_new (its object or
 * the reaper will reap it). */
bool mt__subprocess_owns(pid_t pid);

#endif
