/* process_internal.h - what other parts use of src/process/ beyond the
 * public header. */
#ifndef MT_PROCESS_INTERNAL_H
#define MT_PROCESS_INTERNAL_H

#include <signal.h>

#include "multitask/process.h"

/* The mask the child of p begins with, instead of the mask of the thread
 * that calls mt_process_start (the pool: its manager thread starts the
 * workers, with the mask of mt_pool_new's caller).  Before start. */
void mt__process_set_child_mask(mt_process_t *p, const sigset_t *mask);

/* The exit gate every fork the library makes goes through (process.c,
 * "Exit").  mt__fork_gate_enter(&saved) right before the fork: blocks every
 * signal in the calling thread (the caller's mask saved in *saved; NULL:
 * the caller has blocked them already), then 0, or MT_ECLOSED once the
 * process's exit has begun (mask restored; do not fork, return that code).
 * mt__fork_gate_leave(&saved) after it, in the PARENT only, once the child
 * is recorded wherever it is: restores *saved (NULL: the caller restores
 * it itself, after dropping its lock, so that a signal handler that calls
 * exit() does not find the lock held; the child restores it first thing;
 * its gate is reset by the fork handler).  Exit waits for the forks
 * inside, so nothing in between may park or wait: take the locks the fork
 * needs BEFORE entering (entering never blocks and the closer holds no
 * lock), and leave as soon as fork() has returned and the child is
 * recorded (not after waiting for its exec).  Signals are blocked so that
 * a handler calling exit() cannot run on a thread that is inside. */
int mt__fork_gate_enter(sigset_t *saved);
void mt__fork_gate_leave(const sigset_t *saved);

/* os.fork registered with the library (src/process/fork.c): see
 * mt_os_fork.  The pid in the parent (*child set), 0 in the child, or a
 * negative code. */
pid_t mt__process_fork(mt_process_t **child, const mt_process_opts_t *opts);
/* A dup of registered child pid's pidfd, -1 if pid is none of ours. */
int mt__process_pidfd_dup(pid_t pid);
/* Reaps registered child pid: 1 (*exitcode), 0 running, MT_ECHILD. */
int mt__process_reap_pid(pid_t pid, int *exitcode);

#endif
