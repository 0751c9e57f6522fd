/* platform/proc.h - processes, thread joins, signal masks and dispositions
 * (Linux: platform_linux.c, proc_linux.c). */
#ifndef MT_PLATFORM_PROC_H
#define MT_PLATFORM_PROC_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <signal.h>
#include <sys/types.h>

/* pidfd_open(pid, flags); returns fd or negative code. */
int mt__sys_pidfd_open(pid_t pid, unsigned flags);
/* pidfd_send_signal(pidfd, sig); 0 or a negative code (MT_ESRCH when the
 * process already exited and was reaped). */
int mt__sys_pidfd_send_signal(int pidfd, int sig);
/* waitid(P_PIDFD, pidfd, WEXITED | WNOHANG): reaps the child behind pidfd
 * if it has exited.  Returns 1 and stores the Python-style exit code
 * (status, or -signal) in *exitcode; 0 if still running; negative code
 * (MT_ECHILD: not our child or already reaped elsewhere). */
int mt__sys_reap_pidfd(int pidfd, int *exitcode);
/* prctl(PR_SET_PDEATHSIG, sig) for the calling thread's children-to-be:
 * called in a child right after fork.  0 or a negative code. */
int mt__sys_set_pdeathsig(int sig);
/* Last resort when a fresh child cannot be tracked (no descriptor for its
 * pidfd): SIGKILL and waitpid that one pid.  0 or a negative code. */
int mt__sys_kill_and_reap(pid_t pid);

/* fork(), exactly: the child's pid in the parent, 0 in the child, -1 with
 * errno set on failure (fork handlers run as with fork()). */
pid_t mt__sys_fork(void);
/* pthread_create with options; core's mt__thread_create (the one way the
 * library starts a thread) calls it.  block_signals: the thread begins with
 * every signal blocked, so process signals go to the application's threads,
 * and the caller's mask is never touched (pthread_attr_setsigmask_np).
 * stack_size 0 = default.  In an AddressSanitizer build it returns only
 * once the thread has entered fn: the sanitizer's own start-up of the
 * thread allocates, and a fork must not copy that half done (core.h,
 * "Fork and the allocator").  0 or a negative code (MT_EAGAIN when the
 * system cannot make a thread). */
int mt__sys_thread_create(pthread_t *th, size_t stack_size, bool detached, bool block_signals,
                          void *(*fn)(void *arg), void *arg);
/* pthread_join(t, NULL): blocks until t exits.  0 or a negative code. */
int mt__sys_thread_join(pthread_t t);

/* pthread_sigmask(how, set, old) of the calling thread.  0 or a negative
 * code. */
int mt__sys_sigmask(int how, const sigset_t *set, sigset_t *old);
/* The calling process ignores signal `sig` (SIG_IGN).  0 or a negative
 * code. */
int mt__sys_ignore_signal(int sig);

#endif
