/* thread.h (internal) - what src/thread/ shares between its files. */
#ifndef MT_THREAD_INTERNAL_H
#define MT_THREAD_INTERNAL_H

#include "multitask/thread.h"

/* Runs the calling thread's threading.local destructors (repeatedly, while
 * destructors set new values) and frees its table.  Called at thread exit. */
void mt__locals_run_dtors(void);
/* Makes sure the calling thread's exit runs mt__locals_run_dtors (also for
 * threads the library did not start). */
void mt__thread_arm_exit_hook(void);

/* Joins every listed non-daemon library thread but the caller's, looping
 * until none is left (threads started meanwhile too): the atexit handler
 * installed by the first mt_thread_start, also called first by the
 * process part's exit handler (process.c, "Exit"). */
void mt__thread_join_non_daemon(void);

/* Gives the calling internal thread (the timer thread) an object that is
 * NOT listed in the registry: mt_thread_current() returns it, and threads
 * it starts default to non-daemon (as from Python's Timer thread). */
void mt__thread_adopt_internal(const char *name);

/* mt_thread_start for the library's own mt_thread_t threads (the pool's
 * manager, executor workers): the thread starts with every signal blocked
 * (mt__thread_create). */
int mt__thread_start_internal(mt_thread_t *t);

/* Test hook (tests/thread/test_thread_start_race.c): when set, mt_thread_start
 * calls it between listing the thread and pthread_create, so a test can
 * hold that window open.  NULL otherwise. */
extern void (*mt__thread_start_hook)(mt_thread_t *t);

#endif
